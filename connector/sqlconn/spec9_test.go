package sqlconn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

const empDDL = `CREATE TABLE emp (id {key} PRIMARY KEY, name {text}, manager {key}, modified {int}, changed {time}, deleted {bool});
CREATE TABLE emp_mail (emp_id {key} NOT NULL, address {text});
CREATE TABLE emp_changes (seq {serial}, emp_id {key}, op {key})`

var baseTime = time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC)

// empSystem drives the emp tables the way an HR application would: every
// write bumps the row's modified number and changed time and, for the
// change-table mode, records the operation.
type empSystem struct {
	tdb  *testDB
	tick int
}

func newEmpSystem(t *testing.T, tdb *testDB) *empSystem {
	for _, s := range splitStmts(empDDL) {
		tdb.exec(s)
	}
	return &empSystem{tdb: tdb}
}

func (s *empSystem) next() (int, time.Time) {
	s.tick++
	return s.tick, baseTime.Add(time.Duration(s.tick) * time.Second)
}

func (s *empSystem) insert(id, name string, manager any, mails ...string) {
	n, at := s.next()
	s.tdb.exec(`INSERT INTO emp (id, name, manager, modified, changed, deleted) VALUES (?, ?, ?, ?, ?, ?)`, id, name, manager, n, at, false)
	for _, m := range mails {
		s.tdb.exec(`INSERT INTO emp_mail (emp_id, address) VALUES (?, ?)`, id, m)
	}
	s.tdb.exec(`INSERT INTO emp_changes (emp_id, op) VALUES (?, 'I')`, id)
}

func (s *empSystem) touch(id string) {
	n, at := s.next()
	s.tdb.exec(`UPDATE emp SET modified = ?, changed = ? WHERE id = ?`, n, at, id)
	s.tdb.exec(`INSERT INTO emp_changes (emp_id, op) VALUES (?, 'U')`, id)
}

func (s *empSystem) set(id, col string, v any) {
	s.tdb.exec(`UPDATE emp SET `+col+` = ? WHERE id = ?`, v, id)
	s.touch(id)
}

func (s *empSystem) addMail(id, m string) {
	s.tdb.exec(`INSERT INTO emp_mail (emp_id, address) VALUES (?, ?)`, id, m)
	s.touch(id)
}

func (s *empSystem) softDelete(id string) { s.set(id, "deleted", true) }

func (s *empSystem) hardDelete(id string) {
	s.tdb.exec(`DELETE FROM emp_mail WHERE emp_id = ?`, id)
	s.tdb.exec(`DELETE FROM emp WHERE id = ?`, id)
	s.tdb.exec(`INSERT INTO emp_changes (emp_id, op) VALUES (?, 'D')`, id)
}

func empType(dl *Delta) ObjectType {
	return ObjectType{
		Name: "person", Table: "emp", Anchor: []string{"id"}, References: []string{"manager"},
		Exclude:     []string{"modified", "changed", "deleted"},
		MultiValued: []MultiValued{{Attribute: "mail", Table: "emp_mail", ParentColumns: []string{"emp_id"}, ValueColumn: "address"}},
		Delta:       dl,
	}
}

func strs(vs []idsync.Value) []string {
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.Type.String() + ":" + v.String()
	}
	slices.Sort(out)
	return out
}

func wantAttr(t *testing.T, what string, a idsync.Attrs, name string, want ...string) {
	t.Helper()
	got := strs(a[name])
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("%s: %s = %v, want %v", what, name, got, want)
	}
}

