package inmem_test

import (
	"context"
	"errors"
	"log/slog"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/inmem"
)

func env() connector.Env {
	return connector.Env{Name: "test", Dir: ".", Logger: slog.New(slog.DiscardHandler)}
}

// open opens an inmem connector on sys with the settings of cfg.
func open(t *testing.T, sys *inmem.System, mod func(*inmem.Config)) connector.Connector {
	t.Helper()
	typ := inmem.NewType("inmem", map[string]*inmem.System{"sys": sys})
	cfg := typ.NewConfig().(*inmem.Config)
	cfg.System = "sys"
	cfg.MinPasswordLength = 8
	if mod != nil {
		mod(cfg)
	}
	c, err := cfg.Open(context.Background(), env())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return c
}

func TestConformance(t *testing.T) {
	var sys *inmem.System
	dn := func(k string) string { return "CN=" + k + ",OU=People,DC=example" }
	connectortest.Run(t, connectortest.Harness{
		Seed: func(t *testing.T, objs []idsync.Entry) {
			sys = inmem.NewSystem()
			sys.AddPartition(connector.Partition{Name: "example", DN: "DC=example"})
			for _, e := range objs {
				if _, err := sys.Add(e); err != nil {
					t.Fatal(err)
				}
			}
		},
		Open:       func(t *testing.T) connector.Connector { return open(t, sys, nil) },
		ObjectType: "person",
		Key:        "uid",
		DN:         dn,
		Attributes: []idsync.AttrDef{
			{Name: "displayName", Type: idsync.TypeString},
			{Name: "mail", Type: idsync.TypeString, MultiValued: true},
			{Name: "employeeNumber", Type: idsync.TypeInteger},
			{Name: "codes", Type: idsync.TypeInteger, MultiValued: true},
			{Name: "enabled", Type: idsync.TypeBoolean},
			{Name: "photo", Type: idsync.TypeBinary},
			{Name: "hired", Type: idsync.TypeDateTime},
			{Name: "manager", Type: idsync.TypeReference},
			{Name: "reports", Type: idsync.TypeReference, MultiValued: true},
		},
		Capabilities:      inmem.DefaultCapabilities(),
		MinPasswordLength: 8,
		Modify: func(t *testing.T, key string, mods []idsync.AttrMod) {
			if err := sys.Update(idsync.Anchor(key), mods...); err != nil {
				t.Fatal(err)
			}
		},
	})
}

func export(t *testing.T, c connector.Connector, changes ...idsync.Change) []connector.ExportResult {
	t.Helper()
	ctx := context.Background()
	sess, err := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.ExportPage(ctx, changes)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(ctx); err != nil {
		t.Fatal(err)
	}
	return res
}

func TestExportErrorsAndAnchors(t *testing.T) {
	sys := inmem.NewSystem()
	c := open(t, sys, nil)
	defer c.Close()
	add := func(id, dn string) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ObjectType: "person", DN: dn, ID: id,
			Mods: []idsync.AttrMod{{Name: "cn", Values: []idsync.Value{idsync.String(id)}}}}
	}
	sys.FailExport(func(ch idsync.Change) bool { return ch.ID == "b" }, "AttributeValueMustBeUnique", errors.New("mail taken"))
	res := export(t, c, add("a", "CN=a"), add("b", "CN=b"), add("c", "cn=A"),
		idsync.Change{Op: idsync.OpUpdate, Anchor: "nope", ID: "d"},
		idsync.Change{Op: idsync.OpDelete, Anchor: "nope", ID: "e"})
	want := []struct{ anchor, errType string }{{"id-0001", ""}, {"", "AttributeValueMustBeUnique"}, {"", "ObjectAlreadyExists"}, {"", "ObjectNotFound"}, {"", "ObjectNotFound"}}
	for i, w := range want {
		if res[i].Anchor != idsync.Anchor(w.anchor) || res[i].ErrorType != w.errType || (w.errType == "") != (res[i].Err == nil) {
			t.Errorf("result %d = %+v, want anchor %q, error type %q", i, res[i], w.anchor, w.errType)
		}
	}
	if got := len(sys.Exported()); got != 5 {
		t.Errorf("Exported() has %d changes, want 5", got)
	}
	sys.ClearFailures()
	res = export(t, c, add("b", "CN=b"))
	if res[0].Err != nil || res[0].Anchor != "id-0002" {
		t.Errorf("retry after ClearFailures = %+v", res[0])
	}
	if len(sys.All()) != 2 {
		t.Errorf("All() = %v", sys.All())
	}

	c2 := open(t, sys, func(c *inmem.Config) { c.AnchorFromDN = true })
	res = export(t, c2, add("x", "CN=x"))
	if res[0].Anchor != "CN=x" {
		t.Errorf("AnchorFromDN: anchor = %q", res[0].Anchor)
	}
}

