// Package connectortest is the conformance suite every connector passes,
// in the manner of dex's conformance.RunTests and litestream's
// RunWithReplicaClient.
//
// A connector's test file builds a Harness that seeds its system (a CSV
// file, an in-memory System, a test LDAP directory) and opens connectors
// on it, then calls Run. Run exercises every capability the connector has
// — found by type assertion and by the declared Capabilities — and skips
// the subtests of capabilities it lacks:
//
//	Ping, Schema, Import, ImportCancel, ExportAdd, ExportUpdate,
//	ExportUpdateMultiValued, ExportRename, ExportDelete, ExportErrors,
//	DeltaImport, Partitions, Hierarchy, Password
//
// Every subtest seeds five objects with keys k1..k5 (see Harness.Key),
// each with a generated value for every attribute in Harness.Attributes.
package connectortest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// Harness describes the connector under test and its system.
type Harness struct {
	// Seed resets the system to hold exactly objs. It is called at the
	// start of every subtest, before Open. Each entry has ObjectType, DN,
	// Attrs (always holding Key) and Anchor set to the key: systems that
	// assign their own anchors ignore Anchor.
	Seed func(t *testing.T, objs []idsync.Entry)
	// Open opens a connector on the system the last Seed prepared. The
	// suite closes every connector it opens, on the test goroutine.
	Open func(t *testing.T) connector.Connector

	// ObjectType is the object type of the seeded and exported objects.
	ObjectType string
	// Key is a single-valued string attribute that identifies an object
	// for the suite (the anchor column of a CSV file, uid in LDAP). The
	// suite sets it on every object it seeds or exports.
	Key string
	// DN returns the DN of the object whose Key is key. Nil means the DN
	// is the key (DN style none).
	DN func(key string) string
	// RenameDN returns the DN the rename subtest moves the object with
	// Key key to. Nil means DN(key + "-renamed").
	RenameDN func(key string) string
	// Attributes are the attributes the suite sets besides Key, ideally
	// one per type the system supports, some multi-valued. Values are
	// generated from each definition; references name other seeded
	// objects by DN. ExportUpdate replaces the first single-valued string
	// attribute; ExportUpdateMultiValued adds and deletes values of the
	// first multi-valued string attribute (it skips when there is none).
	Attributes []idsync.AttrDef
	// Capabilities are what the connector declares (Type.Capabilities, or
	// the Config's Capabilities when it is a connector.Capabler).
	Capabilities connector.Capabilities
	// Modify changes an object out of band, as another administrator
	// would, for the delta import subtest. Nil means the suite changes it
	// through the connector's own export.
	Modify func(t *testing.T, key string, mods []idsync.AttrMod)
	// MinPasswordLength, when positive, is a length below which
	// SetPassword must fail with connector.ErrPasswordPolicyViolation.
	MinPasswordLength int
}

// Keys of the seeded objects.
var seedKeys = []string{"k1", "k2", "k3", "k4", "k5"}

// Run runs the conformance suite against the connector h describes.
func Run(t *testing.T, h Harness) {
	t.Helper()
	if h.Seed == nil || h.Open == nil || h.ObjectType == "" || h.Key == "" {
		t.Fatal("connectortest: Harness needs Seed, Open, ObjectType and Key")
	}
	s := &suite{h: h}
	for _, tc := range []struct {
		name string
		f    func(t *testing.T)
	}{
		{"Ping", s.testPing},
		{"Schema", s.testSchema},
		{"Import", s.testImport},
		{"ImportCancel", s.testImportCancel},
		{"ExportAdd", s.testExportAdd},
		{"ExportUpdate", s.testExportUpdate},
		{"ExportUpdateMultiValued", s.testExportUpdateMulti},
		{"ExportRename", s.testExportRename},
		{"ExportDelete", s.testExportDelete},
		{"ExportErrors", s.testExportErrors},
		{"DeltaImport", s.testDeltaImport},
		{"Partitions", s.testPartitions},
		{"Hierarchy", s.testHierarchy},
		{"Password", s.testPassword},
	} {
		t.Run(tc.name, tc.f)
	}
}

type suite struct{ h Harness }

func (s *suite) dn(key string) string {
	if s.h.DN == nil {
		return key
	}
	return s.h.DN(key)
}

func (s *suite) renameDN(key string) string {
	if s.h.RenameDN != nil {
		return s.h.RenameDN(key)
	}
	return s.dn(key + "-renamed")
}

