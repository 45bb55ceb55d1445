package pgstore

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

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
	err := t.queryRow(ctx, `SELECT value FROM meta WHERE key = $1`, metaIndexes).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
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
		if err := sqlshared.ChangeIndexes(ctx, have, want, t, db.log, "pgstore"); err != nil {
			return err
		}
		if _, err := t.exec(ctx, `INSERT INTO meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
			metaIndexes, want.Raw); err != nil {
			return err
		}
		t.ix = want
		return nil
	})
	if err != nil {
		return fmt.Errorf("pgstore: set indexes: %w", err)
	}
	return nil
}

// DropMVIndex deletes the mv_index rows of attrs (sqlshared.IndexRebuilder).
func (t *tx) DropMVIndex(ctx context.Context, attrs []string) error {
	_, err := t.exec(ctx, `DELETE FROM mv_index WHERE attr = ANY($1)`, attrs)
	return err
}

// DropCSIndex deletes the cs_index rows of attrs in connector's space.
func (t *tx) DropCSIndex(ctx context.Context, connector string, attrs []string) error {
	_, err := t.exec(ctx, `DELETE FROM cs_index WHERE connector = $1 AND attr = ANY($2)`, connector, attrs)
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
		var rows [][]any
		for _, o := range objs {
			sqlshared.EachIndexValue(o.Attrs, attrs, func(attr, fold, value string) {
				rows = append(rows, []any{attr, fold, value, o.ObjectType, o.ID})
			})
		}
		if err := t.insert(ctx, "mv_index", mvIndexCols, mvIndexTypes, rows); err != nil {
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
		var rows [][]any
		for _, o := range objs {
			sqlshared.EachIndexValue(o.Attrs, attrs, func(attr, fold, value string) {
				rows = append(rows, []any{connector, attr, fold, value, o.ID})
			})
		}
		if err := t.insert(ctx, "cs_index", csIndexCols, csIndexTypes, rows); err != nil {
			return err
		}
		after = objs[len(objs)-1].ID
	}
}
