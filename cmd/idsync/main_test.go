package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/examples/quickstart"
)

// binary is the idsync binary TestMain builds; tests run it as a subprocess.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "idsync-cli-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "idsync")
	if runtime.GOOS == "windows" {
		binary += ".exe"
	}
	build := exec.Command("go", "build", "-o", binary, ".")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build idsync:", err)
		os.RemoveAll(dir)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

type result struct {
	stdout, stderr string
	code           int
}

func (r result) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s\n--- stderr\n%s", r.code, r.stdout, r.stderr)
}

// idsync runs the binary with args in dir (the test's working folder).
func runCLI(t *testing.T, dir string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "IDSYNC_CONFIG=")
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run idsync %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

func mustRun(t *testing.T, dir string, args ...string) result {
	t.Helper()
	r := runCLI(t, dir, args...)
	if r.code != 0 {
		t.Fatalf("idsync %s: %v", strings.Join(args, " "), r)
	}
	return r
}

// copyQuickstart copies the embedded quickstart example into a new folder.
func copyQuickstart(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := copyFS(dir, quickstart.FS); err != nil {
		t.Fatal(err)
	}
	return dir
}

func exampleDir(t *testing.T) string {
	t.Helper()
	d, err := filepath.Abs("../../examples/quickstart")
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func TestValidateQuickstart(t *testing.T) {
	r := mustRun(t, t.TempDir(), "validate", exampleDir(t))
	if !strings.HasPrefix(r.stdout, "ok: ") {
		t.Errorf("validate output = %q, want ok: ...", r.stdout)
	}
	// --config works as well as the argument.
	mustRun(t, t.TempDir(), "--config", exampleDir(t), "validate")
}

func TestValidateBroken(t *testing.T) {
	dir := copyQuickstart(t)
	path := filepath.Join(dir, "idsync.yaml")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	broken := strings.Replace(string(b), "operator: EQUAL", "operator: EQUALS", 1)
	broken = strings.Replace(broken, "linkType: Provision         # no join", "linkType: Provisioning      # no join", 1)
	if broken == string(b) {
		t.Fatal("test did not break the configuration")
	}
	if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, dir, "validate", dir)
	if r.code != exitUsage {
		t.Fatalf("validate of a broken configuration: %v, want exit 2", r)
	}
	re := regexp.MustCompile(`(?m)^[^\s:]*idsync\.yaml:\d+:\d+: `)
	if n := len(re.FindAllString(r.stderr, -1)); n < 2 {
		t.Errorf("validate printed %d file:line:col: errors, want 2:\n%s", n, r.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	dir := copyQuickstart(t)
	for _, args := range [][]string{
		{"run", "nope", "full-import"},
		{"run", "hr", "nope"},
		{"run", "hr"},
		{"cs", "search", "nope"},
		{"pending-exports", "nope"},
		{"nonsense"},
		{"runs", "list", "--no-such-flag"},
		{"--config", filepath.Join(dir, "missing"), "validate"},
	} {
		r := runCLI(t, dir, args...)
		if r.code != exitUsage {
			t.Errorf("idsync %s: %v, want exit 2", strings.Join(args, " "), r)
		}
	}
}

func TestInitValidate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "conf")
	mustRun(t, t.TempDir(), "init", dir)
	mustRun(t, t.TempDir(), "validate", dir)
	if r := runCLI(t, t.TempDir(), "init", dir); r.code != exitUsage {
		t.Errorf("init over an existing configuration: %v, want exit 2", r)
	}
	r := mustRun(t, t.TempDir(), "--config", dir, "run", "hr", "full-import")
	if !strings.Contains(r.stdout, "importAdds 3") {
		t.Errorf("run hr full-import on the starter configuration:\n%s", r.stdout)
	}
}

func TestVersion(t *testing.T) {
	r := mustRun(t, t.TempDir(), "version")
	if !strings.Contains(r.stdout, "idsync dev") || !strings.Contains(r.stdout, runtime.Version()) {
		t.Errorf("version = %q", r.stdout)
	}
}

// runsOf returns the run history, oldest first.
func runsOf(t *testing.T, dir string) []*idsync.RunResult {
	t.Helper()
	r := mustRun(t, dir, "--config", dir, "--json", "runs", "list", "--limit", "0")
	var runs []*idsync.RunResult
	if err := json.Unmarshal([]byte(r.stdout), &runs); err != nil {
		t.Fatalf("runs list --json: %v\n%s", err, r.stdout)
	}
	for i, j := 0, len(runs)-1; i < j; i, j = i+1, j-1 {
		runs[i], runs[j] = runs[j], runs[i]
	}
	return runs
}