// attrs returns the generated attributes of the object with key key.
func (s *suite) attrs(key string) idsync.Attrs {
	a := idsync.Attrs{s.h.Key: {idsync.String(key)}}
	// References point at other seeded objects.
	others := make([]string, 0, 2)
	for _, k := range seedKeys {
		if k != key && len(others) < 2 {
			others = append(others, s.dn(k))
		}
	}
	when := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	for _, d := range s.h.Attributes {
		var vs []idsync.Value
		switch d.Type {
		case idsync.TypeString:
			vs = []idsync.Value{idsync.String("a-" + key), idsync.String("b-" + key)}
		case idsync.TypeInteger:
			vs = []idsync.Value{idsync.Int(42), idsync.Int(-7)}
		case idsync.TypeBoolean:
			vs = []idsync.Value{idsync.Bool(true)}
		case idsync.TypeBinary:
			vs = []idsync.Value{idsync.Binary([]byte("\x00\x01" + key)), idsync.Binary([]byte{0xff, 0xfe})}
		case idsync.TypeDateTime:
			vs = []idsync.Value{idsync.Time(when), idsync.Time(when.Add(time.Hour))}
		case idsync.TypeReference:
			for _, o := range others {
				vs = append(vs, idsync.Ref(o))
			}
		default:
			continue
		}
		if !d.MultiValued {
			vs = vs[:1]
		}
		a[d.Name] = vs
	}
	return a
}

func (s *suite) entry(key string) idsync.Entry {
	return idsync.Entry{ObjectType: s.h.ObjectType, Anchor: idsync.Anchor(key), DN: s.dn(key), Attrs: s.attrs(key)}
}

// setup seeds the five objects and opens a connector.
func (s *suite) setup(t *testing.T) connector.Connector {
	t.Helper()
	objs := make([]idsync.Entry, 0, len(seedKeys))
	for _, k := range seedKeys {
		objs = append(objs, s.entry(k))
	}
	s.h.Seed(t, objs)
	return s.open(t)
}