// TestSpec9_2_SQLDeltaImport proves full import and each delta mode on
// every database: inserts, updates, deletions (soft or hard), multi-valued
// child rows and references, and an empty delta after that.
func TestSpec9_2_SQLDeltaImport(t *testing.T) {
	modes := []struct {
		name string
		dl   *Delta
		soft bool // deletions by the soft-delete column
	}{
		{"watermark-number", &Delta{Mode: DeltaWatermark, Column: "modified"}, true},
		{"watermark-timestamp", &Delta{Mode: DeltaWatermark, Column: "changed", Kind: "timestamp"}, true},
		{"changeTable", &Delta{Mode: DeltaChangeTable, Table: "emp_changes", SequenceColumn: "seq", AnchorColumns: []string{"emp_id"}, OperationColumn: "op"}, false},
		{"snapshot", &Delta{Mode: DeltaSnapshot}, false},
	}
	eachDB(t, func(t *testing.T, _ *testDB) {
		for _, m := range modes {
			t.Run(m.name, func(t *testing.T) {
				tdb := newTestDB(t, strings.Split(t.Name(), "/")[1])
				sys := newEmpSystem(t, tdb)
				sys.insert("e1", "Ada", nil, "ada@x.org")
				sys.insert("e2", "Alan", "e1", "alan@x.org")
				sys.insert("e3", "Grace", "e1")
				ot := empType(m.dl)
				if m.soft {
					ot.SoftDelete = &SoftDelete{Column: "deleted"}
				}
				c := mustOpen(t, tdb.config(ot))
				full, wm := importAll(t, c)
				if len(full) != 3 {
					t.Fatalf("full import: %d objects, want 3", len(full))
				}
				wantAttr(t, "e1", full["e1"].Attrs, "name", "string:Ada")
				wantAttr(t, "e1", full["e1"].Attrs, "mail", "string:ada@x.org")
				wantAttr(t, "e2", full["e2"].Attrs, "manager", "reference:e1")
				if _, ok := full["e1"].Attrs["modified"]; ok {
					t.Errorf("excluded column modified imported")
				}

				sys.insert("e4", "Barbara", "e2", "barbara@x.org", "bl@x.org")
				sys.set("e1", "name", "Ada L.")
				sys.addMail("e2", "turing@x.org")
				sys.set("e2", "manager", "e4")
				if m.soft {
					sys.softDelete("e3")
				} else {
					sys.hardDelete("e3")
				}

				ch, wm2 := delta(t, c, wm)
				if len(ch) != 4 {
					t.Errorf("delta: %d changes (%v), want 4", len(ch), keys(ch))
				}
				check := func(a idsync.Anchor, op idsync.Op) idsync.Attrs {
					t.Helper()
					x, ok := ch[a]
					if !ok {
						t.Errorf("delta lacks %s", a)
						return idsync.Attrs{}
					}
					if x.Op != op {
						t.Errorf("delta %s: op %s, want %s", a, x.Op, op)
					}
					return idsync.Attrs{}.Apply(x.Mods)
				}
				a4 := check("e4", idsync.OpReplace)
				wantAttr(t, "e4", a4, "mail", "string:barbara@x.org", "string:bl@x.org")
				wantAttr(t, "e4", a4, "manager", "reference:e2")
				wantAttr(t, "e1", check("e1", idsync.OpReplace), "name", "string:Ada L.")
				a2 := check("e2", idsync.OpReplace)
				wantAttr(t, "e2", a2, "mail", "string:alan@x.org", "string:turing@x.org")
				wantAttr(t, "e2", a2, "manager", "reference:e4")
				check("e3", idsync.OpDelete)

				if again, _ := delta(t, c, wm2); len(again) != 0 {
					t.Errorf("second delta: %d changes (%v), want 0", len(again), keys(again))
				}
				after, _ := importAll(t, c)
				if _, ok := after["e3"]; ok || len(after) != 3 {
					t.Errorf("full import after the deletion: %v, want e1 e2 e4", keysE(after))
				}
			})
		}
	})
}

func keys(m map[idsync.Anchor]idsync.Change) []string {
	var out []string
	for k, v := range m {
		out = append(out, string(k)+":"+v.Op.String())
	}
	slices.Sort(out)
	return out
}

func keysE(m map[idsync.Anchor]idsync.Entry) []string {
	var out []string
	for k := range m {
		out = append(out, string(k))
	}
	slices.Sort(out)
	return out
}

