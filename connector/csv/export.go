package csv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// The journal is JSON lines: a header line, then one record per accepted
// change, holding cell text (values already converted and formatted).
const journalHeader = `{"journal":"idsync-csv","version":1}` + "\n"

// jrec is one journal record.
type jrec struct {
	Op     string            `json:"op"` // "add" (the whole row; also replace), "update", "delete"
	Anchor string            `json:"anchor"`
	Row    map[string]string `json:"row,omitempty"` // as decoded; row holds it in memory
	Mods   []tmod            `json:"mods,omitempty"`
	row    []string          // the cells of an add: column, text, column, text, ...
}

// tmod is an attribute modification on cell text.
type tmod struct {
	Name   string        `json:"n"`
	Op     idsync.AttrOp `json:"o"`
	Values []string      `json:"v,omitempty"`
}

// state is the net effect of a journal: only the changed anchors.
type state struct {
	net   map[string]*pending
	order []string        // anchors in the order they were added, to append new rows
	cols  map[string]bool // every column an add or update sets
	last  []string        // the last row added, whose columns are in cols
}

type pending struct {
	deleted bool
	row     []string // the whole row (column, text pairs), replacing the file's
	mods    []tmod   // else modifications of the file's row
	ordered bool
	written bool
}

func newState() *state { return &state{net: map[string]*pending{}, cols: map[string]bool{}} }

// sameColumns reports whether two rows of pairs name the same columns.
func sameColumns(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i += 2 {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// apply folds one record into the state.
func (st *state) apply(c *conn, r *jrec) {
	p := st.net[r.Anchor]
	if p == nil {
		p = &pending{}
		st.net[r.Anchor] = p
	}
	switch r.Op {
	case "add":
		p.deleted, p.row, p.mods = false, r.row, nil
		if !sameColumns(r.row, st.last) {
			for i := 0; i < len(r.row); i += 2 {
				st.cols[r.row[i]] = true
			}
			st.last = r.row
		}
		if !p.ordered {
			p.ordered = true
			st.order = append(st.order, r.Anchor)
		}
	case "update":
		for _, m := range r.Mods {
			st.cols[m.Name] = true
		}
		switch {
		case p.deleted: // validated away: an update of a deleted row fails
		case p.row != nil:
			cells := make(map[string]string, len(p.row)/2)
			for i := 0; i < len(p.row); i += 2 {
				cells[p.row[i]] = p.row[i+1]
			}
			c.applyMods(cells, r.Mods)
			p.row = p.row[:0:0]
			for k, v := range cells {
				p.row = append(p.row, k, v)
			}
		default:
			p.mods = append(p.mods, r.Mods...)
		}
	case "delete":
		p.deleted, p.row, p.mods = true, nil, nil
	}
}

// splitCell returns the values of a cell.
func (c *conn) splitCell(col, cell string) []string {
	if cell == "" {
		return nil
	}
	if !c.multi[col] {
		return []string{cell}
	}
	parts := strings.Split(cell, c.sep)
	out := parts[:0]
	for _, p := range parts {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// modCell returns the text of a cell of column m.Name after m.
func (c *conn) modCell(cell string, m *tmod) string {
	switch m.Op {
	case idsync.AttrReplace:
		if len(m.Values) == 1 {
			return m.Values[0]
		}
		return strings.Join(m.Values, c.sep)
	case idsync.AttrAdd:
		cur := c.splitCell(m.Name, cell)
		for _, v := range m.Values {
			if !slices.Contains(cur, v) {
				cur = append(cur, v)
			}
		}
		return strings.Join(cur, c.sep)
	case idsync.AttrDelete:
		var cur []string
		for _, v := range c.splitCell(m.Name, cell) {
			if !slices.Contains(m.Values, v) {
				cur = append(cur, v)
			}
		}
		return strings.Join(cur, c.sep)
	}
	return "" // AttrClear
}

// applyMods applies modifications to the cells of a row.
func (c *conn) applyMods(cells map[string]string, mods []tmod) {
	for i := range mods {
		m := &mods[i]
		if v := c.modCell(cells[m.Name], m); v != "" {
			cells[m.Name] = v
		} else {
			delete(cells, m.Name)
		}
	}
}

// parseJournal reads a journal. A last line without its newline is a
// write torn by a crash, never acknowledged: it is ignored.
func (c *conn) parseJournal(data []byte) (*state, int, error) {
	st := newState()
	if len(data) == 0 {
		return st, 0, nil
	}
	if !bytes.HasPrefix(data, []byte(journalHeader)) {
		if len(data) < len(journalHeader) && bytes.HasPrefix([]byte(journalHeader), data) {
			return st, 0, nil // torn header
		}
		return nil, 0, errors.New("not an idsync csv journal (bad header line)")
	}
	data = data[len(journalHeader):]
	n, line := 0, 1
	for len(data) > 0 {
		line++
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			c.log.Warn("csv: ignoring a torn last journal line", "journal", c.journalPath, "line", line)
			break
		}
		var r jrec
		if err := json.Unmarshal(data[:i], &r); err != nil {
			return nil, 0, fmt.Errorf("line %d: %w", line, err)
		}
		if r.Op == "add" {
			r.row = make([]string, 0, 2*len(r.Row))
			for k, v := range r.Row {
				r.row = append(r.row, k, v)
			}
		}
		st.apply(c, &r)
		n++
		data = data[i+1:]
	}
	return st, n, nil
}

// active holds the journal paths of the export sessions open in this
// process: their journals are live, not left by a crash.
var active sync.Map // journal path -> *session

// recoverJournal applies and removes a journal left by an export session
// that did not close (a crash). The journal of a session open in this
// process is left alone.
func (c *conn) recoverJournal(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, live := active.Load(c.journalPath); live || c.session != nil {
		return nil
	}
	data, err := os.ReadFile(c.journalPath)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("csv: read journal: %w", err)
	}
	st, n, err := c.parseJournal(data)
	if err != nil {
		return fmt.Errorf("csv: journal %s: %w", c.journalPath, err)
	}
	c.log.Warn("csv: applying the journal of an export session that did not close", "journal", c.journalPath, "changes", n)
	if len(st.net) > 0 {
		if err := c.rewrite(ctx, st); err != nil {
			return fmt.Errorf("csv: apply journal %s: %w", c.journalPath, err)
		}
	}
	return c.removeJournal()
}

func (c *conn) removeJournal() error {
	if err := os.Remove(c.journalPath); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("csv: remove journal: %w", err)
	}
	return syncDir(filepath.Dir(c.journalPath))
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("csv: sync directory %s: %w", dir, err)
	}
	return nil
}

