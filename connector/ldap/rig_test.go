package ldap

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// rig is the engine on a SQLite store of its own with one ldap connector,
// "dir", for a real server: what a user runs, for tests that must go
// through the engine (run status, warnings, the connector space).
type rig struct {
	t  testing.TB
	e  *engine.Engine
	st *sqlstore.DB
}

// newRig configures connector "dir" for s with delta mechanism delta,
// object types classes (idsync type → LDAP class) and the container ou
// in scope.
func newRig(t *testing.T, s server, delta string, classes map[string]string, ou string) *rig {
	t.Helper()
	t.Setenv("IDSYNC_TEST_RIG_PW", s.password)
	var types, ocs strings.Builder
	keys := make([]string, 0, len(classes))
	for k := range classes {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&types, "    - name: %s\n      attributes:\n        - {name: description, type: string}\n", k)
		fmt.Fprintf(&ocs, "%s: %s, ", k, classes[k])
	}
	yaml := fmt.Sprintf(`metaverse:
  objectTypes:
%sconnectors:
  - name: dir
    type: ldap
    settings:
      url: %s
      bindDN: %q
      password: {env: IDSYNC_TEST_RIG_PW}
      server: %s
      delta: %s
      objectClasses: {%s}
      containers:
        - partition: %q
          include: [%q]
    profiles:
      full-import: [full-import]
      delta-import: [delta-import]
`, types.String(), s.url, s.bindDN, s.flavour, delta, strings.TrimSuffix(ocs.String(), ", "), s.base, ou)
	return newEngineRig(t, yaml)
}

// newEngineRig starts the engine with configuration yaml on a SQLite
// store in a temporary directory.
func newEngineRig(t *testing.T, yaml string) *rig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("config: %v\n%s", err, yaml)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	return &rig{t: t, e: e, st: st}
}

// run runs a run profile of dir.
func (r *rig) run(profile string) *idsync.RunResult {
	r.t.Helper()
	return r.runOf("dir", profile)
}

// runOf runs a run profile of connector conn.
func (r *rig) runOf(conn, profile string) *idsync.RunResult {
	r.t.Helper()
	res, err := r.e.Run(context.Background(), conn, profile)
	if err != nil {
		r.t.Fatalf("run %s of %s: %v", profile, conn, err)
	}
	return res
}

// objects returns dir's connector space objects (staging, not pending
// deletion) by anchor.
func (r *rig) objects() map[idsync.Anchor]*idsync.CSObject {
	r.t.Helper()
	return r.objectsOf("dir")
}

// objectsOf returns connector conn's connector space objects (staging,
// not pending deletion) by anchor.
func (r *rig) objectsOf(conn string) map[idsync.Anchor]*idsync.CSObject {
	r.t.Helper()
	ctx := context.Background()
	tx, err := r.st.Begin(ctx, false)
	if err != nil {
		r.t.Fatal(err)
	}
	defer tx.Rollback()
	staging := idsync.KindStaging
	objs, err := tx.ListCS(ctx, store.CSFilter{Connector: conn, Kind: &staging})
	if err != nil {
		r.t.Fatal(err)
	}
	out := map[idsync.Anchor]*idsync.CSObject{}
	for _, o := range objs {
		if o.PendingImport != idsync.ImportDelete {
			out[o.Anchor] = o
		}
	}
	return out
}

// watermark returns dir's stored watermark.
func (r *rig) watermark() watermark {
	r.t.Helper()
	ctx := context.Background()
	tx, err := r.st.Begin(ctx, false)
	if err != nil {
		r.t.Fatal(err)
	}
	defer tx.Rollback()
	b, err := tx.GetWatermark(ctx, "dir", "")
	if err != nil || b == nil {
		r.t.Fatalf("stored watermark: %q %v", b, err)
	}
	var w watermark
	if err := json.Unmarshal(b, &w); err != nil {
		r.t.Fatalf("stored watermark %q: %v", b, err)
	}
	return w
}

// setWatermark replaces dir's stored watermark.
func (r *rig) setWatermark(w watermark) {
	r.t.Helper()
	ctx := context.Background()
	tx, err := r.st.Begin(ctx, true)
	if err != nil {
		r.t.Fatal(err)
	}
	defer tx.Rollback()
	if err := tx.PutWatermark(ctx, "dir", "", w.encode()); err != nil {
		r.t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		r.t.Fatal(err)
	}
}

// warnings returns the warnings of a run's steps.
func warnings(res *idsync.RunResult) []string {
	var out []string
	for _, st := range res.Steps {
		out = append(out, st.Warnings...)
	}
	return out
}
