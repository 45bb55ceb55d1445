package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// §13: `idsync run` refuses a connector whose lock another process holds;
// with --wait it waits for the lock and runs once it is released.
func TestSpec13_RunWaitsForAHeldLock(t *testing.T) {
	dir := copyQuickstart(t)
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	lock, err := st.TryLock(ctx, "connector:hr", store.LockOwner{ID: "test-holder", Host: "test", PID: os.Getpid(), What: "a test holding hr"})
	if err != nil {
		t.Fatal(err)
	}

	if r := runCLI(t, dir, "--config", dir, "run", "hr", "full-import"); r.code == 0 || !strings.Contains(r.stdout+r.stderr, "a test holding hr") {
		t.Fatalf("run without --wait while the lock is held: want a refusal naming the holder:\n%s", r)
	}

	cmd := exec.Command(binary, "--config", dir, "run", "hr", "full-import", "--wait")
	cmd.Env = append(os.Environ(), "IDSYNC_CONFIG=")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		t.Fatalf("run --wait finished (%v) while the lock was still held:\n%s", err, out.String())
	case <-time.After(1500 * time.Millisecond):
	}
	if err := lock.Release(ctx); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("run --wait did not finish after the lock was released:\n%s", out.String())
	}
	if !strings.Contains(out.String(), "importAdds") {
		t.Errorf("run --wait output:\n%s", out.String())
	}
}
