package csv_test

import (
	"context"
	"encoding/base64"
	stdcsv "encoding/csv"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/csv"
)

func testEnv(dir string) connector.Env {
	return connector.Env{Name: "hr", Dir: dir, Logger: slog.New(slog.DiscardHandler)}
}

func mustOpen(t testing.TB, cfg *csv.Config, dir string) connector.Connector {
	t.Helper()
	c, err := cfg.Open(context.Background(), testEnv(dir))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// cell formats values as the file holds them.
func cell(vs []idsync.Value, sep string) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	return strings.Join(parts, sep)
}

// writeRows writes a file by hand (not through the connector).
func writeRows(t testing.TB, path string, delim string, rows ...[]string) {
	t.Helper()
	var b strings.Builder
	for _, r := range rows {
		for i, f := range r {
			if i > 0 {
				b.WriteString(delim)
			}
			if strings.ContainsAny(f, "\"\n\r"+delim) {
				f = `"` + strings.ReplaceAll(f, `"`, `""`) + `"`
			}
			b.WriteString(f)
		}
		b.WriteString("\n")
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// readRows reads a file by hand (not through the connector).
func readRows(t testing.TB, path string, delim string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := stdcsv.NewReader(f)
	r.Comma, _ = utf8.DecodeRuneInString(delim)
	rows, err := r.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

var suiteAttrs = []idsync.AttrDef{
	{Name: "displayName", Type: idsync.TypeString},
	{Name: "mail", Type: idsync.TypeString, MultiValued: true},
	{Name: "employeeNumber", Type: idsync.TypeInteger},
	{Name: "codes", Type: idsync.TypeInteger, MultiValued: true},
	{Name: "enabled", Type: idsync.TypeBoolean},
	{Name: "photo", Type: idsync.TypeBinary},
	{Name: "hired", Type: idsync.TypeDateTime},
	{Name: "manager", Type: idsync.TypeReference},
	{Name: "reports", Type: idsync.TypeReference, MultiValued: true},
}

// harness returns a conformance harness for cfg; dnCol, when set, is the
// column that holds DNs of the form "CN=key,OU=People".
func harness(cfg *csv.Config, dnCol string) connectortest.Harness {
	cols := []string{"id"}
	if dnCol != "" {
		cols = append(cols, dnCol)
	}
	cfg.Types = map[string]string{}
	cfg.MultiValued = nil
	for _, d := range suiteAttrs {
		cols = append(cols, d.Name)
		cfg.Types[d.Name] = d.Type.String()
		if d.MultiValued {
			cfg.MultiValued = append(cfg.MultiValued, d.Name)
		}
	}
	delim := cfg.Delimiter
	if delim == "" {
		delim = ","
	}
	sep := cfg.MultiValueSeparator
	if sep == "" {
		sep = ";"
	}
	var dir string
	h := connectortest.Harness{
		Seed: func(t *testing.T, objs []idsync.Entry) {
			dir = t.TempDir()
			rows := [][]string{cols}
			for _, e := range objs {
				r := make([]string, len(cols))
				for i, c := range cols {
					if c == dnCol {
						r[i] = e.DN
					} else {
						r[i] = cell(e.Attrs[c], sep)
					}
				}
				rows = append(rows, r)
			}
			writeRows(t, filepath.Join(dir, cfg.Path), delim, rows...)
		},
		Open:         func(t *testing.T) connector.Connector { return mustOpen(t, cfg, dir) },
		ObjectType:   "person",
		Key:          "id",
		Attributes:   suiteAttrs,
		Capabilities: cfg.Capabilities(),
	}
	// Modify rewrites the file by hand, as another program would: the
	// row whose id is key gets the modifications (whole-cell replaces).
	h.Modify = func(t *testing.T, key string, mods []idsync.AttrMod) {
		t.Helper()
		path := filepath.Join(dir, cfg.Path)
		rows := readRows(t, path, delim)
		found := false
		for _, r := range rows[1:] {
			if r[0] != key {
				continue
			}
			found = true
			for _, m := range mods {
				if m.Op != idsync.AttrReplace {
					t.Fatalf("Modify: %s of %s: only replace is supported", m.Op, m.Name)
				}
				i := slices.Index(cols, m.Name)
				if i < 0 {
					t.Fatalf("Modify: no column %q", m.Name)
				}
				r[i] = cell(m.Values, sep)
			}
		}
		if !found {
			t.Fatalf("Modify: no row with id %q", key)
		}
		writeRows(t, path, delim, rows...)
	}
	if dnCol != "" {
		h.DN = func(k string) string { return "CN=" + k + ",OU=People" }
		h.RenameDN = func(k string) string { return "CN=" + k + " renamed,OU=People" }
	}
	return h
}

func TestConformance(t *testing.T) {
	t.Run("DNIsAnchor", func(t *testing.T) {
		connectortest.Run(t, harness(&csv.Config{Path: "hr.csv", Anchor: []string{"id"}}, ""))
	})
	t.Run("DNColumn", func(t *testing.T) {
		cfg := &csv.Config{Path: "people.tsv", Anchor: []string{"id"}, DN: "dn", Delimiter: "\t", MultiValueSeparator: "|"}
		connectortest.Run(t, harness(cfg, "dn"))
	})
}

// importAll returns every entry of a full import.
func importAll(t testing.TB, c connector.Connector) []idsync.Entry {
	t.Helper()
	var out []idsync.Entry
	_, err := c.(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
		out = append(out, e)
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return out
}

func TestMalformedRows(t *testing.T) {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "hr.csv"), []byte(
		"\ufeffid,name,age\n"+ // 1 (with a byte order mark)
			"1,Ada,36\n"+ // 2
			"2,Bob\n"+ // 3: too few fields
			"3,Cy,old\n"+ // 4: not an integer
			",Dee,40\n"+ // 5: no anchor
			"1,Eve,50\n"+ // 6: duplicate
			"6,\"Fa\"y,20\n"+ // 7: bare quote
			"7,Gil,\n"), 0o644) // 8: fine, no age
	c := mustOpen(t, &csv.Config{Path: "hr.csv", Anchor: []string{"id"}, Types: map[string]string{"age": "integer"}}, dir)
	got := importAll(t, c)
	want := []struct{ source, err string }{
		{"hr.csv:2", ""},
		{"hr.csv:3", "csv: read hr.csv line 3: 2 fields, want 3"},
		{"hr.csv:4", `csv: read hr.csv line 4: column "age": value "old" is not an integer`},
		{"hr.csv:5", `csv: read hr.csv line 5: anchor column "id" is empty`},
		{"hr.csv:6", `csv: read hr.csv line 6: duplicate anchor "1" (first at line 2)`},
		{"hr.csv:7", "csv: read hr.csv line 7: "},
		{"hr.csv:8", ""},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d: %+v", len(got), len(want), got)
	}
	for i, w := range want {
		e := got[i]
		if e.Source != w.source {
			t.Errorf("entry %d: Source = %q, want %q", i, e.Source, w.source)
		}
		switch {
		case w.err == "" && e.Err != nil:
			t.Errorf("entry %d: unexpected error %v", i, e.Err)
		case w.err != "" && (e.Err == nil || !strings.HasPrefix(e.Err.Error(), w.err)):
			t.Errorf("entry %d: Err = %v, want %q", i, e.Err, w.err)
		}
	}
	if a := got[0].Attrs; !a.Get("age").Equal(idsync.Int(36)) || !a.Get("name").Equal(idsync.String("Ada")) || got[0].Anchor != "1" || got[0].DN != "1" {
		t.Errorf("row 2 = %+v", got[0])
	}
	if _, ok := got[6].Attrs["age"]; ok {
		t.Errorf("empty cell imported as a value: %v", got[6].Attrs)
	}
	if got[4].Anchor != "1" {
		t.Errorf("duplicate entry has anchor %q, want 1", got[4].Anchor)
	}
}

func TestCompositeAnchorTemplateAndSeparator(t *testing.T) {
	dir := t.TempDir()
	writeRows(t, filepath.Join(dir, "p.csv"), ";",
		[]string{"last", "first", "mail", "groups"},
		[]string{"Lovelace", "Ada", "ada@x.org|ada@y.org", "1|2|3"},
		[]string{"Hopper", "Grace", "", "4"},
	)
	cfg := &csv.Config{
		Path: "p.csv", Anchor: []string{"last", "first"}, DN: "CN={first} {last},OU=People",
		Delimiter: ";", MultiValueSeparator: "|", MultiValued: []string{"mail", "groups"},
		Types: map[string]string{"groups": "integer"},
	}
	c := mustOpen(t, cfg, dir)
	got := importAll(t, c)
	if len(got) != 2 || got[0].Anchor != "Lovelace|Ada" || got[0].DN != "CN=Ada Lovelace,OU=People" {
		t.Fatalf("import = %+v", got)
	}
	wantMail := []idsync.Value{idsync.String("ada@x.org"), idsync.String("ada@y.org")}
	if !idsync.ValuesEqual(got[0].Attrs["mail"], wantMail) || len(got[0].Attrs["groups"]) != 3 || !got[0].Attrs["groups"][2].Equal(idsync.Int(3)) {
		t.Errorf("multi-valued = %v", got[0].Attrs)
	}
	res := exportPages(t, c, []idsync.Change{
		{Op: idsync.OpAdd, ID: "a", DN: "ignored", Mods: idsync.ModsFromAttrs(idsync.Attrs{
			"last": {idsync.String("Turing")}, "first": {idsync.String("Alan")},
			"mail": {idsync.String("at@x.org"), idsync.String("alan@x.org")}, "groups": {idsync.Int(7), idsync.String("8")},
		})},
		{Op: idsync.OpUpdate, ID: "b", Anchor: "Hopper|Grace", Mods: []idsync.AttrMod{{Name: "mail", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("g@x.org")}}}},
		{Op: idsync.OpUpdate, ID: "c", Anchor: "Hopper|Grace", Mods: []idsync.AttrMod{{Name: "first", Values: []idsync.Value{idsync.String("G")}}}},
		{Op: idsync.OpAdd, ID: "d", Mods: []idsync.AttrMod{{Name: "last", Values: []idsync.Value{idsync.String("X")}}}},
		{Op: idsync.OpUpdate, ID: "e", Anchor: "Lovelace|Ada", Mods: []idsync.AttrMod{{Name: "mail", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("a|b")}}}},
	})
	if res[0].Err != nil || res[0].Anchor != "Turing|Alan" || res[0].DN != "CN=Alan Turing,OU=People" {
		t.Errorf("add result = %+v", res[0])
	}
	if res[1].Err != nil {
		t.Errorf("update result = %+v", res[1])
	}
	for i, want := range []string{"", "", "AnchorImmutable", "AnchorMissing", "InvalidAttributeValue"} {
		if res[i].ErrorType != want {
			t.Errorf("result %d: ErrorType = %q (%v), want %q", i, res[i].ErrorType, res[i].Err, want)
		}
	}
	data, _ := os.ReadFile(filepath.Join(dir, "p.csv"))
	wantFile := "last;first;mail;groups\n" +
		"Lovelace;Ada;ada@x.org|ada@y.org;1|2|3\n" +
		"Hopper;Grace;g@x.org;4\n" +
		"Turing;Alan;at@x.org|alan@x.org;7|8\n"
	if string(data) != wantFile {
		t.Errorf("file =\n%s\nwant\n%s", data, wantFile)
	}
}