// TestSpec9_2_SQLDeltaWatermarkRefused proves that a watermark from
// another configuration, or garbage, makes the engine fall back to a
// full import.
func TestSpec9_2_SQLDeltaWatermarkRefused(t *testing.T) {
	tdb := newTestDB(t, "sqlite")
	newEmpSystem(t, tdb).insert("e1", "Ada", nil)
	c := mustOpen(t, tdb.config(empType(&Delta{Mode: DeltaWatermark, Column: "modified"})))
	_, wm := importAll(t, c)
	other := mustOpen(t, tdb.config(empType(&Delta{Mode: DeltaSnapshot})))
	for name, w := range map[string]connector.Watermark{"other config": wm, "garbage": connector.Watermark("ISQL{"), "empty": nil} {
		_, err := other.ImportChanges(context.Background(), connector.ImportOptions{}, w, func(idsync.Change) error { return nil })
		if !errors.Is(err, connector.ErrWatermarkExpired) {
			t.Errorf("%s: ImportChanges = %v, want ErrWatermarkExpired", name, err)
		}
	}
}

// TestSpec9_2_SQLExportGeneratedAnchor proves that an insert into a
// table whose key the database assigns reports the new anchor
// (RETURNING, LAST_INSERT_ID), and that the next import confirms it,
// child rows included; then update and delete of that object.
func TestSpec9_2_SQLExportGeneratedAnchor(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		tdb.exec(`CREATE TABLE acct (id {serial}, login {key} NOT NULL UNIQUE, enabled {bool}, deleted {bool})`)
		tdb.exec(`CREATE TABLE acct_group (acct_id {int} NOT NULL, grp {text})`)
		ot := ObjectType{Name: "account", Table: "acct", Anchor: []string{"id"}, Generated: true,
			SoftDelete:  &SoftDelete{Column: "deleted"},
			MultiValued: []MultiValued{{Attribute: "groups", Table: "acct_group", ParentColumns: []string{"acct_id"}, ValueColumn: "grp"}}}
		c := mustOpen(t, tdb.config(ot))
		res := exportPage(t, c,
			idsync.Change{ID: "a", Op: idsync.OpAdd, ObjectType: "account", Mods: idsync.ModsFromAttrs(idsync.Attrs{
				"login": {idsync.String("ada")}, "enabled": {idsync.Bool(true)}, "groups": {idsync.String("staff"), idsync.String("admins")}})},
			idsync.Change{ID: "b", Op: idsync.OpAdd, ObjectType: "account", Mods: idsync.ModsFromAttrs(idsync.Attrs{"login": {idsync.String("alan")}})},
			idsync.Change{ID: "dup", Op: idsync.OpAdd, ObjectType: "account", Mods: idsync.ModsFromAttrs(idsync.Attrs{"login": {idsync.String("ada")}})},
		)
		a, b := res["a"], res["b"]
		if a.Err != nil || b.Err != nil || a.Anchor == "" || b.Anchor == "" || a.Anchor == b.Anchor {
			t.Fatalf("adds: %+v %+v, want two distinct new anchors", a, b)
		}
		if d := res["dup"]; d.Err == nil || d.ErrorType != "AttributeValueMustBeUnique" {
			t.Errorf("duplicate login: %+v, want AttributeValueMustBeUnique", d)
		}
		got, _ := importAll(t, c)
		if len(got) != 2 {
			t.Fatalf("import after adds: %v", keysE(got))
		}
		wantAttr(t, "ada", got[a.Anchor].Attrs, "login", "string:ada")
		wantAttr(t, "ada", got[a.Anchor].Attrs, "groups", "string:admins", "string:staff")
		wantAttr(t, "ada", got[a.Anchor].Attrs, "enabled", "boolean:True")

		res = exportPage(t, c,
			idsync.Change{ID: "u", Op: idsync.OpUpdate, ObjectType: "account", Anchor: a.Anchor, Mods: []idsync.AttrMod{
				{Name: "enabled", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.Bool(false)}},
				{Name: "groups", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.String("admins")}},
				{Name: "groups", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("ops")}},
			}},
			idsync.Change{ID: "d", Op: idsync.OpDelete, ObjectType: "account", Anchor: b.Anchor},
			idsync.Change{ID: "d2", Op: idsync.OpDelete, ObjectType: "account", Anchor: "999999"},
		)
		for id, r := range res {
			if r.Err != nil {
				t.Errorf("%s: %v", id, r.Err)
			}
		}
		got, _ = importAll(t, c)
		if len(got) != 1 {
			t.Fatalf("import after delete: %v, want only %s", keysE(got), a.Anchor)
		}
		wantAttr(t, "ada", got[a.Anchor].Attrs, "enabled", "boolean:False")
		wantAttr(t, "ada", got[a.Anchor].Attrs, "groups", "string:ops", "string:staff")
		if n := tdb.count(`SELECT COUNT(*) FROM acct WHERE deleted = ?`, true); n != 1 {
			t.Errorf("soft delete: %d rows marked deleted, want 1 (the row stays)", n)
		}
	})
}

