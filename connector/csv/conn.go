package csv

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// conn is an open CSV connector.
type conn struct {
	cfg         Config
	name        string // the path as configured, for messages ("hr.csv")
	path        string // resolved import file
	exportPath  string // resolved export file
	journalPath string
	objType     string
	sep         string
	delim       rune
	types       map[string]idsync.AttrType
	multi       map[string]bool
	columns     map[string]colInfo // types and multi together, for export
	dnKind      int
	dnCol       string
	dnTmpl      []tmplPart
	log         *slog.Logger

	mu      sync.Mutex
	session *session // the open export session, if any

	pos importPosition // where the running full import stands
}

var (
	_ connector.Connector         = (*conn)(nil)
	_ connector.Importer          = (*conn)(nil)
	_ connector.ResumableImporter = (*conn)(nil)
	_ connector.DeltaImporter     = (*conn)(nil)
	_ connector.Exporter          = (*conn)(nil)
	_ connector.SchemaDiscoverer  = (*conn)(nil)
	_ connector.Pinger            = (*conn)(nil)
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

// Close implements connector.Connector. An export session left open is
// abandoned: its acknowledged changes stay in the journal and are applied
// by the next OpenExport or Import.
func (c *conn) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.session; s != nil {
		s.abandon()
		c.session = nil
	}
	return nil
}

type colInfo struct {
	typ   idsync.AttrType
	multi bool
}

func (c *conn) column(name string) colInfo {
	if ci, ok := c.columns[name]; ok {
		return ci
	}
	return colInfo{typ: idsync.TypeString}
}

func (c *conn) typeOf(col string) idsync.AttrType {
	if t, ok := c.types[col]; ok {
		return t
	}
	return idsync.TypeString
}

// layout is a file's columns, resolved against the configuration.
type layout struct {
	cols   []string
	idx    map[string]int
	anchor []int
	typ    []idsync.AttrType
	multi  []bool
	dnCol  int        // for dnColumn
	tmpl   []tmplPart // for dnTemplate, with columns checked
}

// newLayout resolves cols (a header, or Config.Columns). It fails when a
// column repeats or a column the anchor or the DN needs is missing.
func (c *conn) newLayout(cols []string) (*layout, error) {
	l := &layout{cols: cols, idx: make(map[string]int, len(cols)), dnCol: -1}
	for i, n := range cols {
		if _, dup := l.idx[n]; dup {
			return nil, fmt.Errorf("column %q appears twice", n)
		}
		l.idx[n] = i
		l.typ = append(l.typ, c.typeOf(n))
		l.multi = append(l.multi, c.multi[n])
	}
	for _, a := range c.cfg.Anchor {
		i, ok := l.idx[a]
		if !ok {
			return nil, fmt.Errorf("anchor column %q is missing", a)
		}
		l.anchor = append(l.anchor, i)
	}
	switch c.dnKind {
	case dnColumn:
		i, ok := l.idx[c.dnCol]
		if !ok {
			return nil, fmt.Errorf("dn column %q is missing", c.dnCol)
		}
		l.dnCol = i
	case dnTemplate:
		for _, p := range c.dnTmpl {
			if _, ok := l.idx[p.col]; p.col != "" && !ok {
				return nil, fmt.Errorf("dn template column %q is missing", p.col)
			}
		}
		l.tmpl = c.dnTmpl
	}
	return l, nil
}

// parseCell reads one value of type t.
func parseCell(t idsync.AttrType, s string) (idsync.Value, error) {
	switch t {
	case idsync.TypeString:
		return idsync.String(s), nil
	case idsync.TypeReference:
		return idsync.Ref(s), nil
	case idsync.TypeInteger:
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return idsync.Value{}, fmt.Errorf("value %q is not an integer", s)
		}
		return idsync.Int(n), nil
	case idsync.TypeBinary:
		b, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
		if err != nil {
			return idsync.Value{}, fmt.Errorf("value %q is not Base64", s)
		}
		return idsync.Binary(b), nil
	default:
		return idsync.String(s).Convert(t)
	}
}

// canonical returns the text form of cell as a value of t: what anchors
// are made of, so that "007" and "7" name the same integer anchor.
func canonical(t idsync.AttrType, s string) (string, error) {
	if t == idsync.TypeString || t == idsync.TypeReference {
		return s, nil
	}
	v, err := parseCell(t, s)
	if err != nil {
		return "", err
	}
	return v.String(), nil
}

// anchorOf returns the anchor of a record whose field count is right.
func (c *conn) anchorOf(l *layout, rec []string) (string, error) {
	if len(l.anchor) == 1 {
		i := l.anchor[0]
		if rec[i] == "" {
			return "", fmt.Errorf("anchor column %q is empty", l.cols[i])
		}
		s, err := canonical(l.typ[i], rec[i])
		if err != nil {
			return "", fmt.Errorf("anchor column %q: %w", l.cols[i], err)
		}
		return s, nil
	}
	parts := make([]string, len(l.anchor))
	for k, i := range l.anchor {
		if rec[i] == "" {
			return "", fmt.Errorf("anchor column %q is empty", l.cols[i])
		}
		s, err := canonical(l.typ[i], rec[i])
		if err != nil {
			return "", fmt.Errorf("anchor column %q: %w", l.cols[i], err)
		}
		parts[k] = s
	}
	return strings.Join(parts, "|"), nil
}