// outColumns returns the columns a rewrite writes: Config.Columns (then
// any other column of the old file, so that no data is lost), else the old
// file's columns, else the sorted union of what the state writes.
func (c *conn) outColumns(old *layout, st *state) []string {
	if c.cfg.Columns != nil {
		cols := slices.Clone(c.cfg.Columns)
		if old != nil {
			for _, n := range old.cols {
				if !slices.Contains(cols, n) {
					cols = append(cols, n)
				}
			}
		}
		return cols
	}
	if old != nil {
		return old.cols
	}
	set := map[string]bool{}
	for _, a := range c.cfg.Anchor {
		set[a] = true
	}
	if c.dnKind == dnColumn {
		set[c.dnCol] = true
	}
	for _, p := range c.dnTmpl {
		if p.col != "" {
			set[p.col] = true
		}
	}
	if st != nil {
		for n := range st.cols {
			set[n] = true
		}
	}
	cols := make([]string, 0, len(set))
	for n := range set {
		cols = append(cols, n)
	}
	sort.Strings(cols)
	return cols
}

// rewrite writes the export file anew: the old file streamed row by row
// with the state applied, then the added rows, into a temporary file in
// the same directory, synced and renamed over the target. On any error the
// target is untouched.
func (c *conn) rewrite(ctx context.Context, st *state) (err error) {
	var old *layout
	rd, err := c.openReader(c.exportPath)
	switch {
	case err == nil:
		defer rd.Close()
		old = rd.lay
	case errors.Is(err, fs.ErrNotExist):
		rd = nil
	default:
		return err
	}
	cols := c.outColumns(old, st)
	out, err := c.newLayout(cols)
	if err != nil {
		return fmt.Errorf("csv: columns: %w", err)
	}
	dir, base := filepath.Split(c.exportPath)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("csv: create temporary file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	mode := fs.FileMode(0o644)
	if rd != nil {
		if fi, err := rd.f.Stat(); err == nil {
			mode = fi.Mode().Perm()
		}
	}
	if err := tmp.Chmod(mode); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	w := newRowWriter(tmp, c.delim)
	if c.cfg.header() {
		w.write(cols)
	}
	rowRec := make([]string, len(cols))
	fromPairs := func(row []string) []string {
		clear(rowRec)
		for i := 0; i < len(row); i += 2 {
			if j, ok := out.idx[row[i]]; ok {
				rowRec[j] = row[i+1]
			}
		}
		return rowRec
	}
	if rd != nil && old != nil {
		same := slices.Equal(old.cols, cols)
		// remap copies a record of the old file into rowRec, in the new columns.
		var pos []int // the old column of each new one, or -1
		for _, n := range out.cols {
			j, ok := old.idx[n]
			if !ok {
				j = -1
			}
			pos = append(pos, j)
		}
		remap := func(rec []string) []string {
			for i, j := range pos {
				if j >= 0 {
					rowRec[i] = rec[j]
				} else {
					rowRec[i] = ""
				}
			}
			return rowRec
		}
		done := ctx.Done()
		for n := 0; ; n++ {
			if n&4095 == 0 {
				select {
				case <-done:
					return ctx.Err()
				default:
				}
			}
			rec, _, err := rd.next()
			if err == io.EOF {
				break
			}
			if err != nil {
				return fmt.Errorf("csv: rewrite %s: %w; fix the file: the journal keeps the exported changes", c.cfg.exportName(), err)
			}
			if len(rec) != len(old.cols) {
				w.write(rec) // malformed: kept as it is
				continue
			}
			var p *pending
			if anchor, err := c.anchorOf(old, rec); err == nil {
				p = st.net[anchor]
			}
			switch {
			case p == nil:
				if !same {
					rec = remap(rec)
				}
				w.write(rec)
			case p.deleted:
			case p.row != nil:
				w.write(fromPairs(p.row))
				p.written = true
			default:
				rec = remap(rec)
				for i := range p.mods {
					m := &p.mods[i]
					if j, ok := out.idx[m.Name]; ok {
						rec[j] = c.modCell(rec[j], m)
					}
				}
				w.write(rec)
			}
		}
	}
	for _, a := range st.order {
		if p := st.net[a]; p.row != nil && !p.deleted && !p.written {
			w.write(fromPairs(p.row))
			p.written = true
		}
	}
	if err := c.fault("write"); err != nil {
		return err
	}
	if err := w.flush(); err != nil {
		return fmt.Errorf("csv: write %s: %w", tmp.Name(), err)
	}
	if err := c.fault("sync"); err != nil {
		return err
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("csv: sync %s: %w", tmp.Name(), err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("csv: close %s: %w", tmp.Name(), err)
	}
	if err := c.fault("rename"); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), c.exportPath); err != nil {
		return fmt.Errorf("csv: %w", err)
	}
	return syncDir(dir)
}

