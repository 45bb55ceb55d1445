package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"time"

	_ "modernc.org/sqlite" // the "sqlite" database/sql driver

	"github.com/idsync/idsync/store"
)

// Options tune a DB. The zero Options are valid.
type Options struct {
	// Now is the clock, for lock heartbeats; time.Now when nil.
	Now func() time.Time
	// LockTimeout is how old a lock's heartbeat may grow before another
	// owner may take the lock over; DefaultLockTimeout when zero.
	LockTimeout time.Duration
	// Logger receives migrations, index rebuilds and lock takeovers;
	// discarded when nil.
	Logger *slog.Logger
}

// DefaultLockTimeout is the lock timeout when Options.LockTimeout is zero.
// Holders should heartbeat at a third of it or more often.
const DefaultLockTimeout = 2 * time.Minute

// MaxKeys is the most keys one statement of a batch lookup binds; longer
// key lists are queried in chunks.
const MaxKeys = 500

// DB is an open store on one database. It implements store.Store and is
// safe for concurrent use.
type DB struct {
	d    *dialect
	w    *sql.DB // the writer: one connection
	r    *sql.DB // the readers
	ckpt *sql.DB // the background checkpointer's connection
	// committed wakes the checkpointer; stop and stopped end it.
	committed chan struct{}
	stop      chan struct{}
	stopped   chan struct{}
	wsem      chan struct{}
	// wbuf is the blob scratch space of the write transactions, handed
	// from one to the next: only the holder of wsem touches it.
	wbuf []byte
	// wstmts are statements prepared on the writer's connection once for
	// all write transactions, by query; wwant are queries that write
	// transactions prepared for themselves, for the next write
	// transaction to prepare for good before it begins (the writer's
	// one connection is free only then). Only the holder of wsem
	// touches them; closing w closes them.
	wstmts map[string]*sql.Stmt
	wwant  []string
	now    func() time.Time
	lockTO time.Duration
	log    *slog.Logger
	host   string
	target sqliteTarget

	ixMu    sync.Mutex
	ixCache *indexSet // the last parsed index declaration

	// rstmts caches the statements of read transactions on the readers'
	// pool (readStmt); rstmtsDone is set by Close; rprep counts the
	// preparations in flight.
	rstmtMu    sync.Mutex
	rstmts     map[string]*sql.Stmt // nil value: being prepared, or failed
	rstmtsDone bool
	rprep      sync.WaitGroup

	txMu sync.Mutex
	open map[*tx]struct{} // transactions not yet ended, for Close

	closeOnce sync.Once
	closeErr  error
}

var _ store.Store = (*DB)(nil)

