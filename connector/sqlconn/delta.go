package sqlconn

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// The watermark is "ISQL" followed by the JSON of mark. Its fingerprint
// covers the settings that decide what a watermark means (driver, DSN,
// each type's source, anchor and delta settings): after such a change a
// stored watermark is refused with connector.ErrWatermarkExpired and the
// engine runs a full import.
const markMagic = "ISQL"

type mark struct {
	V     int                  `json:"v"`
	FP    string               `json:"fp"`
	Types map[string]*typeMark `json:"types"`
}

// typeMark is where one object type's delta import starts.
type typeMark struct {
	Time     *time.Time `json:"time,omitempty"` // watermark kind timestamp
	Num      *int64     `json:"num,omitempty"`  // watermark kind number
	Bin      []byte     `json:"bin,omitempty"`  // watermark kind rowversion
	Seq      *int64     `json:"seq,omitempty"`  // change table
	Snapshot []byte     `json:"snap,omitempty"` // snapshot comparison
}

func (c *conn) fingerprint() string {
	h := fnvOffset
	h = fnvString(h, c.d.name()+"\x00"+c.cfg.DSN+"\x00"+c.cfg.Schema)
	for _, ot := range c.types {
		cfg := ot.cfg
		h = fnvString(h, "\x01"+cfg.Name+"\x00"+cfg.Table+"\x00"+cfg.Query+"\x00"+strings.Join(cfg.Anchor, ","))
		if dl := cfg.Delta; dl != nil {
			h = fnvString(h, "\x02"+dl.Mode+"\x00"+dl.Column+"\x00"+ot.wmKind+"\x00"+dl.Table+"\x00"+dl.SequenceColumn)
		}
	}
	return strconv.FormatUint(h, 16)
}

func (c *conn) newMark() *mark {
	return &mark{V: 1, FP: c.fingerprint(), Types: map[string]*typeMark{}}
}

func (m *mark) encode() (connector.Watermark, error) {
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sql: encode watermark: %w", err)
	}
	return append([]byte(markMagic), b...), nil
}

func (c *conn) decodeMark(w connector.Watermark) (*mark, error) {
	if !bytes.HasPrefix(w, []byte(markMagic)) {
		return nil, fmt.Errorf("%w: not a sql connector watermark", connector.ErrWatermarkExpired)
	}
	var m mark
	if err := json.Unmarshal(w[len(markMagic):], &m); err != nil {
		return nil, fmt.Errorf("%w: %v", connector.ErrWatermarkExpired, err)
	}
	if m.V != 1 || m.FP != c.fingerprint() {
		return nil, fmt.Errorf("%w: the configuration changed since it was taken", connector.ErrWatermarkExpired)
	}
	for _, ot := range c.types {
		if m.Types[ot.name] == nil {
			return nil, fmt.Errorf("%w: no position for object type %q", connector.ErrWatermarkExpired, ot.name)
		}
	}
	return &m, nil
}

// startMark reads where the next delta import of ot starts, before ot is
// read: the watermark column's maximum or the change table's last
// sequence number.
func (c *conn) startMark(ctx context.Context, ot *otype) (*typeMark, error) {
	tm := &typeMark{}
	dl := ot.cfg.Delta
	if dl == nil {
		return tm, nil
	}
	switch dl.Mode {
	case DeltaWatermark:
		b := &sqlBuilder{d: c.d}
		b.str("SELECT MAX(q.").ident(dl.Column).str(") FROM ").str(ot.from)
		raw, err := c.scalar(ctx, b.String())
		if err != nil {
			return nil, classify("watermark of "+ot.name, err)
		}
		if raw == nil {
			return tm, nil
		}
		switch ot.wmKind {
		case "timestamp":
			v, _, err := fromDB(raw, idsync.TypeDateTime)
			if err != nil {
				return nil, fmt.Errorf("sql: watermark of %s: %w", ot.name, err)
			}
			t := v.Time()
			tm.Time = &t
		case "number":
			v, _, err := fromDB(raw, idsync.TypeInteger)
			if err != nil {
				return nil, fmt.Errorf("sql: watermark of %s: %w", ot.name, err)
			}
			tm.Num = &v.Int
		default:
			v, _, err := fromDB(raw, idsync.TypeBinary)
			if err != nil {
				return nil, fmt.Errorf("sql: watermark of %s: %w", ot.name, err)
			}
			tm.Bin = v.Bin
		}
	case DeltaChangeTable:
		b := &sqlBuilder{d: c.d}
		b.str("SELECT MAX(").ident(dl.SequenceColumn).str(") FROM ").name(dl.Table)
		raw, err := c.scalar(ctx, b.String())
		if err != nil {
			return nil, classify("change table of "+ot.name, err)
		}
		if raw != nil {
			v, _, err := fromDB(raw, idsync.TypeInteger)
			if err != nil {
				return nil, fmt.Errorf("sql: change table of %s: %w", ot.name, err)
			}
			tm.Seq = &v.Int
		}
	}
	return tm, nil
}

