// Package inmem is an in-memory connected system with every connector
// capability: full and delta import, export with per-object errors,
// schema, partitions, hierarchy and passwords. It exists for engine tests
// and demos; it persists nothing.
//
// A test builds Systems, registers a Type that knows them, and points the
// connector configuration at one by name:
//
//	hr := inmem.NewSystem()
//	hr.Add(idsync.Entry{ObjectType: "person", Anchor: "e1", DN: "e1", Attrs: ...})
//	reg := connector.NewRegistry(inmem.NewType("inmem", map[string]*inmem.System{"hr": hr}))
//
// with settings
//
//	connectors:
//	  - name: hr
//	    type: inmem
//	    settings:
//	      system: hr              # the System's name in the Type's map
//	      anchorFromDN: false     # true: an exported Add without anchor is anchored by its DN
//	      minPasswordLength: 8    # SetPassword/ChangePassword reject shorter passwords
//	      checkReferences: false  # true: reference values must name existing DNs (ReferenceTargetMissing)
//	      capabilities:           # optional: what the connector declares (default: everything)
//	        dnStyle: ldap
//	        exportType: AttributeUpdate
//	        objectConfirmation: Normal
//	        noReferenceValuesInFirstExportPass: true
//	      objects:                # optional: seeds a System the Type did not know yet
//	        - objectType: person
//	          anchor: e1
//	          dn: CN=Ada,OU=People,DC=example
//	          attributes:
//	            givenName: Ada
//	            mail: [ada@example.com, a.l@example.com]
//	            employeeNumber: 1815
//
// Delta import replays the System's change log: every modification (by
// export or by the test methods Add, Update, Rename, Delete) gets the next
// sequence number, and a watermark is the big-endian uint64 of the last
// sequence seen. Changes are reported one per logged modification, in
// order, not coalesced.
package inmem

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// System is an in-memory connected system. Its methods are safe for
// concurrent use.
type System struct {
	mu         sync.Mutex
	objects    map[idsync.Anchor]*object
	dns        map[string]idsync.Anchor // foldDN(dn) → anchor; DNs are unique case-insensitively
	log        []logRecord
	seq        uint64
	minValid   uint64 // watermarks below this are expired
	exported   []idsync.Change
	failures   []failure
	schema     *idsync.Schema
	partitions []connector.Partition
	containers map[string]string // lower-case DN -> DN
	nextID     int
}

type object struct {
	objectType string
	dn         string
	attrs      idsync.Attrs
	password   string
	hasPw      bool
}

type logRecord struct {
	seq    uint64
	change idsync.Change // nil Op for a no-op record
}

type failure struct {
	match   func(idsync.Change) bool
	errType string
	err     error
}

// NewSystem returns an empty System.
func NewSystem() *System {
	return &System{objects: map[idsync.Anchor]*object{}, dns: map[string]idsync.Anchor{}, containers: map[string]string{}}
}

func (o *object) entry(a idsync.Anchor) idsync.Entry {
	return idsync.Entry{ObjectType: o.objectType, Anchor: a, DN: o.dn, Attrs: o.attrs.Clone()}
}

// newAnchor returns the next generated anchor ("id-0001"). Call with s.mu held.
func (s *System) newAnchor() idsync.Anchor {
	for {
		s.nextID++
		a := idsync.Anchor(fmt.Sprintf("id-%04d", s.nextID))
		if _, taken := s.objects[a]; !taken {
			return a
		}
	}
}

// record appends a change to the log. Call with s.mu held.
func (s *System) record(ch idsync.Change) {
	s.seq++
	ch.Mods = cloneMods(ch.Mods)
	s.log = append(s.log, logRecord{seq: s.seq, change: ch})
}

func cloneMods(mods []idsync.AttrMod) []idsync.AttrMod {
	if mods == nil {
		return nil
	}
	out := make([]idsync.AttrMod, len(mods))
	for i, m := range mods {
		out[i] = idsync.AttrMod{Name: m.Name, Op: m.Op, Values: append([]idsync.Value(nil), m.Values...)}
	}
	return out
}

