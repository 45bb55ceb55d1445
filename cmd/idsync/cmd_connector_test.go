package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// scriptExample copies the script-connector example (hr by Python,
// directory by sh) into a new folder and runs a cycle, so that the
// directory holds the provisioned people.
func scriptExample(t *testing.T) string {
	t.Helper()
	for _, tool := range []string{"python3", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is needed by the script-connector example", tool)
			}
			t.Skipf("%s is needed by the script-connector example", tool)
		}
	}
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/script-connector")); err != nil {
		t.Fatal(err)
	}
	os.RemoveAll(filepath.Join(dir, "python", "__pycache__"))
	os.Remove(filepath.Join(dir, "idsync.db"))
	os.Remove(filepath.Join(dir, "directory.json"))
	mustRun(t, dir, "--config", dir, "cycle")
	return dir
}

// §9.1: the discovery operations of a connector are reachable from the
// CLI, and one the connector does not offer fails naming it.
func TestConnectorCommands(t *testing.T) {
	dir := scriptExample(t)
	if r := mustRun(t, dir, "--config", dir, "connector", "ping", "hr"); r.stdout != "hr: ok\n" {
		t.Errorf("ping: %v", r)
	}
	r := mustRun(t, dir, "--config", dir, "connector", "schema", "hr", "--json")
	var sc struct {
		ObjectTypes []struct {
			Name       string `json:"name"`
			Attributes []struct {
				Name, Type  string
				MultiValued bool
			} `json:"attributes"`
		} `json:"objectTypes"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &sc); err != nil || len(sc.ObjectTypes) == 0 || sc.ObjectTypes[0].Name != "person" {
		t.Fatalf("schema --json: %v (%v)", r, err)
	}
	found := false
	for _, a := range sc.ObjectTypes[0].Attributes {
		if a.Name == "mail" && a.Type == "string" && a.MultiValued {
			found = true
		}
	}
	if !found {
		t.Errorf("schema has no multi-valued string mail: %v", r)
	}
	if r := mustRun(t, dir, "--config", dir, "connector", "schema", "hr"); !strings.Contains(r.stdout, "person") || !strings.Contains(r.stdout, "displayName") {
		t.Errorf("schema table: %v", r)
	}
	if r := mustRun(t, dir, "--config", dir, "connector", "partitions", "hr"); !strings.Contains(r.stdout, "default") {
		t.Errorf("partitions: %v", r)
	}
	if r := mustRun(t, dir, "--config", dir, "connector", "hierarchy", "hr", "dc=hr"); !strings.Contains(r.stdout, "ou=staff,dc=hr") {
		t.Errorf("hierarchy under dc=hr: %v", r)
	}
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"connector", "partitions", "directory"}, 1, "connector directory cannot discover partitions"},
		{[]string{"connector", "hierarchy", "directory"}, 1, "connector directory cannot discover its hierarchy"},
		{[]string{"connector", "ping", "nope"}, 2, `unknown connector "nope"`},
		{[]string{"connector", "ping"}, 2, "accepts 1 arg"},
	} {
		r := runCLI(t, dir, append([]string{"--config", dir}, tc.args...)...)
		if r.code != tc.code || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("idsync %v: %v\nwant exit %d and %q", tc.args, r, tc.code, tc.want)
		}
	}
}

// runStdin runs the binary with stdin and extra environment variables.
func runStdin(t *testing.T, dir, stdin string, env []string, args ...string) result {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "IDSYNC_CONFIG="), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	code := 0
	if err := cmd.Run(); err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run idsync %v: %v", args, err)
		}
		code = ee.ExitCode()
	}
	return result{out.String(), errb.String(), code}
}

// §9.1 passwordOperations: password set and change reach the connector
// for an object named by DN or anchor, read the passwords from stdin or
// the environment, never print them, and are refused for a connector
// without the capability.
func TestPasswordCommands(t *testing.T) {
	dir := scriptExample(t)
	const dn = "uid=ada,ou=people,dc=example"
	const first, second, third, short = "Sup3r-secret-1", "Other-secret-22", "Third-secret-333", "sh0rt"
	stored := func() map[string]string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "directory.json"))
		if err != nil {
			t.Fatal(err)
		}
		var sys struct{ Passwords map[string]string }
		if err := json.Unmarshal(b, &sys); err != nil {
			t.Fatal(err)
		}
		return sys.Passwords
	}
	cfg := []string{"--config", dir, "--log-level", "debug"}
	var all strings.Builder
	check := func(r result, code int, what string) {
		t.Helper()
		all.WriteString(r.stdout + r.stderr)
		if r.code != code {
			t.Errorf("%s: %v, want exit %d", what, r, code)
		}
	}
	r := runStdin(t, dir, first+"\n", nil, append(cfg, "password", "set", "directory", dn)...)
	check(r, 0, "set from stdin")
	pw := stored()
	if len(pw) != 1 {
		t.Fatalf("passwords stored after set: %v", pw)
	}
	var anchor, hash string
	for a, h := range pw {
		anchor, hash = a, h
	}
	r = runStdin(t, dir, first+"\n"+second+"\n", nil, append(cfg, "password", "change", "directory", anchor)...)
	check(r, 0, "change by anchor from stdin")
	if h := stored()[anchor]; h == hash || h == "" {
		t.Errorf("password hash after change = %q, was %q", h, hash)
	}
	r = runStdin(t, dir, "", []string{"OLDPW=" + second, "NEWPW=" + third}, append(cfg, "password", "change", "directory", dn, "--old-password-env", "OLDPW", "--password-env", "NEWPW")...)
	check(r, 0, "change from the environment")
	r = runStdin(t, dir, "", []string{"OLDPW=" + first, "NEWPW=" + second}, append(cfg, "password", "change", "directory", dn, "--old-password-env", "OLDPW", "--password-env", "NEWPW")...)
	check(r, 1, "change with a wrong old password")
	r = runStdin(t, dir, short+"\n", nil, append(cfg, "password", "set", "directory", dn)...)
	check(r, 2, "set violating the policy")
	if !strings.Contains(r.stderr, "policy") || !strings.Contains(r.stderr, dn) {
		t.Errorf("policy violation error does not say so or name the object: %v", r)
	}
	r = runStdin(t, dir, "", nil, append(cfg, "password", "set", "directory", dn)...)
	check(r, 2, "set with no password on stdin")
	r = runStdin(t, dir, first+"\n", nil, append(cfg, "password", "set", "directory", "uid=nobody,dc=example")...)
	check(r, 2, "set of an unknown object")
	r = runStdin(t, dir, first+"\n", nil, append(cfg, "password", "set", "hr", "e1001")...)
	check(r, 1, "set through a connector without passwordOperations")
	if !strings.Contains(r.stderr, "connector hr cannot set or change passwords") {
		t.Errorf("refusal does not name the connector and the capability: %v", r)
	}
	if r := runCLI(t, dir, "--config", dir, "password", "set", "directory", dn, first); r.code != 2 {
		t.Errorf("a password on the command line is accepted: %v", r)
	}
	out := all.String()
	for _, s := range []string{first, second, third, short} {
		if strings.Contains(out, s) {
			t.Errorf("output holds the password %q:\n%s", s, out)
		}
	}
	if !strings.Contains(out, `msg="password operation"`) {
		t.Errorf("the operations are not logged:\n%s", out)
	}
	r = mustRun(t, dir, "--config", dir, "runs", "--json")
	for _, s := range []string{first, second, third, short} {
		if strings.Contains(r.stdout, s) {
			t.Errorf("run history holds the password %q", s)
		}
	}
}

// A relative --config works for connectors that run from another working
// directory: the engine hands connectors an absolute configuration
// directory, so the script connector finds its script files (it used to
// look for conf/python/validate.py under its temporary directory).
func TestRelativeConfigDirScriptConnector(t *testing.T) {
	dir := scriptExample(t)
	parent, base := filepath.Dir(dir), filepath.Base(dir)
	if r := runCLI(t, parent, "--config", base, "connector", "ping", "hr"); r.code != 0 {
		t.Fatalf("connector ping through a relative --config:\n%s", r)
	}
	if r := runCLI(t, parent, "--config", base, "run", "hr", "full-import"); r.code != 0 {
		t.Fatalf("run through a relative --config:\n%s", r)
	}
}