func (s *suite) open(t *testing.T) connector.Connector {
	t.Helper()
	c := s.h.Open(t)
	if c == nil {
		t.Fatal("Harness.Open returned nil")
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return c
}

func (s *suite) stringAttr() (string, bool) {
	for _, d := range s.h.Attributes {
		if d.Type == idsync.TypeString && !d.MultiValued {
			return d.Name, true
		}
	}
	return "", false
}

func (s *suite) multiAttr() (string, bool) {
	for _, d := range s.h.Attributes {
		if d.Type == idsync.TypeString && d.MultiValued {
			return d.Name, true
		}
	}
	return "", false
}

func importer(t *testing.T, c connector.Connector, caps connector.Capabilities) connector.Importer {
	t.Helper()
	im, ok := c.(connector.Importer)
	if !ok || !caps.Import {
		t.Skip("connector has no full import")
	}
	return im
}

func exporter(t *testing.T, c connector.Connector, caps connector.Capabilities) connector.Exporter {
	t.Helper()
	ex, ok := c.(connector.Exporter)
	if !ok || !caps.Export {
		t.Skip("connector has no export")
	}
	return ex
}

// importAll runs a full import and returns the entries of the suite's
// object type by key. Entries with Err fail the test.
func (s *suite) importAll(t *testing.T, c connector.Connector) map[string]idsync.Entry {
	t.Helper()
	im := importer(t, c, s.h.Capabilities)
	byKey := map[string]idsync.Entry{}
	anchors := map[idsync.Anchor]bool{}
	_, err := im.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
		if e.Err != nil {
			t.Errorf("import: entry %s (%s): %v", e.Anchor, e.Source, e.Err)
			return nil
		}
		if e.ObjectType != s.h.ObjectType {
			return nil
		}
		if e.Anchor == "" {
			t.Errorf("import: entry %q has no anchor", e.DN)
		}
		if anchors[e.Anchor] {
			t.Errorf("import: anchor %q emitted twice", e.Anchor)
		}
		anchors[e.Anchor] = true
		k := e.Attrs.Get(s.h.Key)
		if k.IsZero() {
			t.Errorf("import: entry %q has no %s", e.Anchor, s.h.Key)
			return nil
		}
		if _, dup := byKey[k.String()]; dup {
			t.Errorf("import: key %q emitted twice", k.String())
		}
		byKey[k.String()] = e
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return byKey
}

// checkAttrs reports every attribute of want that e lacks or holds
// different values of. Extra attributes of e are fine (operational
// attributes, objectClass). References compare case-insensitively.
func checkAttrs(t *testing.T, what string, got, want idsync.Attrs) {
	t.Helper()
	for _, name := range idsync.SortedNames(want) {
		g, w := got[name], want[name]
		if !valuesEqualFold(g, w) {
			t.Errorf("%s: %s = %s, want %s", what, name, fmtValues(g), fmtValues(w))
		}
	}
}

func valuesEqualFold(a, b []idsync.Value) bool {
	if len(a) != len(b) {
		return false
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x.EqualFold(y) && (x.Type != idsync.TypeString || x.Str == y.Str) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

func fmtValues(vs []idsync.Value) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmt.Sprintf("%s(%q)", v.Type, v.String())
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// exportPage opens a session, sends one page, closes the session and
// returns the results by change ID.
func (s *suite) exportPage(t *testing.T, c connector.Connector, changes ...idsync.Change) map[string]connector.ExportResult {
	t.Helper()
	ex := exporter(t, c, s.h.Capabilities)
	ctx := context.Background()
	sess, err := ex.OpenExport(ctx, connector.ExportOptions{PageSize: len(changes)})
	if err != nil {
		t.Fatalf("OpenExport: %v", err)
	}
	res, err := sess.ExportPage(ctx, changes)
	if err != nil {
		sess.Close(ctx)
		t.Fatalf("ExportPage: %v", err)
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatalf("ExportSession.Close: %v", err)
	}
	if len(res) != len(changes) {
		t.Fatalf("ExportPage returned %d results for %d changes", len(res), len(changes))
	}
	byID := make(map[string]connector.ExportResult, len(res))
	for _, r := range res {
		if _, dup := byID[r.ID]; dup {
			t.Fatalf("ExportPage answered change %q twice", r.ID)
		}
		byID[r.ID] = r
	}
	for _, ch := range changes {
		if _, ok := byID[ch.ID]; !ok {
			t.Fatalf("ExportPage did not answer change %q", ch.ID)
		}
	}
	return byID
}

func mustSucceed(t *testing.T, r connector.ExportResult) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("export of %q failed (%s): %v", r.ID, r.ErrorType, r.Err)
	}
}

func (s *suite) testPing(t *testing.T) {
	c := s.setup(t)
	p, ok := c.(connector.Pinger)
	if !ok {
		t.Skip("connector is not a Pinger")
	}
	if err := p.Ping(context.Background()); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

func (s *suite) testSchema(t *testing.T) {
	c := s.setup(t)
	sd, ok := c.(connector.SchemaDiscoverer)
	if !ok {
		t.Skip("connector is not a SchemaDiscoverer")
	}
	sc, err := sd.Schema(context.Background())
	if err != nil {
		t.Fatalf("Schema: %v", err)
	}
	cl := sc.Class(s.h.ObjectType)
	if cl == nil {
		t.Fatalf("Schema has no class %q", s.h.ObjectType)
	}
	for _, name := range append([]string{s.h.Key}, names(s.h.Attributes)...) {
		if _, ok := cl.Attr(name); !ok {
			t.Errorf("Schema class %q lacks attribute %q", s.h.ObjectType, name)
		}
	}
	for _, d := range s.h.Attributes {
		if got, ok := cl.Attr(d.Name); ok && got.MultiValued != d.MultiValued {
			t.Errorf("Schema: %s multi-valued = %v, want %v", d.Name, got.MultiValued, d.MultiValued)
		}
	}
}

func names(defs []idsync.AttrDef) []string {
	out := make([]string, len(defs))
	for i, d := range defs {
		out[i] = d.Name
	}
	return out
}

func (s *suite) testImport(t *testing.T) {
	c := s.setup(t)
	got := s.importAll(t, c)
	if len(got) != len(seedKeys) {
		t.Errorf("import returned %d objects of type %q, want %d", len(got), s.h.ObjectType, len(seedKeys))
	}
	for _, k := range seedKeys {
		e, ok := got[k]
		if !ok {
			t.Errorf("import lacks object %q", k)
			continue
		}
		if !strings.EqualFold(e.DN, s.dn(k)) {
			t.Errorf("object %q: DN = %q, want %q", k, e.DN, s.dn(k))
		}
		checkAttrs(t, "object "+k, e.Attrs, s.attrs(k))
	}
}

func (s *suite) testImportCancel(t *testing.T) {
	c := s.setup(t)
	im := importer(t, c, s.h.Capabilities)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	calls, after := 0, 0
	_, err := im.Import(ctx, connector.ImportOptions{}, func(e idsync.Entry) error {
		calls++
		if calls > 1 {
			after++
		}
		cancel()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Import after cancel = %v, want context.Canceled", err)
	}
	if after >= len(seedKeys)-1 {
		t.Errorf("Import emitted %d objects after ctx was cancelled", after)
	}
}

func (s *suite) testExportAdd(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	want := s.attrs("n1")
	res := s.exportPage(t, c, idsync.Change{
		Op: idsync.OpAdd, ObjectType: s.h.ObjectType, DN: s.dn("n1"),
		Mods: idsync.ModsFromAttrs(want), ID: "cs-n1",
	})
	r := res["cs-n1"]
	mustSucceed(t, r)
	c2 := s.open(t)
	got := s.importAll(t, c2)
	e, ok := got["n1"]
	if !ok {
		t.Fatalf("import after export Add lacks the object")
	}
	if r.Anchor != "" && e.Anchor != r.Anchor {
		t.Errorf("imported anchor = %q, export reported %q", e.Anchor, r.Anchor)
	}
	wantDN := s.dn("n1")
	if r.DN != "" {
		wantDN = r.DN
	}
	if !strings.EqualFold(e.DN, wantDN) {
		t.Errorf("imported DN = %q, want %q", e.DN, wantDN)
	}
	checkAttrs(t, "added object", e.Attrs, want)
	if len(got) != len(seedKeys)+1 {
		t.Errorf("import after one Add shows %d objects, want %d", len(got), len(seedKeys)+1)
	}
}

func (s *suite) testExportUpdate(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	attr, ok := s.stringAttr()
	if !ok {
		t.Skip("Harness.Attributes has no single-valued string attribute")
	}
	before := s.importAll(t, c)
	k1, k2 := before["k1"], before["k2"]
	res := s.exportPage(t, c,
		idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: k1.Anchor, DN: k1.DN, ID: "cs-k1",
			Mods: []idsync.AttrMod{{Name: attr, Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("changed")}}}},
		idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: k2.Anchor, DN: k2.DN, ID: "cs-k2",
			Mods: []idsync.AttrMod{{Name: attr, Op: idsync.AttrReplace}}},
	)
	mustSucceed(t, res["cs-k1"])
	mustSucceed(t, res["cs-k2"])
	after := s.importAll(t, s.open(t))
	want1 := s.attrs("k1")
	want1[attr] = []idsync.Value{idsync.String("changed")}
	checkAttrs(t, "k1 after replace", after["k1"].Attrs, want1)
	if after["k1"].Anchor != k1.Anchor {
		t.Errorf("k1 anchor changed from %q to %q", k1.Anchor, after["k1"].Anchor)
	}
	if vs, ok := after["k2"].Attrs[attr]; ok {
		t.Errorf("k2 after replace with no values: %s = %s, want absent", attr, fmtValues(vs))
	}
	want3 := s.attrs("k3")
	checkAttrs(t, "k3 (untouched)", after["k3"].Attrs, want3)
}