// dnOf returns the DN of a record.
func (c *conn) dnOf(l *layout, rec []string, anchor string) (string, error) {
	switch c.dnKind {
	case dnColumn:
		if rec[l.dnCol] == "" {
			return "", fmt.Errorf("dn column %q is empty", c.dnCol)
		}
		return rec[l.dnCol], nil
	case dnTemplate:
		var b strings.Builder
		for _, p := range l.tmpl {
			if p.col == "" {
				b.WriteString(p.lit)
				continue
			}
			v := rec[l.idx[p.col]]
			if v == "" {
				return "", fmt.Errorf("dn template column %q is empty", p.col)
			}
			b.WriteString(v)
		}
		return b.String(), nil
	}
	return anchor, nil
}

// attrsOf parses every non-empty cell of a record.
func (c *conn) attrsOf(l *layout, rec []string) (idsync.Attrs, error) {
	attrs := make(idsync.Attrs, len(rec))
	single := make([]idsync.Value, len(rec))
	for i, cell := range rec {
		if cell == "" {
			continue
		}
		if l.multi[i] {
			parts := strings.Split(cell, c.sep)
			vs := make([]idsync.Value, 0, len(parts))
			for _, p := range parts {
				if p == "" {
					continue
				}
				v, err := parseCell(l.typ[i], p)
				if err != nil {
					return nil, fmt.Errorf("column %q: %w", l.cols[i], err)
				}
				vs = append(vs, v)
			}
			if len(vs) > 0 {
				attrs[l.cols[i]] = vs
			}
			continue
		}
		v, err := parseCell(l.typ[i], cell)
		if err != nil {
			return nil, fmt.Errorf("column %q: %w", l.cols[i], err)
		}
		single[i] = v
		attrs[l.cols[i]] = single[i : i+1 : i+1]
	}
	return attrs, nil
}

// reader is a csv.Reader over one file with the configured dialect.
type reader struct {
	f   *os.File
	r   *csv.Reader
	lay *layout // nil for an empty file
}

// openReader opens path and reads its header. A missing file returns an
// error satisfying errors.Is(err, fs.ErrNotExist).
func (c *conn) openReader(path string) (*reader, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	r := csv.NewReader(bufio.NewReaderSize(f, 256<<10))
	r.Comma = c.delim
	r.FieldsPerRecord = -1
	r.ReuseRecord = true
	rd := &reader{f: f, r: r}
	cols := c.cfg.Columns
	if c.cfg.header() {
		rec, err := r.Read()
		if err == io.EOF {
			return rd, nil // an empty file: no header, no rows
		}
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("csv: read %s header: %w", c.name, err)
		}
		cols = slices.Clone(rec)
		cols[0] = strings.TrimPrefix(cols[0], "\ufeff") // a UTF-8 byte order mark
	}
	lay, err := c.newLayout(cols)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("csv: read %s header: %w", c.name, err)
	}
	rd.lay = lay
	return rd, nil
}

func (rd *reader) Close() error { return rd.f.Close() }

// next returns the next record and its line; io.EOF at the end. A
// *csv.ParseError is returned as is: the reader can go on after it.
func (rd *reader) next() ([]string, int, error) {
	if rd.lay == nil {
		return nil, 0, io.EOF
	}
	rec, err := rd.r.Read()
	if err != nil {
		return nil, 0, err
	}
	line, _ := rd.r.FieldPos(0)
	return rec, line, nil
}

// Import implements connector.Importer. It first applies a journal left
// by an export session that did not close. Rows are emitted in file
// order; a malformed row is emitted as an Entry with Err and Source
// ("hr.csv:17"), and the import goes on. It returns a snapshot watermark
// (see snapshot.go) of the rows read without error, for ImportChanges.
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	if err := c.recoverJournal(ctx); err != nil {
		return nil, err
	}
	rd, err := c.openReader(c.path)
	if err != nil {
		return nil, fmt.Errorf("csv: import %s: %w", c.name, err)
	}
	defer rd.Close()
	if c.pos, err = startPosition(rd.f); err != nil {
		return nil, fmt.Errorf("csv: import %s: %w", c.name, err)
	}
	var resume *importPosition
	if opts.Resume != nil {
		if resume, err = c.resumeAt(opts.Resume); err != nil {
			return nil, err
		}
	}
	done := ctx.Done()
	seen := newFileSet(1024)
	for {
		select {
		case <-done:
			return nil, ctx.Err()
		default:
		}
		// Resuming: the rows up to the position are read again for the
		// watermark and duplicate detection, but not emitted.
		skip := resume != nil && c.pos.Records < resume.Records
		if resume != nil && !skip {
			if c.pos.Offset != resume.Offset {
				return nil, fmt.Errorf("csv: import %s: row %d ends at byte %d, not %d: %w", c.name, resume.Records, c.pos.Offset, resume.Offset, connector.ErrResumeInvalid)
			}
			resume = nil
		}
		rec, line, err := rd.next()
		if err == io.EOF {
			if resume != nil {
				return nil, fmt.Errorf("csv: import %s: the file ends before row %d: %w", c.name, resume.Records, connector.ErrResumeInvalid)
			}
			return encodeSnapshot(c.fingerprint(rd.lay), seen, func(i int) bool { return seen.ok[i] }), nil
		}
		c.pos.Records++
		c.pos.Offset = rd.r.InputOffset()
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			if skip {
				continue
			}
			if err := emit(c.parseErrorEntry(pe)); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("csv: read %s: %w", c.name, err)
		}
		e, err := c.entry(rd.lay, rec, line, seen)
		if err != nil {
			return nil, err
		}
		if skip {
			continue
		}
		if err := emit(e); err != nil {
			return nil, err
		}
	}
}

