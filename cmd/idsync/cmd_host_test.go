package main

import (
	"bufio"
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

// TestHostCommandServes starts `idsync host` on the example, asks it
// one question over HTTP and stops it with SIGTERM.
func TestHostCommandServes(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml", "config/app-users.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "examples", "connector-host", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), b, 0o644)
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
	req, _ := http.NewRequest("GET", u+"/Users/ada@example.com", nil)
	req.Header.Set("Authorization", "Bearer cli-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("GET a user of the example: %d", resp.StatusCode)
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
