package pgstore

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

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
	// MaxConns bounds the connection pool; DefaultMaxConns when zero.
	// Every held lock uses one more connection of its own.
	MaxConns int
	// Schema, when set, is the schema the store lives in: Open creates it
	// when missing and puts it first on every connection's search_path.
	// A "search_path" parameter of the DSN does the same without
	// creating the schema.
	Schema string
}

// DefaultLockTimeout is the lock timeout when Options.LockTimeout is zero.
const DefaultLockTimeout = 2 * time.Minute

// DefaultMaxConns is the pool size when Options.MaxConns is zero.
const DefaultMaxConns = 8

// copyMin is the least number of rows written with COPY; fewer rows go
// in one INSERT ... SELECT FROM unnest(...), which costs one round trip.
const copyMin = 32

//go:embed migrations/*.sql
var migrationFiles embed.FS

// DB is an open store on one PostgreSQL schema. It implements store.Store
// and is safe for concurrent use.
type DB struct {
	pool   *pgxpool.Pool
	cfg    *pgxpool.Config
	wsem   chan struct{}
	now    func() time.Time
	lockTO time.Duration
	log    *slog.Logger
	host   string
	schema string // current_schema() of the pool's connections
	// writeKey is the advisory lock that serializes write transactions
	// of every process on the schema.
	writeKey int64

	ixMu    sync.Mutex
	ixCache *indexSet

	txMu sync.Mutex
	open map[*tx]struct{}

	anMu sync.Mutex
	an   map[string]*analyzeState
	anWG sync.WaitGroup
	// bg is cancelled by Close, ending background work.
	bg     context.Context
	bgStop context.CancelFunc

	closeOnce sync.Once
}

var _ store.Store = (*DB)(nil)

// IsDSN reports whether dsn names a PostgreSQL database
// ("postgres://…" or "postgresql://…").
func IsDSN(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Redact returns dsn without its password, for messages.
func Redact(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// Open connects to the PostgreSQL database dsn names
// ("postgres://user:pass@host:5432/db?sslmode=disable") and applies
// pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("pgstore: DSN %s: %w", Redact(dsn), err)
	}
	cfg.MaxConns = int32(opts.MaxConns)
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = DefaultMaxConns
	}
	cfg.MinConns = 0
	// Like SQLite's synchronous=NORMAL: a commit returns before its WAL
	// reaches the disk. A crash of the process (or of idsync's machine)
	// loses nothing committed; a crash of the database server may lose
	// the last few hundred milliseconds of commits, never consistency:
	// the next import or export redoes that work. A DSN parameter
	// synchronous_commit=on restores the server's full durability.
	if _, set := cfg.ConnConfig.RuntimeParams["synchronous_commit"]; !set {
		cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = pgx.Identifier{opts.Schema}.Sanitize()
	}
	db := &DB{
		cfg: cfg, wsem: make(chan struct{}, 1), now: opts.Now, lockTO: opts.LockTimeout,
		log: opts.Logger, open: map[*tx]struct{}{}, an: map[string]*analyzeState{},
	}
	for _, table := range analyzed {
		db.an[table] = &analyzeState{}
	}
	db.bg, db.bgStop = context.WithCancel(context.WithoutCancel(ctx))
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
	if opts.Schema != "" {
		conn, err := pgx.ConnectConfig(ctx, cfg.ConnConfig.Copy())
		if err != nil {
			return nil, fmt.Errorf("pgstore: connect to %s: %w", Redact(dsn), err)
		}
		_, err = conn.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{opts.Schema}.Sanitize())
		conn.Close(context.WithoutCancel(ctx))
		if err != nil && !isCode(err, "23505", "42P06") { // a concurrent CREATE SCHEMA
			return nil, fmt.Errorf("pgstore: create schema %s: %w", opts.Schema, err)
		}
	}
	db.pool, err = pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgstore: connect to %s: %w", Redact(dsn), err)
	}
	var schema *string
	if err := db.pool.QueryRow(ctx, "SELECT current_schema()").Scan(&schema); err != nil {
		db.pool.Close()
		return nil, fmt.Errorf("pgstore: connect to %s: %w", Redact(dsn), err)
	}
	if schema == nil {
		db.pool.Close()
		return nil, fmt.Errorf("pgstore: %s: no schema on the search_path exists", Redact(dsn))
	}
	db.schema = *schema
	db.writeKey = db.lockKey("\x00write")
	if err := db.migrate(ctx); err != nil {
		db.pool.Close()
		return nil, err
	}
	if err := db.analyzeStale(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("pgstore: read table statistics: %w", err)
	}
	return db, nil
}

// lockKey returns the advisory lock key of a named lock of this schema:
// schemas of one database do not share locks.
func (db *DB) lockKey(name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(db.schema))
	h.Write([]byte{0})
	h.Write([]byte(name))
	return int64(h.Sum64())
}

// Schema returns the schema the store lives in.
func (db *DB) Schema() string { return db.schema }

