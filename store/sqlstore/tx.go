package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync/store"
)

// tx is a store.Tx on one database/sql transaction.
type tx struct {
	db    *DB
	sqltx *sql.Tx
	write bool
	done  bool
	// stmts caches the statements prepared in this transaction, by query.
	stmts map[string]*sql.Stmt
	// ix is the index declaration, read once per transaction.
	ix *indexSet
	// buf is scratch space for encoding blobs.
	buf []byte
	// enc encodes CS objects' blobs.
	enc store.CSEncoder
}

var _ store.Tx = (*tx)(nil)

// maxKeptBuf is the largest blob scratch space a write transaction hands
// to the next one (a page of 10,000 objects of a few hundred bytes).
const maxKeptBuf = 16 << 20

func (t *tx) end() {
	if t.done {
		return
	}
	t.done = true
	t.db.txMu.Lock()
	delete(t.db.open, t)
	t.db.txMu.Unlock()
	for _, s := range t.stmts {
		s.Close()
	}
	t.stmts = nil
	if t.write {
		if cap(t.buf) <= maxKeptBuf {
			t.db.wbuf = t.buf[:0]
		}
		t.buf = nil
		<-t.db.wsem
	}
}

// Commit commits the transaction.
func (t *tx) Commit() error {
	if t.done {
		return fmt.Errorf("sqlstore: commit: %w", sql.ErrTxDone)
	}
	err := t.sqltx.Commit()
	t.end()
	if err != nil {
		return fmt.Errorf("sqlstore: commit: %w", err)
	}
	if t.write {
		select {
		case t.db.committed <- struct{}{}:
		default:
		}
	}
	return nil
}

// Rollback discards the transaction. Rolling back an ended transaction
// (or one database/sql rolled back when its context ended) returns nil.
func (t *tx) Rollback() error {
	if t.done {
		return nil
	}
	err := t.sqltx.Rollback()
	t.end()
	if err != nil && !errors.Is(err, sql.ErrTxDone) {
		return fmt.Errorf("sqlstore: rollback: %w", err)
	}
	return nil
}

// stmt returns the prepared statement of query, preparing it once per
// transaction at most: a write transaction reuses the statements kept on
// the writer's connection (wstmts), a read transaction those its reader
// connection prepared before (readStmt).
func (t *tx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if t.done {
		return nil, sql.ErrTxDone
	}
	if s, ok := t.stmts[query]; ok {
		return s, nil
	}
	var s *sql.Stmt
	var ps *sql.Stmt
	if t.write {
		// Prepared on the writer's connection already: the transaction
		// (on that connection) uses it as it is.
		ps = t.db.wstmts[query]
	} else {
		// Prepared on the readers' pool: bound to this transaction's
		// connection at its first use there, reused after.
		ps = t.db.readStmt(query)
	}
	if ps != nil {
		s = t.sqltx.StmtContext(ctx, ps)
	} else {
		var err error
		if s, err = t.sqltx.PrepareContext(ctx, t.db.d.bind(query)); err != nil {
			return nil, err
		}
		if t.write && len(t.db.wstmts) < maxWriterStmts {
			t.db.wwant = append(t.db.wwant, query)
		}
	}
	if t.stmts == nil {
		t.stmts = make(map[string]*sql.Stmt)
	}
	t.stmts[query] = s
	return s, nil
}

func (t *tx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.ExecContext(ctx, args...)
}

func (t *tx) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	s, err := t.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return s.QueryContext(ctx, args...)
}

func (t *tx) queryRow(ctx context.Context, query string, args ...any) *sql.Row {
	s, err := t.stmt(ctx, query)
	if err != nil {
		// An sql.Row cannot carry an error of ours; run the query
		// unprepared so that Scan reports it.
		return t.sqltx.QueryRowContext(ctx, t.db.d.bind(query), args...)
	}
	return s.QueryRowContext(ctx, args...)
}

// chunkSizes are the IN-list lengths statements are prepared for; a chunk
// is padded up to the next size by repeating a key, which IN ignores, so
// that few distinct statements are prepared.
var chunkSizes = [...]int{1, 4, 16, 64, 128, 256, MaxKeys}

func chunkSize(n int) int {
	for _, s := range chunkSizes {
		if n <= s {
			return s
		}
	}
	return MaxKeys
}