func (c *conn) fault(stage string) error {
	if c.cfg.fault == nil {
		return nil
	}
	if err := c.cfg.fault(stage); err != nil {
		return fmt.Errorf("csv: %s: %w", stage, err)
	}
	return nil
}

// OpenExport implements connector.Exporter. It applies a journal left by
// a crashed session, reads the anchors of the export file (anchors only)
// and creates the session's journal. One session per connector at a time;
// one process per file (the engine's connector lock sees to that).
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	if err := c.recoverJournal(ctx); err != nil {
		return nil, err
	}
	s := &session{c: c, st: newState(), exists: map[string]struct{}{}}
	rd, err := c.openReader(c.exportPath)
	var old *layout
	switch {
	case err == nil:
		old = rd.lay
		err = s.loadAnchors(ctx, rd)
		rd.Close()
		if err != nil {
			return nil, err
		}
	case errors.Is(err, fs.ErrNotExist):
	default:
		return nil, fmt.Errorf("csv: open export: %w", err)
	}
	if c.cfg.Columns != nil || old != nil {
		s.allowed = map[string]bool{}
		for _, n := range c.outColumns(old, nil) {
			s.allowed[n] = true
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != nil {
		return nil, errors.New("csv: an export session is already open")
	}
	j, err := os.OpenFile(c.journalPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("csv: create journal (is another export running?): %w", err)
	}
	_, err = j.WriteString(journalHeader)
	if err == nil {
		err = j.Sync()
	}
	if err == nil {
		err = syncDir(filepath.Dir(c.journalPath))
	}
	if err != nil {
		j.Close()
		os.Remove(c.journalPath)
		return nil, fmt.Errorf("csv: create journal: %w", err)
	}
	s.j, s.size = j, int64(len(journalHeader))
	c.session = s
	active.Store(c.journalPath, s)
	return s, nil
}

// session is an export session: a journal plus the set of anchors.
type session struct {
	c       *conn
	st      *state
	exists  map[string]struct{}
	allowed map[string]bool // nil: any column
	j       *os.File
	size    int64
	buf     []byte
	recs    []*jrec
	broken  error
	closed  bool
}

func (s *session) loadAnchors(ctx context.Context, rd *reader) error {
	done := ctx.Done()
	for n := 0; ; n++ {
		if n&4095 == 0 {
			select {
			case <-done:
				return ctx.Err()
			default:
			}
		}
		rec, _, err := rd.next()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			continue // a malformed line: Import reports it
		}
		if len(rec) != len(rd.lay.cols) {
			continue
		}
		if a, err := s.c.anchorOf(rd.lay, rec); err == nil {
			s.exists[strings.Clone(a)] = struct{}{}
		}
	}
}

