package sqlconn

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
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
	gen := single
	gen.cfg = &ObjectType{Name: "gen", Table: "hr.one", Anchor: []string{"id"}, Generated: true}
	gen.anchor, gen.anchorCol, gen.softDel = []int{1}, []string{"id"}, -1
	rep := func(n string, vs ...idsync.Value) idsync.AttrMod {
		return idsync.AttrMod{Name: n, Op: idsync.AttrReplace, Values: vs}
	}
	add := func(n string, vs ...idsync.Value) idsync.AttrMod {
		return idsync.AttrMod{Name: n, Op: idsync.AttrAdd, Values: vs}
	}
	s1, s2, i7 := idsync.String("acme"), idsync.String("b"), idsync.Int(7)
	// fast: the cases planInsertFast takes.
	fast := map[int]bool{0: true, 1: true, 2: true, 3: true, 4: true, 14: true, 16: true, 17: true, 19: true, 20: true, 21: true}
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
		{&gen, "", []idsync.AttrMod{rep("org", s1), rep("na]me", s2)}},
		{&gen, "cn=x", []idsync.AttrMod{rep("org", s1), rep("id")}},
		{&gen, "", []idsync.AttrMod{rep("org", s1), rep("id", i7)}},
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

// TestExportPagesReuseStatements exports three pages of adds with child
// rows through one session in groups of 10: on MySQL the later pages run
// the multi-row INSERTs the first page prepared; a group of the last page
// holding a duplicate anchor falls back to one change at a time under the
// prepared statements, the duplicate failing alone; so does a duplicate
// in the first group of a page, which runs without a savepoint.
func TestExportPagesReuseStatements(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		tdb.exec(`CREATE TABLE staff (id {key} PRIMARY KEY, name {text}, n {int})`)
		tdb.exec(`CREATE TABLE staff_mail (staff_id {key} NOT NULL, mail {text})`)
		cfg := tdb.config(ObjectType{Name: "staff", Table: "staff", Anchor: []string{"id"},
			MultiValued: []MultiValued{{Attribute: "mail", Table: "staff_mail", ParentColumns: []string{"staff_id"}, ValueColumn: "mail"}}})
		cfg.BatchSize = 10
		c := mustOpen(t, cfg)
		ctx := context.Background()
		sess, err := c.OpenExport(ctx, connector.ExportOptions{PageSize: 30})
		if err != nil {
			t.Fatal(err)
		}
		add := func(i int) idsync.Change {
			id := fmt.Sprintf("s%05d", i)
			return idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "staff", Mods: idsync.ModsFromAttrs(idsync.Attrs{
				"id": {idsync.String(id)}, "name": {idsync.String(fmt.Sprintf("Name %d", i))}, "n": {idsync.Int(int64(i))},
				"mail": {idsync.String(id + "@a"), idsync.String(id + "@b")}})}
		}
		for page := range 3 {
			var changes []idsync.Change
			for i := range 30 {
				changes = append(changes, add(page*30+i))
			}
			switch page {
			case 1: // in the first group, which has no savepoint
				changes[3] = add(0)
				changes[3].ID = "dup"
			case 2: // in a later group
				changes[15] = add(7)
				changes[15].ID = "dup"
			}
			res, err := sess.ExportPage(ctx, changes)
			if err != nil {
				t.Fatalf("page %d: %v", page, err)
			}
			for i, r := range res {
				if r.ID == "dup" {
					if r.Err == nil || r.ErrorType != "AttributeValueMustBeUnique" {
						t.Errorf("duplicate: %+v, want AttributeValueMustBeUnique", r)
					}
					continue
				}
				if want := idsync.Anchor(fmt.Sprintf("s%05d", page*30+i)); r.Err != nil || r.Anchor != want {
					t.Errorf("page %d add %d: %+v, want anchor %s", page, i, r, want)
				}
			}
			if page == 1 && tdb.kind == "mysql" {
				n := 0
				for _, st := range sess.(*session).stmts {
					if st != nil {
						n++
					}
				}
				if n < 2 {
					t.Errorf("after two pages %d prepared statements, want those of the rows and the child rows", n)
				}
			}
		}
		if err := sess.Close(ctx); err != nil {
			t.Fatal(err)
		}
		got, _ := importAll(t, c)
		if len(got) != 88 {
			t.Errorf("import: %d objects, want 88", len(got))
		}
		wantAttr(t, "s00007", got["s00007"].Attrs, "name", "string:Name 7")
		wantAttr(t, "s00007", got["s00007"].Attrs, "mail", "string:s00007@a", "string:s00007@b")
		wantAttr(t, "s00089", got["s00089"].Attrs, "mail", "string:s00089@a", "string:s00089@b")
		wantAttr(t, "s00034", got["s00034"].Attrs, "n", "integer:34")
		for _, a := range []idsync.Anchor{"s00033", "s00075"} {
			if _, ok := got[a]; ok {
				t.Errorf("%s was replaced by a duplicate, yet imported", a)
			}
		}
		if n := tdb.count(`SELECT COUNT(*) FROM staff_mail`); n != 176 {
			t.Errorf("%d child rows, want 176", n)
		}
	})
}

