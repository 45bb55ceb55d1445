package ldap

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// adUser returns the attributes of an AD user with a unique sAMAccountName.
func adUser(sam string) map[string][]string {
	return map[string][]string{"objectClass": {"user"}, "sAMAccountName": {sam}, "description": {"user " + sam}}
}

// TestSpec9_2_DeltaImportAD proves both Active Directory delta mechanisms
// against a real Samba DC: DirSync (cookie; tombstones with the same
// objectGUID; incremental member values) and uSNChanged
// (highestCommittedUSN, tombstones by the show-deleted control).
func TestSpec9_2_DeltaImportAD(t *testing.T) {
	s := need(t, "AD")
	for _, mech := range []string{DeltaDirSync, DeltaUSNChanged} {
		t.Run(mech, func(t *testing.T) {
			l := s.admin(t)
			ou := s.testOU(t, l, "delta-"+mech)
			sub := "OU=b," + ou
			add(t, l, sub, map[string][]string{"objectClass": {"organizationalUnit"}})
			p := fmt.Sprintf("%s%d", mech[:2], ouSeq.Add(1)+int64(len(ou)))
			dn := func(u string) string { return "CN=" + p + u + "," + ou }
			for _, u := range []string{"u1", "u2", "u3", "u4"} {
				add(t, l, dn(u), adUser(p+u))
			}
			g := "CN=" + p + "grp," + ou
			add(t, l, g, map[string][]string{"objectClass": {"group"}, "sAMAccountName": {p + "grp"}, "member": {dn("u1"), dn("u3")}})
			cfg := s.config(ou)
			cfg.Delta = mech
			cfg.ObjectClasses = map[string]string{"user": "user", "group": "group"}
			c := s.open(t, cfg)
			snap, wm := importAll(t, c, connector.ImportOptions{})
			// Members compare by the anchor of their target: a rename changes
			// the DN a full import shows, not the link.
			anchorOfDN := map[string]string{}
			for a, e := range snap {
				anchorOfDN[strings.ToLower(e.DN)] = string(a)
			}
			memberAnchors := func(vs []idsync.Value) []string {
				var out []string
				for _, v := range vs {
					a, ok := anchorOfDN[strings.ToLower(v.String())]
					if !ok {
						a = strings.ToLower(v.String())
					}
					out = append(out, a)
				}
				sort.Strings(out)
				return out
			}
			if len(snap) != 5 {
				t.Fatalf("full import: %d objects, want 5", len(snap))
			}
			known := map[idsync.Anchor]bool{}
			for a := range snap {
				known[a] = true
			}
			add(t, l, dn("u5"), adUser(p+"u5"))
			modify(t, l, dn("u1"), "description", "changed")
			if err := l.Del(goldap.NewDelRequest(dn("u2"), nil)); err != nil {
				t.Fatal(err)
			}
			if err := l.ModifyDN(goldap.NewModifyDNRequest(dn("u3"), "CN="+p+"u3r", true, "")); err != nil {
				t.Fatal(err)
			}
			if err := l.ModifyDN(goldap.NewModifyDNRequest(dn("u4"), "CN="+p+"u4", true, sub)); err != nil {
				t.Fatal(err)
			}
			mr := goldap.NewModifyRequest(g, nil)
			mr.Add("member", []string{dn("u5")})
			mr.Delete("member", []string{dn("u1")})
			if err := l.Modify(mr); err != nil {
				t.Fatal(err)
			}
			changes, wm2 := deltaAll(t, c, wm)
			var mine []idsync.Change
			for _, ch := range changes {
				if ch.Op != idsync.OpDelete || known[ch.Anchor] {
					mine = append(mine, ch)
				}
			}
			applyChanges(t, snap, mine)
			want, _ := importAll(t, s.open(t, cfg), connector.ImportOptions{})
			for a, e := range want {
				anchorOfDN[strings.ToLower(e.DN)] = string(a)
			}
			if len(snap) != len(want) {
				t.Errorf("after delta: %d objects, a full import has %d (changes: %v)", len(snap), len(want), summary(mine))
			}
			for anchor, w := range want {
				got, ok := snap[anchor]
				if !ok {
					t.Errorf("after delta: %s (%s) missing", w.DN, anchor)
					continue
				}
				if !strings.EqualFold(got.DN, w.DN) {
					t.Errorf("after delta: %s has DN %q, want %q", anchor, got.DN, w.DN)
				}
				if got.Attrs.Get("description").String() != w.Attrs.Get("description").String() {
					t.Errorf("after delta: %s description %q, want %q", w.DN, got.Attrs.Get("description"), w.Attrs.Get("description"))
				}
				if gm, wm := memberAnchors(got.Attrs["member"]), memberAnchors(w.Attrs["member"]); fmt.Sprint(gm) != fmt.Sprint(wm) {
					t.Errorf("after delta: %s member %v, want %v", w.DN, gm, wm)
				}
			}
			if again, _ := deltaAll(t, c, wm2); len(again) > 0 {
				for _, ch := range again {
					if known[ch.Anchor] || strings.Contains(ch.DN, p) {
						t.Errorf("delta from the latest watermark returned %s %s", ch.Op, ch.DN)
					}
				}
			}
			old := watermark{V: wmVersion, Mech: mech, Parts: map[string][]byte{}}
			k, _ := normDN(s.base)
			switch mech {
			case DeltaDirSync:
				old.Parts[k] = []byte("not a DirSync cookie")
			case DeltaUSNChanged:
				old.Parts[k] = []byte("12|CN=NTDS Settings,CN=OTHERDC,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=example,DC=test")
			}
			_, err := c.ImportChanges(context.Background(), connector.ImportOptions{}, old.encode(), func(idsync.Change) error { return nil })
			if !errors.Is(err, connector.ErrWatermarkExpired) {
				t.Errorf("ImportChanges(invalid watermark) = %v, want ErrWatermarkExpired", err)
			}
		})
	}
}

