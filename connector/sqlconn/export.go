package sqlconn

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// OpenExport implements connector.Exporter.
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	return &session{c: c}, nil
}

type session struct {
	c *conn
	// raw, on PostgreSQL, runs f on the page's connection (inside its
	// transaction) with the pgx connection, for COPY.
	raw func(f func(*pgx.Conn) error) error
	// plans holds each object type's insert plan, made on first use.
	plans map[*otype]*insertPlan
	// vals and seen are planInsertFast's scratch space, one slot per
	// attribute of the plan.
	vals [][]idsync.Value
	seen []bool
	// stmts holds the multi-row INSERTs prepared for the session by
	// shape (table, columns, rows), on dialects whose driver would
	// otherwise prepare and close a statement per call; nil for a shape
	// that failed to prepare. want holds the SQL of shapes run
	// unprepared, prepared before the next page.
	stmts map[string]*sql.Stmt
	want  map[string]string
	// autoinc holds consecutiveIDs' answer per object type (MySQL).
	autoinc map[*otype]int64
}

// maxStmts bounds the statements a session prepares.
const maxStmts = 16

// prepareWanted prepares the shapes of the previous pages, before the
// page takes its connection: the pool hands out the connection the
// previous page gave back, which the statement is then prepared on. A
// statement that fails to prepare is run unprepared.
func (s *session) prepareWanted(ctx context.Context) {
	for key, q := range s.want {
		delete(s.want, key)
		if ctx.Err() != nil {
			return
		}
		st, err := s.c.db.PrepareContext(ctx, q)
		if err != nil {
			s.c.log.Debug("sql: export: statement not prepared", "error", err)
			st = nil
		}
		if s.stmts == nil {
			s.stmts = map[string]*sql.Stmt{}
		}
		s.stmts[key] = st
	}
}

func (s *session) Close(context.Context) error {
	var errs []error
	for _, st := range s.stmts {
		if st != nil {
			errs = append(errs, st.Close())
		}
	}
	s.stmts, s.want = nil, nil
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("export: close statements: %w", err)
	}
	return nil
}

// execer is a transaction (or, in tests, the pool).
type execer interface {
	ExecContext(ctx context.Context, q string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, q string, args ...any) (*sql.Rows, error)
}

// ExportPage implements connector.ExportSession. The page runs in one
// transaction, committed before ExportPage returns. Changes go in groups
// under a savepoint, consecutive inserts of the same shape as multi-row
// INSERTs; when anything in a group fails, the group is rolled back to
// its savepoint and replayed one change at a time, each under its own
// savepoint, so that every change gets its own result. The first group
// needs no savepoint: rolling it back is rolling back the transaction,
// which then begins again. A database that goes away fails the whole
// page (nothing of it is committed).
func (s *session) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	c := s.c
	s.prepareWanted(ctx)
	conn, err := c.db.Conn(ctx)
	if err != nil {
		return nil, classify("export: connect", err)
	}
	defer conn.Close()
	tx, err := conn.BeginTx(ctx, nil)
	if err != nil {
		return nil, classify("export: begin", err)
	}
	defer func() { tx.Rollback() }() // the transaction the page ends with
	s.raw = nil
	if c.d.name() == "postgres" {
		s.raw = func(f func(*pgx.Conn) error) error {
			return conn.Raw(func(dc any) error {
				sc, ok := dc.(*stdlib.Conn)
				if !ok {
					return fmt.Errorf("sql: unexpected PostgreSQL driver connection %T", dc)
				}
				return f(sc.Conn())
			})
		}
	}
	res := make([]connector.ExportResult, len(changes))
	for i := range changes {
		res[i].ID = changes[i].ID
	}
	group := max(c.batch, 1)
	for start := 0; start < len(changes); start += group {
		end := min(start+group, len(changes))
		if err := s.group(ctx, conn, &tx, start == 0, changes[start:end], res[start:end]); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, classify("export: commit", err)
	}
	return res, nil
}

// group exports changes (fast path, then one by one on failure). The
// first group of a page (first) runs without a savepoint: on failure the
// transaction *txp is rolled back and a new one begun on conn. It
// returns an error only when the page must fail.
func (s *session) group(ctx context.Context, conn *sql.Conn, txp **sql.Tx, first bool, changes []idsync.Change, res []connector.ExportResult) error {
	c := s.c
	tx := *txp
	if !first {
		if err := s.exec(ctx, tx, c.d.savepoint("idsync_g")); err != nil {
			return err
		}
	}
	err := s.fast(ctx, tx, changes, res)
	if err == nil {
		if first {
			return nil
		}
		return s.releaseSP(ctx, tx, "idsync_g")
	}
	if idsync.KindOf(err) == idsync.KindTransient || ctx.Err() != nil {
		return err
	}
	if first {
		if err := tx.Rollback(); err != nil {
			return classify("export: rollback", err)
		}
		if tx, err = conn.BeginTx(ctx, nil); err != nil {
			return classify("export: begin", err)
		}
		*txp = tx
	} else if err := s.exec(ctx, tx, c.d.rollbackTo("idsync_g")); err != nil {
		return err
	}
	for i := range changes {
		res[i] = connector.ExportResult{ID: changes[i].ID}
		if err := s.exec(ctx, tx, c.d.savepoint("idsync_c")); err != nil {
			return err
		}
		a, err := s.change(ctx, tx, &changes[i])
		if err != nil {
			if idsync.KindOf(err) == idsync.KindTransient || ctx.Err() != nil {
				return err
			}
			if err := s.exec(ctx, tx, c.d.rollbackTo("idsync_c")); err != nil {
				return err
			}
			res[i].Err, res[i].ErrorType = err, errorType(err)
			continue
		}
		if err := s.releaseSP(ctx, tx, "idsync_c"); err != nil {
			return err
		}
		if changes[i].Op == idsync.OpAdd {
			res[i].Anchor, res[i].DN = a, string(a)
		}
	}
	if first {
		return nil
	}
	return s.releaseSP(ctx, tx, "idsync_g")
}

