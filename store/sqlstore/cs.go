package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

const csCols = `id, connector, object_type, kind, part, anchor, dn, mv_id, pending_import, import_gen, version, data`

// scanCS reads a row of csCols.
func scanCS(rows *sql.Rows) (*idsync.CSObject, error) {
	var (
		o            idsync.CSObject
		kind, pi     int64
		anchor, mvID sql.NullString
		data         sql.RawBytes
	)
	if err := rows.Scan(&o.ID, &o.Connector, &o.ObjectType, &kind, &o.Partition, &anchor, &o.DN, &mvID, &pi, &o.ImportGen, &o.Version, &data); err != nil {
		return nil, err
	}
	o.Kind = idsync.ObjectKind(kind)
	o.Anchor = idsync.Anchor(anchor.String)
	o.MVID = mvID.String
	o.PendingImport = idsync.ImportType(pi)
	if err := store.DecodeCSData(data, &o); err != nil {
		return nil, fmt.Errorf("cs object %s: %w", o.ID, err)
	}
	return &o, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func (t *tx) GetCS(ctx context.Context, id string) (*idsync.CSObject, error) {
	m, err := t.csByIDs(ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs object %s: %w", id, err)
	}
	o, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("sqlstore: get cs object %s: %w", id, store.ErrNotFound)
	}
	return o, nil
}

func (t *tx) CSByIDs(ctx context.Context, ids []string) (map[string]*idsync.CSObject, error) {
	m, err := t.csByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs objects by ID: %w", err)
	}
	return m, nil
}

func (t *tx) csByIDs(ctx context.Context, ids []string) (map[string]*idsync.CSObject, error) {
	m := make(map[string]*idsync.CSObject, len(ids))
	err := queryIn(ctx, t, `SELECT `+csCols+` FROM cs WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		o, err := scanCS(rows)
		if err == nil {
			m[o.ID] = o
		}
		return err
	})
	return m, err
}

func (t *tx) CSByAnchors(ctx context.Context, connector string, anchors []idsync.Anchor) (map[idsync.Anchor]*idsync.CSObject, error) {
	m := make(map[idsync.Anchor]*idsync.CSObject, len(anchors))
	err := queryIn(ctx, t, `SELECT `+csCols+` FROM cs WHERE connector = ? AND anchor IN (%s)`, []any{connector}, anchors, func(rows *sql.Rows) error {
		o, err := scanCS(rows)
		if err == nil {
			m[o.Anchor] = o
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs objects of %s by anchor: %w", connector, err)
	}
	return m, nil
}

// betterDNHolder reports whether o should win a DN over cur: a
// non-obsolete object wins, then the smaller ID.
func betterDNHolder(o, cur *idsync.CSObject) bool {
	if o.Obsolete != cur.Obsolete {
		return !o.Obsolete
	}
	return o.ID < cur.ID
}

func (t *tx) CSByDNs(ctx context.Context, connector string, dns []string) (map[string]*idsync.CSObject, error) {
	m := make(map[string]*idsync.CSObject, len(dns))
	err := queryIn(ctx, t, `SELECT `+csCols+` FROM cs WHERE connector = ? AND dn_norm IN (%s)`, []any{connector}, sqlshared.FoldAll(dns), func(rows *sql.Rows) error {
		o, err := scanCS(rows)
		if err != nil {
			return err
		}
		k := store.FoldValue(o.DN)
		if cur, ok := m[k]; !ok || betterDNHolder(o, cur) {
			m[k] = o
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs objects of %s by DN: %w", connector, err)
	}
	return m, nil
}

// linkCols are the columns of a store.Link.
const linkCols = `id, connector, kind, anchor, dn, mv_id, obsolete`

func scanLink(rows *sql.Rows) (store.Link, error) {
	var l store.Link
	var kind int64
	var anchor, mv sql.NullString
	var obsolete int64
	if err := rows.Scan(&l.ID, &l.Connector, &kind, &anchor, &l.DN, &mv, &obsolete); err != nil {
		return l, err
	}
	l.Kind = idsync.ObjectKind(kind)
	l.Anchor = idsync.Anchor(anchor.String)
	l.MVID = mv.String
	l.Obsolete = obsolete != 0
	return l, nil
}

func (t *tx) LinksByDN(ctx context.Context, connector string, dns []string) (map[string]store.Link, error) {
	m := make(map[string]store.Link, len(dns))
	err := queryIn(ctx, t, `SELECT `+linkCols+` FROM cs WHERE connector = ? AND dn_norm IN (%s)`, []any{connector}, sqlshared.FoldAll(dns), func(rows *sql.Rows) error {
		l, err := scanLink(rows)
		if err != nil {
			return err
		}
		k := store.FoldValue(l.DN)
		if cur, ok := m[k]; !ok || cur.Obsolete && !l.Obsolete || cur.Obsolete == l.Obsolete && l.ID < cur.ID {
			m[k] = l
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get links of %s by DN: %w", connector, err)
	}
	return m, nil
}

func (t *tx) LinksByMV(ctx context.Context, connector string, mvIDs []string) (map[string][]store.Link, error) {
	m := make(map[string][]store.Link, len(mvIDs))
	q := `SELECT ` + linkCols + ` FROM cs WHERE mv_id IN (%s)`
	var prefix []any
	if connector != "" {
		q = `SELECT ` + linkCols + ` FROM cs WHERE connector = ? AND mv_id IN (%s)`
		prefix = []any{connector}
	}
	err := queryIn(ctx, t, q, prefix, mvIDs, func(rows *sql.Rows) error {
		l, err := scanLink(rows)
		if err == nil {
			m[l.MVID] = append(m[l.MVID], l)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get links by MV object: %w", err)
	}
	for _, ls := range m {
		slices.SortFunc(ls, func(a, b store.Link) int { return strings.Compare(a.ID, b.ID) })
	}
	return m, nil
}

func (t *tx) CSVersions(ctx context.Context, ids []string) (map[string]int64, error) {
	m := make(map[string]int64, len(ids))
	err := queryIn(ctx, t, `SELECT id, version FROM cs WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		m[id] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs object versions: %w", err)
	}
	return m, nil
}

