package main

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore/pgtest"
)

// The queue, the worker and store migrate, end to end through the
// binary, on PostgreSQL.
func TestSpec13_QueueWorkerAndStoreMigrateOnPostgreSQL(t *testing.T) {
	dsn := pgtest.Schema(t)
	dir := copyQuickstart(t)
	cli := func(args ...string) result {
		return runCLI(t, dir, append([]string{"--config", dir, "--store", dsn}, args...)...)
	}
	r := cli("queue", "add", "hr", "full-import")
	if r.code != 0 || !strings.HasPrefix(r.stdout, "queued hr full-import as ") {
		t.Fatalf("queue add: %v", r)
	}
	if r := cli("queue", "add", "hr", "no-such-profile"); r.code != exitUsage {
		t.Errorf("queue add of an unknown profile: %v, want exit %d", r, exitUsage)
	}
	r = cli("worker", "--once")
	if r.code != 0 && r.code != exitFailed || !strings.Contains(r.stdout, "run hr full-import") {
		t.Fatalf("worker --once: %v", r)
	}
	r = cli("--json", "queue", "list")
	var qs []store.QueuedRun
	if err := json.Unmarshal([]byte(r.stdout), &qs); err != nil || len(qs) != 1 {
		t.Fatalf("queue list --json: %v (%v)", r, err)
	}
	if qs[0].State != store.QueueDone || qs[0].Attempts != 1 || qs[0].RunID == "" {
		t.Errorf("queue entry after the worker = %+v, want done after 1 attempt with its run", qs[0])
	}

	copyDSN := "sqlite:" + filepath.Join(t.TempDir(), "copy.db")
	r = runCLI(t, dir, "store", "migrate", "--from", dsn, "--to", copyDSN)
	if r.code != 0 || !strings.Contains(r.stdout, "verified") {
		t.Fatalf("store migrate: %v", r)
	}
	r = runCLI(t, dir, "store", "migrate", "--from", dsn, "--to", copyDSN)
	if r.code != exitUsage || !strings.Contains(r.stderr, "not empty") {
		t.Errorf("store migrate onto a non-empty target: %v, want exit %d naming it", r, exitUsage)
	}
	r = runCLI(t, dir, "--json", "store", "migrate", "--from", dsn, "--to", copyDSN, "--replace")
	var out struct {
		Verified bool
		Source   struct{ CSObjects, Runs int }
	}
	if err := json.Unmarshal([]byte(r.stdout), &out); r.code != 0 || err != nil || !out.Verified || out.Source.CSObjects == 0 || out.Source.Runs != 1 {
		t.Errorf("store migrate --replace --json: %v (%+v, %v)", r, out, err)
	}
	// The copy is a working store: its run history is the source's.
	r = runCLI(t, dir, "--config", dir, "--store", copyDSN, "runs", "list")
	if r.code != 0 || !strings.Contains(r.stdout, "full-import") {
		t.Errorf("runs list on the copy: %v", r)
	}
}
