package engine_test

import (
	"bufio"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/storeopen"
)

// The crash-safety tests run the engine in a real child process (this
// test binary, re-executed) and kill it with SIGKILL in the middle of a
// step, then rerun the step and prove that nothing was lost or applied
// twice.

const crashChildEnv = "IDSYNC_CRASH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	os.Exit(m.Run())
}

const crashConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: displayName, type: string}
connectors:
  - name: hr
    type: csv
    pageSize: 50
    settings: {path: hr.csv, anchor: [employeeId]}
  - name: target
    type: csv
    pageSize: 50
    settings: {path: target.csv, anchor: [employeeId], columns: [employeeId, displayName]}
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
`

// crashStoreEnv names the store of a child process (default: the SQLite
// file idsync.db in its directory).
const crashStoreEnv = "IDSYNC_CRASH_STORE"

func openCrashEngine(ctx context.Context, dir string, progress func(engine.Progress), log *slog.Logger) (*engine.Engine, store.Store, error) {
	return openEngineOnLog(ctx, dir, os.Getenv(crashStoreEnv), progress, log)
}

// openEngineOn opens the engine of the configuration in dir on the store
// dsn names (the SQLite file idsync.db in dir when empty).
func openEngineOn(ctx context.Context, dir, dsn string, progress func(engine.Progress)) (*engine.Engine, store.Store, error) {
	return openEngineOnLog(ctx, dir, dsn, progress, nil)
}

func openEngineOnLog(ctx context.Context, dir, dsn string, progress func(engine.Progress), log *slog.Logger) (*engine.Engine, store.Store, error) {
	reg := connector.NewRegistry(csvconn.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		return nil, nil, err
	}
	if dsn == "" {
		dsn = "sqlite:" + filepath.Join(dir, "idsync.db")
	}
	st, err := storeopen.Open(ctx, dsn, storeopen.Options{})
	if err != nil {
		return nil, nil, err
	}
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg, Progress: progress, Logger: log})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return e, st, nil
}

// crashGateEnv names a file a child waits for after its second page,
// so that the parent decides when the step may go on.
const crashGateEnv = "IDSYNC_CRASH_GATE"

// crashChild runs one step named by the environment and prints a line
// per committed page, slowing down after each so the parent can kill it
// mid-step. The engine's log goes to stdout too, one line per record.
func crashChild() int {
	dir := os.Getenv("IDSYNC_CRASH_DIR")
	step := idsync.StepType(os.Getenv(crashChildEnv))
	conn := os.Getenv("IDSYNC_CRASH_CONNECTOR")
	gate := os.Getenv(crashGateEnv)
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(os.Stdout, nil))
	e, st, err := openCrashEngine(ctx, dir, func(p engine.Progress) {
		if !p.Done {
			fmt.Printf("page %d\n", p.Page)
			time.Sleep(20 * time.Millisecond)
			for gate != "" && p.Page >= 2 {
				if _, err := os.Stat(gate); err == nil {
					break
				}
				time.Sleep(10 * time.Millisecond)
			}
		}
	}, log)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	defer st.Close()
	if step == "worker" {
		return workerChild(ctx, e)
	}
	if os.Getenv("IDSYNC_CRASH_WAIT") != "" {
		ctx = engine.WaitForLocks(ctx, 50*time.Millisecond)
	}
	res, err := e.RunSteps(ctx, conn, "crash", []idsync.RunStep{{Type: step}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	// done STATUS RUN-START STEP-START END (Unix nanoseconds): the step
	// starts once the run holds its locks.
	fmt.Printf("done %s %d %d %d\n", res.Status, res.Started.UnixNano(), res.Steps[0].Started.UnixNano(), res.Ended.UnixNano())
	return 0
}

// workerChild runs a queue worker until its first claimed run ends.
func workerChild(ctx context.Context, e *engine.Engine) int {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	code := 0
	err := e.Work(ctx, engine.WorkOptions{
		Poll: 100 * time.Millisecond, ClaimTimeout: 2 * time.Second,
		Done: func(q *store.QueuedRun, r *idsync.RunResult, err error) {
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				code = 3
			} else {
				fmt.Printf("done %s %s %d\n", r.Status, r.ID, q.Attempts)
			}
			cancel()
		},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	return code
}

// startAndKill runs a step in a child process and SIGKILLs it once it
// has committed killAfter pages. It fails the test if the child finished first.
func startAndKill(t *testing.T, dir, conn string, step idsync.StepType, killAfter int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+string(step), "IDSYNC_CRASH_DIR="+dir, "IDSYNC_CRASH_CONNECTOR="+conn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(out)
	pages := 0
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "done") {
			t.Fatalf("child finished (%s) before it could be killed", line)
		}
		if strings.HasPrefix(line, "page ") {
			pages++
			if pages == killAfter {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				break
			}
		}
	}
	go io.Copy(io.Discard, out)
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
}

func writeHR(t *testing.T, dir string, n int) {
	t.Helper()
	var b strings.Builder
	b.WriteString("employeeId,displayName\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "E%05d,Person %d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return rows
}

func TestCrashSafety_KillDuringImportThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 2000
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(crashConfig), 0o644)
	writeHR(t, dir, n)

	startAndKill(t, dir, "hr", idsync.StepFullImport, 5)

	ctx := context.Background()
	e, st, err := openCrashEngine(ctx, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	tx, _ := st.Begin(ctx, false)
	partial, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
	tx.Rollback()
	if partial < 5*50 || partial >= n {
		t.Fatalf("after the kill the connector space holds %d objects, want the committed pages (>= 250, < %d)", partial, n)
	}
	res, err := e.RunSteps(ctx, "hr", "rerun", []idsync.RunStep{{Type: idsync.StepFullImport}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ImportAdds != n-partial || res.Counters.ImportNoChange != partial || res.Counters.ImportDeletes != 0 {
		t.Fatalf("rerun counters = adds %d, no-change %d, deletes %d; want %d, %d, 0", res.Counters.ImportAdds, res.Counters.ImportNoChange, res.Counters.ImportDeletes, n-partial, partial)
	}
	tx, _ = st.Begin(ctx, false)
	defer tx.Rollback()
	total, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
	if total != n {
		t.Fatalf("connector space holds %d objects, want %d", total, n)
	}
	pend, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr", PendingImport: true})
	if pend != n {
		t.Fatalf("%d objects pending import, want %d (every object is new)", pend, n)
	}
	runs, _ := tx.ListRuns(ctx, store.RunFilter{Connector: "hr"})
	var interrupted int
	for _, r := range runs {
		if r.Status == idsync.StatusInterrupted {
			interrupted++
		}
	}
	if interrupted != 1 {
		t.Fatalf("run history has %d interrupted runs, want 1: %+v", interrupted, runs)
	}
}

func TestCrashSafety_KillDuringExportThenRerun(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	const n = 2000
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(crashConfig), 0o644)
	writeHR(t, dir, n)
	ctx := context.Background()
	e, st, err := openCrashEngine(ctx, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	res, err := e.RunSteps(ctx, "hr", "load", []idsync.RunStep{{Type: idsync.StepFullImport}, {Type: idsync.StepFullSync}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ProvisionedAdds != n {
		t.Fatalf("provisioned %d, want %d", res.Counters.ProvisionedAdds, n)
	}
	st.Close()

	startAndKill(t, dir, "target", idsync.StepExport, 5)

	e, st, err = openCrashEngine(ctx, dir, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	// What the killed run recorded: every committed page's objects have
	// the anchor the connector assigned.
	tx, _ := st.Begin(ctx, false)
	left, _ := tx.CountCS(ctx, store.CSFilter{Connector: "target", PendingExport: true})
	tx.Rollback()
	if left > n-5*50 || left == 0 {
		t.Fatalf("after the kill %d exports are pending; the killed run committed at least 5 pages of 50, so want 1..%d", left, n-5*50)
	}
	res, err = e.RunSteps(ctx, "target", "rerun", []idsync.RunStep{{Type: idsync.StepExport}})
	if err != nil {
		t.Fatal(err)
	}
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ExportAdds != left {
		t.Fatalf("rerun exported %d adds, want the %d left pending", res.Counters.ExportAdds, left)
	}
	rows := readCSV(t, filepath.Join(dir, "target.csv"))
	if len(rows) != n+1 {
		t.Fatalf("target.csv has %d rows, want %d plus a header", len(rows), n)
	}
	seen := map[string]bool{}
	for _, r := range rows[1:] {
		if seen[r[0]] {
			t.Fatalf("target.csv holds %s twice", r[0])
		}
		seen[r[0]] = true
	}
	tx, _ = st.Begin(ctx, false)
	defer tx.Rollback()
	pend, _ := tx.CountCS(ctx, store.CSFilter{Connector: "target", PendingExport: true})
	if pend != 0 {
		t.Fatalf("%d pending exports left after the rerun", pend)
	}
	objs, _ := tx.ListCS(ctx, store.CSFilter{Connector: "target"})
	for _, o := range objs {
		if o.Anchor == "" || o.Awaiting != idsync.ConfirmAdd {
			t.Fatalf("object %s: anchor %q awaiting %v; want the anchor the export assigned and an awaited confirmation", o.DN, o.Anchor, o.Awaiting)
		}
	}
}
