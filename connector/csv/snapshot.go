package csv

import (
	"bytes"
	"encoding/binary"
	"errors"
	"math"
	"slices"
	"sort"
)

// The snapshot watermark records every anchor of the file with a 64-bit
// hash of its row, so that a delta import can tell added, changed and
// deleted rows by comparing the file with it. Its encoding (version 1),
// all integers little-endian:
//
//	magic        "ICSV"
//	version      1 byte (snapVersion)
//	fingerprint  8 bytes: FNV-1a of the settings that shape an Entry and
//	             of the file's columns (see conn.fingerprint)
//	count        uvarint: the number of entries
//	entries      count times, in strictly ascending byte order of anchor:
//	               uvarint  bytes shared with the previous anchor
//	               uvarint  length of the rest
//	               bytes    the rest of the anchor
//	               8 bytes  the row hash (rowHash)
//	checksum     8 bytes: FNV-1a of every byte before it
//
// Each shared prefix is the longest, so the encoding of a set is unique.
// Anything else — another magic or version, a truncated or corrupted
// snapshot, anchors out of order, a prefix not the longest — is rejected; ImportChanges then returns
// connector.ErrWatermarkExpired and the engine runs a full import.
const (
	snapMagic   = "ICSV"
	snapVersion = 1
	snapHeader  = len(snapMagic) + 1 + 8 // magic, version, fingerprint
	snapTrailer = 8                      // checksum
	// minEntry is the smallest encoded entry: two one-byte uvarints and a hash.
	minEntry = 1 + 1 + 8
)

// errSnapshot is any malformed snapshot.
var errSnapshot = errors.New("malformed snapshot")

// FNV-1a, 64 bits: stable across processes and releases, unlike
// hash/maphash.
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

func fnvBytes(h uint64, b []byte) uint64 {
	for _, c := range b {
		h ^= uint64(c)
		h *= fnvPrime
	}
	return h
}

// fnvLen mixes n as a uvarint, so that the fields of a sequence cannot run
// into each other ("ab","c" and "a","bc" differ).
func fnvLen(h uint64, n int) uint64 {
	u := uint64(n)
	for u >= 0x80 {
		h ^= u&0x7f | 0x80
		h *= fnvPrime
		u >>= 7
	}
	h ^= u
	return h * fnvPrime
}

// fnvField mixes one length-prefixed field.
func fnvField(h uint64, s string) uint64 { return fnvString(fnvLen(h, len(s)), s) }

// rowHash is the hash of a record's cells, as read (before parsing): a
// row whose text is unchanged has an unchanged Entry, given the same
// settings and columns (the fingerprint).
func rowHash(rec []string) uint64 {
	h := fnvLen(fnvOffset, len(rec))
	for _, f := range rec {
		h = fnvField(h, f)
	}
	return h
}

// anchorSet is a set of anchors, each with a row hash, the line where the
// file holds it and a flag, in compact form: the anchor bytes in one
// arena and an open-addressing index over them. A million anchors of ten
// bytes take about 35 MB, a third of a map[string]... of the same.
type anchorSet struct {
	arena  []byte
	offs   []uint32 // anchor i is arena[offs[i]:offs[i+1]]
	hashes []uint64
	lines  []uint32 // the line of the first row with the anchor; 0: not in the file
	ok     []bool   // the row was read without error (only for sets built from the file)
	table  []uint32 // entry index + 1; 0 is empty; len is a power of two
}

func newAnchorSet(n int) *anchorSet {
	s := &anchorSet{offs: make([]uint32, 1, n+1)}
	s.hashes = make([]uint64, 0, n)
	s.lines = make([]uint32, 0, n)
	s.table = make([]uint32, tableSize(n))
	return s
}

// tableSize is the index size for n entries: a load of at most 3/4.
func tableSize(n int) int {
	size := 16
	for size*3 < n*4 {
		size *= 2
	}
	return size
}

// newFileSet returns a set for the anchors of a file, with ok flags.
func newFileSet(n int) *anchorSet {
	s := newAnchorSet(n)
	s.ok = make([]bool, 0, n)
	return s
}

func (s *anchorSet) len() int { return len(s.hashes) }

func (s *anchorSet) anchor(i int) []byte { return s.arena[s.offs[i]:s.offs[i+1]] }

func anchorHash(a string) uint64 {
	h := fnvString(fnvOffset, a)
	return h ^ h>>29 // FNV's low bits are weak: fold the high ones in
}

// find returns the index of anchor a, or -1.
func (s *anchorSet) find(a string) int {
	mask := uint64(len(s.table) - 1)
	for p := anchorHash(a) & mask; ; p = (p + 1) & mask {
		e := s.table[p]
		if e == 0 {
			return -1
		}
		i := int(e - 1)
		if string(s.arena[s.offs[i]:s.offs[i+1]]) == a {
			return i
		}
	}
}