func (s *session) exec(ctx context.Context, tx execer, q string) error {
	if q == "" {
		return nil
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return classify("export: "+q, err)
	}
	return nil
}

func (s *session) releaseSP(ctx context.Context, tx execer, name string) error {
	return s.exec(ctx, tx, s.c.d.release(name))
}

// fast exports a group, batching runs of consecutive plain inserts of
// the same type and column set, and pipelining runs of inserts of the
// same type whose anchor the database assigns (PostgreSQL); its first
// error fails the group.
func (s *session) fast(ctx context.Context, tx execer, changes []idsync.Change, res []connector.ExportResult) error {
	for i := 0; i < len(changes); {
		ch := &changes[i]
		rows, err := s.generatedRun(ctx, tx, changes[i:])
		if err != nil {
			return err
		}
		if len(rows) > 1 {
			if err := s.insertGeneratedRun(ctx, tx, rows); err != nil {
				return err
			}
			for k, r := range rows {
				res[i+k].Anchor, res[i+k].DN = r.anchor, string(r.anchor)
			}
			i += len(rows)
			continue
		}
		if ins, ok := s.batchable(ch); ok {
			j := i + 1
			rows := []*insertRow{ins}
			for j < len(changes) {
				next, ok := s.batchable(&changes[j])
				if !ok || next.ot != ins.ot || !slices.Equal(next.cols, ins.cols) {
					break
				}
				rows = append(rows, next)
				j++
			}
			if err := s.insertBatch(ctx, tx, rows); err != nil {
				return err
			}
			for k, r := range rows {
				res[i+k].Anchor, res[i+k].DN = r.anchor, string(r.anchor)
			}
			i = j
			continue
		}
		a, err := s.change(ctx, tx, ch)
		if err != nil {
			return err
		}
		if ch.Op == idsync.OpAdd {
			res[i].Anchor, res[i].DN = a, string(a)
		}
		i++
	}
	return nil
}

// insertRow is one planned INSERT.
type insertRow struct {
	ot     *otype
	cols   []string
	args   []any
	anchor idsync.Anchor // known before inserting unless generated
	kids   [][]any       // per multi-valued attribute: bound values (nil: none)
}

// batchable plans ch as a plain insert that can join a multi-row INSERT:
// an add with no configured insert statement and a known anchor.
func (s *session) batchable(ch *idsync.Change) (*insertRow, bool) {
	if ch.Op != idsync.OpAdd {
		return nil, false
	}
	ot := s.c.byName[ch.ObjectType]
	if ot == nil || ot.cfg.Generated || ot.cfg.Table == "" || (ot.cfg.Export != nil && ot.cfg.Export.Insert != nil) {
		return nil, false
	}
	ins, err := s.planInsert(ot, ch)
	if err != nil || ins.anchor == "" {
		return nil, false
	}
	return ins, true
}

// insertPlan is what planning an insert needs of an object type, worked
// out once per session: the attributes an add may carry (the columns that
// are not hidden, then the multi-valued attributes a column does not
// shadow), in name order, which is the column order of the INSERT.
type insertPlan struct {
	names []string
	slot  map[string]int // name -> index in names
	col   []int          // per slot: index in ot.cols, or -1
	mv    []int          // per slot: index in ot.mv, or -1
	// cols is the column list of the previous row planned, shared by
	// the rows that have the same one.
	cols []string
}

func (s *session) plan(ot *otype) *insertPlan {
	if p := s.plans[ot]; p != nil {
		return p
	}
	p := &insertPlan{slot: map[string]int{}}
	for i, col := range ot.cols {
		if !col.hidden {
			p.slot[col.name] = -1 - i
		}
	}
	for k, m := range ot.mv {
		if _, ok := p.slot[m.attr]; !ok {
			p.slot[m.attr] = len(ot.cols) + k
		}
	}
	for n := range p.slot {
		p.names = append(p.names, n)
	}
	slices.Sort(p.names)
	for i, n := range p.names {
		c, m := -1, -1
		if x := p.slot[n]; x < 0 {
			c = -1 - x
		} else {
			m = x - len(ot.cols)
		}
		p.col, p.mv = append(p.col, c), append(p.mv, m)
		p.slot[n] = i
	}
	if s.plans == nil {
		s.plans = map[*otype]*insertPlan{}
	}
	s.plans[ot] = p
	return p
}

// planInsert binds an add's attributes to columns and child rows.
func (s *session) planInsert(ot *otype, ch *idsync.Change) (*insertRow, error) {
	if ins, ok := s.planInsertFast(ot, ch); ok {
		return ins, nil
	}
	return s.planInsertMods(ot, ch)
}