// exportPages runs one session with the given pages and returns the
// results of all pages.
func exportPages(t testing.TB, c connector.Connector, pages ...[]idsync.Change) []connector.ExportResult {
	t.Helper()
	ctx := context.Background()
	s, err := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatalf("OpenExport: %v", err)
	}
	var all []connector.ExportResult
	for _, p := range pages {
		res, err := s.ExportPage(ctx, p)
		if err != nil {
			t.Fatalf("ExportPage: %v", err)
		}
		all = append(all, res...)
	}
	if err := s.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	return all
}

func seedPeople(t testing.TB, dir string) *csv.Config {
	t.Helper()
	writeRows(t, filepath.Join(dir, "hr.csv"), ",",
		[]string{"id", "name", "tags"},
		[]string{"1", "Ada", "a;b"},
		[]string{"2", "Bob", ""},
		[]string{"3", "Cy", "c"},
	)
	return &csv.Config{Path: "hr.csv", Anchor: []string{"id"}, MultiValued: []string{"tags"}}
}

func crashPage() []idsync.Change {
	return []idsync.Change{
		{Op: idsync.OpAdd, ID: "add4", Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("4")}, "name": {idsync.String("Dee, \"D\"")}})},
		{Op: idsync.OpUpdate, ID: "upd1", Anchor: "1", Mods: []idsync.AttrMod{
			{Name: "name", Values: []idsync.Value{idsync.String("Ada L.")}},
			{Name: "tags", Op: idsync.AttrDelete, Values: []idsync.Value{idsync.String("a")}},
		}},
		{Op: idsync.OpDelete, ID: "del2", Anchor: "2"},
	}
}