func (s *suite) testExportUpdateMulti(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	attr, ok := s.multiAttr()
	if !ok {
		t.Skip("Harness.Attributes has no multi-valued string attribute")
	}
	before := s.importAll(t, c)
	k1 := before["k1"]
	res := s.exportPage(t, c,
		idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: k1.Anchor, DN: k1.DN, ID: "cs-k1",
			Mods: []idsync.AttrMod{
				{Name: attr, Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("c-k1")}},
				{Name: attr, Op: idsync.AttrDelete, Values: []idsync.Value{idsync.String("a-k1")}},
			}},
	)
	mustSucceed(t, res["cs-k1"])
	after := s.importAll(t, s.open(t))
	checkAttrs(t, "k1 after add/delete", after["k1"].Attrs, idsync.Attrs{attr: {idsync.String("b-k1"), idsync.String("c-k1")}})
}

func (s *suite) testExportRename(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	if !s.h.Capabilities.ObjectRename {
		t.Skip("connector does not declare ObjectRename")
	}
	before := s.importAll(t, c)
	k1 := before["k1"]
	newDN := s.renameDN("k1")
	res := s.exportPage(t, c, idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: k1.Anchor, DN: k1.DN, NewDN: newDN, ID: "cs-k1"})
	mustSucceed(t, res["cs-k1"])
	var found bool
	_, err := importer(t, c, s.h.Capabilities).Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
		if e.Anchor == k1.Anchor {
			found = true
			if !strings.EqualFold(e.DN, newDN) {
				t.Errorf("renamed object: DN = %q, want %q", e.DN, newDN)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if !found {
		t.Errorf("renamed object (anchor %q) not imported", k1.Anchor)
	}
}

func (s *suite) testExportDelete(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	before := s.importAll(t, c)
	k2 := before["k2"]
	res := s.exportPage(t, c, idsync.Change{Op: idsync.OpDelete, ObjectType: s.h.ObjectType, Anchor: k2.Anchor, DN: k2.DN, ID: "cs-k2"})
	mustSucceed(t, res["cs-k2"])
	after := s.importAll(t, s.open(t))
	if _, ok := after["k2"]; ok {
		t.Errorf("import after export Delete still shows the object")
	}
	if len(after) != len(seedKeys)-1 {
		t.Errorf("import after one Delete shows %d objects, want %d", len(after), len(seedKeys)-1)
	}
}

func (s *suite) testExportErrors(t *testing.T) {
	c := s.setup(t)
	exporter(t, c, s.h.Capabilities)
	attr, _ := s.stringAttr()
	if attr == "" {
		attr = s.h.Key
	}
	res := s.exportPage(t, c,
		idsync.Change{Op: idsync.OpAdd, ObjectType: s.h.ObjectType, DN: s.dn("n1"), Mods: idsync.ModsFromAttrs(s.attrs("n1")), ID: "cs-n1"},
		idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: "connectortest-no-such-anchor", DN: s.dn("no-such-object"), ID: "cs-bad",
			Mods: []idsync.AttrMod{{Name: attr, Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("x")}}}},
		idsync.Change{Op: idsync.OpAdd, ObjectType: s.h.ObjectType, DN: s.dn("n2"), Mods: idsync.ModsFromAttrs(s.attrs("n2")), ID: "cs-n2"},
	)
	mustSucceed(t, res["cs-n1"])
	mustSucceed(t, res["cs-n2"])
	if bad := res["cs-bad"]; bad.Err == nil {
		t.Errorf("Update of an unknown object succeeded")
	} else if bad.ErrorType == "" {
		t.Errorf("failed export has no ErrorType (error %v)", bad.Err)
	}
	after := s.importAll(t, s.open(t))
	for _, k := range []string{"n1", "n2"} {
		if _, ok := after[k]; !ok {
			t.Errorf("object %q of a page with a failed change was not exported", k)
		}
	}
}