// planInsertFast plans the common add, whose mods name each attribute
// once, replace it (or add at most one value) and bind without error,
// without building the attribute map: the result is the one
// planInsertMods returns. It returns false for anything else, which
// planInsertMods then plans (and reports the error of).
func (s *session) planInsertFast(ot *otype, ch *idsync.Change) (*insertRow, bool) {
	p := s.plan(ot)
	n := len(p.names)
	if cap(s.vals) < n {
		s.vals, s.seen = make([][]idsync.Value, n), make([]bool, n)
	}
	vals, seen := s.vals[:n], s.seen[:n]
	clear(vals)
	clear(seen)
	ncols := 0
	for i := range ch.Mods {
		m := &ch.Mods[i]
		k, ok := p.slot[m.Name]
		if !ok || seen[k] {
			return nil, false
		}
		switch {
		case m.Op == idsync.AttrReplace, m.Op == idsync.AttrAdd && len(m.Values) <= 1:
		default:
			return nil, false
		}
		seen[k] = true
		if len(m.Values) == 0 {
			continue
		}
		if p.col[k] >= 0 {
			if len(m.Values) > 1 {
				return nil, false
			}
			ncols++
		}
		vals[k] = m.Values
	}
	if ot.cfg.Generated {
		for _, a := range ot.anchorCol {
			if k, ok := p.slot[a]; ok && vals[k] != nil && p.col[k] >= 0 {
				return nil, false // the database assigns it
			}
		}
	}
	if ot.softDel >= 0 {
		ncols++
	}
	ins := &insertRow{ot: ot, args: make([]any, 0, ncols+1)}
	cols := p.cols[:0:0]
	same := true // cols so far equal p.cols
	add := func(name string, v any) {
		if same && len(cols) < len(p.cols) && p.cols[len(cols)] == name {
			cols = p.cols[: len(cols)+1 : len(cols)+1]
		} else {
			if same {
				cols = append(make([]string, 0, ncols+1), cols...)
				same = false
			}
			cols = append(cols, name)
		}
		ins.args = append(ins.args, v)
	}
	for k, vs := range vals {
		if len(vs) == 0 {
			continue
		}
		if c := p.col[k]; c >= 0 {
			v, err := toDB(vs[0], ot.cols[c].store)
			if err != nil {
				return nil, false
			}
			add(p.names[k], v)
			continue
		}
		m := p.mv[k]
		if ins.kids == nil {
			ins.kids = make([][]any, len(ot.mv))
		}
		kv := make([]any, len(vs))
		for j, v := range vs {
			b, err := toDB(v, ot.mv[m].store)
			if err != nil {
				return nil, false
			}
			kv[j] = b
		}
		ins.kids[m] = kv
	}
	if ot.softDel >= 0 {
		name := ot.cols[ot.softDel].name
		if k, ok := p.slot[name]; !ok || vals[k] == nil {
			if v, err := toDB(idsync.String(ot.softLiveValue()), ot.cols[ot.softDel].store); err == nil {
				add(name, v)
			}
		}
	}
	var parts []string
	if len(ot.anchorCol) > 1 {
		parts = make([]string, len(ot.anchorCol))
	}
	for i, a := range ot.anchorCol {
		if ot.cfg.Generated {
			break
		}
		var v idsync.Value
		if k, ok := p.slot[a]; ok && len(vals[k]) > 0 {
			v = vals[k][0]
		}
		var part string
		if v.IsZero() {
			if ch.DN == "" || len(ot.anchorCol) != 1 {
				return nil, false
			}
			b, err := toDB(idsync.String(ch.DN), ot.cols[ot.anchor[0]].store)
			if err != nil {
				return nil, false
			}
			add(a, b)
			part = ch.DN
		} else {
			part = v.String()
		}
		if parts == nil {
			ins.anchor = idsync.Anchor(part)
		} else {
			parts[i] = part
		}
	}
	if parts != nil {
		ins.anchor = joinAnchor(parts)
	}
	if !same {
		p.cols = cols
	}
	ins.cols = cols
	return ins, true
}

// planInsertMods plans an add of any mods: it applies them to an empty
// attribute map first.
func (s *session) planInsertMods(ot *otype, ch *idsync.Change) (*insertRow, error) {
	attrs := idsync.Attrs{}.Apply(ch.Mods)
	ins := &insertRow{ot: ot}
	for _, name := range idsync.SortedNames(attrs) {
		vs := attrs[name]
		if i, ok := ot.idx[name]; ok && !ot.cols[i].hidden {
			col := ot.cols[i]
			if ot.cfg.Generated && slices.Contains(ot.anchorCol, name) {
				return nil, invalid(fmt.Errorf("attribute %s: the database assigns the anchor column", name))
			}
			if len(vs) > 1 {
				return nil, invalid(fmt.Errorf("attribute %s: %d values for a single-valued column", name, len(vs)))
			}
			v, err := toDB(vs[0], col.store)
			if err != nil {
				return nil, invalid(fmt.Errorf("attribute %s: %w", name, err))
			}
			ins.cols = append(ins.cols, name)
			ins.args = append(ins.args, v)
			continue
		}
		if k, ok := ot.mvByName[name]; ok {
			for _, v := range vs {
				b, err := toDB(v, ot.mv[k].store)
				if err != nil {
					return nil, invalid(fmt.Errorf("attribute %s: %w", name, err))
				}
				if ins.kids == nil {
					ins.kids = make([][]any, len(ot.mv))
				}
				ins.kids[k] = append(ins.kids[k], b)
			}
			continue
		}
		return nil, invalid(fmt.Errorf("attribute %s: no such column in %s", name, sourceName(ot.cfg)))
	}
	if ot.softDel >= 0 {
		name := ot.cols[ot.softDel].name
		if !slices.Contains(ins.cols, name) {
			if v, err := toDB(idsync.String(ot.softLiveValue()), ot.cols[ot.softDel].store); err == nil {
				ins.cols = append(ins.cols, name)
				ins.args = append(ins.args, v)
			}
		}
	}
	if !ot.cfg.Generated {
		parts := make([]string, len(ot.anchorCol))
		for i, a := range ot.anchorCol {
			v := attrs.Get(a)
			if v.IsZero() {
				if ch.DN != "" && len(ot.anchorCol) == 1 {
					// DN style none: the DN is the anchor.
					b, err := toDB(idsync.String(ch.DN), ot.cols[ot.anchor[0]].store)
					if err != nil {
						return nil, invalid(fmt.Errorf("anchor %s from the DN %q: %w", a, ch.DN, err))
					}
					ins.cols = append(ins.cols, a)
					ins.args = append(ins.args, b)
					parts[i] = ch.DN
					continue
				}
				return nil, invalid(fmt.Errorf("anchor column %s has no value", a))
			}
			parts[i] = v.String()
		}
		ins.anchor = joinAnchor(parts)
	}
	return ins, nil
}

func invalid(err error) error { return &idsync.Error{Kind: idsync.KindInvalid, Err: err} }

