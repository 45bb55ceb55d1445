package ldap

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// conn is an open session with one directory server.
type conn struct {
	cfg Config
	env connector.Env
	log *slog.Logger

	l      *goldap.Conn
	url    string
	tls    bool
	root   rootDSE
	schema *schemaInfo
	// attrCache holds conversion facts per attribute name (import.go).
	attrCache map[string]*attrInfo
	// addConn carries an export session's adds (post-read control).
	addConn *rawConn

	mu sync.Mutex // guards schema loading
}

var (
	_ connector.Pinger              = (*conn)(nil)
	_ connector.SchemaDiscoverer    = (*conn)(nil)
	_ connector.PartitionLister     = (*conn)(nil)
	_ connector.HierarchyDiscoverer = (*conn)(nil)
	_ connector.Importer            = (*conn)(nil)
	_ connector.DeltaImporter       = (*conn)(nil)
	_ connector.Exporter            = (*conn)(nil)
	_ connector.PasswordChanger     = (*conn)(nil)
)

// rootDSE holds what the server says about itself.
type rootDSE struct {
	namingContexts []string
	defaultNC      string
	configNC       string
	schemaNC       string
	subschema      string
	controls       map[string]bool
	highestUSN     int64
	dsServiceName  string
	vendor         string
	hasHighestUSN  bool
}

func (c *conn) tlsConfig(host string) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if c.cfg.ServerName != "" {
		tc.ServerName = c.cfg.ServerName
	}
	if c.cfg.CAFile != "" {
		pem, err := os.ReadFile(c.cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: caFile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("ldap: caFile %s holds no PEM certificate", c.cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.cfg.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(c.cfg.CertFile, c.cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("ldap: client certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	if c.cfg.InsecureSkipVerify {
		c.log.Warn("ldap: TLS CERTIFICATE VERIFICATION IS OFF (insecureSkipVerify: true): the connection can be intercepted; use caFile instead", "url", c.url)
		tc.InsecureSkipVerify = true
	}
	return tc, nil
}

// connect dials the first server that answers, sets up TLS, binds and
// reads the root DSE.
func (c *conn) connect(ctx context.Context) error {
	var errs []error
	for _, u := range c.cfg.urls() {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := c.dial(ctx, u); err != nil {
			errs = append(errs, err)
			continue
		}
		return nil
	}
	err := errors.Join(errs...)
	if idsync.KindOf(err) == idsync.KindOther {
		err = idsync.E("ldap connect", idsync.KindTransient, err)
	}
	return err
}

func (c *conn) dial(ctx context.Context, raw string) error {
	p, err := parseURL(raw)
	if err != nil {
		return fmt.Errorf("ldap: url %q: %w", raw, err)
	}
	c.url = raw
	host := p.Hostname()
	d := &net.Dialer{Timeout: c.cfg.timeout()}
	opts := []goldap.DialOpt{goldap.DialWithDialer(d)}
	useTLS := p.Scheme == "ldaps" || c.cfg.StartTLS
	var tc *tls.Config
	if useTLS {
		if tc, err = c.tlsConfig(host); err != nil {
			return err
		}
		if p.Scheme == "ldaps" {
			opts = append(opts, goldap.DialWithTLSConfig(tc))
		}
	}
	l, err := goldap.DialURL(raw, opts...)
	if err != nil {
		return c.classify("connect "+raw, err)
	}
	l.SetTimeout(c.cfg.timeout())
	if c.cfg.StartTLS {
		if err := l.StartTLS(tc); err != nil {
			l.Close()
			return c.classify("starttls "+raw, err)
		}
	}
	c.l = l
	// A local socket never crosses a network: as safe as TLS for passwords.
	c.tls = useTLS || p.Scheme == "ldapi"
	if err := c.bind(ctx); err != nil {
		l.Close()
		c.l = nil
		return err
	}
	if err := c.readRoot(); err != nil {
		l.Close()
		c.l = nil
		return err
	}
	return nil
}

func (c *conn) bind(_ context.Context) error {
	switch {
	case c.cfg.SASLExternal:
		if err := c.l.ExternalBind(); err != nil {
			return c.classify("sasl external bind", err)
		}
	case c.cfg.BindDN != "":
		pw, err := c.cfg.Password.Resolve(c.env)
		if err != nil {
			return fmt.Errorf("ldap: bind password: %w", err)
		}
		if err := c.l.Bind(c.cfg.BindDN, pw.Reveal()); err != nil {
			return c.classify("bind as "+c.cfg.BindDN, err)
		}
	default:
		if err := c.l.UnauthenticatedBind(""); err != nil {
			return c.classify("anonymous bind", err)
		}
	}
	return nil
}

func (c *conn) readRoot() error {
	res, err := c.l.Search(goldap.NewSearchRequest("", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"namingContexts", "defaultNamingContext", "configurationNamingContext", "schemaNamingContext",
			"subschemaSubentry", "supportedControl", "highestCommittedUSN", "dsServiceName", "vendorName"}, nil))
	if err != nil {
		return c.classify("read root DSE", err)
	}
	if len(res.Entries) == 0 {
		return errors.New("ldap: the server returned no root DSE")
	}
	e := res.Entries[0]
	r := rootDSE{
		namingContexts: e.GetAttributeValues("namingContexts"),
		defaultNC:      e.GetAttributeValue("defaultNamingContext"),
		configNC:       e.GetAttributeValue("configurationNamingContext"),
		schemaNC:       e.GetAttributeValue("schemaNamingContext"),
		subschema:      e.GetAttributeValue("subschemaSubentry"),
		dsServiceName:  e.GetAttributeValue("dsServiceName"),
		vendor:         e.GetAttributeValue("vendorName"),
		controls:       map[string]bool{},
	}
	for _, oid := range e.GetAttributeValues("supportedControl") {
		r.controls[oid] = true
	}
	if v := e.GetAttributeValue("highestCommittedUSN"); v != "" {
		fmt.Sscan(v, &r.highestUSN)
		r.hasHighestUSN = true
	}
	c.root = r
	return nil
}

// classify wraps an LDAP error: a lost or refused connection, a busy or
// unavailable server and a time-out become KindTransient, so the run
// stops as stopped-connectivity; access problems KindPermission.
func (c *conn) classify(op string, err error) error {
	if err == nil {
		return nil
	}
	kind := idsync.KindOther
	var le *goldap.Error
	var ne net.Error
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	case errors.As(err, &le):
		switch le.ResultCode {
		case goldap.ErrorNetwork, goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultServerDown,
			goldap.LDAPResultTimeout, goldap.LDAPResultTimeLimitExceeded, goldap.LDAPResultConnectError,
			goldap.LDAPResultAdminLimitExceeded:
			kind = idsync.KindTransient
		case goldap.LDAPResultInvalidCredentials, goldap.LDAPResultInsufficientAccessRights,
			goldap.LDAPResultInappropriateAuthentication, goldap.LDAPResultStrongAuthRequired, goldap.LDAPResultConfidentialityRequired:
			kind = idsync.KindPermission
		}
		if le.Err != nil && isNetErr(le.Err) {
			kind = idsync.KindTransient
		}
	case errors.As(err, &ne), errors.Is(err, io.EOF), errors.Is(err, net.ErrClosed):
		kind = idsync.KindTransient
	}
	if kind == idsync.KindOther && isNetErr(err) {
		kind = idsync.KindTransient
	}
	return &idsync.Error{Op: "ldap " + op, Kind: kind, Err: err}
}

func isNetErr(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		strings.Contains(err.Error(), "unable to read LDAP response packet") || strings.Contains(err.Error(), "unexpected EOF") ||
		strings.Contains(err.Error(), "connection closed") || strings.Contains(err.Error(), "connection reset")
}

// Close implements connector.Connector.
func (c *conn) Close() error {
	if c.addConn != nil {
		c.addConn.Close()
		c.addConn = nil
	}
	if c.l == nil {
		return nil
	}
	err := c.l.Close()
	c.l = nil
	if err != nil && isNetErr(err) {
		return nil
	}
	return err
}

// Ping implements connector.Pinger: it reads the root DSE again.
func (c *conn) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return c.readRoot()
}

