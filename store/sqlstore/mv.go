package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

const mvCols = `id, object_type, data`

func scanMV(rows *sql.Rows) (*idsync.MVObject, error) {
	var (
		o    idsync.MVObject
		data sql.RawBytes
	)
	if err := rows.Scan(&o.ID, &o.ObjectType, &data); err != nil {
		return nil, err
	}
	if err := store.DecodeMVData(data, &o); err != nil {
		return nil, fmt.Errorf("mv object %s: %w", o.ID, err)
	}
	return &o, nil
}

func (t *tx) GetMV(ctx context.Context, id string) (*idsync.MVObject, error) {
	m, err := t.mvByIDs(ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get mv object %s: %w", id, err)
	}
	o, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("sqlstore: get mv object %s: %w", id, store.ErrNotFound)
	}
	return o, nil
}

func (t *tx) MVByIDs(ctx context.Context, ids []string) (map[string]*idsync.MVObject, error) {
	m, err := t.mvByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get mv objects by ID: %w", err)
	}
	return m, nil
}

func (t *tx) mvByIDs(ctx context.Context, ids []string) (map[string]*idsync.MVObject, error) {
	m := make(map[string]*idsync.MVObject, len(ids))
	err := queryIn(ctx, t, `SELECT `+mvCols+` FROM mv WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		o, err := scanMV(rows)
		if err == nil {
			m[o.ID] = o
		}
		return err
	})
	return m, err
}

func (t *tx) FindMV(ctx context.Context, objectType, attr string, values []string, caseSensitive bool) (map[string][]string, error) {
	m := sqlshared.NewMatches(values, caseSensitive)
	if len(values) == 0 {
		return m.Result(), nil
	}
	ix, err := t.indexes(ctx)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find mv objects by %s: %w", attr, err)
	}
	if !ix.HasMV(attr) {
		return nil, fmt.Errorf("sqlstore: find mv objects by %s: metaverse attribute %s is not declared in SetIndexes: %w", attr, attr, store.ErrNotIndexed)
	}
	q := `SELECT value, mv_id FROM mv_index WHERE attr = ? AND fold IN (%s)`
	prefix := []any{attr}
	if objectType != "" {
		q = `SELECT value, mv_id FROM mv_index WHERE attr = ? AND object_type = ? AND fold IN (%s)`
		prefix = append(prefix, objectType)
	}
	err = queryIn(ctx, t, q, prefix, sqlshared.FoldAll(values), func(rows *sql.Rows) error {
		var value, id string
		if err := rows.Scan(&value, &id); err != nil {
			return err
		}
		m.Add(value, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: find mv objects by %s: %w", attr, err)
	}
	return m.Result(), nil
}

func (t *tx) PutMV(ctx context.Context, objs []*idsync.MVObject) error {
	if err := t.putMV(ctx, objs); err != nil {
		return fmt.Errorf("sqlstore: put mv objects: %w", err)
	}
	return nil
}

func (t *tx) putMV(ctx context.Context, objs []*idsync.MVObject) error {
	if len(objs) == 0 {
		return nil
	}
	for _, o := range objs {
		if o == nil || o.ID == "" {
			return fmt.Errorf("an mv object needs an ID")
		}
	}
	objs = sqlshared.DedupeByID(objs, func(o *idsync.MVObject) string { return o.ID })
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	// Which objects exist, with their type, so that an update writes only
	// what changed (SQLite skips the type index when the type is kept).
	curType := make(map[string]string, len(objs))
	err = queryIn(ctx, t, `SELECT id, object_type FROM mv WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		var id, typ string
		if err := rows.Scan(&id, &typ); err != nil {
			return err
		}
		curType[id] = typ
		return nil
	})
	if err != nil {
		return err
	}
	buf := t.buf[:0]
	offs := make([]int, len(objs)+1)
	for i, o := range objs {
		buf = store.EncodeMVData(buf, o)
		offs[i+1] = len(buf)
	}
	t.buf = buf
	var ins []any
	var sameType, newType [][]any
	for i, o := range objs {
		blob := buf[offs[i]:offs[i+1]:offs[i+1]]
		typ, ok := curType[o.ID]
		switch {
		case !ok:
			ins = append(ins, o.ID, o.ObjectType, blob)
		case typ == o.ObjectType:
			sameType = append(sameType, []any{blob, o.ID})
		default:
			newType = append(newType, []any{o.ObjectType, blob, o.ID})
		}
	}
	if err := updateRows(ctx, t, "mv", "id", []string{"data"}, "", sameType); err != nil {
		return err
	}
	if err := updateRows(ctx, t, "mv", "id", []string{"object_type", "data"}, "", newType); err != nil {
		return err
	}
	if err := insertRows(ctx, t, `INSERT INTO mv (id, object_type, data) VALUES`, 3, "", ins); err != nil {
		return err
	}
	if len(ix.MV) == 0 {
		return nil
	}
	// Index rows: change only those that differ.
	type irow struct{ id, attr, value, typ string }
	have := map[irow]bool{}
	var existing []string
	for _, o := range objs {
		if _, ok := curType[o.ID]; ok {
			existing = append(existing, o.ID)
		}
	}
	err = queryIn(ctx, t, `SELECT mv_id, attr, value, object_type FROM mv_index WHERE mv_id IN (%s)`, nil, existing, func(rows *sql.Rows) error {
		var r irow
		if err := rows.Scan(&r.id, &r.attr, &r.value, &r.typ); err != nil {
			return err
		}
		have[r] = true
		return nil
	})
	if err != nil {
		return err
	}
	var add []any
	for _, o := range objs {
		sqlshared.EachIndexValue(o.Attrs, ix.MV, func(attr, fold, value string) {
			r := irow{o.ID, attr, value, o.ObjectType}
			if have[r] {
				delete(have, r)
				return
			}
			add = append(add, attr, fold, value, o.ObjectType, o.ID)
		})
	}
	for r := range have {
		if _, err := t.exec(ctx, `DELETE FROM mv_index WHERE mv_id = ? AND attr = ? AND value = ?`, r.id, r.attr, r.value); err != nil {
			return err
		}
	}
	return insertRows(ctx, t, `INSERT INTO mv_index (attr, fold, value, object_type, mv_id) VALUES`, 5, "", add)
}

