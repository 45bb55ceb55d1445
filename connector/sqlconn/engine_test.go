package sqlconn

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// engineFor loads a configuration with one sql connector "hr" on dsn
// and returns an engine on a fresh SQLite store.
func engineFor(t testing.TB, kind, dsn string, progress func(engine.Progress), extra string) (*engine.Engine, store.Store) {
	t.Helper()
	return engineForYAML(t, fmt.Sprintf(`metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: name, type: string}
connectors:
  - name: hr
    type: sql
    pageSize: 500
    settings:
      driver: %s
      dsn: %q
      pageSize: 1000
      objectTypes:
        - name: person
          table: emp
          anchor: [id]
%s`, kind, dsn, extra), progress)
}

func engineForYAML(t testing.TB, yml string, progress func(engine.Progress)) (*engine.Engine, store.Store) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg, Progress: progress})
	if err != nil {
		t.Fatal(err)
	}
	return e, st
}

func countCS(t testing.TB, st store.Store, f store.CSFilter) int {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	f.Connector = "hr"
	n, err := tx.CountCS(ctx, f)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// pendingDeletes counts CS objects whose pending import is a deletion.
func pendingDeletes(t testing.TB, st store.Store) int {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	objs, err := tx.ListCS(ctx, store.CSFilter{Connector: "hr", PendingImport: true})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, o := range objs {
		if o.PendingImport == idsync.ImportDelete {
			n++
		}
	}
	return n
}

func watermarkOf(t testing.TB, st store.Store) []byte {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	wm, err := tx.GetWatermark(ctx, "hr", "")
	if err != nil {
		t.Fatal(err)
	}
	return wm
}

// fillEmp writes n rows into emp on the server side.
func fillEmp(t testing.TB, tdb *testDB, n int) {
	t.Helper()
	tdb.exec(`CREATE TABLE emp (id {key} PRIMARY KEY, name {text}, modified {int})`)
	switch tdb.kind {
	case "postgres":
		tdb.exec(fmt.Sprintf(`INSERT INTO emp SELECT 'e' || lpad(g::text, 8, '0'), 'Name ' || g, g FROM generate_series(1, %d) g`, n))
	case "mysql":
		tdb.exec(fmt.Sprintf(`SET STATEMENT max_recursive_iterations = %d FOR INSERT INTO emp WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT CONCAT('e', LPAD(i, 8, '0')), CONCAT('Name ', i), i FROM g`, n+1, n))
	default:
		tdb.exec(fmt.Sprintf(`INSERT INTO emp WITH RECURSIVE g(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM g WHERE i < %d) SELECT 'e' || printf('%%08d', i), 'Name ' || i, i FROM g`, n))
	}
}

// TestSpec13_SQLDatabaseGoesAwayStopsConnectivity proves, through the
// engine over the SQLite store, that a database that goes away in the
// middle of a full import stops the run as stopped-connectivity with
// nothing half-staged: only whole committed pages are kept, no object is
// marked deleted and no watermark is saved; the next run completes.
func TestSpec13_SQLDatabaseGoesAwayStopsConnectivity(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			tdb := newTestDB(t, kind)
			const rows = 20000
			fillEmp(t, tdb, rows)
			px := newProxy(t, tdb.server)
			dsn := strings.Replace(tdb.dsn, tdb.server, px.addr(), 1)
			var cut atomic.Bool
			e, st := engineFor(t, kind, dsn, func(p engine.Progress) {
				if p.Page == 3 && !p.Done && cut.CompareAndSwap(false, true) {
					px.cutAll()
				}
			}, "          delta: {mode: watermark, column: modified}\n")
			ctx := context.Background()
			steps := []idsync.RunStep{{Type: idsync.StepFullImport}}

			// A first, complete import so that deletion detection has
			// something it could wrongly delete.
			cut.Store(true)
			res, err := e.RunSteps(ctx, "hr", "full-import", steps)
			if err != nil || res.Status != idsync.StatusSuccess {
				t.Fatalf("first import: %v %+v", err, res)
			}
			first := watermarkOf(t, st)
			tdb.exec(`UPDATE emp SET modified = modified + ?`, rows)

			cut.Store(false)
			res, err = e.RunSteps(ctx, "hr", "full-import", steps)
			if err != nil {
				t.Fatalf("run: %v", err)
			}
			if !cut.Load() {
				t.Fatal("the proxy was never cut: the import finished in fewer than 3 pages")
			}
			if res.Status != idsync.StatusStoppedConnectivity {
				t.Fatalf("status = %s (%s), want %s", res.Status, res.Message, idsync.StatusStoppedConnectivity)
			}
			if n := countCS(t, st, store.CSFilter{}); n != rows {
				t.Errorf("connector space holds %d objects after the failed run, want the %d of the first run", n, rows)
			}
			if n := pendingDeletes(t, st); n != 0 {
				t.Errorf("%d objects staged for deletion by a failed import, want 0", n)
			}
			if wm := watermarkOf(t, st); string(wm) != string(first) {
				t.Errorf("the watermark moved after a failed import")
			}

			px.restore()
			res, err = e.RunSteps(ctx, "hr", "full-import", steps)
			if err != nil || res.Status != idsync.StatusSuccess {
				t.Fatalf("import after the database came back: %v %+v", err, res)
			}
			if n := countCS(t, st, store.CSFilter{}); n != rows {
				t.Errorf("connector space holds %d objects, want %d", n, rows)
			}
			if wm := watermarkOf(t, st); string(wm) == string(first) {
				t.Errorf("the watermark did not move after a successful import")
			}
		})
	}
}

