package engine_test

// Scenario tests for SPEC §5 (export): deletion protection, retries
// after export errors, and two-pass export of references.

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
)

// §5 deletion protection: an export that would delete more objects than
// the threshold sends nothing and says so; confirmed, it goes through.
func TestSpec5_DeletionThreshold(t *testing.T) {
	cfg := strings.Replace(baseConfig, "    settings: {system: ad}\n", "    settings: {system: ad}\n    deletionThreshold: 1\n", 1)
	h := newHarness(t, cfg)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "")
	h.runOK("hr", fullImport, fullSync)
	h.runOK("ad", export)
	h.runOK("ad", fullImport, deltaSync)
	h.update("hr", "1", "status", "leaver")
	h.update("hr", "2", "status", "leaver")
	h.runOK("hr", deltaImport, deltaSync)
	h.sys["ad"].ResetExported()

	res := h.run("ad", export)
	wantStatus(t, res, idsync.StatusStoppedDeletionThreshold)
	if !strings.Contains(res.Message, "would delete 2 objects, more than the deletion threshold of 1") {
		t.Errorf("message = %q", res.Message)
	}
	if n := len(h.sys["ad"].Exported()); n != 0 {
		t.Fatalf("the stopped export sent %d changes, want none", n)
	}
	if n := len(h.sys["ad"].All()); n != 2 {
		t.Fatalf("the system holds %d objects, want 2", n)
	}
	for _, o := range h.csObjs("ad") {
		if o.Kind == idsync.KindStaging && (o.PendingExport == nil || o.PendingExport.Op != idsync.OpDelete) {
			t.Errorf("object %s pending export = %+v, want the delete kept", o.DN, o.PendingExport)
		}
	}

	res = h.runCtx(engine.WithConfirmedDeletions(h.ctx), "ad", export)
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ExportDeletes != 2 {
		t.Errorf("confirmed export deletes = %d, want 2", res.Counters.ExportDeletes)
	}
	if n := len(h.sys["ad"].All()); n != 0 {
		t.Errorf("the system holds %d objects after the confirmed export, want 0", n)
	}
}

// §5: an object whose export fails keeps its pending export and an
// error record with a retry count; the next export retries it; success
// clears the record.
func TestSpec5_RetryAfterExportError(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	ad := h.sys["ad"]
	ad.FailExport(func(idsync.Change) bool { return true }, "connector-error", errors.New("server busy"))

	res := h.run("ad", export)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)
	if res.Counters.ExportErrors != 1 || res.Counters.ExportAdds != 0 || len(res.Errors) != 1 || res.Errors[0].Type != "connector-error" {
		t.Errorf("first export: errors %d adds %d list %+v", res.Counters.ExportErrors, res.Counters.ExportAdds, res.Errors)
	}
	o := h.csObjs("ad")[0]
	if ee := o.ExportError; ee == nil || ee.Type != "connector-error" || ee.Message != "server busy" || ee.Retries != 1 {
		t.Fatalf("error record = %+v, want connector-error, server busy, 1 retry", ee)
	}
	if o.PendingExport == nil || o.PendingExport.Op != idsync.OpAdd || o.Awaiting != idsync.ConfirmNone || o.Anchor != "" {
		t.Fatalf("after a failed add: pending %+v awaiting %v anchor %q, want the add kept", o.PendingExport, o.Awaiting, o.Anchor)
	}
	first := o.ExportError.First

	res = h.run("ad", export)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)
	o = h.csByID(o.ID)
	if ee := o.ExportError; ee == nil || ee.Retries != 2 || !ee.First.Equal(first) || !ee.Last.After(first) {
		t.Fatalf("error record after the retry = %+v, want 2 retries, same first failure", ee)
	}
	if n := len(ad.Exported()); n != 2 {
		t.Errorf("the system received %d attempts, want 2", n)
	}

	ad.ClearFailures()
	res = h.runOK("ad", export)
	if res.Counters.ExportAdds != 1 {
		t.Errorf("export adds after the failures cleared = %d, want 1", res.Counters.ExportAdds)
	}
	o = h.csByID(o.ID)
	if o.ExportError != nil || o.PendingExport != nil || o.Anchor == "" || o.Awaiting != idsync.ConfirmAdd {
		t.Errorf("after success: error %+v pending %+v anchor %q awaiting %v, want cleared, anchored, awaiting the add's confirmation", o.ExportError, o.PendingExport, o.Anchor, o.Awaiting)
	}
	if n := len(ad.All()); n != 1 {
		t.Errorf("the system holds %d objects, want 1", n)
	}
}

