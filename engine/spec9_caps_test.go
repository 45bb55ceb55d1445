package engine_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// capsConfig is baseConfig with the AD connector declaring the given
// extra capabilities (import, export and delta import always).
func capsConfig(t *testing.T, extra string) string {
	t.Helper()
	caps := "{system: ad, capabilities: {dnStyle: ldap, exportType: AttributeUpdate, objectConfirmation: Normal, import: true, deltaImport: true, export: true" + extra + "}}"
	cfg := strings.Replace(baseConfig, "settings: {system: ad}", "settings: "+caps, 1)
	if cfg == baseConfig {
		t.Fatal("baseConfig has no AD settings to replace")
	}
	return cfg
}

// §9.1: a connector without objectRename but with deleteAddAsReplace
// receives a rename as one replace of the whole object at the new DN,
// recorded like an add awaiting confirmation there.
func TestSpec9_1_RenameAsReplace(t *testing.T) {
	h := newHarness(t, capsConfig(t, ", deleteAddAsReplace: true"))
	o := provisioned(t, h)
	h.update("hr", "1", "sn", "King")
	h.runOK("hr", deltaImport, deltaSync)
	res := h.runOK("ad", export)
	if c := res.Counters; c.ExportRenames != 1 || c.ExportAdds != 0 || c.ExportDeletes != 0 || c.ExportUpdates != 0 {
		t.Errorf("export counters %+v, want one rename", c)
	}
	want := "replace CN=Ada Lovelace,OU=People,DC=x -> CN=Ada King,OU=People,DC=x {displayName replace Ada King; employeeID replace 1}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("exported:\n%s\nwant:\n%s", got, want)
	}
	got := h.csByID(o.ID)
	if got.DN != "CN=Ada King,OU=People,DC=x" || got.PendingExport != nil || got.Awaiting != idsync.ConfirmAdd || got.Anchor != o.Anchor {
		t.Fatalf("CS object after export = %+v, want awaiting add confirmation at the new DN", got)
	}
	if e, ok := h.sys["ad"].Get(o.Anchor); !ok || e.DN != "CN=Ada King,OU=People,DC=x" {
		t.Errorf("system object = %+v, want at the new DN", e)
	}
	h.runOK("ad", fullImport, deltaSync)
	if got := h.csByID(o.ID); got.Awaiting != idsync.ConfirmNone || got.PendingExport != nil || str(got.Attrs["displayName"]) != "Ada King" {
		t.Errorf("CS object after the confirming import = %+v", got)
	}
}

// §9.1: a connector with neither objectRename nor deleteAddAsReplace
// receives a deletion of the old object and then an add of the whole
// object at the new DN; an add that fails stays pending and is sent by
// the next export.
func TestSpec9_1_RenameAsDeleteThenAdd(t *testing.T) {
	h := newHarness(t, capsConfig(t, ""))
	o := provisioned(t, h)
	h.update("hr", "1", "sn", "King")
	h.runOK("hr", deltaImport, deltaSync)

	h.sys["ad"].FailExport(func(ch idsync.Change) bool { return ch.Op == idsync.OpAdd }, "ServerDown", errors.New("add refused"))
	res := h.run("ad", export)
	if c := res.Counters; c.ExportDeletes != 1 || c.ExportAdds != 0 || c.ExportErrors != 1 || c.ExportRenames != 0 {
		t.Errorf("export counters %+v, want one delete and one failed add", c)
	}
	if _, ok := h.sys["ad"].Get(o.Anchor); ok {
		t.Errorf("the old object is still in the system")
	}
	got := h.csByID(o.ID)
	if got == nil || got.DN != "CN=Ada King,OU=People,DC=x" || got.PendingExport == nil || got.PendingExport.Op != idsync.OpAdd || got.ExportError == nil || !got.Provisioned || got.Anchor != "" {
		t.Fatalf("CS object after the failed add = %+v, want a pending add at the new DN with an export error", got)
	}
	if got, want := modsText(got.PendingExport.Mods), "displayName replace Ada King; employeeID replace 1"; got != want {
		t.Errorf("pending add = %q, want %q", got, want)
	}

	h.sys["ad"].ClearFailures()
	h.sys["ad"].ResetExported()
	res = h.runOK("ad", export)
	if c := res.Counters; c.ExportAdds != 1 || c.ExportDeletes != 0 || c.ExportErrors != 0 {
		t.Errorf("retry counters %+v, want one add", c)
	}
	want := "add CN=Ada King,OU=People,DC=x {displayName replace Ada King; employeeID replace 1}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("retry exported:\n%s\nwant:\n%s", got, want)
	}
	got = h.csByID(o.ID)
	if got.Anchor == "" || got.Awaiting != idsync.ConfirmAdd || got.PendingExport != nil || got.MVID != o.MVID {
		t.Fatalf("CS object after the add = %+v", got)
	}
	if e, ok := h.sys["ad"].Get(got.Anchor); !ok || e.DN != "CN=Ada King,OU=People,DC=x" {
		t.Errorf("system object = %+v, want at the new DN", e)
	}
	h.runOK("ad", fullImport, deltaSync)
	if got := h.csByID(o.ID); got.Awaiting != idsync.ConfirmNone || got.PendingExport != nil || staging(h.csObjs("ad")) != 1 {
		t.Errorf("after the confirming import: %+v, %d AD objects", got, staging(h.csObjs("ad")))
	}
}