// TestSpec13_SQLDatabaseGoesAwayFirstImport is the same on an empty
// connector space: the pages committed before the cut are whole pages.
func TestSpec13_SQLDatabaseGoesAwayFirstImport(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			tdb := newTestDB(t, kind)
			const rows = 20000
			fillEmp(t, tdb, rows)
			px := newProxy(t, tdb.server)
			dsn := strings.Replace(tdb.dsn, tdb.server, px.addr(), 1)
			var cut atomic.Bool
			e, st := engineFor(t, kind, dsn, func(p engine.Progress) {
				if p.Page == 3 && !p.Done && cut.CompareAndSwap(false, true) {
					px.cutAll()
				}
			}, "          delta: {mode: snapshot}\n")
			res, err := e.RunSteps(context.Background(), "hr", "full-import", []idsync.RunStep{{Type: idsync.StepFullImport}})
			if err != nil {
				t.Fatal(err)
			}
			if res.Status != idsync.StatusStoppedConnectivity {
				t.Fatalf("status = %s (%s), want %s", res.Status, res.Message, idsync.StatusStoppedConnectivity)
			}
			n := countCS(t, st, store.CSFilter{})
			if n == 0 || n >= rows || n%500 != 0 {
				t.Errorf("connector space holds %d objects, want a whole number of 500-object pages below %d", n, rows)
			}
			if d := pendingDeletes(t, st); d != 0 || res.Counters.ImportDeletes != 0 {
				t.Errorf("%d deletions staged by a failed import", d)
			}
			if wm := watermarkOf(t, st); wm != nil {
				t.Errorf("a failed first import saved a watermark")
			}
		})
	}
}

// TestSQLConnectionLossIsTransient proves that the connector itself
// reports a lost database as idsync.KindTransient, in the middle of an
// import and on export (where nothing of the page is committed).
func TestSQLConnectionLossIsTransient(t *testing.T) {
	for _, kind := range []string{"postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			tdb := newTestDB(t, kind)
			fillEmp(t, tdb, 5000)
			px := newProxy(t, tdb.server)
			cfg := &Config{Driver: kind, DSN: strings.Replace(tdb.dsn, tdb.server, px.addr(), 1), PageSize: 500,
				ObjectTypes: []ObjectType{{Name: "person", Table: "emp", Anchor: []string{"id"}}}}
			c := mustOpen(t, cfg)
			n := 0
			_, err := c.Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error {
				if n++; n == 700 {
					px.cutAll()
				}
				return nil
			})
			if err == nil || idsync.KindOf(err) != idsync.KindTransient {
				t.Fatalf("Import after the cut = %v (kind %v), want a transient error", err, idsync.KindOf(err))
			}
			if n >= 5000 {
				t.Errorf("Import read all %d rows after the cut", n)
			}
			s, err := c.OpenExport(context.Background(), connector.ExportOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.ExportPage(context.Background(), []idsync.Change{{ID: "1", Op: idsync.OpAdd, ObjectType: "person",
				Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("new")}, "name": {idsync.String("x")}})}})
			if err == nil || idsync.KindOf(err) != idsync.KindTransient {
				t.Errorf("ExportPage with the database gone = %v (kind %v), want a transient error", err, idsync.KindOf(err))
			}
			px.restore()
			if got := tdb.count(`SELECT COUNT(*) FROM emp WHERE id = ?`, "new"); got != 0 {
				t.Errorf("the failed page left %d row(s)", got)
			}
		})
	}
}
