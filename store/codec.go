package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync"
)

// The binary codec: what implementations put in blobs. It uses no
// reflection and allocates little on decode (every string of a blob is a
// substring of one copy of it). Every top-level encoding starts with a
// format version byte; decoders reject versions they do not know, trailing
// bytes, unknown enum values and lengths past the end of the input, and
// name what is malformed in their errors. Encodings are deterministic:
// map entries are written in sorted key order, so equal values give equal
// bytes.
//
// The layouts (varint and uvarint as in encoding/binary; str is a uvarint
// length and the bytes; time is a varint of Unix seconds and a uvarint of
// nanoseconds; bool is one byte):
//
//	value   = type:byte payload          (string, reference: str; integer,
//	                                      datetime: varint; boolean: byte;
//	                                      binary: str; type 0: nothing)
//	attrs   = n:uvarint total:uvarint { name:str k:uvarint value*k }*n
//	mods    = n:uvarint { name:str op:byte k:uvarint value*k }*n
//	pexport = op:byte newDN:str mods
//	experr  = type:str message:str retries:varint first:time last:time
//	lineage = t:uvarint { rule:str connector:str csID:str runID:str at:time }*t
//	          n:uvarint { attr:str tuple:uvarint flow:str }*n
//	csdata  = flags:uvarint awaiting:byte linkType:byte linkRule:str
//	          importError:str linkedAt:time updated:time attrs
//	          [exportStatus:attrs] [pexport] [experr]   (present per flags)
//	mvdata  = flags:uvarint created:time updated:time attrs [lineage]

// CodecVersion is the format version byte that starts every encoding.
const CodecVersion = 1

// ErrMalformed is wrapped by every decoding error.
var ErrMalformed = errors.New("store: malformed blob")

// CS data flags.
const (
	csProvisioned = 1 << iota
	csObsolete
	csExportStatus
	csPendingExport
	csExportError
)

// MV data flags.
const (
	mvRetryProvisioning = 1 << iota
	mvLineage
)

// ---------------------------------------------------------------------------
// encoding

func appendUvarint(b []byte, v uint64) []byte { return binary.AppendUvarint(b, v) }
func appendVarint(b []byte, v int64) []byte   { return binary.AppendVarint(b, v) }

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBytes(b []byte, p []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(p)))
	return append(b, p...)
}

func appendTime(b []byte, t time.Time) []byte {
	b = binary.AppendVarint(b, t.Unix())
	return binary.AppendUvarint(b, uint64(t.Nanosecond()))
}

func appendBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendValue(b []byte, v idsync.Value) []byte {
	b = append(b, byte(v.Type))
	switch v.Type {
	case idsync.TypeString, idsync.TypeReference:
		b = appendStr(b, v.Str)
	case idsync.TypeInteger, idsync.TypeDateTime:
		b = appendVarint(b, v.Int)
	case idsync.TypeBoolean:
		b = appendBool(b, v.Int != 0)
	case idsync.TypeBinary:
		b = appendBytes(b, v.Bin)
	}
	return b
}