// parseErrorEntry is the Entry of a line the CSV reader could not read.
func (c *conn) parseErrorEntry(pe *csv.ParseError) idsync.Entry {
	return idsync.Entry{ObjectType: c.objType, Source: fmt.Sprintf("%s:%d", c.name, pe.StartLine),
		Err: fmt.Errorf("csv: read %s line %d: %w", c.name, pe.StartLine, pe.Err)}
}

// entry turns a record into an Entry, with Err when it is malformed. It
// adds the anchor to seen (the first row with an anchor claims it, even
// when malformed) and, for a row read without error, sets its hash and ok
// flag. An error return is fatal (the set outgrew its limits).
func (c *conn) entry(l *layout, rec []string, line int, seen *anchorSet) (idsync.Entry, error) {
	e := idsync.Entry{ObjectType: c.objType, Source: c.name + ":" + strconv.Itoa(line)}
	fail := func(err error) (idsync.Entry, error) {
		e.Err = fmt.Errorf("csv: read %s line %d: %w", c.name, line, err)
		return e, nil
	}
	if len(rec) != len(l.cols) {
		return fail(fmt.Errorf("%d fields, want %d", len(rec), len(l.cols)))
	}
	anchor, err := c.anchorOf(l, rec)
	if err != nil {
		return fail(err)
	}
	e.Anchor = idsync.Anchor(anchor)
	if first := seen.find(anchor); first >= 0 {
		return fail(fmt.Errorf("duplicate anchor %q (first at line %d)", anchor, seen.lines[first]))
	}
	i, err := seen.add(anchor, 0, line)
	if err != nil {
		return e, err
	}
	if e.DN, err = c.dnOf(l, rec, anchor); err != nil {
		return fail(err)
	}
	if e.Attrs, err = c.attrsOf(l, rec); err != nil {
		return fail(err)
	}
	seen.hashes[i], seen.ok[i] = rowHash(rec), true
	return e, nil
}

// Schema implements connector.SchemaDiscoverer: one class, the object
// type, with the file's columns (or Config.Columns), typed by Types and
// flagged by MultiValued; columns named only in the configuration follow
// in sorted order.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	cols := c.cfg.Columns
	if c.cfg.header() {
		for _, p := range []string{c.path, c.exportPath} {
			rd, err := c.openReader(p)
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("csv: schema: %w", err)
			}
			if rd.lay != nil {
				cols = rd.lay.cols
			}
			rd.Close()
			break
		}
	}
	cols = slices.Clone(cols)
	var extra []string
	add := func(n string) {
		if !slices.Contains(cols, n) && !slices.Contains(extra, n) {
			extra = append(extra, n)
		}
	}
	for _, n := range c.cfg.Anchor {
		add(n)
	}
	if c.dnKind == dnColumn {
		add(c.dnCol)
	}
	for n := range c.types {
		add(n)
	}
	for _, n := range c.cfg.MultiValued {
		add(n)
	}
	sort.Strings(extra)
	cl := idsync.ObjectClass{Name: c.objType}
	for _, n := range append(cols, extra...) {
		cl.Attrs = append(cl.Attrs, idsync.AttrDef{Name: n, Type: c.typeOf(n), MultiValued: c.multi[n]})
	}
	return &idsync.Schema{Classes: []idsync.ObjectClass{cl}}, nil
}

// Ping implements connector.Pinger: the import file is readable (unless
// it is also the export file and does not exist yet), and the export
// file's directory is writable.
func (c *conn) Ping(ctx context.Context) error {
	f, err := os.Open(c.path)
	switch {
	case err == nil:
		f.Close()
	case errors.Is(err, fs.ErrNotExist) && c.path == c.exportPath:
	default:
		return fmt.Errorf("csv: ping: %w", err)
	}
	if f, err := os.OpenFile(c.exportPath, os.O_WRONLY, 0); err == nil {
		f.Close()
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("csv: ping: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(c.exportPath), ".idsync-ping-*")
	if err != nil {
		return fmt.Errorf("csv: ping: directory of %s is not writable: %w", c.cfg.exportName(), err)
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

func (c *Config) exportName() string {
	if c.ExportPath != "" {
		return c.ExportPath
	}
	return c.Path
}
