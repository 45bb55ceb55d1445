package script_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
)

// dumper is an inline Python script for every operation: it appends the
// operation, its configParameters, credentials and environment to
// $OUT/calls.jsonl and answers with an empty, successful result.
const dumper = `import json, os, sys
doc = json.load(sys.stdin)
with open(os.path.join(os.environ["OUT"], "calls.jsonl"), "a") as f:
    f.write(json.dumps({"op": doc["operation"], "params": doc["configParameters"],
                        "credentials": doc.get("credentials"), "env": dict(os.environ)}) + "\n")
if doc["operation"] == "exportData":
    print(json.dumps({"results": [{"identifier": e["identifier"]} for e in doc["entries"]]}))
else:
    print("{}")
`

type dumped struct {
	Op          string            `json:"op"`
	Params      map[string]string `json:"params"`
	Credentials map[string]string `json:"credentials"`
	Env         map[string]string `json:"env"`
}

func readDumps(t *testing.T, dir string) map[string]dumped {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "calls.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]dumped{}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var d dumped
		if err := json.Unmarshal([]byte(line), &d); err != nil {
			t.Fatal(err)
		}
		out[d.Op] = d
	}
	os.Remove(filepath.Join(dir, "calls.jsonl"))
	return out
}

// §10 / issue 7 item 3: custom parameters are reached as Name_Scope;
// Global ones in every call, Partition ones in every call with the value
// for the call's partition winning, RunStep ones during import and export
// run steps with the value for the step type winning. Encrypted ones come
// from the environment and reach the scripts on stdin only.
func TestSpec10_ParameterScopes(t *testing.T) {
	needTool(t, "python3")
	dir := t.TempDir()
	src := &script.Source{Inline: dumper}
	cfg := &script.Config{
		Interpreter: []string{python3()},
		Schema:      &script.Source{Inline: "objectTypes: [{name: person, anchorAttributes: [id], attributes: [{name: id}]}]"},
		Scripts:     script.Scripts{Validate: src, ImportData: src, ExportData: src, Password: src},
		Environment: map[string]string{"OUT": dir},
		Username:    "svc-idsync",
		Password:    connector.SecretRef{Env: "PW"},
		Parameters: []script.Parameter{
			{Name: "Server", Value: script.ParamValue{Text: "https://api.example.com"}},
			{Name: "ApiKey", Scope: "Global", Encrypted: true, Value: script.ParamValue{Secret: connector.SecretRef{Env: "KEY"}}},
			{Name: "BaseDN", Scope: "Partition", Value: script.ParamValue{Text: "dc=all"}},
			{Name: "BaseDN", Scope: "Partition", Partition: "p1", Value: script.ParamValue{Text: "dc=p1"}},
			{Name: "Filter", Scope: "RunStep", Value: script.ParamValue{Text: "everything"}},
			{Name: "Filter", Scope: "RunStep", Step: "delta-import", Value: script.ParamValue{Text: "changes only"}},
		},
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := cfg.Open(ctx, testEnv(t, map[string]string{"PW": "pw-value-1", "KEY": "key-value-2"}))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	if err := c.(connector.Pinger).Ping(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.(connector.Importer).Import(ctx, connector.ImportOptions{Partition: "p1"}, func(idsync.Entry) error { return nil }); err != nil {
		t.Fatal(err)
	}
	got := readDumps(t, dir)
	want := map[string]map[string]string{
		"validate":   {"Server_Global": "https://api.example.com", "ApiKey_Global": "key-value-2", "BaseDN_Partition": "dc=all"},
		"importData": {"Server_Global": "https://api.example.com", "ApiKey_Global": "key-value-2", "BaseDN_Partition": "dc=p1", "Filter_RunStep": "everything"},
	}
	if _, err := c.(connector.DeltaImporter).ImportChanges(ctx, connector.ImportOptions{Partition: "p2"}, script.EncodeWatermark(""), func(idsync.Change) error { return nil }); err != nil {
		t.Fatal(err)
	}
	for k, v := range readDumps(t, dir) {
		got["delta "+k] = v
	}
	want["delta importData"] = map[string]string{"Server_Global": "https://api.example.com", "ApiKey_Global": "key-value-2", "BaseDN_Partition": "dc=all", "Filter_RunStep": "changes only"}
	sess, err := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sess.ExportPage(ctx, []idsync.Change{{ID: "1", Op: idsync.OpDelete, ObjectType: "person", Anchor: "a"}}); err != nil {
		t.Fatal(err)
	}
	sess.Close(ctx)
	if err := c.(connector.PasswordChanger).SetPassword(ctx, "a", "a", connector.NewSecret("x-password"), connector.PasswordOptions{}); err != nil {
		t.Fatal(err)
	}
	for k, v := range readDumps(t, dir) {
		got[k] = v
	}
	want["exportData"] = map[string]string{"Server_Global": "https://api.example.com", "ApiKey_Global": "key-value-2", "BaseDN_Partition": "dc=all", "Filter_RunStep": "everything"}
	want["password"] = want["validate"]
	for op, w := range want {
		g, ok := got[op]
		if !ok {
			t.Errorf("%s: not called", op)
			continue
		}
		if !mapsEqual(g.Params, w) {
			t.Errorf("%s: configParameters %v, want %v", op, g.Params, w)
		}
		if g.Credentials["username"] != "svc-idsync" || g.Credentials["password"] != "pw-value-1" {
			t.Errorf("%s: credentials %v", op, g.Credentials)
		}
		for k, v := range g.Env {
			if strings.Contains(v, "key-value-2") || strings.Contains(v, "pw-value-1") {
				t.Errorf("%s: the secret reached the environment (%s)", op, k)
			}
		}
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// §10: scripts run with an explicit environment: PATH, HOME and TMPDIR
// (the session's private directory), the IDSYNC_* variables of the
// contract and what the configuration sets, never idsync's own.
func TestSpec10_ExplicitEnvironment(t *testing.T) {
	needTool(t, "python3")
	t.Setenv("IDSYNC_TEST_SERVICE_SECRET", "service-secret-in-the-parent-env")
	dir := t.TempDir()
	cfg := &script.Config{
		Interpreter:  []string{python3()},
		Scripts:      script.Scripts{Validate: &script.Source{Inline: dumper}},
		CommonModule: &script.Source{Inline: "# common\n"},
		Environment:  map[string]string{"OUT": dir, "LANG": "C.UTF-8"},
	}
	c, err := cfg.Open(context.Background(), testEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.(connector.Pinger).Ping(context.Background()); err != nil {
		t.Fatal(err)
	}
	env := readDumps(t, dir)["validate"].Env
	var keys []string
	for k, v := range env {
		if strings.Contains(v, "service-secret-in-the-parent-env") {
			t.Errorf("the parent's secret is visible to the script as %s", k)
		}
		if k != "LC_CTYPE" { // Python's own C-locale coercion (PEP 538)
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	want := []string{"HOME", "IDSYNC_COMMON_MODULE", "IDSYNC_CONNECTOR", "IDSYNC_WORKDIR", "LANG", "OUT", "PATH", "TMPDIR"}
	if !slices.Equal(keys, want) {
		t.Errorf("the script's environment has %v, want exactly %v", keys, want)
	}
	if env["PATH"] != os.Getenv("PATH") {
		t.Errorf("PATH = %q, want idsync's PATH", env["PATH"])
	}
	if !strings.HasPrefix(env["TMPDIR"], env["HOME"]) || env["HOME"] != env["IDSYNC_WORKDIR"] {
		t.Errorf("HOME %q, TMPDIR %q, IDSYNC_WORKDIR %q: want the session directory", env["HOME"], env["TMPDIR"], env["IDSYNC_WORKDIR"])
	}
	if filepath.Dir(env["IDSYNC_COMMON_MODULE"]) != env["IDSYNC_WORKDIR"] {
		t.Errorf("common module %q is not in the working directory %q", env["IDSYNC_COMMON_MODULE"], env["IDSYNC_WORKDIR"])
	}
	wd := env["IDSYNC_WORKDIR"]
	if st, err := os.Stat(wd); err != nil || st.Mode().Perm() != 0o700 {
		t.Errorf("working directory %s: %v, mode %v, want 0700", wd, err, st.Mode().Perm())
	}
	c.Close()
	if _, err := os.Stat(wd); !os.IsNotExist(err) {
		t.Errorf("the working directory survived Close: %v", err)
	}
}

// readJSON returns a JSON file re-encoded compactly with sorted keys
// kept in document order (Python's json.dump keeps the order it read).
func readJSON(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	for _, line := range strings.Split(string(b), "\n") {
		buf.WriteString(line)
	}
	var v json.RawMessage
	if err := json.Unmarshal([]byte(buf.String()), &v); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := json.Compact(&out, v); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
