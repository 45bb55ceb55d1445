// Package host is the connector host (SPEC §11), the equivalent of
// Microsoft's ECMA Connector Host: a SCIM 2.0 server (RFC 7643/7644) that
// exposes configured idsync connectors to a cloud provisioning service.
//
// Reads are answered from the connector space, used as a cache that a
// delta import (a full import for connectors without one) refreshes on
// an interval; lookups by userName, externalId, id, emails and
// displayName go through the store's value indexes. Writes go through
// the connector's export at once (engine.HostSession), and their result
// is staged in the connector space, so that the cache stays consistent;
// the SCIM id of a resource is its anchor.
package host

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/scim"
)

// Config is the host's configuration file (host.yaml), kept apart from
// the idsync configuration directory it serves connectors of.
//
//	listen: 127.0.0.1:8443
//	tls: {cert: server.crt, key: server.key}   # optional; relative to this file
//	token: {env: IDSYNC_HOST_TOKEN}            # the bearer token clients send
//	refresh: 5m                                 # delta import interval (0: only at start)
//	maxResults: 1000                            # largest page a query returns
//	endpoints:
//	  - connector: hr                           # an idsync connector
//	    path: /scim/hr                          # default /scim/<connector>
//	    users:
//	      objectType: person
//	      attributes:                           # SCIM attribute path: connector attribute
//	        userName: uid
//	        externalId: employeeId
//	        displayName: displayName
//	        name.givenName: givenName
//	        emails[type eq "work"].value: mail
//	        active: enabled
//	    groups:
//	      objectType: group
//	      attributes: {displayName: cn, members: member}
type Config struct {
	Listen     string              `yaml:"listen"`
	TLS        *TLSConfig          `yaml:"tls"`
	Token      connector.SecretRef `yaml:"token"`
	Refresh    time.Duration       `yaml:"refresh"`
	MaxResults int                 `yaml:"maxResults"`
	Endpoints  []*Endpoint         `yaml:"endpoints"`

	// Dir is the directory of the file, for relative paths.
	Dir string `yaml:"-"`
}

// TLSConfig names the certificate and key files (PEM).
type TLSConfig struct {
	Cert string `yaml:"cert"`
	Key  string `yaml:"key"`
}

// Endpoint exposes one connector.
type Endpoint struct {
	Connector string       `yaml:"connector"`
	Path      string       `yaml:"path"`
	Users     *ResourceMap `yaml:"users"`
	Groups    *ResourceMap `yaml:"groups"`
}

// ResourceMap maps a SCIM resource type onto an object type of the
// connector: each SCIM attribute path ("userName", "name.givenName",
// `emails[type eq "work"].value`, "emails", "members",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber")
// to a connector attribute.
type ResourceMap struct {
	ObjectType string            `yaml:"objectType"`
	Attributes map[string]string `yaml:"attributes"`
	// DN is the DN of a created object: a template of connector
	// attributes ("CN={cn},OU=Users,DC=example,DC=com"; values are
	// escaped as RFC 4514 says). Empty: the connector names the object
	// (a DN-less connector uses the anchor).
	DN string `yaml:"dn"`
}

// Defaults.
const (
	DefaultListen     = "127.0.0.1:8443"
	DefaultMaxResults = 1000
	DefaultRefresh    = 5 * time.Minute
)

// LoadConfig reads a host configuration file (strictly: unknown keys are
// errors naming the line).
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("host configuration: %w", err)
	}
	c := &Config{Refresh: -1}
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("host configuration %s: %w", path, err)
	}
	c.Dir = dirOf(path)
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("host configuration %s: %w", path, err)
	}
	return c, nil
}

func dirOf(p string) string {
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		return p[:i]
	}
	return "."
}

// Validate checks the configuration and fills in defaults.
func (c *Config) Validate() error {
	var errs []error
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.Refresh < 0 {
		c.Refresh = DefaultRefresh
	}
	if c.MaxResults <= 0 {
		c.MaxResults = DefaultMaxResults
	}
	if c.Token.IsZero() {
		errs = append(errs, errors.New("token: a bearer token is required ({env: NAME})"))
	}
	if c.TLS != nil && (c.TLS.Cert == "" || c.TLS.Key == "") {
		errs = append(errs, errors.New("tls: both cert and key are required"))
	}
	if len(c.Endpoints) == 0 {
		errs = append(errs, errors.New("endpoints: at least one connector must be exposed"))
	}
	paths := map[string]bool{}
	for i, ep := range c.Endpoints {
		where := fmt.Sprintf("endpoints[%d]", i)
		if ep.Connector == "" {
			errs = append(errs, fmt.Errorf("%s: connector is required", where))
			continue
		}
		where += " (" + ep.Connector + ")"
		if ep.Path == "" {
			ep.Path = "/scim/" + ep.Connector
		}
		ep.Path = "/" + strings.Trim(ep.Path, "/")
		if paths[ep.Path] {
			errs = append(errs, fmt.Errorf("%s: path %s is used twice", where, ep.Path))
		}
		paths[ep.Path] = true
		if ep.Users == nil && ep.Groups == nil {
			errs = append(errs, fmt.Errorf("%s: map users, groups or both", where))
		}
		for _, rm := range []struct {
			name string
			m    *ResourceMap
			need string
		}{{"users", ep.Users, "userName"}, {"groups", ep.Groups, "displayName"}} {
			if rm.m == nil {
				continue
			}
			if rm.m.ObjectType == "" {
				errs = append(errs, fmt.Errorf("%s: %s: objectType is required", where, rm.name))
			}
			if _, ok := rm.m.Attributes[rm.need]; !ok {
				errs = append(errs, fmt.Errorf("%s: %s: attribute %s must be mapped", where, rm.name, rm.need))
			}
			if err := checkTemplate(rm.m.DN); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: dn: %w", where, rm.name, err))
			}
			if _, err := compileMap(rm.m); err != nil {
				errs = append(errs, fmt.Errorf("%s: %s: %w", where, rm.name, err))
			}
		}
	}
	return errors.Join(errs...)
}

