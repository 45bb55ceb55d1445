package config

import (
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"gopkg.in/yaml.v3"
)

// Matching configures how provisioning into a target connector that
// already holds objects takes them over instead of creating duplicates
// (SPEC §12, hard and soft match). A connector without a matching block
// never matches.
type Matching struct {
	// ImmutableIDAttribute is the target attribute that holds the source
	// anchor (default "immutableId"). Its value, as the outbound flows
	// compute it, is the source anchor that hard match compares.
	ImmutableIDAttribute string
	// UserPrincipalNameAttribute is the target attribute users soft-match
	// on (default "userPrincipalName"; empty disables UPN soft match).
	UserPrincipalNameAttribute string
	// ProxyAddressesAttribute holds the addresses whose primary SMTP
	// value ("SMTP:" prefix, upper case) users, groups and contacts
	// soft-match on (default "proxyAddresses"; empty disables it).
	ProxyAddressesAttribute string
	// SecurityIdentifierAttribute, when set, names the target attribute
	// holding the on-premises security identifier: an SMTP conflict with
	// an object of the same identifier is reported as
	// OnPremiseSecurityIdentifier, and the identifier must be unique.
	SecurityIdentifierAttribute string
	// PrivilegedAttribute, when set, names the attribute that marks
	// objects holding a privileged role: they are never matched.
	PrivilegedAttribute string
	// PrivilegedValues restricts PrivilegedAttribute to these values
	// (compared case-insensitively); empty means any value.
	PrivilegedValues []string
	// BlockHardMatch and BlockSoftMatch turn the two kinds of match off
	// (both false by default; turn them on once taking over is done).
	BlockHardMatch bool
	BlockSoftMatch bool
	// Users, Groups and Contacts list the target object types of each
	// kind (defaults [user, person], [group], [contact]). Users match hard
	// and soft (UPN or primary SMTP); groups and contacts soft only, on
	// the primary SMTP address; other object types never match.
	Users, Groups, Contacts []string
}

// Matching defaults.
const (
	DefaultImmutableIDAttribute       = "immutableId"
	DefaultUserPrincipalNameAttribute = "userPrincipalName"
	DefaultProxyAddressesAttribute    = "proxyAddresses"
)

var matchingKeys = []string{
	"immutableIdAttribute", "userPrincipalNameAttribute", "proxyAddressesAttribute",
	"securityIdentifierAttribute", "privilegedAttribute", "privilegedValues",
	"blockHardMatch", "blockSoftMatch", "users", "groups", "contacts",
}

// matching decodes a connector's matching block.
func (l *loader) matching(s *source, c *Connector, n *yaml.Node, what string) *Matching {
	what += ": matching"
	m := s.mapping(n, what, matchingKeys...)
	if m == nil {
		return nil
	}
	mt := &Matching{
		ImmutableIDAttribute:       DefaultImmutableIDAttribute,
		UserPrincipalNameAttribute: DefaultUserPrincipalNameAttribute,
		ProxyAddressesAttribute:    DefaultProxyAddressesAttribute,
		Users:                      []string{"user", "person"},
		Groups:                     []string{"group"},
		Contacts:                   []string{"contact"},
	}
	ps := l.cfg.pos
	ps.set(c, "matching", s.pos(m.node))
	for _, k := range matchingKeys {
		if _, ok := m.vals[k]; ok {
			ps.set(c, "matching."+k, m.posOf(k))
		}
	}
	// attr reads an attribute name; "none" (or null) turns it off when
	// optional is true.
	attr := func(key string, dst *string, optional bool) {
		raw, ok := m.vals[key]
		if !ok {
			return
		}
		if isNull(raw) {
			if optional {
				*dst = ""
			} else {
				s.errorf(m.get(key), "%s: %s: want an attribute name, got null", what, key)
			}
			return
		}
		v, vn, ok := m.scalar(key)
		if !ok {
			return
		}
		switch {
		case strings.EqualFold(v, "none") && optional:
			*dst = ""
		case strings.TrimSpace(v) == "" || strings.ContainsAny(v, " \t\n"):
			s.errorf(vn, "%s: %s: %q is not an attribute name", what, key, v)
		default:
			*dst = v
		}
	}
	attr("immutableIdAttribute", &mt.ImmutableIDAttribute, false)
	attr("userPrincipalNameAttribute", &mt.UserPrincipalNameAttribute, true)
	attr("proxyAddressesAttribute", &mt.ProxyAddressesAttribute, true)
	attr("securityIdentifierAttribute", &mt.SecurityIdentifierAttribute, true)
	attr("privilegedAttribute", &mt.PrivilegedAttribute, true)
	mt.PrivilegedValues = m.strings("privilegedValues")
	mt.BlockHardMatch = m.boolean("blockHardMatch", false)
	mt.BlockSoftMatch = m.boolean("blockSoftMatch", false)
	for _, k := range []struct {
		key string
		dst *[]string
	}{{"users", &mt.Users}, {"groups", &mt.Groups}, {"contacts", &mt.Contacts}} {
		if _, ok := m.vals[k.key]; ok {
			*k.dst = m.strings(k.key)
		}
	}
	return mt
}

// MatchKind is the kind of a target object type for matching.
type MatchKind uint8

// Match kinds.
const (
	MatchNone MatchKind = iota
	MatchUser
	MatchGroup
	MatchContact
)

