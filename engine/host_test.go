package engine_test

import (
	"errors"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/engine"
)

func hostAdd(t *testing.T, h *harness, s *engine.HostSession, id, status string) *idsync.CSObject {
	t.Helper()
	o, err := s.Export(h.ctx, idsync.Change{Op: idsync.OpAdd, ObjectType: "person", DN: id, Mods: idsync.ModsFromAttrs(idsync.Attrs{
		"employeeId": {idsync.String(id)}, "givenName": {idsync.String("G" + id)}, "sn": {idsync.String("S" + id)}, "status": {idsync.String(status)}})})
	if err != nil {
		t.Fatalf("host export add %s: %v", id, err)
	}
	return o
}

// TestSpec11_HostSessionStagesExports proves the connector host's write
// path (§11): a change is exported at once and its effect staged in the
// connector space as the confirming import would stage it, so that the
// next sync processes it; deletes remove a disjoined object and stage a
// joined one's deletion; refusals change nothing; the session holds the
// connector's run lock and lends it to its refreshes.
func TestSpec11_HostSessionStagesExports(t *testing.T) {
	h := newHarness(t, baseConfig)
	s, err := h.e.OpenHost(h.ctx, "hr")
	if err != nil {
		t.Fatal(err)
	}
	o := hostAdd(t, h, s, "1", "active")
	if o.Anchor == "" || o.PendingImport != idsync.ImportAdd || o.Attrs.Get("givenName").String() != "G1" || o.DN != "1" {
		t.Fatalf("staged add: %+v", o)
	}
	if _, ok := h.sys["hr"].Get(o.Anchor); !ok {
		t.Fatalf("the add did not reach the system")
	}
	if cs := h.csByAnchor("hr", string(o.Anchor)); cs == nil || cs.ID != o.ID {
		t.Fatalf("the staged object is not in the connector space")
	}
	// The run lock: another run of the connector is refused.
	if _, err := h.e.RunSteps(h.ctx, "hr", "test", []idsync.RunStep{{Type: idsync.StepDeltaSync}}); idsync.KindOf(err) != idsync.KindConflict {
		t.Errorf("a run while the host holds the connector = %v, want KindConflict", err)
	}
	// An update is staged as pending import Update once the add was synchronized.
	if err := s.Close(h.ctx); err != nil {
		t.Fatal(err)
	}
	h.run("hr", fullSync)
	if mv := h.mvBy("employeeId", "1"); mv == nil {
		t.Fatalf("the staged add was not projected by the sync")
	}
	s, err = h.e.OpenHost(h.ctx, "hr")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(h.ctx)
	u, err := s.Export(h.ctx, idsync.Change{Op: idsync.OpUpdate, ObjectType: "person", Anchor: o.Anchor, DN: o.DN,
		Mods: []idsync.AttrMod{{Name: "givenName", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Ada")}}}})
	if err != nil {
		t.Fatal(err)
	}
	if u.PendingImport != idsync.ImportUpdate || u.Attrs.Get("givenName").String() != "Ada" || u.Attrs.Get("sn").String() != "S1" {
		t.Errorf("staged update: %v %v", u.PendingImport, u.Attrs)
	}
	// A refusal: an error naming the connector's error type, nothing staged.
	h.sys["hr"].FailExport(func(ch idsync.Change) bool { return ch.Op == idsync.OpUpdate }, "AttributeValueMustBeUnique", errors.New("sn taken"))
	_, err = s.Export(h.ctx, idsync.Change{Op: idsync.OpUpdate, ObjectType: "person", Anchor: o.Anchor, DN: o.DN,
		Mods: []idsync.AttrMod{{Name: "sn", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("X")}}}})
	var xe *engine.HostExportError
	if !errors.As(err, &xe) || xe.Type != "AttributeValueMustBeUnique" || idsync.KindOf(err) != idsync.KindConflict {
		t.Errorf("refused update = %v, want a KindConflict HostExportError AttributeValueMustBeUnique", err)
	}
	if cs := h.csByAnchor("hr", string(o.Anchor)); cs.Attrs.Get("sn").String() != "S1" {
		t.Errorf("a refused change was staged: sn = %v", cs.Attrs.Get("sn"))
	}
	h.sys["hr"].ClearFailures()
	// Delete of a joined object: staged pending import Delete for the sync.
	if _, err := s.Export(h.ctx, idsync.Change{Op: idsync.OpDelete, ObjectType: "person", Anchor: o.Anchor, DN: o.DN}); err != nil {
		t.Fatal(err)
	}
	if cs := h.csByAnchor("hr", string(o.Anchor)); cs == nil || cs.PendingImport != idsync.ImportDelete {
		t.Errorf("deleted joined object: %+v, want pending import Delete", cs)
	}
	// Delete of a disjoined object: removed.
	d := hostAdd(t, h, s, "2", "inactive")
	if _, err := s.Export(h.ctx, idsync.Change{Op: idsync.OpDelete, ObjectType: "person", Anchor: d.Anchor, DN: d.DN}); err != nil {
		t.Fatal(err)
	}
	if cs := h.csByAnchor("hr", string(d.Anchor)); cs != nil {
		t.Errorf("deleted disjoined object still in the connector space: %+v", cs)
	}
	// A refresh imports what changed in the system out of band, and the
	// session has the lock back afterwards.
	person(h, "3", "Out", "OfBand", "active", "")
	res, err := s.Refresh(h.ctx)
	if err != nil || res.Profile != "host-refresh" {
		t.Fatalf("Refresh = %v, %v", res, err)
	}
	if h.csByAnchor("hr", "3") == nil {
		t.Errorf("the refresh did not import the out-of-band object")
	}
	if _, err := h.e.RunSteps(h.ctx, "hr", "test", []idsync.RunStep{{Type: idsync.StepDeltaSync}}); idsync.KindOf(err) != idsync.KindConflict {
		t.Errorf("after a refresh, another run = %v, want KindConflict (the host holds the lock again)", err)
	}
}