// §9.1: delete then add in one export run: the deletion in the first
// pass, the add in the round that follows.
func TestSpec9_1_RenameAsDeleteThenAddOneRun(t *testing.T) {
	h := newHarness(t, capsConfig(t, ""))
	o := provisioned(t, h)
	h.update("hr", "1", "sn", "King")
	h.runOK("hr", deltaImport, deltaSync)
	res := h.runOK("ad", export)
	if c := res.Counters; c.ExportDeletes != 1 || c.ExportAdds != 1 || c.ExportErrors != 0 {
		t.Errorf("export counters %+v, want one delete and one add", c)
	}
	want := "delete CN=Ada Lovelace,OU=People,DC=x {}\nadd CN=Ada King,OU=People,DC=x {displayName replace Ada King; employeeID replace 1}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("exported:\n%s\nwant:\n%s", got, want)
	}
	got := h.csByID(o.ID)
	if got.Anchor == "" || got.Anchor == o.Anchor || got.DN != "CN=Ada King,OU=People,DC=x" || got.Awaiting != idsync.ConfirmAdd {
		t.Errorf("CS object = %+v, want the new object's anchor at the new DN awaiting confirmation", got)
	}
	// A delta import sees the deletion of the old anchor and the add of
	// the new one: the object is confirmed, nothing else changes.
	res = h.runOK("ad", deltaImport, deltaSync)
	if got := h.csByID(o.ID); got == nil || got.Awaiting != idsync.ConfirmNone || got.PendingExport != nil || got.MVID != o.MVID || staging(h.csObjs("ad")) != 1 {
		t.Errorf("after the confirming delta import: %+v, %d AD objects (counters %+v)", got, staging(h.csObjs("ad")), res.Counters)
	}
}

func staging(objs []*idsync.CSObject) int {
	n := 0
	for _, o := range objs {
		if o.Kind == idsync.KindStaging {
			n++
		}
	}
	return n
}

// §9.1 with §5 two-pass export: the delete-add of a rename sends the
// deletion and the add once each.
func TestSpec9_1_RenameAsDeleteThenAddTwoPass(t *testing.T) {
	h := newHarness(t, capsConfig(t, ", noReferenceValuesInFirstExportPass: true"))
	o := provisioned(t, h)
	h.update("hr", "1", "sn", "King")
	h.runOK("hr", deltaImport, deltaSync)
	res := h.runOK("ad", export)
	if c := res.Counters; c.ExportDeletes != 1 || c.ExportAdds != 1 || c.ExportErrors != 0 {
		t.Errorf("export counters %+v, want one delete and one add", c)
	}
	want := "delete CN=Ada Lovelace,OU=People,DC=x {}\nadd CN=Ada King,OU=People,DC=x {displayName replace Ada King; employeeID replace 1}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("exported:\n%s\nwant:\n%s", got, want)
	}
	if got := h.csByID(o.ID); got.PendingExport != nil || got.DN != "CN=Ada King,OU=People,DC=x" {
		t.Errorf("CS object = %+v", got)
	}
}
