package pgstore_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore"
	"github.com/idsync/idsync/store/pgstore/pgtest"
	"github.com/idsync/idsync/store/storetest"
)

// MustOpen opens a store on dsn and closes it at the end of the test.
func MustOpen(tb testing.TB, dsn string, opts pgstore.Options) *pgstore.DB {
	tb.Helper()
	db, err := pgstore.Open(context.Background(), dsn, opts)
	if err != nil {
		tb.Fatalf("Open: %v", err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	pgtest.DSN(t)
	clock := storetest.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	const timeout = time.Minute
	storetest.Run(t, func(t *testing.T) store.Store {
		return MustOpen(t, pgtest.Schema(t), pgstore.Options{Now: clock.Now, LockTimeout: timeout})
	}, storetest.WithClock(clock, timeout))
}

const holdLockEnv = "PGSTORE_TEST_HOLD_LOCK_DSN"

func TestMain(m *testing.M) {
	if dsn := os.Getenv(holdLockEnv); dsn != "" {
		os.Exit(holdLock(dsn))
	}
	os.Exit(m.Run())
}

// holdLock takes the lock "sync" as an owner on another host (so that no
// PID check can tell it died), says so, and waits to be killed.
func holdLock(dsn string) int {
	ctx := context.Background()
	db, err := pgstore.Open(ctx, dsn, pgstore.Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	if _, err := db.TryLock(ctx, "sync", store.LockOwner{ID: "child", Host: "node-b.invalid", PID: 1, What: "sync on node b"}); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 3
	}
	fmt.Println("locked")
	time.Sleep(time.Hour)
	return 0
}

func TestSpec13_LockOfAKilledProcessOnAnotherHostIsFreedAtOnce(t *testing.T) {
	dsn := pgtest.Schema(t)
	db := MustOpen(t, dsn, pgstore.Options{LockTimeout: time.Hour})
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdLockEnv+"="+dsn)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || strings.TrimSpace(line) != "locked" {
		t.Fatalf("child: %q, %v", line, err)
	}
	ctx := t.Context()
	me := store.LockOwner{ID: "parent", Host: "node-a.invalid", PID: 1, What: "sync on node a"}
	if _, err := db.TryLock(ctx, "sync", me); !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "sync on node b") {
		t.Fatalf("TryLock while the child holds the lock = %v, want ErrLocked naming it", err)
	}
	cmd.Process.Signal(syscall.SIGKILL)
	cmd.Wait()
	// The heartbeat is fresh and the timeout an hour: only the end of the
	// child's session can free the lock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		l, err := db.TryLock(ctx, "sync", me)
		if err == nil {
			l.Release(ctx)
			return
		}
		if !errors.Is(err, store.ErrLocked) || time.Now().After(deadline) {
			t.Fatalf("TryLock after the holder was killed: %v", err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func TestMigrationsApplyOnceWhenProcessesOpenTogetherAndANewerSchemaIsRefused(t *testing.T) {
	dsn := pgtest.Schema(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := pgstore.Open(context.Background(), dsn, pgstore.Options{})
			if err == nil {
				db.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent Open: %v", err)
		}
	}
	conn, err := pgx.Connect(t.Context(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n, max int
	if err := conn.QueryRow(t.Context(), "SELECT COUNT(*), MAX(version) FROM schema_migrations").Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if n != pgstore.SchemaVersion() || max != pgstore.SchemaVersion() {
		t.Fatalf("schema_migrations holds %d rows up to version %d, want each of 1..%d once", n, max, pgstore.SchemaVersion())
	}
	if _, err := conn.Exec(t.Context(), "INSERT INTO schema_migrations VALUES (999, '0999_future', 0)"); err != nil {
		t.Fatal(err)
	}
	if db, err := pgstore.Open(t.Context(), dsn, pgstore.Options{}); err == nil || !strings.Contains(err.Error(), "newer") {
		if db != nil {
			db.Close()
		}
		t.Fatalf("Open of a schema newer than the binary = %v, want an error saying so", err)
	}
}

func TestOpenWithSchemaOptionCreatesIt(t *testing.T) {
	base := pgtest.DSN(t)
	schema := fmt.Sprintf("idsync_t_opt_%d", time.Now().UnixNano())
	t.Cleanup(func() { pgtest.Drop(t, base, schema) })
	db := MustOpen(t, base, pgstore.Options{Schema: schema})
	if db.Schema() != schema {
		t.Fatalf("Schema() = %q, want %q", db.Schema(), schema)
	}
	tx, err := db.Begin(t.Context(), true)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.PutWatermark(t.Context(), "hr", "", []byte("x")); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
}