const afterCrashPage = "id,name,tags\n1,Ada L.,b\n3,Cy,c\n4,\"Dee, \"\"D\"\"\",\n"

func readFile(t testing.TB, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func checkResults(t testing.TB, res []connector.ExportResult, ids ...string) {
	t.Helper()
	if len(res) != len(ids) {
		t.Fatalf("%d results, want %d", len(res), len(ids))
	}
	for i, r := range res {
		if r.Err != nil || r.ID != ids[i] {
			t.Errorf("result %d = %+v, want success of %q", i, r, ids[i])
		}
	}
}

func TestCrashBeforeCloseImport(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	before := readFile(t, filepath.Join(dir, "hr.csv"))
	c1, err := cfg.Open(context.Background(), testEnv(dir))
	if err != nil {
		t.Fatal(err)
	}
	s, err := c1.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := s.ExportPage(context.Background(), crashPage())
	if err != nil {
		t.Fatal(err)
	}
	checkResults(t, res, "add4", "upd1", "del2")
	// Crash: the session is never closed (closing the connector abandons
	// it, as a dying process would). The file is untouched; the journal
	// holds the page.
	c1.Close()
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != before {
		t.Fatalf("file changed before Close:\n%s", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "hr.csv.journal")); err != nil {
		t.Fatalf("no journal: %v", err)
	}
	c2 := mustOpen(t, cfg, dir)
	got := importAll(t, c2)
	if len(got) != 3 || got[0].Attrs.Get("name").Str != "Ada L." || got[2].Anchor != "4" {
		t.Errorf("import after crash = %+v", got)
	}
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != afterCrashPage {
		t.Errorf("file after recovery =\n%s\nwant\n%s", got, afterCrashPage)
	}
	if _, err := os.Stat(filepath.Join(dir, "hr.csv.journal")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left after recovery: %v", err)
	}
}

func TestCrashBeforeCloseResend(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	c1, _ := cfg.Open(context.Background(), testEnv(dir))
	s, _ := c1.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if _, err := s.ExportPage(context.Background(), crashPage()); err != nil {
		t.Fatal(err)
	}
	c1.Close() // the process dies without closing the session
	// Crash before the engine committed: it resends the page to a new
	// connector, whose OpenExport applies the journal first.
	c2 := mustOpen(t, cfg, dir)
	res := exportPages(t, c2, crashPage(), crashPage())
	checkResults(t, res, "add4", "upd1", "del2", "add4", "upd1", "del2")
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != afterCrashPage {
		t.Errorf("file after resend =\n%s\nwant\n%s", got, afterCrashPage)
	}
}

// TestCrashSIGKILL kills a real process after ExportPage returned.
func TestCrashSIGKILL(t *testing.T) {
	if dir := os.Getenv("IDSYNC_CSV_CRASH_DIR"); dir != "" {
		cfg := seedPeopleConfig()
		c, err := cfg.Open(context.Background(), testEnv(dir))
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		s, err := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
		if err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		if _, err := s.ExportPage(context.Background(), crashPage()); err != nil {
			fmt.Println(err)
			os.Exit(2)
		}
		p, _ := os.FindProcess(os.Getpid())
		p.Kill()
		select {}
	}
	exe, err := os.Executable()
	if err != nil {
		t.Skip(err)
	}
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	cmd := exec.Command(exe, "-test.run=^TestCrashSIGKILL$")
	cmd.Env = append(os.Environ(), "IDSYNC_CSV_CRASH_DIR="+dir)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != -1 {
		t.Fatalf("child did not die by a signal: %v\n%s", err, out)
	}
	c := mustOpen(t, cfg, dir)
	importAll(t, c)
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != afterCrashPage {
		t.Errorf("file after SIGKILL and recovery =\n%s\nwant\n%s", got, afterCrashPage)
	}
}

func seedPeopleConfig() *csv.Config {
	return &csv.Config{Path: "hr.csv", Anchor: []string{"id"}, MultiValued: []string{"tags"}}
}

func TestRewriteFaultLeavesFileIntact(t *testing.T) {
	for _, stage := range []string{"write", "sync", "rename"} {
		t.Run(stage, func(t *testing.T) {
			dir := t.TempDir()
			cfg := seedPeople(t, dir)
			before := readFile(t, filepath.Join(dir, "hr.csv"))
			boom := errors.New("disk on fire")
			csv.SetFault(cfg, func(s string) error {
				if s == stage {
					return boom
				}
				return nil
			})
			c := mustOpen(t, cfg, dir)
			s, _ := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
			if _, err := s.ExportPage(context.Background(), crashPage()); err != nil {
				t.Fatal(err)
			}
			if err := s.Close(context.Background()); !errors.Is(err, boom) {
				t.Fatalf("Close = %v, want the injected fault", err)
			}
			if got := readFile(t, filepath.Join(dir, "hr.csv")); got != before {
				t.Errorf("file changed by a failed rewrite:\n%s", got)
			}
			ents, _ := os.ReadDir(dir)
			var names []string
			for _, e := range ents {
				names = append(names, e.Name())
			}
			if !slices.Equal(names, []string{"hr.csv", "hr.csv.journal"}) {
				t.Errorf("directory holds %v, want the file and its journal", names)
			}
			csv.SetFault(cfg, nil)
			importAll(t, mustOpen(t, cfg, dir))
			if got := readFile(t, filepath.Join(dir, "hr.csv")); got != afterCrashPage {
				t.Errorf("file after recovery =\n%s\nwant\n%s", got, afterCrashPage)
			}
		})
	}
}

func TestAddOfExistingAnchorReplacesRow(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	c := mustOpen(t, cfg, dir)
	res := exportPages(t, c, []idsync.Change{
		{Op: idsync.OpAdd, ID: "x", Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("3")}, "name": {idsync.String("Cyrus")}})},
		{Op: idsync.OpDelete, ID: "y", Anchor: "99"},
		{Op: idsync.OpUpdate, ID: "z", Anchor: "99", Mods: []idsync.AttrMod{{Name: "name"}}},
	})
	if res[0].Err != nil || res[1].Err != nil || res[2].ErrorType != "ObjectNotFound" {
		t.Fatalf("results = %+v", res)
	}
	want := "id,name,tags\n1,Ada,a;b\n2,Bob,\n3,Cyrus,\n"
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != want {
		t.Errorf("file =\n%s\nwant\n%s", got, want)
	}
}