func appendValues(b []byte, vs []idsync.Value) []byte {
	b = appendUvarint(b, uint64(len(vs)))
	for _, v := range vs {
		b = appendValue(b, v)
	}
	return b
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendAttrs(b []byte, a idsync.Attrs) []byte {
	return (*CSEncoder)(nil).appendAttrs(b, a)
}

// appendAttrs is appendAttrs remembering, when e is not nil, the sorted
// names of a for the next call.
func (e *CSEncoder) appendAttrs(b []byte, a idsync.Attrs) []byte {
	if e != nil && len(a) > 0 && len(e.names) == len(a) {
		// The names of the last map, if a has each of them: then it has
		// no other (as many names), and they are a's sorted names.
		var stack [32][]idsync.Value
		vals := stack[:0]
		total := 0
		for _, name := range e.names {
			vs, ok := a[name]
			if !ok {
				break
			}
			vals = append(vals, vs)
			total += len(vs)
		}
		if len(vals) == len(a) {
			b = appendUvarint(b, uint64(len(a)))
			b = appendUvarint(b, uint64(total))
			for i, name := range e.names {
				b = appendStr(b, name)
				b = appendValues(b, vals[i])
			}
			return b
		}
	}
	total := 0
	var stack [32]string
	names := stack[:0]
	for name, vs := range a {
		total += len(vs)
		names = append(names, name)
	}
	slices.Sort(names)
	b = appendUvarint(b, uint64(len(a)))
	b = appendUvarint(b, uint64(total))
	for _, name := range names {
		b = appendStr(b, name)
		b = appendValues(b, a[name])
	}
	if e != nil {
		e.names = append(e.names[:0], names...)
	}
	return b
}

func appendMods(b []byte, mods []idsync.AttrMod) []byte {
	b = appendUvarint(b, uint64(len(mods)))
	for _, m := range mods {
		b = appendStr(b, m.Name)
		b = append(b, byte(m.Op))
		b = appendValues(b, m.Values)
	}
	return b
}

func appendPendingExport(b []byte, p *idsync.PendingExport) []byte {
	b = append(b, byte(p.Op))
	b = appendStr(b, p.NewDN)
	return appendMods(b, p.Mods)
}

func appendExportError(b []byte, e *idsync.ExportError) []byte {
	b = appendStr(b, e.Type)
	b = appendStr(b, e.Message)
	b = appendVarint(b, int64(e.Retries))
	b = appendTime(b, e.First)
	return appendTime(b, e.Last)
}

type lineageTuple struct {
	rule, connector, csID, runID string
	sec                          int64
	nsec                         int
}

func tupleOf(l idsync.Lineage) lineageTuple {
	return lineageTuple{l.Rule, l.Connector, l.CSID, l.RunID, l.At.Unix(), l.At.Nanosecond()}
}

func appendLineage(b []byte, lin map[string]idsync.Lineage) []byte {
	names := sortedKeys(lin)
	// The table of distinct tuples, in order of first use; a linear scan
	// beats a map for the handful of rules that feed one object.
	tuples := make([]lineageTuple, 0, 4)
	idx := make([]int, len(names))
	for i, n := range names {
		t := tupleOf(lin[n])
		j := slices.Index(tuples, t)
		if j < 0 {
			j = len(tuples)
			tuples = append(tuples, t)
		}
		idx[i] = j
	}
	b = appendUvarint(b, uint64(len(tuples)))
	for _, t := range tuples {
		b = appendStr(b, t.rule)
		b = appendStr(b, t.connector)
		b = appendStr(b, t.csID)
		b = appendStr(b, t.runID)
		b = appendVarint(b, t.sec)
		b = appendUvarint(b, uint64(t.nsec))
	}
	b = appendUvarint(b, uint64(len(names)))
	for i, n := range names {
		b = appendStr(b, n)
		b = appendUvarint(b, uint64(idx[i]))
		b = appendStr(b, lin[n].Flow)
	}
	return b
}

// EncodeAttrs appends the encoding of a to dst and returns the result.
func EncodeAttrs(dst []byte, a idsync.Attrs) []byte {
	return appendAttrs(append(dst, CodecVersion), a)
}

// EncodeMods appends the encoding of mods to dst and returns the result.
func EncodeMods(dst []byte, mods []idsync.AttrMod) []byte {
	return appendMods(append(dst, CodecVersion), mods)
}

// EncodePendingExport appends the encoding of p (which must not be nil) to dst.
func EncodePendingExport(dst []byte, p *idsync.PendingExport) []byte {
	return appendPendingExport(append(dst, CodecVersion), p)
}

// EncodeExportError appends the encoding of e (which must not be nil) to dst.
func EncodeExportError(dst []byte, e *idsync.ExportError) []byte {
	return appendExportError(append(dst, CodecVersion), e)
}

// EncodeLineage appends the encoding of lin to dst: a table of the
// distinct (rule, connector, CS ID, run ID, time) tuples and, per
// attribute, an index into it and the flow text.
func EncodeLineage(dst []byte, lin map[string]idsync.Lineage) []byte {
	return appendLineage(append(dst, CodecVersion), lin)
}

// EncodeCSData appends to dst the blob of a CS object: every field except
// those a store keeps in columns (ID, Connector, ObjectType, Kind,
// Partition, Anchor, DN, MVID, PendingImport and ImportGen), which
// DecodeCSData leaves untouched.
func EncodeCSData(dst []byte, o *idsync.CSObject) []byte {
	return (*CSEncoder)(nil).EncodeCSData(dst, o)
}

// A CSEncoder encodes CS objects like EncodeCSData, into the same bytes,
// faster for a batch of objects: it remembers the sorted attribute names
// of the last object, which the next one (of the same type) mostly has
// too, and then does not sort them again. Its zero value is ready to use;
// it is not safe for concurrent use.
type CSEncoder struct {
	names []string
}

// EncodeCSData appends to dst the blob of a CS object (see the function
// EncodeCSData). A nil *CSEncoder works and remembers nothing.
func (e *CSEncoder) EncodeCSData(dst []byte, o *idsync.CSObject) []byte {
	var flags uint64
	if o.Provisioned {
		flags |= csProvisioned
	}
	if o.Obsolete {
		flags |= csObsolete
	}
	if len(o.ExportStatus) > 0 {
		flags |= csExportStatus
	}
	if o.PendingExport != nil {
		flags |= csPendingExport
	}
	if o.ExportError != nil {
		flags |= csExportError
	}
	b := append(dst, CodecVersion)
	b = appendUvarint(b, flags)
	b = append(b, byte(o.Awaiting), byte(o.LinkType))
	b = appendStr(b, o.LinkRule)
	b = appendStr(b, o.ImportError)
	b = appendTime(b, o.LinkedAt)
	b = appendTime(b, o.Updated)
	b = e.appendAttrs(b, o.Attrs)
	if flags&csExportStatus != 0 {
		b = appendAttrs(b, o.ExportStatus)
	}
	if flags&csPendingExport != 0 {
		b = appendPendingExport(b, o.PendingExport)
	}
	if flags&csExportError != 0 {
		b = appendExportError(b, o.ExportError)
	}
	return b
}

// EncodeMVData appends to dst the blob of an MV object: every field except
// ID and ObjectType, which a store keeps in columns.
func EncodeMVData(dst []byte, o *idsync.MVObject) []byte {
	var flags uint64
	if o.RetryProvisioning {
		flags |= mvRetryProvisioning
	}
	if len(o.Lineage) > 0 {
		flags |= mvLineage
	}
	b := append(dst, CodecVersion)
	b = appendUvarint(b, flags)
	b = appendTime(b, o.Created)
	b = appendTime(b, o.Updated)
	b = appendAttrs(b, o.Attrs)
	if flags&mvLineage != 0 {
		b = appendLineage(b, o.Lineage)
	}
	return b
}

// ---------------------------------------------------------------------------
// decoding

// decoder reads from one string copy of a blob, so that decoded strings
// share its memory instead of allocating each.
type decoder struct {
	s   string
	off int
	err error
	// attr is the attribute being decoded, for error messages.
	attr string
}

func newDecoder(b []byte) *decoder { return &decoder{s: string(b)} }

func (d *decoder) fail(format string, args ...any) {
	if d.err == nil {
		msg := fmt.Sprintf(format, args...)
		if d.attr != "" {
			msg = fmt.Sprintf("attribute %s: %s", strconvQuote(d.attr), msg)
		}
		d.err = fmt.Errorf("%w: %s at offset %d", ErrMalformed, msg, d.off)
	}
}

func (d *decoder) uvarint(what string) uint64 {
	if d.err != nil {
		return 0
	}
	var x uint64
	var s uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			d.fail("%s: truncated varint", what)
			return 0
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				d.fail("%s: varint overflows 64 bits", what)
				return 0
			}
			return x | uint64(c)<<s
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	d.fail("%s: varint overflows 64 bits", what)
	return 0
}