// errTooLarge is returned when anchors outgrow the set's 32-bit offsets.
var errTooLarge = errors.New("csv: more than 4 GiB of anchors")

// add appends anchor a, which must not be in the set, and returns its index.
func (s *anchorSet) add(a string, hash uint64, line int) (int, error) {
	if len(s.arena)+len(a) > math.MaxUint32 || len(s.hashes) >= math.MaxUint32-1 {
		return 0, errTooLarge
	}
	i := len(s.hashes)
	s.arena = append(s.arena, a...)
	s.offs = append(s.offs, uint32(len(s.arena)))
	s.hashes = append(s.hashes, hash)
	s.lines = append(s.lines, clampLine(line))
	if s.ok != nil {
		s.ok = append(s.ok, false)
	}
	if (i+1)*4 > len(s.table)*3 {
		s.grow()
	} else {
		s.index(i)
	}
	return i, nil
}

func (s *anchorSet) index(i int) {
	mask := uint64(len(s.table) - 1)
	p := anchorHash(string(s.anchor(i))) & mask
	for s.table[p] != 0 {
		p = (p + 1) & mask
	}
	s.table[p] = uint32(i + 1)
}

func (s *anchorSet) grow() {
	s.table = make([]uint32, 2*len(s.table))
	for i := range s.hashes {
		s.index(i)
	}
}

func clampLine(line int) uint32 {
	if line > math.MaxUint32 {
		return math.MaxUint32
	}
	if line < 0 {
		return 0
	}
	return uint32(line)
}

// sorted returns the indexes of the entries keep selects, in ascending
// order of anchor.
func (s *anchorSet) sorted(keep func(i int) bool) []uint32 {
	idx := make([]uint32, 0, s.len())
	for i := range s.hashes {
		if keep(i) {
			idx = append(idx, uint32(i))
		}
	}
	slices.SortFunc(idx, func(a, b uint32) int { return bytes.Compare(s.anchor(int(a)), s.anchor(int(b))) })
	return idx
}

// snapWriter encodes a snapshot; entries must come in ascending order.
type snapWriter struct {
	buf   []byte
	prev  []byte
	count int
	nPos  int // where the count goes
}

func newSnapWriter(fp uint64, sizeHint int) *snapWriter {
	w := &snapWriter{buf: make([]byte, 0, sizeHint+snapHeader+binary.MaxVarintLen64+snapTrailer)}
	w.buf = append(w.buf, snapMagic...)
	w.buf = append(w.buf, snapVersion)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, fp)
	w.nPos = len(w.buf)
	return w
}

func (w *snapWriter) add(anchor []byte, hash uint64) {
	n := 0
	for n < len(anchor) && n < len(w.prev) && anchor[n] == w.prev[n] {
		n++
	}
	w.buf = binary.AppendUvarint(w.buf, uint64(n))
	w.buf = binary.AppendUvarint(w.buf, uint64(len(anchor)-n))
	w.buf = append(w.buf, anchor[n:]...)
	w.buf = binary.LittleEndian.AppendUint64(w.buf, hash)
	w.prev = anchor
	w.count++
}

// finish inserts the count and appends the checksum.
func (w *snapWriter) finish() []byte {
	var cnt [binary.MaxVarintLen64]byte
	k := binary.PutUvarint(cnt[:], uint64(w.count))
	w.buf = slices.Insert(w.buf, w.nPos, cnt[:k]...)
	return binary.LittleEndian.AppendUint64(w.buf, fnvBytes(fnvOffset, w.buf))
}

// uvarint is binary.Uvarint that also refuses a longer encoding than
// needed (a last byte of zero), so that the encoding stays unique.
func uvarint(p []byte) (uint64, int) {
	v, k := binary.Uvarint(p)
	if k > 1 && p[k-1] == 0 {
		return 0, -1
	}
	return v, k
}