func TestExportValidation(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	cfg.Types = map[string]string{"id": "integer"}
	c := mustOpen(t, cfg, dir)
	add := func(id string, attrs idsync.Attrs) idsync.Change {
		return idsync.Change{Op: idsync.OpAdd, ID: id, Mods: idsync.ModsFromAttrs(attrs)}
	}
	res := exportPages(t, c, []idsync.Change{
		add("nocol", idsync.Attrs{"id": {idsync.Int(5)}, "shoe": {idsync.String("42")}}),
		add("badint", idsync.Attrs{"id": {idsync.String("five")}}),
		add("twovals", idsync.Attrs{"id": {idsync.Int(5)}, "name": {idsync.String("a"), idsync.String("b")}}),
		add("sep", idsync.Attrs{"id": {idsync.Int(5)}, "tags": {idsync.String("a;b")}}),
		{Op: idsync.OpAdd, ID: "type", ObjectType: "group"},
		add("ok", idsync.Attrs{"id": {idsync.String("007")}, "tags": {idsync.Int(1), idsync.Bool(true)}}),
		{Op: idsync.OpUpdate, ID: "addsingle", Anchor: "1", Mods: []idsync.AttrMod{{Name: "name", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("x")}}}},
		{Op: idsync.OpUpdate, ID: "rename", Anchor: "1", NewDN: "other"},
	})
	want := []string{"NoSuchAttribute", "InvalidAttributeValue", "InvalidAttributeValue", "InvalidAttributeValue", "UnknownObjectType", "", "InvalidAttributeValue", "RenameNotSupported"}
	for i, w := range want {
		if res[i].ErrorType != w || (w == "") != (res[i].Err == nil) {
			t.Errorf("result %d (%s): %q %v, want %q", i, res[i].ID, res[i].ErrorType, res[i].Err, w)
		}
	}
	if res[5].Anchor != "7" {
		t.Errorf("integer anchor = %q, want canonical 7", res[5].Anchor)
	}
	if got := readFile(t, filepath.Join(dir, "hr.csv")); !strings.HasSuffix(got, "\n7,,1;True\n") {
		t.Errorf("file =\n%s", got)
	}
}