// ExportPage implements connector.ExportSession. Each change is checked
// against the anchors of the file and of earlier changes; the accepted
// ones are appended to the journal, which is synced before ExportPage
// returns: an acknowledged change survives a crash.
//
// Result error types: UnknownObjectType, AnchorMissing, AnchorMismatch,
// AnchorImmutable, ObjectNotFound (Update of an absent anchor),
// NoSuchAttribute (a column the file does not have), InvalidAttributeValue
// (a value the column's type cannot hold, several values for a
// single-valued column, a value holding the separator), InvalidDN,
// RenameNotSupported, UnsupportedOperation.
//
// Re-delivery is idempotent: an Add (or Replace) of an existing anchor
// replaces its row (ObjectReplace), whether or not the values differ; a
// Delete of an absent anchor succeeds; Update modifications are
// idempotent.
func (s *session) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	if s.closed {
		return nil, errors.New("csv: export session is closed")
	}
	if s.broken != nil {
		return nil, s.broken
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := make([]connector.ExportResult, len(changes))
	s.buf, s.recs = s.buf[:0], s.recs[:0]
	for i := range changes {
		ch := &changes[i]
		r, rec := s.prepare(ch)
		r.ID = ch.ID
		res[i] = r
		if rec != nil {
			s.buf = appendRecord(s.buf, rec)
			s.recs = append(s.recs, rec)
		}
	}
	if len(s.buf) > 0 {
		_, err := s.j.Write(s.buf)
		if err == nil {
			err = s.j.Sync()
		}
		if err != nil {
			s.j.Truncate(s.size)
			s.broken = fmt.Errorf("csv: write journal: %w", err)
			return nil, s.broken
		}
		s.size += int64(len(s.buf))
	}
	for _, r := range s.recs {
		s.st.apply(s.c, r)
	}
	if len(s.st.net) >= s.c.checkpointRows() {
		if err := s.checkpoint(ctx); err != nil {
			s.broken = err
			return nil, err
		}
	}
	return res, nil
}

// checkpointRows is how many changed rows a session holds in memory
// before it writes them to the file, so that memory stays bounded on
// large exports.
func (c *conn) checkpointRows() int {
	if c.cfg.checkpoint > 0 {
		return c.cfg.checkpoint
	}
	return defaultCheckpointRows
}

const defaultCheckpointRows = 100_000

// checkpoint applies the changes so far to the file (atomically, as
// Close does) and empties the journal. A crash between the two replays
// the journal onto the new file at the next open, which is harmless:
// adds replace rows, modifications and deletes are idempotent.
func (s *session) checkpoint(ctx context.Context) error {
	if err := s.c.rewrite(ctx, s.st); err != nil {
		return fmt.Errorf("csv: checkpoint export: %w (the journal keeps the acknowledged changes)", err)
	}
	if err := s.j.Truncate(int64(len(journalHeader))); err != nil {
		return fmt.Errorf("csv: checkpoint export: truncate journal: %w", err)
	}
	if _, err := s.j.Seek(int64(len(journalHeader)), io.SeekStart); err != nil {
		return fmt.Errorf("csv: checkpoint export: %w", err)
	}
	if err := s.j.Sync(); err != nil {
		return fmt.Errorf("csv: checkpoint export: sync journal: %w", err)
	}
	s.size = int64(len(journalHeader))
	s.st = newState()
	return nil
}