// insertBatch inserts rows (same type, same columns, known anchors) as
// multi-row INSERTs, then their child rows.
func (s *session) insertBatch(ctx context.Context, tx execer, rows []*insertRow) error {
	ot := rows[0].ot
	vals := make([][]any, len(rows))
	for i, r := range rows {
		vals[i] = r.args
	}
	if s.raw != nil && len(rows) >= copyThreshold {
		if err := s.copyRows(ctx, ot.cfg.Table, rows[0].cols, vals); err != nil {
			return err
		}
	} else if err := s.multiInsert(ctx, tx, ot.cfg.Table, rows[0].cols, vals); err != nil {
		return err
	}
	return s.insertChildren(ctx, tx, rows)
}

// copyThreshold is the number of rows from which PostgreSQL inserts go
// through COPY rather than a multi-row INSERT.
const copyThreshold = 64

// copyRows writes rows with COPY … FROM STDIN (binary), inside the page's
// transaction.
func (s *session) copyRows(ctx context.Context, table string, cols []string, rows [][]any) error {
	err := s.raw(func(pc *pgx.Conn) error {
		_, err := pc.CopyFrom(ctx, pgx.Identifier(strings.Split(table, ".")), cols, pgx.CopyFromRows(rows))
		return err
	})
	return classify("copy into "+table, err)
}

// insertChildren inserts the child rows of inserted rows.
func (s *session) insertChildren(ctx context.Context, tx execer, rows []*insertRow) error {
	ot := rows[0].ot
	for k, m := range ot.mv {
		var kv [][]any
		for _, r := range rows {
			pa, err := ot.anchorArgs(r.anchor)
			if err != nil {
				return invalid(err)
			}
			if len(r.kids) <= k {
				continue
			}
			for _, v := range r.kids[k] {
				kv = append(kv, append(slices.Clone(pa), v))
			}
		}
		if len(kv) > 0 {
			if err := s.multiInsert(ctx, tx, m.table, append(slices.Clone(m.parent), m.value), kv); err != nil {
				return err
			}
		}
	}
	return nil
}

// multiInsert writes INSERT INTO table (cols) VALUES (…), (…) in chunks
// the dialect accepts.
func (s *session) multiInsert(ctx context.Context, tx execer, table string, cols []string, rows [][]any) error {
	d := s.c.d
	per := len(cols)
	if per == 0 {
		for range rows {
			if err := s.insertDefault(ctx, tx, table); err != nil {
				return err
			}
		}
		return nil
	}
	chunk := min(d.maxParams()/per, d.maxRows(), max(s.c.batch, 1))
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		args := make([]any, 0, len(part)*per)
		for _, r := range part {
			args = append(args, r...)
		}
		text := func() string { return insertValuesSQL(d, table, cols, len(part)) }
		if _, err := s.execInsert(ctx, tx, shapeKey(table, cols, len(part)), text, args); err != nil {
			return classify("insert into "+table, err)
		}
	}
	return nil
}