func (k MatchKind) String() string {
	return [...]string{"none", "user", "group", "contact"}[k]
}

// Kind returns the kind of a target object type: user, group, contact,
// or none (never matched).
func (m *Matching) Kind(objectType string) MatchKind {
	switch {
	case m == nil:
		return MatchNone
	case slices.Contains(m.Users, objectType):
		return MatchUser
	case slices.Contains(m.Groups, objectType):
		return MatchGroup
	case slices.Contains(m.Contacts, objectType):
		return MatchContact
	}
	return MatchNone
}

// Privileged reports whether attrs hold a privileged role.
func (m *Matching) Privileged(attrs idsync.Attrs) bool {
	if m == nil || m.PrivilegedAttribute == "" {
		return false
	}
	for _, v := range attrs[m.PrivilegedAttribute] {
		s := strings.TrimSpace(v.String())
		if s == "" {
			continue
		}
		if len(m.PrivilegedValues) == 0 {
			return true
		}
		for _, p := range m.PrivilegedValues {
			if strings.EqualFold(p, s) {
				return true
			}
		}
	}
	return false
}

// Attributes returns the target attributes matching looks up by value.
func (m *Matching) Attributes() []string {
	if m == nil {
		return nil
	}
	var out []string
	for _, a := range []string{m.ImmutableIDAttribute, m.UserPrincipalNameAttribute, m.ProxyAddressesAttribute, m.SecurityIdentifierAttribute} {
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// validateMatching checks a connector's matching block against the rest
// of the configuration.
func (v *validator) matching(c *Connector, what string) {
	mt := c.Matching
	if mt == nil {
		return
	}
	at := func(key string) Pos {
		if key == "" {
			return v.at(c, "matching")
		}
		if p, ok := v.c.pos.get(c, "matching."+key); ok {
			return p
		}
		return v.at(c, "matching")
	}
	what += ": matching"
	if !c.Capabilities.Export {
		v.errorf(at(""), "%s: the connector cannot export, so nothing is ever provisioned into it to match", what)
	}
	if mt.ImmutableIDAttribute == "" {
		v.errorf(at("immutableIdAttribute"), "%s: immutableIdAttribute is required", what)
	}
	if len(mt.PrivilegedValues) > 0 && mt.PrivilegedAttribute == "" {
		v.errorf(at("privilegedValues"), "%s: privilegedValues needs privilegedAttribute", what)
	}
	if mt.UserPrincipalNameAttribute == "" && mt.ProxyAddressesAttribute == "" && !mt.BlockSoftMatch {
		v.errorf(at(""), "%s: userPrincipalNameAttribute and proxyAddressesAttribute are both none: soft match has nothing to compare (set blockSoftMatch: true to say so)", what)
	}
	seen := map[string]string{}
	for _, k := range []struct {
		key   string
		types []string
	}{{"users", mt.Users}, {"groups", mt.Groups}, {"contacts", mt.Contacts}} {
		for _, t := range k.types {
			if t == "" || t == "*" {
				v.errorf(at(k.key), "%s: %s: %q is not an object type", what, k.key, t)
				continue
			}
			if prev, dup := seen[t]; dup {
				v.errorf(at(k.key), "%s: object type %q is listed in both %s and %s", what, t, prev, k.key)
				continue
			}
			seen[t] = k.key
		}
	}
	// Every user type provisioned here must receive the source anchor:
	// hard match compares it, and a soft-matched object gets it.
	if mt.ImmutableIDAttribute == "" {
		return
	}
	flows := map[string]bool{}    // CS types with a flow to the immutable ID ("*" for any)
	provision := map[string]Pos{} // user types some Provision rule creates
	for _, r := range v.c.Rules {
		if r.Disabled || r.Direction != idsync.Outbound || r.Connector != c.Name {
			continue
		}
		for _, f := range r.Flows {
			if f.Target == mt.ImmutableIDAttribute {
				flows[r.CSType] = true
			}
		}
		if r.LinkType == idsync.LinkProvision && mt.Kind(r.CSType) == MatchUser {
			if _, ok := provision[r.CSType]; !ok {
				provision[r.CSType] = v.at(r, "")
			}
		}
	}
	types := make([]string, 0, len(provision))
	for t := range provision {
		types = append(types, t)
	}
	slices.Sort(types)
	for _, t := range types {
		if !flows[t] && !flows["*"] {
			v.errorf(at("immutableIdAttribute"), "%s: no outbound rule of %s flows %s to object type %q (provisioned by the rule at %s): hard match compares the source anchor there, and a soft-matched object must receive it",
				what, c.Name, mt.ImmutableIDAttribute, t, provision[t])
		}
	}
}

// describeMatching is used in messages: "immutableId" etc.
func (m *Matching) String() string {
	if m == nil {
		return "no matching"
	}
	return fmt.Sprintf("matching on %s (hard%s), %s (soft%s)", m.ImmutableIDAttribute, blocked(m.BlockHardMatch),
		strings.Join(slices.DeleteFunc([]string{m.UserPrincipalNameAttribute, m.ProxyAddressesAttribute}, func(s string) bool { return s == "" }), ", "),
		blocked(m.BlockSoftMatch))
}

func blocked(b bool) string {
	if b {
		return ", blocked"
	}
	return ""
}
