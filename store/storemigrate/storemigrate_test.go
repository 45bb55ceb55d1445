package storemigrate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore"
	"github.com/idsync/idsync/store/pgstore/pgtest"
	"github.com/idsync/idsync/store/sqlstore"
	"github.com/idsync/idsync/store/storemigrate"
)

const cfgYAML = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: displayName, type: string}
        - {name: mail, type: string}
connectors:
  - name: hr
    type: csv
    pageSize: 40
    settings: {path: hr.csv, anchor: [employeeId]}
  - name: target
    type: csv
    pageSize: 40
    settings: {path: target.csv, anchor: [employeeId], columns: [employeeId, displayName, mail]}
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 1
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: displayName, source: displayName}
      - {target: mail, source: mail}
  - name: Out to target
    direction: outbound
    connector: target
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 2
    flows:
      - {target: dn, source: employeeId}
      - {target: employeeId, source: employeeId}
      - {target: displayName, source: displayName}
      - {target: mail, source: mail}
`

func writeHR(t *testing.T, dir string, n, variant int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("employeeId,displayName,mail\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "E%04d,Person %d v%d,p%d@example.com\n", i, i, variant*(i%3), i)
	}
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// populate runs a realistic history on a new SQLite store: imports,
// syncs, exports, a delta round with changes, plus run errors and a
// watermark under an engine-style NUL key.
func populate(t *testing.T) (store.Store, string) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(cfgYAML), 0o644)
	writeHR(t, dir, 300, 0)
	reg := connector.NewRegistry(csvconn.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "source.db")
	st, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	steps := func(conn string, ss ...idsync.StepType) {
		t.Helper()
		var rs []idsync.RunStep
		for _, s := range ss {
			rs = append(rs, idsync.RunStep{Type: s})
		}
		res, err := e.RunSteps(ctx, conn, "p", rs)
		if err != nil {
			t.Fatal(err)
		}
		if res.Status != idsync.StatusSuccess && res.Status != idsync.StatusCompletedWithWarnings {
			t.Fatalf("run %s: %s %s", conn, res.Status, res.Message)
		}
	}
	steps("hr", idsync.StepFullImport, idsync.StepFullSync)
	steps("target", idsync.StepExport, idsync.StepFullImport, idsync.StepDeltaSync)
	writeHR(t, dir, 280, 1) // 20 deletions, a third renamed
	steps("hr", idsync.StepDeltaImport, idsync.StepDeltaSync)
	steps("target", idsync.StepExport)
	tx, err := st.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	runs, err := tx.ListRuns(ctx, store.RunFilter{Limit: 1})
	if err != nil || len(runs) == 0 {
		t.Fatalf("ListRuns: %v %v", runs, err)
	}
	err = tx.AddRunErrors(ctx, runs[0].ID, []idsync.ObjectError{
		{Connector: "target", DN: "E0001", Step: idsync.StepExport, Type: "export-error", Message: "refused"},
		{Connector: "hr", DN: "E0002", Step: idsync.StepFullImport, Type: "import-error", Message: "bad row"},
	})
	if err == nil {
		err = tx.PutWatermark(ctx, "", "\x00engine-state", []byte{0, 1, 2})
	}
	if err == nil {
		err = tx.Commit()
	}
	if err != nil {
		t.Fatal(err)
	}
	return st, path
}

// everything reads all of a store's objects and runs, for a deep comparison.
func everything(t *testing.T, st store.Store) (cs []*idsync.CSObject, mv []*idsync.MVObject, runs []*idsync.RunResult) {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if cs, err = tx.ListCS(ctx, store.CSFilter{}); err != nil {
		t.Fatal(err)
	}
	if mv, err = tx.ListMV(ctx, store.MVFilter{}); err != nil {
		t.Fatal(err)
	}
	list, err := tx.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range list {
		full, err := tx.GetRun(ctx, r.ID, 0)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, full)
	}
	return cs, mv, runs
}

func TestSpec13_MigrateSQLiteToPostgreSQLToSQLiteRoundTrip(t *testing.T) {
	ctx := context.Background()
	src, _ := populate(t)
	pg, err := pgstore.Open(ctx, pgtest.Schema(t), pgstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer pg.Close()
	back, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "back.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer back.Close()

	r1, err := storemigrate.Copy(ctx, src, pg, storemigrate.Options{PageSize: 50})
	if err != nil {
		t.Fatalf("SQLite -> PostgreSQL: %v", err)
	}
	if r1.Source.CSObjects < 500 || r1.Source.MVObjects < 280 || r1.Source.Runs < 4 || r1.Source.RunErrors < 2 || r1.Source.Watermarks < 2 || r1.Source.Sequences < 1 {
		t.Fatalf("the source is too thin to prove anything: %+v", r1.Source)
	}
	r2, err := storemigrate.Copy(ctx, pg, back, storemigrate.Options{PageSize: 70})
	if err != nil {
		t.Fatalf("PostgreSQL -> SQLite: %v", err)
	}
	if d := r1.Source.Diff(r2.Target); len(d) > 0 {
		t.Fatalf("round trip changed the store: %v", d)
	}
	// Beyond checksums: every object and run compares equal, field by field.
	cs1, mv1, runs1 := everything(t, src)
	cs2, mv2, runs2 := everything(t, back)
	opts := cmpopts.EquateEmpty()
	if d := cmp.Diff(cs1, cs2, opts); d != "" {
		t.Errorf("cs objects differ after the round trip (-source +back):\n%s", d)
	}
	if d := cmp.Diff(mv1, mv2, opts); d != "" {
		t.Errorf("mv objects differ after the round trip (-source +back):\n%s", d)
	}
	if d := cmp.Diff(runs1, runs2, opts); d != "" {
		t.Errorf("runs differ after the round trip (-source +back):\n%s", d)
	}
	// The copy is a working store: the counters continue where they were.
	var next []int64
	for _, st := range []store.Store{src, back} {
		tx, _ := st.Begin(ctx, true)
		n, err := tx.NextSeq(ctx, "import-gen")
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		next = append(next, n)
	}
	if next[0] < 3 || next[1] != next[0] {
		t.Errorf("NextSeq(import-gen) on source and copy = %v, want the same value past the 2 full imports", next)
	}
}

func TestSpec13_MigrateRefusesANonEmptyTargetUnlessReplacing(t *testing.T) {
	ctx := context.Background()
	src, _ := populate(t)
	dst, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "dst.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	tx, _ := dst.Begin(ctx, true)
	tx.PutMV(ctx, []*idsync.MVObject{{ID: "stray", ObjectType: "person", Attrs: idsync.Attrs{}}})
	tx.Commit()
	if _, err := storemigrate.Copy(ctx, src, dst, storemigrate.Options{}); !errors.Is(err, storemigrate.ErrTargetNotEmpty) {
		t.Fatalf("Copy onto a non-empty target: %v, want ErrTargetNotEmpty", err)
	}
	res, err := storemigrate.Copy(ctx, src, dst, storemigrate.Options{Replace: true})
	if err != nil {
		t.Fatalf("Copy with Replace: %v", err)
	}
	tx, _ = dst.Begin(ctx, false)
	defer tx.Rollback()
	if _, err := tx.GetMV(ctx, "stray"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the target's own object survived Replace: %v", err)
	}
	if !storemigrate.Equal(res.Source, res.Target) {
		t.Errorf("summaries differ: %v", res.Source.Diff(res.Target))
	}
}
