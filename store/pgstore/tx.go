package pgstore

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idsync/idsync/store"
)

// tx is a store.Tx on one pgx transaction. pgx prepares and caches every
// statement per connection (QueryExecModeCacheStatement), so repeated
// queries run as prepared statements.
type tx struct {
	db    *DB
	ptx   pgx.Tx
	write bool

	mu   sync.Mutex // guards done against Close
	done bool
	ix   *indexSet // the index declaration, read once per transaction
	buf  []byte    // scratch space for blobs
	enc  store.CSEncoder
	// wrote counts rows written per table, for the planner statistics.
	wrote map[string]int64
}

// count records n rows written to table.
func (t *tx) count(table string, n int) {
	if t.wrote == nil {
		t.wrote = map[string]int64{}
	}
	t.wrote[table] += int64(n)
}

var _ store.Tx = (*tx)(nil)

var errTxDone = errors.New("transaction has already been committed or rolled back")

// end marks the transaction ended; it reports false when it already was.
func (t *tx) end() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	t.db.txMu.Lock()
	delete(t.db.open, t)
	t.db.txMu.Unlock()
	return true
}

func (t *tx) release() {
	if t.write {
		<-t.db.wsem
	}
}

// Commit commits the transaction.
func (t *tx) Commit() error {
	if !t.end() {
		return fmt.Errorf("pgstore: commit: %w", errTxDone)
	}
	err := t.ptx.Commit(context.Background())
	t.release()
	if err != nil {
		return fmt.Errorf("pgstore: commit: %w", err)
	}
	t.db.noteWrites(t.wrote)
	return nil
}

// Rollback discards the transaction; after Commit or Rollback it returns nil.
func (t *tx) Rollback() error {
	if !t.end() {
		return nil
	}
	err := t.ptx.Rollback(context.Background())
	t.release()
	if err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("pgstore: rollback: %w", err)
	}
	return nil
}

func (t *tx) check() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.done {
		return errTxDone
	}
	return nil
}

func (t *tx) exec(ctx context.Context, q string, args ...any) (pgconn.CommandTag, error) {
	if err := t.check(); err != nil {
		return pgconn.CommandTag{}, err
	}
	return t.ptx.Exec(ctx, q, args...)
}

func (t *tx) query(ctx context.Context, q string, args ...any) (pgx.Rows, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return t.ptx.Query(ctx, q, args...)
}

func (t *tx) queryRow(ctx context.Context, q string, args ...any) pgx.Row {
	if err := t.check(); err != nil {
		return errRow{err}
	}
	return t.ptx.QueryRow(ctx, q, args...)
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }

// each runs q and calls fn for every row.
func (t *tx) each(ctx context.Context, q string, args []any, fn func(pgx.Rows) error) error {
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// params numbers query parameters: add returns "$n" for a new argument.
type params struct{ args []any }

func (p *params) add(v any) string {
	p.args = append(p.args, v)
	return "$" + strconv.Itoa(len(p.args))
}

// insert writes rows into table's cols: with COPY when there are at least
// copyMin rows, else with one INSERT ... SELECT FROM unnest of one array
// per column (types gives their SQL array types, e.g. "text[]"). rows
// holds len(cols) values per row.
func (t *tx) insert(ctx context.Context, table string, cols, types []string, rows [][]any) error {
	if len(rows) == 0 {
		return nil
	}
	if err := t.check(); err != nil {
		return err
	}
	t.count(table, len(rows))
	if len(rows) >= copyMin {
		_, err := t.ptx.CopyFrom(ctx, pgx.Identifier{table}, cols, pgx.CopyFromRows(rows))
		return err
	}
	arrays := columnArrays(rows, types)
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(cols, ", ") + ") SELECT * FROM unnest(")
	for i, typ := range types {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "$%d::%s", i+1, typ)
	}
	b.WriteString(")")
	_, err := t.ptx.Exec(ctx, b.String(), arrays...)
	return err
}

// columnArrays turns rows into one typed slice per column, as pgx
// encodes arrays: []string, []*string (nullable text), []int64, []int16
// or [][]byte, by the column's SQL array type.
func columnArrays(rows [][]any, types []string) []any {
	out := make([]any, len(types))
	for c, typ := range types {
		switch typ {
		case "text[]":
			a := make([]*string, len(rows))
			for i, r := range rows {
				switch v := r[c].(type) {
				case string:
					a[i] = &v
				case *string:
					a[i] = v
				}
			}
			out[c] = a
		case "bigint[]":
			a := make([]int64, len(rows))
			for i, r := range rows {
				a[i] = asInt64(r[c])
			}
			out[c] = a
		case "smallint[]":
			a := make([]int16, len(rows))
			for i, r := range rows {
				a[i] = int16(asInt64(r[c]))
			}
			out[c] = a
		case "bytea[]":
			a := make([][]byte, len(rows))
			for i, r := range rows {
				a[i], _ = r[c].([]byte)
			}
			out[c] = a
		default:
			panic("pgstore: no array type " + typ)
		}
	}
	return out
}

func asInt64(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case int16:
		return int64(x)
	case int32:
		return int64(x)
	case int:
		return int64(x)
	}
	return 0
}