// mapping is one compiled SCIM attribute → connector attribute.
type mapping struct {
	scimPath string
	path     scim.Path
	attr     string
	kind     mapKind
}

type mapKind uint8

const (
	kindSimple   mapKind = iota // a single-valued attribute or sub-attribute
	kindMulti                   // a multi-valued complex attribute, by its "value"s (emails)
	kindFiltered                // emails[type eq "work"].value
	kindMembers                 // Group members: references
	kindManager                 // enterprise manager: a reference
)

// multiValued are the multi-valued attributes of the core schemas
// (RFC 7643 §4).
var multiValued = map[string]bool{"emails": true, "phonenumbers": true, "ims": true, "photos": true, "addresses": true,
	"groups": true, "entitlements": true, "roles": true, "x509certificates": true, "members": true}

func compileMap(rm *ResourceMap) ([]mapping, error) {
	var out []mapping
	names := make([]string, 0, len(rm.Attributes))
	for n := range rm.Attributes {
		names = append(names, n)
	}
	sort.Strings(names)
	seen := map[string]string{}
	for _, n := range names {
		attr := rm.Attributes[n]
		if attr == "" {
			return nil, fmt.Errorf("attributes: %s maps to no connector attribute", n)
		}
		if prev, dup := seen[strings.ToLower(attr)]; dup {
			return nil, fmt.Errorf("attributes: %s and %s both map to %s", prev, n, attr)
		}
		seen[strings.ToLower(attr)] = n
		p, err := scim.ParsePath(n)
		if err != nil {
			return nil, fmt.Errorf("attributes: %s: %v", n, err.(*scim.Error).Detail)
		}
		if strings.EqualFold(p.Attr.Name, "id") && p.Attr.URN == "" {
			return nil, fmt.Errorf("attributes: id is the anchor and cannot be mapped")
		}
		m := mapping{scimPath: n, path: p, attr: attr}
		lname := strings.ToLower(p.Attr.Name)
		switch {
		case p.Filter != nil:
			if p.Sub == "" {
				return nil, fmt.Errorf("attributes: %s: a filtered path needs a sub-attribute (%s.value)", n, n)
			}
			if _, ok := seedOf(p.Filter); !ok {
				return nil, fmt.Errorf("attributes: %s: the filter must be eq comparisons joined by and", n)
			}
			m.kind = kindFiltered
		case lname == "members" && p.Attr.Sub == "":
			m.kind = kindMembers
		case lname == "manager" && p.Attr.URN != "" && (p.Attr.Sub == "" || strings.EqualFold(p.Attr.Sub, "value")):
			m.kind = kindManager
		case multiValued[lname] && p.Attr.Sub == "":
			m.kind = kindMulti
		case multiValued[lname]:
			return nil, fmt.Errorf("attributes: %s: map a multi-valued attribute as a whole (%s) or with a filter (%s[type eq \"work\"].%s)", n, p.Attr.Name, p.Attr.Name, p.Attr.Sub)
		}
		out = append(out, m)
	}
	return out, nil
}

// seedOf returns the sub-attribute values an eq-and filter describes.
func seedOf(f scim.Filter) (map[string]any, bool) {
	switch x := f.(type) {
	case scim.Compare:
		if x.Op != "eq" || x.Path.Sub != "" || x.Path.URN != "" || x.Value == nil {
			return nil, false
		}
		return map[string]any{x.Path.Name: x.Value}, true
	case scim.And:
		l, ok1 := seedOf(x.L)
		r, ok2 := seedOf(x.R)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

func checkTemplate(t string) error {
	for i := 0; i < len(t); i++ {
		switch t[i] {
		case '{':
			j := strings.IndexByte(t[i:], '}')
			if j < 2 {
				return fmt.Errorf("unclosed or empty {} in %q", t)
			}
			i += j
		case '}':
			return fmt.Errorf("unbalanced } in %q", t)
		}
	}
	return nil
}

// expandDN fills a DN template with attribute values, escaped as RFC
// 4514 says; an attribute without a value is an error.
func expandDN(t string, a idsync.Attrs) (string, error) {
	var b strings.Builder
	for i := 0; i < len(t); i++ {
		if t[i] != '{' {
			b.WriteByte(t[i])
			continue
		}
		j := strings.IndexByte(t[i:], '}')
		name := t[i+1 : i+j]
		v := a.Get(name)
		if v.IsZero() || v.String() == "" {
			return "", fmt.Errorf("the DN template needs attribute %s, which has no value", name)
		}
		b.WriteString(escapeRDNValue(v.String()))
		i += j
	}
	return b.String(), nil
}

func escapeRDNValue(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case strings.IndexByte(`,+"\\<>;=`, c) >= 0, c == '#' && i == 0, c == ' ' && (i == 0 || i == len(s)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == 0:
			b.WriteString(`\00`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