// Open opens (creating when missing) the database dsn names and applies
// pending migrations. It accepts "sqlite:/path/to/file.db",
// "sqlite:relative/path.db", a plain path, and "sqlite::memory:" (or
// ":memory:"), which opens a private database in a temporary directory
// that Close removes: it behaves exactly like a file, with concurrent
// readers and writers, but does not outlive the DB.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	t, err := parseSQLiteDSN(dsn)
	if err != nil {
		return nil, err
	}
	if err := t.prepare(); err != nil {
		return nil, err
	}
	db := &DB{
		d:      sqliteDialect,
		wsem:   make(chan struct{}, 1),
		now:    opts.Now,
		lockTO: opts.LockTimeout,
		log:    opts.Logger,
		target: t,
		open:   map[*tx]struct{}{},

		committed: make(chan struct{}, 1),
		stop:      make(chan struct{}),
		stopped:   make(chan struct{}),
	}
	if db.now == nil {
		db.now = time.Now
	}
	if db.lockTO <= 0 {
		db.lockTO = DefaultLockTimeout
	}
	if db.log == nil {
		db.log = slog.New(slog.DiscardHandler)
	}
	db.host, _ = os.Hostname()

	fail := func(err error) (*DB, error) {
		db.Close()
		return nil, err
	}
	if db.w, err = sql.Open(db.d.driver, t.driverDSN(poolWriter)); err != nil {
		return fail(fmt.Errorf("sqlstore: open %s: %w", t.path, err))
	}
	db.w.SetMaxOpenConns(1)
	db.w.SetMaxIdleConns(1)
	db.w.SetConnMaxLifetime(0)
	db.w.SetConnMaxIdleTime(0)
	// The writer sets WAL mode, which readers rely on.
	for _, q := range sqliteSetup {
		if _, err := db.w.ExecContext(ctx, q); err != nil {
			return fail(fmt.Errorf("sqlstore: open %s: %s: %w", t.path, q, err))
		}
	}
	if err := db.migrate(ctx); err != nil {
		return fail(err)
	}
	if db.r, err = sql.Open(db.d.driver, t.driverDSN(poolReaders)); err != nil {
		return fail(fmt.Errorf("sqlstore: open %s for reading: %w", t.path, err))
	}
	db.r.SetMaxOpenConns(sqliteReaders)
	db.r.SetMaxIdleConns(sqliteReaders)
	db.r.SetConnMaxLifetime(0)
	db.r.SetConnMaxIdleTime(0)
	if err := db.r.PingContext(ctx); err != nil {
		return fail(fmt.Errorf("sqlstore: open %s for reading: %w", t.path, err))
	}
	if db.ckpt, err = sql.Open(db.d.driver, t.driverDSN(poolCheckpointer)); err != nil {
		return fail(fmt.Errorf("sqlstore: open %s for checkpoints: %w", t.path, err))
	}
	db.ckpt.SetMaxOpenConns(1)
	db.ckpt.SetConnMaxLifetime(0)
	db.ckpt.SetConnMaxIdleTime(0)
	go db.checkpointer()
	return db, nil
}

// checkpointer copies committed WAL frames into the database file in the
// background (PASSIVE: it never blocks readers or the writer), so that
// commits do not pay for it. It runs until Close.
func (db *DB) checkpointer() {
	defer close(db.stopped)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() {
		select {
		case <-db.stop:
			cancel()
		case <-ctx.Done():
		}
	}()
	for {
		select {
		case <-db.stop:
			return
		case <-db.committed:
		}
		if _, err := db.ckpt.ExecContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil && ctx.Err() == nil {
			db.log.Warn("sqlstore: checkpoint", "path", db.target.path, "err", err)
		}
		// Checkpoint at most every sqliteCheckpointEvery: batches of
		// commits share one.
		timer := time.NewTimer(sqliteCheckpointEvery)
		select {
		case <-db.stop:
			timer.Stop()
			return
		case <-timer.C:
		}
	}
}

// Path returns the database file's path.
func (db *DB) Path() string { return db.target.path }

// Close closes the database. It rolls back transactions still open, as
// a crash would: their writes are lost.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.txMu.Lock()
		for t := range db.open {
			t.sqltx.Rollback() // the owner's later Rollback returns nil
		}
		db.txMu.Unlock()
		if db.ckpt != nil {
			close(db.stop)
			<-db.stopped
		}
		db.closeReadStmts()
		var errs []error
		if db.ckpt != nil {
			errs = append(errs, db.ckpt.Close())
		}
		if db.r != nil {
			errs = append(errs, db.r.Close())
		}
		db.rprep.Wait() // a preparation waiting for a reader failed with the pool's close
		if db.w != nil {
			errs = append(errs, db.w.Close())
		}
		if db.target.temp != "" {
			errs = append(errs, os.RemoveAll(db.target.temp))
		}
		if err := errors.Join(errs...); err != nil {
			db.closeErr = fmt.Errorf("sqlstore: close: %w", err)
		}
	})
	return db.closeErr
}

