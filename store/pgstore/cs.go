package pgstore

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/internal/sqlshared"
)

const csCols = `id, connector, object_type, kind, part, anchor, dn, mv_id, pending_import, import_gen, version, data`

// scanCS reads a row of csCols.
func scanCS(rows pgx.Rows) (*idsync.CSObject, error) {
	var (
		o            idsync.CSObject
		kind, pi     int16
		anchor, mvID *string
		data         []byte
	)
	if err := rows.Scan(&o.ID, &o.Connector, &o.ObjectType, &kind, &o.Partition, &anchor, &o.DN, &mvID, &pi, &o.ImportGen, &o.Version, &data); err != nil {
		return nil, err
	}
	o.Kind = idsync.ObjectKind(kind)
	if anchor != nil {
		o.Anchor = idsync.Anchor(*anchor)
	}
	if mvID != nil {
		o.MVID = *mvID
	}
	o.PendingImport = idsync.ImportType(pi)
	if err := store.DecodeCSData(data, &o); err != nil {
		return nil, fmt.Errorf("cs object %s: %w", o.ID, err)
	}
	return &o, nil
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func strs[K ~string](keys []K) []string {
	out := make([]string, len(keys))
	for i, k := range keys {
		out[i] = string(k)
	}
	return out
}

func (t *tx) GetCS(ctx context.Context, id string) (*idsync.CSObject, error) {
	m, err := t.csByIDs(ctx, []string{id})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get cs object %s: %w", id, err)
	}
	o, ok := m[id]
	if !ok {
		return nil, fmt.Errorf("pgstore: get cs object %s: %w", id, store.ErrNotFound)
	}
	return o, nil
}

func (t *tx) CSByIDs(ctx context.Context, ids []string) (map[string]*idsync.CSObject, error) {
	m, err := t.csByIDs(ctx, ids)
	if err != nil {
		return nil, fmt.Errorf("pgstore: get cs objects by ID: %w", err)
	}
	return m, nil
}

