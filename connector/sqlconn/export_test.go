package sqlconn

import (
	"fmt"
	"reflect"
	"testing"

	"github.com/idsync/idsync"
)

// TestPlanInsertFastMatchesMods proves that the fast insert planning
// gives what planning from the applied attribute map gives (columns in
// the same order, parameters, anchor, child rows, the error), for the
// mods it takes and for those it leaves to the general path.
func TestPlanInsertFastMatchesMods(t *testing.T) {
	c, ot := sqlserverConn()
	single := *ot
	single.cfg = &ObjectType{Name: "single", Table: "hr.one", Anchor: []string{"org"},
		SoftDelete: &SoftDelete{Column: "gone", Value: "1"}}
	single.anchor, single.anchorCol = []int{0}, []string{"org"}
	hidden := single
	hidden.cols = append([]column(nil), single.cols...)
	hidden.cols[3].hidden = true
	rep := func(n string, vs ...idsync.Value) idsync.AttrMod {
		return idsync.AttrMod{Name: n, Op: idsync.AttrReplace, Values: vs}
	}
	add := func(n string, vs ...idsync.Value) idsync.AttrMod {
		return idsync.AttrMod{Name: n, Op: idsync.AttrAdd, Values: vs}
	}
	s1, s2, i7 := idsync.String("acme"), idsync.String("b"), idsync.Int(7)
	// fast: the cases planInsertFast takes.
	fast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 14: true, 16: true, 17: true, 19: true}
	cases := []struct {
		ot   *otype
		dn   string
		mods []idsync.AttrMod
	}{
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("na]me", s2), rep("mail", s1, s2)}},
		{ot, "", []idsync.AttrMod{rep("mail", s1), rep("id", i7), rep("org", s1)}},
		{ot, "", []idsync.AttrMod{add("org", s1), add("id", i7), add("gone", idsync.Bool(true))}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("na]me")}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", idsync.String("7"))}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", idsync.String("seven"))}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("na]me", s1, s2)}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("nope", s1)}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("org", s2)}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), add("mail", s1, s1, s2)}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), rep("mail", s1), add("mail", s2)}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("id", i7), {Name: "mail", Op: idsync.AttrClear}}},
		{ot, "", []idsync.AttrMod{rep("org", s1), rep("na]me", s2)}},
		{ot, "org1", []idsync.AttrMod{rep("id", i7)}},
		{&single, "cn=x", []idsync.AttrMod{rep("id", i7), rep("na]me", s2)}},
		{&single, "", []idsync.AttrMod{rep("id", i7)}},
		{&single, "cn=x", []idsync.AttrMod{rep("org", idsync.String("a|b\\c")), rep("id", i7)}},
		{&hidden, "", []idsync.AttrMod{rep("org", s1), rep("id", i7)}},
		{&hidden, "", []idsync.AttrMod{rep("org", s1), rep("gone", idsync.Bool(false))}},
		{ot, "", []idsync.AttrMod{rep("org", idsync.String("a|b")), rep("id", i7), rep("mail", idsync.Ref("x"))}},
	}
	for i, tc := range cases {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			s := &session{c: c}
			ch := &idsync.Change{Op: idsync.OpAdd, ObjectType: tc.ot.name, DN: tc.dn, Mods: tc.mods}
			// Twice, so that the second planning may share the first's columns.
			if _, ok := s.planInsertFast(tc.ot, ch); ok != fast[i] {
				t.Errorf("planInsertFast took it: %v, want %v", ok, fast[i])
			}
			for range 2 {
				got, gerr := s.planInsert(tc.ot, ch)
				want, werr := s.planInsertMods(tc.ot, ch)
				if fmt.Sprint(gerr) != fmt.Sprint(werr) {
					t.Fatalf("error = %v, want %v", gerr, werr)
				}
				if werr != nil {
					return
				}
				if !reflect.DeepEqual(got.cols, want.cols) || !reflect.DeepEqual(got.args, want.args) || got.anchor != want.anchor || got.ot != want.ot {
					t.Errorf("planned\n  %q %v %q\nwant\n  %q %v %q", got.cols, got.args, got.anchor, want.cols, want.args, want.anchor)
				}
				if len(got.kids) != len(want.kids) && !(len(got.kids) == 0 && len(want.kids) == 0) || len(got.kids) > 0 && !reflect.DeepEqual(got.kids, want.kids) {
					t.Errorf("child rows %v, want %v", got.kids, want.kids)
				}
			}
		})
	}
}
