package pgstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

const mvCols = `id, object_type, data`

func scanMV(rows pgx.Rows) (*idsync.MVObject, error) {
	var (
		o    idsync.MVObject
		data []byte
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
		return nil, fmt.Errorf("pgstore: get mv object %s: %w", id, err)
	}
	o, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("pgstore: get mv object %s: %w", id, store.ErrNotFound)
	}
	return o, nil
}

func (t *tx) MVByIDs(ctx context.Context, ids []string) (map[string]*idsync.MVObject, error) {
	m, err := t.mvByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get mv objects by ID: %w", err)
	}
	return m, nil
}

func (t *tx) mvByIDs(ctx context.Context, ids []string) (map[string]*idsync.MVObject, error) {
	m := make(map[string]*idsync.MVObject, len(ids))
	if len(ids) == 0 {
		return m, t.check()
	}
	err := t.each(ctx, `SELECT `+mvCols+` FROM mv WHERE id = ANY($1)`, []any{ids}, func(rows pgx.Rows) error {
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
		return nil, fmt.Errorf("pgstore: find mv objects by %s: %w", attr, err)
	}
	if !ix.HasMV(attr) {
		return nil, fmt.Errorf("pgstore: find mv objects by %s: metaverse attribute %s is not declared in SetIndexes: %w", attr, attr, store.ErrNotIndexed)
	}
	q := `SELECT value, mv_id FROM mv_index WHERE attr = $1 AND fold = ANY($2)`
	args := []any{attr, sqlshared.FoldAll(values)}
	if objectType != "" {
		q += ` AND object_type = $3`
		args = append(args, objectType)
	}
	err = t.each(ctx, q, args, func(rows pgx.Rows) error {
		var value, id string
		if err := rows.Scan(&value, &id); err != nil {
			return err
		}
		m.Add(value, id)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: find mv objects by %s: %w", attr, err)
	}
	return m.Result(), nil
}

func (t *tx) PutMV(ctx context.Context, objs []*idsync.MVObject) error {
	if err := t.putMV(ctx, objs); err != nil {
		return fmt.Errorf("pgstore: put mv objects: %w", err)
	}
	return nil
}

var (
	mvInsertCols  = []string{"id", "object_type", "data"}
	mvInsertTypes = []string{"text[]", "text[]", "bytea[]"}
	mvIndexCols   = []string{"attr", "fold", "value", "object_type", "mv_id"}
	mvIndexTypes  = []string{"text[]", "text[]", "text[]", "text[]", "text[]"}
)

func (t *tx) putMV(ctx context.Context, objs []*idsync.MVObject) error {
	if len(objs) == 0 {
		return t.check()
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
	exists := make(map[string]bool, len(objs))
	err = t.each(ctx, `SELECT id FROM mv WHERE id = ANY($1)`, []any{ids}, func(rows pgx.Rows) error {
		var id string
		if err := rows.Scan(&id); err != nil {
			return err
		}
		exists[id] = true
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
	var ins, upd [][]any
	for i, o := range objs {
		row := []any{o.ID, o.ObjectType, buf[offs[i]:offs[i+1]:offs[i+1]]}
		if exists[o.ID] {
			upd = append(upd, row)
		} else {
			ins = append(ins, row)
		}
	}
	if len(upd) > 0 {
		t.count("mv", len(upd))
		if _, err := t.exec(ctx, `UPDATE mv SET object_type = v.object_type, data = v.data
FROM unnest($1::text[], $2::text[], $3::bytea[]) AS v(id, object_type, data) WHERE mv.id = v.id`, columnArrays(upd, mvInsertTypes)...); err != nil {
			return err
		}
	}
	if err := t.insert(ctx, "mv", mvInsertCols, mvInsertTypes, ins); err != nil {
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
		if exists[o.ID] {
			existing = append(existing, o.ID)
		}
	}
	if len(existing) > 0 {
		err = t.each(ctx, `SELECT mv_id, attr, value, object_type FROM mv_index WHERE mv_id = ANY($1)`, []any{existing}, func(rows pgx.Rows) error {
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
	}
	var add [][]any
	for _, o := range objs {
		sqlshared.EachIndexValue(o.Attrs, ix.MV, func(attr, fold, value string) {
			r := irow{o.ID, attr, value, o.ObjectType}
			if have[r] {
				delete(have, r)
				return
			}
			add = append(add, []any{attr, fold, value, o.ObjectType, o.ID})
		})
	}
	if len(have) > 0 {
		var dID, dAttr, dValue, dType []string
		for r := range have {
			dID, dAttr, dValue, dType = append(dID, r.id), append(dAttr, r.attr), append(dValue, r.value), append(dType, r.typ)
		}
		if _, err := t.exec(ctx, `DELETE FROM mv_index m USING unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS d(mv_id, attr, value, object_type)
WHERE m.mv_id = d.mv_id AND m.attr = d.attr AND m.value = d.value AND m.object_type = d.object_type`, dID, dAttr, dValue, dType); err != nil {
			return err
		}
	}
	return t.insert(ctx, "mv_index", mvIndexCols, mvIndexTypes, add)
}

func (t *tx) DeleteMV(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM mv_index WHERE mv_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("pgstore: delete mv objects: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM mv WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("pgstore: delete mv objects: %w", err)
	}
	return nil
}

func (t *tx) mvWhere(ctx context.Context, f store.MVFilter, p *params, paged bool) (string, bool, error) {
	var conds []string
	if f.ObjectType != "" {
		conds = append(conds, "object_type = "+p.add(f.ObjectType))
	}
	if paged && f.After != "" {
		conds = append(conds, "id > "+p.add(f.After))
	}
	goFilter := false
	if f.Attr != "" {
		ix, err := t.indexes(ctx)
		if err != nil {
			return "", false, err
		}
		if ix.HasMV(f.Attr) {
			sub := "id IN (SELECT mv_id FROM mv_index WHERE attr = " + p.add(f.Attr)
			if f.Value != "" {
				sub += " AND fold = " + p.add(store.FoldValue(f.Value))
			}
			conds = append(conds, sub+")")
		} else {
			goFilter = true
		}
	}
	if len(conds) == 0 {
		return "", goFilter, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), goFilter, nil
}

func (t *tx) ListMV(ctx context.Context, f store.MVFilter) ([]*idsync.MVObject, error) {
	objs, err := t.listMV(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("pgstore: list mv objects: %w", err)
	}
	return objs, nil
}

func (t *tx) listMV(ctx context.Context, f store.MVFilter) ([]*idsync.MVObject, error) {
	var p params
	where, goFilter, err := t.mvWhere(ctx, f, &p, true)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + mvCols + ` FROM mv` + where + ` ORDER BY id`
	if f.Limit > 0 && !goFilter {
		q += ` LIMIT ` + p.add(int64(f.Limit))
	}
	rows, err := t.query(ctx, q, p.args...)
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
	var p params
	where, goFilter, err := t.mvWhere(ctx, f, &p, false)
	if err != nil {
		return 0, fmt.Errorf("pgstore: count mv objects: %w", err)
	}
	if goFilter {
		objs, err := t.listMV(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("pgstore: count mv objects: %w", err)
		}
		return len(objs), nil
	}
	var n int64
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM mv`+where, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count mv objects: %w", err)
	}
	return int(n), nil
}
