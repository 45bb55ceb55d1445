package ldap

import (
	"strconv"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
)

// TestConformanceOpenLDAP runs the connector conformance suite against the
// real slapd, over LDAPS with the test CA (password operations need TLS).
func TestConformanceOpenLDAP(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	ou := s.testOU(t, l, "conformance")
	cfg := s.config(ou)
	if s.ldapsURL != "" {
		cfg.URL, cfg.CAFile = s.ldapsURL, s.caFile
	} else {
		cfg.AllowPasswordWithoutTLS = true
	}
	cfg.ObjectClasses = map[string]string{"testObject": "idsyncTestObject"}
	dnOf := func(key string) string { return "uid=" + key + "," + ou }
	connectortest.Run(t, connectortest.Harness{
		ObjectType:   "testObject",
		Key:          "uid",
		DN:           dnOf,
		Capabilities: cfg.Capabilities(),
		Attributes: []idsync.AttrDef{
			{Name: "displayName", Type: idsync.TypeString},
			{Name: "idsyncTag", Type: idsync.TypeString, MultiValued: true},
			{Name: "idsyncInt", Type: idsync.TypeInteger},
			{Name: "idsyncInts", Type: idsync.TypeInteger, MultiValued: true},
			{Name: "idsyncBool", Type: idsync.TypeBoolean},
			{Name: "idsyncTime", Type: idsync.TypeDateTime},
			{Name: "idsyncTimes", Type: idsync.TypeDateTime, MultiValued: true},
			{Name: "idsyncBin", Type: idsync.TypeBinary},
			{Name: "idsyncBins", Type: idsync.TypeBinary, MultiValued: true},
			{Name: "seeAlso", Type: idsync.TypeReference, MultiValued: true},
		},
		Seed: func(t *testing.T, objs []idsync.Entry) {
			deleteChildren(t, l, ou)
			for _, o := range objs {
				req := goldap.NewAddRequest(o.DN, nil)
				req.Attribute("objectClass", []string{"idsyncTestObject"})
				for _, name := range idsync.SortedNames(o.Attrs) {
					var vals []string
					for _, v := range o.Attrs[name] {
						vals = append(vals, ldapText(v))
					}
					req.Attribute(name, vals)
				}
				if err := l.Add(req); err != nil {
					t.Fatalf("seed %s: %v", o.DN, err)
				}
			}
		},
		Open: func(t *testing.T) connector.Connector { return s.open(t, cfg) },
		Modify: func(t *testing.T, key string, mods []idsync.AttrMod) {
			req := goldap.NewModifyRequest(dnOf(key), nil)
			for _, m := range mods {
				var vals []string
				for _, v := range m.Values {
					vals = append(vals, ldapText(v))
				}
				req.Replace(m.Name, vals)
			}
			if err := l.Modify(req); err != nil {
				t.Fatal(err)
			}
		},
	})
}

// ldapText is a value as LDAP text, for seeding.
func ldapText(v idsync.Value) string {
	switch v.Type {
	case idsync.TypeBoolean:
		return strings.ToUpper(strconv.FormatBool(v.Boolean()))
	case idsync.TypeDateTime:
		return formatLDAPTime(v.Time())
	case idsync.TypeBinary:
		return string(v.Bin)
	}
	return v.String()
}

// deleteChildren empties an OU.
func deleteChildren(t testing.TB, l *goldap.Conn, ou string) {
	t.Helper()
	res, err := l.Search(goldap.NewSearchRequest(ou, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil))
	if err != nil {
		t.Fatalf("list %s: %v", ou, err)
	}
	for _, e := range res.Entries {
		deleteTree(t, l, e.DN)
	}
}

// TestConformanceSambaAD runs the conformance suite against the real Samba
// AD DC over LDAPS: objectGUID anchors, DirSync delta, unicodePwd.
func TestConformanceSambaAD(t *testing.T) {
	s := need(t, "AD")
	if s.ldapsURL == "" || s.caFile == "" {
		t.Skip("IDSYNC_TEST_AD_LDAPS_URL / _CA_FILE not set")
	}
	l := s.admin(t)
	ou := s.testOU(t, l, "conformance")
	cfg := s.config(ou)
	cfg.URL, cfg.CAFile = s.ldapsURL, s.caFile
	cfg.ObjectClasses = map[string]string{"user": "user"}
	dnOf := func(key string) string { return "CN=" + key + "," + ou }
	connectortest.Run(t, connectortest.Harness{
		ObjectType:   "user",
		Key:          "cn",
		DN:           dnOf,
		Capabilities: cfg.Capabilities(),
		Attributes: []idsync.AttrDef{
			{Name: "displayName", Type: idsync.TypeString},
			{Name: "otherTelephone", Type: idsync.TypeString, MultiValued: true},
			{Name: "uidNumber", Type: idsync.TypeInteger},
			{Name: "msNPAllowDialin", Type: idsync.TypeBoolean},
			{Name: "thumbnailPhoto", Type: idsync.TypeBinary},
			{Name: "jpegPhoto", Type: idsync.TypeBinary, MultiValued: true},
			{Name: "manager", Type: idsync.TypeReference},
			{Name: "seeAlso", Type: idsync.TypeReference, MultiValued: true},
		},
		Seed: func(t *testing.T, objs []idsync.Entry) {
			deleteChildren(t, l, ou)
			// References first point nowhere: add the objects, then them.
			for pass := 0; pass < 2; pass++ {
				for _, o := range objs {
					var refs []goldap.Change
					req := goldap.NewAddRequest(o.DN, nil)
					req.Attribute("objectClass", []string{"user"})
					for _, name := range idsync.SortedNames(o.Attrs) {
						var vals []string
						for _, v := range o.Attrs[name] {
							vals = append(vals, ldapText(v))
						}
						if o.Attrs[name][0].Type == idsync.TypeReference {
							refs = append(refs, goldap.Change{Operation: goldap.ReplaceAttribute, Modification: goldap.PartialAttribute{Type: name, Vals: vals}})
							continue
						}
						req.Attribute(name, vals)
					}
					if pass == 0 {
						if err := l.Add(req); err != nil {
							t.Fatalf("seed %s: %v", o.DN, err)
						}
						continue
					}
					if len(refs) > 0 {
						if err := l.Modify(&goldap.ModifyRequest{DN: o.DN, Changes: refs}); err != nil {
							t.Fatalf("seed references of %s: %v", o.DN, err)
						}
					}
				}
			}
		},
		Open: func(t *testing.T) connector.Connector { return s.open(t, cfg) },
		Modify: func(t *testing.T, key string, mods []idsync.AttrMod) {
			req := goldap.NewModifyRequest(dnOf(key), nil)
			for _, m := range mods {
				var vals []string
				for _, v := range m.Values {
					vals = append(vals, ldapText(v))
				}
				req.Replace(m.Name, vals)
			}
			if err := l.Modify(req); err != nil {
				t.Fatal(err)
			}
		},
	})
}
