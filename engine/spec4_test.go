package engine_test

// Scenario tests for SPEC §4 (synchronization: projection, join, the MV
// deletion rule, provisioning, rename, deprovisioning), §13 (run
// history, serialized syncs) and §14 (preview).

import (
	"errors"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
)

// twoSourceConfig is HR (projects) and a badge system (joins by
// employee number); DELETION is replaced by each test.
const twoSourceConfig = `
metaverse:
  objectTypes:
    - name: person
      deletion: DELETION
      attributes:
        - {name: employeeId, type: string}
        - {name: givenName, type: string}
        - {name: sn, type: string}
        - {name: displayName, type: string}
        - {name: badgeNumber, type: string}
connectors:
  - name: hr
    type: inmem
    settings: {system: hr}
  - name: badge
    type: inmem
    settings: {system: badge}
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: displayName, expression: '[givenName] & " " & [sn]'}
  - name: Join badge
    direction: inbound
    connector: badge
    csObjectType: badge
    mvObjectType: person
    linkType: Join
    precedence: 110
    join: [[{source: employeeNumber, target: employeeId}]]
    flows:
      - {target: badgeNumber, source: number}
`

func twoSources(t *testing.T, deletion string) *harness {
	return newHarness(t, strings.Replace(twoSourceConfig, "DELETION", deletion, 1))
}

func badge(h *harness, anchor, employee, number string) {
	h.add("badge", "badge", anchor, anchor, map[string]string{"employeeNumber": employee, "number": number})
}

// §4.1: a disjoined object with no join match and a Provision rule in
// scope is projected: a new MV object of the rule's type, linked.
func TestSpec4_Projection(t *testing.T) {
	h := twoSources(t, "{when: last-link}")
	person(h, "1", "Ada", "Lovelace", "active", "")
	res := h.runOK("hr", fullImport, fullSync)
	if c := res.Counters; c.Projections != 1 || c.Joins != 0 || c.Disconnectors != 0 {
		t.Errorf("counters: projections %d joins %d disconnectors %d, want 1 0 0", c.Projections, c.Joins, c.Disconnectors)
	}
	mvs := h.mvs()
	if len(mvs) != 1 {
		t.Fatalf("metaverse holds %d objects, want 1", len(mvs))
	}
	mv := mvs[0]
	if mv.ObjectType != "person" || str(mv.Attrs["displayName"]) != "Ada Lovelace" || str(mv.Attrs["employeeId"]) != "1" {
		t.Errorf("MV object = %+v", mv)
	}
	o := h.mustCS("hr", "1")
	if o.MVID != mv.ID || o.LinkRule != "In from HR" || o.LinkType != idsync.LinkProvision || o.PendingImport != idsync.ImportNone {
		t.Errorf("CS object link = %q rule %q type %v pending %v, want %s, In from HR, Provision, none", o.MVID, o.LinkRule, o.LinkType, o.PendingImport, mv.ID)
	}
}

// §4.1, §7.3: a second source joins the existing MV object by its join
// rule; an object with no match stays disjoined (Join link type).
func TestSpec4_JoinSecondSource(t *testing.T) {
	h := twoSources(t, "{when: last-link}")
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")

	badge(h, "b1", "1", "B-7")
	badge(h, "b2", "99", "B-8")
	res := h.runOK("badge", fullImport, fullSync)
	if c := res.Counters; c.Joins != 1 || c.Projections != 0 || c.Disconnectors != 1 {
		t.Errorf("counters: joins %d projections %d disconnectors %d, want 1 0 1", c.Joins, c.Projections, c.Disconnectors)
	}
	b1 := h.mustCS("badge", "b1")
	if b1.MVID != mv.ID || b1.LinkRule != "Join badge" || b1.LinkType != idsync.LinkJoin {
		t.Errorf("b1 link = %q rule %q type %v, want %s, Join badge, Join", b1.MVID, b1.LinkRule, b1.LinkType, mv.ID)
	}
	if b2 := h.mustCS("badge", "b2"); b2.MVID != "" {
		t.Errorf("b2 joined %s; it matches nothing and must stay disjoined", b2.MVID)
	}
	if n := len(h.mvs()); n != 1 {
		t.Errorf("metaverse holds %d objects, want 1 (a Join rule never projects)", n)
	}
	got := h.mvByID(mv.ID)
	if str(got.Attrs["badgeNumber"]) != "B-7" || str(got.Attrs["displayName"]) != "Ada Lovelace" {
		t.Errorf("MV attributes = %v", got.Attrs)
	}
	if lin := got.Lineage["badgeNumber"]; lin.Rule != "Join badge" || lin.Connector != "badge" || lin.CSID != b1.ID || lin.RunID != res.ID {
		t.Errorf("badgeNumber lineage = %+v, want Join badge / badge / %s / %s", lin, b1.ID, res.ID)
	}
}

