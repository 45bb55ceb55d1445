package engine_test

// Scenario tests for SPEC §6 (export confirmation): the object
// confirmation modes and the export status (the C=5 example).

import (
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

func withConfirmation(mode string) string {
	return strings.Replace(baseConfig, "    settings: {system: ad}\n", "    settings: {system: ad}\n    capabilities: {objectConfirmation: "+mode+"}\n", 1)
}

// leave makes HR person 1 a leaver and synchronizes: the AD object gets
// a pending export Delete.
func leave(t *testing.T, h *harness, id string) {
	t.Helper()
	h.update("hr", "1", "status", "leaver")
	h.runOK("hr", deltaImport, deltaSync)
	o := h.csByID(id)
	if o == nil || o.PendingExport == nil || o.PendingExport.Op != idsync.OpDelete {
		t.Fatalf("AD object after the leaver's sync = %+v, want a pending delete", o)
	}
}

// §6.1 Normal: an exported add waits for an import to show the object;
// an exported delete waits for an import to show it gone.
func TestSpec6_ConfirmationNormal(t *testing.T) {
	h := newHarness(t, withConfirmation("Normal"))
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	h.runOK("ad", export)
	o := h.csObjs("ad")[0]
	if o.Awaiting != idsync.ConfirmAdd || o.Anchor == "" || !o.Provisioned || o.PendingExport != nil {
		t.Fatalf("after the add: awaiting %v anchor %q provisioned %v pending %+v, want awaiting add, anchored, still an export object", o.Awaiting, o.Anchor, o.Provisioned, o.PendingExport)
	}
	if got := str(o.ExportStatus["displayName"]); got != "Ada Lovelace" || len(o.ExportStatus) != 2 {
		t.Errorf("export status = %v, want displayName and employeeID", o.ExportStatus)
	}
	h.runOK("ad", fullImport)
	o = h.csByID(o.ID)
	if o.Awaiting != idsync.ConfirmNone || o.Provisioned || len(o.ExportStatus) != 0 || str(o.Attrs["displayName"]) != "Ada Lovelace" {
		t.Fatalf("after the confirming import: awaiting %v provisioned %v status %v attrs %v", o.Awaiting, o.Provisioned, o.ExportStatus, o.Attrs)
	}
	h.runOK("ad", deltaSync)

	leave(t, h, o.ID)
	h.runOK("ad", export)
	o = h.csByID(o.ID)
	if o == nil || o.Awaiting != idsync.ConfirmDelete || o.PendingExport != nil {
		t.Fatalf("after the delete: %+v, want the object kept, awaiting the delete's confirmation", o)
	}
	res := h.runOK("ad", fullImport)
	if res.Counters.ImportDeletes != 1 {
		t.Errorf("confirming import deletes = %d, want 1", res.Counters.ImportDeletes)
	}
	if o := h.csByID(o.ID); o == nil || o.PendingImport != idsync.ImportDelete {
		t.Fatalf("after the confirming import: %+v, want pending import delete", o)
	}
	h.runOK("ad", deltaSync)
	if o := h.csByID(o.ID); o != nil {
		t.Errorf("object still in the connector space after the confirmed delete: %+v", o)
	}
}

// §6.1 NoDeleteConfirmation: an exported delete removes the CS object at
// once; an add still waits for its import.
func TestSpec6_ConfirmationNoDeleteConfirmation(t *testing.T) {
	h := newHarness(t, withConfirmation("NoDeleteConfirmation"))
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	h.runOK("ad", export)
	o := h.csObjs("ad")[0]
	if o.Awaiting != idsync.ConfirmAdd || !o.Provisioned {
		t.Fatalf("after the add: awaiting %v provisioned %v, want awaiting add", o.Awaiting, o.Provisioned)
	}
	h.runOK("ad", fullImport, deltaSync)

	leave(t, h, o.ID)
	res := h.runOK("ad", export)
	if res.Counters.ExportDeletes != 1 {
		t.Errorf("export deletes = %d, want 1", res.Counters.ExportDeletes)
	}
	if o := h.csByID(o.ID); o != nil {
		t.Fatalf("after the delete the CS object remains: %+v, want it removed at once", o)
	}
}

// §6.1 NoAddAndDeleteConfirmation: an exported add is taken as
// confirmed at once (and a delete too).
func TestSpec6_ConfirmationNoAddAndDeleteConfirmation(t *testing.T) {
	h := newHarness(t, withConfirmation("NoAddAndDeleteConfirmation"))
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	h.runOK("ad", export)
	o := h.csObjs("ad")[0]
	if o.Awaiting != idsync.ConfirmNone || o.Provisioned || o.Anchor == "" || o.PendingExport != nil {
		t.Fatalf("after the add: awaiting %v provisioned %v anchor %q pending %+v, want confirmed at once", o.Awaiting, o.Provisioned, o.Anchor, o.PendingExport)
	}
	if got := str(o.Attrs["displayName"]) + "/" + str(o.Attrs["employeeID"]); got != "Ada Lovelace/1" {
		t.Errorf("attributes after the add = %v, want the exported values", o.Attrs)
	}
	leave(t, h, o.ID)
	h.runOK("ad", export)
	if o := h.csByID(o.ID); o != nil {
		t.Fatalf("after the delete the CS object remains: %+v", o)
	}
}

// §6.2, the C=5 example of the reference: after exporting C=5, every
// further export of the object sends C=5 again until an import brings
// C=5, which clears the memory; a different value imported clears it
// too, and sync decides again.
func TestSpec6_ExportStatusC5(t *testing.T) {
	// AD flows department to an attribute named C, and title.
	cfg := baseConfig + "      - {target: C, source: department}\n      - {target: title, source: title}\n"
	cfg = strings.Replace(cfg, "        - {name: manager, type: reference}\n", "        - {name: manager, type: reference}\n        - {name: title, type: string}\n", 1)
	cfg = strings.Replace(cfg, "      - {target: manager, source: manager}\n  - name: Out to AD", "      - {target: manager, source: manager}\n      - {target: title, source: title}\n  - name: Out to AD", 1)
	h := newHarness(t, cfg)
	ad := h.sys["ad"]
	o := provisioned(t, h)
	sync := func() {
		t.Helper()
		h.runOK("hr", deltaImport, deltaSync)
	}
	pending := func() string {
		t.Helper()
		x := h.csByID(o.ID)
		if x.PendingExport == nil {
			return ""
		}
		return x.PendingExport.Op.String() + " {" + modsText(x.PendingExport.Mods) + "}"
	}

	// Export C=5.
	h.update("hr", "1", "department", "5")
	sync()
	if got, want := pending(), "update {C replace 5}"; got != want {
		t.Fatalf("pending export = %q, want %q", got, want)
	}
	h.runOK("ad", export)
	if got := str(h.csByID(o.ID).ExportStatus["C"]); got != "5" {
		t.Fatalf("export status C = %q, want 5", got)
	}

	// Not confirmed yet: the next export of the object sends C=5 again.
	h.update("hr", "1", "title", "Engineer")
	sync()
	if got, want := pending(), "update {title replace Engineer; C replace 5}"; got != want {
		t.Fatalf("pending export before confirmation = %q, want %q", got, want)
	}
	ad.ResetExported()
	h.runOK("ad", export)
	if got, want := changesText(ad.Exported()), "update CN=Ada Lovelace,OU=People,DC=x {title replace Engineer; C replace 5}\n"; got != want {
		t.Errorf("exported %q, want %q", got, want)
	}

	// An import brings C=5: the memory is cleared; C is not sent again.
	h.runOK("ad", fullImport, deltaSync)
	if st := h.csByID(o.ID).ExportStatus; len(st) != 0 {
		t.Fatalf("export status after the import brought C=5 = %v, want empty", st)
	}
	h.update("hr", "1", "title", "Lead")
	sync()
	if got, want := pending(), "update {title replace Lead}"; got != want {
		t.Fatalf("pending export after confirmation = %q, want %q", got, want)
	}
	h.runOK("ad", export)
	h.runOK("ad", fullImport, deltaSync)

	// Export C=6, but the system holds 7 when the import comes: the
	// memory is cleared, and sync decides again (C=6 is staged again).
	h.update("hr", "1", "department", "6")
	sync()
	h.runOK("ad", export)
	if got := str(h.csByID(o.ID).ExportStatus["C"]); got != "6" {
		t.Fatalf("export status C = %q, want 6", got)
	}
	if err := ad.Update(o.Anchor, idsync.AttrMod{Name: "C", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("7")}}); err != nil {
		t.Fatal(err)
	}
	h.runOK("ad", fullImport)
	x := h.csByID(o.ID)
	if len(x.ExportStatus) != 0 || str(x.Attrs["C"]) != "7" || x.PendingImport != idsync.ImportUpdate {
		t.Fatalf("after importing C=7: status %v C %q pending import %v, want status cleared, C 7, update", x.ExportStatus, str(x.Attrs["C"]), x.PendingImport)
	}
	h.runOK("ad", deltaSync)
	if got, want := pending(), "update {C replace 6}"; got != want {
		t.Fatalf("pending export after importing a different value = %q, want %q", got, want)
	}
}