func exportPage(t testing.TB, c *conn, changes ...idsync.Change) map[string]connector.ExportResult {
	t.Helper()
	ctx := context.Background()
	s, err := c.OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ExportPage(ctx, changes)
	if err != nil {
		t.Fatalf("ExportPage: %v", err)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatal(err)
	}
	out := map[string]connector.ExportResult{}
	for _, r := range res {
		out[r.ID] = r
	}
	return out
}

// TestSpec9_2_SQLExportStatements proves export through configured
// statements (every database) and stored procedures (PostgreSQL,
// MariaDB), each operation confirmed by the next import.
func TestSpec9_2_SQLExportStatements(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		for _, how := range []string{"statement", "procedure"} {
			t.Run(how, func(t *testing.T) {
				if how == "procedure" && tdb.kind == "sqlite" {
					t.Skip("SQLite has no stored procedures")
				}
				tdb := newTestDB(t, tdb.kind)
				tdb.exec(`CREATE TABLE staff (id {key} PRIMARY KEY, name {text}, audit {text})`)
				ex := &Export{
					Insert: &Statement{Statement: `INSERT INTO staff (id, name, audit) VALUES (:id, :name, 'inserted by ' || CAST(:objectType AS TEXT))`},
					Update: &Statement{Statement: `UPDATE staff SET name = :name, audit = 'updated' WHERE id = :anchor`},
					Delete: &Statement{Statement: `DELETE FROM staff WHERE id = :anchor`},
				}
				if tdb.kind == "mysql" {
					ex.Insert.Statement = `INSERT INTO staff (id, name, audit) VALUES (:id, :name, CONCAT('inserted by ', :objectType))`
				}
				if how == "procedure" {
					switch tdb.kind {
					case "postgres":
						tdb.exec(`CREATE PROCEDURE add_staff(p_id varchar, p_name text) LANGUAGE sql AS $$ INSERT INTO staff (id, name, audit) VALUES (p_id, p_name, 'inserted by procedure') $$`)
						tdb.exec(`CREATE PROCEDURE upd_staff(p_id varchar, p_name text) LANGUAGE sql AS $$ UPDATE staff SET name = p_name, audit = 'updated' WHERE id = p_id $$`)
						tdb.exec(`CREATE PROCEDURE del_staff(p_id varchar) LANGUAGE sql AS $$ DELETE FROM staff WHERE id = p_id $$`)
					case "mysql":
						tdb.exec(`CREATE PROCEDURE add_staff(IN p_id VARCHAR(64), IN p_name VARCHAR(500)) BEGIN INSERT INTO staff (id, name, audit) VALUES (p_id, p_name, 'inserted by procedure'); END`)
						tdb.exec(`CREATE PROCEDURE upd_staff(IN p_id VARCHAR(64), IN p_name VARCHAR(500)) BEGIN UPDATE staff SET name = p_name, audit = 'updated' WHERE id = p_id; END`)
						tdb.exec(`CREATE PROCEDURE del_staff(IN p_id VARCHAR(64)) BEGIN DELETE FROM staff WHERE id = p_id; END`)
					}
					ex = &Export{
						Insert: &Statement{Procedure: "add_staff", Parameters: []string{"id", "name"}},
						Update: &Statement{Procedure: "upd_staff", Parameters: []string{"anchor", "name"}},
						Delete: &Statement{Procedure: "del_staff", Parameters: []string{"anchor"}},
					}
				}
				c := mustOpen(t, tdb.config(ObjectType{Name: "staff", Table: "staff", Anchor: []string{"id"}, Export: ex}))
				res := exportPage(t, c,
					idsync.Change{ID: "1", Op: idsync.OpAdd, ObjectType: "staff", Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("s1")}, "name": {idsync.String("Ada")}})},
					idsync.Change{ID: "2", Op: idsync.OpAdd, ObjectType: "staff", Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("s2")}, "name": {idsync.String("Alan")}})},
				)
				for id, r := range res {
					if r.Err != nil || r.Anchor != idsync.Anchor("s"+id) {
						t.Errorf("add %s: %+v, want anchor s%s", id, r, id)
					}
				}
				got, _ := importAll(t, c)
				wantAudit := "inserted by staff"
				if how == "procedure" {
					wantAudit = "inserted by procedure"
				}
				wantAttr(t, "s1", got["s1"].Attrs, "audit", "string:"+wantAudit)
				res = exportPage(t, c,
					idsync.Change{ID: "u", Op: idsync.OpUpdate, ObjectType: "staff", Anchor: "s1", Mods: []idsync.AttrMod{{Name: "name", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Ada L.")}}}},
					idsync.Change{ID: "d", Op: idsync.OpDelete, ObjectType: "staff", Anchor: "s2"},
				)
				for id, r := range res {
					if r.Err != nil {
						t.Errorf("%s: %v", id, r.Err)
					}
				}
				got, _ = importAll(t, c)
				if len(got) != 1 {
					t.Fatalf("after update and delete: %v, want s1", keysE(got))
				}
				wantAttr(t, "s1", got["s1"].Attrs, "name", "string:Ada L.")
				wantAttr(t, "s1", got["s1"].Attrs, "audit", "string:updated")
			})
		}
	})
}