func (s *suite) testDeltaImport(t *testing.T) {
	c := s.setup(t)
	di, ok := c.(connector.DeltaImporter)
	if !ok || !s.h.Capabilities.DeltaImport {
		t.Skip("connector has no delta import")
	}
	attr, ok := s.stringAttr()
	if !ok {
		t.Skip("Harness.Attributes has no single-valued string attribute")
	}
	ctx := context.Background()
	im := importer(t, c, s.h.Capabilities)
	byKey := map[string]idsync.Entry{}
	wm, err := im.Import(ctx, connector.ImportOptions{}, func(e idsync.Entry) error {
		if k := e.Attrs.Get(s.h.Key); !k.IsZero() {
			byKey[k.String()] = e
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if wm == nil {
		t.Fatalf("full import of a delta-capable connector returned a nil watermark")
	}
	mods := []idsync.AttrMod{{Name: attr, Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("delta")}}}
	k1 := byKey["k1"]
	if s.h.Modify != nil {
		s.h.Modify(t, "k1", mods)
	} else {
		mustSucceed(t, s.exportPage(t, c, idsync.Change{Op: idsync.OpUpdate, ObjectType: s.h.ObjectType, Anchor: k1.Anchor, DN: k1.DN, Mods: mods, ID: "cs-k1"})["cs-k1"])
	}
	var changes []idsync.Change
	wm2, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm, func(ch idsync.Change) error {
		changes = append(changes, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("ImportChanges: %v", err)
	}
	var last *idsync.Change
	for i, ch := range changes {
		if ch.Err != nil {
			t.Errorf("delta change %d: %v", i, ch.Err)
		}
		if ch.Anchor != k1.Anchor {
			t.Errorf("delta import returned a change for %q (%s), which did not change", ch.Anchor, ch.Op)
			continue
		}
		last = &changes[i]
	}
	if last == nil {
		t.Fatalf("delta import did not report the change of k1 (got %d changes)", len(changes))
	}
	switch last.Op {
	case idsync.OpUpdate, idsync.OpReplace, idsync.OpAdd:
		var a idsync.Attrs
		if last.Op == idsync.OpUpdate {
			a = k1.Attrs.Clone().Apply(last.Mods)
		} else {
			a = idsync.Attrs{}.Apply(last.Mods)
		}
		checkAttrs(t, "k1 after delta", a, idsync.Attrs{attr: {idsync.String("delta")}})
	default:
		t.Errorf("delta change of k1 has Op %s", last.Op)
	}
	n := 0
	if _, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm2, func(idsync.Change) error { n++; return nil }); err != nil {
		t.Fatalf("ImportChanges from the latest watermark: %v", err)
	}
	if n != 0 {
		t.Errorf("ImportChanges from the latest watermark returned %d changes, want 0", n)
	}
	_, err = di.ImportChanges(ctx, connector.ImportOptions{}, connector.Watermark("\xffconnectortest garbage watermark\x00"), func(idsync.Change) error { return nil })
	if !errors.Is(err, connector.ErrWatermarkExpired) {
		t.Errorf("ImportChanges(garbage) = %v, want ErrWatermarkExpired", err)
	}
}

func (s *suite) testPartitions(t *testing.T) {
	c := s.setup(t)
	pl, ok := c.(connector.PartitionLister)
	if !ok || !s.h.Capabilities.Partitions {
		t.Skip("connector does not list partitions")
	}
	ps, err := pl.Partitions(context.Background())
	if err != nil {
		t.Fatalf("Partitions: %v", err)
	}
	seen := map[string]bool{}
	for _, p := range ps {
		if p.Name == "" || seen[p.Name] {
			t.Errorf("partition name %q empty or repeated", p.Name)
		}
		seen[p.Name] = true
	}
	if im, ok := c.(connector.Importer); ok && len(ps) > 0 {
		if _, err := im.Import(context.Background(), connector.ImportOptions{Partition: ps[0].Name}, func(idsync.Entry) error { return nil }); err != nil {
			t.Errorf("Import of partition %q: %v", ps[0].Name, err)
		}
	}
}

func (s *suite) testHierarchy(t *testing.T) {
	c := s.setup(t)
	hd, ok := c.(connector.HierarchyDiscoverer)
	if !ok || !s.h.Capabilities.Hierarchy {
		t.Skip("connector does not discover hierarchy")
	}
	// The parent of k1's DN must be listed under its own parent.
	dn := s.dn("k1")
	parent := parentDN(dn)
	if parent == "" {
		t.Skip("seeded DNs have no parent")
	}
	kids, err := hd.Children(context.Background(), parentDN(parent))
	if err != nil {
		t.Fatalf("Children(%q): %v", parentDN(parent), err)
	}
	for _, k := range kids {
		if strings.EqualFold(k.DN, parent) {
			return
		}
	}
	t.Errorf("Children(%q) = %v, lacks %q", parentDN(parent), kids, parent)
}

// parentDN drops the first RDN of dn (honouring backslash escapes).
func parentDN(dn string) string {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return strings.TrimSpace(dn[i+1:])
		}
	}
	return ""
}

