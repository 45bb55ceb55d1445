package ldap

import (
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// moveCase is one object the move tests export a new DN for.
type moveCase struct {
	name     string // for messages
	from, to string // DNs
	mods     []idsync.AttrMod
}

// proveExportedMoves exports the DN changes of cases (each an update with
// NewDN, so a modDN with newSuperior when the parent changes) and proves
// them by the next imports: the delta from wm reports each object under
// its new DN with its old anchor (a rename or move, not a delete and an
// add), and a full import finds it there with the same anchor and nothing
// left at the old DN.
func proveExportedMoves(t *testing.T, c *conn, cases []moveCase, snap map[idsync.Anchor]idsync.Entry, wm connector.Watermark) {
	t.Helper()
	anchorOf := map[string]idsync.Anchor{}
	for a, e := range snap {
		anchorOf[strings.ToLower(e.DN)] = a
	}
	var page []idsync.Change
	for _, mc := range cases {
		a, ok := anchorOf[strings.ToLower(mc.from)]
		if !ok {
			t.Fatalf("%s: %s not in the full import", mc.name, mc.from)
		}
		page = append(page, idsync.Change{Op: idsync.OpUpdate, ObjectType: snap[a].ObjectType, DN: mc.from, NewDN: mc.to, Anchor: a, ID: mc.name, Mods: mc.mods})
	}
	res := exportPages(t, c, page)
	for _, mc := range cases {
		if r := res[mc.name]; r.Err != nil || !strings.EqualFold(r.DN, mc.to) {
			t.Errorf("%s: export result DN %q err %v, want %q", mc.name, r.DN, r.Err, mc.to)
		}
	}

	changes, _ := deltaAll(t, c, wm)
	for _, mc := range cases {
		a := anchorOf[strings.ToLower(mc.from)]
		var got *idsync.Change
		for i := range changes {
			if changes[i].Anchor != a {
				continue
			}
			if changes[i].Op == idsync.OpDelete {
				t.Errorf("%s: the delta reports the moved object %s as deleted", mc.name, a)
			}
			got = &changes[i]
		}
		if got == nil {
			t.Errorf("%s: the delta has no change for %s (changes: %v)", mc.name, a, summary(changes))
			continue
		}
		newDN := got.DN
		if got.Op == idsync.OpUpdate {
			newDN = got.NewDN
		}
		if !strings.EqualFold(newDN, mc.to) {
			t.Errorf("%s: the delta reports %s %s at %q (DN %q), want %q", mc.name, got.Op, a, newDN, got.DN, mc.to)
		}
	}
	applyChanges(t, snap, changes)

	full, _ := importAll(t, c, connector.ImportOptions{})
	for _, mc := range cases {
		a := anchorOf[strings.ToLower(mc.from)]
		e, ok := full[a]
		if !ok {
			t.Errorf("%s: after the move a full import lacks anchor %s", mc.name, a)
			continue
		}
		if !strings.EqualFold(e.DN, mc.to) {
			t.Errorf("%s: after the move a full import has %s at %q, want %q", mc.name, a, e.DN, mc.to)
		}
		for other, oe := range full {
			if other != a && strings.EqualFold(oe.DN, mc.from) {
				t.Errorf("%s: a full import still has an object at the old DN %s", mc.name, mc.from)
			}
		}
		for _, m := range mc.mods {
			if got, want := full[a].Attrs.Get(m.Name).String(), m.Values[0].String(); got != want {
				t.Errorf("%s: %s after rename and modify = %q, want %q", mc.name, m.Name, got, want)
			}
		}
		if d := snap[a]; !strings.EqualFold(d.DN, mc.to) {
			t.Errorf("%s: the snapshot brought up to date by the delta has %s at %q, want %q", mc.name, a, d.DN, mc.to)
		}
	}
}

// TestSpec9_2_ExportMoveOpenLDAP exports modDN to the real slapd: a move
// to a new parent (newSuperior), a rename and move in one (with a modify
// of the same object), and a rename in place. The next delta import, by
// syncrepl and by accesslog, reports each object at its new DN under its
// old entryUUID, and so does a full import.
func TestSpec9_2_ExportMoveOpenLDAP(t *testing.T) {
	s := need(t, "LDAP")
	for _, mech := range []string{DeltaSyncrepl, DeltaAccesslog} {
		t.Run(mech, func(t *testing.T) {
			l := s.admin(t)
			ou := s.testOU(t, l, "move-"+mech)
			a, b := "ou=a,"+ou, "ou=b,"+ou
			for _, sub := range []string{a, b} {
				add(t, l, sub, map[string][]string{"objectClass": {"organizationalUnit"}, "ou": {rdnValue(sub)}})
			}
			for _, u := range []string{"m1", "m2", "m3"} {
				add(t, l, "uid="+u+","+a, person(u))
			}
			cfg := s.config(ou)
			cfg.Delta = mech
			cfg.ObjectClasses = map[string]string{"person": "inetOrgPerson"}
			c := s.open(t, cfg)
			snap, wm := importAll(t, c, connector.ImportOptions{})
			if len(snap) != 3 {
				t.Fatalf("full import: %d objects, want 3", len(snap))
			}
			proveExportedMoves(t, c, []moveCase{
				{name: "move", from: "uid=m1," + a, to: "uid=m1," + b},
				{name: "rename+move", from: "uid=m2," + a, to: "uid=m2r," + b,
					mods: []idsync.AttrMod{{Name: "mail", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("m2r@example.com")}}}},
				{name: "rename", from: "uid=m3," + a, to: "uid=m3r," + a},
			}, snap, wm)
		})
	}
}

// TestSpec9_2_ExportMoveAD exports modDN to the real Samba DC: a move to
// another OU, a rename and move in one (with a modify), and a rename in
// place. The next delta import, by DirSync and by uSNChanged, reports
// each object at its new DN under its old objectGUID, and so does a full
// import.
func TestSpec9_2_ExportMoveAD(t *testing.T) {
	s := need(t, "AD")
	for _, mech := range []string{DeltaDirSync, DeltaUSNChanged} {
		t.Run(mech, func(t *testing.T) {
			l := s.admin(t)
			ou := s.testOU(t, l, "move-"+mech)
			a, b := "OU=a,"+ou, "OU=b,"+ou
			for _, sub := range []string{a, b} {
				add(t, l, sub, map[string][]string{"objectClass": {"organizationalUnit"}})
			}
			p := mech[:2] + rdnValue(ou)[len("move-"+mech)+1:]
			p = strings.ReplaceAll(p, "-", "")
			if len(p) > 14 {
				p = p[len(p)-14:]
			}
			for _, u := range []string{"m1", "m2", "m3"} {
				add(t, l, "CN="+u+","+a, adUser(p+u))
			}
			cfg := s.config(ou)
			cfg.Delta = mech
			cfg.ObjectClasses = map[string]string{"user": "user"}
			c := s.open(t, cfg)
			snap, wm := importAll(t, c, connector.ImportOptions{})
			if len(snap) != 3 {
				t.Fatalf("full import: %d objects, want 3", len(snap))
			}
			proveExportedMoves(t, c, []moveCase{
				{name: "move", from: "CN=m1," + a, to: "CN=m1," + b},
				{name: "rename+move", from: "CN=m2," + a, to: "CN=m2r," + b,
					mods: []idsync.AttrMod{{Name: "description", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("renamed and moved")}}}},
				{name: "rename", from: "CN=m3," + a, to: "CN=m3r," + a},
			}, snap, wm)
		})
	}
}