// placeholders returns "?, ?, ..." with n marks.
func placeholders(n int) string {
	if n <= 0 {
		return ""
	}
	return strings.Repeat("?, ", n-1) + "?"
}

// forChunks calls fn for each chunk of keys with args: prefix, then the
// chunk padded to a chunk size, and the matching placeholder list.
func forChunks[K ~string](keys []K, prefix []any, fn func(args []any, ph string) error) error {
	args := make([]any, 0, len(prefix)+min(len(keys), MaxKeys))
	for len(keys) > 0 {
		n := min(len(keys), MaxKeys)
		size := chunkSize(n)
		args = append(args[:0], prefix...)
		for _, k := range keys[:n] {
			args = append(args, string(k))
		}
		for i := n; i < size; i++ {
			args = append(args, string(keys[0]))
		}
		if err := fn(args, placeholders(size)); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

// queryIn runs format (with one %s for the placeholder list) for each
// chunk of keys and calls each for every row.
func queryIn[K ~string](ctx context.Context, t *tx, format string, prefix []any, keys []K, each func(*sql.Rows) error) error {
	return forChunks(keys, prefix, func(args []any, ph string) error {
		rows, err := t.query(ctx, fmt.Sprintf(format, ph), args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := each(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	})
}

// execIn runs format for each chunk of keys and returns the rows affected.
func execIn[K ~string](ctx context.Context, t *tx, format string, prefix []any, keys []K) (int64, error) {
	var total int64
	err := forChunks(keys, prefix, func(args []any, ph string) error {
		res, err := t.exec(ctx, fmt.Sprintf(format, ph), args...)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		total += n
		return err
	})
	return total, err
}

// insertRows writes rows with multi-row INSERTs: head is
// "INSERT INTO t (a, b, c) VALUES", cols the column count, tail an
// optional ON CONFLICT clause; args holds len(rows)*cols values.
func insertRows(ctx context.Context, t *tx, head string, cols int, tail string, args []any) error {
	const batch = 64
	row := "(" + placeholders(cols) + ")"
	if rows := len(args) / cols; rows >= batch {
		q := head + " " + row + strings.Repeat(", "+row, batch-1) + " " + tail
		for ; rows >= batch; rows -= batch {
			if _, err := t.exec(ctx, q, args[:batch*cols]...); err != nil {
				return err
			}
			args = args[batch*cols:]
		}
	}
	q := head + " " + row + " " + tail
	for len(args) > 0 {
		if _, err := t.exec(ctx, q, args[:cols]...); err != nil {
			return err
		}
		args = args[cols:]
	}
	return nil
}

// updateRows updates rows of table by key, setting cols from each row's
// values (cols' values, then the key), in statements of up to 64 rows:
//
//	WITH v(k, c1, …) AS (VALUES (?, ?, …), …)
//	UPDATE table SET c1 = v.c1, … FROM v WHERE table.key = v.k
//
// which both SQLite (3.33+) and PostgreSQL accept.
//
// extra, when not empty, is one more assignment for every row
// ("version = cs.version + 1").
func updateRows(ctx context.Context, t *tx, table, key string, cols []string, extra string, rows [][]any) error {
	const batch = 64
	width := len(cols) + 1
	var set strings.Builder
	for i, c := range cols {
		if i > 0 {
			set.WriteString(", ")
		}
		set.WriteString(c + " = v." + c)
	}
	if extra != "" {
		set.WriteString(", " + extra)
	}
	names := "k, " + strings.Join(cols, ", ")
	row := "(" + placeholders(width) + ")"
	stmt := func(n int) string {
		return "WITH v(" + names + ") AS (VALUES " + row + strings.Repeat(", "+row, n-1) + ") UPDATE " + table +
			" SET " + set.String() + " FROM v WHERE " + table + "." + key + " = v.k"
	}
	args := make([]any, 0, batch*width)
	for len(rows) > 0 {
		n := min(len(rows), batch)
		if n < batch && n > 8 {
			n = 8 // a few statement shapes only, so that they stay prepared
		}
		args = args[:0]
		for _, r := range rows[:n] {
			args = append(args, r[len(r)-1])
			args = append(args, r[:len(r)-1]...)
		}
		if _, err := t.exec(ctx, stmt(n), args...); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}
