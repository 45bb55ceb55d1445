// Package storeopen opens the store a DSN names, so that commands pick
// the implementation without the engine importing any driver:
//
//	sqlite:/var/lib/idsync/idsync.db   the embedded default (store/sqlstore)
//	sqlite::memory:                    a private temporary SQLite database
//	postgres://user@host:5432/db       PostgreSQL (store/pgstore); also
//	postgresql://…                     "?search_path=schema" picks a schema
//
// A DSN without a scheme is a SQLite file path.
package storeopen

import (
	"context"
	"log/slog"
	"time"

	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/pgstore"
	"github.com/idsync/idsync/store/sqlstore"
)

// Options apply to every implementation; the zero Options are valid.
type Options struct {
	Now         func() time.Time
	LockTimeout time.Duration
	Logger      *slog.Logger
	// MaxConns bounds PostgreSQL's connection pool (pgstore.DefaultMaxConns when zero).
	MaxConns int
	// Schema, for PostgreSQL, is the schema to use (created when missing).
	Schema string
}

// Kind returns "postgres" or "sqlite", the implementation dsn selects.
func Kind(dsn string) string {
	if pgstore.IsDSN(dsn) {
		return "postgres"
	}
	return "sqlite"
}

// Redact returns dsn without a password, for messages.
func Redact(dsn string) string {
	if pgstore.IsDSN(dsn) {
		return pgstore.Redact(dsn)
	}
	return dsn
}

// Open opens the store dsn names and applies pending migrations.
func Open(ctx context.Context, dsn string, opts Options) (store.Store, error) {
	if pgstore.IsDSN(dsn) {
		return pgstore.Open(ctx, dsn, pgstore.Options{
			Now: opts.Now, LockTimeout: opts.LockTimeout, Logger: opts.Logger,
			MaxConns: opts.MaxConns, Schema: opts.Schema,
		})
	}
	return sqlstore.Open(ctx, dsn, sqlstore.Options{Now: opts.Now, LockTimeout: opts.LockTimeout, Logger: opts.Logger})
}