func TestCheckReferences(t *testing.T) {
	sys := inmem.NewSystem()
	c := open(t, sys, func(c *inmem.Config) { c.CheckReferences = true })
	ch := idsync.Change{Op: idsync.OpAdd, ObjectType: "person", DN: "CN=b", ID: "b",
		Mods: []idsync.AttrMod{{Name: "manager", Values: []idsync.Value{idsync.Ref("CN=a")}}}}
	if res := export(t, c, ch); res[0].ErrorType != "ReferenceTargetMissing" {
		t.Fatalf("reference to a missing object: %+v", res[0])
	}
	if res := export(t, c, idsync.Change{Op: idsync.OpAdd, ObjectType: "person", DN: "cn=A", ID: "a"}, ch); res[1].Err != nil {
		t.Fatalf("reference after its target was added: %+v", res[1])
	}
}

func TestDeltaAndExpiry(t *testing.T) {
	sys := inmem.NewSystem()
	c := open(t, sys, nil)
	ctx := context.Background()
	a, _ := sys.Add(idsync.Entry{ObjectType: "person", DN: "CN=a"})
	wm, err := c.(connector.Importer).Import(ctx, connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if err != nil {
		t.Fatal(err)
	}
	sys.Rename(a, "CN=a2")
	sys.Delete(a)
	var ops []idsync.Op
	di := c.(connector.DeltaImporter)
	wm2, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm, func(ch idsync.Change) error { ops = append(ops, ch.Op); return nil })
	if err != nil || len(ops) != 2 || ops[0] != idsync.OpUpdate || ops[1] != idsync.OpDelete {
		t.Fatalf("ImportChanges = %v, %v", ops, err)
	}
	sys.ExpireWatermarks()
	if _, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm2, func(idsync.Change) error { return nil }); !errors.Is(err, connector.ErrWatermarkExpired) {
		t.Fatalf("after ExpireWatermarks: %v", err)
	}
	wm3, _ := c.(connector.Importer).Import(ctx, connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if _, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm3, func(idsync.Change) error { return nil }); err != nil {
		t.Fatalf("watermark issued after ExpireWatermarks: %v", err)
	}
}

func TestYAMLConfig(t *testing.T) {
	const doc = `
system: demo
minPasswordLength: 4
capabilities:
  dnStyle: generic
  exportType: ObjectReplace
  objectConfirmation: NoDeleteConfirmation
  import: true
  export: true
  noReferenceValuesInFirstExportPass: true
objects:
  - objectType: person
    anchor: e1
    dn: CN=Ada,OU=People
    attributes:
      givenName: Ada
      mail: [ada@example.com, a.l@example.com]
      employeeNumber: 1815
      active: true
`
	systems := map[string]*inmem.System{}
	typ := inmem.NewType("inmem", systems)
	var node yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &node); err != nil {
		t.Fatal(err)
	}
	cfg := typ.NewConfig()
	if err := node.Content[0].Decode(cfg); err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	caps := cfg.(connector.Capabler).Capabilities()
	if caps.ExportType != connector.ExportObjectReplace || !caps.NoReferencesInFirstPass || caps.Confirmation != connector.ConfirmNoDeleteConfirmation {
		t.Errorf("capabilities = %+v", caps)
	}
	c, err := cfg.Open(context.Background(), env())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	e, ok := systems["demo"].Get("e1")
	if !ok {
		t.Fatal("seed object missing")
	}
	want := idsync.Attrs{
		"givenName":      {idsync.String("Ada")},
		"mail":           {idsync.String("ada@example.com"), idsync.String("a.l@example.com")},
		"employeeNumber": {idsync.Int(1815)},
		"active":         {idsync.Bool(true)},
	}
	if !e.Attrs.Equal(want) {
		t.Errorf("seeded attrs = %v, want %v", e.Attrs, want)
	}
	bad := typ.NewConfig()
	if err := bad.Validate(); err == nil {
		t.Error("Validate of an empty config succeeded")
	}
}

func TestChildren(t *testing.T) {
	sys := inmem.NewSystem()
	sys.Add(idsync.Entry{ObjectType: "person", DN: "CN=a,OU=People,DC=example"})
	sys.AddContainer("OU=Groups,DC=example")
	c := open(t, sys, nil)
	kids, err := c.(connector.HierarchyDiscoverer).Children(context.Background(), "dc=example")
	if err != nil || len(kids) != 2 || kids[0].DN != "OU=Groups,DC=example" || kids[1].Name != "OU=People" {
		t.Fatalf("Children = %+v, %v", kids, err)
	}
}
