package sqlstore

import (
	"context"
	"fmt"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

var _ store.Transfer = (*tx)(nil)

// Indexes returns the index declaration.
func (t *tx) Indexes(ctx context.Context) (store.Indexes, error) {
	ix, err := t.indexes(ctx)
	if err != nil {
		return store.Indexes{}, fmt.Errorf("sqlstore: read indexes: %w", err)
	}
	return ix.Declaration(), nil
}

// ListWatermarks returns every watermark.
func (t *tx) ListWatermarks(ctx context.Context) ([]store.Watermark, error) {
	var out []store.Watermark
	rows, err := t.query(ctx, `SELECT connector, part, value FROM watermarks ORDER BY connector, part`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list watermarks: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var w store.Watermark
		if err := rows.Scan(&w.Connector, &w.Partition, &w.Value); err != nil {
			return nil, fmt.Errorf("sqlstore: list watermarks: %w", err)
		}
		if w.Value == nil {
			w.Value = []byte{}
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list watermarks: %w", err)
	}
	return out, nil
}

// ListSeqs returns every counter.
func (t *tx) ListSeqs(ctx context.Context) (map[string]int64, error) {
	m := map[string]int64{}
	rows, err := t.query(ctx, `SELECT name, value FROM seqs`)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list sequences: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			return nil, fmt.Errorf("sqlstore: list sequences: %w", err)
		}
		m[name] = v
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlstore: list sequences: %w", err)
	}
	return m, nil
}

// SetSeq sets a counter.
func (t *tx) SetSeq(ctx context.Context, name string, value int64) error {
	if _, err := t.exec(ctx, `INSERT INTO seqs (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value`, name, value); err != nil {
		return fmt.Errorf("sqlstore: set sequence %s: %w", name, err)
	}
	return nil
}

// RestoreCS inserts objects as they are, Version included.
func (t *tx) RestoreCS(ctx context.Context, objs []*idsync.CSObject) error {
	if err := t.restoreCS(ctx, objs); err != nil {
		return fmt.Errorf("sqlstore: restore cs objects: %w", err)
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
	args := make([]any, 0, len(objs)*(csStateCols+3))
	var idx []any
	for i, o := range objs {
		v := csState(o)
		args = append(args, o.ID)
		args = append(args, v[:]...)
		args = append(args, o.Version, buf[offs[i]:offs[i+1]:offs[i+1]])
		if attrs := ix.CS[o.Connector]; len(attrs) > 0 {
			idx = appendCSIndexRows(idx, o.Attrs, attrs, o.Connector, o.ID)
		}
	}
	if err := insertRows(ctx, t, `INSERT INTO cs (id, `+csStateList+`, version, data) VALUES`, csStateCols+3, "", args); err != nil {
		if t.db.d.isConflict(err) {
			return t.describeAnchorConflict(ctx, objs, err)
		}
		return err
	}
	return insertRows(ctx, t, `INSERT INTO cs_index (connector, attr, fold, value, cs_id) VALUES`, 5, "", idx)
}

// Clear deletes every object, index row, watermark, counter and run.
func (t *tx) Clear(ctx context.Context) error {
	for _, table := range []string{"cs_index", "cs", "mv_index", "mv", "watermarks", "seqs", "run_errors", "runs", "meta"} {
		if _, err := t.exec(ctx, `DELETE FROM `+table); err != nil {
			return fmt.Errorf("sqlstore: clear %s: %w", table, err)
		}
	}
	t.ix = nil
	return nil
}