func (s *suite) testPassword(t *testing.T) {
	c := s.setup(t)
	pc, ok := c.(connector.PasswordChanger)
	if !ok || !s.h.Capabilities.Password {
		t.Skip("connector has no password operations")
	}
	ctx := context.Background()
	k1 := s.importAll(t, c)["k1"]
	pw1, pw2 := connector.NewSecret("Conformance-Pa55word-1"), connector.NewSecret("Conformance-Pa55word-2")
	if err := pc.SetPassword(ctx, k1.Anchor, k1.DN, pw1, connector.PasswordOptions{}); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if err := pc.ChangePassword(ctx, k1.Anchor, k1.DN, pw1, pw2); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if err := pc.ChangePassword(ctx, k1.Anchor, k1.DN, pw1, pw1); err == nil {
		t.Errorf("ChangePassword with a wrong old password succeeded")
	}
	if s.h.MinPasswordLength > 0 {
		short := connector.NewSecret(string(bytes.Repeat([]byte("x"), s.h.MinPasswordLength-1)))
		err := pc.SetPassword(ctx, k1.Anchor, k1.DN, short, connector.PasswordOptions{})
		if !errors.Is(err, connector.ErrPasswordPolicyViolation) {
			t.Errorf("SetPassword(too short) = %v, want ErrPasswordPolicyViolation", err)
		}
	}
}