// Begin starts a transaction. A write transaction first waits for the
// other write transactions of this DB, then for SQLite's write lock
// (other processes, other DBs on the file), as long as ctx allows. The
// transaction is bound to ctx: when ctx is done, it is rolled back.
func (db *DB) Begin(ctx context.Context, write bool) (store.Tx, error) {
	t, err := db.begin(ctx, write)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (db *DB) begin(ctx context.Context, write bool) (*tx, error) {
	if !write {
		stx, err := db.r.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
		if err != nil {
			return nil, fmt.Errorf("sqlstore: begin read transaction: %w", err)
		}
		return db.track(&tx{db: db, sqltx: stx}), nil
	}
	select {
	case db.wsem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("sqlstore: begin write transaction: waiting for another writer: %w", ctx.Err())
	}
	db.prepareWanted(ctx)
	for {
		stx, err := db.w.BeginTx(ctx, nil)
		if err == nil {
			t := &tx{db: db, sqltx: stx, write: true, buf: db.wbuf}
			db.wbuf = nil
			return db.track(t), nil
		}
		if db.d.isBusy(err) && ctx.Err() == nil {
			// Another process holds the write lock past busy_timeout: keep waiting.
			continue
		}
		<-db.wsem
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("sqlstore: begin write transaction: %w", err)
	}
}

// maxWriterStmts bounds the statements kept prepared on the writer's
// connection: the queries of the store are a few shapes each, so that
// the bound is only reached by unusual batches (their statements are
// then prepared per transaction).
const maxWriterStmts = 256

// prepareWanted prepares for good the statements that earlier write
// transactions prepared for themselves. Call it holding wsem, outside a
// transaction. A statement that fails to prepare is left to the
// transactions, which report the error.
func (db *DB) prepareWanted(ctx context.Context) {
	for _, q := range db.wwant {
		if _, ok := db.wstmts[q]; ok || len(db.wstmts) >= maxWriterStmts {
			continue
		}
		s, err := db.w.PrepareContext(ctx, db.d.bind(q))
		if err != nil {
			continue
		}
		if db.wstmts == nil {
			db.wstmts = make(map[string]*sql.Stmt)
		}
		db.wstmts[q] = s
	}
	db.wwant = db.wwant[:0]
}

func (db *DB) track(t *tx) *tx {
	db.txMu.Lock()
	db.open[t] = struct{}{}
	db.txMu.Unlock()
	return t
}

// withTx runs fn in a transaction and commits it when fn succeeds.
func (db *DB) withTx(ctx context.Context, write bool, fn func(*tx) error) error {
	t, err := db.begin(ctx, write)
	if err != nil {
		return err
	}
	if err := fn(t); err != nil {
		t.Rollback()
		return err
	}
	return t.Commit()
}

// maxReadStmts bounds the statements readStmt caches: the store's
// queries are a fixed set (IN lists are padded to chunkSizes), so the
// bound is never reached in practice.
const maxReadStmts = 512

// readStmt returns the statement of query prepared on the readers' pool,
// or nil when it is not ready: its first request prepares it in the
// background, because preparing on the pool waits for an idle reader
// connection, which a caller holding one in a transaction must not do
// (every reader could be waiting for another). A read transaction binds
// the statement with Tx.StmtContext, which prepares it once on each
// reader connection and reuses it after, so that read transactions do
// not parse their queries again.
func (db *DB) readStmt(query string) *sql.Stmt {
	db.rstmtMu.Lock()
	defer db.rstmtMu.Unlock()
	s, known := db.rstmts[query]
	if known || db.rstmtsDone || len(db.rstmts) >= maxReadStmts {
		return s
	}
	if db.rstmts == nil {
		db.rstmts = map[string]*sql.Stmt{}
	}
	db.rstmts[query] = nil
	db.rprep.Add(1)
	go func() {
		defer db.rprep.Done()
		s, err := db.r.PrepareContext(context.Background(), db.d.bind(query))
		if err != nil {
			// Left nil: transactions prepare the query themselves and
			// report its error.
			return
		}
		db.rstmtMu.Lock()
		defer db.rstmtMu.Unlock()
		if db.rstmtsDone {
			s.Close()
			return
		}
		db.rstmts[query] = s
	}()
	return nil
}

// closeReadStmts closes the cached read statements and stops caching.
func (db *DB) closeReadStmts() {
	db.rstmtMu.Lock()
	defer db.rstmtMu.Unlock()
	db.rstmtsDone = true
	for _, s := range db.rstmts {
		if s != nil {
			s.Close()
		}
	}
	db.rstmts = nil
}