// decodeSnapshot decodes a snapshot into a set (with lines all 0) and
// returns its fingerprint. Any flaw is errSnapshot.
func decodeSnapshot(b []byte) (*anchorSet, uint64, error) {
	if len(b) < snapHeader+1+snapTrailer || string(b[:len(snapMagic)]) != snapMagic || b[len(snapMagic)] != snapVersion {
		return nil, 0, errSnapshot
	}
	body := b[:len(b)-snapTrailer]
	if fnvBytes(fnvOffset, body) != binary.LittleEndian.Uint64(b[len(body):]) {
		return nil, 0, errSnapshot
	}
	fp := binary.LittleEndian.Uint64(b[len(snapMagic)+1:])
	p := body[snapHeader:]
	count, k := uvarint(p)
	if k <= 0 || count > uint64(len(p)-k)/minEntry {
		return nil, 0, errSnapshot
	}
	p = p[k:]
	n := int(count)
	s := newAnchorSet(n)
	s.arena = make([]byte, 0, len(p)-n*minEntry+n*2) // a guess: prefixes make it larger
	s.lines = s.lines[:n]
	var prev []byte
	for range n {
		shared, k := uvarint(p)
		if k <= 0 || shared > uint64(len(prev)) {
			return nil, 0, errSnapshot
		}
		p = p[k:]
		rest, k := uvarint(p)
		if k <= 0 || rest > uint64(len(p)-k) || uint64(len(p)-k)-rest < 8 || shared+rest == 0 {
			return nil, 0, errSnapshot
		}
		p = p[k:]
		if uint64(len(s.arena))+shared+rest > math.MaxUint32 {
			return nil, 0, errSnapshot
		}
		start := len(s.arena)
		s.arena = append(s.arena, prev[:shared]...)
		s.arena = append(s.arena, p[:rest]...)
		p = p[rest:]
		cur := s.arena[start:]
		if prev != nil && bytes.Compare(prev, cur) >= 0 {
			return nil, 0, errSnapshot // out of order, or a duplicate
		}
		if int(shared) < len(prev) && prev[shared] == cur[shared] {
			return nil, 0, errSnapshot // not the longest shared prefix: not canonical
		}
		s.offs = append(s.offs, uint32(len(s.arena)))
		s.hashes = append(s.hashes, binary.LittleEndian.Uint64(p))
		p = p[8:]
		// The arena may have moved: take prev from it again.
		prev = s.arena[start:]
	}
	if len(p) != 0 {
		return nil, 0, errSnapshot
	}
	for i := range n {
		s.index(i)
	}
	return s, fp, nil
}

// encodeSnapshot encodes the entries of set that keep selects (all when
// keep is nil).
func encodeSnapshot(fp uint64, set *anchorSet, keep func(i int) bool) []byte {
	if keep == nil {
		keep = func(int) bool { return true }
	}
	idx := set.sorted(keep)
	w := newSnapWriter(fp, len(idx)*(minEntry+2))
	for _, i := range idx {
		w.add(set.anchor(int(i)), set.hashes[i])
	}
	return w.finish()
}

// mergeSnapshot encodes the entries of old (sorted already) that keepOld
// selects with the entries of added that keepNew selects, in order. An
// anchor is in one set or the other, never both.
func mergeSnapshot(fp uint64, old *anchorSet, keepOld func(i int) bool, added *anchorSet, keepNew func(i int) bool) []byte {
	nw := added.sorted(keepNew)
	w := newSnapWriter(fp, (old.len()+len(nw))*(minEntry+2))
	j := 0
	for i := range old.len() {
		if !keepOld(i) {
			continue
		}
		a := old.anchor(i)
		for ; j < len(nw) && bytes.Compare(added.anchor(int(nw[j])), a) < 0; j++ {
			w.add(added.anchor(int(nw[j])), added.hashes[nw[j]])
		}
		w.add(a, old.hashes[i])
	}
	for ; j < len(nw); j++ {
		w.add(added.anchor(int(nw[j])), added.hashes[nw[j]])
	}
	return w.finish()
}

// fingerprint identifies what turns a row into an Entry: the object type,
// the anchor and DN settings, the types, the multi-valued columns, the
// separators and the file's columns. A snapshot taken under another
// fingerprint is expired: its hashes say nothing about the new Entries.
func (c *conn) fingerprint(l *layout) uint64 {
	h := fnvField(fnvOffset, "idsync-csv-snapshot/1")
	h = fnvField(h, c.objType)
	h = fnvField(h, string(c.delim))
	h = fnvField(h, c.sep)
	h = fnvField(h, c.cfg.DN)
	h = fnvLen(h, len(c.cfg.Anchor))
	for _, a := range c.cfg.Anchor {
		h = fnvField(h, a)
	}
	types := make([]string, 0, len(c.types))
	for col, t := range c.types {
		types = append(types, col+"\x00"+t.String())
	}
	sort.Strings(types)
	h = fnvLen(h, len(types))
	for _, t := range types {
		h = fnvField(h, t)
	}
	multi := make([]string, 0, len(c.multi))
	for col := range c.multi {
		multi = append(multi, col)
	}
	sort.Strings(multi)
	h = fnvLen(h, len(multi))
	for _, col := range multi {
		h = fnvField(h, col)
	}
	if l == nil {
		return fnvLen(h, 0) // an empty file: no columns
	}
	h = fnvLen(h, len(l.cols)+1)
	for _, col := range l.cols {
		h = fnvField(h, col)
	}
	return h
}
