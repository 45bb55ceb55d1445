package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const mimSamples = "../../../shared/testdata/mim-ma"

// TestImportMIMCommand runs idsync config import-mim on a SQL sample
// (written to --out, then validated), on the FIM Service MA (nothing
// usable: exit 1) and on a broken file (exit 1 naming the file).
func TestImportMIMCommand(t *testing.T) {
	dir := t.TempDir()
	sample, err := filepath.Abs(filepath.Join(mimSamples, "mimconfigdoc_MSSQL_HROrg_MA-{0C3357F1-FAD7-4E1E-88E2-A9CFCFE67491}.XML"))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "conf")
	r := runCLI(t, dir, "config", "import-mim", sample, "--out", out)
	if r.code != 0 || !strings.Contains(r.stdout, "wrote ") || !strings.Contains(r.stderr, "carried:") || !strings.Contains(r.stderr, "not carried:") {
		t.Fatalf("import-mim:\n%s", r)
	}
	data, err := os.ReadFile(filepath.Join(out, "hrorg.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "type: sql") || !strings.Contains(string(data), "{env: IDSYNC_HRORG_PASSWORD}") {
		t.Errorf("written configuration:\n%s", data)
	}
	if r := runCLI(t, dir, "--config", out, "validate"); r.code != 0 {
		t.Errorf("validate of the imported configuration:\n%s", r)
	}
	if r := runCLI(t, dir, "config", "import-mim", sample, "--out", out); r.code == 0 || !strings.Contains(r.stderr, "exists") {
		t.Errorf("a second import over the same file must refuse to overwrite:\n%s", r)
	}

	fim, _ := filepath.Abs(filepath.Join(mimSamples, "mimconfigdoc_FIM_FIMService_MA-{B26849CC-16CD-4DDA-9D06-72A342B8060E}.XML"))
	if r := runCLI(t, dir, "config", "import-mim", fim); r.code != 1 || r.stdout != "" || !strings.Contains(r.stderr, "nothing usable") {
		t.Errorf("FIM Service MA:\n%s", r)
	}
	bad := filepath.Join(dir, "broken.xml")
	os.WriteFile(bad, []byte("<export-ma><ma-data>"), 0o644)
	if r := runCLI(t, dir, "config", "import-mim", bad); r.code != 1 || !strings.Contains(r.stderr, "broken.xml") {
		t.Errorf("broken file:\n%s", r)
	}
}

// TestImportMIMEverySampleValidates imports every MIM sample with the binary's
// full registry (sql, ldap, script, ...) and checks that whatever import-mim
// writes passes `idsync validate`, and that the three samples with nothing we
// can carry (FIM Service MA, Azure AD connector, the metaverse) exit 1.
func TestImportMIMEverySampleValidates(t *testing.T) {
	samples, err := filepath.Glob(filepath.Join(mimSamples, "*.[xX][mM][lL]"))
	if err != nil || len(samples) < 12 {
		t.Fatalf("samples: %v (%d files)", err, len(samples))
	}
	wantType := map[string]string{
		"aadc-configdoc_AD_Connector":  "type: ldap",
		"mimconfigdoc_ADAM_ADLDS":      "type: ldap",
		"mimconfigdoc_AD_Contoso":      "type: ldap",
		"granfeldt-psma":               "type: script",
		"ms-ecma2host_PowerShell":      "type: script",
		"ms-powershell-connector":      "type: script",
		"granfeldt-sqlma":              "type: sql",
		"mimconfigdoc_MSSQL_ContosoHR": "type: sql",
		"mimconfigdoc_MSSQL_HROrg":     "type: sql",
		"aadc-configdoc_AAD_Connector": "",
		"mimconfigdoc_FIM_FIMService":  "",
		"mimconfigdoc_MV.":             "",
	}
	for _, s := range samples {
		base := filepath.Base(s)
		want, known := "", false
		for prefix, typ := range wantType {
			if strings.HasPrefix(base, prefix) {
				want, known = typ, true
			}
		}
		if !known {
			t.Errorf("%s: a sample this test does not know", base)
			continue
		}
		t.Run(base, func(t *testing.T) {
			dir := t.TempDir()
			abs, _ := filepath.Abs(s)
			out := filepath.Join(dir, "conf")
			r := runCLI(t, dir, "config", "import-mim", abs, "--out", out)
			if want == "" {
				if r.code != 1 {
					t.Fatalf("nothing carriable: want exit 1:\n%s", r)
				}
				return
			}
			if r.code != 0 {
				t.Fatalf("import-mim:\n%s", r)
			}
			files, _ := filepath.Glob(filepath.Join(out, "*.yaml"))
			if len(files) != 1 {
				t.Fatalf("want one connector file, got %v", files)
			}
			data, _ := os.ReadFile(files[0])
			if !strings.Contains(string(data), want) {
				t.Errorf("want %q in:\n%s", want, data)
			}
			if r := runCLI(t, dir, "--config", out, "validate"); r.code != 0 {
				t.Errorf("validate of the imported configuration:\n%s", r)
			}
		})
	}
}