// TestSpec9_2_SQLInjectionStaysData proves that hostile values in data
// (attribute values, anchors, statement parameters) are bound as
// parameters and come back unchanged, and that identifiers from
// configuration are quoted.
func TestSpec9_2_SQLInjectionStaysData(t *testing.T) {
	hostile := []string{
		`x'); DROP TABLE "odd ""tbl"; --`,
		`Robert'); DELETE FROM emp; --`,
		`\'; DROP TABLE emp; -- \`,
		`" OR "1"="1`,
		"`; DROP TABLE emp; --",
		`]; DROP TABLE emp; --`,
		`:name ? $1 @p1 %s`,
		"multi\nline\ttab\u00e9\u4e2d",
	}
	eachDB(t, func(t *testing.T, tdb *testDB) {
		table, col := `odd "tbl`, `full name`
		if _, err := tdb.db.Exec(tdb.ddl(`CREATE TABLE ` + tdb.d.quoteIdent(table) + ` (id {key} PRIMARY KEY, ` + tdb.d.quoteIdent(col) + ` {text})`)); err != nil {
			t.Fatal(err)
		}
		tdb.exec(`CREATE TABLE emp (id {key} PRIMARY KEY)`)
		tdb.exec(`INSERT INTO emp (id) VALUES ('survivor')`)
		c := mustOpen(t, tdb.config(ObjectType{Name: "odd", Table: table, Anchor: []string{"id"}}))
		var changes []idsync.Change
		for i, h := range hostile {
			changes = append(changes, idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "odd",
				Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String(fmt.Sprintf("k%d%s", i, h[:min(len(h), 20)]))}, col: {idsync.String(h)}})})
		}
		for id, r := range exportPage(t, c, changes...) {
			if r.Err != nil {
				t.Errorf("add %s: %v", id, r.Err)
			}
		}
		got, _ := importAll(t, c)
		if len(got) != len(hostile) {
			t.Fatalf("import: %d objects, want %d", len(got), len(hostile))
		}
		for _, ch := range changes {
			a := idsync.Attrs{}.Apply(ch.Mods)
			e, ok := got[idsync.Anchor(a.Get("id").Str)]
			if !ok {
				t.Errorf("object %q not imported", a.Get("id").Str)
				continue
			}
			if e.Attrs.Get(col).Str != a.Get(col).Str {
				t.Errorf("value %q came back as %q", a.Get(col).Str, e.Attrs.Get(col).Str)
			}
		}
		// Updates and deletes by hostile anchors touch only their row.
		first := idsync.Anchor(idsync.Attrs{}.Apply(changes[1].Mods).Get("id").Str)
		res := exportPage(t, c,
			idsync.Change{ID: "u", Op: idsync.OpUpdate, ObjectType: "odd", Anchor: first, Mods: []idsync.AttrMod{{Name: col, Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String(hostile[0])}}}},
			idsync.Change{ID: "d", Op: idsync.OpDelete, ObjectType: "odd", Anchor: idsync.Anchor(`x' OR '1'='1`)},
		)
		for id, r := range res {
			if r.Err != nil {
				t.Errorf("%s: %v", id, r.Err)
			}
		}
		if n := tdb.count(`SELECT COUNT(*) FROM emp`); n != 1 {
			t.Errorf("emp holds %d rows, want the 1 survivor", n)
		}
		after, _ := importAll(t, c)
		if len(after) != len(hostile) {
			t.Errorf("after hostile update/delete: %d objects, want %d", len(after), len(hostile))
		}
		if after[first].Attrs.Get(col).Str != hostile[0] {
			t.Errorf("updated value = %q", after[first].Attrs.Get(col).Str)
		}
	})
}