// ImportChanges implements connector.DeltaImporter.
func (c *conn) ImportChanges(ctx context.Context, opts connector.ImportOptions, since connector.Watermark, emit func(idsync.Change) error) (connector.Watermark, error) {
	old, err := c.decodeMark(since)
	if err != nil {
		return nil, err
	}
	nw := c.newMark()
	for _, ot := range c.types {
		prev := old.Types[ot.name]
		mode := DeltaSnapshot
		if ot.cfg.Delta != nil {
			mode = ot.cfg.Delta.Mode
		}
		var next *typeMark
		switch mode {
		case DeltaWatermark:
			next, err = c.deltaWatermark(ctx, ot, prev, opts.PageSize, emit)
		case DeltaChangeTable:
			next, err = c.deltaChangeTable(ctx, ot, prev, emit)
		default:
			next, err = c.deltaSnapshot(ctx, ot, prev, opts.PageSize, emit)
		}
		if err != nil {
			return nil, err
		}
		nw.Types[ot.name] = next
	}
	return nw.encode()
}

func rowChange(ot *otype, r *row) idsync.Change {
	ch := idsync.Change{Op: idsync.OpReplace, ObjectType: ot.name, Anchor: r.anchor, DN: string(r.anchor),
		Source: sourceName(ot.cfg) + " " + string(r.anchor), Err: r.err}
	if r.deleted {
		ch.Op = idsync.OpDelete
	} else {
		ch.Mods = idsync.ModsFromAttrs(r.attrs)
	}
	return ch
}

// deltaWatermark reads the rows whose watermark column passed prev.
// Soft-deleted rows become deletions. Rows changed after the new
// position was taken are read again next time, which is harmless.
func (c *conn) deltaWatermark(ctx context.Context, ot *otype, prev *typeMark, pageSize int, emit func(idsync.Change) error) (*typeMark, error) {
	next, err := c.startMark(ctx, ot)
	if err != nil {
		return nil, err
	}
	var since any
	switch {
	case prev.Time != nil:
		since = *prev.Time
		if ot.cols[ot.wmIdx].store != idsync.TypeDateTime {
			since = prev.Time.Format(time.RFC3339Nano)
		}
	case prev.Num != nil:
		since = *prev.Num
	case prev.Bin != nil:
		since = prev.Bin
	}
	var where filter
	col := ot.cols[ot.wmIdx].name
	if since != nil {
		where = func(b *sqlBuilder) { b.str("q.").ident(col).str(" > ").arg(since) }
	} else {
		where = func(b *sqlBuilder) { b.str("q.").ident(col).str(" IS NOT NULL") }
	}
	err = c.scan(ctx, ot, where, true, pageSize, func(r *row) error { return emit(rowChange(ot, r)) })
	if err != nil {
		return nil, err
	}
	if next.Time == nil && next.Num == nil && next.Bin == nil {
		next = prev
	}
	return next, nil
}

// opKind reads a change table's operation value.
func opKind(dl *Delta, v string) (idsync.Op, bool) {
	for op, name := range map[idsync.Op]string{idsync.OpAdd: "insert", idsync.OpUpdate: "update", idsync.OpDelete: "delete"} {
		if custom, ok := dl.Operations[name]; ok && custom == v {
			return op, true
		}
		if strings.EqualFold(v, name) || strings.EqualFold(v, name[:1]) {
			return op, true
		}
	}
	return 0, false
}