// §2.2: deletion rule "last link": the MV object goes only when its last
// link is removed.
func TestSpec4_MVDeletionRuleLastLink(t *testing.T) {
	h := twoSources(t, "{when: last-link}")
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	badge(h, "b1", "1", "B-7")
	h.runOK("badge", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")

	h.del("hr", "1")
	res := h.runOK("hr", fullImport, deltaSync)
	if c := res.Counters; c.MVDeletes != 0 || c.Disconnectors != 1 {
		t.Errorf("after the HR delete: MV deletes %d disconnectors %d, want 0 and 1", c.MVDeletes, c.Disconnectors)
	}
	got := h.mvByID(mv.ID)
	if got == nil {
		t.Fatal("MV object deleted while the badge link remains")
	}
	if _, ok := got.Attrs["givenName"]; ok || str(got.Attrs["badgeNumber"]) != "B-7" {
		t.Errorf("MV attributes after the HR link went = %v, want only badgeNumber", got.Attrs)
	}

	h.del("badge", "b1")
	res = h.runOK("badge", fullImport, deltaSync)
	if res.Counters.MVDeletes != 1 {
		t.Errorf("after the last link went: MV deletes %d, want 1", res.Counters.MVDeletes)
	}
	if got := h.mvByID(mv.ID); got != nil {
		t.Fatalf("MV object survives its last link: %+v", got)
	}
}

// §2.2: deletion rule "connector link removed": the MV object goes as
// soon as its link from a named connector goes, not from another.
func TestSpec4_MVDeletionRuleConnectorLinkRemoved(t *testing.T) {
	h := twoSources(t, "{when: connector-link-removed, connectors: [hr]}")
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "")
	h.runOK("hr", fullImport, fullSync)
	badge(h, "b1", "1", "B-7")
	badge(h, "b2", "2", "B-8")
	h.runOK("badge", fullImport, fullSync)
	ada, alan := h.mustMV("employeeId", "1"), h.mustMV("employeeId", "2")

	// A badge link going does not delete.
	h.del("badge", "b2")
	res := h.runOK("badge", fullImport, deltaSync)
	if res.Counters.MVDeletes != 0 || h.mvByID(alan.ID) == nil {
		t.Fatalf("removing the badge link deleted the MV object (MV deletes %d)", res.Counters.MVDeletes)
	}
	// The HR link going deletes, although the badge link remains.
	h.del("hr", "1")
	res = h.runOK("hr", fullImport, deltaSync)
	if res.Counters.MVDeletes != 1 || res.Counters.Deprovisioned != 1 {
		t.Errorf("counters: MV deletes %d deprovisioned %d, want 1 and 1", res.Counters.MVDeletes, res.Counters.Deprovisioned)
	}
	if got := h.mvByID(ada.ID); got != nil {
		t.Fatalf("MV object survives the removal of its HR link: %+v", got)
	}
	b1 := h.mustCS("badge", "b1")
	if b1.MVID != "" || b1.PendingExport == nil || b1.PendingExport.Op != idsync.OpDelete {
		t.Errorf("badge object of the deleted MV object: link %q pending export %+v, want disjoined with a pending delete (deprovisioned)", b1.MVID, b1.PendingExport)
	}
}

// provisioned runs HR person 1 through import, sync, AD export and the
// confirming AD import, and returns the confirmed AD object.
func provisioned(t *testing.T, h *harness) *idsync.CSObject {
	t.Helper()
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport, fullSync)
	h.runOK("ad", export)
	h.runOK("ad", fullImport, deltaSync)
	o := h.csByDN("ad", "CN=Ada Lovelace,OU=People,DC=x")
	if o == nil || o.Anchor == "" || o.PendingExport != nil || o.Awaiting != idsync.ConfirmNone {
		t.Fatalf("AD object after export and confirmation = %+v", o)
	}
	h.sys["ad"].ResetExported()
	return o
}

