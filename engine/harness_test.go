package engine_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// harness is an engine on a real SQLite store in a temp dir, with
// in-memory connected systems (connector/inmem: a fake system, since the
// scenarios are about the engine's rules, not a protocol).
type harness struct {
	t   *testing.T
	ctx context.Context
	sys map[string]*inmem.System
	st  store.Store
	e   *engine.Engine
	dir string
	clk *clock
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Second)
	return c.t
}

// newHarness loads yamlText as the configuration. Systems named in
// connector settings (`system: NAME`) are created empty.
func newHarness(t *testing.T, yamlText string) *harness {
	t.Helper()
	h := &harness{t: t, ctx: context.Background(), sys: map[string]*inmem.System{}, dir: t.TempDir(),
		clk: &clock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}}
	for _, line := range strings.Split(yamlText, "\n") {
		if i := strings.Index(line, "system: "); i >= 0 {
			name := strings.TrimSpace(line[i+len("system: "):])
			if j := strings.IndexAny(name, ",}"); j >= 0 {
				name = name[:j] // settings: {system: ad, checkReferences: true}
			}
			name = strings.TrimSpace(name)
			if h.sys[name] == nil {
				h.sys[name] = inmem.NewSystem()
			}
		}
	}
	if err := os.WriteFile(filepath.Join(h.dir, "idsync.yaml"), []byte(yamlText), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(inmem.NewType("inmem", h.sys))
	cfg, err := config.Load(h.dir, reg)
	if err != nil {
		t.Fatalf("load config: %v", err)
	}
	st, err := sqlstore.Open(h.ctx, filepath.Join(h.dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h.st = st
	e, err := engine.New(h.ctx, engine.Options{Store: st, Registry: reg, Config: cfg, Now: h.clk.Now})
	if err != nil {
		t.Fatalf("engine: %v", err)
	}
	h.e = e
	return h
}

// run runs steps on a connector and fails the test if the run could not
// be attempted.
func (h *harness) run(conn string, steps ...idsync.StepType) *idsync.RunResult {
	h.t.Helper()
	return h.runCtx(h.ctx, conn, steps...)
}

func (h *harness) runCtx(ctx context.Context, conn string, steps ...idsync.StepType) *idsync.RunResult {
	h.t.Helper()
	var ss []idsync.RunStep
	for _, s := range steps {
		ss = append(ss, idsync.RunStep{Type: s})
	}
	res, err := h.e.RunSteps(ctx, conn, "test", ss)
	if err != nil {
		h.t.Fatalf("run %s %v: %v", conn, steps, err)
	}
	return res
}

const (
	fullImport  = idsync.StepFullImport
	deltaImport = idsync.StepDeltaImport
	fullSync    = idsync.StepFullSync
	deltaSync   = idsync.StepDeltaSync
	export      = idsync.StepExport
)

func (h *harness) add(sys string, typ string, anchor, dn string, attrs map[string]string) {
	h.t.Helper()
	a := idsync.Attrs{}
	for k, v := range attrs {
		for _, part := range strings.Split(v, "|") {
			if strings.HasPrefix(part, "ref:") {
				a[k] = append(a[k], idsync.Ref(strings.TrimPrefix(part, "ref:")))
			} else {
				a[k] = append(a[k], idsync.String(part))
			}
		}
	}
	if _, err := h.sys[sys].Add(idsync.Entry{ObjectType: typ, Anchor: idsync.Anchor(anchor), DN: dn, Attrs: a}); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) update(sys, anchor, attr string, values ...string) {
	h.t.Helper()
	var vs []idsync.Value
	for _, v := range values {
		vs = append(vs, idsync.String(v))
	}
	if err := h.sys[sys].Update(idsync.Anchor(anchor), idsync.AttrMod{Name: attr, Op: idsync.AttrReplace, Values: vs}); err != nil {
		h.t.Fatal(err)
	}
}

// rtx begins a read transaction that the caller must roll back (the
// store's pool is small: helpers must not hold transactions).
func (h *harness) rtx() store.Tx {
	h.t.Helper()
	tx, err := h.st.Begin(h.ctx, false)
	if err != nil {
		h.t.Fatal(err)
	}
	return tx
}

// mvs returns every MV object.
func (h *harness) mvs() []*idsync.MVObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	objs, err := tx.ListMV(h.ctx, store.MVFilter{})
	if err != nil {
		h.t.Fatal(err)
	}
	return objs
}

// mvBy returns the MV object whose attr is value, or nil.
func (h *harness) mvBy(attr, value string) *idsync.MVObject {
	h.t.Helper()
	for _, mv := range h.mvs() {
		for _, v := range mv.Attrs[attr] {
			if v.String() == value {
				return mv
			}
		}
	}
	return nil
}

// csObjs returns every CS object of a connector.
func (h *harness) csObjs(conn string) []*idsync.CSObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	objs, err := tx.ListCS(h.ctx, store.CSFilter{Connector: conn})
	if err != nil {
		h.t.Fatal(err)
	}
	return objs
}

