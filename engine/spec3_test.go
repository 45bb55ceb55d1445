package engine_test

// Scenario tests for SPEC §3 (import): the anchor-versus-DN conflict,
// pending import types (Delete-Add), deletion detection of a full
// import, placeholders, delta import and the full-import fallback.

import (
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// adOnlyConfig is one importing connector (LDAP DNs) and no rules.
const adOnlyConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
connectors:
  - name: ad
    type: inmem
    settings: {system: ad}
`

// §3 step 2, first case: an export object not yet confirmed (no anchor)
// holds the DN of an incoming object: it is deleted, its MV object is
// flagged "retry provisioning", an import object is created, and the
// next sync provisions again.
func TestSpec3_DNConflictUnconfirmedExportObjectIsReplaced(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")
	exp := h.csByDN("ad", "CN=Ada Lovelace,OU=People,DC=x")
	if exp == nil || exp.Anchor != "" || !exp.Provisioned || exp.MVID != mv.ID {
		t.Fatalf("export object before import = %+v, want an unanchored provisioned object linked to %s", exp, mv.ID)
	}

	// Someone creates the object in AD by hand before idsync exports it.
	h.add("ad", "user", "ext-1", "CN=Ada Lovelace,OU=People,DC=x", map[string]string{"employeeID": "1"})
	res := h.runOK("ad", fullImport)
	if c := res.Counters; c.ImportAdds != 1 || c.Placeholders != 2 {
		t.Errorf("import counters: adds %d placeholders %d, want 1 and 2 (OU=People,DC=x and DC=x)", c.ImportAdds, c.Placeholders)
	}
	if o := h.csByID(exp.ID); o != nil {
		t.Fatalf("unconfirmed export object %s still exists after the import: %+v", exp.ID, o)
	}
	in := h.mustCS("ad", "ext-1")
	if in.DN != "CN=Ada Lovelace,OU=People,DC=x" || in.Provisioned || in.MVID != "" || in.PendingImport != idsync.ImportAdd || in.Kind != idsync.KindStaging || in.PendingExport != nil {
		t.Fatalf("import object = %+v, want a disjoined staging object with pending import add", in)
	}
	if got := h.mvByID(mv.ID); got == nil || !got.RetryProvisioning {
		t.Fatalf("MV object after the import = %+v, want RetryProvisioning", got)
	}

	// The next sync provisions the MV object again.
	res = h.runOK("ad", deltaSync)
	if res.Counters.ProvisionedAdds != 1 {
		t.Errorf("next sync: provisioned adds = %d, want 1", res.Counters.ProvisionedAdds)
	}
	if got := h.mvByID(mv.ID); got == nil || got.RetryProvisioning {
		t.Fatalf("MV object after the next sync = %+v, want RetryProvisioning cleared", got)
	}
	var again []*idsync.CSObject
	for _, o := range h.csObjs("ad") {
		if o.MVID == mv.ID {
			again = append(again, o)
		}
	}
	if len(again) != 1 || !again[0].Provisioned || again[0].Anchor != "" || again[0].PendingExport == nil || again[0].PendingExport.Op != idsync.OpAdd || again[0].ID == exp.ID {
		t.Fatalf("objects linked to the MV object after the next sync = %+v, want one new export object with a pending add", again)
	}
	if in := h.mustCS("ad", "ext-1"); in.MVID != "" {
		t.Errorf("the import object was joined (%s); import objects start disjoined", in.MVID)
	}
}

// §3 step 2, second case, resolved by a later import that deletes the
// old object: the DN was taken by another anchor; the old object gets a
// temporary DN and is marked obsolete, and the import reporting its
// deletion removes it.
func TestSpec3_DNConflictAnchoredObjectObsoleteThenDeleted(t *testing.T) {
	h := newHarness(t, adOnlyConfig)
	h.add("ad", "user", "a1", "CN=X,OU=P,DC=x", map[string]string{"sn": "old"})
	h.runOK("ad", fullImport, fullSync)
	old := h.mustCS("ad", "a1")

	// In the system, a1 is deleted and a new object a2 takes its DN; the
	// delta import reports both.
	h.del("ad", "a1")
	h.add("ad", "user", "a2", "CN=X,OU=P,DC=x", map[string]string{"sn": "new"})
	res := h.runOK("ad", deltaImport)
	if c := res.Counters; c.ImportDeletes != 1 || c.ImportAdds != 1 {
		t.Errorf("delta import counters: deletes %d adds %d, want 1 and 1", c.ImportDeletes, c.ImportAdds)
	}
	o := h.csByID(old.ID)
	if o == nil {
		t.Fatal("the old object disappeared at import; it must wait for sync")
	}
	wantDN := "CN=X,OU=P,DC=x#obsolete-" + old.ID
	if !o.Obsolete || o.DN != wantDN || o.PendingImport != idsync.ImportDelete {
		t.Fatalf("old object = obsolete %v DN %q pending %v, want obsolete, DN %q, pending delete", o.Obsolete, o.DN, o.PendingImport, wantDN)
	}
	n := h.mustCS("ad", "a2")
	if n.ID == old.ID || n.DN != "CN=X,OU=P,DC=x" || n.PendingImport != idsync.ImportAdd || n.Obsolete {
		t.Fatalf("new object = %+v, want a new object holding the DN with pending add", n)
	}
	if got := h.csByDN("ad", "CN=X,OU=P,DC=x"); got == nil || got.ID != n.ID {
		t.Fatalf("the DN names %+v, want the new object %s", got, n.ID)
	}

	h.runOK("ad", deltaSync)
	if o := h.csByID(old.ID); o != nil {
		t.Fatalf("obsolete object pending delete survived the sync: %+v", o)
	}
	if n := h.mustCS("ad", "a2"); n.PendingImport != idsync.ImportNone {
		t.Errorf("new object pending import = %v after sync, want none", n.PendingImport)
	}
}

// §3 step 2, second case, resolved by the import that renames the old
// object. The new anchor sorts first, so the full import sees the new
// object before the renamed one, in one page and in pages of one object.
func TestSpec3_DNConflictAnchoredObjectObsoleteThenRenamed(t *testing.T) {
	for _, pageSize := range []int{1000, 1} {
		t.Run("pageSize="+itoa(pageSize), func(t *testing.T) {
			h := newHarness(t, strings.Replace(adOnlyConfig, "settings: {system: ad}", "settings: {system: ad}\n    pageSize: "+itoa(pageSize), 1))
			h.add("ad", "user", "b1", "CN=X,OU=P,DC=x", map[string]string{"sn": "old"})
			h.runOK("ad", fullImport, fullSync)
			old := h.mustCS("ad", "b1")

			if err := h.sys["ad"].Rename("b1", "CN=Y,OU=P,DC=x"); err != nil {
				t.Fatal(err)
			}
			h.add("ad", "user", "a0", "CN=X,OU=P,DC=x", map[string]string{"sn": "new"})
			res := h.runOK("ad", fullImport)
			if c := res.Counters; c.ImportAdds != 1 || c.ImportRenames != 1 || c.ImportDeletes != 0 {
				t.Errorf("import counters: adds %d renames %d deletes %d, want 1, 1, 0", c.ImportAdds, c.ImportRenames, c.ImportDeletes)
			}
			o := h.csByID(old.ID)
			if o == nil || o.Anchor != "b1" || o.DN != "CN=Y,OU=P,DC=x" || o.Obsolete || o.PendingImport != idsync.ImportUpdate {
				t.Fatalf("renamed object = %+v, want anchor b1, DN CN=Y,OU=P,DC=x, not obsolete, pending update", o)
			}
			n := h.mustCS("ad", "a0")
			if n.DN != "CN=X,OU=P,DC=x" || n.PendingImport != idsync.ImportAdd {
				t.Fatalf("new object = %+v, want DN CN=X,OU=P,DC=x, pending add", n)
			}
			if got := len(h.csObjs("ad")); got != 4 {
				t.Errorf("ad connector space holds %d objects, want 4 (a0, b1, two placeholders)", got)
			}
		})
	}
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// §3 step 3: same anchor, different object type: pending import
// Delete-Add, counted as such.
func TestSpec3_DeleteAddOnObjectTypeChange(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "")
	h.runOK("hr", fullImport, fullSync)

	h.del("hr", "1")
	h.add("hr", "contact", "1", "1", map[string]string{"employeeId": "1", "givenName": "Ada"})
	res := h.runOK("hr", fullImport)
	c := res.Counters
	if c.ImportDeleteAdd != 1 || c.ImportUpdates != 0 || c.ImportAdds != 0 || c.ImportDeletes != 0 || c.ImportNoChange != 1 {
		t.Errorf("counters: delete-add %d updates %d adds %d deletes %d no-change %d, want 1 0 0 0 1",
			c.ImportDeleteAdd, c.ImportUpdates, c.ImportAdds, c.ImportDeletes, c.ImportNoChange)
	}
	o := h.mustCS("hr", "1")
	if o.PendingImport != idsync.ImportDeleteAdd || o.ObjectType != "contact" {
		t.Fatalf("object = pending %v type %q, want delete-add, contact", o.PendingImport, o.ObjectType)
	}
	if o2 := h.mustCS("hr", "2"); o2.PendingImport != idsync.ImportNone {
		t.Errorf("unchanged object pending import = %v, want none", o2.PendingImport)
	}
}

// §3 step 4: a full import marks Delete every object of the connector
// space that the system no longer has (a set difference), and counts them.
func TestSpec3_FullImportDeletionDetection(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "")
	person(h, "3", "Grace", "Hopper", "active", "")
	h.runOK("hr", fullImport, fullSync)

	h.del("hr", "1")
	h.del("hr", "3")
	res := h.runOK("hr", fullImport)
	if c := res.Counters; c.ImportDeletes != 2 || c.ImportNoChange != 1 || c.ImportAdds != 0 || c.ImportUpdates != 0 {
		t.Errorf("counters: deletes %d no-change %d adds %d updates %d, want 2 1 0 0", c.ImportDeletes, c.ImportNoChange, c.ImportAdds, c.ImportUpdates)
	}
	for anchor, want := range map[string]idsync.ImportType{"1": idsync.ImportDelete, "2": idsync.ImportNone, "3": idsync.ImportDelete} {
		if got := h.mustCS("hr", anchor).PendingImport; got != want {
			t.Errorf("object %s pending import = %v, want %v", anchor, got, want)
		}
	}
	// A second full import without changes detects nothing new.
	if res := h.runOK("hr", fullImport); res.Counters.ImportDeletes != 0 {
		t.Errorf("second full import: deletes = %d, want 0 (already pending)", res.Counters.ImportDeletes)
	}
	res = h.runOK("hr", deltaSync)
	if c := res.Counters; c.Disconnectors != 2 || c.MVDeletes != 2 {
		t.Errorf("sync counters: disconnectors %d MV deletes %d, want 2 and 2", c.Disconnectors, c.MVDeletes)
	}
	if n := len(h.csObjs("hr")); n != 1 {
		t.Errorf("hr connector space holds %d objects after sync, want 1", n)
	}
	if n := len(h.mvs()); n != 1 {
		t.Errorf("metaverse holds %d objects, want 1", n)
	}
}

// §3 step 5 and §2.1: a reference to an object not yet imported creates
// a placeholder; placeholders never join; the real object replaces its
// placeholder and keeps its ID.
func TestSpec3_PlaceholderReplacedByRealObject(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "2", "Alan", "Turing", "active", "1") // manager 1 is not in HR yet
	res := h.runOK("hr", fullImport, fullSync)
	if res.Counters.Placeholders != 1 || res.Counters.ImportAdds != 1 {
		t.Errorf("counters: placeholders %d adds %d, want 1 and 1", res.Counters.Placeholders, res.Counters.ImportAdds)
	}
	ph := h.csByDN("hr", "1")
	if ph == nil || ph.Kind != idsync.KindPlaceholder || ph.Anchor != "" || ph.MVID != "" || len(ph.Attrs) != 0 {
		t.Fatalf("placeholder = %+v, want an unanchored, unjoined placeholder", ph)
	}
	if n := len(h.mvs()); n != 1 {
		t.Fatalf("metaverse holds %d objects, want 1 (placeholders never join nor project)", n)
	}
	if m := h.mustMV("employeeId", "2"); len(m.Attrs["manager"]) != 0 {
		t.Errorf("manager = %v, want none while its target is a placeholder", m.Attrs["manager"])
	}

	person(h, "1", "Ada", "Lovelace", "active", "")
	res = h.runOK("hr", fullImport)
	if res.Counters.Placeholders != 0 || res.Counters.ImportAdds != 1 {
		t.Errorf("second import: placeholders %d adds %d, want 0 and 1", res.Counters.Placeholders, res.Counters.ImportAdds)
	}
	real := h.mustCS("hr", "1")
	if real.ID != ph.ID || real.Kind != idsync.KindStaging || real.DN != "1" || real.PendingImport != idsync.ImportAdd || str(real.Attrs["givenName"]) != "Ada" {
		t.Fatalf("real object = %+v, want the placeholder's ID %s, staging, pending add", real, ph.ID)
	}
	n := 0
	for _, o := range h.csObjs("hr") {
		if o.Kind == idsync.KindPlaceholder {
			n++
		}
	}
	if n != 0 {
		t.Errorf("%d placeholders left, want 0", n)
	}
	h.runOK("hr", fullSync)
	ada, alan := h.mustMV("employeeId", "1"), h.mustMV("employeeId", "2")
	if got := str(alan.Attrs["manager"]); got != ada.ID {
		t.Errorf("manager = %q, want the MV ID of the former placeholder's object %s", got, ada.ID)
	}
}

// §3: delta import asks only for changes since the stored watermark; an
// expired watermark falls back to a full import, with a warning.
func TestSpec3_DeltaImportAndWatermarkExpiry(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "")
	person(h, "3", "Grace", "Hopper", "active", "")
	h.runOK("hr", fullImport, fullSync)

	h.update("hr", "2", "sn", "Turing-Smith")
	res := h.runOK("hr", deltaImport)
	if c := res.Counters; c.Objects != 1 || c.ImportUpdates != 1 || c.ImportNoChange != 0 || c.ImportAdds != 0 {
		t.Errorf("delta import counters: objects %d updates %d no-change %d adds %d, want 1 1 0 0", c.Objects, c.ImportUpdates, c.ImportNoChange, c.ImportAdds)
	}
	if len(res.Steps) != 1 || len(res.Steps[0].Warnings) != 0 {
		t.Errorf("delta import steps = %+v, want one step without warnings", res.Steps)
	}
	if o := h.mustCS("hr", "2"); o.PendingImport != idsync.ImportUpdate || str(o.Attrs["sn"]) != "Turing-Smith" {
		t.Errorf("object 2 = pending %v sn %q, want update, Turing-Smith", o.PendingImport, str(o.Attrs["sn"]))
	}
	// Nothing changed since: an empty delta.
	if res := h.runOK("hr", deltaImport); res.Counters.Objects != 0 {
		t.Errorf("empty delta import processed %d objects, want 0", res.Counters.Objects)
	}

	h.sys["hr"].ExpireWatermarks()
	h.update("hr", "3", "sn", "Hopper-Murray")
	res = h.run("hr", deltaImport)
	wantStatus(t, res, idsync.StatusCompletedWithWarnings)
	if len(res.Steps) != 1 || len(res.Steps[0].Warnings) != 1 || !strings.Contains(res.Steps[0].Warnings[0], "falling back to a full import") {
		t.Fatalf("steps = %+v, want one warning saying it fell back to a full import", res.Steps)
	}
	if c := res.Counters; c.Objects != 3 || c.ImportUpdates != 1 || c.ImportNoChange != 2 {
		t.Errorf("fallback counters: objects %d updates %d no-change %d, want 3 1 2 (a full import)", c.Objects, c.ImportUpdates, c.ImportNoChange)
	}
	// The full import stored a fresh watermark: the next delta works.
	h.update("hr", "1", "sn", "King")
	res = h.runOK("hr", deltaImport)
	if res.Counters.Objects != 1 || res.Counters.ImportUpdates != 1 {
		t.Errorf("delta after fallback: objects %d updates %d, want 1 and 1", res.Counters.Objects, res.Counters.ImportUpdates)
	}
}