// TestExportGeneratedAnchorsInOrder exports a page of adds whose anchor
// the database assigns (pipelined on PostgreSQL, multi-row INSERTs read
// back from LAST_INSERT_ID on MariaDB, also with an auto-increment step
// of 2, one by one on SQLite) and proves each result's anchor is its own
// row's, child rows included; then a page with a duplicate in the
// middle, which fails alone.
func TestExportGeneratedAnchorsInOrder(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		testGeneratedAnchorsInOrder(t, tdb, "")
		if tdb.kind == "mysql" {
			t.Run("step2", func(t *testing.T) {
				tdb.exec(`DROP TABLE acct_group`)
				tdb.exec(`DROP TABLE acct`)
				testGeneratedAnchorsInOrder(t, tdb, "auto_increment_increment=2")
			})
		}
	})
}

func testGeneratedAnchorsInOrder(t *testing.T, tdb *testDB, dsnParams string) {
	tdb.exec(`CREATE TABLE acct (id {serial}, login {key} NOT NULL UNIQUE, n {int})`)
	tdb.exec(`CREATE TABLE acct_group (acct_id {int} NOT NULL, grp {text})`)
	cfg := tdb.config(ObjectType{Name: "account", Table: "acct", Anchor: []string{"id"}, Generated: true,
		MultiValued: []MultiValued{{Attribute: "groups", Table: "acct_group", ParentColumns: []string{"acct_id"}, ValueColumn: "grp"}}})
	if dsnParams != "" {
		cfg.DSN += "?" + dsnParams
	}
	c := mustOpen(t, cfg)
	var anchors []string
	for page, prefix := range []string{"u", "v"} {
		var changes []idsync.Change
		for i := range 40 {
			a := idsync.Attrs{"login": {idsync.String(fmt.Sprintf("%s%02d", prefix, i))}, "groups": {idsync.String(fmt.Sprintf("g%02d", i))}}
			if i >= 30 {
				a["n"] = []idsync.Value{idsync.Int(int64(i))} // another column set
			}
			if i == 20 && page == 1 {
				a["login"] = []idsync.Value{idsync.String("v05")}
			}
			changes = append(changes, idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "account", Mods: idsync.ModsFromAttrs(a)})
		}
		res := exportPage(t, c, changes...)
		got, _ := importAll(t, c)
		if want := 40 + page*39; len(got) != want {
			t.Errorf("import: %d objects, want %d", len(got), want)
		}
		for i := range 40 {
			r := res[fmt.Sprint(i)]
			if i == 20 && page == 1 {
				if r.Err == nil || r.ErrorType != "AttributeValueMustBeUnique" {
					t.Errorf("duplicate: %+v, want AttributeValueMustBeUnique", r)
				}
				continue
			}
			if r.Err != nil || r.Anchor == "" {
				t.Errorf("add %d: %+v", i, r)
				continue
			}
			login := fmt.Sprintf("%s%02d", prefix, i)
			wantAttr(t, login, got[r.Anchor].Attrs, "login", "string:"+login)
			wantAttr(t, login, got[r.Anchor].Attrs, "groups", fmt.Sprintf("string:g%02d", i))
			anchors = append(anchors, string(r.Anchor))
		}
	}
	if dsnParams != "" && (len(anchors) < 2 || anchors[0] != "1" || anchors[1] != "3") {
		t.Errorf("anchors with %s: %v…, want 1, 3, …", dsnParams, anchors[:min(len(anchors), 3)])
	}
}