// partitions returns the configured partitions, or the naming contexts
// with data when none is configured.
func (c *conn) partitionDNs() []string {
	if len(c.cfg.Containers) > 0 {
		out := make([]string, 0, len(c.cfg.Containers))
		for _, ct := range c.cfg.Containers {
			out = append(out, ct.Partition)
		}
		return out
	}
	if c.root.defaultNC != "" {
		return []string{c.root.defaultNC}
	}
	var out []string
	for _, nc := range c.root.namingContexts {
		if c.isSystemNC(nc) {
			continue
		}
		out = append(out, nc)
	}
	return out
}

func (c *conn) isSystemNC(nc string) bool {
	n := fastNorm(nc)
	for _, s := range []string{c.root.configNC, c.root.schemaNC} {
		if s != "" && fastNorm(s) == n {
			return true
		}
	}
	return n == "cn=accesslog" || strings.HasPrefix(n, "dc=domaindnszones,") || strings.HasPrefix(n, "dc=forestdnszones,")
}

// Partitions implements connector.PartitionLister: the naming contexts
// holding directory data (not the schema, configuration or changelog).
func (c *conn) Partitions(ctx context.Context) ([]connector.Partition, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := c.readRoot(); err != nil {
		return nil, err
	}
	var out []connector.Partition
	for _, nc := range c.root.namingContexts {
		if c.isSystemNC(nc) {
			continue
		}
		out = append(out, connector.Partition{Name: nc, DN: nc})
	}
	return out, nil
}

