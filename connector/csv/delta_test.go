package csv_test

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

// deltaConfig is a small typed configuration for the delta tests.
func deltaConfig() *csv.Config {
	return &csv.Config{Path: "hr.csv", Anchor: []string{"id"}, MultiValued: []string{"mail"},
		Types: map[string]string{"age": "integer"}}
}

func fullImport(t *testing.T, c connector.Connector) connector.Watermark {
	t.Helper()
	wm, err := c.(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	if wm == nil {
		t.Fatal("Import returned a nil watermark")
	}
	return wm
}

func deltaImport(t *testing.T, c connector.Connector, since connector.Watermark) ([]idsync.Change, connector.Watermark) {
	t.Helper()
	var out []idsync.Change
	wm, err := c.(connector.DeltaImporter).ImportChanges(context.Background(), connector.ImportOptions{}, since, func(ch idsync.Change) error {
		out = append(out, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("ImportChanges: %v", err)
	}
	if wm == nil {
		t.Fatal("ImportChanges returned a nil watermark")
	}
	return out, wm
}

func writeFile(t *testing.T, dir, name, text string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func strs(ss ...string) []idsync.Value {
	out := make([]idsync.Value, len(ss))
	for i, s := range ss {
		out[i] = idsync.String(s)
	}
	return out
}

// checkChanges compares changes with want exactly; a want Err holds a
// prefix of the expected message.
func checkChanges(t *testing.T, got, want []idsync.Change) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("got %d changes, want %d:", len(got), len(want))
		for _, ch := range got {
			t.Errorf("  %s %q dn=%q src=%q err=%v mods=%v", ch.Op, ch.Anchor, ch.DN, ch.Source, ch.Err, ch.Mods)
		}
		return
	}
	for i := range want {
		g, w := got[i], want[i]
		switch {
		case w.Err == nil && g.Err != nil:
			t.Errorf("change %d: unexpected error %v", i, g.Err)
		case w.Err != nil && (g.Err == nil || !strings.HasPrefix(g.Err.Error(), w.Err.Error())):
			t.Errorf("change %d: Err = %v, want prefix %q", i, g.Err, w.Err)
		}
		g.Err, w.Err = nil, nil
		if !reflect.DeepEqual(g, w) {
			t.Errorf("change %d:\n got %+v\nwant %+v", i, g, w)
		}
	}
}

const deltaBase = "id,name,age,mail\n" +
	"1,Ada,36,ada@x;ada@y\n" +
	"2,Bob,40,bob@x\n" +
	"3,Cy,50,\n" +
	"4,Dee,,dee@x\n"

func TestDeltaImportAddReplaceDelete(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)

	// Row 1 unchanged but moved, 2 changed, 3 deleted, 4 unchanged, 5 added.
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"2,Bob,41,bob@x;bob@z\n"+
		"5,Eve,29,eve@x\n"+
		"4,Dee,,dee@x\n"+
		"1,Ada,36,ada@x;ada@y\n")
	got, wm2 := deltaImport(t, c, wm)
	checkChanges(t, got, []idsync.Change{
		{Op: idsync.OpReplace, ObjectType: "person", Anchor: "2", DN: "2", Source: "hr.csv:2", Mods: []idsync.AttrMod{
			{Name: "age", Values: []idsync.Value{idsync.Int(41)}},
			{Name: "id", Values: strs("2")},
			{Name: "mail", Values: strs("bob@x", "bob@z")},
			{Name: "name", Values: strs("Bob")},
		}},
		{Op: idsync.OpAdd, ObjectType: "person", Anchor: "5", DN: "5", Source: "hr.csv:3", Mods: []idsync.AttrMod{
			{Name: "age", Values: []idsync.Value{idsync.Int(29)}},
			{Name: "id", Values: strs("5")},
			{Name: "mail", Values: strs("eve@x")},
			{Name: "name", Values: strs("Eve")},
		}},
		{Op: idsync.OpDelete, ObjectType: "person", Anchor: "3", DN: "3"},
	})

	// The changes carry what a full import of the new file reads.
	full := map[idsync.Anchor]idsync.Entry{}
	for _, e := range importAll(t, c) {
		full[e.Anchor] = e
	}
	for _, ch := range got[:2] {
		e := full[ch.Anchor]
		if a := (idsync.Attrs{}).Apply(ch.Mods); !reflect.DeepEqual(a, e.Attrs) || ch.DN != e.DN {
			t.Errorf("%s %s: attrs %v dn %q, full import has %v %q", ch.Op, ch.Anchor, a, ch.DN, e.Attrs, e.DN)
		}
	}

	// The new watermark is the file's: nothing changed since.
	again, wm3 := deltaImport(t, c, wm2)
	checkChanges(t, again, nil)
	if !bytes.Equal(wm2, wm3) {
		t.Error("the watermark of an unchanged file changed")
	}
	// A full import of the same file returns the same snapshot.
	if full := fullImport(t, c); !bytes.Equal(full, wm2) {
		t.Error("full import and delta import of the same file return different snapshots")
	}
}

func TestDeltaImportUnchangedFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)
	got, wm2 := deltaImport(t, c, wm)
	checkChanges(t, got, nil)
	if !bytes.Equal(wm, wm2) {
		t.Error("the watermark of an unchanged file changed")
	}
	// A new connector (another process) reads the same watermark.
	c2 := mustOpen(t, deltaConfig(), dir)
	got, _ = deltaImport(t, c2, wm)
	checkChanges(t, got, nil)
}

func TestDeltaImportExpiredWatermark(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)
	mutate := func(f func(b []byte) []byte) connector.Watermark { return f(bytes.Clone(wm)) }
	cases := map[string]connector.Watermark{
		"nil":           nil,
		"empty":         {},
		"garbage":       connector.Watermark("\xffnot a snapshot\x00"),
		"wrong version": mutate(func(b []byte) []byte { b[4]++; return b }),
		"wrong magic":   mutate(func(b []byte) []byte { b[0] = 'X'; return b }),
		"truncated":     mutate(func(b []byte) []byte { return b[:len(b)-3] }),
		"flipped bit":   mutate(func(b []byte) []byte { b[len(b)/2] ^= 1; return b }),
		"extended":      mutate(func(b []byte) []byte { return append(b, 0) }),
	}
	di := c.(connector.DeltaImporter)
	for name, since := range cases {
		n := 0
		_, err := di.ImportChanges(context.Background(), connector.ImportOptions{}, since, func(idsync.Change) error { n++; return nil })
		if !errors.Is(err, connector.ErrWatermarkExpired) || n != 0 {
			t.Errorf("%s: ImportChanges = %v with %d changes, want ErrWatermarkExpired and none", name, err, n)
		}
	}

	// Other settings, or other columns in the file: the hashes mean
	// nothing any more.
	cfg := deltaConfig()
	cfg.Types["age"] = "string"
	c2 := mustOpen(t, cfg, dir)
	if _, err := c2.(connector.DeltaImporter).ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(idsync.Change) error { return nil }); !errors.Is(err, connector.ErrWatermarkExpired) {
		t.Errorf("other types: ImportChanges = %v, want ErrWatermarkExpired", err)
	}
	writeFile(t, dir, "hr.csv", strings.Replace(deltaBase, "id,name,age,mail", "id,name,age,email", 1))
	if _, err := di.ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(idsync.Change) error { return nil }); !errors.Is(err, connector.ErrWatermarkExpired) {
		t.Errorf("other columns: ImportChanges = %v, want ErrWatermarkExpired", err)
	}
}

func TestDeltaImportMalformedRowKeepsSnapshot(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)

	// Row 2 gets a bad age, row 4 is deleted.
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"1,Ada,36,ada@x;ada@y\n"+
		"2,Bob,forty,bob@x\n"+
		"3,Cy,50,\n")
	got, wm2 := deltaImport(t, c, wm)
	checkChanges(t, got, []idsync.Change{
		{Op: idsync.OpReplace, ObjectType: "person", Anchor: "2", Source: "hr.csv:3",
			Err: errors.New(`csv: read hr.csv line 3: column "age": value "forty" is not an integer`)},
		{Op: idsync.OpDelete, ObjectType: "person", Anchor: "4", DN: "4"},
	})

	// Fixed back as it was: nothing changed, since the snapshot kept row 2.
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"1,Ada,36,ada@x;ada@y\n"+
		"2,Bob,40,bob@x\n"+
		"3,Cy,50,\n")
	got, _ = deltaImport(t, c, wm2)
	checkChanges(t, got, nil)

	// Fixed with another value: a replace.
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"1,Ada,36,ada@x;ada@y\n"+
		"2,Bob,42,bob@x\n"+
		"3,Cy,50,\n")
	got, _ = deltaImport(t, c, wm2)
	if len(got) != 1 || got[0].Op != idsync.OpReplace || got[0].Anchor != "2" || got[0].Err != nil {
		t.Errorf("after the fix: %+v, want a replace of 2", got)
	}
}

