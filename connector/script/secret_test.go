package script_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

const leakyConfig = `
store: sqlite:idsync.db
metaverse:
  objectTypes:
    - name: person
      attributes: [{name: uid, type: string}]
connectors:
  - name: leaky
    type: script
    pageSize: 1
    capabilities: {export: false}
    settings:
      interpreter: [PYTHON3]
      environment: {MODE: DIR/mode}
      username: svc
      password: {env: IDSYNC_TEST_SCRIPT_PASSWORD}
      parameters:
        - {name: ApiKey, scope: Global, encrypted: true, value: {env: IDSYNC_TEST_SCRIPT_APIKEY}}
      scripts:
        importData:
          inline: |
            import json, os, sys
            doc = json.load(sys.stdin)
            key = doc["configParameters"]["ApiKey_Global"]
            pw = doc["credentials"]["password"]
            mode = open(os.environ["MODE"]).read().strip()
            page = doc["runStep"]["pageNumber"]
            sys.stderr.write("debug: calling the API with key %s and password %s\n" % (key, pw))
            if mode == "malformed":
                print('{"entries": [{"anchor": "%s", oops' % key)
                sys.exit(0)
            if mode == "crash":
                sys.exit(2)
            if page == 1:
                print(json.dumps({"moreToImport": True, "customData": "1", "entries": [
                    {"objectType": "person", "anchor": "a1", "attributes": {"uid": "a1"}},
                    {"objectType": "person", "anchor": "a2", "errorName": "Rejected", "errorDetail": "the API refused key " + key}]}))
            else:
                print(json.dumps({"error": {"name": "ApiError", "detail": "401 for key %s (password %s)" % (key, pw)}}))
`

// §9.3 / §10: encrypted parameters and the connector's password never
// reach the logs, the errors or the run history, even when a script
// prints them on stderr, in an entry's error, in an error result or in
// malformed output.
func TestSpec10_SecretsNeverLeak(t *testing.T) {
	needTool(t, "python3")
	const key, pw = "K3y-0f-the-API-9876", "Pa55-w0rd-of-the-svc"
	t.Setenv("IDSYNC_TEST_SCRIPT_APIKEY", key)
	t.Setenv("IDSYNC_TEST_SCRIPT_PASSWORD", pw)
	w := newWorld(t, leakyConfig)
	var messages []string
	for _, mode := range []string{"pages", "malformed", "crash"} {
		if err := os.WriteFile(filepath.Join(w.dir, "mode"), []byte(mode), 0o600); err != nil {
			t.Fatal(err)
		}
		res := w.run("leaky", idsync.StepFullImport)
		if res.Status != idsync.StatusStoppedError {
			t.Fatalf("%s: status %s (%s), want stopped-error", mode, res.Status, res.Message)
		}
		tx, err := w.st.Begin(context.Background(), false)
		if err != nil {
			t.Fatal(err)
		}
		stored, err := tx.GetRun(context.Background(), res.ID, 0)
		tx.Rollback()
		if err != nil {
			t.Fatal(err)
		}
		messages = append(messages, res.Message)
		for _, e := range stored.Errors {
			messages = append(messages, e.Message)
		}
		if mode == "pages" && len(stored.Errors) != 1 {
			t.Errorf("run errors %+v, want the one rejected entry", stored.Errors)
		}
	}
	all := strings.Join(messages, "\n")
	for _, want := range []string{"ApiError: 401 for key [redacted] (password [redacted])", "Rejected: the API refused key [redacted]",
		"malformed result", "exited with status 2", "stderr: debug: calling the API with key [redacted] and password [redacted]"} {
		if !strings.Contains(all, want) {
			t.Errorf("the run history lacks %q:\n%s", want, all)
		}
	}
	logs := w.log.String()
	if !strings.Contains(logs, "debug: calling the API with key [redacted]") {
		t.Errorf("the stderr of the successful page was not logged (redacted):\n%s", logs)
	}
	w.st.Close()
	for what, text := range map[string]string{"run history and errors": all, "logs": logs} {
		for _, secret := range []string{key, pw} {
			if strings.Contains(text, secret) {
				t.Errorf("a secret reached the %s", what)
			}
		}
	}
	// The store's files, byte for byte (the run records, the errors, the WAL).
	files, _ := filepath.Glob(filepath.Join(w.dir, "idsync.db*"))
	if len(files) == 0 {
		t.Fatal("no store files")
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, secret := range []string{key, pw} {
			if bytes.Contains(b, []byte(secret)) {
				t.Errorf("a secret is stored in %s", filepath.Base(f))
			}
		}
	}
}