// TestSpec9_2_SQLExportBatchFallback proves the batched path (multi-row
// INSERT; COPY on PostgreSQL) and its fallback: a page of 300 adds with one
// duplicate anchor commits the 299 others, each with its own result, and
// the duplicate fails alone.
func TestSpec9_2_SQLExportBatchFallback(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		tdb.exec(`CREATE TABLE staff (id {key} PRIMARY KEY, name {text}, n {int})`)
		tdb.exec(`INSERT INTO staff (id, name, n) VALUES ('s00150', 'already there', 0)`)
		c := mustOpen(t, tdb.config(ObjectType{Name: "staff", Table: "staff", Anchor: []string{"id"}}))
		var changes []idsync.Change
		for i := range 300 {
			changes = append(changes, idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "staff",
				Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String(fmt.Sprintf("s%05d", i))}, "name": {idsync.String(fmt.Sprintf("Name %d", i))}, "n": {idsync.Int(int64(i))}})})
		}
		res := exportPage(t, c, changes...)
		for i := range 300 {
			r := res[fmt.Sprint(i)]
			if i == 150 {
				if r.Err == nil || r.ErrorType != "AttributeValueMustBeUnique" {
					t.Errorf("duplicate: %+v, want AttributeValueMustBeUnique", r)
				}
				continue
			}
			if r.Err != nil || r.Anchor != idsync.Anchor(fmt.Sprintf("s%05d", i)) {
				t.Errorf("add %d: %+v", i, r)
			}
		}
		got, _ := importAll(t, c)
		if len(got) != 300 {
			t.Errorf("import after the page: %d objects, want 300", len(got))
		}
		wantAttr(t, "s00150", got["s00150"].Attrs, "name", "string:already there")
		wantAttr(t, "s00299", got["s00299"].Attrs, "n", "integer:299")
	})
}