// execInsert runs the INSERT that text builds, identified by key, with
// args. Where the dialect asks for it, a shape the session ran before
// runs as the statement prepareWanted prepared; the first time, it runs
// unprepared and is remembered for preparing.
func (s *session) execInsert(ctx context.Context, tx execer, key string, text func() string, args []any) (sql.Result, error) {
	if !s.c.d.prepareInserts() {
		return tx.ExecContext(ctx, text(), args...)
	}
	st, known := s.stmts[key]
	if sqlTx, ok := tx.(*sql.Tx); ok && st != nil {
		return sqlTx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	q := text()
	r, err := tx.ExecContext(ctx, q, args...)
	if err == nil && !known && len(s.stmts)+len(s.want) < maxStmts {
		if s.want == nil {
			s.want = map[string]string{}
		}
		s.want[key] = q
	}
	return r, err
}

// insertValuesSQL is INSERT INTO table (cols) VALUES (…), (…) with
// placeholders for n rows.
func insertValuesSQL(d dialect, table string, cols []string, n int) string {
	b := &sqlBuilder{d: d}
	b.str("INSERT INTO ").name(table).str(" (").idents("", cols).str(") VALUES ")
	p := 0
	for i := range n {
		if i > 0 {
			b.str(", ")
		}
		b.str("(")
		for j := range cols {
			if j > 0 {
				b.str(", ")
			}
			p++
			b.str(d.placeholder(p))
		}
		b.str(")")
	}
	return b.String()
}

// shapeKey identifies a multi-row INSERT by its table, columns and
// number of rows.
func shapeKey(table string, cols []string, rows int) string {
	var b strings.Builder
	b.WriteString(table)
	for _, c := range cols {
		b.WriteByte(0)
		b.WriteString(c)
	}
	b.WriteByte(0)
	b.WriteString(strconv.Itoa(rows))
	return b.String()
}

func (s *session) insertDefault(ctx context.Context, tx execer, table string) error {
	q := "INSERT INTO " + quoteName(s.c.d, table) + " DEFAULT VALUES"
	if s.c.d.name() == "mysql" {
		q = "INSERT INTO " + quoteName(s.c.d, table) + " () VALUES ()"
	}
	if _, err := tx.ExecContext(ctx, q); err != nil {
		return classify("insert into "+table, err)
	}
	return nil
}

// change exports one change and returns the anchor of an added object.
func (s *session) change(ctx context.Context, tx execer, ch *idsync.Change) (idsync.Anchor, error) {
	ot := s.c.byName[ch.ObjectType]
	if ot == nil {
		return "", invalid(fmt.Errorf("unknown object type %q", ch.ObjectType))
	}
	if ch.NewDN != "" && ch.NewDN != ch.DN && ch.Op != idsync.OpAdd {
		return "", &idsync.Error{Kind: idsync.KindUnsupported, Err: errors.New("rename: the DN is the anchor, which never changes")}
	}
	var ex Export
	if ot.cfg.Export != nil {
		ex = *ot.cfg.Export
	}
	switch ch.Op {
	case idsync.OpAdd:
		return s.add(ctx, tx, ot, ch, ex.Insert)
	case idsync.OpUpdate:
		return ch.Anchor, s.update(ctx, tx, ot, ch, ex.Update, false)
	case idsync.OpReplace:
		return ch.Anchor, s.update(ctx, tx, ot, ch, ex.Update, true)
	case idsync.OpDelete:
		return ch.Anchor, s.remove(ctx, tx, ot, ch, ex.Delete)
	}
	return "", invalid(fmt.Errorf("unknown operation %v", ch.Op))
}

func (s *session) add(ctx context.Context, tx execer, ot *otype, ch *idsync.Change, st *Statement) (idsync.Anchor, error) {
	if st != nil {
		attrs := idsync.Attrs{}.Apply(ch.Mods)
		a, err := s.statement(ctx, tx, ot, ch, st, attrs, "")
		if err != nil {
			return "", err
		}
		if a == "" {
			ins, err := s.planInsert(ot, ch)
			if err != nil || ins.anchor == "" {
				return "", invalid(errors.New("the insert statement returned no anchor and the anchor columns have no values"))
			}
			a = ins.anchor
		}
		return a, s.writeChildren(ctx, tx, ot, a, ch.Mods, true)
	}
	if ot.cfg.Table == "" {
		return "", &idsync.Error{Kind: idsync.KindUnsupported, Err: fmt.Errorf("object type %s comes from a query: configure export: insert", ot.name)}
	}
	ins, err := s.planInsert(ot, ch)
	if err != nil {
		return "", err
	}
	if !ot.cfg.Generated {
		return ins.anchor, s.insertBatch(ctx, tx, []*insertRow{ins})
	}
	a, err := s.insertGenerated(ctx, tx, ot, ins)
	if err != nil {
		return "", err
	}
	ins.anchor = a
	return a, s.insertChildren(ctx, tx, []*insertRow{ins})
}

// insertGenerated inserts one row and reads back the anchor the
// database assigned.
func (s *session) insertGenerated(ctx context.Context, tx execer, ot *otype, ins *insertRow) (idsync.Anchor, error) {
	d := s.c.d
	b := s.c.insertReturningSQL(ot, ins)
	if d.returning() == "lastid" {
		r, err := s.execInsert(ctx, tx, b.String(), b.String, b.args)
		if err != nil {
			return "", classify("insert into "+ot.cfg.Table, err)
		}
		id, err := r.LastInsertId()
		if err != nil {
			return "", classify("insert into "+ot.cfg.Table, err)
		}
		return idsync.Anchor(idsync.Int(id).String()), nil
	}
	rows, err := tx.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return "", classify("insert into "+ot.cfg.Table, err)
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return "", classify("insert into "+ot.cfg.Table, err)
		}
		return "", fmt.Errorf("insert into %s returned no anchor", ot.cfg.Table)
	}
	var raw any
	if err := rows.Scan(&raw); err != nil {
		return "", classify("insert into "+ot.cfg.Table, err)
	}
	v, _, err := fromDB(raw, ot.cols[ot.anchor[0]].store)
	if err != nil {
		return "", err
	}
	return idsync.Anchor(v.String()), classify("insert into "+ot.cfg.Table, rows.Err())
}

// generatedRun plans the run of adds at the start of changes that
// insertGeneratedRun can insert together: adds of one object type whose
// table's single anchor column the database assigns, with no configured
// insert statement; on PostgreSQL an anchor read back as an integer or a
// string; on MySQL the same columns, into a table that assigns
// consecutive values (consecutiveIDs).
func (s *session) generatedRun(ctx context.Context, tx execer, changes []idsync.Change) ([]*insertRow, error) {
	lastid := s.c.d.returning() == "lastid"
	if s.raw == nil && !lastid {
		return nil, nil
	}
	var rows []*insertRow
	for i := range changes {
		ch := &changes[i]
		if ch.Op != idsync.OpAdd {
			break
		}
		ot := s.c.byName[ch.ObjectType]
		if ot == nil || !ot.cfg.Generated || ot.cfg.Table == "" || (ot.cfg.Export != nil && ot.cfg.Export.Insert != nil) ||
			(len(rows) > 0 && ot != rows[0].ot) {
			break
		}
		if st := ot.cols[ot.anchor[0]].store; !lastid && st != idsync.TypeInteger && st != idsync.TypeString {
			break
		}
		if lastid && len(rows) == 0 && i+1 < len(changes) {
			// Before planning the run, which is planned again from each
			// of its changes when it cannot be batched.
			step, err := s.consecutiveIDs(ctx, tx, ot)
			if err != nil || step == 0 {
				return nil, err
			}
		}
		ins, err := s.planInsert(ot, ch)
		if err != nil {
			break
		}
		if lastid && (len(ins.cols) == 0 || len(rows) > 0 && !slices.Equal(ins.cols, rows[0].cols)) {
			break
		}
		rows = append(rows, ins)
	}
	return rows, nil
}

// insertGeneratedRun inserts rows planned by generatedRun, sets their
// anchors, then inserts their child rows.
func (s *session) insertGeneratedRun(ctx context.Context, tx execer, rows []*insertRow) error {
	if s.raw != nil {
		return s.insertGeneratedPipelined(ctx, tx, rows)
	}
	return s.insertGeneratedConsecutive(ctx, tx, rows, s.autoinc[rows[0].ot])
}

