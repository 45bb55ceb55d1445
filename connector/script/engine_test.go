package script_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// world is an engine over a real SQLite store with a configuration of
// script connectors, and a log captured for inspection.
type world struct {
	t   *testing.T
	ctx context.Context
	dir string
	st  store.Store
	e   *engine.Engine
	log *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// newWorld writes yamlText (with DIR replaced by the world's directory
// and PY by the Python example's directory) and builds an engine on it.
func newWorld(t *testing.T, yamlText string) *world {
	t.Helper()
	w := &world{t: t, ctx: context.Background(), dir: t.TempDir(), log: &syncBuffer{}}
	py, err := filepath.Abs(pyDir)
	if err != nil {
		t.Fatal(err)
	}
	sh, err := filepath.Abs(shDir)
	if err != nil {
		t.Fatal(err)
	}
	ps, err := filepath.Abs(psDir)
	if err != nil {
		t.Fatal(err)
	}
	yamlText = strings.NewReplacer("PYTHON3", python3(), "DIR", w.dir, "PY", py, "SHX", sh, "PSX", ps).Replace(yamlText)
	if err := os.WriteFile(filepath.Join(w.dir, "idsync.yaml"), []byte(yamlText), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(script.Type)
	cfg, err := config.Load(w.dir, reg)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	st, err := sqlstore.Open(w.ctx, filepath.Join(w.dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	w.st = st
	clk := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	var mu sync.Mutex
	now := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		clk = clk.Add(time.Second)
		return clk
	}
	logger := slog.New(slog.NewJSONHandler(w.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e, err := engine.New(w.ctx, engine.Options{Store: st, Registry: reg, Config: cfg, Now: now, Logger: logger})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	w.e = e
	return w
}

func (w *world) run(conn string, steps ...idsync.StepType) *idsync.RunResult {
	w.t.Helper()
	var ss []idsync.RunStep
	for _, s := range steps {
		ss = append(ss, idsync.RunStep{Type: s})
	}
	res, err := w.e.RunSteps(w.ctx, conn, "test", ss)
	if err != nil {
		w.t.Fatalf("run %s %v: %v", conn, steps, err)
	}
	return res
}

func (w *world) runOK(conn string, steps ...idsync.StepType) *idsync.RunResult {
	w.t.Helper()
	res := w.run(conn, steps...)
	if res.Status != idsync.StatusSuccess {
		w.t.Fatalf("run %s %v: status %s: %s (errors %+v)", conn, steps, res.Status, res.Message, res.Errors)
	}
	return res
}

func (w *world) cs(conn string) map[idsync.Anchor]*idsync.CSObject {
	w.t.Helper()
	tx, err := w.st.Begin(w.ctx, false)
	if err != nil {
		w.t.Fatal(err)
	}
	defer tx.Rollback()
	objs, err := tx.ListCS(w.ctx, store.CSFilter{Connector: conn})
	if err != nil {
		w.t.Fatal(err)
	}
	out := map[idsync.Anchor]*idsync.CSObject{}
	for _, o := range objs {
		if o.Kind == idsync.KindStaging && o.Anchor != "" {
			out[o.Anchor] = o
		}
	}
	return out
}

func (w *world) watermark(conn string) string {
	w.t.Helper()
	tx, err := w.st.Begin(w.ctx, false)
	if err != nil {
		w.t.Fatal(err)
	}
	defer tx.Rollback()
	wm, err := tx.GetWatermark(w.ctx, conn, "")
	if err != nil {
		w.t.Fatal(err)
	}
	return string(wm)
}

// systemFile is the Python/sh example's system as the tests read it.
type systemFile struct {
	Seq     int `json:"seq"`
	Objects map[string]struct {
		ObjectType string                     `json:"objectType"`
		DN         string                     `json:"dn"`
		Attributes map[string]json.RawMessage `json:"attributes"`
	} `json:"objects"`
	Passwords map[string]string `json:"passwords"`
}

func readSystem(t *testing.T, path string) systemFile {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s systemFile
	if err := json.Unmarshal(b, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func people(n int, from int) []idsync.Entry {
	var out []idsync.Entry
	for i := from; i < from+n; i++ {
		k := "p" + string(rune('a'+i/26)) + string(rune('a'+i%26))
		out = append(out, idsync.Entry{ObjectType: "person", Anchor: idsync.Anchor(k), DN: dn(k), Attrs: idsync.Attrs{
			"uid": {idsync.String(k)}, "displayName": {idsync.String("Person " + k)}, "employeeNumber": {idsync.Int(int64(1000 + i))},
		}})
	}
	return out
}

// exampleConfig has two connectors running one example: "src", read
// only, feeds the metaverse; "dst" is provisioned from it.
const exampleConfig = `
store: sqlite:idsync.db
metaverse:
  objectTypes:
    - name: person
      deletion: {when: connector-link-removed, connectors: [src]}
      attributes:
        - {name: uid, type: string}
        - {name: displayName, type: string}
        - {name: employeeNumber, type: integer}
connectors:
  - name: src
    type: script
    capabilities: {deltaImport: true, export: false}
    settings:
      INTERP
      commonModule: {file: EXDIR/common.EXT}
      pageSize: PAGESIZE
      scripts:
        validate: {file: EXDIR/validate.EXT}
        schema: {file: EXDIR/schema.EXT}
        importBegin: {file: EXDIR/import_begin.EXT}
        importData: {file: EXDIR/import_data.EXT}
        importEnd: {file: EXDIR/import_end.EXT}
      parameters:
        - {name: DataFile, scope: Global, value: DIR/src.json}
  - name: dst
    type: script
    capabilities: {deltaImport: true, dnStyle: ldap, exportType: AttributeUpdate}
    settings:
      INTERP
      commonModule: {file: EXDIR/common.EXT}
      scripts:
        schema: {file: EXDIR/schema.EXT}
        importData: {file: EXDIR/import_data.EXT}
        exportBegin: {file: EXDIR/export_begin.EXT}
        exportData: {file: EXDIR/export_data.EXT}
        exportEnd: {file: EXDIR/export_end.EXT}
        password: {file: EXDIR/password.EXT}
      parameters:
        - {name: DataFile, scope: Global, value: DIR/dst.json}
rules:
  - name: in
    direction: inbound
    connector: src
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    join: [[{source: uid, target: uid}]]
    flows:
      - {target: uid, source: uid}
      - {target: displayName, source: displayName}
      - {target: employeeNumber, source: employeeNumber}
  - name: out
    direction: outbound
    connector: dst
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 200
    flows:
      - {target: dn, expression: '"uid=" & [uid] & ",ou=people,dc=example"'}
      - {target: uid, source: uid}
      - {target: displayName, source: displayName}
      - {target: employeeNumber, source: employeeNumber}
`

type example struct {
	name, dir, ext, interp, tool string
}

var (
	pythonExample = example{"python", "PY", "py", "interpreter: [PYTHON3]", "python3"}
	shExample     = example{"sh", "SHX", "sh", "interpreter: [sh]", "jq"}
)

func exampleYAML(ex example, pageSize int) string {
	y := strings.NewReplacer("EXDIR", ex.dir, "EXT", ex.ext, "INTERP", ex.interp, "PAGESIZE", itoa(pageSize)).Replace(exampleConfig)
	// PowerShell imports its common module by the .psm1 extension.
	return strings.ReplaceAll(y, "/common.ps1}", "/common.psm1}")
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

// TestSpec10_EndToEnd runs every operation of an example through the
// engine: full import in pages, sync, export adds (the system assigns the
// anchors), confirming import, an out-of-band change seen by a delta
// import, its export as an update, a delete, and the password operations.
func TestSpec10_EndToEndPython(t *testing.T) { testEndToEnd(t, pythonExample) }

func TestSpec10_EndToEndSh(t *testing.T) { testEndToEnd(t, shExample) }

// wmSeq decodes the seq of the examples' customData in a stored watermark.
func (w *world) wmSeq(conn string) int {
	w.t.Helper()
	wm := w.watermark(conn)
	_, cd, ok := strings.Cut(wm, "\n")
	var v struct {
		Seq *int `json:"seq"`
	}
	if !ok || json.Unmarshal([]byte(cd), &v) != nil || v.Seq == nil {
		w.t.Fatalf("watermark of %s = %q, want the script's customData {\"seq\": N}", conn, wm)
	}
	return *v.Seq
}

func testEndToEnd(t *testing.T, ex example) {
	needTool(t, ex.tool)
	w := newWorld(t, exampleYAML(ex, 3))
	src, dstFile := filepath.Join(w.dir, "src.json"), filepath.Join(w.dir, "dst.json")
	seedSystem(t, src, people(7, 0))

	res := w.runOK("src", idsync.StepFullImport, idsync.StepFullSync)
	if res.Counters.ImportAdds != 7 || res.Counters.Projections != 7 {
		t.Fatalf("full import + sync: counters %+v, want 7 adds and 7 projections", res.Counters)
	}
	if got := len(w.cs("src")); got != 7 {
		t.Fatalf("src connector space holds %d objects, want 7", got)
	}
	if seq := w.wmSeq("src"); seq != 0 {
		t.Errorf("watermark after the full import: seq %d, want 0", seq)
	}
	res = w.runOK("dst", idsync.StepExport)
	if res.Counters.ExportAdds != 7 {
		t.Fatalf("export: counters %+v, want 7 adds", res.Counters)
	}
	sys := readSystem(t, dstFile)
	if len(sys.Objects) != 7 {
		t.Fatalf("dst system holds %d objects, want 7", len(sys.Objects))
	}
	dstCS := w.cs("dst")
	for id, o := range sys.Objects {
		cs := dstCS[idsync.Anchor(id)]
		if cs == nil {
			t.Fatalf("the anchor %q the export script returned is on no dst CS object", id)
		}
		if cs.DN != o.DN {
			t.Errorf("object %s: CS DN %q, system DN %q", id, cs.DN, o.DN)
		}
		if got := string(o.Attributes["employeeNumber"]); got[0] < '0' || got[0] > '9' {
			t.Errorf("object %s: employeeNumber stored as %s, want a JSON number", id, got)
		}
	}
	w.runOK("dst", idsync.StepFullImport, idsync.StepDeltaSync)
	for _, o := range w.cs("dst") {
		if o.Awaiting != idsync.ConfirmNone || o.PendingExport != nil {
			t.Errorf("dst %s after the confirming import: awaiting %v, pending export %+v", o.DN, o.Awaiting, o.PendingExport)
		}
	}

	// Out-of-band changes in the source: one update, one delete, one add,
	// made through the example's own export (run directly).
	cfg := w.e.Config().Connector("src")
	c, err := cfg.Settings.Open(w.ctx, connector.Env{Name: "src", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	srcCS := w.cs("src")
	pa, pb := srcCS["paa"], srcCS["pab"]
	exportDirect(t, ex, src,
		idsync.Change{ID: "1", Op: idsync.OpUpdate, ObjectType: "person", Anchor: pa.Anchor, DN: pa.DN, Mods: []idsync.AttrMod{{Name: "displayName", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Renamed")}}}},
		idsync.Change{ID: "2", Op: idsync.OpDelete, ObjectType: "person", Anchor: pb.Anchor, DN: pb.DN},
		idsync.Change{ID: "3", Op: idsync.OpAdd, ObjectType: "person", DN: dn("new"), Mods: idsync.ModsFromAttrs(idsync.Attrs{"uid": {idsync.String("new")}, "displayName": {idsync.String("New")}, "employeeNumber": {idsync.Int(5)}})},
	)
	c.Close()

	res = w.runOK("src", idsync.StepDeltaImport, idsync.StepDeltaSync)
	if res.Counters.ImportAdds != 1 || res.Counters.ImportUpdates != 1 || res.Counters.ImportDeletes != 1 {
		t.Fatalf("delta import: counters %+v, want 1 add, 1 update, 1 delete", res.Counters)
	}
	if seq := w.wmSeq("src"); seq != 3 {
		t.Errorf("watermark after the delta import: seq %d, want 3", seq)
	}
	res = w.runOK("dst", idsync.StepExport)
	if res.Counters.ExportAdds != 1 || res.Counters.ExportUpdates != 1 || res.Counters.ExportDeletes != 1 {
		t.Fatalf("export after the delta: counters %+v, want 1 add, 1 update, 1 delete", res.Counters)
	}
	sys = readSystem(t, dstFile)
	byUID := map[string]string{}
	for id, o := range sys.Objects {
		var uid string
		json.Unmarshal(o.Attributes["uid"], &uid)
		byUID[uid] = id
		if uid == "paa" && string(o.Attributes["displayName"]) != `"Renamed"` {
			t.Errorf("dst paa displayName = %s, want \"Renamed\"", o.Attributes["displayName"])
		}
	}
	if _, ok := byUID["pab"]; ok {
		t.Errorf("dst still holds pab, deleted at the source")
	}
	if _, ok := byUID["new"]; !ok || len(sys.Objects) != 7 {
		t.Errorf("dst holds %v, want the 6 remaining people and new", byUID)
	}

	// A second delta import from the saved watermark sees nothing.
	res = w.runOK("src", idsync.StepDeltaImport)
	if n := res.Counters.ImportAdds + res.Counters.ImportUpdates + res.Counters.ImportDeletes; n != 0 {
		t.Errorf("delta import with nothing changed: counters %+v", res.Counters)
	}

	// Password set and change through the dst connector itself (the
	// engine's SetPassword/ChangePassword and `idsync password` are
	// tested in engine/ops_test.go and cmd/idsync).
	dc, err := w.e.Config().Connector("dst").Settings.Open(w.ctx, connector.Env{Name: "dst", Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer dc.Close()
	pc := dc.(connector.PasswordChanger)
	anchor := idsync.Anchor(byUID["new"])
	if err := pc.SetPassword(w.ctx, anchor, dn("new"), connector.NewSecret("Sup3r-secret"), connector.PasswordOptions{ForceChangeAtLogOn: true}); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	if err := pc.ChangePassword(w.ctx, anchor, dn("new"), connector.NewSecret("Sup3r-secret"), connector.NewSecret("Other-secret-2")); err != nil {
		t.Fatalf("ChangePassword: %v", err)
	}
	if err := pc.SetPassword(w.ctx, anchor, dn("new"), connector.NewSecret("short"), connector.PasswordOptions{}); !errorsIs(err, connector.ErrPasswordPolicyViolation) {
		t.Errorf("SetPassword(short) = %v, want PasswordPolicyViolation", err)
	}
	if err := pc.SetPassword(w.ctx, anchor, dn("new"), connector.NewSecret("bad\x01password"), connector.PasswordOptions{}); !errorsIs(err, connector.ErrPasswordIllFormed) {
		t.Errorf("SetPassword(control character) = %v, want PasswordIllFormed", err)
	}
	err = pc.ChangePassword(w.ctx, anchor, dn("new"), connector.NewSecret("Wrong-old-pw"), connector.NewSecret("Third-secret-3"))
	if err == nil || errorsIs(err, connector.ErrPasswordPolicyViolation) || errorsIs(err, connector.ErrPasswordIllFormed) {
		t.Errorf("ChangePassword(wrong old) = %v, want a general password error", err)
	} else if strings.Contains(err.Error(), "Wrong-old-pw") || strings.Contains(err.Error(), "Third-secret-3") {
		t.Errorf("password error reveals a password: %v", err)
	}
	if sys := readSystem(t, dstFile); sys.Passwords[string(anchor)] == "" {
		t.Errorf("no password stored for %s", anchor)
	}
}

// exportDirect applies changes to an example system through a connector
// of its own (another administrator's change, for delta imports).
func exportDirect(t *testing.T, ex example, data string, changes ...idsync.Change) []connector.ExportResult {
	t.Helper()
	var cfg *script.Config
	if ex.name == "python" {
		cfg = pythonConfig(t, data)
	} else {
		cfg = shConfig(t, data)
	}
	c, err := cfg.Open(context.Background(), testEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	sess, err := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	res, err := sess.ExportPage(context.Background(), changes)
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("direct export %s: %v", r.ID, r.Err)
		}
	}
	return res
}

// The demo of examples/script-connector (Python HR source, sh directory
// target) runs a cycle from a copy of its directory: three people are
// provisioned, and the next cycle has nothing to do.
func TestExampleDemoCycle(t *testing.T) {
	needTool(t, "python3")
	needTool(t, "jq")
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS("../../examples/script-connector")); err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(filepath.Join(dir, "idsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	text = []byte(strings.Replace(string(text), "interpreter: [python3]", "interpreter: ["+python3()+"]", 1))
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), text, 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(script.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("load the demo configuration: %v", err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		results, err := e.Cycle(ctx)
		if err != nil {
			t.Fatalf("cycle %d: %v", i+1, err)
		}
		var adds int
		for _, r := range results {
			if r.Status != idsync.StatusSuccess {
				t.Errorf("cycle %d: run %s %s: %s %s", i+1, r.Connector, r.Profile, r.Status, r.Message)
			}
			adds += r.Counters.ExportAdds
		}
		if want := []int{3, 0}[i]; adds != want {
			t.Errorf("cycle %d exported %d adds, want %d", i+1, adds, want)
		}
	}
	sys := readSystem(t, filepath.Join(dir, "directory.json"))
	if len(sys.Objects) != 3 {
		t.Errorf("directory.json holds %d people, want 3", len(sys.Objects))
	}
}