func failed(ch *idsync.Change, errType, format string, args ...any) (connector.ExportResult, *jrec) {
	what := string(ch.Anchor)
	if what == "" {
		what = ch.DN
	}
	err := fmt.Errorf("csv: export %s %q: %s", ch.Op, what, fmt.Sprintf(format, args...))
	return connector.ExportResult{Anchor: ch.Anchor, Err: err, ErrorType: errType}, nil
}

// valueText returns the text of v as a value of column type t.
func valueText(name string, t idsync.AttrType, v idsync.Value) (string, error) {
	if v.IsZero() {
		return "", nil
	}
	if v.Type != t {
		cv, err := v.Convert(t)
		if err != nil {
			return "", fmt.Errorf("column %q (%s): %v", name, t, err)
		}
		v = cv
	}
	return v.String(), nil
}

// cellText converts values to the text of a cell of column name.
func (s *session) cellText(name string, vals []idsync.Value) (string, error) {
	col := s.c.column(name)
	t, multi := col.typ, col.multi
	if len(vals) == 1 {
		text, err := valueText(name, t, vals[0])
		if err == nil && multi && strings.Contains(text, s.c.sep) {
			err = fmt.Errorf("column %q: value %q holds the multi-value separator %q", name, text, s.c.sep)
		}
		return text, err
	}
	cs, err := s.cells(name, vals)
	return strings.Join(cs, s.c.sep), err
}

// cells converts values to cell text for column name.
func (s *session) cells(name string, vals []idsync.Value) ([]string, error) {
	t := s.c.typeOf(name)
	multi := s.c.multi[name]
	out := make([]string, 0, len(vals))
	for _, v := range vals {
		if v.IsZero() {
			continue
		}
		if v.Type != t {
			cv, err := v.Convert(t)
			if err != nil {
				return nil, fmt.Errorf("column %q (%s): %v", name, t, err)
			}
			v = cv
		}
		text := v.String()
		if text == "" {
			continue
		}
		if multi && strings.Contains(text, s.c.sep) {
			return nil, fmt.Errorf("column %q: value %q holds the multi-value separator %q", name, text, s.c.sep)
		}
		out = append(out, text)
	}
	if !multi && len(out) > 1 {
		return nil, fmt.Errorf("column %q is single-valued, got %d values", name, len(out))
	}
	return out, nil
}

func (s *session) known(name string) bool { return s.allowed == nil || s.allowed[name] }

// anchorOfChange returns the anchor an Update or Delete names.
func (s *session) anchorOfChange(ch *idsync.Change) string {
	if ch.Anchor != "" {
		return string(ch.Anchor)
	}
	if s.c.dnKind == dnAnchor {
		return ch.DN
	}
	return ""
}

// prepare checks one change and returns its result and, when accepted
// with an effect, its journal record.
func (s *session) prepare(ch *idsync.Change) (connector.ExportResult, *jrec) {
	c := s.c
	if ch.ObjectType != "" && ch.ObjectType != c.objType {
		return failed(ch, "UnknownObjectType", "object type %q: this file holds %q", ch.ObjectType, c.objType)
	}
	switch ch.Op {
	case idsync.OpAdd, idsync.OpReplace:
		return s.prepareAdd(ch)
	case idsync.OpUpdate:
		return s.prepareUpdate(ch)
	case idsync.OpDelete:
		a := s.anchorOfChange(ch)
		if a == "" {
			return failed(ch, "AnchorMissing", "no anchor")
		}
		res := connector.ExportResult{Anchor: idsync.Anchor(a)}
		if _, ok := s.exists[a]; !ok {
			c.log.Debug("csv: delete of an absent anchor (already deleted?)", "anchor", a)
			return res, nil
		}
		delete(s.exists, a)
		return res, &jrec{Op: "delete", Anchor: a}
	}
	return failed(ch, "UnsupportedOperation", "operation %s", ch.Op)
}

// get returns the text of column name in a row of pairs (the last, when
// a column repeats: later pairs win).
func get(row []string, name string) (string, bool) {
	for i := len(row) - 2; i >= 0; i -= 2 {
		if row[i] == name {
			return row[i+1], true
		}
	}
	return "", false
}

// set sets the text of column name in a row of pairs.
func set(row []string, name, text string) []string {
	for i := 0; i < len(row); i += 2 {
		if row[i] == name {
			row[i+1] = text
			return row
		}
	}
	return append(row, name, text)
}