func (t *tx) DeleteMV(ctx context.Context, ids []string) error {
	if _, err := execIn(ctx, t, `DELETE FROM mv_index WHERE mv_id IN (%s)`, nil, ids); err != nil {
		return fmt.Errorf("sqlstore: delete mv objects: %w", err)
	}
	if _, err := execIn(ctx, t, `DELETE FROM mv WHERE id IN (%s)`, nil, ids); err != nil {
		return fmt.Errorf("sqlstore: delete mv objects: %w", err)
	}
	return nil
}

func (t *tx) mvWhere(ctx context.Context, f store.MVFilter, paged bool) (string, []any, bool, error) {
	var conds []string
	var args []any
	if f.ObjectType != "" {
		conds = append(conds, "object_type = ?")
		args = append(args, f.ObjectType)
	}
	if paged && f.After != "" {
		conds = append(conds, "id > ?")
		args = append(args, f.After)
	}
	goFilter := false
	if f.Attr != "" {
		ix, err := t.indexes(ctx)
		if err != nil {
			return "", nil, false, err
		}
		if ix.HasMV(f.Attr) {
			sub := "id IN (SELECT mv_id FROM mv_index WHERE attr = ?"
			args = append(args, f.Attr)
			if f.Value != "" {
				sub += " AND fold = ?"
				args = append(args, store.FoldValue(f.Value))
			}
			conds = append(conds, sub+")")
		} else {
			goFilter = true
		}
	}
	if len(conds) == 0 {
		return "", args, goFilter, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, goFilter, nil
}

func (t *tx) ListMV(ctx context.Context, f store.MVFilter) ([]*idsync.MVObject, error) {
	objs, err := t.listMV(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list mv objects: %w", err)
	}
	return objs, nil
}

func (t *tx) listMV(ctx context.Context, f store.MVFilter) ([]*idsync.MVObject, error) {
	where, args, goFilter, err := t.mvWhere(ctx, f, true)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + mvCols + ` FROM mv` + where + ` ORDER BY id`
	if f.Limit > 0 && !goFilter {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objs []*idsync.MVObject
	fold := store.FoldValue(f.Value)
	for rows.Next() {
		o, err := scanMV(rows)
		if err != nil {
			return nil, err
		}
		if goFilter && !hasAttrValue(o.Attrs, f.Attr, fold) {
			continue
		}
		objs = append(objs, o)
		if f.Limit > 0 && len(objs) >= f.Limit {
			break
		}
	}
	return objs, rows.Err()
}

func (t *tx) CountMV(ctx context.Context, f store.MVFilter) (int, error) {
	f.After, f.Limit = "", 0
	where, args, goFilter, err := t.mvWhere(ctx, f, false)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count mv objects: %w", err)
	}
	if goFilter {
		objs, err := t.listMV(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: count mv objects: %w", err)
		}
		return len(objs), nil
	}
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM mv`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count mv objects: %w", err)
	}
	return n, nil
}