// scope is one partition's search bases and exclusions.
type scope struct {
	partition string   // as configured or discovered
	bases     []string // include subtrees (the partition when none)
	exclude   []string // normalized
}

// scopes returns the scopes of the partition named name ("" = all).
func (c *conn) scopes(name string) ([]scope, error) {
	parts := c.partitionDNs()
	if name != "" {
		nn, err := normDN(name)
		if err != nil {
			return nil, fmt.Errorf("ldap: partition %q: %w", name, err)
		}
		found := ""
		for _, p := range parts {
			if pn, _ := normDN(p); pn == nn {
				found = p
			}
		}
		if found == "" {
			for _, nc := range c.root.namingContexts {
				if pn, _ := normDN(nc); pn == nn {
					found = nc
				}
			}
		}
		if found == "" {
			return nil, &idsync.Error{Op: "ldap import", Kind: idsync.KindNotFound, Err: fmt.Errorf("partition %q is neither configured nor a naming context of the server (have %v)", name, c.root.namingContexts)}
		}
		parts = []string{found}
	}
	if len(parts) == 0 {
		return nil, errors.New("ldap: the server lists no naming context; configure containers")
	}
	out := make([]scope, 0, len(parts))
	for _, p := range parts {
		s := scope{partition: p, bases: []string{p}}
		pn, _ := normDN(p)
		for _, ct := range c.cfg.Containers {
			if cn, _ := normDN(ct.Partition); cn != pn {
				continue
			}
			if len(ct.Include) > 0 {
				s.bases = append([]string(nil), ct.Include...)
			}
			for _, x := range ct.Exclude {
				n, _ := normDN(x)
				s.exclude = append(s.exclude, n)
			}
		}
		out = append(out, s)
	}
	return out, nil
}

// inScope reports whether the DN dn is in any of the scopes.
func inScope(scopes []scope, dn string) bool {
	n := fastNorm(dn)
	for _, s := range scopes {
		ok := false
		for _, b := range s.bases {
			bn, _ := normDN(b)
			if underDN(n, bn) {
				ok = true
				break
			}
		}
		if !ok {
			continue
		}
		for _, x := range s.exclude {
			if underDN(n, x) {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// containerFilter finds entries that can hold others.
const containerFilter = "(|(objectClass=organizationalUnit)(objectClass=container)(objectClass=organization)(objectClass=domain)(objectClass=dcObject)(objectClass=builtinDomain)(objectClass=country)(objectClass=locality)(objectClass=msDS-App-Configuration))"

// Children implements connector.HierarchyDiscoverer: the containers one
// level under parentDN; under "" the partitions.
func (c *conn) Children(ctx context.Context, parentDN string) ([]connector.HierarchyNode, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if parentDN == "" {
		ps, err := c.Partitions(ctx)
		if err != nil {
			return nil, err
		}
		out := make([]connector.HierarchyNode, 0, len(ps))
		for _, p := range ps {
			out = append(out, connector.HierarchyNode{Name: p.DN, DN: p.DN})
		}
		return out, nil
	}
	var out []connector.HierarchyNode
	err := c.paged(ctx, goldap.NewSearchRequest(parentDN, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		containerFilter, []string{"1.1"}, nil), c.cfg.pageSize(0), func(e *goldap.Entry) error {
		out = append(out, connector.HierarchyNode{Name: rdnValue(e.DN), DN: e.DN})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// paged runs a paged search (RFC 2696) and calls fn for each entry.
// Each page is one request; a failure between pages leaves the earlier
// pages emitted.
func (c *conn) paged(ctx context.Context, req *goldap.SearchRequest, size int, fn func(*goldap.Entry) error) error {
	if c.l == nil {
		return idsync.E("ldap search", idsync.KindTransient, errors.New("connection is closed"))
	}
	pc := goldap.NewControlPaging(uint32(size))
	req.Controls = append(req.Controls, pc)
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		res, err := c.l.Search(req)
		if err != nil {
			return c.classify("search "+req.BaseDN, err)
		}
		for _, e := range res.Entries {
			if err := ctx.Err(); err != nil {
				c.abandonPaging(req, pc)
				return err
			}
			if err := fn(e); err != nil {
				c.abandonPaging(req, pc)
				return err
			}
		}
		rc := goldap.FindControl(res.Controls, goldap.ControlTypePaging)
		p, ok := rc.(*goldap.ControlPaging)
		if !ok || len(p.Cookie) == 0 {
			return nil
		}
		pc.SetCookie(p.Cookie)
	}
}

// abandonPaging ends a paged search early (page size 0 with the cookie).
func (c *conn) abandonPaging(req *goldap.SearchRequest, pc *goldap.ControlPaging) {
	if len(pc.Cookie) == 0 || c.l == nil {
		return
	}
	pc.PagingSize = 0
	c.l.Search(req) //nolint:errcheck // best effort
}
