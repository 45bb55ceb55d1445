package engine_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
)

type runKey struct {
	conn string
	step idsync.StepType
}

func runKeys(rs []*idsync.RunResult) []runKey {
	var out []runKey
	for _, r := range rs {
		for _, s := range r.Steps {
			out = append(out, runKey{r.Connector, s.Type})
		}
	}
	return out
}

// phase orders step types as a cycle must: imports, syncs, exports.
func phase(t idsync.StepType) int {
	switch {
	case t.IsImport():
		return 0
	case t.IsSync():
		return 1
	}
	return 2
}

// TestSpec13_CycleImportsThenSyncsThenExports proves §13's cycle: every
// connector's import, then every sync, then every export; a first cycle
// imports and synchronizes fully, later cycles use delta steps, and a
// changed rule set brings a full sync back.
func TestSpec13_CycleImportsThenSyncsThenExports(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "1")

	rs, err := h.e.Cycle(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys := runKeys(rs)
	for i := 1; i < len(keys); i++ {
		if phase(keys[i].step) < phase(keys[i-1].step) {
			t.Fatalf("cycle ran %v after %v: %v", keys[i], keys[i-1], keys)
		}
	}
	want := map[runKey]bool{
		{"hr", idsync.StepFullImport}: true, {"ad", idsync.StepFullImport}: true,
		{"hr", idsync.StepFullSync}: true, {"ad", idsync.StepFullSync}: true,
		{"ad", idsync.StepExport}: true,
	}
	for k := range want {
		if !containsKey(keys, k) {
			t.Errorf("first cycle lacks %v: %v", k, keys)
		}
	}
	if n := len(h.sys["ad"].All()); n != 2 {
		t.Fatalf("after the first cycle ad holds %d objects, want 2", n)
	}

	// A change in HR: the second cycle uses delta import and delta sync.
	h.update("hr", "2", "sn", "Turing-Smith")
	rs, err = h.e.Cycle(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys = runKeys(rs)
	for _, k := range []runKey{{"hr", idsync.StepDeltaImport}, {"hr", idsync.StepDeltaSync}, {"ad", idsync.StepExport}} {
		if !containsKey(keys, k) {
			t.Errorf("second cycle lacks %v: %v", k, keys)
		}
	}
	if containsKey(keys, runKey{"hr", idsync.StepFullSync}) {
		t.Errorf("second cycle ran a full sync of hr with unchanged rules: %v", keys)
	}
	found := false
	for _, e := range h.sys["ad"].All() {
		if str(e.Attrs["displayName"]) == "Alan Turing-Smith" {
			found = true
		}
	}
	if !found {
		t.Fatalf("the change did not reach ad: %+v", h.sys["ad"].All())
	}

	// Changed rules (a new flow): the next cycle synchronizes fully.
	changed := strings.Replace(baseConfig, "      - {target: department, source: department}\n", "      - {target: department, constant: Research}\n", 1)
	if changed == baseConfig {
		t.Fatal("test config did not change")
	}
	if err := os.WriteFile(filepath.Join(h.dir, "idsync.yaml"), []byte(changed), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(h.dir, connector.NewRegistry(inmem.NewType("inmem", h.sys)))
	if err != nil {
		t.Fatal(err)
	}
	e2, err := engine.New(h.ctx, engine.Options{Store: h.st, Registry: connector.NewRegistry(inmem.NewType("inmem", h.sys)), Config: cfg, Now: h.clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	rs, err = e2.Cycle(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	keys = runKeys(rs)
	if !containsKey(keys, runKey{"hr", idsync.StepFullSync}) {
		t.Fatalf("after a rule change the cycle did not fully synchronize hr: %v", keys)
	}
	if got := str(h.mustMV("employeeId", "1").Attrs["department"]); got != "Research" {
		t.Fatalf("department after the rule change = %q, want Research", got)
	}
}

func containsKey(keys []runKey, k runKey) bool {
	for _, x := range keys {
		if x == k {
			return true
		}
	}
	return false
}

// TestSpec13_OneRunPerConnector proves that two runs of one connector
// never overlap (another process holds its lock), while another
// connector's run goes ahead.
func TestSpec13_OneRunPerConnector(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	lock, err := h.st.TryLock(h.ctx, "connector:hr", store.LockOwner{ID: "other", Host: "elsewhere", PID: 1, What: "run full-import of hr (other)"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.e.RunSteps(h.ctx, "hr", "test", []idsync.RunStep{{Type: idsync.StepFullImport}})
	if idsync.KindOf(err) != idsync.KindConflict || !errors.Is(err, store.ErrLocked) || !strings.Contains(err.Error(), "run full-import of hr (other)") {
		t.Fatalf("second run of hr: err = %v (kind %v), want a conflict naming the holder", err, idsync.KindOf(err))
	}
	res := h.run("ad", fullImport)
	wantStatus(t, res, idsync.StatusSuccess)
	if err := lock.Release(h.ctx); err != nil {
		t.Fatal(err)
	}
	res = h.run("hr", fullImport)
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ImportAdds != 1 {
		t.Fatalf("import adds = %d, want 1", res.Counters.ImportAdds)
	}
}
