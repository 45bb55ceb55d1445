package ldap

import (
	"fmt"
	"os"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// TestSpec9_2_FullImportPaged imports 1,200 entries anonymously from the
// real slapd, whose size limit gives an anonymous plain search 500
// entries at most: only paged results (RFC 2696) get them all. Entries
// carry entryUUID anchors, their structural class as type, and DNs;
// containers excluded from the scope stay out.
func TestSpec9_2_FullImportPaged(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	ou := s.testOU(t, l, "paged")
	skip := "ou=skip," + ou
	add(t, l, skip, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {"skip"}})
	add(t, l, "uid=skipped,"+skip, person("skipped"))
	const n = 1200
	for i := 0; i < n; i++ {
		add(t, l, fmt.Sprintf("uid=p%04d,%s", i, ou), person(fmt.Sprintf("p%04d", i)))
	}
	// A plain anonymous search stops at the server's limit.
	anon, err := goldap.DialURL(s.url)
	if err != nil {
		t.Fatal(err)
	}
	defer anon.Close()
	res, err := anon.Search(goldap.NewSearchRequest(ou, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=inetOrgPerson)", []string{"1.1"}, nil))
	if err == nil || !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) || len(res.Entries) >= n {
		t.Fatalf("precondition: a plain anonymous search should hit the size limit (err %v, %d entries)", err, len(res.Entries))
	}
	cfg := &Config{URL: s.url, Server: ServerOpenLDAP, Delta: DeltaNone, PageSize: 100,
		Containers: []Containers{{Partition: s.base, Include: []string{ou}, Exclude: []string{skip}}}}
	c := s.open(t, cfg)
	snap, wm := importAll(t, c, connector.ImportOptions{})
	if wm != nil {
		t.Errorf("delta none: watermark %q, want nil", wm)
	}
	people := 0
	for a, e := range snap {
		if e.ObjectType == "inetOrgPerson" {
			people++
			if len(a) != 36 || strings.Count(string(a), "-") != 4 {
				t.Errorf("anchor %q is not an entryUUID", a)
			}
			if !strings.HasSuffix(strings.ToLower(e.DN), strings.ToLower(ou)) {
				t.Errorf("entry DN %q outside %s", e.DN, ou)
			}
			if e.Attrs.Get("mail").Type != idsync.TypeString || e.Attrs.Get("uid").IsZero() {
				t.Errorf("entry %s lacks mail or uid: %v", e.DN, e.Attrs)
			}
		}
		if strings.Contains(strings.ToLower(e.DN), "ou=skip,") {
			t.Errorf("excluded container's entry %s imported", e.DN)
		}
	}
	if people != n {
		t.Errorf("paged import: %d people, want %d", people, n)
	}
	// The partition names the scope too.
	if _, err := c.Import(t.Context(), connector.ImportOptions{Partition: "dc=nowhere"}, func(idsync.Entry) error { return nil }); err == nil {
		t.Errorf("import of an unknown partition succeeded")
	}
}

// TestSASLExternalOverLDAPI binds with SASL EXTERNAL on slapd's ldapi://
// socket (the server authenticates the process by its uid) and imports.
func TestSASLExternalOverLDAPI(t *testing.T) {
	s := need(t, "LDAP")
	sock := os.Getenv("IDSYNC_TEST_LDAP_LDAPI_URL")
	if sock == "" {
		t.Skip("IDSYNC_TEST_LDAP_LDAPI_URL not set")
	}
	l := s.admin(t)
	ou := s.testOU(t, l, "external")
	add(t, l, "uid=ext1,"+ou, person("ext1"))
	cfg := &Config{URL: sock, SASLExternal: true, Server: ServerOpenLDAP, Delta: DeltaNone,
		ObjectClasses: map[string]string{"person": "inetOrgPerson"},
		Containers:    []Containers{{Partition: s.base, Include: []string{ou}}}}
	c := s.open(t, cfg)
	snap, _ := importAll(t, c, connector.ImportOptions{})
	if len(snap) != 1 {
		t.Errorf("import over ldapi with SASL EXTERNAL: %d entries, want 1", len(snap))
	}
}

// TestNamedAttributeAnchor: an ordinary attribute as the anchor; export
// finds objects by anchor when the change has no DN.
func TestNamedAttributeAnchor(t *testing.T) {
	s := need(t, "LDAP")
	l := s.admin(t)
	ou := s.testOU(t, l, "anchor")
	p := person("na1")
	p["employeeNumber"] = []string{"E-1"}
	add(t, l, "uid=na1,"+ou, p)
	cfg := s.config(ou)
	cfg.Anchor, cfg.Delta = "employeeNumber", DeltaNone
	cfg.ObjectClasses = map[string]string{"person": "inetOrgPerson"}
	c := s.open(t, cfg)
	snap, _ := importAll(t, c, connector.ImportOptions{})
	if _, ok := snap["E-1"]; !ok || len(snap) != 1 {
		t.Fatalf("anchors = %v, want E-1", snap)
	}
	sess, err := c.OpenExport(t.Context(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer sess.Close(t.Context())
	res, err := sess.ExportPage(t.Context(), []idsync.Change{
		{Op: idsync.OpUpdate, ObjectType: "person", Anchor: "E-1", ID: "u", Mods: []idsync.AttrMod{{Name: "mail", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("by-anchor@example.com")}}}},
		{Op: idsync.OpAdd, ObjectType: "person", DN: "uid=na2," + ou, ID: "a", Mods: []idsync.AttrMod{
			{Name: "uid", Values: []idsync.Value{idsync.String("na2")}}, {Name: "cn", Values: []idsync.Value{idsync.String("na2")}},
			{Name: "sn", Values: []idsync.Value{idsync.String("na2")}}, {Name: "employeeNumber", Values: []idsync.Value{idsync.String("E-2")}}}},
	})
	if err != nil || res[0].Err != nil || res[1].Err != nil {
		t.Fatalf("export: %v %+v", err, res)
	}
	if res[1].Anchor != "E-2" {
		t.Errorf("add returned anchor %q, want E-2", res[1].Anchor)
	}
	snap, _ = importAll(t, c, connector.ImportOptions{})
	if got := snap["E-1"].Attrs.Get("mail").String(); got != "by-anchor@example.com" {
		t.Errorf("update by anchor: mail = %q", got)
	}
}
