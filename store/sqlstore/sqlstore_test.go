package sqlstore_test

import (
	"context"
	"database/sql"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	_ "modernc.org/sqlite"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
	"github.com/idsync/idsync/store/storetest"
)

// MustOpen opens a store on path and closes it at the end of the test.
func MustOpen(tb testing.TB, path string, opts sqlstore.Options) *sqlstore.DB {
	tb.Helper()
	db, err := sqlstore.Open(context.Background(), path, opts)
	if err != nil {
		tb.Fatalf("Open(%s): %v", path, err)
	}
	tb.Cleanup(func() {
		if err := db.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return db
}

func TestConformance(t *testing.T) {
	clock := storetest.NewClock(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC))
	const timeout = time.Minute
	storetest.Run(t, func(t *testing.T) store.Store {
		return MustOpen(t, "sqlite:"+filepath.Join(t.TempDir(), "idsync.db"), sqlstore.Options{Now: clock.Now, LockTimeout: timeout})
	}, storetest.WithClock(clock, timeout))
}

func TestConformanceInMemory(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		return MustOpen(t, "sqlite::memory:", sqlstore.Options{})
	})
}

func TestDSNForms(t *testing.T) {
	dir := t.TempDir()
	for _, dsn := range []string{
		"sqlite:" + filepath.Join(dir, "a.db"),
		"sqlite://" + filepath.Join(dir, "b.db"),
		filepath.Join(dir, "c.db"),
		"sqlite:" + filepath.Join(dir, "d.db") + "?_pragma=cache_size(-1000)",
		"sqlite::memory:",
		":memory:",
	} {
		db, err := sqlstore.Open(t.Context(), dsn, sqlstore.Options{})
		if err != nil {
			t.Errorf("Open(%q): %v", dsn, err)
			continue
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close(%q): %v", dsn, err)
		}
	}
	if _, err := sqlstore.Open(t.Context(), "sqlite:", sqlstore.Options{}); err == nil {
		t.Errorf("Open(%q) succeeded, want an error", "sqlite:")
	}
}