// §4.2: an outbound Provision rule in scope with no link in the target
// connector creates an export object with a pending export Add, joined
// to the MV object, with the DN its rule computes.
func TestSpec4_Provisioning(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	res := h.runOK("hr", fullImport, fullSync)
	if res.Counters.ProvisionedAdds != 1 {
		t.Errorf("provisioned adds = %d, want 1", res.Counters.ProvisionedAdds)
	}
	mv := h.mustMV("employeeId", "1")
	objs := h.csObjs("ad")
	if len(objs) != 1 {
		t.Fatalf("ad connector space holds %d objects, want 1", len(objs))
	}
	o := objs[0]
	if o.DN != "CN=Ada Lovelace,OU=People,DC=x" || o.ObjectType != "user" || o.Anchor != "" || !o.Provisioned || o.Kind != idsync.KindStaging {
		t.Errorf("export object = %+v", o)
	}
	if o.MVID != mv.ID || o.LinkRule != "Out to AD" || o.LinkType != idsync.LinkProvision {
		t.Errorf("export object link = %q rule %q type %v", o.MVID, o.LinkRule, o.LinkType)
	}
	if o.PendingExport == nil || o.PendingExport.Op != idsync.OpAdd {
		t.Fatalf("pending export = %+v, want an add", o.PendingExport)
	}
	if got, want := modsText(o.PendingExport.Mods), "displayName replace Ada Lovelace; employeeID replace 1"; got != want {
		t.Errorf("pending add mods = %q, want %q", got, want)
	}
	// A second full sync provisions nothing more.
	if res := h.runOK("hr", fullSync); res.Counters.ProvisionedAdds != 0 || len(h.csObjs("ad")) != 1 {
		t.Errorf("second sync provisioned %d objects again", res.Counters.ProvisionedAdds)
	}
}

// §4.2: a DN flow whose value changes stages a pending export Update
// with NewDN, exported as a rename.
func TestSpec4_Rename(t *testing.T) {
	h := newHarness(t, baseConfig)
	o := provisioned(t, h)

	h.update("hr", "1", "sn", "King")
	res := h.runOK("hr", deltaImport, deltaSync)
	if res.Counters.Renames != 1 || res.Counters.ExportFlows != 1 {
		t.Errorf("counters: renames %d export flows %d, want 1 and 1", res.Counters.Renames, res.Counters.ExportFlows)
	}
	got := h.csByID(o.ID)
	pe := got.PendingExport
	if pe == nil || pe.Op != idsync.OpUpdate || pe.NewDN != "CN=Ada King,OU=People,DC=x" || modsText(pe.Mods) != "displayName replace Ada King" {
		t.Fatalf("pending export = %+v, want update to CN=Ada King,OU=People,DC=x with displayName", pe)
	}
	res = h.runOK("ad", export)
	if c := res.Counters; c.ExportRenames != 1 || c.ExportUpdates != 1 || c.ExportAdds != 0 {
		t.Errorf("export counters: renames %d updates %d adds %d, want 1 1 0", c.ExportRenames, c.ExportUpdates, c.ExportAdds)
	}
	want := "update CN=Ada Lovelace,OU=People,DC=x -> CN=Ada King,OU=People,DC=x {displayName replace Ada King}\n"
	if got := changesText(h.sys["ad"].Exported()); got != want {
		t.Errorf("exported:\n%s\nwant:\n%s", got, want)
	}
	if e, ok := h.sys["ad"].Get(o.Anchor); !ok || e.DN != "CN=Ada King,OU=People,DC=x" {
		t.Errorf("system object = %+v, want renamed", e)
	}
	if got := h.csByID(o.ID); got.DN != "CN=Ada King,OU=People,DC=x" || got.PendingExport != nil {
		t.Errorf("CS object after export: DN %q pending %+v", got.DN, got.PendingExport)
	}
}

// §4.2: deprovisioning with "deprovision: delete" (the default): the
// link goes and a pending export Delete is staged, then sent.
func TestSpec4_DeprovisionDelete(t *testing.T) {
	h := newHarness(t, baseConfig)
	o := provisioned(t, h)
	h.update("hr", "1", "status", "leaver")
	res := h.runOK("hr", deltaImport, deltaSync)
	if c := res.Counters; c.FilteredDisconnectors != 1 || c.MVDeletes != 1 || c.Deprovisioned != 1 || c.DisconnectedExport != 0 {
		t.Errorf("counters: filtered %d MV deletes %d deprovisioned %d disconnected %d, want 1 1 1 0", c.FilteredDisconnectors, c.MVDeletes, c.Deprovisioned, c.DisconnectedExport)
	}
	got := h.csByID(o.ID)
	if got == nil || got.MVID != "" || got.PendingExport == nil || got.PendingExport.Op != idsync.OpDelete {
		t.Fatalf("AD object = %+v, want disjoined with a pending delete", got)
	}
	res = h.runOK("ad", export)
	if res.Counters.ExportDeletes != 1 {
		t.Errorf("export deletes = %d, want 1", res.Counters.ExportDeletes)
	}
	if got, want := changesText(h.sys["ad"].Exported()), "delete CN=Ada Lovelace,OU=People,DC=x {}\n"; got != want {
		t.Errorf("exported %q, want %q", got, want)
	}
	if _, ok := h.sys["ad"].Get(o.Anchor); ok {
		t.Error("the system still holds the deprovisioned object")
	}
}

