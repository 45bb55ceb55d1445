package sqlconn

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// row is one object read from a table, view or query.
type row struct {
	raw     []any // the anchor columns as scanned, for keyset paging
	anchor  idsync.Anchor
	attrs   idsync.Attrs
	deleted bool
	err     error
}

func (r *row) entry(ot *otype) idsync.Entry {
	return idsync.Entry{ObjectType: ot.name, Anchor: r.anchor, DN: string(r.anchor), Attrs: r.attrs,
		Source: sourceName(ot.cfg) + " " + string(r.anchor), Err: r.err}
}

// filter writes a condition into a page query.
type filter func(b *sqlBuilder)

// Import implements connector.Importer: every live row of every object
// type, read in keyset pages ordered by the anchor, with the child rows
// of each page's range. The watermark records, per object type, where a
// delta import starts: the watermark column's maximum or the change
// table's last sequence number, taken before reading, or the snapshot of
// what was read.
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	wm := c.newMark()
	caps := c.cfg.Capabilities()
	for _, ot := range c.types {
		tm, err := c.startMark(ctx, ot)
		if err != nil {
			return nil, err
		}
		var snap *snapshotBuilder
		if caps.DeltaImport && (ot.cfg.Delta == nil || ot.cfg.Delta.Mode == DeltaSnapshot) {
			snap = &snapshotBuilder{}
		}
		err = c.scan(ctx, ot, nil, false, opts.PageSize, func(r *row) error {
			if snap != nil && r.err == nil {
				snap.add(r.anchor, hashAttrs(r.attrs))
			}
			return emit(r.entry(ot))
		})
		if err != nil {
			return nil, err
		}
		if snap != nil {
			tm.Snapshot = snap.encode()
		}
		wm.Types[ot.name] = tm
	}
	if !caps.DeltaImport {
		return nil, nil
	}
	return wm.encode()
}

// scan reads the rows of ot matching where in keyset pages and calls fn
// for each. With deleted, soft-deleted rows are read too (and marked).
func (c *conn) scan(ctx context.Context, ot *otype, where filter, deleted bool, pageSize int, fn func(*row) error) error {
	if pageSize <= 0 || pageSize > c.page {
		pageSize = c.page
	}
	var last []any
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		b := c.pageQuery(ot, where, deleted, last, pageSize)
		page, err := c.readRows(ctx, ot, b.String(), b.args)
		if err != nil {
			return err
		}
		if len(page) == 0 {
			return nil
		}
		next := page[len(page)-1].raw
		if len(ot.mv) > 0 {
			lo, hi := last, next
			err := c.loadChildren(ctx, ot, page, func(cb *sqlBuilder, cols []string) {
				if lo != nil {
					cb.keyset("c.", cols, lo, ">").str(" AND ")
				}
				cb.str("NOT ").keyset("c.", cols, hi, ">")
			})
			if err != nil {
				return err
			}
		}
		for i := range page {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := fn(&page[i]); err != nil {
				return err
			}
		}
		if len(page) < pageSize {
			return nil
		}
		last = next
	}
}

// pageQuery builds SELECT cols FROM source q WHERE … ORDER BY anchor LIMIT n.
func (c *conn) pageQuery(ot *otype, where filter, deleted bool, after []any, n int) *sqlBuilder {
	b := &sqlBuilder{d: c.d}
	b.str("SELECT ")
	for i, col := range ot.cols {
		if i > 0 {
			b.str(", ")
		}
		b.str("q.").ident(col.name)
	}
	b.str(" FROM ").str(ot.from)
	and := " WHERE "
	if !deleted && ot.softDel >= 0 {
		b.str(and)
		c.liveCond(b, ot)
		and = " AND "
	}
	if where != nil {
		b.str(and).str("(")
		where(b)
		b.str(")")
		and = " AND "
	}
	if after != nil {
		b.str(and)
		b.keyset("q.", ot.anchorCol, after, ">")
	}
	b.str(" ORDER BY ").idents("q.", ot.anchorCol)
	b.str(c.d.limit(n))
	return b
}

// liveCond writes the condition that a row is not soft-deleted.
func (c *conn) liveCond(b *sqlBuilder, ot *otype) {
	col := ot.cols[ot.softDel]
	v, err := toDB(idsync.String(ot.softDeleteValue()), col.store)
	if err != nil {
		v = ot.softDeleteValue()
	}
	b.str("(q.").ident(col.name).str(" IS NULL OR q.").ident(col.name).str(" <> ").arg(v).str(")")
}

func (ot *otype) softDeleteValue() string {
	if ot.cfg.SoftDelete.Value == "" {
		return "true"
	}
	return ot.cfg.SoftDelete.Value
}

func (ot *otype) softLiveValue() string {
	sd := ot.cfg.SoftDelete
	if sd.LiveValue != "" {
		return sd.LiveValue
	}
	switch sd.Value {
	case "", "true", "True", "TRUE":
		return "false"
	case "1":
		return "0"
	case "Y":
		return "N"
	case "y":
		return "n"
	}
	return ""
}

// readRows runs a page query and converts its rows.
func (c *conn) readRows(ctx context.Context, ot *otype, q string, args []any) ([]row, error) {
	rows, err := c.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, classify("read "+ot.name, err)
	}
	defer rows.Close()
	vals := make([]any, len(ot.cols))
	ptrs := make([]any, len(ot.cols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	var page []row
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return nil, classify("read "+ot.name, err)
		}
		page = append(page, c.convertRow(ot, vals))
	}
	if err := rows.Err(); err != nil {
		return nil, classify("read "+ot.name, err)
	}
	return page, nil
}

