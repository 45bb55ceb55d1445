package aadc_test

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/aadc"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

const (
	defaultRules = "../../shared/testdata/aadc/default-rules-2016"
	dscRules     = "../../shared/testdata/aadc/dscconfig/AADSyncRules.yml"
	adGUID       = "{ae4db4cc-b16b-4eb2-acf5-837ca84e4d7d}"
	aadGUID      = "b891884f-051e-4a83-95af-2544101c9083"
)

var defaultMap = aadc.Options{ConnectorMap: map[string]string{adGUID: "ad", aadGUID: "aad"}}

func importPaths(t *testing.T, opts aadc.Options, paths ...string) *aadc.Result {
	t.Helper()
	files, err := aadc.ReadPaths(paths)
	if err != nil {
		t.Fatal(err)
	}
	return aadc.Import(files, opts)
}

// connectorsYAML declares the two connectors the default rules use.
const connectorsYAML = `
connectors:
  - name: ad
    type: csv
    settings: {path: ad.csv, objectType: user, anchor: [objectGUID]}
  - name: aad
    type: csv
    settings: {path: aad.csv, objectType: user, anchor: [cloudAnchor]}
`

// writeAndLoad writes res to a directory with the connectors and loads it
// as idsync would (config.Load validates).
func writeAndLoad(t *testing.T, res *aadc.Result, extra string) *config.Config {
	t.Helper()
	dir := t.TempDir()
	if _, err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "connectors.yaml"), []byte(extra), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir, connector.NewRegistry(csv.Type))
	if err != nil {
		t.Fatalf("the imported configuration does not validate:\n%v", err)
	}
	return cfg
}

// TestDefaultRulesImport: the 62 default rules of an Entra Connect server
// import with no problem, with every flow, scope and join condition (the
// counts of ../shared/testdata/aadc/summary.md), and validate.
func TestDefaultRulesImport(t *testing.T) {
	res := importPaths(t, defaultMap, defaultRules)
	for _, p := range res.Problems {
		t.Errorf("problem: %s", p)
	}
	want := "converted 62 rules (1200 flows, 92 scope conditions, 40 join conditions); 0 problems"
	if got := res.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	if len(res.Unmapped) != 0 {
		t.Errorf("Unmapped = %v", res.Unmapped)
	}
	if res.Metaverse == nil || len(res.Metaverse.Classes) != 3 {
		t.Fatalf("metaverse = %+v, want person, group, device", res.Metaverse)
	}
	cfg := writeAndLoad(t, res, connectorsYAML)
	if len(cfg.Rules) != 62 {
		t.Errorf("loaded %d rules, want 62", len(cfg.Rules))
	}
	// What was written reads back as what was imported.
	byName := map[string]*idsync.SyncRule{}
	for _, r := range cfg.Rules {
		byName[r.Name] = r
	}
	for _, r := range res.Rules {
		got := byName[r.Name]
		if got == nil {
			t.Errorf("rule %q not loaded", r.Name)
			continue
		}
		a, b := *r, *got
		a.Source, b.Source = "", ""
		if diff := cmp.Diff(&a, &b); diff != "" {
			t.Errorf("rule %q round trip (-imported +loaded):\n%s", r.Name, diff)
		}
	}
	// Facts the summary lists: the FSP rule targets any type, 2 rules sync
	// passwords, 2 flows apply once, 5 merge case-insensitively, 3 joins
	// are case-sensitive.
	var star, pw, once, mci, cs int
	for _, r := range res.Rules {
		if r.MVType == "*" {
			star++
		}
		if r.PasswordSync {
			pw++
		}
		for _, f := range r.Flows {
			if f.ApplyOnce {
				once++
			}
			if f.Merge == idsync.MergeCaseInsensitive {
				mci++
			}
		}
		for _, g := range r.Join {
			for _, c := range g {
				if c.CaseSensitive {
					cs++
				}
			}
		}
	}
	if star != 1 || pw != 2 || once != 2 || mci != 5 || cs != 3 {
		t.Errorf("target *: %d, password sync: %d, apply once: %d, MergeCaseInsensitive: %d, case-sensitive joins: %d; want 1, 2, 2, 5, 3", star, pw, once, mci, cs)
	}
}

