package sqlconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// sqlserverConn is a conn on the SQL Server dialect with a resolved
// object type, for checking generated SQL text without a server (no SQL
// Server runs here).
func sqlserverConn() (*conn, *otype) {
	cfg := ObjectType{Name: "person", Table: "hr.emp", Anchor: []string{"org", "id"},
		SoftDelete:  &SoftDelete{Column: "gone", Value: "1"},
		MultiValued: []MultiValued{{Attribute: "mail", Table: "hr.emp_mail", ParentColumns: []string{"org", "emp_id"}, ValueColumn: "addr"}}}
	ot := &otype{cfg: &cfg, name: "person", from: "[hr].[emp] q", idx: map[string]int{}, mvByName: map[string]int{"mail": 0}, softDel: 3, wmIdx: -1}
	for _, col := range []column{
		{name: "org", attr: idsync.TypeString, store: idsync.TypeString},
		{name: "id", attr: idsync.TypeInteger, store: idsync.TypeInteger},
		{name: "na]me", attr: idsync.TypeString, store: idsync.TypeString},
		{name: "gone", attr: idsync.TypeBoolean, store: idsync.TypeBoolean},
	} {
		ot.idx[col.name] = len(ot.cols)
		ot.cols = append(ot.cols, col)
	}
	ot.anchor = []int{0, 1}
	ot.anchorCol = cfg.Anchor
	ot.mv = []mvAttr{{attr: "mail", table: "hr.emp_mail", parent: []string{"org", "emp_id"}, value: "addr", typ: idsync.TypeString, store: idsync.TypeString}}
	c := &conn{d: sqlserver{}, page: 100, batch: 1000, byName: map[string]*otype{"person": ot}}
	c.types = []*otype{ot}
	return c, ot
}

func TestSQLServerDialectPageQuery(t *testing.T) {
	c, ot := sqlserverConn()
	b := c.pageQuery(ot, nil, false, []any{"acme", int64(42)}, 100)
	want := "SELECT q.[org], q.[id], q.[na]]me], q.[gone] FROM [hr].[emp] q WHERE (q.[gone] IS NULL OR q.[gone] <> @p1) AND " +
		"((q.[org] > @p2) OR (q.[org] = @p3 AND q.[id] > @p4)) ORDER BY q.[org], q.[id] OFFSET 0 ROWS FETCH NEXT 100 ROWS ONLY"
	if b.String() != want {
		t.Errorf("page query:\n got %s\nwant %s", b.String(), want)
	}
	if wantArgs := []any{true, "acme", "acme", int64(42)}; !slices.Equal(b.args, wantArgs) {
		t.Errorf("args = %v, want %v", b.args, wantArgs)
	}
}

// recorder is an execer that records statements; every UPDATE matches
// one row.
type recorder struct {
	stmts []string
	args  [][]any
}

func (r *recorder) ExecContext(_ context.Context, q string, args ...any) (sql.Result, error) {
	r.stmts = append(r.stmts, q)
	r.args = append(r.args, args)
	return driver.RowsAffected(1), nil
}

func (r *recorder) QueryContext(context.Context, string, ...any) (*sql.Rows, error) {
	return nil, errors.New("recorder: no queries")
}

func TestSQLServerDialectExportSQL(t *testing.T) {
	c, ot := sqlserverConn()
	s := &session{c: c}
	ctx := context.Background()
	ins, err := s.planInsert(ot, &idsync.Change{Op: idsync.OpAdd, ObjectType: "person", Mods: idsync.ModsFromAttrs(idsync.Attrs{
		"org": {idsync.String("acme")}, "id": {idsync.Int(7)}, "na]me": {idsync.String("x'); DROP TABLE t;--")},
		"mail": {idsync.String("a@x"), idsync.String("b@x")}})})
	if err != nil {
		t.Fatal(err)
	}
	if ins.anchor != "acme|7" {
		t.Errorf("anchor = %q", ins.anchor)
	}
	rec := &recorder{}
	if err := s.insertBatch(ctx, rec, []*insertRow{ins}); err != nil {
		t.Fatal(err)
	}
	wantStmts := []string{
		"INSERT INTO [hr].[emp] ([id], [na]]me], [org], [gone]) VALUES (@p1, @p2, @p3, @p4)",
		"INSERT INTO [hr].[emp_mail] ([org], [emp_id], [addr]) VALUES (@p1, @p2, @p3), (@p4, @p5, @p6)",
	}
	wantArgs := [][]any{{int64(7), "x'); DROP TABLE t;--", "acme", false}, {"acme", int64(7), "a@x", "acme", int64(7), "b@x"}}
	if !slices.Equal(rec.stmts, wantStmts) {
		t.Errorf("insert statements:\n got %q\nwant %q", rec.stmts, wantStmts)
	}
	for i := range wantArgs {
		if i < len(rec.args) && !slices.Equal(rec.args[i], wantArgs[i]) {
			t.Errorf("statement %d args = %v, want %v", i, rec.args[i], wantArgs[i])
		}
	}

	gen := *ot.cfg
	gen.Generated, gen.Anchor = true, []string{"id"}
	got := ot
	got.cfg = &gen
	got.anchorCol = gen.Anchor
	b := c.insertReturningSQL(got, &insertRow{cols: []string{"na]me"}, args: []any{"n"}})
	if want := "INSERT INTO [hr].[emp] ([na]]me]) OUTPUT INSERTED.[id] VALUES (@p1)"; b.String() != want {
		t.Errorf("generated insert:\n got %s\nwant %s", b.String(), want)
	}
	if b := c.insertReturningSQL(got, &insertRow{}); b.String() != "INSERT INTO [hr].[emp] OUTPUT INSERTED.[id] DEFAULT VALUES" {
		t.Errorf("generated insert without columns: %s", b.String())
	}
}

