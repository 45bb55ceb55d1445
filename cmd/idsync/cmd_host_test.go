package main

import (
	"bufio"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestHostCommandUsage(t *testing.T) {
	dir := t.TempDir()
	r := runCLI(t, dir, "host")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--host-config is required") {
		t.Errorf("host without --host-config: %v", r)
	}
	bad := filepath.Join(dir, "host.yaml")
	os.WriteFile(bad, []byte("endpoints: []\n"), 0o644)
	r = runCLI(t, dir, "host", "--host-config", bad)
	if r.code != exitUsage || !strings.Contains(r.stderr, bad) || !strings.Contains(r.stderr, "token") {
		t.Errorf("host with an invalid file: %v", r)
	}
}

// TestHostCommandServes runs the example of examples/connector-host as
// its README says, on a copy of the files a fresh clone has: the setup
// command creates the SQLite database from app.sql, `idsync host` serves
// it; a user created over SCIM gets the id the database assigned its row
// and can be read by it. SIGTERM stops the host.
func TestHostCommandServes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml", "config/app.sql"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "connector-host", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
	}
	setup := exec.Command("go", "run", "../../examples/connector-host/setup", "-db", filepath.Join(dir, "config", "app.db"))
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup: %v\n%s", err, out)
	}
	cmd := exec.Command(binary, "--config", filepath.Join(dir, "config"), "host", "--host-config", filepath.Join(dir, "host.yaml"), "--listen", "127.0.0.1:0")
	cmd.Env = append(os.Environ(), "IDSYNC_CONFIG=", "IDSYNC_HOST_TOKEN=cli-token")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil {
		t.Fatalf("no startup line: %v", err)
	}
	u := strings.TrimSpace(line[strings.Index(line, "http://"):])
	do := func(method, path, body string) (int, map[string]any) {
		t.Helper()
		req, _ := http.NewRequest(method, u+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer cli-token")
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		json.NewDecoder(resp.Body).Decode(&m)
		return resp.StatusCode, m
	}
	if st, m := do("GET", "/Users/1", ""); st != 200 || m["userName"] != "ada@example.com" {
		t.Errorf("GET the example's first user: %d %v", st, m)
	}
	st, m := do("POST", "/Users", `{"userName":"grace@example.com","displayName":"Grace Hopper","active":true}`)
	if st != 201 || m["id"] != "2" {
		t.Errorf("create: %d %v, want 201 with id 2 (the row's INTEGER PRIMARY KEY)", st, m)
	}
	if st, m := do("GET", "/Users/2", ""); st != 200 || m["displayName"] != "Grace Hopper" {
		t.Errorf("GET the created user: %d %v", st, m)
	}
	cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("idsync host after SIGTERM: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("idsync host did not stop on SIGTERM")
	}
}
