package script_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync"
)

// pagerConfig is a connector whose importData script (inline Python)
// follows a plan file: pages of 3 generated objects, one page of which
// may fail in a chosen way. The engine's page size is 3 too, so that a
// page the script completed is staged before the next call.
const pagerConfig = `
store: sqlite:idsync.db
metaverse:
  objectTypes:
    - name: person
      attributes: [{name: uid, type: string}]
connectors:
  - name: pager
    type: script
    pageSize: 3
    capabilities: {deltaImport: true, export: false}
    settings:
      interpreter: [PYTHON3]
      pageSize: 3
      timeout: TIMEOUT
      environment: {PLAN: DIR/plan.json}
      schema:
        inline: |
          objectTypes:
            - name: person
              anchorAttributes: [uid]
              attributes: [{name: uid}]
      scripts:
        importEnd:
          inline: |
            import json, os, sys
            doc = json.load(sys.stdin)
            with open(os.environ["PLAN"] + ".end", "a") as f:
                f.write(doc["runStep"]["reason"] + "\n")
            print("{}")
        importData:
          inline: |
            import json, os, subprocess, sys, time
            doc = json.load(sys.stdin)
            plan = json.load(open(os.environ["PLAN"]))
            step = doc["runStep"]
            page = step["pageNumber"]
            if page == plan.get("failPage"):
                mode = plan["mode"]
                if mode == "crash":
                    sys.stderr.write("boom on page %d\n" % page)
                    sys.exit(3)
                if mode == "timeout":
                    child = subprocess.Popen(["sleep", "60"])
                    open(plan["pidFile"], "w").write(str(child.pid))
                    time.sleep(60)
                if mode == "malformed":
                    print('{"entries": [{"objectType": "person", "anchor": "x"')
                    sys.exit(0)
                if mode == "error":
                    print(json.dumps({"error": {"name": "SystemError", "detail": "the database is down"}}))
                    sys.exit(0)
            n = 4 if page == plan.get("failPage") and plan["mode"] == "toomany" else 3
            entries = [{"objectType": "person", "anchor": "%s-%d-%d" % (plan["tag"], page, i),
                        "attributes": {"uid": "%s-%d-%d" % (plan["tag"], page, i)}} for i in range(n)]
            more = page < plan["pages"]
            print(json.dumps({"entries": entries, "moreToImport": more,
                              "customData": "%s page %d" % (plan["tag"], page) if more else plan["tag"]}))
`

func writePlan(t *testing.T, dir string, plan map[string]any) {
	t.Helper()
	b, _ := json.Marshal(plan)
	if err := os.WriteFile(filepath.Join(dir, "plan.json"), b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// Issue 7 item 5: a script that crashes, times out, prints malformed JSON,
// reports an error or returns more than the page size fails the run step
// with an error naming the operation and the script; the pages before it
// are kept, nothing of the failed page is staged, and the watermark stays
// where the last successful run left it.
func TestSpec10_FailedPageFailsTheStep(t *testing.T) {
	needTool(t, "python3")
	for _, tc := range []struct {
		mode string
		want []string
	}{
		{"crash", []string{"exited with status 3", "stderr: boom on page 2"}},
		{"timeout", []string{"timed out after 2s"}},
		{"malformed", []string{"malformed result"}},
		{"error", []string{"SystemError: the database is down"}},
		{"toomany", []string{"returned 4 entries, more than the page size of 3", "nothing of this page was staged"}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			timeout := "30s"
			if tc.mode == "timeout" {
				timeout = "2s"
			}
			w := newWorld(t, strings.Replace(pagerConfig, "TIMEOUT", timeout, 1))
			writePlan(t, w.dir, map[string]any{"tag": "a", "pages": 2})
			w.runOK("pager", idsync.StepFullImport)
			if got := w.watermark("pager"); got != "idsync-script/1\na" {
				t.Fatalf("watermark after the full import = %q", got)
			}
			pidFile := filepath.Join(w.dir, "child.pid")
			writePlan(t, w.dir, map[string]any{"tag": "b", "pages": 3, "failPage": 2, "mode": tc.mode, "pidFile": pidFile})
			res := w.run("pager", idsync.StepDeltaImport)
			if res.Status != idsync.StatusStoppedError {
				t.Fatalf("status %s (%s), want %s", res.Status, res.Message, idsync.StatusStoppedError)
			}
			for _, want := range append([]string{"script connector pager: importData (inline importData)", "page 2"}, tc.want...) {
				if tc.mode != "toomany" && want == "page 2" {
					continue
				}
				if !strings.Contains(res.Message, want) {
					t.Errorf("message %q lacks %q", res.Message, want)
				}
			}
			cs := w.cs("pager")
			for _, a := range []string{"a-1-0", "a-2-2", "b-1-0", "b-1-1", "b-1-2"} {
				if cs[idsync.Anchor(a)] == nil {
					t.Errorf("object %s of a completed page is not staged", a)
				}
			}
			for a := range cs {
				if strings.HasPrefix(string(a), "b-2-") || strings.HasPrefix(string(a), "b-3-") {
					t.Errorf("object %s of the failed page (or after it) is staged", a)
				}
			}
			if got := w.watermark("pager"); got != "idsync-script/1\na" {
				t.Errorf("watermark after the failed run = %q, want the last successful run's", got)
			}
			if ends, _ := os.ReadFile(filepath.Join(w.dir, "plan.json.end")); string(ends) != "success\nerror\n" {
				t.Errorf("importEnd reasons %q, want success then error", ends)
			}
			if tc.mode == "timeout" {
				b, err := os.ReadFile(pidFile)
				if err != nil {
					t.Fatal(err)
				}
				pid, _ := strconv.Atoi(string(b))
				if alive(pid) {
					t.Errorf("the script's child process %d survived the time limit", pid)
				}
			}
			// The next run starts from the saved watermark and succeeds.
			writePlan(t, w.dir, map[string]any{"tag": "c", "pages": 1})
			w.runOK("pager", idsync.StepDeltaImport)
			if got := w.watermark("pager"); got != "idsync-script/1\nc" {
				t.Errorf("watermark after the next run = %q", got)
			}
		})
	}
}

// alive reports whether pid runs (a zombie or a vanished process is not).
func alive(pid int) bool {
	deadline := time.Now().Add(2 * time.Second)
	for time.Now().Before(deadline) {
		if err := syscall.Kill(pid, 0); err != nil {
			return false
		}
		b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
		if err != nil {
			return false
		}
		if f := strings.Fields(string(b)); len(f) > 2 && f[2] == "Z" {
			return false
		}
		time.Sleep(50 * time.Millisecond)
	}
	return true
}
