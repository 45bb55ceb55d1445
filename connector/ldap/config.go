package ldap

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync/connector"
)

// Server flavours: they choose the defaults of anchor, delta and export
// behaviour.
const (
	ServerAD       = "ad"
	ServerADLDS    = "adlds"
	ServerOpenLDAP = "openldap"
	ServerGeneric  = "generic"
)

// Delta mechanisms.
const (
	DeltaDirSync    = "dirsync"
	DeltaUSNChanged = "usnchanged"
	DeltaSyncrepl   = "syncrepl"
	DeltaAccesslog  = "accesslog"
	DeltaNone       = "none"
)

// Config is the configuration of an LDAP or Active Directory connector:
// the connector's settings mapping. The keys below url..timeout are the
// contract the MIM importer writes (settings-contract.md); the rest are
// additions documented in docs/ldap.md.
type Config struct {
	// URL is ldap://host[:port] or ldaps://host[:port].
	URL string `yaml:"url"`
	// URLs lists several servers, tried in order until one answers.
	URLs []string `yaml:"urls"`
	// StartTLS upgrades an ldap:// connection with the StartTLS extended
	// operation before binding.
	StartTLS bool `yaml:"startTLS"`
	// CAFile is a PEM file of the certificate authorities to trust
	// (default: the system pool).
	CAFile string `yaml:"caFile"`
	// InsecureSkipVerify turns certificate verification off. It is logged
	// as a warning every time a connection is opened.
	InsecureSkipVerify bool `yaml:"insecureSkipVerify"`
	// BindDN is the DN (or, on AD, a UPN) of a simple bind. Empty with no
	// SASL EXTERNAL: an anonymous bind.
	BindDN string `yaml:"bindDN"`
	// Password of the simple bind, by reference ({env: NAME}).
	Password connector.SecretRef `yaml:"password"`
	// SASLExternal binds with SASL EXTERNAL (the TLS client certificate,
	// or the peer credentials of ldapi://).
	SASLExternal bool `yaml:"saslExternal"`
	// Server is the flavour: ad, adlds, openldap or generic (default generic).
	Server string `yaml:"server"`
	// Delta is the delta import mechanism: dirsync, usnchanged, syncrepl,
	// accesslog or none. Default: dirsync on ad, usnchanged on adlds,
	// syncrepl on openldap, none on generic.
	Delta string `yaml:"delta"`
	// Anchor is objectGUID, entryUUID or another attribute name. Default:
	// objectGUID on ad and adlds, entryUUID on openldap and generic.
	Anchor string `yaml:"anchor"`
	// Containers scope the import per partition: subtrees to include
	// (default: the whole partition) and subtrees to exclude.
	Containers []Containers `yaml:"containers"`
	// ObjectClasses maps idsync object types to LDAP object classes
	// (user: user). Empty: every object is imported with its structural
	// object class as its type.
	ObjectClasses map[string]string `yaml:"objectClasses"`
	// PageSize of paged searches (RFC 2696); default 1000.
	PageSize int `yaml:"pageSize"`
	// Timeout of each LDAP request and of connecting; default 2m.
	Timeout time.Duration `yaml:"timeout"`

	// CertFile and KeyFile are a TLS client certificate (for SASL EXTERNAL).
	CertFile string `yaml:"certFile"`
	KeyFile  string `yaml:"keyFile"`
	// ServerName is the name checked in the server certificate when it
	// differs from the URL host (a DC reached by IP address).
	ServerName string `yaml:"serverName"`
	// ExportType is AttributeUpdate (default: value-level add/delete),
	// AttributeReplace or MultivaluedReferenceAttributeUpdate.
	ExportType string `yaml:"exportType"`
	// Filter is an extra LDAP filter every imported object must match.
	Filter string `yaml:"filter"`
	// ReferencesInFirstPass exports reference values with their objects
	// instead of in a second pass (default false: two passes, so that
	// references to objects created in the same run resolve).
	ReferencesInFirstPass bool `yaml:"referencesInFirstPass"`
	// AllowPasswordWithoutTLS permits password operations on a connection
	// without TLS. Never on Active Directory, which refuses them anyway.
	AllowPasswordWithoutTLS bool `yaml:"allowPasswordWithoutTLS"`
	// PlaceholderMember is a DN put in a mandatory reference attribute
	// (groupOfNames' member) when an add comes without it, as it does in
	// the first of two export passes; it is removed when real values are
	// added. Empty: such an add fails with ObjectClassViolation.
	PlaceholderMember string `yaml:"placeholderMember"`
}

// Containers is the scope of one partition.
type Containers struct {
	Partition string   `yaml:"partition"`
	Include   []string `yaml:"include"`
	Exclude   []string `yaml:"exclude"`
}

