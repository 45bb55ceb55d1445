package pgstore

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

var _ store.Transfer = (*tx)(nil)

// Indexes returns the index declaration.
func (t *tx) Indexes(ctx context.Context) (store.Indexes, error) {
	ix, err := t.indexes(ctx)
	if err != nil {
		return store.Indexes{}, fmt.Errorf("pgstore: read indexes: %w", err)
	}
	return ix.Declaration(), nil
}

// ListWatermarks returns every watermark.
func (t *tx) ListWatermarks(ctx context.Context) ([]store.Watermark, error) {
	var out []store.Watermark
	err := t.each(ctx, `SELECT connector, part, value FROM watermarks ORDER BY connector, part`, nil, func(rows pgx.Rows) error {
		var c, p, v []byte
		if err := rows.Scan(&c, &p, &v); err != nil {
			return err
		}
		if v == nil {
			v = []byte{}
		}
		out = append(out, store.Watermark{Connector: string(c), Partition: string(p), Value: v})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list watermarks: %w", err)
	}
	return out, nil
}

// ListSeqs returns every counter.
func (t *tx) ListSeqs(ctx context.Context) (map[string]int64, error) {
	m := map[string]int64{}
	err := t.each(ctx, `SELECT name, value FROM seqs`, nil, func(rows pgx.Rows) error {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return err
		}
		m[name] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: list sequences: %w", err)
	}
	return m, nil
}

// SetSeq sets a counter.
func (t *tx) SetSeq(ctx context.Context, name string, value int64) error {
	if _, err := t.exec(ctx, `INSERT INTO seqs (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("pgstore: set sequence %s: %w", name, err)
	}
	return nil
}

var (
	csRestoreCols  = append(slices.Clone(csInsertCols), "version")
	csRestoreTypes = append(slices.Clone(csInsertTypes), "bigint[]")
)

// RestoreCS inserts objects as they are, Version included, with COPY.
func (t *tx) RestoreCS(ctx context.Context, objs []*idsync.CSObject) error {
	if err := t.restoreCS(ctx, objs); err != nil {
		return fmt.Errorf("pgstore: restore cs objects: %w", err)
	}
	return nil
}

func (t *tx) restoreCS(ctx context.Context, objs []*idsync.CSObject) error {
	if len(objs) == 0 {
		return nil
	}
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	buf := t.buf[:0]
	offs := make([]int, len(objs)+1)
	for i, o := range objs {
		if o == nil || o.ID == "" || o.Connector == "" {
			return fmt.Errorf("a cs object needs an ID and a connector")
		}
		buf = t.enc.EncodeCSData(buf, o)
		offs[i+1] = len(buf)
	}
	t.buf = buf
	rows := make([][]any, len(objs))
	var idx [][]any
	for i, o := range objs {
		rows[i] = append(csRow(o, buf[offs[i]:offs[i+1]:offs[i+1]]), o.Version)
		if attrs := ix.CS[o.Connector]; len(attrs) > 0 {
			sqlshared.EachIndexValue(o.Attrs, attrs, func(attr, fold, value string) {
				idx = append(idx, []any{o.Connector, attr, fold, value, o.ID})
			})
		}
	}
	if err := t.insert(ctx, "cs", csRestoreCols, csRestoreTypes, rows); err != nil {
		return conflictError(err)
	}
	return t.insert(ctx, "cs_index", csIndexCols, csIndexTypes, idx)
}

// Clear deletes every object, index row, watermark, counter and run.
func (t *tx) Clear(ctx context.Context) error {
	if _, err := t.exec(ctx, `TRUNCATE cs_index, cs, mv_index, mv, watermarks, seqs, run_errors, runs, meta`); err != nil {
		return fmt.Errorf("pgstore: clear: %w", err)
	}
	t.ix = nil
	return nil
}