func schemaRows(t *testing.T, path string) (versions []int) {
	t.Helper()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	rows, err := raw.Query(`SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var v int
		if err := rows.Scan(&v); err != nil {
			t.Fatal(err)
		}
		versions = append(versions, v)
	}
	return versions
}

func TestMigrationsAppliedOnceAndRecorded(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsync.db")
	for range 3 {
		db, err := sqlstore.Open(t.Context(), path, sqlstore.Options{})
		if err != nil {
			t.Fatalf("Open: %v", err)
		}
		db.Close()
	}
	got := schemaRows(t, path)
	if len(got) != sqlstore.SchemaVersion() || got[len(got)-1] != sqlstore.SchemaVersion() {
		t.Errorf("schema_migrations versions = %v, want 1..%d once each", got, sqlstore.SchemaVersion())
	}
}

func TestNewerSchemaIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsync.db")
	db, err := sqlstore.Open(t.Context(), path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	raw, err := sql.Open("sqlite", path)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, '0999_future', 0)`); err != nil {
		t.Fatal(err)
	}
	raw.Close()
	_, err = sqlstore.Open(t.Context(), path, sqlstore.Options{})
	if err == nil || !strings.Contains(err.Error(), "newer") || !strings.Contains(err.Error(), "999") {
		t.Errorf("Open(database of schema 999) error = %v, want one saying the schema is newer", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsync.db")
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetIndexes(ctx, store.Indexes{MV: []string{"mail"}}); err != nil {
		t.Fatal(err)
	}
	tx, _ := db.Begin(ctx, true)
	tx.PutMV(ctx, []*idsync.MVObject{{ID: "mv-1", ObjectType: "person", Attrs: idsync.Attrs{"mail": {idsync.String("a@x")}}}})
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = MustOpen(t, path, sqlstore.Options{})
	tx, err = db.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	m, err := tx.FindMV(ctx, "", "mail", []string{"A@X"}, false)
	if err != nil || len(m["a@x"]) != 1 {
		t.Errorf("FindMV after reopening = %v, %v; want mv-1", m, err)
	}
}

func TestUncommittedTransactionLeavesNothing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsync.db")
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	tx, err := db.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if err := tx.PutCS(ctx, []*idsync.CSObject{{ID: "a", Connector: "hr", Anchor: "1", DN: "CN=a"}}); err != nil {
		t.Fatal(err)
	}
	// The process "dies": the connection goes away without a commit.
	// (A real SIGKILL test belongs to the engine.)
	db.Close()

	db = MustOpen(t, path, sqlstore.Options{})
	rtx, err := db.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer rtx.Rollback()
	if n, err := rtx.CountCS(ctx, store.CSFilter{}); err != nil || n != 0 {
		t.Errorf("CountCS after a crash before commit = %d, %v; want 0", n, err)
	}
}

// TestProcessDiesBeforeCommit runs a child process that commits one page
// and exits in the middle of the next: the committed page survives and
// the other leaves nothing.
func TestProcessDiesBeforeCommit(t *testing.T) {
	if path := os.Getenv("IDSYNC_SQLSTORE_CRASH_DB"); path != "" {
		crashChild(path)
		return
	}
	path := filepath.Join(t.TempDir(), "idsync.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestProcessDiesBeforeCommit$")
	cmd.Env = append(os.Environ(), "IDSYNC_SQLSTORE_CRASH_DB="+path)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 3 {
		t.Fatalf("child: %v, want exit status 3; output:\n%s", err, out)
	}
	db := MustOpen(t, path, sqlstore.Options{})
	ctx := t.Context()
	tx, err := db.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	objs, err := tx.ListCS(ctx, store.CSFilter{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range objs {
		ids = append(ids, o.ID)
	}
	if !slices.Equal(ids, []string{"page-1"}) {
		t.Errorf("objects after the process died = %v, want only the committed page-1", ids)
	}
}

func crashChild(path string) {
	ctx := context.Background()
	db, err := sqlstore.Open(ctx, path, sqlstore.Options{})
	if err != nil {
		os.Exit(1)
	}
	for i, id := range []string{"page-1", "page-2"} {
		tx, err := db.Begin(ctx, true)
		if err != nil {
			os.Exit(1)
		}
		if err := tx.PutCS(ctx, []*idsync.CSObject{{ID: id, Connector: "hr", Anchor: idsync.Anchor(id), DN: "CN=" + id}}); err != nil {
			os.Exit(1)
		}
		if i == 1 {
			os.Exit(3) // dies holding the write transaction
		}
		if err := tx.Commit(); err != nil {
			os.Exit(1)
		}
	}
}

func TestTwoHandlesOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "idsync.db")
	ctx := t.Context()
	a := MustOpen(t, path, sqlstore.Options{})
	b := MustOpen(t, path, sqlstore.Options{})

	t.Run("WriteTransactionsExcludeEachOther", func(t *testing.T) {
		wa, err := a.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		if wb, err := b.Begin(short, true); err == nil {
			wb.Rollback()
			wa.Rollback()
			t.Fatalf("Begin(write) on handle b while a writes succeeded, want it to wait")
		}
		// b's reader does not wait for a's writer.
		rb, err := b.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rb.CountCS(ctx, store.CSFilter{}); err != nil {
			t.Errorf("reader on b while a writes: %v", err)
		}
		rb.Rollback()

		done := make(chan error, 1)
		go func() {
			wb, err := b.Begin(ctx, true)
			if err == nil {
				err = wb.PutCS(ctx, []*idsync.CSObject{{ID: "b", Connector: "hr", Anchor: "2", DN: "CN=b"}})
				if err == nil {
					err = wb.Commit()
				}
			}
			done <- err
		}()
		if err := wa.PutCS(ctx, []*idsync.CSObject{{ID: "a", Connector: "hr", Anchor: "1", DN: "CN=a"}}); err != nil {
			t.Fatal(err)
		}
		if err := wa.Commit(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatalf("b's writer after a committed: %v", err)
		}
		r, _ := a.Begin(ctx, false)
		defer r.Rollback()
		if n, _ := r.CountCS(ctx, store.CSFilter{}); n != 2 {
			t.Errorf("CountCS seen by a = %d, want 2", n)
		}
	})

	t.Run("TryLockIsExclusiveAcrossHandles", func(t *testing.T) {
		l, err := a.TryLock(ctx, "sync", store.LockOwner{ID: "run-a", Host: "h", PID: 1, What: "sync by a"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = b.TryLock(ctx, "sync", store.LockOwner{ID: "run-b", Host: "h", PID: 2, What: "sync by b"})
		if !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "sync by a") {
			t.Errorf("TryLock on b while a holds the lock error = %v, want ErrLocked naming %q", err, "sync by a")
		}
		if err := l.Release(ctx); err != nil {
			t.Fatal(err)
		}
		lb, err := b.TryLock(ctx, "sync", store.LockOwner{ID: "run-b", Host: "h", PID: 2, What: "sync by b"})
		if err != nil {
			t.Fatalf("TryLock on b after a released: %v", err)
		}
		lb.Release(ctx)
	})
}

// Read transactions share the statements prepared on the reader
// connections: as many transactions as there are readers, each holding
// its connection while it runs queries no transaction ran before, do not
// wait for one another; and a statement a later transaction reuses sees
// what was committed in between.
func TestReadStatementsShared(t *testing.T) {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	db := MustOpen(t, filepath.Join(t.TempDir(), "idsync.db"), sqlstore.Options{})
	put := func(id string) {
		t.Helper()
		w, err := db.Begin(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Rollback()
		if err := w.PutCS(ctx, []*idsync.CSObject{{ID: id, Connector: "hr", ObjectType: "person", Kind: idsync.KindStaging, Anchor: idsync.Anchor(id), DN: "CN=" + id}}); err != nil {
			t.Fatal(err)
		}
		if err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	count := func(tx store.Tx, f store.CSFilter) int {
		t.Helper()
		objs, err := tx.ListCS(ctx, f)
		if err != nil {
			t.Fatal(err)
		}
		return len(objs)
	}
	put("a")
	staging, joined := idsync.KindStaging, false
	filters := []store.CSFilter{{Connector: "hr"}, {ObjectType: "person"}, {Connector: "hr", Kind: &staging},
		{Connector: "hr", Joined: &joined}, {Connector: "hr", ObjectType: "person", Limit: 10}}
	var txs []store.Tx
	for range 4 {
		r, err := db.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Rollback()
		txs = append(txs, r)
	}
	for _, f := range filters {
		for _, r := range txs {
			if n := count(r, f); n != 1 {
				t.Fatalf("ListCS(%+v) = %d objects, want 1", f, n)
			}
		}
	}
	for _, r := range txs {
		r.Rollback()
	}
	for i := range 20 {
		id := string(rune('b' + i))
		put(id)
		r, err := db.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range filters {
			want := i + 2
			if f.Limit > 0 {
				want = min(want, f.Limit)
			}
			if n := count(r, f); n != want {
				t.Fatalf("after the put of %s: ListCS(%+v) = %d objects, want %d", id, f, n, want)
			}
		}
		r.Rollback()
		time.Sleep(5 * time.Millisecond) // let the background preparations finish
	}
}