// §4.2: deprovisioning with "deprovision: disconnect": the link goes,
// nothing is staged, the object stays in the system.
func TestSpec4_DeprovisionDisconnect(t *testing.T) {
	cfg := strings.Replace(baseConfig, "    settings: {system: ad}\n", "    settings: {system: ad}\n    deprovision: disconnect\n", 1)
	h := newHarness(t, cfg)
	o := provisioned(t, h)
	h.update("hr", "1", "status", "leaver")
	res := h.runOK("hr", deltaImport, deltaSync)
	if c := res.Counters; c.MVDeletes != 1 || c.Deprovisioned != 0 || c.DisconnectedExport != 1 {
		t.Errorf("counters: MV deletes %d deprovisioned %d disconnected %d, want 1 0 1", c.MVDeletes, c.Deprovisioned, c.DisconnectedExport)
	}
	got := h.csByID(o.ID)
	if got == nil || got.MVID != "" || got.PendingExport != nil {
		t.Fatalf("AD object = %+v, want disjoined, nothing staged", got)
	}
	res = h.runOK("ad", export)
	if n := len(h.sys["ad"].Exported()); n != 0 || res.Counters.ExportDeletes != 0 {
		t.Errorf("export sent %d changes (%d deletes), want none", n, res.Counters.ExportDeletes)
	}
	if _, ok := h.sys["ad"].Get(o.Anchor); !ok {
		t.Error("the system object was removed; disconnect must leave it alone")
	}
}

// §14: a preview shows scoping per rule, the decision, every flow with
// before and after, the outbound consequences, and commits nothing.
func TestSpec14_PreviewCommitsNothing(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	h.runOK("hr", fullImport)

	pv, err := h.e.Preview(h.ctx, "hr", "1")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Decision != "project" || pv.JoinRule != "In from HR" || pv.MVID == "" {
		t.Errorf("decision = %q rule %q mv %q, want project by In from HR", pv.Decision, pv.JoinRule, pv.MVID)
	}
	scope := map[string]bool{}
	for _, s := range pv.Scope {
		scope[s.Direction+" "+s.Rule] = s.InScope
	}
	if len(scope) != 2 || !scope["inbound In from HR"] || !scope["outbound Out to AD"] {
		t.Errorf("scope = %+v, want both rules in scope", pv.Scope)
	}
	var dn *engine.FlowTrace
	for i := range pv.Flows {
		if pv.Flows[i].Target == "displayName" {
			dn = &pv.Flows[i]
		}
	}
	if dn == nil || dn.Rule != "In from HR" || !dn.Won || dn.Outcome != "value" || len(dn.Before) != 0 || str(dn.After) != "Ada Lovelace" {
		t.Errorf("displayName flow = %+v, want In from HR, won, before nothing, after Ada Lovelace", dn)
	}
	if len(pv.Outbound) != 1 || pv.Outbound[0].Connector != "ad" || pv.Outbound[0].Action != "provision" || pv.Outbound[0].DN != "CN=Ada Lovelace,OU=People,DC=x" {
		t.Errorf("outbound = %+v, want one provision in ad", pv.Outbound)
	}
	if n := len(h.mvs()); n != 0 {
		t.Errorf("preview created %d MV objects", n)
	}
	if n := len(h.csObjs("ad")); n != 0 {
		t.Errorf("preview created %d AD objects", n)
	}
	if o := h.mustCS("hr", "1"); o.PendingImport != idsync.ImportAdd || o.MVID != "" {
		t.Errorf("preview changed the CS object: pending %v link %q", o.PendingImport, o.MVID)
	}

	// A joined object: before and after, and a rename in AD.
	h.runOK("hr", fullSync)
	h.update("hr", "1", "givenName", "Ava")
	h.runOK("hr", deltaImport)
	pv, err = h.e.Preview(h.ctx, "hr", "1")
	if err != nil {
		t.Fatal(err)
	}
	if pv.Decision != "joined" {
		t.Errorf("decision = %q, want joined", pv.Decision)
	}
	dn = nil
	for i := range pv.Flows {
		if pv.Flows[i].Target == "displayName" {
			dn = &pv.Flows[i]
		}
	}
	if dn == nil || str(dn.Before) != "Ada Lovelace" || str(dn.After) != "Ava Lovelace" {
		t.Errorf("displayName flow = %+v, want Ada Lovelace -> Ava Lovelace", dn)
	}
	found := false
	for _, ot := range pv.Outbound {
		if ot.Connector == "ad" && ot.Action == "update" && strings.Contains(modsText(ot.Mods), "displayName replace Ava Lovelace") {
			found = true
		}
	}
	if !found {
		t.Errorf("outbound = %+v, want an update of displayName in ad", pv.Outbound)
	}
	if mv := h.mustMV("employeeId", "1"); str(mv.Attrs["displayName"]) != "Ada Lovelace" {
		t.Errorf("preview changed the MV object: displayName %q", str(mv.Attrs["displayName"]))
	}
	if o := h.mustCS("hr", "1"); o.PendingImport != idsync.ImportUpdate {
		t.Errorf("preview cleared the pending import: %v", o.PendingImport)
	}
	if ad := h.csObjs("ad"); len(ad) != 1 || ad[0].PendingExport == nil || modsText(ad[0].PendingExport.Mods) != "displayName replace Ada Lovelace; employeeID replace 1" {
		t.Errorf("preview changed the AD object: %+v", ad)
	}
}