func (s *session) prepareAdd(ch *idsync.Change) (connector.ExportResult, *jrec) {
	c := s.c
	mods := ch.Mods
	for _, m := range mods {
		if m.Op != idsync.AttrReplace {
			mods = idsync.ModsFromAttrs(idsync.Attrs{}.Apply(ch.Mods))
			break
		}
	}
	row := make([]string, 0, 2*len(mods)+4)
	for _, m := range mods {
		if !s.known(m.Name) {
			return failed(ch, "NoSuchAttribute", "the file has no column %q", m.Name)
		}
		text, err := s.cellText(m.Name, m.Values)
		if err != nil {
			return failed(ch, "InvalidAttributeValue", "%v", err)
		}
		if text != "" {
			row = append(row, m.Name, text) // names are unique in an add; else the last wins
		}
	}
	// The anchor: from the anchor columns, else from the change's anchor
	// (or its DN, when the DN is the anchor).
	src := string(ch.Anchor)
	if src == "" && c.dnKind == dnAnchor {
		src = ch.DN
	}
	var given []string
	if src != "" {
		given = strings.SplitN(src, "|", len(c.cfg.Anchor))
	}
	var anchor string
	for i, col := range c.cfg.Anchor {
		cell, ok := get(row, col)
		if !ok {
			if len(given) != len(c.cfg.Anchor) || given[i] == "" {
				return failed(ch, "AnchorMissing", "anchor column %q has no value", col)
			}
			cell = given[i]
			if !s.known(col) {
				return failed(ch, "NoSuchAttribute", "the file has no column %q", col)
			}
		}
		canon, err := canonical(c.typeOf(col), cell)
		if err != nil {
			return failed(ch, "InvalidAttributeValue", "anchor column %q: %v", col, err)
		}
		row = set(row, col, canon)
		if i == 0 {
			anchor = canon
		} else {
			anchor += "|" + canon
		}
	}
	if ch.Anchor != "" && string(ch.Anchor) != anchor {
		return failed(ch, "AnchorMismatch", "the anchor columns make anchor %q", anchor)
	}
	dn := anchor
	switch c.dnKind {
	case dnColumn:
		if _, ok := get(row, c.dnCol); !ok {
			if ch.DN == "" {
				return failed(ch, "InvalidDN", "no DN and no value for dn column %q", c.dnCol)
			}
			if !s.known(c.dnCol) {
				return failed(ch, "NoSuchAttribute", "the file has no column %q", c.dnCol)
			}
			row = set(row, c.dnCol, ch.DN)
		}
		dn, _ = get(row, c.dnCol)
	case dnTemplate:
		var b strings.Builder
		for _, p := range c.dnTmpl {
			if p.col == "" {
				b.WriteString(p.lit)
				continue
			}
			v, ok := get(row, p.col)
			if !ok {
				return failed(ch, "InvalidDN", "dn template column %q has no value", p.col)
			}
			b.WriteString(v)
		}
		dn = b.String()
	}
	res := connector.ExportResult{Anchor: idsync.Anchor(anchor)}
	if dn != ch.DN {
		res.DN = dn
	}
	s.exists[anchor] = struct{}{}
	return res, &jrec{Op: "add", Anchor: anchor, row: row}
}