// byDN returns the anchor of the object named dn (case-insensitively).
// Call with s.mu held.
func (s *System) byDN(dn string) (idsync.Anchor, bool) {
	a, ok := s.dns[foldDN(dn)]
	return a, ok
}

// setDN names the object o with anchor a dn (an object the System
// holds, or one it is adding). Call with s.mu held.
func (s *System) setDN(a idsync.Anchor, o *object, dn string) {
	s.dropDN(a, o)
	o.dn = dn
	s.dns[foldDN(dn)] = a
}

// dropDN forgets the DN of the object o with anchor a. Call with s.mu held.
func (s *System) dropDN(a idsync.Anchor, o *object) {
	if k := foldDN(o.dn); o.dn != "" && s.dns[k] == a {
		delete(s.dns, k)
	}
}

// foldDN returns the case-folded form of dn: strings.EqualFold(x, y)
// exactly when foldDN(x) == foldDN(y) (each rune becomes the smallest of
// its Unicode simple case folding orbit).
func foldDN(dn string) string {
	var b strings.Builder
	b.Grow(len(dn))
	for _, r := range dn {
		if r < utf8.RuneSelf {
			if 'a' <= r && r <= 'z' {
				r -= 'a' - 'A'
			}
			b.WriteByte(byte(r))
			continue
		}
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b.WriteRune(m)
	}
	return b.String()
}

// Add adds an object, as a change made in the system, and returns its
// anchor: e.Anchor, or a generated "id-NNNN" when it is empty. It fails
// when the anchor or the DN is taken.
func (s *System) Add(e idsync.Entry) (idsync.Anchor, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.add(e)
}

func (s *System) add(e idsync.Entry) (idsync.Anchor, error) {
	a := e.Anchor
	if a == "" {
		a = s.newAnchor()
	} else if _, taken := s.objects[a]; taken {
		return "", fmt.Errorf("inmem: add %q: anchor already exists", a)
	}
	if e.DN == "" {
		e.DN = string(a)
	}
	if _, taken := s.byDN(e.DN); taken {
		return "", fmt.Errorf("inmem: add %q: DN %q already exists", a, e.DN)
	}
	attrs := e.Attrs.Clone()
	if attrs == nil {
		attrs = idsync.Attrs{}
	}
	o := &object{objectType: e.ObjectType, attrs: attrs}
	s.setDN(a, o, e.DN)
	s.objects[a] = o
	s.record(idsync.Change{Op: idsync.OpAdd, ObjectType: e.ObjectType, Anchor: a, DN: e.DN, Mods: idsync.ModsFromAttrs(attrs)})
	return a, nil
}

// Update applies attribute modifications to the object with anchor a.
func (s *System) Update(a idsync.Anchor, mods ...idsync.AttrMod) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[a]
	if !ok {
		return fmt.Errorf("inmem: update %q: no such object", a)
	}
	o.attrs.Apply(mods)
	s.record(idsync.Change{Op: idsync.OpUpdate, ObjectType: o.objectType, Anchor: a, DN: o.dn, Mods: mods})
	return nil
}

// Rename gives the object with anchor a a new DN.
func (s *System) Rename(a idsync.Anchor, newDN string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[a]
	if !ok {
		return fmt.Errorf("inmem: rename %q: no such object", a)
	}
	if other, taken := s.byDN(newDN); taken && other != a {
		return fmt.Errorf("inmem: rename %q: DN %q already exists", a, newDN)
	}
	old := o.dn
	s.setDN(a, o, newDN)
	s.record(idsync.Change{Op: idsync.OpUpdate, ObjectType: o.objectType, Anchor: a, DN: old, NewDN: newDN})
	return nil
}

