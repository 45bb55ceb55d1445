package ldap

import (
	"context"
	"errors"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

func person(uid string) map[string][]string {
	return map[string][]string{"objectClass": {"inetOrgPerson"}, "uid": {uid}, "cn": {"User " + uid}, "sn": {uid}, "mail": {uid + "@example.com"}}
}

// TestSpec9_2_DeltaImportOpenLDAP proves both OpenLDAP delta mechanisms
// (syncrepl refreshOnly with a cookie, and the accesslog changelog): adds,
// modifies, deletes, renames and moves between containers arrive as
// changes that bring a full-import snapshot to the directory's state; a
// second delta from the new watermark is empty; an expired watermark is
// ErrWatermarkExpired.
func TestSpec9_2_DeltaImportOpenLDAP(t *testing.T) {
	s := need(t, "LDAP")
	for _, mech := range []string{DeltaSyncrepl, DeltaAccesslog} {
		t.Run(mech, func(t *testing.T) {
			l := s.admin(t)
			ou := s.testOU(t, l, "delta-"+mech)
			a, b, x := "ou=a,"+ou, "ou=b,"+ou, "ou=x,"+ou
			for _, sub := range []string{a, b, x} {
				add(t, l, sub, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {rdnValue(sub)}})
			}
			for _, u := range []string{"u1", "u2", "u3", "u4"} {
				add(t, l, "uid="+u+","+a, person(u))
			}
			add(t, l, "uid=hidden,"+x, person("hidden"))
			cfg := s.config(ou)
			cfg.Delta = mech
			cfg.ObjectClasses = map[string]string{"person": "inetOrgPerson"}
			cfg.Containers[0].Exclude = []string{x}
			c := s.open(t, cfg)
			snap, wm := importAll(t, c, connector.ImportOptions{})
			if len(snap) != 4 {
				t.Fatalf("full import: %d objects, want 4 (the excluded container's object must not come)", len(snap))
			}
			// Changes, as another administrator makes them.
			add(t, l, "uid=u5,"+a, person("u5"))
			modify(t, l, "uid=u1,"+a, "mail", "changed@example.com")
			if err := l.Del(goldap.NewDelRequest("uid=u2,"+a, nil)); err != nil {
				t.Fatal(err)
			}
			if err := l.ModifyDN(goldap.NewModifyDNRequest("uid=u3,"+a, "uid=u3r", true, "")); err != nil {
				t.Fatal(err)
			}
			if err := l.ModifyDN(goldap.NewModifyDNRequest("uid=u4,"+a, "uid=u4", true, b)); err != nil {
				t.Fatal(err)
			}
			modify(t, l, "uid=hidden,"+x, "mail", "nobody@example.com")

			changes, wm2 := deltaAll(t, c, wm)
			applyChanges(t, snap, changes)
			want, _ := importAll(t, s.open(t, cfg), connector.ImportOptions{})
			if len(snap) != len(want) {
				t.Errorf("after delta: %d objects, a full import has %d (changes: %+v)", len(snap), len(want), summary(changes))
			}
			for anchor, w := range want {
				g, ok := snap[anchor]
				if !ok {
					t.Errorf("after delta: %s (%s) missing", w.DN, anchor)
					continue
				}
				if !strings.EqualFold(g.DN, w.DN) {
					t.Errorf("after delta: %s has DN %q, want %q", anchor, g.DN, w.DN)
				}
				if g.Attrs.Get("mail").String() != w.Attrs.Get("mail").String() {
					t.Errorf("after delta: %s mail %q, want %q", w.DN, g.Attrs.Get("mail"), w.Attrs.Get("mail"))
				}
			}
			keys := byKey(snap, "uid")
			if _, ok := keys["u2"]; ok {
				t.Errorf("deleted u2 still present after delta")
			}
			if _, ok := keys["hidden"]; ok {
				t.Errorf("an object of an excluded container came in a delta")
			}
			if got := keys["u4"].DN; !strings.EqualFold(got, "uid=u4,"+b) {
				t.Errorf("moved u4: DN %q", got)
			}
			if again, _ := deltaAll(t, c, wm2); len(again) != 0 {
				t.Errorf("delta from the latest watermark: %d changes, want 0: %+v", len(again), summary(again))
			}
			// An expired watermark: a position older than anything the server keeps.
			old := watermark{V: wmVersion, Mech: mech, Parts: map[string][]byte{}}
			k, _ := normDN(s.base)
			switch mech {
			case DeltaSyncrepl:
				old.Parts[k] = []byte("rid=000,csn=19900101000000.000000Z#000000#000#000000")
			case DeltaAccesslog:
				old.Parts[k] = []byte("19900101000000.000000Z")
			}
			_, err := c.ImportChanges(context.Background(), connector.ImportOptions{}, old.encode(), func(idsync.Change) error { return nil })
			if !errors.Is(err, connector.ErrWatermarkExpired) {
				t.Errorf("ImportChanges(expired watermark) = %v, want ErrWatermarkExpired", err)
			}
		})
	}
}

func summary(chs []idsync.Change) []string {
	var out []string
	for _, ch := range chs {
		out = append(out, ch.Op.String()+" "+string(ch.Anchor)+" "+ch.DN)
	}
	return out
}
