// Package sqlstore implements store.Store on SQL databases. The embedded
// default is SQLite through the pure-Go driver modernc.org/sqlite: one
// file in WAL mode, opened with
//
//	db, err := sqlstore.Open(ctx, "sqlite:/var/lib/idsync/idsync.db", sqlstore.Options{})
//
// Database-specific details (driver, DSN, pragmas, placeholders, error
// codes, migrations) sit behind one dialect value. PostgreSQL has its own
// implementation on pgx, store/pgstore (COPY, arrays, advisory locks);
// store/storeopen picks one by DSN.
//
// # Transactions
//
// A DB keeps three connection pools on the file: one writer connection,
// whose transactions start with BEGIN IMMEDIATE, a few read-only reader
// connections, and one connection on which a background goroutine
// checkpoints the WAL after commits (PASSIVE, so that commits do not pay
// for it; Close stops it). Write transactions are serialized inside the
// process by a semaphore and across processes by SQLite's write lock;
// Begin waits for both, until its context is done. Readers never wait for
// the writer (WAL): a read transaction sees the database as of its first
// query, never uncommitted writes. A read transaction reuses the statements its
// connection prepared for earlier ones, and a write transaction those kept
// on the writer's connection. The engine sizes write transactions to one
// page of work.
//
// A failed write (ErrConflict included) leaves the transaction usable in
// SQLite but not in PostgreSQL: portable callers roll back.
//
// # Batches and indexes
//
// Methods that take many keys query them in chunks of at most MaxKeys
// keys per statement; PutCS and PutMV write multi-row INSERTs. Puts
// maintain the value indexes declared by SetIndexes (cs_index and
// mv_index rows, holding idsync.Value.String() and its lowercase form) in
// the same transaction: index rows of a put object are deleted and
// written again.
//
// Blobs hold the binary encoding of store.EncodeCSData and
// store.EncodeMVData; run records are JSON.
//
// # Schema
//
// Migrations are embedded (migrations/NNNN_name.sql) and applied by Open,
// each in its own transaction, and recorded in schema_migrations. Opening
// a database whose schema is newer than the binary knows fails.
package sqlstore