// deltaChangeTable reads the change table after prev's sequence number,
// keeps the last operation per anchor, and reads the current row of
// every inserted or updated anchor: a row that is gone (or soft-deleted)
// is a deletion.
func (c *conn) deltaChangeTable(ctx context.Context, ot *otype, prev *typeMark, emit func(idsync.Change) error) (*typeMark, error) {
	dl := ot.cfg.Delta
	acols := dl.AnchorColumns
	if acols == nil {
		acols = ot.anchorCol
	}
	b := &sqlBuilder{d: c.d}
	b.str("SELECT c.").ident(dl.SequenceColumn).str(", c.").ident(dl.OperationColumn).str(", ").idents("c.", acols).
		str(" FROM ").name(dl.Table).str(" c")
	if prev.Seq != nil {
		b.str(" WHERE c.").ident(dl.SequenceColumn).str(" > ").arg(*prev.Seq)
	}
	b.str(" ORDER BY c.").ident(dl.SequenceColumn)
	rows, err := c.db.QueryContext(ctx, b.String(), b.args...)
	if err != nil {
		return nil, classify("read change table "+dl.Table, err)
	}
	type pending struct {
		op  idsync.Op
		seq int64
	}
	last := map[idsync.Anchor]*pending{}
	var order []idsync.Anchor
	var bad []idsync.Change
	next := &typeMark{Seq: prev.Seq}
	vals := make([]any, 2+len(acols))
	ptrs := make([]any, len(vals))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	parts := make([]string, len(acols))
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			rows.Close()
			return nil, classify("read change table "+dl.Table, err)
		}
		sv, _, err := fromDB(vals[0], idsync.TypeInteger)
		if err != nil {
			rows.Close()
			return nil, fmt.Errorf("sql: change table %s: %s: %w", dl.Table, dl.SequenceColumn, err)
		}
		seq := sv.Int
		next.Seq = &seq
		opText, _ := text(vals[1])
		for i := range acols {
			v, _, _ := fromDB(vals[2+i], ot.cols[ot.anchor[i]].store)
			parts[i] = v.String()
		}
		a := joinAnchor(parts)
		op, ok := opKind(dl, opText)
		if !ok {
			bad = append(bad, idsync.Change{Op: idsync.OpUpdate, ObjectType: ot.name, Anchor: a, DN: string(a),
				Source: fmt.Sprintf("%s %s=%d", dl.Table, dl.SequenceColumn, seq),
				Err:    fmt.Errorf("unknown operation %q in %s.%s", opText, dl.Table, dl.OperationColumn)})
			continue
		}
		p := last[a]
		if p == nil {
			p = &pending{}
			last[a] = p
			order = append(order, a)
		}
		p.op, p.seq = op, seq
	}
	if err := rows.Err(); err != nil {
		rows.Close()
		return nil, classify("read change table "+dl.Table, err)
	}
	rows.Close()
	for _, ch := range bad {
		if err := emit(ch); err != nil {
			return nil, err
		}
	}
	const batch = 500
	for start := 0; start < len(order); start += batch {
		chunk := order[start:min(start+batch, len(order))]
		var fetch []idsync.Anchor
		for _, a := range chunk {
			if last[a].op != idsync.OpDelete {
				fetch = append(fetch, a)
			}
		}
		var got map[idsync.Anchor]*row
		if len(fetch) > 0 {
			if got, err = c.rowsByAnchor(ctx, ot, fetch); err != nil {
				return nil, err
			}
		}
		for _, a := range chunk {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			r := got[a]
			if last[a].op == idsync.OpDelete || r == nil || r.deleted {
				if err := emit(idsync.Change{Op: idsync.OpDelete, ObjectType: ot.name, Anchor: a, DN: string(a),
					Source: fmt.Sprintf("%s %s=%d", dl.Table, dl.SequenceColumn, last[a].seq)}); err != nil {
					return nil, err
				}
				continue
			}
			if err := emit(rowChange(ot, r)); err != nil {
				return nil, err
			}
		}
	}
	return next, nil
}