func (d *decoder) varint(what string) int64 {
	ux := d.uvarint(what)
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

// count reads a count of items each at least min bytes long, and checks
// that they can fit in what remains (which bounds every allocation by the
// input size).
func (d *decoder) count(what string, min int) int {
	n := d.uvarint(what)
	if d.err != nil {
		return 0
	}
	if n > uint64(len(d.s)-d.off)/uint64(min) {
		d.fail("%s: count %d exceeds the remaining %d bytes", what, n, len(d.s)-d.off)
		return 0
	}
	return int(n)
}

func (d *decoder) byte(what string) byte {
	if d.err != nil {
		return 0
	}
	if d.off >= len(d.s) {
		d.fail("%s: truncated", what)
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *decoder) str(what string) string {
	n := d.uvarint(what)
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.off) {
		d.fail("%s: length %d exceeds the remaining %d bytes", what, n, len(d.s)-d.off)
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

func (d *decoder) bool(what string) bool {
	switch c := d.byte(what); c {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail("%s: boolean byte %d", what, c)
		return false
	}
}

func (d *decoder) time(what string) time.Time {
	sec := d.varint(what)
	nsec := d.uvarint(what)
	if d.err != nil {
		return time.Time{}
	}
	if nsec >= 1e9 {
		d.fail("%s: nanoseconds %d out of range", what, nsec)
		return time.Time{}
	}
	return time.Unix(sec, int64(nsec)).UTC()
}

func (d *decoder) value(what string) idsync.Value {
	t := idsync.AttrType(d.byte(what))
	v := idsync.Value{Type: t}
	switch t {
	case 0:
	case idsync.TypeString, idsync.TypeReference:
		v.Str = d.str(what)
	case idsync.TypeInteger, idsync.TypeDateTime:
		v.Int = d.varint(what)
	case idsync.TypeBoolean:
		if d.bool(what) {
			v.Int = 1
		}
	case idsync.TypeBinary:
		v.Bin = []byte(d.str(what))
	default:
		d.fail("%s: unknown value type %d", what, t)
	}
	return v
}

// values reads a value list into buf (a shared backing array) when it
// fits, and returns the list and what remains of buf.
func (d *decoder) values(what string, buf []idsync.Value) ([]idsync.Value, []idsync.Value) {
	n := d.count(what, 1)
	if d.err != nil || n == 0 {
		return nil, buf
	}
	var vs []idsync.Value
	if n <= len(buf) {
		vs, buf = buf[:n:n], buf[n:]
	} else {
		vs = make([]idsync.Value, n)
	}
	for i := range vs {
		vs[i] = d.value(what)
		if d.err != nil {
			return nil, buf
		}
	}
	return vs, buf
}

func (d *decoder) attrs(what string) idsync.Attrs {
	n := d.count(what, 2)
	total := d.count(what, 1)
	if d.err != nil || n == 0 {
		return nil
	}
	buf := make([]idsync.Value, total)
	a := make(idsync.Attrs, n)
	for range n {
		name := d.str(what)
		d.attr = name
		var vs []idsync.Value
		vs, buf = d.values(what, buf)
		if d.err != nil {
			return nil
		}
		d.attr = ""
		if _, dup := a[name]; dup {
			d.fail("%s: attribute %q appears twice", what, name)
			return nil
		}
		a[name] = vs
	}
	return a
}

func strconvQuote(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return fmt.Sprintf("%q", s)
}

func (d *decoder) mods(what string) []idsync.AttrMod {
	n := d.count(what, 3)
	if d.err != nil || n == 0 {
		return nil
	}
	mods := make([]idsync.AttrMod, n)
	for i := range mods {
		m := &mods[i]
		m.Name = d.str(what)
		d.attr = m.Name
		m.Op = idsync.AttrOp(d.byte(what))
		if d.err == nil && m.Op > idsync.AttrClear {
			d.fail("%s: unknown attribute operation %d", what, m.Op)
		}
		m.Values, _ = d.values(what, nil)
		if d.err != nil {
			return nil
		}
		d.attr = ""
	}
	return mods
}

func (d *decoder) pendingExport() *idsync.PendingExport {
	p := &idsync.PendingExport{Op: idsync.Op(d.byte("pending export op"))}
	if d.err == nil && p.Op > idsync.OpDelete {
		d.fail("pending export: unknown operation %d", p.Op)
	}
	p.NewDN = d.str("pending export new DN")
	p.Mods = d.mods("pending export mod")
	return p
}

func (d *decoder) exportError() *idsync.ExportError {
	e := &idsync.ExportError{}
	e.Type = d.str("export error type")
	e.Message = d.str("export error message")
	r := d.varint("export error retries")
	if d.err == nil && (r < math.MinInt32 || r > math.MaxInt32) {
		d.fail("export error retries %d out of range", r)
	}
	e.Retries = int(r)
	e.First = d.time("export error first time")
	e.Last = d.time("export error last time")
	return e
}

func (d *decoder) lineage() map[string]idsync.Lineage {
	nt := d.count("lineage tuple count", 6)
	if d.err != nil {
		return nil
	}
	tuples := make([]idsync.Lineage, nt)
	for i := range tuples {
		t := &tuples[i]
		t.Rule = d.str("lineage rule")
		t.Connector = d.str("lineage connector")
		t.CSID = d.str("lineage CS ID")
		t.RunID = d.str("lineage run ID")
		t.At = d.time("lineage time")
	}
	n := d.count("lineage attribute count", 3)
	if d.err != nil || n == 0 {
		return nil
	}
	lin := make(map[string]idsync.Lineage, n)
	for range n {
		name := d.str("lineage attribute")
		i := d.uvarint("lineage tuple index")
		flow := d.str("lineage flow")
		if d.err != nil {
			return nil
		}
		if i >= uint64(len(tuples)) {
			d.fail("lineage of %s: tuple index %d out of range (%d tuples)", strconvQuote(name), i, len(tuples))
			return nil
		}
		if _, dup := lin[name]; dup {
			d.fail("lineage: attribute %s appears twice", strconvQuote(name))
			return nil
		}
		l := tuples[i]
		l.Flow = flow
		lin[name] = l
	}
	return lin
}

func (d *decoder) version(what string) {
	if v := d.byte(what); d.err == nil && v != CodecVersion {
		d.fail("%s: unknown format version %d (this binary reads %d)", what, v, CodecVersion)
	}
}

func (d *decoder) end(what string) error {
	if d.err == nil && d.off != len(d.s) {
		d.fail("%s: %d trailing bytes", what, len(d.s)-d.off)
	}
	return d.err
}

// DecodeAttrs decodes what EncodeAttrs encoded.
func DecodeAttrs(b []byte) (idsync.Attrs, error) {
	d := newDecoder(b)
	d.version("attributes")
	a := d.attrs("attribute")
	if err := d.end("attributes"); err != nil {
		return nil, err
	}
	return a, nil
}

// DecodeMods decodes what EncodeMods encoded.
func DecodeMods(b []byte) ([]idsync.AttrMod, error) {
	d := newDecoder(b)
	d.version("mods")
	m := d.mods("mod")
	if err := d.end("mods"); err != nil {
		return nil, err
	}
	return m, nil
}

// DecodePendingExport decodes what EncodePendingExport encoded.
func DecodePendingExport(b []byte) (*idsync.PendingExport, error) {
	d := newDecoder(b)
	d.version("pending export")
	p := d.pendingExport()
	if err := d.end("pending export"); err != nil {
		return nil, err
	}
	return p, nil
}

// DecodeExportError decodes what EncodeExportError encoded.
func DecodeExportError(b []byte) (*idsync.ExportError, error) {
	d := newDecoder(b)
	d.version("export error")
	e := d.exportError()
	if err := d.end("export error"); err != nil {
		return nil, err
	}
	return e, nil
}

// DecodeLineage decodes what EncodeLineage encoded.
func DecodeLineage(b []byte) (map[string]idsync.Lineage, error) {
	d := newDecoder(b)
	d.version("lineage")
	l := d.lineage()
	if err := d.end("lineage"); err != nil {
		return nil, err
	}
	return l, nil
}

// DecodeCSData decodes a blob written by EncodeCSData into o, setting
// every field the blob holds and leaving the column fields alone. On error
// o is left partly set.
func DecodeCSData(b []byte, o *idsync.CSObject) error {
	d := newDecoder(b)
	d.version("cs data")
	flags := d.uvarint("cs data flags")
	if d.err == nil && flags >= csExportError<<1 {
		d.fail("cs data: unknown flags %#x", flags)
	}
	o.Provisioned = flags&csProvisioned != 0
	o.Obsolete = flags&csObsolete != 0
	o.Awaiting = idsync.Confirmation(d.byte("awaiting"))
	if d.err == nil && o.Awaiting > idsync.ConfirmDelete {
		d.fail("awaiting: unknown confirmation %d", o.Awaiting)
	}
	o.LinkType = idsync.LinkType(d.byte("link type"))
	if d.err == nil && o.LinkType > idsync.LinkProvision {
		d.fail("link type: unknown value %d", o.LinkType)
	}
	o.LinkRule = d.str("link rule")
	o.ImportError = d.str("import error")
	o.LinkedAt = d.time("linked at")
	o.Updated = d.time("updated")
	o.Attrs = d.attrs("attribute")
	o.ExportStatus, o.PendingExport, o.ExportError = nil, nil, nil
	if flags&csExportStatus != 0 {
		o.ExportStatus = d.attrs("export status")
	}
	if flags&csPendingExport != 0 {
		o.PendingExport = d.pendingExport()
	}
	if flags&csExportError != 0 {
		o.ExportError = d.exportError()
	}
	return d.end("cs data")
}

// DecodeMVData decodes a blob written by EncodeMVData into o, setting
// every field but ID and ObjectType.
func DecodeMVData(b []byte, o *idsync.MVObject) error {
	d := newDecoder(b)
	d.version("mv data")
	flags := d.uvarint("mv data flags")
	if d.err == nil && flags >= mvLineage<<1 {
		d.fail("mv data: unknown flags %#x", flags)
	}
	o.RetryProvisioning = flags&mvRetryProvisioning != 0
	o.Created = d.time("created")
	o.Updated = d.time("updated")
	o.Attrs = d.attrs("attribute")
	o.Lineage = nil
	if flags&mvLineage != 0 {
		o.Lineage = d.lineage()
	}
	return d.end("mv data")
}

// FoldValue is the case-insensitive form of an attribute value's text
// that value indexes store and compare: strings.ToLower of v.String().
func FoldValue(s string) string { return strings.ToLower(s) }