func (t *tx) CSByMV(ctx context.Context, mvIDs []string) (map[string][]*idsync.CSObject, error) {
	m := make(map[string][]*idsync.CSObject, len(mvIDs))
	err := queryIn(ctx, t, `SELECT `+csCols+` FROM cs WHERE mv_id IN (%s)`, nil, mvIDs, func(rows *sql.Rows) error {
		o, err := scanCS(rows)
		if err == nil {
			m[o.MVID] = append(m[o.MVID], o)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sqlstore: get cs objects by MV object: %w", err)
	}
	for _, objs := range m {
		slices.SortFunc(objs, func(a, b *idsync.CSObject) int { return strings.Compare(a.ID, b.ID) })
	}
	return m, nil
}

func (t *tx) FindCS(ctx context.Context, connector, attr string, values []string, caseSensitive bool) (map[string][]string, error) {
	m := sqlshared.NewMatches(values, caseSensitive)
	if len(values) > 0 {
		if err := t.findCS(ctx, connector, attr, values, caseSensitive, m); err != nil {
			return nil, fmt.Errorf("sqlstore: find cs objects of %s by %s: %w", connector, attr, err)
		}
	}
	return m.Result(), nil
}

func (t *tx) findCS(ctx context.Context, connector, attr string, values []string, caseSensitive bool, m *sqlshared.Matches) error {
	scan2 := func(rows *sql.Rows) error {
		var value, id string
		if err := rows.Scan(&value, &id); err != nil {
			return err
		}
		m.Add(value, id)
		return nil
	}
	switch attr {
	case "anchor":
		if caseSensitive {
			return queryIn(ctx, t, `SELECT anchor, id FROM cs WHERE connector = ? AND anchor IN (%s)`, []any{connector}, values, scan2)
		}
		// Anchors are not indexed by folded value; walk the connector's
		// anchors (the anchor index covers the query).
		rows, err := t.query(ctx, `SELECT anchor, id FROM cs WHERE connector = ? AND anchor IS NOT NULL`, connector)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := scan2(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	case "dn":
		return queryIn(ctx, t, `SELECT dn, id FROM cs WHERE connector = ? AND dn_norm IN (%s)`, []any{connector}, sqlshared.FoldAll(values), scan2)
	}
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	if !ix.HasCS(connector, attr) {
		return sqlshared.ErrCSNotIndexed(connector, attr)
	}
	return queryIn(ctx, t, `SELECT value, cs_id FROM cs_index WHERE connector = ? AND attr = ? AND fold IN (%s)`, []any{connector, attr}, sqlshared.FoldAll(values), scan2)
}

func (t *tx) PutCS(ctx context.Context, objs []*idsync.CSObject) error {
	if err := t.putCS(ctx, objs); err != nil {
		return fmt.Errorf("sqlstore: put cs objects: %w", err)
	}
	return nil
}

func (t *tx) putCS(ctx context.Context, objs []*idsync.CSObject) error {
	if len(objs) == 0 {
		return nil
	}
	for _, o := range objs {
		if o == nil || o.ID == "" || o.Connector == "" {
			return fmt.Errorf("a cs object needs an ID and a connector")
		}
	}
	objs = sqlshared.DedupeByID(objs, func(o *idsync.CSObject) string { return o.ID })
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	// The stored rows' columns (not their data), so that an update sets
	// only the columns that changed: SQLite then leaves alone every
	// index none of whose columns changed, which is most of them.
	cur := make(map[string][csStateCols]any, len(objs))
	curVersion := make(map[string]int64, len(objs))
	err = queryIn(ctx, t, `SELECT id, version, `+csStateList+` FROM cs WHERE id IN (%s)`, nil, ids, func(rows *sql.Rows) error {
		var id string
		var version int64
		var v [csStateCols]any
		ptrs := make([]any, csStateCols+2)
		ptrs[0], ptrs[1] = &id, &version
		for i := range v {
			ptrs[i+2] = &v[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return err
		}
		for i, x := range v {
			if b, ok := x.([]byte); ok {
				v[i] = string(b)
			}
		}
		cur[id] = v
		curVersion[id] = version
		return nil
	})
	if err != nil {
		return err
	}
	// One buffer holds every blob of the batch: the driver reads them
	// during Exec, before the buffer is reused.
	buf := t.buf[:0]
	offs := make([]int, len(objs)+1)
	for i, o := range objs {
		buf = t.enc.EncodeCSData(buf, o)
		offs[i+1] = len(buf)
	}
	t.buf = buf
	ins := make([]any, 0, (len(objs)-len(cur))*(csStateCols+2))
	// Updates grouped by the set of columns that changed.
	groups := map[uint32][][]any{}
	var masks []uint32
	for i, o := range objs {
		blob := buf[offs[i]:offs[i+1]:offs[i+1]]
		v := csState(o)
		old, ok := cur[o.ID]
		if !ok {
			ins = append(ins, o.ID)
			ins = append(ins, v[:]...)
			ins = append(ins, blob)
			continue
		}
		var mask uint32
		row := make([]any, 0, csStateCols+2)
		for c := range v {
			if !sameCol(old[c], v[c]) {
				mask |= 1 << c
				row = append(row, v[c])
			}
		}
		row = append(row, blob, o.ID)
		if _, seen := groups[mask]; !seen {
			masks = append(masks, mask)
		}
		groups[mask] = append(groups[mask], row)
	}
	for _, mask := range masks {
		var cols []string
		for c, name := range csStateNames {
			if mask&(1<<c) != 0 {
				cols = append(cols, name)
			}
		}
		cols = append(cols, "data")
		if err := updateRows(ctx, t, "cs", "id", cols, "version = cs.version + 1", groups[mask]); err != nil {
			if t.db.d.isConflict(err) {
				return t.describeAnchorConflict(ctx, objs, err)
			}
			return err
		}
	}
	if err := insertRows(ctx, t, csInsert, csStateCols+2, "", ins); err != nil {
		if t.db.d.isConflict(err) {
			return t.describeAnchorConflict(ctx, objs, err)
		}
		return err
	}
	// The callers' objects now match the stored rows.
	for _, o := range objs {
		o.Version = curVersion[o.ID] + 1
	}
	if len(ix.CS) == 0 {
		return nil
	}
	var idxIDs []string
	var args []any
	for _, o := range objs {
		if attrs := ix.CS[o.Connector]; len(attrs) > 0 {
			idxIDs = append(idxIDs, o.ID)
			args = appendCSIndexRows(args, o.Attrs, attrs, o.Connector, o.ID)
		}
	}
	if len(idxIDs) == 0 {
		return nil
	}
	if _, err := execIn(ctx, t, `DELETE FROM cs_index WHERE cs_id IN (%s)`, nil, idxIDs); err != nil {
		return err
	}
	return insertRows(ctx, t, `INSERT INTO cs_index (connector, attr, fold, value, cs_id) VALUES`, 5, "", args)
}

// The cs columns besides id and data, in csInsert's order.
const (
	csStateList = `connector, object_type, kind, part, anchor, dn, dn_norm, mv_id, pending_import, has_export, import_gen, obsolete`
	csStateCols = 12
)

var csStateNames = strings.Split(strings.ReplaceAll(csStateList, " ", ""), ",")

const csInsert = `INSERT INTO cs (id, ` + csStateList + `, data) VALUES`

// csState returns an object's column values in csStateList order, as
// the driver returns them (int64, string or nil).
func csState(o *idsync.CSObject) [csStateCols]any {
	hasExport := int64(0)
	if o.PendingExport != nil {
		hasExport = 1
		if o.PendingExport.Op == idsync.OpDelete {
			hasExport = 2
		}
	}
	return [csStateCols]any{o.Connector, o.ObjectType, int64(o.Kind), o.Partition, nullString(string(o.Anchor)),
		o.DN, store.FoldValue(o.DN), nullString(o.MVID), int64(o.PendingImport), hasExport, o.ImportGen, boolInt(o.Obsolete)}
}

func sameCol(a, b any) bool {
	switch x := a.(type) {
	case nil:
		return b == nil
	case int64:
		y, ok := b.(int64)
		return ok && x == y
	case string:
		y, ok := b.(string)
		return ok && x == y
	}
	return false
}

// describeAnchorConflict names the anchor another object holds, for a
// failed put. It runs only on the error path.
func (t *tx) describeAnchorConflict(ctx context.Context, objs []*idsync.CSObject, cause error) error {
	seen := map[[2]string]string{}
	for _, o := range objs {
		if o.Anchor == "" {
			continue
		}
		k := [2]string{o.Connector, string(o.Anchor)}
		if other, ok := seen[k]; ok {
			return fmt.Errorf("objects %s and %s of connector %s both have anchor %q: %w", other, o.ID, o.Connector, o.Anchor, store.ErrConflict)
		}
		seen[k] = o.ID
		var id string
		err := t.queryRow(ctx, `SELECT id FROM cs WHERE connector = ? AND anchor = ?`, o.Connector, string(o.Anchor)).Scan(&id)
		if err == nil && id != o.ID {
			return fmt.Errorf("anchor %q of connector %s belongs to object %s, not %s: %w", o.Anchor, o.Connector, id, o.ID, store.ErrConflict)
		}
	}
	return fmt.Errorf("%w (%v)", store.ErrConflict, cause)
}

func (t *tx) TouchCS(ctx context.Context, ids []string, gen int64) error {
	if _, err := execIn(ctx, t, `UPDATE cs SET import_gen = ? WHERE id IN (%s)`, []any{gen}, ids); err != nil {
		return fmt.Errorf("sqlstore: touch cs objects: %w", err)
	}
	return nil
}

func (t *tx) DeleteCS(ctx context.Context, ids []string) error {
	if _, err := execIn(ctx, t, `DELETE FROM cs_index WHERE cs_id IN (%s)`, nil, ids); err != nil {
		return fmt.Errorf("sqlstore: delete cs objects: %w", err)
	}
	if _, err := execIn(ctx, t, `DELETE FROM cs WHERE id IN (%s)`, nil, ids); err != nil {
		return fmt.Errorf("sqlstore: delete cs objects: %w", err)
	}
	return nil
}

func (t *tx) MarkUnseenDeleted(ctx context.Context, connector, partition string, gen int64) (int, error) {
	q := `UPDATE cs SET pending_import = ? WHERE connector = ? AND kind = ? AND anchor IS NOT NULL
AND import_gen < ? AND pending_import <> ?`
	args := []any{int64(idsync.ImportDelete), connector, int64(idsync.KindStaging), gen, int64(idsync.ImportDelete)}
	if partition != "" {
		q += ` AND part = ?`
		args = append(args, partition)
	}
	res, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mark unseen cs objects of %s deleted: %w", connector, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("sqlstore: mark unseen cs objects of %s deleted: %w", connector, err)
	}
	return int(n), nil
}

// csWhere builds the WHERE clause of f. It reports whether the attribute
// filter is left to Go (the attribute is not indexed for f.Connector).
func (t *tx) csWhere(ctx context.Context, f store.CSFilter, paged bool) (string, []any, bool, error) {
	var conds []string
	var args []any
	if f.Connector != "" {
		conds = append(conds, "connector = ?")
		args = append(args, f.Connector)
	}
	if f.ObjectType != "" {
		conds = append(conds, "object_type = ?")
		args = append(args, f.ObjectType)
	}
	if f.Kind != nil {
		conds = append(conds, "kind = ?")
		args = append(args, int64(*f.Kind))
	}
	if f.PendingImport {
		conds = append(conds, "pending_import <> 0")
	}
	if f.PendingDelete {
		conds = append(conds, "has_export = 2")
	}
	if f.PendingExport {
		conds = append(conds, "has_export <> 0")
	}
	if f.Joined != nil {
		if *f.Joined {
			conds = append(conds, "mv_id IS NOT NULL")
		} else {
			conds = append(conds, "mv_id IS NULL")
		}
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
		if f.Connector != "" && ix.HasCS(f.Connector, f.Attr) {
			sub := "id IN (SELECT cs_id FROM cs_index WHERE connector = ? AND attr = ?"
			args = append(args, f.Connector, f.Attr)
			if f.Value != "" {
				sub += " AND fold = ?"
				args = append(args, store.FoldValue(f.Value))
			}
			conds = append(conds, sub+")")
		} else if f.Indexed {
			return "", nil, false, sqlshared.ErrCSNotIndexed(f.Connector, f.Attr)
		} else {
			goFilter = true
		}
	}
	if len(conds) == 0 {
		return "", args, goFilter, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, goFilter, nil
}

// hasAttrValue reports whether a holds attr with (when fold is not
// empty) a value whose folded text is fold.
func hasAttrValue(a idsync.Attrs, attr, fold string) bool {
	vs := a[attr]
	if len(vs) == 0 {
		return false
	}
	if fold == "" {
		return true
	}
	for _, v := range vs {
		if store.FoldValue(v.String()) == fold {
			return true
		}
	}
	return false
}

func (t *tx) ListCS(ctx context.Context, f store.CSFilter) ([]*idsync.CSObject, error) {
	objs, err := t.listCS(ctx, f)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: list cs objects: %w", err)
	}
	return objs, nil
}

func (t *tx) listCS(ctx context.Context, f store.CSFilter) ([]*idsync.CSObject, error) {
	where, args, goFilter, err := t.csWhere(ctx, f, true)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + csCols + ` FROM cs` + where + ` ORDER BY id`
	if f.Limit > 0 && !goFilter {
		q += ` LIMIT ?`
		args = append(args, f.Limit)
	}
	rows, err := t.query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var objs []*idsync.CSObject
	fold := store.FoldValue(f.Value)
	for rows.Next() {
		o, err := scanCS(rows)
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

func (t *tx) CountCS(ctx context.Context, f store.CSFilter) (int, error) {
	f.After, f.Limit = "", 0
	where, args, goFilter, err := t.csWhere(ctx, f, false)
	if err != nil {
		return 0, fmt.Errorf("sqlstore: count cs objects: %w", err)
	}
	if goFilter {
		objs, err := t.listCS(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("sqlstore: count cs objects: %w", err)
		}
		return len(objs), nil
	}
	var n int
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM cs`+where, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlstore: count cs objects: %w", err)
	}
	return n, nil
}

func (t *tx) ClearCS(ctx context.Context, connector string) error {
	if _, err := t.exec(ctx, `DELETE FROM cs_index WHERE connector = ?`, connector); err != nil {
		return fmt.Errorf("sqlstore: clear connector space %s: %w", connector, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM cs WHERE connector = ?`, connector); err != nil {
		return fmt.Errorf("sqlstore: clear connector space %s: %w", connector, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