func TestExportColumnsAndNewFile(t *testing.T) {
	dir := t.TempDir()
	// No file yet, no columns: the sorted union of the attributes.
	cfg := &csv.Config{Path: "in.csv", ExportPath: "out/new.csv", Anchor: []string{"id"},
		Types: map[string]string{"photo": "binary", "when": "datetime"}}
	os.Mkdir(filepath.Join(dir, "out"), 0o755)
	c := mustOpen(t, cfg, dir)
	res := exportPages(t, c, []idsync.Change{{Op: idsync.OpAdd, ID: "a", DN: "1", Mods: idsync.ModsFromAttrs(idsync.Attrs{
		"id": {idsync.String("1")}, "zeta": {idsync.Bool(false)}, "photo": {idsync.Binary([]byte{1, 2, 3})},
		"when": {idsync.String("2024-01-02T03:04:05+01:00")},
	})}})
	checkResults(t, res, "a")
	want := "id,photo,when,zeta\n1," + base64.StdEncoding.EncodeToString([]byte{1, 2, 3}) + ",2024-01-02T02:04:05Z,False\n"
	if got := readFile(t, filepath.Join(dir, "out/new.csv")); got != want {
		t.Errorf("new file =\n%s\nwant\n%s", got, want)
	}
	// Configured columns come first; columns of the old file are kept.
	cfg.Columns = []string{"zeta", "id"}
	c = mustOpen(t, cfg, dir)
	res = exportPages(t, c, []idsync.Change{{Op: idsync.OpUpdate, ID: "b", Anchor: "1", Mods: []idsync.AttrMod{{Name: "zeta", Values: []idsync.Value{idsync.Bool(true)}}}}})
	checkResults(t, res, "b")
	want = "zeta,id,photo,when\nTrue,1,AQID,2024-01-02T02:04:05Z\n"
	if got := readFile(t, filepath.Join(dir, "out/new.csv")); got != want {
		t.Errorf("reordered file =\n%s\nwant\n%s", got, want)
	}
	// Without header.
	noHeader := false
	cfg2 := &csv.Config{Path: "nh.csv", Anchor: []string{"id"}, Columns: []string{"id", "name"}, Header: &noHeader}
	writeRows(t, filepath.Join(dir, "nh.csv"), ",", []string{"1", "Ada"})
	c = mustOpen(t, cfg2, dir)
	checkResults(t, exportPages(t, c, []idsync.Change{{Op: idsync.OpAdd, ID: "n", Mods: idsync.ModsFromAttrs(idsync.Attrs{"id": {idsync.String("2")}, "name": {idsync.String("Bo")}})}}), "n")
	if got := readFile(t, filepath.Join(dir, "nh.csv")); got != "1,Ada\n2,Bo\n" {
		t.Errorf("headerless file =\n%s", got)
	}
	if got := importAll(t, c); len(got) != 2 || got[1].Attrs.Get("name").Str != "Bo" {
		t.Errorf("headerless import = %+v", got)
	}
}