// consecutiveIDs returns the step between the AUTO_INCREMENT values that
// one multi-row INSERT into ot's table is assigned, or 0 when they are
// not guaranteed to be consecutive. They are on InnoDB with
// innodb_autoinc_lock_mode 0 (traditional) or 1 (consecutive): a simple
// INSERT of n rows takes n values in one go under the AUTO-INC lock, the
// first of which is LAST_INSERT_ID, each next one auto_increment_increment
// further. Interleaved mode (2, MySQL 8's default, required by Galera)
// and other engines keep one INSERT per row. Read once per session and
// object type.
func (s *session) consecutiveIDs(ctx context.Context, tx execer, ot *otype) (int64, error) {
	if step, ok := s.autoinc[ot]; ok {
		return step, nil
	}
	schema, table := splitName(ot.cfg.Table)
	if schema == "" {
		schema = s.c.cfg.Schema
	}
	var step int64
	rows, err := tx.QueryContext(ctx, `SELECT @@innodb_autoinc_lock_mode, @@auto_increment_increment,
(SELECT ENGINE FROM information_schema.tables WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ?)`, schema, table)
	if err == nil {
		var mode, inc int64
		var engine sql.NullString
		if rows.Next() && rows.Scan(&mode, &inc, &engine) == nil && (mode == 0 || mode == 1) && inc >= 1 && strings.EqualFold(engine.String, "InnoDB") {
			step = inc
		}
		rows.Close()
		err = rows.Err()
	}
	if err != nil {
		if err := classify("read the auto-increment settings", err); idsync.KindOf(err) == idsync.KindTransient || ctx.Err() != nil {
			return 0, err
		}
		s.c.log.Debug("sql: export: auto-increment settings not read; one insert per row", "table", ot.cfg.Table, "error", err)
		step = 0
	}
	if s.autoinc == nil {
		s.autoinc = map[*otype]int64{}
	}
	s.autoinc[ot] = step
	return step, nil
}

// insertGeneratedConsecutive inserts rows (one object type, the same
// columns, generated anchor) as multi-row INSERTs on MySQL, whose
// anchors are LAST_INSERT_ID + i × step (consecutiveIDs).
func (s *session) insertGeneratedConsecutive(ctx context.Context, tx execer, rows []*insertRow, step int64) error {
	d := s.c.d
	ot, cols := rows[0].ot, rows[0].cols
	per := len(cols)
	chunk := min(d.maxParams()/per, d.maxRows(), max(s.c.batch, 1))
	for start := 0; start < len(rows); start += chunk {
		part := rows[start:min(start+chunk, len(rows))]
		args := make([]any, 0, len(part)*per)
		for _, r := range part {
			args = append(args, r.args...)
		}
		r, err := s.execInsert(ctx, tx, shapeKey(ot.cfg.Table, cols, len(part)), func() string {
			return insertValuesSQL(d, ot.cfg.Table, cols, len(part))
		}, args)
		if err != nil {
			return classify("insert into "+ot.cfg.Table, err)
		}
		first, err := r.LastInsertId()
		if err != nil {
			return classify("insert into "+ot.cfg.Table, err)
		}
		n, err := r.RowsAffected()
		if err != nil {
			return classify("insert into "+ot.cfg.Table, err)
		}
		if n != int64(len(part)) || first <= 0 {
			return fmt.Errorf("sql: insert into %s: %d rows inserted from id %d, want %d", ot.cfg.Table, n, first, len(part))
		}
		for i, row := range part {
			row.anchor = idsync.Anchor(idsync.Int(first + int64(i)*step).String())
		}
	}
	return s.insertChildren(ctx, tx, rows)
}

// insertGeneratedPipelined inserts rows (one object type, generated
// anchor) as one pipelined batch of the INSERT … RETURNING that
// insertGenerated runs one at a time: each statement reads back its own
// row's anchor, so anchors cannot be mixed up, in one round trip. Then it
// inserts their child rows.
func (s *session) insertGeneratedPipelined(ctx context.Context, tx execer, rows []*insertRow) error {
	ot := rows[0].ot
	store := ot.cols[ot.anchor[0]].store
	anchors := make([]string, len(rows))
	err := s.raw(func(pc *pgx.Conn) error {
		b := &pgx.Batch{QueuedQueries: make([]*pgx.QueuedQuery, 0, len(rows))}
		var q string
		var cols []string
		for i, r := range rows {
			// The parameters are the row's, in order: the text depends
			// on the columns only.
			if i == 0 || !slices.Equal(r.cols, cols) {
				q, cols = s.c.insertReturningSQL(ot, r).String(), r.cols
			}
			b.Queue(q, r.args...)
		}
		br := pc.SendBatch(ctx, b)
		for i := range rows {
			if err := br.QueryRow().Scan(&anchors[i]); err != nil {
				br.Close()
				return err
			}
		}
		return br.Close()
	})
	if err != nil {
		return classify("insert into "+ot.cfg.Table, err)
	}
	for i, r := range rows {
		v, _, err := fromDB(anchors[i], store)
		if err != nil {
			return err
		}
		r.anchor = idsync.Anchor(v.String())
	}
	return s.insertChildren(ctx, tx, rows)
}

// insertReturningSQL builds the INSERT of one row that hands back the
// generated anchor: RETURNING (PostgreSQL, SQLite), OUTPUT INSERTED (SQL
// Server), or nothing (MySQL reads LAST_INSERT_ID).
func (c *conn) insertReturningSQL(ot *otype, ins *insertRow) *sqlBuilder {
	d := c.d
	b := &sqlBuilder{d: d}
	b.str("INSERT INTO ").name(ot.cfg.Table)
	anchor := ot.anchorCol[0]
	if len(ins.cols) > 0 {
		b.str(" (").idents("", ins.cols).str(")")
	}
	if d.returning() == "output" {
		b.str(" OUTPUT INSERTED.").ident(anchor)
	}
	if len(ins.cols) > 0 {
		b.str(" VALUES (")
		for i, v := range ins.args {
			if i > 0 {
				b.str(", ")
			}
			b.arg(v)
		}
		b.str(")")
	} else if d.name() == "mysql" {
		b.str(" () VALUES ()")
	} else {
		b.str(" DEFAULT VALUES")
	}
	if d.returning() == "returning" {
		b.str(" RETURNING ").ident(anchor)
	}
	return b
}