// §5: with "no reference values in the first export pass", adds go first
// without references and the references follow in a second pass, so a
// system that needs the target to exist accepts them.
func TestSpec5_TwoPassReferences(t *testing.T) {
	cfg := strings.Replace(baseConfig, "    settings: {system: ad}\n",
		"    settings: {system: ad, checkReferences: true}\n    capabilities: {noReferenceValuesInFirstExportPass: true}\n", 1)
	h := newHarness(t, cfg)
	// Ada (first in every order) references Alan, who is added after her.
	person(h, "1", "Ada", "Lovelace", "active", "2")
	person(h, "2", "Alan", "Turing", "active", "")
	h.runOK("hr", fullImport, fullSync)
	ada := h.csByDN("ad", "CN=Ada Lovelace,OU=People,DC=x")
	if ada == nil || ada.PendingExport == nil || !strings.Contains(modsText(ada.PendingExport.Mods), "manager replace CN=Alan Turing,OU=People,DC=x") {
		t.Fatalf("Ada's pending add = %+v, want it to carry the manager reference", ada)
	}

	res := h.runOK("ad", export)
	if c := res.Counters; c.ExportAdds != 2 || c.ExportUpdates != 1 || c.ExportErrors != 0 {
		t.Errorf("counters: adds %d updates %d errors %d, want 2 1 0", c.ExportAdds, c.ExportUpdates, c.ExportErrors)
	}
	want := "add CN=Ada Lovelace,OU=People,DC=x {displayName replace Ada Lovelace; employeeID replace 1}\n" +
		"add CN=Alan Turing,OU=People,DC=x {displayName replace Alan Turing; employeeID replace 2}\n" +
		"update CN=Ada Lovelace,OU=People,DC=x {manager replace CN=Alan Turing,OU=People,DC=x}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("exported:\n%swant:\n%s", got, want)
	}
	for _, o := range h.csObjs("ad") {
		if o.Kind == idsync.KindStaging && (o.PendingExport != nil || o.ExportError != nil) {
			t.Errorf("object %s after export: pending %+v error %+v", o.DN, o.PendingExport, o.ExportError)
		}
	}
	e, _ := h.sys["ad"].Get(h.csByID(ada.ID).Anchor)
	if got := str(e.Attrs["manager"]); got != "CN=Alan Turing,OU=People,DC=x" {
		t.Errorf("manager in the system = %q", got)
	}
}

// hookSettings wraps a connector's settings so that a test runs hook
// during the first export page, as another process would.
type hookSettings struct {
	connector.Config
	hook func()
}

func (h hookSettings) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	c, err := h.Config.Open(ctx, env)
	if err != nil {
		return nil, err
	}
	return hookConn{c, h.hook}, nil
}

type hookConn struct {
	connector.Connector
	hook func()
}

func (c hookConn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	s, err := c.Connector.(connector.Exporter).OpenExport(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &hookSession{ExportSession: s, hook: c.hook}, nil
}

type hookSession struct {
	connector.ExportSession
	hook func()
	done bool
}

func (s *hookSession) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	if !s.done {
		s.done = true
		s.hook()
	}
	return s.ExportSession.ExportPage(ctx, changes)
}

// §5: results of an export page never clobber a change a sync staged
// while the page was being sent: the newer pending export is kept and
// goes out with the next export.
func TestSpec5_ExportKeepsChangeStagedMeanwhile(t *testing.T) {
	h := newHarness(t, baseConfig)
	o := provisioned(t, h)
	h.update("hr", "1", "sn", "Byron")
	h.runOK("hr", deltaImport, deltaSync)

	ad := h.e.Config().Connector("ad")
	inner := ad.Settings
	ad.Settings = hookSettings{Config: inner, hook: func() {
		// Meanwhile, in another process: HR changes again and a sync
		// stages a newer change for the same object.
		h.update("hr", "1", "sn", "King")
		h.runOK("hr", deltaImport, deltaSync)
	}}
	h.runOK("ad", export)
	ad.Settings = inner

	e, _ := h.sys["ad"].Get(o.Anchor)
	if got := str(e.Attrs["displayName"]); got != "Ada Byron" {
		t.Fatalf("the system holds %q, want the change that was sent (Ada Byron)", got)
	}
	got := h.csByID(o.ID)
	if got.PendingExport == nil || modsText(got.PendingExport.Mods) != "displayName replace Ada King" {
		t.Fatalf("pending export after the export = %+v, want the newer change (Ada King) kept", got.PendingExport)
	}
	if got.ExportStatus == nil || str(got.ExportStatus["displayName"]) != "Ada Byron" {
		t.Fatalf("export status = %v, want what was sent (Ada Byron)", got.ExportStatus)
	}
	h.runOK("ad", export)
	e, _ = h.sys["ad"].Get(o.Anchor)
	if got := str(e.Attrs["displayName"]); got != "Ada King" {
		t.Fatalf("after the next export the system holds %q, want Ada King", got)
	}
}