// Type is the LDAP connector type.
var Type = connector.Type{
	Name:         "ldap",
	NewConfig:    func() connector.Config { return new(Config) },
	Capabilities: (&Config{}).Capabilities(),
}

func (c *Config) server() string {
	if c.Server == "" {
		return ServerGeneric
	}
	return strings.ToLower(c.Server)
}

func (c *Config) isAD() bool { s := c.server(); return s == ServerAD || s == ServerADLDS }

func (c *Config) delta() string {
	if c.Delta != "" {
		return strings.ToLower(c.Delta)
	}
	switch c.server() {
	case ServerAD:
		return DeltaDirSync
	case ServerADLDS:
		return DeltaUSNChanged
	case ServerOpenLDAP:
		return DeltaSyncrepl
	}
	return DeltaNone
}

func (c *Config) anchor() string {
	if c.Anchor != "" {
		return c.Anchor
	}
	if c.isAD() {
		return "objectGUID"
	}
	return "entryUUID"
}

func (c *Config) pageSize(override int) int {
	if override > 0 {
		return override
	}
	if c.PageSize > 0 {
		return c.PageSize
	}
	return 1000
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return 2 * time.Minute
}

func (c *Config) urls() []string {
	if len(c.URLs) > 0 {
		return c.URLs
	}
	return []string{c.URL}
}

func (c *Config) exportType() connector.ExportType {
	switch strings.ToLower(c.ExportType) {
	case "attributereplace":
		return connector.ExportAttributeReplace
	case "multivaluedreferenceattributeupdate":
		return connector.ExportMultivaluedReferenceAttributeUpdate
	}
	return connector.ExportAttributeUpdate
}

// Capabilities implements connector.Capabler.
func (c *Config) Capabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:                 connector.DNLDAP,
		ExportType:              c.exportType(),
		Confirmation:            connector.ConfirmNormal,
		NormalizeAnchors:        false,
		Partitions:              true,
		Hierarchy:               true,
		Import:                  true,
		DeltaImport:             c.delta() != DeltaNone,
		Export:                  true,
		NoReferencesInFirstPass: !c.ReferencesInFirstPass,
		ObjectRename:            true,
		Password:                true,
	}
}

var _ connector.Capabler = (*Config)(nil)