// convertRow turns scanned values into a row. A value that cannot be
// converted makes the row an import error, not the import's failure.
func (c *conn) convertRow(ot *otype, vals []any) row {
	r := row{raw: make([]any, len(ot.anchor)), attrs: make(idsync.Attrs, len(ot.cols)+len(ot.mv))}
	parts := make([]string, len(ot.anchor))
	for i, ci := range ot.anchor {
		r.raw[i] = keepRaw(vals[ci])
		v, ok, err := fromDB(vals[ci], ot.cols[ci].store)
		if err != nil || !ok {
			r.err = fmt.Errorf("anchor column %s is NULL or unreadable", ot.anchorCol[i])
		}
		parts[i] = v.String()
	}
	r.anchor = joinAnchor(parts)
	backing := make([]idsync.Value, len(ot.cols)) // one allocation for every single value of the row
	for i, col := range ot.cols {
		v, ok, err := fromDB(vals[i], col.attr)
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("column %s: %w", col.name, err)
			}
			continue
		}
		if ok && !col.hidden {
			backing[i] = v
			r.attrs[col.name] = backing[i : i+1 : i+1]
		}
	}
	if ot.softDel >= 0 {
		if v, ok, _ := fromDB(vals[ot.softDel], ot.cols[ot.softDel].attr); ok {
			marker, err := idsync.String(ot.softDeleteValue()).Convert(v.Type)
			r.deleted = err == nil && marker.Equal(v)
		}
	}
	return r
}

// keepRaw copies byte slices, which drivers reuse between rows.
func keepRaw(v any) any {
	if b, ok := v.([]byte); ok {
		return append([]byte(nil), b...)
	}
	return v
}

// loadChildren reads the multi-valued attributes of page from their
// child tables; where writes the condition on the parent columns.
func (c *conn) loadChildren(ctx context.Context, ot *otype, page []row, where func(b *sqlBuilder, cols []string)) error {
	byAnchor := make(map[idsync.Anchor]*row, len(page))
	for i := range page {
		byAnchor[page[i].anchor] = &page[i]
	}
	for _, m := range ot.mv {
		b := &sqlBuilder{d: c.d}
		b.str("SELECT ").idents("c.", m.parent).str(", c.").ident(m.value).str(" FROM ").name(m.table).str(" c WHERE ")
		where(b, m.parent)
		if err := c.readChildren(ctx, ot, m, b, byAnchor); err != nil {
			return err
		}
	}
	return nil
}

func (c *conn) readChildren(ctx context.Context, ot *otype, m mvAttr, b *sqlBuilder, byAnchor map[idsync.Anchor]*row) error {
	rows, err := c.db.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return classify("read "+m.table, err)
	}
	defer rows.Close()
	vals := make([]any, len(m.parent)+1)
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	parts := make([]string, len(m.parent))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return classify("read "+m.table, err)
		}
		for i := range m.parent {
			v, _, _ := fromDB(vals[i], ot.cols[ot.anchor[i]].store)
			parts[i] = v.String()
		}
		r := byAnchor[joinAnchor(parts)]
		if r == nil {
			continue // a child of a row outside this page or filtered out
		}
		v, ok, err := fromDB(vals[len(m.parent)], m.typ)
		if err != nil {
			if r.err == nil {
				r.err = fmt.Errorf("%s.%s: %w", m.table, m.value, err)
			}
			continue
		}
		if ok {
			r.attrs[m.attr] = append(r.attrs[m.attr], v)
		}
	}
	if err := rows.Err(); err != nil {
		return classify("read "+m.table, err)
	}
	return nil
}

// rowsByAnchor reads the rows of the given anchors (soft-deleted ones
// included), with their child rows.
func (c *conn) rowsByAnchor(ctx context.Context, ot *otype, anchors []idsync.Anchor) (map[idsync.Anchor]*row, error) {
	args := make([][]any, 0, len(anchors))
	for _, a := range anchors {
		v, err := ot.anchorArgs(a)
		if err != nil {
			return nil, idsync.E("import", idsync.KindInvalid, err)
		}
		args = append(args, v)
	}
	in := func(b *sqlBuilder, prefix string, cols []string) {
		b.str("(")
		for i, a := range args {
			if i > 0 {
				b.str(" OR ")
			}
			b.str("(").eqAll(prefix, cols, a).str(")")
		}
		b.str(")")
	}
	b := c.pageQuery(ot, func(b *sqlBuilder) { in(b, "q.", ot.anchorCol) }, true, nil, len(anchors)+1)
	page, err := c.readRows(ctx, ot, b.String(), b.args)
	if err != nil {
		return nil, err
	}
	if len(ot.mv) > 0 && len(page) > 0 {
		if err := c.loadChildren(ctx, ot, page, func(cb *sqlBuilder, cols []string) { in(cb, "c.", cols) }); err != nil {
			return nil, err
		}
	}
	out := make(map[idsync.Anchor]*row, len(page))
	for i := range page {
		out[page[i].anchor] = &page[i]
	}
	return out, nil
}

// scalar runs a one-value query.
func (c *conn) scalar(ctx context.Context, q string, args ...any) (any, error) {
	var v any
	err := c.db.QueryRowContext(ctx, q, args...).Scan(&v)
	if err == sql.ErrNoRows {
		return nil, nil
	}
	return keepRaw(v), err
}