// §13: every run records its counters and per-object errors in the
// store; syncs are serialized and a second one fails fast.
func TestSpec13_RunHistoryAndSerializedSyncs(t *testing.T) {
	cfg := strings.Replace(baseConfig, `expression: '[givenName] & " " & [sn]'`, `expression: 'IIF([givenName]="Bad", Error("bad name"), [givenName] & " " & [sn])'`, 1)
	h := newHarness(t, cfg)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Bad", "Apple", "active", "")
	res := h.run("hr", fullImport, fullSync)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)

	tx := h.rtx()
	stored, err := tx.GetRun(h.ctx, res.ID, 0)
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	if stored.Status != idsync.StatusCompletedWithErrors || stored.Counters != res.Counters || stored.ErrorCount != 1 || len(stored.Steps) != 2 {
		t.Errorf("stored run = status %s counters %+v errors %d steps %d, want the run's", stored.Status, stored.Counters, stored.ErrorCount, len(stored.Steps))
	}
	if c := stored.Counters; c.ImportAdds != 2 || c.Projections != 1 || c.ProvisionedAdds != 1 {
		t.Errorf("stored counters: import adds %d projections %d provisioned %d, want 2 1 1", c.ImportAdds, c.Projections, c.ProvisionedAdds)
	}
	bad := h.mustCS("hr", "2")
	if len(stored.Errors) != 1 {
		t.Fatalf("stored errors = %+v, want 1", stored.Errors)
	}
	oe := stored.Errors[0]
	if oe.Step != idsync.StepFullSync || oe.Connector != "hr" || oe.CSID != bad.ID || oe.Rule != "In from HR" || oe.Type != "expression-error" || !strings.Contains(oe.Message, "bad name") {
		t.Errorf("stored error = %+v", oe)
	}

	// Another process holds the sync lock: a sync fails fast, an import runs.
	lock, err := h.st.TryLock(h.ctx, "sync", store.LockOwner{ID: "other", Host: "elsewhere", PID: 1, What: "sync of ad"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = h.e.RunSteps(h.ctx, "hr", "test", []idsync.RunStep{{Type: deltaSync}})
	if idsync.KindOf(err) != idsync.KindConflict || !errors.Is(err, engine.ErrSyncRunning) {
		t.Fatalf("sync while the lock is held: err = %v (kind %v), want KindConflict wrapping ErrSyncRunning", err, idsync.KindOf(err))
	}
	h.runOK("hr", fullImport)
	if err := lock.Release(h.ctx); err != nil {
		t.Fatal(err)
	}
	// Released: the next sync runs (and meets the kept error again).
	res = h.run("hr", deltaSync)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)
	if res.ErrorCount != 1 || res.Errors[0].CSID != bad.ID {
		t.Errorf("sync after release: errors %+v, want the bad object's error again", res.Errors)
	}
}