// TestSpec9_2_SQLCompositeAnchorPaging proves keyset paging over a
// two-column anchor with pages of 2 rows: every row and every child row
// arrives once, child rows of rows on page boundaries included; export
// by composite anchor; and the catalog lists the tables.
func TestSpec9_2_SQLCompositeAnchorPaging(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		tdb.exec(`CREATE TABLE acct (org {key} NOT NULL, id {int} NOT NULL, name {text}, PRIMARY KEY (org, id))`)
		tdb.exec(`CREATE TABLE acct_role (org {key} NOT NULL, acct {int} NOT NULL, role {text})`)
		want := map[idsync.Anchor][]string{}
		for _, org := range []string{"a|b", "acme", `x\y`} {
			for id := 1; id <= 3; id++ {
				tdb.exec(`INSERT INTO acct (org, id, name) VALUES (?, ?, ?)`, org, id, fmt.Sprintf("%s-%d", org, id))
				a := joinAnchor([]string{org, fmt.Sprint(id)})
				for r := 0; r < id; r++ {
					role := fmt.Sprintf("role%d", r)
					tdb.exec(`INSERT INTO acct_role (org, acct, role) VALUES (?, ?, ?)`, org, id, role)
					want[a] = append(want[a], "string:"+role)
				}
			}
		}
		cfg := tdb.config(ObjectType{Name: "account", Table: "acct", Anchor: []string{"org", "id"},
			MultiValued: []MultiValued{{Attribute: "roles", Table: "acct_role", ParentColumns: []string{"org", "acct"}, ValueColumn: "role"}}})
		cfg.PageSize = 2
		c := mustOpen(t, cfg)
		got, _ := importAll(t, c)
		if len(got) != 9 {
			t.Fatalf("import: %v, want 9 objects", keysE(got))
		}
		for a, roles := range want {
			wantAttr(t, string(a), got[a].Attrs, "roles", roles...)
		}
		target := joinAnchor([]string{"a|b", "2"})
		res := exportPage(t, c,
			idsync.Change{ID: "u", Op: idsync.OpUpdate, ObjectType: "account", Anchor: target, Mods: []idsync.AttrMod{
				{Name: "name", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("renamed")}},
				{Name: "roles", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("admin")}}}},
			idsync.Change{ID: "d", Op: idsync.OpDelete, ObjectType: "account", Anchor: joinAnchor([]string{`x\y`, "3"})},
		)
		for id, r := range res {
			if r.Err != nil {
				t.Errorf("%s: %v", id, r.Err)
			}
		}
		got, _ = importAll(t, c)
		if len(got) != 8 {
			t.Errorf("after delete: %d objects, want 8", len(got))
		}
		wantAttr(t, "updated", got[target].Attrs, "name", "string:renamed")
		wantAttr(t, "updated", got[target].Attrs, "roles", "string:admin")
		if n := tdb.count(`SELECT COUNT(*) FROM acct_role WHERE org = ?`, `x\y`); n != 3 {
			t.Errorf("child rows of the deleted object left: %d rows for x\\y, want 3 (ids 1 and 2)", n)
		}
		tables, err := c.Tables(context.Background())
		if err != nil || !slices.Contains(tables, "acct") || !slices.Contains(tables, "acct_role") {
			t.Errorf("Tables = %v, %v", tables, err)
		}
	})
}

// TestSpec9_2_SQLViewsAndQueries proves object types from a view and
// from a configured query, with their columns and types discovered, and
// that a query type without export statements refuses export per change.
func TestSpec9_2_SQLViewsAndQueries(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		sys := newEmpSystem(t, tdb)
		sys.insert("e1", "Ada", nil, "ada@x.org")
		sys.insert("e2", "Alan", "e1")
		tdb.exec(`CREATE VIEW emp_view AS SELECT id, name, manager, modified FROM emp WHERE modified > 0`)
		c := mustOpen(t, tdb.config(
			ObjectType{Name: "viewed", Table: "emp_view", Anchor: []string{"id"}, References: []string{"manager"}},
			ObjectType{Name: "queried", Query: `SELECT e.id AS "key", e.name AS "label", e.modified AS "n" FROM emp e WHERE e.manager IS NOT NULL`, Anchor: []string{"key"}},
		))
		if tdb.kind == "mysql" {
			c.Close()
			c = mustOpen(t, tdb.config(
				ObjectType{Name: "viewed", Table: "emp_view", Anchor: []string{"id"}, References: []string{"manager"}},
				ObjectType{Name: "queried", Query: "SELECT e.id AS `key`, e.name AS `label`, e.modified AS `n` FROM emp e WHERE e.manager IS NOT NULL", Anchor: []string{"key"}},
			))
		}
		got := map[string]idsync.Entry{}
		_, err := c.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
			got[e.ObjectType+"/"+string(e.Anchor)] = e
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 {
			t.Fatalf("import: %d objects, want 2 from the view and 1 from the query", len(got))
		}
		wantAttr(t, "view e2", got["viewed/e2"].Attrs, "manager", "reference:e1")
		wantAttr(t, "query e2", got["queried/e2"].Attrs, "label", "string:Alan")
		wantAttr(t, "query e2", got["queried/e2"].Attrs, "n", "integer:2")
		sc, err := c.Schema(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if cl := sc.Class("queried"); cl == nil || len(cl.Attrs) != 3 {
			t.Errorf("schema of the query type: %+v", cl)
		}
		res := exportPage(t, c, idsync.Change{ID: "q", Op: idsync.OpUpdate, ObjectType: "queried", Anchor: "e2",
			Mods: []idsync.AttrMod{{Name: "label", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("x")}}}})
		if r := res["q"]; r.Err == nil || !strings.Contains(r.Err.Error(), "export: update") {
			t.Errorf("update of a query type without statements: %+v", r)
		}
	})
}