// Validate implements connector.Config. It does no network I/O.
func (c *Config) Validate() error {
	if c.URL != "" && len(c.URLs) > 0 {
		return errors.New("ldap: set url or urls, not both")
	}
	if c.URL == "" && len(c.URLs) == 0 {
		return errors.New("ldap: url is required (ldap://host:389 or ldaps://host:636)")
	}
	for _, u := range c.urls() {
		p, err := parseURL(u)
		if err != nil {
			return fmt.Errorf("ldap: url %q: %w", u, err)
		}
		switch p.Scheme {
		case "ldap", "ldaps", "ldapi":
		default:
			return fmt.Errorf("ldap: url %q: scheme must be ldap, ldaps or ldapi", u)
		}
		if p.Scheme == "ldaps" && c.StartTLS {
			return fmt.Errorf("ldap: url %q is ldaps: startTLS applies to ldap:// only", u)
		}
		if p.Scheme != "ldapi" && p.Host == "" {
			return fmt.Errorf("ldap: url %q has no host", u)
		}
	}
	switch c.server() {
	case ServerAD, ServerADLDS, ServerOpenLDAP, ServerGeneric:
	default:
		return fmt.Errorf("ldap: server %q: want ad, adlds, openldap or generic", c.Server)
	}
	d := c.delta()
	switch d {
	case DeltaDirSync, DeltaUSNChanged:
		if !c.isAD() {
			return fmt.Errorf("ldap: delta %s needs server ad or adlds", d)
		}
		if !strings.EqualFold(c.anchor(), "objectGUID") {
			return fmt.Errorf("ldap: delta %s reports deletions by objectGUID: anchor must be objectGUID", d)
		}
	case DeltaSyncrepl, DeltaAccesslog:
		if c.isAD() {
			return fmt.Errorf("ldap: delta %s is an OpenLDAP mechanism; Active Directory uses dirsync or usnchanged", d)
		}
		if !strings.EqualFold(c.anchor(), "entryUUID") {
			return fmt.Errorf("ldap: delta %s reports deletions by entryUUID: anchor must be entryUUID", d)
		}
	case DeltaNone:
	default:
		return fmt.Errorf("ldap: delta %q: want dirsync, usnchanged, syncrepl, accesslog or none", c.Delta)
	}
	if strings.ContainsAny(c.anchor(), " ,;()=") {
		return fmt.Errorf("ldap: anchor %q is not an attribute name", c.Anchor)
	}
	if c.SASLExternal && !c.Password.IsZero() {
		return errors.New("ldap: saslExternal binds with a certificate: do not set password")
	}
	if !c.Password.IsZero() && c.BindDN == "" {
		return errors.New("ldap: password is set but bindDN is empty")
	}
	if (c.CertFile == "") != (c.KeyFile == "") {
		return errors.New("ldap: certFile and keyFile go together")
	}
	if c.PageSize < 0 {
		return fmt.Errorf("ldap: pageSize %d must be positive", c.PageSize)
	}
	if c.Timeout < 0 {
		return fmt.Errorf("ldap: timeout %s must be positive", c.Timeout)
	}
	switch strings.ToLower(c.ExportType) {
	case "", "attributeupdate", "attributereplace", "multivaluedreferenceattributeupdate":
	default:
		return fmt.Errorf("ldap: exportType %q: want AttributeUpdate, AttributeReplace or MultivaluedReferenceAttributeUpdate", c.ExportType)
	}
	if c.Filter != "" {
		if _, err := goldap.CompileFilter(c.filterText()); err != nil {
			return fmt.Errorf("ldap: filter %q: %w", c.Filter, err)
		}
	}
	if c.PlaceholderMember != "" {
		if _, err := normDN(c.PlaceholderMember); err != nil {
			return fmt.Errorf("ldap: placeholderMember %q: %w", c.PlaceholderMember, err)
		}
	}
	for typ, oc := range c.ObjectClasses {
		if typ == "" || oc == "" || strings.ContainsAny(oc, " ()=*,") {
			return fmt.Errorf("ldap: objectClasses: %q: %q is not an object class name", typ, oc)
		}
	}
	seen := map[string]bool{}
	for i, ct := range c.Containers {
		if ct.Partition == "" {
			return fmt.Errorf("ldap: containers[%d]: partition is required", i)
		}
		p, err := normDN(ct.Partition)
		if err != nil {
			return fmt.Errorf("ldap: containers[%d]: partition %q: %w", i, ct.Partition, err)
		}
		if seen[p] {
			return fmt.Errorf("ldap: containers: partition %q listed twice", ct.Partition)
		}
		seen[p] = true
		for _, list := range [][]string{ct.Include, ct.Exclude} {
			for _, d := range list {
				n, err := normDN(d)
				if err != nil {
					return fmt.Errorf("ldap: containers[%d]: %q: %w", i, d, err)
				}
				if !underDN(n, p) {
					return fmt.Errorf("ldap: containers[%d]: %q is not under partition %q", i, d, ct.Partition)
				}
			}
		}
	}
	return nil
}

// parseURL parses an LDAP URL. ldapi:// puts the percent-encoded socket
// path where the host goes (ldapi://%2Frun%2Fslapd%2Fldapi), which
// net/url refuses: Host then holds the decoded path.
func parseURL(raw string) (*url.URL, error) {
	const ldapi = "ldapi://"
	if !strings.HasPrefix(strings.ToLower(raw), ldapi) {
		return url.Parse(raw)
	}
	rest := raw[len(ldapi):]
	host, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		host, path = rest[:i], rest[i:]
	}
	h, err := url.PathUnescape(host)
	if err != nil {
		return nil, fmt.Errorf("ldapi socket %q: %w", host, err)
	}
	if h == "" {
		h = path
	}
	if h == "" {
		h = "/var/run/slapd/ldapi"
	}
	return &url.URL{Scheme: "ldapi", Host: h}, nil
}

// filterText wraps a filter in parentheses when the user left them out.
func (c *Config) filterText() string {
	f := strings.TrimSpace(c.Filter)
	if f != "" && !strings.HasPrefix(f, "(") {
		f = "(" + f + ")"
	}
	return f
}

func (c *Config) resolvePath(dir, p string) string {
	if p == "" || filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// Open implements connector.Config: it connects and binds.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	cn := &conn{cfg: *c, env: env, log: env.Logger}
	if cn.log == nil {
		cn.log = discardLogger()
	}
	if env.Now == nil {
		cn.env.Now = time.Now
	}
	cn.cfg.CAFile = c.resolvePath(env.Dir, c.CAFile)
	cn.cfg.CertFile = c.resolvePath(env.Dir, c.CertFile)
	cn.cfg.KeyFile = c.resolvePath(env.Dir, c.KeyFile)
	if cn.cfg.CAFile != "" {
		if _, err := os.Stat(cn.cfg.CAFile); err != nil {
			return nil, fmt.Errorf("ldap: caFile: %w", err)
		}
	}
	if err := cn.connect(ctx); err != nil {
		return nil, err
	}
	return cn, nil
}