// A malformed row whose anchor cannot be trusted (here a wrong number of
// fields) might be any row: no deletion is reported until it is fixed.
func TestDeltaImportUntrustedRowHoldsDeletes(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)

	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"1,Ada,36,ada@x;ada@y\n"+
		"2,Bob,40\n"+ // too few fields
		"3,Cy,51,\n"+ // changed
		"6,\"Fa\"y,20,\n") // broken quote
	got, wm2 := deltaImport(t, c, wm)
	checkChanges(t, got, []idsync.Change{
		{Op: idsync.OpAdd, ObjectType: "person", Source: "hr.csv:3", Err: errors.New("csv: read hr.csv line 3: 3 fields, want 4")},
		{Op: idsync.OpReplace, ObjectType: "person", Anchor: "3", DN: "3", Source: "hr.csv:4", Mods: []idsync.AttrMod{
			{Name: "age", Values: []idsync.Value{idsync.Int(51)}},
			{Name: "id", Values: strs("3")},
			{Name: "name", Values: strs("Cy")},
		}},
		{Op: idsync.OpAdd, ObjectType: "person", Source: "hr.csv:5", Err: errors.New("csv: read hr.csv line 5: ")},
	})

	// Fixed: row 2 is back unchanged, row 4 is now reported deleted.
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n"+
		"1,Ada,36,ada@x;ada@y\n"+
		"2,Bob,40,bob@x\n"+
		"3,Cy,51,\n")
	got, _ = deltaImport(t, c, wm2)
	checkChanges(t, got, []idsync.Change{{Op: idsync.OpDelete, ObjectType: "person", Anchor: "4", DN: "4"}})
}

func TestDeltaImportDuplicateAnchor(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)
	writeFile(t, dir, "hr.csv", deltaBase+
		"1,Ada Again,37,\n"+ // 6: a known anchor twice
		"7,Gil,,\n"+ // 7: new
		"7,Gil Again,,\n") // 8: a new anchor twice
	got, wm2 := deltaImport(t, c, wm)
	checkChanges(t, got, []idsync.Change{
		{Op: idsync.OpReplace, ObjectType: "person", Anchor: "1", Source: "hr.csv:6", Err: errors.New(`csv: read hr.csv line 6: duplicate anchor "1" (first at line 2)`)},
		{Op: idsync.OpAdd, ObjectType: "person", Anchor: "7", DN: "7", Source: "hr.csv:7", Mods: []idsync.AttrMod{
			{Name: "id", Values: strs("7")}, {Name: "name", Values: strs("Gil")}}},
		{Op: idsync.OpAdd, ObjectType: "person", Anchor: "7", Source: "hr.csv:8", Err: errors.New(`csv: read hr.csv line 8: duplicate anchor "7" (first at line 7)`)},
	})
	// The first rows won: removing the duplicates changes nothing.
	writeFile(t, dir, "hr.csv", deltaBase+"7,Gil,,\n")
	got, _ = deltaImport(t, c, wm2)
	checkChanges(t, got, nil)
}

