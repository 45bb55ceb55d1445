package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRulesImportAADC: the command converts the default rule set, prints
// the summary, writes files that validate once the connectors are added,
// and exits 1 with each problem listed when a file cannot be carried; a
// malformed --connector-map is a usage error.
func TestRulesImportAADC(t *testing.T) {
	rules, err := filepath.Abs("../../../shared/testdata/aadc/default-rules-2016")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "conf")
	r := runCLI(t, dir, "rules", "import-aadc", "--out", out,
		"--connector-map", "{AE4DB4CC-B16B-4EB2-ACF5-837CA84E4D7D}=ad", "--connector-map", "b891884f-051e-4a83-95af-2544101c9083=aad", rules)
	if r.code != 0 || !strings.HasPrefix(r.stdout, "converted 62 rules (1200 flows, 92 scope conditions, 40 join conditions); 0 problems\n") ||
		!strings.Contains(r.stdout, "wrote 63 file(s)") {
		t.Fatalf("import:\n%s", r)
	}
	conns := "connectors:\n  - {name: ad, type: csv, settings: {path: ad.csv, objectType: user, anchor: [objectGUID]}}\n  - {name: aad, type: csv, settings: {path: aad.csv, objectType: user, anchor: [sourceAnchor]}}\n"
	if err := os.WriteFile(filepath.Join(out, "connectors.yaml"), []byte(conns), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := runCLI(t, dir, "validate", out); r.code != 0 || !strings.Contains(r.stdout, "62 rule(s)") {
		t.Errorf("validate:\n%s", r)
	}

	// A bad file among good ones: exit 1, the problem listed, the good rule written.
	in := filepath.Join(dir, "in")
	if err := os.MkdirAll(in, 0o755); err != nil {
		t.Fatal(err)
	}
	good, err := os.ReadFile(filepath.Join(rules, "SynchronizationRule_{0b088913-b613-4d9d-9563-9988b7719ed6}.xml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "good.xml"), good, 0o644)
	os.WriteFile(filepath.Join(in, "notes.yaml"), []byte("just: notes\n"), 0o644)
	out2 := filepath.Join(dir, "out2")
	r = runCLI(t, dir, "rules", "import-aadc", "--out", out2, in)
	if r.code != 1 || !strings.Contains(r.stdout, "converted 1 rules (1 flows, 2 scope conditions, 5 join conditions); 1 problems") ||
		!strings.Contains(r.stdout, "problem: "+filepath.Join(in, "notes.yaml")+": not an Entra Connect sync rule file") ||
		!strings.Contains(r.stdout, "note: connector ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d is not mapped") {
		t.Errorf("import with a bad file:\n%s", r)
	}
	if _, err := os.Stat(filepath.Join(out2, "rules", "100-in-from-ad-user-join.yaml")); err != nil {
		t.Errorf("the good rule was not written: %v", err)
	}

	if r := runCLI(t, dir, "rules", "import-aadc", "--connector-map", "nonsense", in); r.code != 2 || !strings.Contains(r.stderr, "want OLD=NEW") {
		t.Errorf("bad --connector-map:\n%s", r)
	}
}