// TestGolden compares the files written for a few rules and the metaverse
// with testdata/golden/ (go test ./aadc -update rewrites them).
func TestGolden(t *testing.T) {
	res := importPaths(t, defaultMap, defaultRules)
	dir := t.TempDir()
	if _, err := res.Write(dir); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{
		"rules/100-in-from-ad-user-join.yaml",
		"rules/102-in-from-ad-user-accountenabled.yaml",
		"rules/118-in-from-ad-foreignsecurityprincipal-join-user.yaml",
		"rules/123-out-to-aad-user-join.yaml",
		"rules/139-out-to-aad-group-join.yaml",
		"rules/160-out-to-aad-device-join-soainad.yaml",
		"metaverse.yaml",
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		// The origin file is the path given; make it stable.
		got = bytes.ReplaceAll(got, []byte(defaultRules+"/"), nil)
		golden := filepath.Join("testdata", "golden", filepath.Base(name))
		if *update {
			if err := os.MkdirAll(filepath.Dir(golden), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(golden, got, 0o644); err != nil {
				t.Fatal(err)
			}
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatalf("%v (run go test ./aadc -update)", err)
		}
		if diff := cmp.Diff(string(want), string(got)); diff != "" {
			t.Errorf("%s (-golden +got):\n%s", name, diff)
		}
	}
}

// TestDSCImport: the AADConnectDsc YAML imports with every condition and
// flow, and validates against a metaverse with its extension attributes.
func TestDSCImport(t *testing.T) {
	res := importPaths(t, aadc.Options{ConnectorMap: map[string]string{"contoso.com": "ad"}}, dscRules)
	for _, p := range res.Problems {
		t.Errorf("problem: %s", p)
	}
	want := "converted 2 rules (79 flows, 39 scope conditions, 8 join conditions); 0 problems"
	if got := res.Summary(); got != want {
		t.Errorf("Summary() = %q, want %q", got, want)
	}
	join, common := res.Rules[0], res.Rules[1]
	if join.Name != "01 - ContosoGroup Custom - A01 - In from AD - User Join" || join.LinkType != idsync.LinkProvision || join.Connector != "ad" || join.Origin.Connector != "contoso.com" {
		t.Errorf("rule 1 = %q %v %q (origin %q)", join.Name, join.LinkType, join.Connector, join.Origin.Connector)
	}
	if got := join.Join[5]; len(got) != 3 || got[1] != (idsync.JoinCondition{Source: "sAMAccountName", Target: "accountName"}) {
		t.Errorf("join group 6 = %+v", got)
	}
	if got := join.Scope[0][2]; got != (idsync.ScopeClause{Attr: "contosogroupADMigration01", Op: idsync.ScopeGreaterThanOrEqual, Value: "50"}) {
		t.Errorf("scope[0][2] = %+v", got)
	}
	var consts []idsync.Flow
	for _, f := range common.Flows {
		if f.Type == idsync.FlowConstant {
			consts = append(consts, f)
		}
	}
	if len(consts) != 2 || consts[0].Constant != "a01.contosogroup.com" || consts[1].Constant != "A01" {
		t.Errorf("constant flows = %+v", consts)
	}
	// Validate: the metaverse needs the rules' extension attributes.
	mv := "metaverse:\n  objectTypes:\n    - name: person\n      attributes:\n"
	seen := map[string]bool{}
	for _, r := range res.Rules {
		for _, g := range r.Join {
			for _, c := range g {
				seen[c.Target] = true
			}
		}
		for _, f := range r.Flows {
			seen[f.Target] = true
		}
	}
	for a := range seen {
		mv += "        - {name: " + a + ", type: string}\n"
	}
	writeAndLoad(t, res, connectorsYAML+mv)
}

// TestPowerShellTwin: rules exported as PowerShell (testdata/ps/, written
// in the Synchronization Rules Editor's export form, in both the
// -OutVariable style and the $rule = ... | Add-ADSyncRule style) import to
// exactly the rules their XML twins import to.
func TestPowerShellTwin(t *testing.T) {
	ps := importPaths(t, defaultMap, "testdata/ps")
	for _, p := range ps.Problems {
		t.Errorf("problem: %s", p)
	}
	if len(ps.Rules) != 6 {
		t.Fatalf("imported %d rules from PowerShell, want 6", len(ps.Rules))
	}
	xml := importPaths(t, defaultMap, defaultRules)
	byName := map[string]*idsync.SyncRule{}
	for _, r := range xml.Rules {
		byName[r.Name] = r
	}
	for _, got := range ps.Rules {
		want := byName[got.Name]
		if want == nil {
			t.Errorf("PowerShell rule %q has no XML twin", got.Name)
			continue
		}
		// Only where they were read from differs; the identifier has braces in XML.
		w, g := *want, *got
		wo, gor := *w.Origin, *g.Origin
		wo.File, gor.File = "", ""
		wo.ID = strings.Trim(wo.ID, "{}")
		wo.Connector, gor.Connector = "", ""
		w.Origin, g.Origin = &wo, &gor
		if diff := cmp.Diff(&w, &g); diff != "" {
			t.Errorf("rule %q (-XML +PowerShell):\n%s", got.Name, diff)
		}
		wantYAML, _ := aadc.RuleYAML(&w)
		gotYAML, _ := aadc.RuleYAML(&g)
		if !bytes.Equal(wantYAML, gotYAML) {
			t.Errorf("rule %q: the YAML written differs", got.Name)
		}
	}
}
