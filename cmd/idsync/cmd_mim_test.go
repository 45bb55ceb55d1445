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