// Close closes the pool. It rolls back transactions still open, as a
// crash would. Held locks are freed with their connections.
func (db *DB) Close() error {
	db.closeOnce.Do(func() {
		db.txMu.Lock()
		open := make([]*tx, 0, len(db.open))
		for t := range db.open {
			open = append(open, t)
		}
		db.txMu.Unlock()
		for _, t := range open {
			t.Rollback()
		}
		db.bgStop()
		db.anWG.Wait()
		db.pool.Close()
	})
	return nil
}

// Begin starts a transaction. A read transaction is REPEATABLE READ and
// READ ONLY: it sees the database as of its first query. A write
// transaction first waits for the other write transactions of this DB,
// then takes the schema's write advisory lock (held until it ends), so
// that writers of every process are serialized, as the store contract
// says.
func (db *DB) Begin(ctx context.Context, write bool) (store.Tx, error) {
	t, err := db.begin(ctx, write)
	if err != nil {
		return nil, err
	}
	return t, nil
}

func (db *DB) begin(ctx context.Context, write bool) (*tx, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pgstore: begin transaction: %w", err)
	}
	if !write {
		ptx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
		if err != nil {
			return nil, fmt.Errorf("pgstore: begin read transaction: %w", err)
		}
		return db.track(&tx{db: db, ptx: ptx}), nil
	}
	select {
	case db.wsem <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("pgstore: begin write transaction: waiting for another writer: %w", ctx.Err())
	}
	ptx, err := db.pool.Begin(ctx)
	if err == nil {
		_, err = ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", db.writeKey)
		if err != nil {
			ptx.Rollback(context.WithoutCancel(ctx))
		}
	}
	if err != nil {
		<-db.wsem
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("pgstore: begin write transaction: %w", err)
	}
	return db.track(&tx{db: db, ptx: ptx, write: true}), nil
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

// migrate applies pending migrations in one transaction that holds a
// migration advisory lock, so that processes opening a new schema at
// once apply each migration once.
func (db *DB) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer conn.Release()
	ptx, err := conn.Begin(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	defer ptx.Rollback(context.WithoutCancel(ctx))
	if _, err := ptx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", db.lockKey("\x00migrate")); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	if _, err := ptx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
	version    INTEGER PRIMARY KEY,
	name       TEXT NOT NULL,
	applied_at BIGINT NOT NULL
)`); err != nil {
		return fmt.Errorf("pgstore: create schema_migrations: %w", err)
	}
	var cur int
	if err := ptx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&cur); err != nil {
		return fmt.Errorf("pgstore: read schema version: %w", err)
	}
	if cur > len(ms) {
		return fmt.Errorf("pgstore: schema %s has schema version %d, newer than version %d that this binary knows: use a newer idsync", db.schema, cur, len(ms))
	}
	for _, m := range ms[cur:] {
		if _, err := ptx.Exec(ctx, m.sql); err != nil {
			return fmt.Errorf("pgstore: apply migration %s: %w", m.name, err)
		}
		if _, err := ptx.Exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)`,
			m.version, m.name, db.now().UnixNano()); err != nil {
			return fmt.Errorf("pgstore: record migration %s: %w", m.name, err)
		}
		db.log.Info("pgstore: applied migration", "migration", m.name, "schema", db.schema)
	}
	if err := ptx.Commit(ctx); err != nil {
		return fmt.Errorf("pgstore: migrate: %w", err)
	}
	return nil
}

// migration is one embedded schema change.
type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("pgstore: read migrations: %w", err)
	}
	var ms []migration
	for _, e := range entries { // ReadDir sorts by name: NNNN_ order
		name := e.Name()
		if !strings.HasSuffix(name, ".sql") {
			continue
		}
		var v int
		if _, err := fmt.Sscanf(name, "%04d_", &v); err != nil || v != len(ms)+1 {
			return nil, fmt.Errorf("pgstore: migration %s: want NNNN_name.sql numbered %d", name, len(ms)+1)
		}
		b, err := migrationFiles.ReadFile("migrations/" + name)
		if err != nil {
			return nil, fmt.Errorf("pgstore: read migration %s: %w", name, err)
		}
		ms = append(ms, migration{version: v, name: strings.TrimSuffix(name, ".sql"), sql: string(b)})
	}
	return ms, nil
}

// SchemaVersion returns the schema version this binary migrates to.
func SchemaVersion() int {
	ms, _ := loadMigrations()
	return len(ms)
}

// isCode reports whether err is a PostgreSQL error with one of codes.
func isCode(err error, codes ...string) bool {
	var pe *pgconn.PgError
	if !errors.As(err, &pe) {
		return false
	}
	for _, c := range codes {
		if pe.Code == c {
			return true
		}
	}
	return false
}

// isConflict reports a unique violation.
func isConflict(err error) bool { return isCode(err, "23505") }

// DropSchema drops schema of the database dsn names, with everything in
// it (a benchmark's or a test's private schema).
func DropSchema(ctx context.Context, dsn, schema string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return fmt.Errorf("pgstore: drop schema %s: %w", schema, err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
		return fmt.Errorf("pgstore: drop schema %s: %w", schema, err)
	}
	return nil
}