func TestSQLServerDialectUpdateDeleteSQL(t *testing.T) {
	c, ot := sqlserverConn()
	s := &session{c: c}
	ctx := context.Background()
	rec := &recorder{}
	err := s.update(ctx, rec, ot, &idsync.Change{Op: idsync.OpUpdate, ObjectType: "person", Anchor: "acme|7", Mods: []idsync.AttrMod{
		{Name: "na]me", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("n")}},
		{Name: "mail", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.String("a@x")}},
	}}, nil, false)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"UPDATE [hr].[emp] SET [na]]me] = @p1 WHERE [org] = @p2 AND [id] = @p3 AND ([gone] IS NULL OR [gone] <> @p4)",
		"DELETE FROM [hr].[emp_mail] WHERE [org] = @p1 AND [emp_id] = @p2 AND [addr] = @p3",
	}
	if !slices.Equal(rec.stmts, want) {
		t.Errorf("update statements:\n got %q\nwant %q", rec.stmts, want)
	}
	if len(rec.args) == 2 && (!slices.Equal(rec.args[0], []any{"n", "acme", int64(7), true}) || !slices.Equal(rec.args[1], []any{"acme", int64(7), "a@x"})) {
		t.Errorf("update args = %v", rec.args)
	}
	rec = &recorder{}
	if err := s.remove(ctx, rec, ot, &idsync.Change{Op: idsync.OpDelete, ObjectType: "person", Anchor: "acme|7"}, nil); err != nil {
		t.Fatal(err)
	}
	if want := []string{"UPDATE [hr].[emp] SET [gone] = @p1 WHERE [org] = @p2 AND [id] = @p3"}; !slices.Equal(rec.stmts, want) {
		t.Errorf("soft delete: %q, want %q", rec.stmts, want)
	}
	rec = &recorder{}
	st := &Statement{Procedure: "hr.del_emp", Parameters: []string{"anchor", "dn", "objectType"}}
	_, err = s.statement(ctx, rec, ot, &idsync.Change{Op: idsync.OpDelete, DN: "acme|7", ObjectType: "person"}, st, nil, "acme|7")
	if err == nil || !strings.Contains(err.Error(), "recorder") {
		t.Errorf("statement through a recorder: %v", err)
	}
}