func (s *session) prepareUpdate(ch *idsync.Change) (connector.ExportResult, *jrec) {
	c := s.c
	a := s.anchorOfChange(ch)
	if a == "" {
		return failed(ch, "AnchorMissing", "no anchor")
	}
	if _, ok := s.exists[a]; !ok {
		return failed(ch, "ObjectNotFound", "no row has this anchor")
	}
	mods := ch.Mods
	res := connector.ExportResult{Anchor: idsync.Anchor(a)}
	if ch.NewDN != "" {
		switch c.dnKind {
		case dnColumn:
			mods = append(mods[:len(mods):len(mods)], idsync.AttrMod{Name: c.dnCol, Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String(ch.NewDN)}})
			res.DN = ch.NewDN
		case dnAnchor:
			if ch.NewDN != a {
				return failed(ch, "RenameNotSupported", "the DN is the anchor and cannot change to %q", ch.NewDN)
			}
		case dnTemplate:
			c.log.Debug("csv: ignoring a rename: the DN follows the dn template", "anchor", a, "newDN", ch.NewDN)
		}
	}
	tmods := make([]tmod, 0, len(mods))
	for _, m := range mods {
		if !s.known(m.Name) {
			return failed(ch, "NoSuchAttribute", "the file has no column %q", m.Name)
		}
		if m.Op > idsync.AttrClear {
			return failed(ch, "UnsupportedOperation", "attribute operation %s", m.Op)
		}
		if i := slices.Index(c.cfg.Anchor, m.Name); i >= 0 {
			parts := strings.SplitN(a, "|", len(c.cfg.Anchor))
			cs, err := s.cells(m.Name, m.Values)
			if m.Op != idsync.AttrReplace || err != nil || len(cs) != 1 || len(parts) != len(c.cfg.Anchor) || cs[0] != parts[i] {
				return failed(ch, "AnchorImmutable", "anchor column %q cannot change", m.Name)
			}
			continue // the same value: nothing to do
		}
		if m.Op == idsync.AttrAdd && !c.multi[m.Name] {
			return failed(ch, "InvalidAttributeValue", "column %q is single-valued: add values with replace", m.Name)
		}
		var cs []string
		if m.Op != idsync.AttrClear {
			var err error
			if cs, err = s.cells(m.Name, m.Values); err != nil {
				return failed(ch, "InvalidAttributeValue", "%v", err)
			}
		}
		if c.dnKind == dnColumn && m.Name == c.dnCol && (m.Op != idsync.AttrReplace || len(cs) != 1) {
			return failed(ch, "InvalidDN", "dn column %q must keep one value", m.Name)
		}
		tmods = append(tmods, tmod{Name: m.Name, Op: m.Op, Values: cs})
	}
	if len(tmods) == 0 {
		return res, nil
	}
	return res, &jrec{Op: "update", Anchor: a, Mods: tmods}
}

// Close implements connector.ExportSession: it rewrites the file with the
// session's changes and removes the journal. On error the journal stays,
// and the next OpenExport or Import applies it.
func (s *session) Close(ctx context.Context) error {
	c := s.c
	c.mu.Lock()
	if c.session == s {
		c.session = nil
	}
	c.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	defer active.CompareAndDelete(c.journalPath, s)
	if err := s.j.Close(); err != nil && s.broken == nil {
		s.broken = fmt.Errorf("csv: close journal: %w", err)
	}
	if s.broken != nil {
		return fmt.Errorf("%w (the journal keeps the acknowledged changes)", s.broken)
	}
	if len(s.st.net) > 0 {
		if err := c.rewrite(ctx, s.st); err != nil {
			return fmt.Errorf("%w (the journal keeps the exported changes)", err)
		}
		c.log.Info("csv: export written", "file", c.cfg.exportName(), "objects", len(s.st.net))
	}
	return c.removeJournal()
}

// abandon drops the session without applying it, as a crash would.
func (s *session) abandon() {
	if !s.closed {
		s.closed = true
		s.j.Close()
		active.CompareAndDelete(s.c.journalPath, s)
	}
}

// appendRecord appends r as one JSON line.
func appendRecord(b []byte, r *jrec) []byte {
	b = append(b, `{"op":`...)
	b = appendJSONString(b, r.Op)
	b = append(b, `,"anchor":`...)
	b = appendJSONString(b, r.Anchor)
	if r.Op == "add" {
		b = append(b, `,"row":{`...)
		first := true
		for i := 0; i < len(r.row); i += 2 {
			if !first {
				b = append(b, ',')
			}
			first = false
			b = appendJSONString(b, r.row[i])
			b = append(b, ':')
			b = appendJSONString(b, r.row[i+1])
		}
		b = append(b, '}')
	}
	if len(r.Mods) > 0 {
		b = append(b, `,"mods":[`...)
		for i, m := range r.Mods {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"n":`...)
			b = appendJSONString(b, m.Name)
			b = append(b, `,"o":`...)
			b = append(b, byte('0'+m.Op))
			if len(m.Values) > 0 {
				b = append(b, `,"v":[`...)
				for j, v := range m.Values {
					if j > 0 {
						b = append(b, ',')
					}
					b = appendJSONString(b, v)
				}
				b = append(b, ']')
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	return append(b, "}\n"...)
}

// appendJSONString appends s as a JSON string. Invalid UTF-8 becomes
// U+FFFD, as with encoding/json.
func appendJSONString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		ch := s[i]
		if ch < utf8.RuneSelf {
			if ch >= 0x20 && ch != '"' && ch != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch ch {
			case '"', '\\':
				b = append(b, '\\', ch)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[ch>>4], hex[ch&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