// Delete removes the object with anchor a.
func (s *System) Delete(a idsync.Anchor) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[a]
	if !ok {
		return fmt.Errorf("inmem: delete %q: no such object", a)
	}
	s.dropDN(a, o)
	delete(s.objects, a)
	s.record(idsync.Change{Op: idsync.OpDelete, ObjectType: o.objectType, Anchor: a, DN: o.dn})
	return nil
}

// Get returns a copy of the object with anchor a.
func (s *System) Get(a idsync.Anchor) (idsync.Entry, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[a]
	if !ok {
		return idsync.Entry{}, false
	}
	return o.entry(a), true
}

// All returns copies of every object, sorted by anchor.
func (s *System) All() []idsync.Entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.snapshot("")
}

// snapshot returns the objects under partition DN suffix (all when ""),
// sorted by anchor. Call with s.mu held.
func (s *System) snapshot(suffix string) []idsync.Entry {
	out := make([]idsync.Entry, 0, len(s.objects))
	for a, o := range s.objects {
		if suffix != "" && !underDN(o.dn, suffix) {
			continue
		}
		out = append(out, o.entry(a))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Anchor < out[j].Anchor })
	return out
}

// Password returns the password last set on the object with anchor a.
func (s *System) Password(a idsync.Anchor) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	o, ok := s.objects[a]
	if !ok || !o.hasPw {
		return "", false
	}
	return o.password, true
}

// Exported returns every change export received, failed ones included,
// in order: tests use it to prove nothing was sent twice.
func (s *System) Exported() []idsync.Change {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]idsync.Change, len(s.exported))
	for i, ch := range s.exported {
		ch.Mods = cloneMods(ch.Mods)
		out[i] = ch
	}
	return out
}

// ResetExported forgets the changes Exported reports.
func (s *System) ResetExported() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exported = nil
}

// FailExport makes every exported change that match accepts fail with
// err and error type errType, until ClearFailures. The first matching
// rule wins. A failed change does not touch the system.
func (s *System) FailExport(match func(idsync.Change) bool, errType string, err error) {
	if err == nil {
		err = errors.New("injected export failure")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = append(s.failures, failure{match: match, errType: errType, err: err})
}

// ClearFailures removes every rule FailExport added.
func (s *System) ClearFailures() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failures = nil
}

// ExpireWatermarks makes every watermark issued so far invalid: the next
// delta import from one of them returns connector.ErrWatermarkExpired.
func (s *System) ExpireWatermarks() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++ // a no-op record, so that new watermarks differ from old ones
	s.log = append(s.log, logRecord{seq: s.seq})
	s.minValid = s.seq
}

// SetSchema sets what schema discovery returns. Without it, the schema is
// derived from the objects present.
func (s *System) SetSchema(sc *idsync.Schema) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.schema = sc
}

// AddPartition adds a partition. Objects whose DN ends with p.DN belong
// to it; an import of a partition returns only those.
func (s *System) AddPartition(p connector.Partition) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.partitions = append(s.partitions, p)
}

// AddContainer declares an empty container (an OU) for hierarchy
// discovery. The parents of every object's DN are containers already.
func (s *System) AddContainer(dn string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.containers[strings.ToLower(dn)] = dn
}

// Watermark returns the watermark of the current state.
func (s *System) Watermark() connector.Watermark {
	s.mu.Lock()
	defer s.mu.Unlock()
	return encodeWM(s.seq)
}

func encodeWM(seq uint64) connector.Watermark {
	return binary.BigEndian.AppendUint64(nil, seq)
}

// splitDN returns the first RDN of dn and the rest (the parent DN).
func splitDN(dn string) (rdn, parent string) {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return strings.TrimSpace(dn[:i]), strings.TrimSpace(dn[i+1:])
		}
	}
	return strings.TrimSpace(dn), ""
}

// underDN reports whether dn equals suffix or lies below it.
func underDN(dn, suffix string) bool {
	for d := dn; d != ""; _, d = splitDN(d) {
		if strings.EqualFold(d, suffix) {
			return true
		}
	}
	return false
}