func readDirectory(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	f, err := os.Open(filepath.Join(dir, "directory.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, row := range rows[1:] {
		m := map[string]string{}
		for i, h := range rows[0] {
			m[h] = row[i]
		}
		out[m["employeeId"]] = m
	}
	return out
}

func TestQuickstart(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "qs")
	r := mustRun(t, t.TempDir(), "quickstart", "--dir", dir)
	t.Logf("quickstart output:\n%s", r.stdout)

	// Progress: stdout is not a terminal, so one line per committed page (on stderr).
	if !regexp.MustCompile(`(?m)^import hr: page 1, \d+ objects, \d+ obj/s$`).MatchString(r.stderr) {
		t.Errorf("no progress lines on stderr:\n%s", r.stderr)
	}
	// The duplicate row is reported naming hr.csv and its line.
	dupRE := regexp.MustCompile(fmt.Sprintf(`hr\.csv(:| line )%d\b`, quickstart.DuplicateLine))
	if !dupRE.MatchString(r.stdout) {
		t.Errorf("quickstart output does not name hr.csv line %d", quickstart.DuplicateLine)
	}
	for _, want := range []string{
		fmt.Sprintf("projections %d", quickstart.Active),
		"where to look next:",
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("quickstart output lacks %q", want)
		}
	}

	runs := runsOf(t, dir)
	if len(runs) != len(quickstartInitial)+len(quickstartDelta) {
		t.Fatalf("%d runs recorded, want %d", len(runs), len(quickstartInitial)+len(quickstartDelta))
	}
	type want struct {
		connector, profile string
		counters           map[string]int // by JSON name; unlisted counters are not checked
		errors             int
	}
	wants := []want{
		{"hr", "full-import", map[string]int{"importAdds": quickstart.People}, 1},
		{"hr", "full-sync", map[string]int{"projections": quickstart.Active, "provisionedAdds": quickstart.Active, "joins": 0}, 0},
		{"directory", "export", map[string]int{"exportAdds": quickstart.Active, "exportDeletes": 0}, 0},
		{"directory", "full-import", map[string]int{"importAdds": 0, "importDeletes": 0}, 0},
		{"directory", "delta-sync", map[string]int{"provisionedAdds": 0, "deprovisioned": 0}, 0},
		{"hr", "full-import", map[string]int{"importAdds": 1, "importUpdates": 3, "importDeletes": 0}, 1},
		{"hr", "delta-sync", map[string]int{"projections": 1, "mvDeletes": 1, "provisionedAdds": 1, "deprovisioned": 1, "exportAttributeFlows": 2, "connectorsWithFlowUpdates": 2}, 0},
		{"directory", "export", map[string]int{"exportAdds": 1, "exportUpdates": 2, "exportDeletes": 1}, 0},
		{"directory", "full-import", map[string]int{"importAdds": 0, "importDeletes": 1}, 0},
		{"directory", "delta-sync", map[string]int{"provisionedAdds": 0, "deprovisioned": 0}, 0},
	}
	for i, w := range wants {
		run := runs[i]
		if run.Connector != w.connector || run.Profile != w.profile {
			t.Errorf("run %d is %s %s, want %s %s", i, run.Connector, run.Profile, w.connector, w.profile)
			continue
		}
		got := map[string]int{}
		for _, c := range nonZeroCounters(run.Counters) {
			got[c.Name] = c.Value
		}
		for name, n := range w.counters {
			if got[name] != n {
				t.Errorf("run %d (%s %s): %s = %d, want %d (counters %v)", i, w.connector, w.profile, name, got[name], n, got)
			}
		}
		if run.ErrorCount != w.errors {
			t.Errorf("run %d (%s %s): %d errors, want %d", i, w.connector, w.profile, run.ErrorCount, w.errors)
		}
	}

	// The duplicate row's import error names the file and line, in runs show.
	first := runs[0]
	show := mustRun(t, dir, "--config", dir, "--json", "runs", "show", first.ID)
	var full idsync.RunResult
	if err := json.Unmarshal([]byte(show.stdout), &full); err != nil {
		t.Fatalf("runs show --json: %v", err)
	}
	if len(full.Errors) != 1 || !dupRE.MatchString(full.Errors[0].Message) || full.Errors[0].Anchor != quickstart.DuplicateID {
		t.Errorf("first import's errors = %+v, want one naming hr.csv:%d", full.Errors, quickstart.DuplicateLine)
	}

	// The directory after the delta cycle.
	d := readDirectory(t, dir)
	if len(d) != quickstart.Active {
		t.Errorf("directory.csv has %d people, want %d", len(d), quickstart.Active)
	}
	if _, ok := d[quickstart.LeaverID]; ok {
		t.Errorf("leaver %s still in directory.csv", quickstart.LeaverID)
	}
	if p := d[quickstart.RenamedID]; p == nil || p["sn"] != quickstart.RenamedSN || p["displayName"] != "Felix "+quickstart.RenamedSN || p["login"] != "f"+strings.ToLower(quickstart.RenamedSN) {
		t.Errorf("renamed person in directory.csv = %v", p)
	}
	if p := d[quickstart.ChangedID]; p == nil || p["title"] != quickstart.ChangedTitle {
		t.Errorf("changed person in directory.csv = %v", p)
	}
	if p := d[quickstart.HireID]; p == nil || p["manager"] != "E0007" || p["accountEnabled"] != "True" {
		t.Errorf("new hire in directory.csv = %v", p)
	}
	if p := d["E0002"]; p == nil || p["manager"] != "E0001" {
		t.Errorf("E0002 in directory.csv = %v, want manager E0001", p)
	}

	// JSON read commands parse.
	var mvs []*idsync.MVObject
	r = mustRun(t, dir, "--config", dir, "--json", "mv", "search", "--type", "person", "--attr", "employeeId", "--value", quickstart.RenamedID)
	if err := json.Unmarshal([]byte(r.stdout), &mvs); err != nil || len(mvs) != 1 {
		t.Fatalf("mv search --json: %v, %d objects\n%s", err, len(mvs), r.stdout)
	}
	r = mustRun(t, dir, "--config", dir, "--json", "mv", "show", mvs[0].ID)
	var mv struct {
		idsync.MVObject
		Links []mvLink `json:"links"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &mv); err != nil {
		t.Fatalf("mv show --json: %v\n%s", err, r.stdout)
	}
	if l, ok := mv.Lineage["sn"]; !ok || l.Rule != "In from HR" || l.Connector != "hr" || l.RunID == "" {
		t.Errorf("lineage of sn = %+v", mv.Lineage["sn"])
	}
	if len(mv.Links) != 2 {
		t.Errorf("mv show links = %+v, want hr and directory", mv.Links)
	}
	r = mustRun(t, dir, "--config", dir, "mv", "show", mvs[0].ID)
	if !strings.Contains(r.stdout, "In from HR") {
		t.Errorf("mv show has no lineage:\n%s", r.stdout)
	}
	var css []*idsync.CSObject
	r = mustRun(t, dir, "--config", dir, "--json", "cs", "search", "hr", "--attr", "status", "--value", "leaver", "--limit", "0")
	if err := json.Unmarshal([]byte(r.stdout), &css); err != nil {
		t.Fatalf("cs search --json: %v\n%s", err, r.stdout)
	}
	if len(css) != quickstart.Leavers+1 {
		t.Errorf("cs search hr status=leaver: %d objects, want %d", len(css), quickstart.Leavers+1)
	}
	mustRun(t, dir, "--config", dir, "cs", "show", "hr", "--anchor", quickstart.RenamedID)
	mustRun(t, dir, "--config", dir, "cs", "show", "directory", "--dn", quickstart.RenamedID)
	r = mustRun(t, dir, "--config", dir, "pending-exports", "directory")
	r = mustRun(t, dir, "--config", dir, "preview", "hr", quickstart.RenamedID)
	if !strings.Contains(r.stdout, "In from HR") || !strings.Contains(r.stdout, "decision:") {
		t.Errorf("preview output:\n%s", r.stdout)
	}
	mustRun(t, dir, "--config", dir, "--json", "preview", "hr", quickstart.RenamedID)
}

func TestBenchJSON(t *testing.T) {
	r := mustRun(t, t.TempDir(), "bench", "--objects", "2000", "--json")
	dec := json.NewDecoder(strings.NewReader(r.stdout))
	dec.DisallowUnknownFields()
	var got benchResult
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("bench --json: %v\n%s", err, r.stdout)
	}
	if dec.More() {
		t.Errorf("bench --json printed more than one JSON value:\n%s", r.stdout)
	}
	var raw map[string]json.RawMessage
	json.Unmarshal([]byte(r.stdout), &raw)
	if len(raw) != 3 {
		t.Errorf("bench --json keys = %v, want objects, stages, peak_rss_bytes", raw)
	}
	if got.Objects != 2000 || got.PeakRSSBytes <= 0 {
		t.Errorf("bench = %+v", got)
	}
	names := []string{"full-import", "full-sync", "export", "delta-round"}
	if len(got.Stages) != len(names) {
		t.Fatalf("stages = %+v, want %v", got.Stages, names)
	}
	for i, s := range got.Stages {
		if s.Name != names[i] || s.Seconds <= 0 || s.Rate <= 0 {
			t.Errorf("stage %d = %+v, want %s with positive seconds and rate", i, s, names[i])
		}
	}
}

// A relative --config resolves the configuration's relative store path
// once, against the configuration directory (it used to be joined twice:
// conf/conf/idsync.db).
func TestRelativeConfigDirOpensItsStore(t *testing.T) {
	parent := t.TempDir()
	conf := filepath.Join(parent, "conf")
	if err := os.MkdirAll(conf, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := copyFS(conf, quickstart.FS); err != nil {
		t.Fatal(err)
	}
	runCLI(t, parent, "--config", "conf", "run", "hr", "full-import")
	if _, err := os.Stat(filepath.Join(conf, "idsync.db")); err != nil {
		t.Fatalf("store not created in the configuration directory: %v", err)
	}
	if r := mustRun(t, parent, "--config", "conf", "runs", "list"); !strings.Contains(r.stdout, "full-import") {
		t.Errorf("runs list through a relative --config:\n%s", r)
	}
}