func TestSQLServerDialectStatements(t *testing.T) {
	d := sqlserver{}
	for _, tc := range []struct{ got, want string }{
		{d.call("hr.add_emp", 3), "EXEC [hr].[add_emp] @p1, @p2, @p3"},
		{d.call("sync", 0), "EXEC [sync]"},
		{d.savepoint("g"), "SAVE TRANSACTION g"},
		{d.rollbackTo("g"), "ROLLBACK TRANSACTION g"},
		{d.release("g"), ""},
		{quoteName(d, "db.hr.we]ird"), "[db].[hr].[we]]ird]"},
		{d.limit(5), " OFFSET 0 ROWS FETCH NEXT 5 ROWS ONLY"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
	if !strings.Contains(d.columnsQuery(), "INFORMATION_SCHEMA.COLUMNS") || !strings.Contains(d.columnsQuery(), "@p1") || !strings.Contains(d.columnsQuery(), "@p2") {
		t.Errorf("columns query %q", d.columnsQuery())
	}
	for typ, want := range map[string]idsync.AttrType{"int": idsync.TypeInteger, "bit": idsync.TypeBoolean, "rowversion": idsync.TypeBinary,
		"datetime2": idsync.TypeDateTime, "nvarchar": idsync.TypeString, "uniqueidentifier": idsync.TypeString} {
		if got := d.attrType(typ); got != want {
			t.Errorf("attrType(%s) = %s, want %s", typ, got, want)
		}
	}
}

func TestSQLServerDialectNamedParameters(t *testing.T) {
	q, names, err := bindNamed(`UPDATE [we:ird] SET name = :name, note = ':not' /* :no */ -- :no
WHERE id = :anchor AND [x]]:y] = :name`, sqlserver{})
	if err != nil {
		t.Fatal(err)
	}
	want := "UPDATE [we:ird] SET name = @p1, note = ':not' /* :no */ -- :no\nWHERE id = @p2 AND [x]]:y] = @p3"
	if q != want || !slices.Equal(names, []string{"name", "anchor", "name"}) {
		t.Errorf("bindNamed = %q %v", q, names)
	}
}

func TestBindNamedDialects(t *testing.T) {
	for _, tc := range []struct {
		d     dialect
		in    string
		want  string
		names []string
		err   bool
	}{
		{postgres{}, `SELECT :a::text, ':b', "c:d", :e`, `SELECT $1::text, ':b', "c:d", $2`, []string{"a", "e"}, false},
		{mysqlDialect{}, "SELECT :a, 'it\\'s :b', `c:d`", "SELECT ?, 'it\\'s :b', `c:d`", []string{"a"}, false},
		{sqliteDialect{}, `SELECT :a WHERE x = ?`, "", nil, true},
		{postgres{}, `SELECT 'unterminated`, "", nil, true},
		{postgres{}, `SELECT 1 /* open`, "", nil, true},
	} {
		q, names, err := bindNamed(tc.in, tc.d)
		if (err != nil) != tc.err {
			t.Errorf("%s %q: err = %v", tc.d.name(), tc.in, err)
			continue
		}
		if !tc.err && (q != tc.want || !slices.Equal(names, tc.names)) {
			t.Errorf("%s %q = %q %v, want %q %v", tc.d.name(), tc.in, q, names, tc.want, tc.names)
		}
	}
}

func TestQuoteIdentifiers(t *testing.T) {
	for _, tc := range []struct {
		d    dialect
		in   string
		want string
	}{
		{postgres{}, `a"b`, `"a""b"`},
		{mysqlDialect{}, "a`b", "`a``b`"},
		{sqliteDialect{}, `x"; DROP TABLE t; --`, `"x""; DROP TABLE t; --"`},
		{sqlserver{}, `a]b`, `[a]]b]`},
	} {
		if got := tc.d.quoteIdent(tc.in); got != tc.want {
			t.Errorf("%s quote %q = %q, want %q", tc.d.name(), tc.in, got, tc.want)
		}
	}
}

func TestAnchorJoinSplit(t *testing.T) {
	for _, parts := range [][]string{{"a", "b"}, {"a|b", `c\d`}, {"", ""}, {`\`, `|`}} {
		a := joinAnchor(parts)
		got, err := splitAnchor(a, len(parts))
		if err != nil || !slices.Equal(got, parts) {
			t.Errorf("split(join(%q)) = %q, %v", parts, got, err)
		}
	}
	if _, err := splitAnchor("a|b|c", 2); err == nil {
		t.Errorf("splitAnchor accepted 3 parts for 2 columns")
	}
}

func FuzzBindNamed(f *testing.F) {
	for _, s := range []string{`SELECT :a`, `':x'`, `"a"":b"`, `-- :c`, `/* :d */ :e::int`, `[a]]:b]`, "`x:y`"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, d := range []dialect{postgres{}, mysqlDialect{}, sqliteDialect{}, sqlserver{}} {
			q, names, err := bindNamed(s, d)
			if err != nil {
				continue
			}
			// Every name became exactly one placeholder; nothing else changed length wildly.
			if len(names) > 0 && !strings.Contains(q, d.placeholder(len(names))) {
				t.Fatalf("%s: %q -> %q lacks placeholder %d", d.name(), s, q, len(names))
			}
		}
	})
}

func FuzzDecodeSnapshot(f *testing.F) {
	b := &snapshotBuilder{}
	b.add("a", 1)
	b.add("b|c", 2)
	f.Add(b.encode())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := decodeSnapshot(data)
		if err != nil {
			if !errors.Is(err, errSnapshot) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		r := &snapshotBuilder{}
		for a, h := range m {
			r.add(a, h)
		}
		if string(r.encode()) != string(data) {
			t.Fatalf("snapshot does not round-trip")
		}
	})
}

func TestValidateErrors(t *testing.T) {
	ok := func() *Config {
		return &Config{Driver: "postgres", DSN: "postgres://svc@db/hr", ObjectTypes: []ObjectType{{Name: "p", Table: "emp", Anchor: []string{"id"}}}}
	}
	for _, tc := range []struct {
		name string
		mod  func(c *Config)
		want string
	}{
		{"no driver", func(c *Config) { c.Driver = "" }, "driver is required"},
		{"bad driver", func(c *Config) { c.Driver = "oracle" }, `unknown driver "oracle"`},
		{"password in dsn", func(c *Config) { c.DSN = "postgres://svc:secret@db/hr" }, "must not hold a password"},
		{"password in kv dsn", func(c *Config) { c.DSN = "host=db password=secret" }, "must not hold a password"},
		{"password in mysql dsn", func(c *Config) { c.Driver, c.DSN = "mysql", "svc:secret@tcp(db)/hr" }, "must not hold a password"},
		{"no types", func(c *Config) { c.ObjectTypes = nil }, "at least one object type"},
		{"table and query", func(c *Config) { c.ObjectTypes[0].Query = "SELECT 1" }, "exactly one of table and query"},
		{"no anchor", func(c *Config) { c.ObjectTypes[0].Anchor = nil }, "anchor is required"},
		{"bad type", func(c *Config) { c.ObjectTypes[0].Types = map[string]string{"x": "float"} }, `column "x"`},
		{"procedure on sqlite", func(c *Config) {
			c.Driver, c.DSN = "sqlite", "x.db"
			c.ObjectTypes[0].Export = &Export{Insert: &Statement{Procedure: "p"}}
		}, "no stored procedures"},
		{"bad delta", func(c *Config) { c.ObjectTypes[0].Delta = &Delta{Mode: "cdc"} }, `mode "cdc"`},
		{"change table without columns", func(c *Config) { c.ObjectTypes[0].Delta = &Delta{Mode: DeltaChangeTable, Table: "chg"} }, "sequenceColumn"},
		{"mv parent columns", func(c *Config) {
			c.ObjectTypes[0].MultiValued = []MultiValued{{Attribute: "mail", Table: "m", ValueColumn: "v"}}
		}, "parentColumns must list 1"},
		{"statement with ?", func(c *Config) {
			c.Driver, c.DSN = "mysql", "svc@tcp(db)/hr"
			c.ObjectTypes[0].Export = &Export{Update: &Statement{Statement: "UPDATE t SET a = ?"}}
		}, "not ?"},
		{"blank statement", func(c *Config) { c.ObjectTypes[0].Export = &Export{Delete: &Statement{Statement: "  \n "}} }, "exactly one of statement and procedure"},
		{"duplicate type", func(c *Config) { c.ObjectTypes = append(c.ObjectTypes, c.ObjectTypes[0]) }, "declared twice"},
	} {
		c := ok()
		tc.mod(c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: Validate = %v, want an error with %q", tc.name, err, tc.want)
		}
	}
	if err := ok().Validate(); err != nil {
		t.Errorf("valid config: %v", err)
	}
}

// TestInsertValuesSQL checks the multi-row INSERT text each dialect
// prepares and runs (placeholders numbered across rows, quoted names).
func TestInsertValuesSQL(t *testing.T) {
	for _, tc := range []struct {
		d    dialect
		want string
	}{
		{sqlserver{}, "INSERT INTO [hr].[emp] ([id], [na]]me]) VALUES (@p1, @p2), (@p3, @p4)"},
		{postgres{}, `INSERT INTO "hr"."emp" ("id", "na]me") VALUES ($1, $2), ($3, $4)`},
		{mysqlDialect{}, "INSERT INTO `hr`.`emp` (`id`, `na]me`) VALUES (?, ?), (?, ?)"},
		{sqliteDialect{}, `INSERT INTO "hr"."emp" ("id", "na]me") VALUES (?, ?), (?, ?)`},
	} {
		if got := insertValuesSQL(tc.d, "hr.emp", []string{"id", "na]me"}, 2); got != tc.want {
			t.Errorf("%s:\n got %s\nwant %s", tc.d.name(), got, tc.want)
		}
	}
	if shapeKey("t", []string{"a", "b"}, 2) == shapeKey("t", []string{"a"}, 2) || shapeKey("t", []string{"a"}, 2) == shapeKey("t", []string{"a"}, 3) {
		t.Error("shapeKey does not tell shapes apart")
	}
}