// TestADSchemaDiscovery reads the Samba DC's subschema: the user class
// holds the attributes of its auxiliary classes (sAMAccountName comes from
// securityPrincipal through the DIT content rule) with their syntaxes.
func TestADSchemaDiscovery(t *testing.T) {
	s := need(t, "AD")
	cfg := s.config("")
	cfg.ObjectClasses = map[string]string{"user": "user", "group": "group"}
	c := s.open(t, cfg)
	sc, err := c.Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	user, group := sc.Class("user"), sc.Class("group")
	if user == nil || group == nil {
		t.Fatalf("schema lacks user or group: %+v", sc)
	}
	for _, tc := range []struct {
		cl    *idsync.ObjectClass
		name  string
		typ   idsync.AttrType
		multi bool
	}{
		{user, "sAMAccountName", idsync.TypeString, false},
		{user, "objectGUID", idsync.TypeBinary, false},
		{user, "userAccountControl", idsync.TypeInteger, false},
		{user, "pwdLastSet", idsync.TypeInteger, false},
		{user, "manager", idsync.TypeReference, false},
		{user, "mail", idsync.TypeString, false},
		{user, "otherTelephone", idsync.TypeString, true},
		{group, "member", idsync.TypeReference, true},
	} {
		d, ok := tc.cl.Attr(tc.name)
		if !ok {
			t.Errorf("class %s lacks %s", tc.cl.Name, tc.name)
			continue
		}
		if d.Type != tc.typ || d.MultiValued != tc.multi {
			t.Errorf("%s.%s = %s multi=%v, want %s multi=%v", tc.cl.Name, tc.name, d.Type, d.MultiValued, tc.typ, tc.multi)
		}
	}
	ps, err := c.Partitions(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range ps {
		if strings.EqualFold(p.DN, s.base) {
			found = true
		}
		if strings.Contains(strings.ToLower(p.DN), "cn=schema") || strings.Contains(strings.ToLower(p.DN), "cn=configuration") {
			t.Errorf("partition list holds the system naming context %s", p.DN)
		}
	}
	if !found {
		t.Errorf("partitions %v lack the domain %s", ps, s.base)
	}
}