func (t *tx) csByIDs(ctx context.Context, ids []string) (map[string]*idsync.CSObject, error) {
	m := make(map[string]*idsync.CSObject, len(ids))
	if len(ids) == 0 {
		return m, t.check()
	}
	err := t.each(ctx, `SELECT `+csCols+` FROM cs WHERE id = ANY($1)`, []any{ids}, func(rows pgx.Rows) error {
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
	if len(anchors) == 0 {
		return m, nil
	}
	err := t.each(ctx, `SELECT `+csCols+` FROM cs WHERE connector = $1 AND anchor = ANY($2)`, []any{connector, strs(anchors)}, func(rows pgx.Rows) error {
		o, err := scanCS(rows)
		if err == nil {
			m[o.Anchor] = o
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get cs objects of %s by anchor: %w", connector, err)
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
	if len(dns) == 0 {
		return m, nil
	}
	err := t.each(ctx, `SELECT `+csCols+` FROM cs WHERE connector = $1 AND dn_norm = ANY($2)`, []any{connector, sqlshared.FoldAll(dns)}, func(rows pgx.Rows) error {
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
		return nil, fmt.Errorf("pgstore: get cs objects of %s by DN: %w", connector, err)
	}
	return m, nil
}

const linkCols = `id, connector, kind, anchor, dn, mv_id, obsolete`

func scanLink(rows pgx.Rows) (store.Link, error) {
	var l store.Link
	var kind, obsolete int16
	var anchor, mv *string
	if err := rows.Scan(&l.ID, &l.Connector, &kind, &anchor, &l.DN, &mv, &obsolete); err != nil {
		return l, err
	}
	l.Kind = idsync.ObjectKind(kind)
	if anchor != nil {
		l.Anchor = idsync.Anchor(*anchor)
	}
	if mv != nil {
		l.MVID = *mv
	}
	l.Obsolete = obsolete != 0
	return l, nil
}

func (t *tx) LinksByDN(ctx context.Context, connector string, dns []string) (map[string]store.Link, error) {
	m := make(map[string]store.Link, len(dns))
	if len(dns) == 0 {
		return m, nil
	}
	err := t.each(ctx, `SELECT `+linkCols+` FROM cs WHERE connector = $1 AND dn_norm = ANY($2)`, []any{connector, sqlshared.FoldAll(dns)}, func(rows pgx.Rows) error {
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
		return nil, fmt.Errorf("pgstore: get links of %s by DN: %w", connector, err)
	}
	return m, nil
}

func (t *tx) LinksByMV(ctx context.Context, connector string, mvIDs []string) (map[string][]store.Link, error) {
	m := make(map[string][]store.Link, len(mvIDs))
	if len(mvIDs) == 0 {
		return m, nil
	}
	q := `SELECT ` + linkCols + ` FROM cs WHERE mv_id = ANY($1)`
	args := []any{mvIDs}
	if connector != "" {
		q += ` AND connector = $2`
		args = append(args, connector)
	}
	err := t.each(ctx, q, args, func(rows pgx.Rows) error {
		l, err := scanLink(rows)
		if err == nil {
			m[l.MVID] = append(m[l.MVID], l)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get links by MV object: %w", err)
	}
	for _, ls := range m {
		slices.SortFunc(ls, func(a, b store.Link) int { return strings.Compare(a.ID, b.ID) })
	}
	return m, nil
}

func (t *tx) CSVersions(ctx context.Context, ids []string) (map[string]int64, error) {
	m := make(map[string]int64, len(ids))
	if len(ids) == 0 {
		return m, nil
	}
	err := t.each(ctx, `SELECT id, version FROM cs WHERE id = ANY($1)`, []any{ids}, func(rows pgx.Rows) error {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		m[id] = v
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get cs object versions: %w", err)
	}
	return m, nil
}

func (t *tx) CSByMV(ctx context.Context, mvIDs []string) (map[string][]*idsync.CSObject, error) {
	m := make(map[string][]*idsync.CSObject, len(mvIDs))
	if len(mvIDs) == 0 {
		return m, nil
	}
	err := t.each(ctx, `SELECT `+csCols+` FROM cs WHERE mv_id = ANY($1)`, []any{mvIDs}, func(rows pgx.Rows) error {
		o, err := scanCS(rows)
		if err == nil {
			m[o.MVID] = append(m[o.MVID], o)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("pgstore: get cs objects by MV object: %w", err)
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
			return nil, fmt.Errorf("pgstore: find cs objects of %s by %s: %w", connector, attr, err)
		}
	}
	return m.Result(), nil
}

func (t *tx) findCS(ctx context.Context, connector, attr string, values []string, caseSensitive bool, m *sqlshared.Matches) error {
	scan2 := func(rows pgx.Rows) error {
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
			return t.each(ctx, `SELECT anchor, id FROM cs WHERE connector = $1 AND anchor = ANY($2)`, []any{connector, values}, scan2)
		}
		// Anchors are not indexed by folded value (and lower() of the "C"
		// collation folds ASCII only): fold the connector's anchors in Go.
		return t.each(ctx, `SELECT anchor, id FROM cs WHERE connector = $1 AND anchor IS NOT NULL`, []any{connector}, scan2)
	case "dn":
		return t.each(ctx, `SELECT dn, id FROM cs WHERE connector = $1 AND dn_norm = ANY($2)`, []any{connector, sqlshared.FoldAll(values)}, scan2)
	}
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	if !ix.HasCS(connector, attr) {
		return sqlshared.ErrCSNotIndexed(connector, attr)
	}
	return t.each(ctx, `SELECT value, cs_id FROM cs_index WHERE connector = $1 AND attr = $2 AND fold = ANY($3)`, []any{connector, attr, sqlshared.FoldAll(values)}, scan2)
}

func (t *tx) PutCS(ctx context.Context, objs []*idsync.CSObject) error {
	if err := t.putCS(ctx, objs); err != nil {
		return fmt.Errorf("pgstore: put cs objects: %w", err)
	}
	return nil
}

// The cs columns in insert order, with their array types.
var (
	csInsertCols  = []string{"id", "connector", "object_type", "kind", "part", "anchor", "dn", "dn_norm", "mv_id", "pending_import", "has_export", "import_gen", "obsolete", "data"}
	csInsertTypes = []string{"text[]", "text[]", "text[]", "smallint[]", "text[]", "text[]", "text[]", "text[]", "text[]", "smallint[]", "smallint[]", "bigint[]", "smallint[]", "bytea[]"}
	csIndexCols   = []string{"connector", "attr", "fold", "value", "cs_id"}
	csIndexTypes  = []string{"text[]", "text[]", "text[]", "text[]", "text[]"}
)

// csUpdate rewrites every column of the objects that exist, from one
// array per column, and counts the write in version.
var csUpdate = func() string {
	var set, cols, arrs []string
	for i, c := range csInsertCols {
		cols = append(cols, c)
		arrs = append(arrs, fmt.Sprintf("$%d::%s", i+1, csInsertTypes[i]))
		if c != "id" {
			set = append(set, c+" = v."+c)
		}
	}
	return "UPDATE cs SET " + strings.Join(set, ", ") + ", version = cs.version + 1 FROM unnest(" +
		strings.Join(arrs, ", ") + ") AS v(" + strings.Join(cols, ", ") + ") WHERE cs.id = v.id"
}()

func csRow(o *idsync.CSObject, blob []byte) []any {
	hasExport := int64(0)
	if o.PendingExport != nil {
		hasExport = 1
		if o.PendingExport.Op == idsync.OpDelete {
			hasExport = 2
		}
	}
	return []any{o.ID, o.Connector, o.ObjectType, int64(o.Kind), o.Partition, nullString(string(o.Anchor)),
		o.DN, store.FoldValue(o.DN), nullString(o.MVID), int64(o.PendingImport), hasExport, o.ImportGen, boolInt(o.Obsolete), blob}
}

func (t *tx) putCS(ctx context.Context, objs []*idsync.CSObject) error {
	if len(objs) == 0 {
		return t.check()
	}
	for _, o := range objs {
		if o == nil || o.ID == "" || o.Connector == "" {
			return fmt.Errorf("a cs object needs an ID and a connector")
		}
	}
	objs = sqlshared.DedupeByID(objs, func(o *idsync.CSObject) string { return o.ID })
	if err := checkNUL(objs); err != nil {
		return err
	}
	// Two objects of the batch with one anchor: refuse before writing.
	seen := make(map[[2]string]string, len(objs))
	for _, o := range objs {
		if o.Anchor == "" {
			continue
		}
		k := [2]string{o.Connector, string(o.Anchor)}
		if other, ok := seen[k]; ok {
			return fmt.Errorf("objects %s and %s of connector %s both have anchor %q: %w", other, o.ID, o.Connector, o.Anchor, store.ErrConflict)
		}
		seen[k] = o.ID
	}
	ix, err := t.indexes(ctx)
	if err != nil {
		return err
	}
	ids := make([]string, len(objs))
	for i, o := range objs {
		ids[i] = o.ID
	}
	curVersion := make(map[string]int64, len(objs))
	err = t.each(ctx, `SELECT id, version FROM cs WHERE id = ANY($1)`, []any{ids}, func(rows pgx.Rows) error {
		var id string
		var v int64
		if err := rows.Scan(&id, &v); err != nil {
			return err
		}
		curVersion[id] = v
		return nil
	})
	if err != nil {
		return err
	}
	buf := t.buf[:0]
	offs := make([]int, len(objs)+1)
	for i, o := range objs {
		buf = t.enc.EncodeCSData(buf, o)
		offs[i+1] = len(buf)
	}
	t.buf = buf
	var ins, upd [][]any
	for i, o := range objs {
		row := csRow(o, buf[offs[i]:offs[i+1]:offs[i+1]])
		if _, ok := curVersion[o.ID]; ok {
			upd = append(upd, row)
		} else {
			ins = append(ins, row)
		}
	}
	if len(upd) > 0 {
		if err := t.check(); err != nil {
			return err
		}
		t.count("cs", len(upd))
		if _, err := t.ptx.Exec(ctx, csUpdate, columnArrays(upd, csInsertTypes)...); err != nil {
			return conflictError(err)
		}
	}
	if err := t.insert(ctx, "cs", csInsertCols, csInsertTypes, ins); err != nil {
		return conflictError(err)
	}
	for _, o := range objs {
		o.Version = curVersion[o.ID] + 1
	}
	if len(ix.CS) == 0 {
		return nil
	}
	var idxIDs []string
	var rows [][]any
	for _, o := range objs {
		if attrs := ix.CS[o.Connector]; len(attrs) > 0 {
			idxIDs = append(idxIDs, o.ID)
			sqlshared.EachIndexValue(o.Attrs, attrs, func(attr, fold, value string) {
				rows = append(rows, []any{o.Connector, attr, fold, value, o.ID})
			})
		}
	}
	if len(idxIDs) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM cs_index WHERE cs_id = ANY($1)`, idxIDs); err != nil {
		return err
	}
	return t.insert(ctx, "cs_index", csIndexCols, csIndexTypes, rows)
}

// conflictError turns a unique violation into store.ErrConflict, naming
// the anchor from the server's detail ("Key (connector, anchor)=(hr, E1)
// already exists.").
func conflictError(err error) error {
	if !isConflict(err) {
		return err
	}
	detail := err.Error()
	if pe, ok := err.(*pgconn.PgError); ok && pe.Detail != "" {
		detail = pe.Detail
	}
	return fmt.Errorf("anchor already taken: %s: %w", detail, store.ErrConflict)
}

func (t *tx) TouchCS(ctx context.Context, ids []string, gen int64) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `UPDATE cs SET import_gen = $1 WHERE id = ANY($2)`, gen, ids); err != nil {
		return fmt.Errorf("pgstore: touch cs objects: %w", err)
	}
	return nil
}

func (t *tx) DeleteCS(ctx context.Context, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if _, err := t.exec(ctx, `DELETE FROM cs_index WHERE cs_id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("pgstore: delete cs objects: %w", err)
	}
	if _, err := t.exec(ctx, `DELETE FROM cs WHERE id = ANY($1)`, ids); err != nil {
		return fmt.Errorf("pgstore: delete cs objects: %w", err)
	}
	return nil
}

func (t *tx) MarkUnseenDeleted(ctx context.Context, connector, partition string, gen int64) (int, error) {
	q := `UPDATE cs SET pending_import = $1 WHERE connector = $2 AND kind = $3 AND anchor IS NOT NULL
AND import_gen < $4 AND pending_import <> $1`
	args := []any{int64(idsync.ImportDelete), connector, int64(idsync.KindStaging), gen}
	if partition != "" {
		q += ` AND part = $5`
		args = append(args, partition)
	}
	tag, err := t.exec(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("pgstore: mark unseen cs objects of %s deleted: %w", connector, err)
	}
	return int(tag.RowsAffected()), nil
}

// csWhere builds the WHERE clause of f. It reports whether the attribute
// filter is left to Go (the attribute is not indexed for f.Connector).
func (t *tx) csWhere(ctx context.Context, f store.CSFilter, p *params, paged bool) (string, bool, error) {
	var conds []string
	if f.Connector != "" {
		conds = append(conds, "connector = "+p.add(f.Connector))
	}
	if f.ObjectType != "" {
		conds = append(conds, "object_type = "+p.add(f.ObjectType))
	}
	if f.Kind != nil {
		conds = append(conds, "kind = "+p.add(int64(*f.Kind)))
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
		conds = append(conds, "id > "+p.add(f.After))
	}
	goFilter := false
	if f.Attr != "" {
		ix, err := t.indexes(ctx)
		if err != nil {
			return "", false, err
		}
		if f.Connector != "" && ix.HasCS(f.Connector, f.Attr) {
			sub := "id IN (SELECT cs_id FROM cs_index WHERE connector = " + p.add(f.Connector) + " AND attr = " + p.add(f.Attr)
			if f.Value != "" {
				sub += " AND fold = " + p.add(store.FoldValue(f.Value))
			}
			conds = append(conds, sub+")")
		} else if f.Indexed {
			return "", false, sqlshared.ErrCSNotIndexed(f.Connector, f.Attr)
		} else {
			goFilter = true
		}
	}
	if len(conds) == 0 {
		return "", goFilter, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), goFilter, nil
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
		return nil, fmt.Errorf("pgstore: list cs objects: %w", err)
	}
	return objs, nil
}

func (t *tx) listCS(ctx context.Context, f store.CSFilter) ([]*idsync.CSObject, error) {
	var p params
	where, goFilter, err := t.csWhere(ctx, f, &p, true)
	if err != nil {
		return nil, err
	}
	q := `SELECT ` + csCols + ` FROM cs` + where + ` ORDER BY id`
	if f.Limit > 0 && !goFilter {
		q += ` LIMIT ` + p.add(int64(f.Limit))
	}
	var objs []*idsync.CSObject
	fold := store.FoldValue(f.Value)
	rows, err := t.query(ctx, q, p.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
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
	var p params
	where, goFilter, err := t.csWhere(ctx, f, &p, false)
	if err != nil {
		return 0, fmt.Errorf("pgstore: count cs objects: %w", err)
	}
	if goFilter {
		objs, err := t.listCS(ctx, f)
		if err != nil {
			return 0, fmt.Errorf("pgstore: count cs objects: %w", err)
		}
		return len(objs), nil
	}
	var n int64
	if err := t.queryRow(ctx, `SELECT COUNT(*) FROM cs`+where, p.args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("pgstore: count cs objects: %w", err)
	}
	return int(n), nil
}

func (t *tx) ClearCS(ctx context.Context, connector string) error {
	if _, err := t.exec(ctx, `DELETE FROM cs_index WHERE connector = $1`, connector); err != nil {
		return fmt.Errorf("pgstore: clear connector space %s: %w", connector, err)
	}
	if _, err := t.exec(ctx, `DELETE FROM cs WHERE connector = $1`, connector); err != nil {
		return fmt.Errorf("pgstore: clear connector space %s: %w", connector, err)
	}
	return nil
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// checkNUL refuses objects whose column values hold a NUL byte, which
// PostgreSQL text cannot store, naming the object.
func checkNUL(objs []*idsync.CSObject) error {
	for _, o := range objs {
		for what, v := range map[string]string{"ID": o.ID, "connector": o.Connector, "object type": o.ObjectType,
			"partition": o.Partition, "anchor": string(o.Anchor), "DN": o.DN, "MV link": o.MVID} {
			if strings.IndexByte(v, 0) >= 0 {
				return fmt.Errorf("cs object %s (DN %q): its %s holds a NUL byte, which PostgreSQL text cannot store", o.ID, o.DN, what)
			}
		}
	}
	return nil
}