func TestImportMissingFile(t *testing.T) {
	c := mustOpen(t, &csv.Config{Path: "nope.csv", Anchor: []string{"id"}}, t.TempDir())
	_, err := c.(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Import of a missing file = %v", err)
	}
}

func TestTornJournal(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	j := `{"journal":"idsync-csv","version":1}` + "\n" +
		`{"op":"delete","anchor":"2"}` + "\n" +
		`{"op":"add","anchor":"9","row":{"id":"9","na` // torn by a crash, never acknowledged
	os.WriteFile(filepath.Join(dir, "hr.csv.journal"), []byte(j), 0o644)
	got := importAll(t, mustOpen(t, cfg, dir))
	if len(got) != 2 || got[0].Anchor != "1" || got[1].Anchor != "3" {
		t.Errorf("import = %+v", got)
	}
	os.WriteFile(filepath.Join(dir, "hr.csv.journal"), []byte("garbage\n"), 0o644)
	_, err := mustOpen(t, cfg, dir).(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if err == nil || !strings.Contains(err.Error(), "journal") {
		t.Errorf("Import with a corrupt journal = %v", err)
	}
}

const exampleYAML = `
path: hr.csv
objectType: person
anchor: [employeeId]
dn: "CN={displayName},OU=People"
delimiter: ","
multiValueSeparator: ";"
multiValued: [mail, groups]
types:
  employeeId: integer
  active: boolean
  photo: binary
  manager: reference
  hired: datetime
columns: [employeeId, displayName, mail, groups, active, photo, manager, hired]
exportPath: hr-out.csv
header: true
`

func decode(t *testing.T, doc string) *csv.Config {
	t.Helper()
	var n yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &n); err != nil {
		t.Fatal(err)
	}
	cfg := csv.Type.NewConfig().(*csv.Config)
	if err := n.Content[0].Decode(cfg); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestConfig(t *testing.T) {
	cfg := decode(t, exampleYAML)
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate(example) = %v", err)
	}
	caps := cfg.Capabilities()
	if caps.DNStyle != connector.DNGeneric || caps.ExportType != connector.ExportObjectReplace || caps.ObjectRename || !caps.Import || !caps.Export || !caps.DeltaImport {
		t.Errorf("capabilities = %+v", caps)
	}
	if c := decode(t, "path: a.csv\nanchor: [id]\n").Capabilities(); c.DNStyle != connector.DNNone || !c.DNAsAnchor {
		t.Errorf("capabilities with dn = anchor: %+v", c)
	}
	if c := decode(t, "path: a.csv\nanchor: [id]\ndn: dn\n").Capabilities(); !c.ObjectRename {
		t.Errorf("capabilities with a dn column: %+v", c)
	}
	for _, tc := range []struct{ doc, want string }{
		{"anchor: [id]", "csv: path is required"},
		{"path: a.csv", "csv: anchor is required"},
		{"path: a.csv\nanchor: [id, id]", `csv: anchor: column "id" listed twice`},
		{"path: a.csv\nanchor: [id]\nmultiValued: [id]", `csv: anchor column "id" cannot be multiValued`},
		{"path: a.csv\nanchor: [id]\ndelimiter: ',,'", "csv: delimiter"},
		{"path: a.csv\nanchor: [id]\ntypes: {x: float}", `csv: types: column "x": unknown attribute type "float"`},
		{"path: a.csv\nanchor: [id]\ndn: 'CN={x'", "csv: dn"},
		{"path: a.csv\nanchor: [id]\ncolumns: [name]", `csv: columns lacks "id"`},
		{"path: a.csv\nanchor: [id]\nheader: false", "csv: columns is required when header is false"},
	} {
		err := decode(t, tc.doc).Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tc.want) {
			t.Errorf("Validate(%q) = %v, want %q", tc.doc, err, tc.want)
		}
	}
}