func (h *harness) csByAnchor(conn, anchor string) *idsync.CSObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	got, err := tx.CSByAnchors(h.ctx, conn, []idsync.Anchor{idsync.Anchor(anchor)})
	if err != nil {
		h.t.Fatal(err)
	}
	return got[idsync.Anchor(anchor)]
}

func (h *harness) csByDN(conn, dn string) *idsync.CSObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	got, err := tx.CSByDNs(h.ctx, conn, []string{dn})
	if err != nil {
		h.t.Fatal(err)
	}
	return got[strings.ToLower(dn)]
}

func str(vs []idsync.Value) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = v.String()
	}
	return strings.Join(ss, "|")
}

func wantStatus(t *testing.T, res *idsync.RunResult, want idsync.RunStatus) {
	t.Helper()
	if res.Status != want {
		t.Fatalf("run status = %s, want %s (message %q, errors %v)", res.Status, want, res.Message, res.Errors)
	}
}

// del deletes an object from a system.
func (h *harness) del(sys, anchor string) {
	h.t.Helper()
	if err := h.sys[sys].Delete(idsync.Anchor(anchor)); err != nil {
		h.t.Fatal(err)
	}
}

// csByID returns the CS object with id, or nil when it does not exist.
func (h *harness) csByID(id string) *idsync.CSObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	o, err := tx.GetCS(h.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return o
}

// mvByID returns the MV object with id, or nil when it does not exist.
func (h *harness) mvByID(id string) *idsync.MVObject {
	h.t.Helper()
	tx := h.rtx()
	defer tx.Rollback()
	mv, err := tx.GetMV(h.ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		h.t.Fatal(err)
	}
	return mv
}

// mustCS returns the CS object of conn with anchor, failing the test when there is none.
func (h *harness) mustCS(conn, anchor string) *idsync.CSObject {
	h.t.Helper()
	o := h.csByAnchor(conn, anchor)
	if o == nil {
		h.t.Fatalf("no CS object with anchor %q in %s", anchor, conn)
	}
	return o
}

// mustMV returns the MV object whose attr is value, failing the test when there is none.
func (h *harness) mustMV(attr, value string) *idsync.MVObject {
	h.t.Helper()
	mv := h.mvBy(attr, value)
	if mv == nil {
		h.t.Fatalf("no MV object with %s = %q", attr, value)
	}
	return mv
}

// runOK runs steps and fails unless the run status is success.
func (h *harness) runOK(conn string, steps ...idsync.StepType) *idsync.RunResult {
	h.t.Helper()
	res := h.run(conn, steps...)
	if res.Status != idsync.StatusSuccess {
		h.t.Fatalf("run %s %v: status %s, want success (message %q, errors %v)", conn, steps, res.Status, res.Message, res.Errors)
	}
	return res
}

// modsText renders attribute modifications as "name op values" lines, for exact comparisons.
func modsText(mods []idsync.AttrMod) string {
	var b strings.Builder
	for i, m := range mods {
		if i > 0 {
			b.WriteString("; ")
		}
		b.WriteString(m.Name + " " + m.Op.String() + " " + str(m.Values))
	}
	return b.String()
}

// changesText renders exported changes one a line: "op DN[->NewDN] {mods}".
func changesText(chs []idsync.Change) string {
	var b strings.Builder
	for _, ch := range chs {
		b.WriteString(ch.Op.String() + " " + ch.DN)
		if ch.NewDN != "" {
			b.WriteString(" -> " + ch.NewDN)
		}
		b.WriteString(" {" + modsText(ch.Mods) + "}\n")
	}
	return b.String()
}