// update applies an update (or, with replace, sets every column: absent
// attributes become NULL and child rows are replaced).
func (s *session) update(ctx context.Context, tx execer, ot *otype, ch *idsync.Change, st *Statement, replace bool) error {
	key, err := ot.anchorArgs(ch.Anchor)
	if err != nil {
		return invalid(err)
	}
	mods := ch.Mods
	if replace {
		attrs := idsync.Attrs{}.Apply(ch.Mods)
		mods = nil
		for _, col := range ot.cols {
			if !col.hidden && !slices.Contains(ot.anchorCol, col.name) && !(ot.softDel >= 0 && col.name == ot.cols[ot.softDel].name) {
				mods = append(mods, idsync.AttrMod{Name: col.name, Op: idsync.AttrReplace, Values: attrs[col.name]})
			}
		}
		for _, m := range ot.mv {
			mods = append(mods, idsync.AttrMod{Name: m.attr, Op: idsync.AttrReplace, Values: attrs[m.attr]})
		}
	}
	if st != nil {
		cur := idsync.Attrs{}.Apply(mods)
		if _, err := s.statement(ctx, tx, ot, ch, st, cur, ch.Anchor); err != nil {
			return err
		}
		return s.writeChildren(ctx, tx, ot, ch.Anchor, mods, false)
	}
	if ot.cfg.Table == "" {
		return &idsync.Error{Kind: idsync.KindUnsupported, Err: fmt.Errorf("object type %s comes from a query: configure export: update", ot.name)}
	}
	b := &sqlBuilder{d: s.c.d}
	b.str("UPDATE ").name(ot.cfg.Table).str(" SET ")
	n := 0
	for _, m := range mods {
		i, ok := ot.idx[m.Name]
		if !ok || ot.cols[i].hidden {
			if _, mv := ot.mvByName[m.Name]; mv {
				continue
			}
			return invalid(fmt.Errorf("attribute %s: no such column in %s", m.Name, ot.cfg.Table))
		}
		if slices.Contains(ot.anchorCol, m.Name) {
			if m.Op == idsync.AttrReplace && len(m.Values) == 1 && m.Values[0].String() == anchorPart(ot, ch.Anchor, m.Name) {
				continue
			}
			return invalid(fmt.Errorf("attribute %s: an anchor column never changes", m.Name))
		}
		var v any
		switch m.Op {
		case idsync.AttrReplace, idsync.AttrAdd:
			if len(m.Values) > 1 {
				return invalid(fmt.Errorf("attribute %s: %d values for a single-valued column", m.Name, len(m.Values)))
			}
			if len(m.Values) == 1 {
				if v, err = toDB(m.Values[0], ot.cols[i].store); err != nil {
					return invalid(fmt.Errorf("attribute %s: %w", m.Name, err))
				}
			}
		case idsync.AttrDelete, idsync.AttrClear:
		}
		if n > 0 {
			b.str(", ")
		}
		b.ident(m.Name).str(" = ").arg(v)
		n++
	}
	if n > 0 {
		b.str(" WHERE ").eqAll("", ot.anchorCol, key)
		if ot.softDel >= 0 {
			b.str(" AND ")
			s.c.liveCondNoAlias(b, ot)
		}
		r, err := tx.ExecContext(ctx, b.String(), b.args...)
		if err != nil {
			return classify("update "+ot.cfg.Table, err)
		}
		if k, err := r.RowsAffected(); err == nil && k == 0 {
			if replace {
				ins := *ch
				ins.Op = idsync.OpAdd
				_, err := s.add(ctx, tx, ot, &ins, nil)
				return err
			}
			return notFound(ch.Anchor)
		}
	} else if err := s.exists(ctx, tx, ot, ch.Anchor, key); err != nil {
		return err
	}
	return s.writeChildren(ctx, tx, ot, ch.Anchor, mods, false)
}

func anchorPart(ot *otype, a idsync.Anchor, col string) string {
	parts, err := splitAnchor(a, len(ot.anchorCol))
	if err != nil {
		return ""
	}
	return parts[slices.Index(ot.anchorCol, col)]
}

func notFound(a idsync.Anchor) error {
	return &idsync.Error{Kind: idsync.KindNotFound, Object: string(a), Err: errors.New("no such row")}
}

// liveCondNoAlias is liveCond for statements without the q alias.
func (c *conn) liveCondNoAlias(b *sqlBuilder, ot *otype) {
	col := ot.cols[ot.softDel]
	v, err := toDB(idsync.String(ot.softDeleteValue()), col.store)
	if err != nil {
		v = ot.softDeleteValue()
	}
	b.str("(").ident(col.name).str(" IS NULL OR ").ident(col.name).str(" <> ").arg(v).str(")")
}

func (s *session) exists(ctx context.Context, tx execer, ot *otype, a idsync.Anchor, key []any) error {
	if ot.cfg.Table == "" {
		return nil
	}
	b := &sqlBuilder{d: s.c.d}
	b.str("SELECT 1 FROM ").name(ot.cfg.Table).str(" WHERE ").eqAll("", ot.anchorCol, key)
	rows, err := tx.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return classify("read "+ot.cfg.Table, err)
	}
	found := rows.Next()
	rows.Close()
	if err := rows.Err(); err != nil {
		return classify("read "+ot.cfg.Table, err)
	}
	if !found {
		return notFound(a)
	}
	return nil
}

