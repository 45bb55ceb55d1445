package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

type indexSet = sqlshared.IndexSet

const metaIndexes = "indexes"

// indexes returns the index declaration, read once per transaction (a
// write transaction thus sees what another process declared before it).
func (t *tx) indexes(ctx context.Context) (*indexSet, error) {
	if t.ix != nil {
		return t.ix, nil
	}
	var raw string
	err := t.queryRow(ctx, `SELECT value FROM meta WHERE key = ?`, metaIndexes).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) {
		t.ix = &indexSet{}
		return t.ix, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read index declaration: %w", err)
	}
	db := t.db
	db.ixMu.Lock()
	defer db.ixMu.Unlock()
	if db.ixCache != nil && db.ixCache.Raw == raw {
		t.ix = db.ixCache
		return t.ix, nil
	}
	s, err := sqlshared.ParseIndexes(raw)
	if err != nil {
		return nil, err
	}
	db.ixCache = s
	t.ix = s
	return s, nil
}

// SetIndexes declares the value indexes. When the declaration changed, it
// drops the index rows of attributes no longer declared and builds those
// of newly declared attributes from every stored object, in one write
// transaction.
func (db *DB) SetIndexes(ctx context.Context, ix store.Indexes) error {
	want := sqlshared.NormalizeIndexes(ix)
	err := db.withTx(ctx, true, func(t *tx) error {
		have, err := t.indexes(ctx)
		if err != nil {
			return err
		}
		if have.Raw == want.Raw {
			return nil
		}
		if err := sqlshared.ChangeIndexes(ctx, have, want, t, db.log, "sqlstore"); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			metaIndexes, want.Raw); err != nil {
			return err
		}
		t.ix = want
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlstore: set indexes: %w", err)
	}
	return nil
}

// DropMVIndex deletes the mv_index rows of attrs (sqlshared.IndexRebuilder).
func (t *tx) DropMVIndex(ctx context.Context, attrs []string) error {
	_, err := execIn(ctx, t, `DELETE FROM mv_index WHERE attr IN (%s)`, nil, attrs)
	return err
}

// DropCSIndex deletes the cs_index rows of attrs in connector's space.
func (t *tx) DropCSIndex(ctx context.Context, connector string, attrs []string) error {
	_, err := execIn(ctx, t, `DELETE FROM cs_index WHERE connector = ? AND attr IN (%s)`, []any{connector}, attrs)
	return err
}

// BuildMVIndex builds the mv_index rows of attrs (sqlshared.IndexRebuilder).
func (t *tx) BuildMVIndex(ctx context.Context, attrs []string) error {
	after := ""
	for {
		objs, err := t.listMV(ctx, store.MVFilter{After: after, Limit: sqlshared.RebuildPage})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return nil
		}
		var args []any
		for _, o := range objs {
			args = appendIndexRows(args, o.Attrs, attrs, o.ObjectType, o.ID)
		}
		if err := insertRows(ctx, t, `INSERT INTO mv_index (attr, fold, value, object_type, mv_id) VALUES`, 5, "", args); err != nil {
			return err
		}
		after = objs[len(objs)-1].ID
	}
}

// BuildCSIndex builds the cs_index rows of attrs in connector's space.
func (t *tx) BuildCSIndex(ctx context.Context, connector string, attrs []string) error {
	after := ""
	for {
		objs, err := t.listCS(ctx, store.CSFilter{Connector: connector, After: after, Limit: sqlshared.RebuildPage})
		if err != nil {
			return err
		}
		if len(objs) == 0 {
			return nil
		}
		var args []any
		for _, o := range objs {
			args = appendCSIndexRows(args, o.Attrs, attrs, connector, o.ID)
		}
		if err := insertRows(ctx, t, `INSERT INTO cs_index (connector, attr, fold, value, cs_id) VALUES`, 5, "", args); err != nil {
			return err
		}
		after = objs[len(objs)-1].ID
	}
}

// appendIndexRows appends mv_index rows (attr, fold, value, object_type, mv_id).
func appendIndexRows(args []any, a idsync.Attrs, attrs []string, objectType, id string) []any {
	sqlshared.EachIndexValue(a, attrs, func(attr, fold, value string) {
		args = append(args, attr, fold, value, objectType, id)
	})
	return args
}

// appendCSIndexRows appends cs_index rows (connector, attr, fold, value, cs_id).
func appendCSIndexRows(args []any, a idsync.Attrs, attrs []string, connector, id string) []any {
	sqlshared.EachIndexValue(a, attrs, func(attr, fold, value string) {
		args = append(args, connector, attr, fold, value, id)
	})
	return args
}
