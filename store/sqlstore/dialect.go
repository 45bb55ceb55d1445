package sqlstore

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// dialect holds what differs between databases. Everything else in this
// package is portable SQL with "?" placeholders.
type dialect struct {
	name string
	// driver is the database/sql driver name.
	driver string
	// migrations holds NNNN_name.sql files.
	migrations fs.FS
	// rebind rewrites "?" placeholders; nil keeps them.
	rebind func(query string) string
	// isConflict reports a uniqueness violation.
	isConflict func(error) bool
	// isBusy reports that another connection holds a lock.
	isBusy func(error) bool
}

func (d *dialect) bind(query string) string {
	if d.rebind == nil {
		return query
	}
	return d.rebind(query)
}

//go:embed migrations/*.sql
var sqliteMigrations embed.FS

// sqliteDialect is the embedded default.
var sqliteDialect = &dialect{
	name:       "sqlite",
	driver:     "sqlite",
	migrations: mustSub(sqliteMigrations, "migrations"),
	isConflict: func(err error) bool { return sqliteCode(err)&0xff == 19 }, // SQLITE_CONSTRAINT
	isBusy: func(err error) bool {
		c := sqliteCode(err) & 0xff
		return c == 5 || c == 6 // SQLITE_BUSY, SQLITE_LOCKED
	},
}

func mustSub(f fs.FS, dir string) fs.FS {
	s, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // the embed pattern guarantees dir
	}
	return s
}

func sqliteCode(err error) int {
	var e interface{ Code() int }
	if errors.As(err, &e) {
		return e.Code()
	}
	return 0
}

// SQLite tuning, all in one place. Cache sizes are negative KiB, as
// PRAGMA cache_size takes them.
const (
	sqliteBusyTimeoutMS  = 5000
	sqlitePageSize       = 4096
	sqliteWriterCacheKiB = 64 << 10
	sqliteReaderCacheKiB = 32 << 10
	sqliteReaders        = 4
	// The background checkpointer copies the WAL into the database after
	// commits, at most every sqliteCheckpointEvery, off the writer's path;
	// the writer checkpoints itself only past sqliteAutoCheckpoint pages
	// (about 200 MB), as a backstop.
	sqliteAutoCheckpoint  = 50000
	sqliteCheckpointEvery = 200 * time.Millisecond
	sqliteMemoryPrefixDSN = ":memory:"
)

// sqliteTarget is a parsed SQLite DSN.
type sqliteTarget struct {
	path   string // file path
	temp   string // a temporary directory to remove on Close, for :memory:
	extra  string // extra driver query parameters from the DSN
	memory bool
}

// sqliteSetup runs once on the writer connection at open: the page size
// (which only a new, empty database takes) and WAL mode (persistent in the
// file), in this order.
var sqliteSetup = []string{
	"PRAGMA page_size = " + strconv.Itoa(sqlitePageSize),
	"PRAGMA journal_mode = WAL",
}

// parseSQLiteDSN accepts "sqlite:/path/file.db", "sqlite:///path/file.db",
// "sqlite:relative.db", "sqlite::memory:", ":memory:" and a plain path,
// each optionally followed by "?driver-parameters".
func parseSQLiteDSN(dsn string) (sqliteTarget, error) {
	var t sqliteTarget
	s := dsn
	switch {
	case strings.HasPrefix(s, "sqlite://"):
		s = strings.TrimPrefix(s, "sqlite://")
	case strings.HasPrefix(s, "sqlite3:"):
		s = strings.TrimPrefix(s, "sqlite3:")
	case strings.HasPrefix(s, "sqlite:"):
		s = strings.TrimPrefix(s, "sqlite:")
	case strings.HasPrefix(s, "file:"):
		s = strings.TrimPrefix(s, "file:")
	}
	if i := strings.IndexByte(s, '?'); i >= 0 {
		t.extra = s[i+1:]
		s = s[:i]
		if _, err := url.ParseQuery(t.extra); err != nil {
			return t, fmt.Errorf("sqlstore: parameters of %q: %w", dsn, err)
		}
	}
	if s == sqliteMemoryPrefixDSN || s == "" && strings.HasPrefix(dsn, "sqlite::memory:") {
		t.memory = true
		return t, nil
	}
	if s == "" {
		return t, fmt.Errorf("sqlstore: DSN %q names no file", dsn)
	}
	t.path = filepath.Clean(s)
	return t, nil
}

// prepare creates the temporary directory of an in-memory database.
func (t *sqliteTarget) prepare() error {
	if !t.memory {
		return nil
	}
	dir, err := os.MkdirTemp("", "idsync-sqlstore-*")
	if err != nil {
		return fmt.Errorf("sqlstore: temporary directory for in-memory database: %w", err)
	}
	t.temp = dir
	t.path = filepath.Join(dir, "idsync.db")
	return nil
}

// The connection pools of a DB.
const (
	poolWriter = iota
	poolReaders
	poolCheckpointer
)

// driverDSN returns the modernc.org/sqlite DSN of one pool: the writer
// (BEGIN IMMEDIATE, large cache), the readers (read-only) or the
// checkpointer.
func (t *sqliteTarget) driverDSN(pool int) string {
	q := url.Values{}
	pragma := func(s string) { q.Add("_pragma", s) }
	pragma("busy_timeout(" + strconv.Itoa(sqliteBusyTimeoutMS) + ")")
	pragma("synchronous(NORMAL)")
	pragma("temp_store(MEMORY)")
	pragma("foreign_keys(ON)")
	switch pool {
	case poolWriter:
		pragma("cache_size(-" + strconv.Itoa(sqliteWriterCacheKiB) + ")")
		pragma("wal_autocheckpoint(" + strconv.Itoa(sqliteAutoCheckpoint) + ")")
		q.Set("_txlock", "immediate")
	case poolReaders:
		pragma("cache_size(-" + strconv.Itoa(sqliteReaderCacheKiB) + ")")
		pragma("query_only(1)")
	case poolCheckpointer:
		pragma("cache_size(-1024)")
		pragma("wal_autocheckpoint(0)")
	}
	s := t.path + "?" + q.Encode()
	if t.extra != "" {
		s += "&" + t.extra
	}
	return s
}