// deltaSnapshot reads every row and compares it with the snapshot of the
// previous import: new and changed rows are replacements, anchors no
// longer read are deletions.
func (c *conn) deltaSnapshot(ctx context.Context, ot *otype, prev *typeMark, pageSize int, emit func(idsync.Change) error) (*typeMark, error) {
	old, err := decodeSnapshot(prev.Snapshot)
	if err != nil {
		return nil, fmt.Errorf("%w: object type %s: %v", connector.ErrWatermarkExpired, ot.name, err)
	}
	snap := &snapshotBuilder{}
	err = c.scan(ctx, ot, nil, false, pageSize, func(r *row) error {
		if r.err != nil {
			return emit(rowChange(ot, r))
		}
		h := hashAttrs(r.attrs)
		snap.add(r.anchor, h)
		oh, seen := old[r.anchor]
		delete(old, r.anchor)
		if seen && oh == h {
			return nil
		}
		return emit(rowChange(ot, r))
	})
	if err != nil {
		return nil, err
	}
	gone := make([]idsync.Anchor, 0, len(old))
	for a := range old {
		gone = append(gone, a)
	}
	slices.Sort(gone)
	for _, a := range gone {
		if err := emit(idsync.Change{Op: idsync.OpDelete, ObjectType: ot.name, Anchor: a, DN: string(a), Source: sourceName(ot.cfg)}); err != nil {
			return nil, err
		}
	}
	return &typeMark{Snapshot: snap.encode()}, nil
}

// FNV-1a, 64 bits: stable across processes and releases.
const (
	fnvOffset uint64 = 14695981039346656037
	fnvPrime  uint64 = 1099511628211
)

func fnvString(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return h
}

// hashAttrs hashes an object's attributes independently of map and
// multi-value order.
func hashAttrs(a idsync.Attrs) uint64 {
	h := fnvOffset
	for _, n := range idsync.SortedNames(a) {
		h = fnvString(h, n+"\x00")
		vs := a[n]
		texts := make([]string, len(vs))
		for i, v := range vs {
			texts[i] = string(rune('0'+v.Type)) + v.String()
		}
		sort.Strings(texts)
		for _, t := range texts {
			h = fnvString(h, t+"\x00")
		}
		h = fnvString(h, "\x01")
	}
	return h
}

// snapshotBuilder collects (anchor, hash) pairs. Encoding: uvarint
// count, then per entry in ascending anchor order a uvarint length, the
// anchor and the 8-byte hash, then an 8-byte FNV checksum of everything
// before it.
type snapshotBuilder struct {
	anchors []idsync.Anchor
	hashes  map[idsync.Anchor]uint64
}

func (s *snapshotBuilder) add(a idsync.Anchor, h uint64) {
	if s.hashes == nil {
		s.hashes = map[idsync.Anchor]uint64{}
	}
	if _, dup := s.hashes[a]; !dup {
		s.anchors = append(s.anchors, a)
	}
	s.hashes[a] = h
}

func (s *snapshotBuilder) encode() []byte {
	slices.Sort(s.anchors)
	out := binary.AppendUvarint(nil, uint64(len(s.anchors)))
	for _, a := range s.anchors {
		out = binary.AppendUvarint(out, uint64(len(a)))
		out = append(out, a...)
		out = binary.LittleEndian.AppendUint64(out, s.hashes[a])
	}
	return binary.LittleEndian.AppendUint64(out, fnvString(fnvOffset, string(out)))
}

var errSnapshot = errors.New("malformed snapshot")

func decodeSnapshot(b []byte) (map[idsync.Anchor]uint64, error) {
	if len(b) < 9 {
		return nil, errSnapshot
	}
	body, sum := b[:len(b)-8], binary.LittleEndian.Uint64(b[len(b)-8:])
	if fnvString(fnvOffset, string(body)) != sum {
		return nil, errSnapshot
	}
	n, k := binary.Uvarint(body)
	if k <= 0 || n > uint64(len(body)) {
		return nil, errSnapshot
	}
	body = body[k:]
	out := make(map[idsync.Anchor]uint64, n)
	for range n {
		l, k := binary.Uvarint(body)
		if k <= 0 || uint64(len(body)-k) < l+8 {
			return nil, errSnapshot
		}
		a := idsync.Anchor(body[k : k+int(l)])
		out[a] = binary.LittleEndian.Uint64(body[k+int(l):])
		body = body[k+int(l)+8:]
	}
	if len(body) != 0 {
		return nil, errSnapshot
	}
	return out, nil
}