// writeChildren applies the mods of multi-valued attributes to their
// child tables (fresh: the parent was just inserted).
func (s *session) writeChildren(ctx context.Context, tx execer, ot *otype, a idsync.Anchor, mods []idsync.AttrMod, fresh bool) error {
	if len(ot.mv) == 0 {
		return nil
	}
	key, err := ot.anchorArgs(a)
	if err != nil {
		return invalid(err)
	}
	for _, m := range mods {
		k, ok := ot.mvByName[m.Name]
		if !ok {
			continue
		}
		mv := ot.mv[k]
		bind := func(v idsync.Value) (any, error) {
			b, err := toDB(v, mv.store)
			if err != nil {
				return nil, invalid(fmt.Errorf("attribute %s: %w", m.Name, err))
			}
			return b, nil
		}
		del := func(v *idsync.Value) error {
			b := &sqlBuilder{d: s.c.d}
			b.str("DELETE FROM ").name(mv.table).str(" WHERE ").eqAll("", mv.parent, key)
			if v != nil {
				x, err := bind(*v)
				if err != nil {
					return err
				}
				b.str(" AND ").ident(mv.value).str(" = ").arg(x)
			}
			if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
				return classify("delete from "+mv.table, err)
			}
			return nil
		}
		var add []idsync.Value
		switch m.Op {
		case idsync.AttrReplace, idsync.AttrClear:
			if !fresh {
				if err := del(nil); err != nil {
					return err
				}
			}
			if m.Op == idsync.AttrReplace {
				add = m.Values
			}
		case idsync.AttrAdd:
			for i := range m.Values {
				// Remove first, so that an added value already present stays single.
				if err := del(&m.Values[i]); err != nil {
					return err
				}
			}
			add = m.Values
		case idsync.AttrDelete:
			for i := range m.Values {
				if err := del(&m.Values[i]); err != nil {
					return err
				}
			}
		}
		if len(add) == 0 {
			continue
		}
		rows := make([][]any, 0, len(add))
		for _, v := range add {
			x, err := bind(v)
			if err != nil {
				return err
			}
			rows = append(rows, append(slices.Clone(key), x))
		}
		if err := s.multiInsert(ctx, tx, mv.table, append(slices.Clone(mv.parent), mv.value), rows); err != nil {
			return err
		}
	}
	return nil
}

// remove deletes a row (and its child rows), or marks it deleted. A row
// that is already gone is not an error: a page re-sent after a crash
// must be harmless.
func (s *session) remove(ctx context.Context, tx execer, ot *otype, ch *idsync.Change, st *Statement) error {
	if st != nil {
		_, err := s.statement(ctx, tx, ot, ch, st, nil, ch.Anchor)
		return err
	}
	if ot.cfg.Table == "" {
		return &idsync.Error{Kind: idsync.KindUnsupported, Err: fmt.Errorf("object type %s comes from a query: configure export: delete", ot.name)}
	}
	key, err := ot.anchorArgs(ch.Anchor)
	if err != nil {
		return invalid(err)
	}
	if ot.softDel >= 0 {
		col := ot.cols[ot.softDel]
		v, err := toDB(idsync.String(ot.softDeleteValue()), col.store)
		if err != nil {
			return invalid(fmt.Errorf("softDelete value: %w", err))
		}
		b := &sqlBuilder{d: s.c.d}
		b.str("UPDATE ").name(ot.cfg.Table).str(" SET ").ident(col.name).str(" = ").arg(v).str(" WHERE ").eqAll("", ot.anchorCol, key)
		if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
			return classify("update "+ot.cfg.Table, err)
		}
		return nil
	}
	for _, mv := range ot.mv {
		b := &sqlBuilder{d: s.c.d}
		b.str("DELETE FROM ").name(mv.table).str(" WHERE ").eqAll("", mv.parent, key)
		if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
			return classify("delete from "+mv.table, err)
		}
	}
	b := &sqlBuilder{d: s.c.d}
	b.str("DELETE FROM ").name(ot.cfg.Table).str(" WHERE ").eqAll("", ot.anchorCol, key)
	if _, err := tx.ExecContext(ctx, b.String(), b.args...); err != nil {
		return classify("delete from "+ot.cfg.Table, err)
	}
	return nil
}

// statement runs a configured statement or procedure. Parameters are
// attributes of attrs (the first value of a multi-valued one; NULL when
// absent), or anchor, dn and objectType. A returned row's first columns
// are the anchor.
func (s *session) statement(ctx context.Context, tx execer, ot *otype, ch *idsync.Change, st *Statement, attrs idsync.Attrs, anchor idsync.Anchor) (idsync.Anchor, error) {
	d := s.c.d
	var q string
	var names []string
	if st.Procedure != "" {
		q, names = d.call(st.Procedure, len(st.Parameters)), st.Parameters
	} else {
		var err error
		if q, names, err = bindNamed(st.Statement, d); err != nil {
			return "", invalid(err)
		}
	}
	args := make([]any, len(names))
	for i, n := range names {
		switch n {
		case "anchor":
			if anchor != "" {
				args[i] = string(anchor)
			}
			continue
		case "dn":
			args[i] = ch.DN
			continue
		case "objectType":
			args[i] = ch.ObjectType
			continue
		}
		v := attrs.Get(n)
		if v.IsZero() {
			continue
		}
		var store idsync.AttrType
		if ci, ok := ot.idx[n]; ok {
			store = ot.cols[ci].store
		} else if k, ok := ot.mvByName[n]; ok {
			store = ot.mv[k].store
		}
		x, err := toDB(v, store)
		if err != nil {
			return "", invalid(fmt.Errorf("parameter %s: %w", n, err))
		}
		args[i] = x
	}
	what := st.Procedure
	if what == "" {
		what = strings.Fields(st.Statement)[0] + " statement"
	}
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return "", classify(what+" of "+ot.name, err)
	}
	defer rows.Close()
	var out idsync.Anchor
	if rows.Next() {
		cols, _ := rows.Columns()
		if len(cols) >= len(ot.anchor) {
			vals := make([]any, len(cols))
			ptrs := make([]any, len(cols))
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			if err := rows.Scan(ptrs...); err != nil {
				return "", classify(what+" of "+ot.name, err)
			}
			parts := make([]string, len(ot.anchor))
			for i := range ot.anchor {
				v, ok, _ := fromDB(vals[i], ot.cols[ot.anchor[i]].store)
				if ok {
					parts[i] = v.String()
				}
			}
			out = joinAnchor(parts)
		}
	}
	for rows.Next() {
	}
	if err := rows.Err(); err != nil {
		return "", classify(what+" of "+ot.name, err)
	}
	return out, nil
}