func TestDeltaImportMissingAndEmptyFile(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)

	os.Remove(filepath.Join(dir, "hr.csv"))
	n := 0
	_, err := c.(connector.DeltaImporter).ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(idsync.Change) error { n++; return nil })
	if !errors.Is(err, fs.ErrNotExist) || errors.Is(err, connector.ErrWatermarkExpired) || n != 0 {
		t.Errorf("missing file: ImportChanges = %v with %d changes, want a not-exist error and none", err, n)
	}

	writeFile(t, dir, "hr.csv", "id,name,age,mail\n")
	got, wm2 := deltaImport(t, c, wm)
	var want []idsync.Change
	for _, a := range []string{"1", "2", "3", "4"} {
		want = append(want, idsync.Change{Op: idsync.OpDelete, ObjectType: "person", Anchor: idsync.Anchor(a), DN: a})
	}
	checkChanges(t, got, want)

	// From the empty snapshot, every row is an add.
	writeFile(t, dir, "hr.csv", deltaBase)
	got, _ = deltaImport(t, c, wm2)
	if len(got) != 4 {
		t.Fatalf("got %d changes, want 4 adds", len(got))
	}
	for _, ch := range got {
		if ch.Op != idsync.OpAdd || ch.Err != nil {
			t.Errorf("change %+v, want an add", ch)
		}
	}
}

// Composite anchors, a DN template: the changes carry the DN a full
// import computes; deletions carry the anchor only.
func TestDeltaImportCompositeAnchorAndTemplate(t *testing.T) {
	dir := t.TempDir()
	cfg := &csv.Config{Path: "hr.csv", Anchor: []string{"org", "id"}, DN: "CN={name},OU={org}"}
	writeFile(t, dir, "hr.csv", "org,id,name\nA,1,Ada\nB,1,Bob\nA,2,Cy\n")
	c := mustOpen(t, cfg, dir)
	wm := fullImport(t, c)
	writeFile(t, dir, "hr.csv", "org,id,name\nA,1,Ada L\nA,2,Cy\n")
	got, _ := deltaImport(t, c, wm)
	checkChanges(t, got, []idsync.Change{
		{Op: idsync.OpReplace, ObjectType: "person", Anchor: "A|1", DN: "CN=Ada L,OU=A", Source: "hr.csv:2", Mods: []idsync.AttrMod{
			{Name: "id", Values: strs("1")}, {Name: "name", Values: strs("Ada L")}, {Name: "org", Values: strs("A")}}},
		{Op: idsync.OpDelete, ObjectType: "person", Anchor: "B|1"},
	})
}

// An export through the connector, then a delta import: the exported rows
// come back as replaces (the engine confirms its exports that way), and an
// export journal left by a crash is applied first.
func TestDeltaImportAfterExport(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", deltaBase)
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)
	exportPages(t, c, []idsync.Change{
		{Op: idsync.OpUpdate, ID: "u", Anchor: "2", Mods: []idsync.AttrMod{{Name: "name", Values: strs("Robert")}}},
		{Op: idsync.OpDelete, ID: "d", Anchor: "3"},
	})
	got, wm2 := deltaImport(t, c, wm)
	if len(got) != 2 || got[0].Op != idsync.OpReplace || got[0].Anchor != "2" || got[1].Op != idsync.OpDelete || got[1].Anchor != "3" {
		t.Fatalf("after export: %+v", got)
	}

	// A session that never closes (a crash): its journal is applied by
	// the delta import.
	s, err := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExportPage(context.Background(), []idsync.Change{{Op: idsync.OpDelete, ID: "d", Anchor: "4"}}); err != nil {
		t.Fatal(err)
	}
	c.Close() // abandons the session
	c2 := mustOpen(t, deltaConfig(), dir)
	got, _ = deltaImport(t, c2, wm2)
	checkChanges(t, got, []idsync.Change{{Op: idsync.OpDelete, ObjectType: "person", Anchor: "4", DN: "4"}})
}

func TestDeltaImportCancelAndEmitError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hr.csv", "id,name,age,mail\n")
	c := mustOpen(t, deltaConfig(), dir)
	wm := fullImport(t, c)
	writeFile(t, dir, "hr.csv", deltaBase)
	di := c.(connector.DeltaImporter)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := di.ImportChanges(ctx, connector.ImportOptions{}, wm, func(idsync.Change) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: ImportChanges = %v", err)
	}
	boom := errors.New("boom")
	if next, err := di.ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(idsync.Change) error { return boom }); !errors.Is(err, boom) || next != nil {
		t.Errorf("emit error: ImportChanges = %v, %v", next, err)
	}
}
