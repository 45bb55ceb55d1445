package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore/pgtest"
)

// Several idsync processes sharing one store (§13): real OS processes
// (this test binary, re-executed as in crash_test.go), on SQLite and on
// PostgreSQL.

const multiConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: displayName, type: string}
        - {name: badgeId, type: string}
connectors:
  - name: hr
    type: csv
    pageSize: 50
    settings: {path: hr.csv, anchor: [employeeId]}
  - name: badge
    type: csv
    pageSize: 50
    settings: {path: badge.csv, anchor: [badgeId]}
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
  - name: In from badges
    direction: inbound
    connector: badge
    csObjectType: person
    mvObjectType: person
    precedence: 2
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: badgeId, source: badgeId}
`

// storeDSNs returns the stores the scenarios run on: a SQLite file, and
// a private PostgreSQL schema when IDSYNC_TEST_POSTGRES_DSN is set (under
// CI=true it must be).
func storeDSNs(t *testing.T) map[string]func(t *testing.T, dir string) string {
	m := map[string]func(t *testing.T, dir string) string{
		"sqlite": func(t *testing.T, dir string) string { return "sqlite:" + filepath.Join(dir, "idsync.db") },
	}
	if os.Getenv(pgtest.EnvDSN) != "" || os.Getenv("CI") == "true" {
		m["postgres"] = func(t *testing.T, dir string) string { return pgtest.Schema(t) }
	}
	return m
}

// child is a running child process and its output lines.
type child struct {
	cmd   *exec.Cmd
	lines chan string
}

func startChild(t *testing.T, dir, dsn, step, conn string, extra ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), crashChildEnv+"="+step, "IDSYNC_CRASH_DIR="+dir, "IDSYNC_CRASH_CONNECTOR="+conn, crashStoreEnv+"="+dsn)
	cmd.Env = append(cmd.Env, extra...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 1000)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		io.Copy(io.Discard, out)
		close(c.lines)
	}()
	t.Cleanup(func() {
		if c.cmd.ProcessState == nil {
			c.cmd.Process.Kill()
			c.cmd.Wait()
		}
	})
	return c
}

// waitLine returns the first line starting with prefix (and holding each
// of contains), failing the test after a minute or when the child exits
// first.
func (c *child) waitLine(t *testing.T, prefix string, contains ...string) string {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		select {
		case line, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", prefix)
			}
			if strings.HasPrefix(line, prefix) && containsAll(line, contains) {
				return line
			}
		case <-timeout:
			t.Fatalf("no %q line from the child within a minute", prefix)
		}
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

// stepTimes parses "done STATUS RUN-START STEP-START END".
func stepTimes(t *testing.T, line string) (status string, runStart, stepStart, end time.Time) {
	t.Helper()
	f := strings.Fields(line)
	if len(f) != 5 {
		t.Fatalf("bad done line %q", line)
	}
	ts := make([]time.Time, 3)
	for i := range ts {
		n, err := strconv.ParseInt(f[i+2], 10, 64)
		if err != nil {
			t.Fatalf("bad done line %q", line)
		}
		ts[i] = time.Unix(0, n)
	}
	return f[1], ts[0], ts[1], ts[2]
}

func writeMultiFiles(t *testing.T, dir string, n int) {
	t.Helper()
	os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(multiConfig), 0o644)
	writeHR(t, dir, n)
	var b strings.Builder
	b.WriteString("badgeId,employeeId\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "B%05d,E%05d\n", i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "badge.csv"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestSpec13_TwoProcessesImportTwoConnectorsAtOnceWhileAThirdProcessSyncWaitsForTheLock(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	for name, dsnOf := range storeDSNs(t) {
		t.Run(name, func(t *testing.T) {
			const n = 1500
			dir := t.TempDir()
			writeMultiFiles(t, dir, n)
			dsn := dsnOf(t, dir)
			ctx := context.Background()
			// Create the schema once, before the processes race to.
			_, st, err := openEngineOn(ctx, dir, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()

			// hr's import stops after its second page until the gate
			// opens, which happens only once the sync below says it waits.
			gate := filepath.Join(dir, "gate")
			a := startChild(t, dir, dsn, string(idsync.StepFullImport), "hr", crashGateEnv+"="+gate)
			b := startChild(t, dir, dsn, string(idsync.StepFullImport), "badge")
			a.waitLine(t, "page 2")
			b.waitLine(t, "page 2")
			// hr's import holds hr's lock: this sync of hr must wait for it.
			c := startChild(t, dir, dsn, string(idsync.StepFullSync), "hr", "IDSYNC_CRASH_WAIT=1")
			c.waitLine(t, "time=", "waiting for a lock")
			if err := os.WriteFile(gate, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			aStatus, _, aStart, aEnd := stepTimes(t, a.waitLine(t, "done"))
			bStatus, _, bStart, bEnd := stepTimes(t, b.waitLine(t, "done"))
			cStatus, cRunStart, cStepStart, _ := stepTimes(t, c.waitLine(t, "done"))
			for _, ch := range []*child{a, b, c} {
				if err := ch.cmd.Wait(); err != nil {
					t.Fatalf("child: %v", err)
				}
			}
			for who, s := range map[string]string{"import of hr": aStatus, "import of badge": bStatus, "sync of hr": cStatus} {
				if s != string(idsync.StatusSuccess) {
					t.Errorf("%s ended %s, want success", who, s)
				}
			}
			if !(aStart.Before(bEnd) && bStart.Before(aEnd)) {
				t.Errorf("the imports did not overlap: hr %s..%s, badge %s..%s", aStart.Format(time.StampMicro), aEnd.Format(time.StampMicro), bStart.Format(time.StampMicro), bEnd.Format(time.StampMicro))
			}
			if !cRunStart.Before(aEnd) {
				t.Fatalf("the sync started at %s, after hr's import ended at %s: it did not have to wait", cRunStart.Format(time.StampMicro), aEnd.Format(time.StampMicro))
			}
			if cStepStart.Before(aEnd) {
				t.Errorf("the sync of hr started its step at %s, before hr's import released the lock at %s", cStepStart.Format(time.StampMicro), aEnd.Format(time.StampMicro))
			}
			tx, err := st.Begin(ctx, false)
			if err != nil {
				t.Fatal(err)
			}
			defer tx.Rollback()
			for conn, want := range map[string]int{"hr": n, "badge": n} {
				got, err := tx.CountCS(ctx, store.CSFilter{Connector: conn})
				if err != nil || got != want {
					t.Errorf("connector space %s holds %d objects (%v), want %d", conn, got, err, want)
				}
			}
			if got, err := tx.CountMV(ctx, store.MVFilter{}); err != nil || got != n {
				t.Errorf("metaverse holds %d objects (%v), want %d projected by the sync", got, err, n)
			}
		})
	}
}

// TestSpec13_KilledWorkerIsNoticedAndItsRunResumedByAnotherWorker: a
// worker killed with SIGKILL in the middle of a full import; another
// worker notices (its claim's heartbeat times out) and resumes the run
// from the last committed page: the CSV connector starts after the rows
// committed, which are neither read into the connector space again nor
// lost, and deletion detection keeps them. When the file changed in
// between, the resumed import starts from the beginning, with a warning.
func TestSpec13_KilledWorkerIsNoticedAndItsRunResumedByAnotherWorker(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	cases := map[string]bool{}
	for name := range storeDSNs(t) {
		cases[name] = false
	}
	cases["sqlite, file changed"] = true
	dsns := storeDSNs(t)
	for name, changed := range cases {
		dsnOf := dsns[strings.TrimSuffix(name, ", file changed")]
		t.Run(name, func(t *testing.T) {
			const n = 2000
			dir := t.TempDir()
			writeMultiFiles(t, dir, n)
			dsn := dsnOf(t, dir)
			ctx := context.Background()
			e, st, err := openEngineOn(ctx, dir, dsn, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			entry, err := e.Enqueue(ctx, "hr", "full-import")
			if err != nil {
				t.Fatal(err)
			}

			w1 := startChild(t, dir, dsn, "worker", "")
			for range 5 {
				w1.waitLine(t, "page ")
			}
			if err := w1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			w1.cmd.Wait()
			if ws, ok := w1.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
				t.Fatalf("worker 1 was not killed: %v", w1.cmd.ProcessState)
			}
			tx, _ := st.Begin(ctx, false)
			partial, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
			tx.Rollback()
			if partial < 5*50 || partial >= n {
				t.Fatalf("after the kill the connector space holds %d objects, want the committed pages (>= 250, < %d)", partial, n)
			}

			if changed {
				later := time.Now().Add(time.Minute)
				if err := os.Chtimes(filepath.Join(dir, "hr.csv"), later, later); err != nil {
					t.Fatal(err)
				}
			}
			// Another worker notices the dead one (its claim's heartbeat
			// times out) and resumes the run.
			w2 := startChild(t, dir, dsn, "worker", "")
			done := strings.Fields(w2.waitLine(t, "done"))
			if err := w2.cmd.Wait(); err != nil {
				t.Fatalf("worker 2: %v", err)
			}
			wantStatus := idsync.StatusSuccess
			if changed {
				wantStatus = idsync.StatusCompletedWithWarnings
			}
			if done[1] != string(wantStatus) || done[3] != "2" {
				t.Fatalf("worker 2 ended %v, want %s on attempt 2", done, wantStatus)
			}
			q, err := st.(store.RunQueue).GetQueued(ctx, entry.ID)
			if err != nil {
				t.Fatal(err)
			}
			if q.State != store.QueueDone || q.Attempts != 2 || q.RunID != done[2] {
				t.Errorf("queue entry = %+v, want done after 2 attempts, run %s", q, done[2])
			}
			tx, _ = st.Begin(ctx, false)
			defer tx.Rollback()
			res, err := tx.GetRun(ctx, done[2], 0)
			if err != nil {
				t.Fatal(err)
			}
			// Resumed after the committed rows: only the rest is read. From
			// the start: the committed rows are found unchanged.
			wantNoChange, wantAfter := 0, partial
			if changed {
				wantNoChange, wantAfter = partial, 0
			}
			if res.Counters.ImportAdds != n-partial || res.Counters.ImportNoChange != wantNoChange || res.Counters.ImportDeletes != 0 || res.Counters.Objects != n-partial+wantNoChange {
				t.Errorf("resumed run counters = objects %d, adds %d, no-change %d, deletes %d; want %d, %d, %d, 0 (the dead worker's pages kept, nothing twice)",
					res.Counters.Objects, res.Counters.ImportAdds, res.Counters.ImportNoChange, res.Counters.ImportDeletes, n-partial+wantNoChange, n-partial, wantNoChange)
			}
			if s := res.Steps[0]; s.ResumedAfter != wantAfter || (wantAfter > 0) != (s.ResumedFrom != "") || s.Resume != nil {
				t.Errorf("resumed step = resumed from %q after %d objects (resume position %v), want after %d", s.ResumedFrom, s.ResumedAfter, s.Resume, wantAfter)
			}
			if changed && (len(res.Steps[0].Warnings) != 1 || !strings.Contains(res.Steps[0].Warnings[0], "could not resume")) {
				t.Errorf("warnings = %q, want one saying the import could not resume", res.Steps[0].Warnings)
			}
			total, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
			pend, _ := tx.CountCS(ctx, store.CSFilter{Connector: "hr", PendingImport: true})
			if total != n || pend != n {
				t.Errorf("connector space holds %d objects, %d pending import; want %d and %d", total, pend, n, n)
			}
			runs, _ := tx.ListRuns(ctx, store.RunFilter{Connector: "hr"})
			var statuses []string
			for _, r := range runs {
				statuses = append(statuses, string(r.Status))
			}
			if len(runs) != 2 || runs[0].Status != wantStatus || runs[1].Status != idsync.StatusInterrupted {
				t.Errorf("run history of hr = %v, want [%s stopped-interrupted]", statuses, wantStatus)
			}
		})
	}
}