func TestPingAndSchema(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	cfg.Types = map[string]string{"id": "integer", "extra": "boolean"}
	c := mustOpen(t, cfg, dir)
	if err := c.(connector.Pinger).Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
	sc, err := c.(connector.SchemaDiscoverer).Schema(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := []idsync.AttrDef{{Name: "id", Type: idsync.TypeInteger}, {Name: "name", Type: idsync.TypeString}, {Name: "tags", Type: idsync.TypeString, MultiValued: true}, {Name: "extra", Type: idsync.TypeBoolean}}
	if cl := sc.Class("person"); cl == nil || !slices.Equal(cl.Attrs, want) {
		t.Errorf("schema = %+v", sc)
	}
	bad := mustOpen(t, &csv.Config{Path: "missing/hr.csv", ExportPath: "hr.csv", Anchor: []string{"id"}}, dir)
	if err := bad.(connector.Pinger).Ping(context.Background()); err == nil {
		t.Errorf("Ping of a missing import file succeeded")
	}
}

func TestLiveJournalIsNotRecovered(t *testing.T) {
	dir := t.TempDir()
	cfg := seedPeople(t, dir)
	before := readFile(t, filepath.Join(dir, "hr.csv"))
	c1 := mustOpen(t, cfg, dir)
	s, err := c1.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExportPage(context.Background(), crashPage()); err != nil {
		t.Fatal(err)
	}
	// Another connector on the same file, same process, while the session
	// is open: import reads the committed file, export is refused.
	c2 := mustOpen(t, cfg, dir)
	if got := importAll(t, c2); len(got) != 3 || got[1].Anchor != "2" {
		t.Errorf("import during an open session = %+v", got)
	}
	if readFile(t, filepath.Join(dir, "hr.csv")) != before {
		t.Errorf("import applied a live journal")
	}
	if _, err := c2.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{}); err == nil {
		t.Errorf("a second export session on the same file opened")
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(dir, "hr.csv")); got != afterCrashPage {
		t.Errorf("file =\n%s\nwant\n%s", got, afterCrashPage)
	}
}
