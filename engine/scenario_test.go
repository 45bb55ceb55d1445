package engine_test

import (
	"testing"

	"github.com/idsync/idsync"
)

// baseConfig is HR (source) → metaverse → AD (provisioned target), both
// in-memory systems.
const baseConfig = `
metaverse:
  objectTypes:
    - name: person
      deletion: {when: connector-link-removed, connectors: [hr]}
      attributes:
        - {name: employeeId, type: string}
        - {name: givenName, type: string}
        - {name: sn, type: string}
        - {name: displayName, type: string}
        - {name: department, type: string}
        - {name: manager, type: reference}
connectors:
  - name: hr
    type: inmem
    settings: {system: hr}
  - name: ad
    type: inmem
    settings: {system: ad}
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    scope: [[{attribute: status, operator: EQUAL, value: active}]]
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: displayName, expression: '[givenName] & " " & [sn]'}
      - {target: department, source: department}
      - {target: manager, source: manager}
  - name: Out to AD
    direction: outbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    linkType: Provision
    precedence: 200
    flows:
      - {target: dn, expression: '"CN=" & [displayName] & ",OU=People,DC=x"'}
      - {target: employeeID, source: employeeId}
      - {target: displayName, source: displayName}
      - {target: manager, source: manager}
`

func person(h *harness, id, given, sn, status, manager string) {
	attrs := map[string]string{"employeeId": id, "givenName": given, "sn": sn, "status": status}
	if manager != "" {
		attrs["manager"] = "ref:" + manager
	}
	h.add("hr", "person", id, id, attrs)
}

func TestCycleEndToEnd(t *testing.T) {
	h := newHarness(t, baseConfig)
	person(h, "1", "Ada", "Lovelace", "active", "")
	person(h, "2", "Alan", "Turing", "active", "1")
	person(h, "3", "Grace", "Hopper", "leaver", "1")

	res := h.run("hr", fullImport, fullSync)
	wantStatus(t, res, idsync.StatusSuccess)
	if c := res.Counters; c.ImportAdds != 3 || c.Projections != 2 || c.ProvisionedAdds != 2 {
		t.Fatalf("counters = %+v", c)
	}
	res = h.run("ad", export)
	wantStatus(t, res, idsync.StatusSuccess)
	if res.Counters.ExportAdds != 2 {
		t.Fatalf("export adds = %d", res.Counters.ExportAdds)
	}
	turing := h.sys["ad"].All()
	if len(turing) != 2 {
		t.Fatalf("ad holds %d objects, want 2", len(turing))
	}
	var alan idsync.Entry
	for _, e := range turing {
		if e.DN == "CN=Alan Turing,OU=People,DC=x" {
			alan = e
		}
	}
	if got := str(alan.Attrs["manager"]); got != "CN=Ada Lovelace,OU=People,DC=x" {
		t.Fatalf("exported manager = %q", got)
	}
	// confirmation import
	res = h.run("ad", fullImport, deltaSync)
	wantStatus(t, res, idsync.StatusSuccess)
	for _, o := range h.csObjs("ad") {
		if o.Awaiting != idsync.ConfirmNone || o.PendingExport != nil || o.Provisioned {
			t.Fatalf("ad object %s not confirmed: %+v", o.DN, o)
		}
	}
	mv := h.mvBy("employeeId", "2")
	if mv == nil || str(mv.Attrs["displayName"]) != "Alan Turing" {
		t.Fatalf("mv = %+v", mv)
	}
	lin := mv.Lineage["displayName"]
	if lin.Rule != "In from HR" || lin.Connector != "hr" || lin.RunID == "" {
		t.Fatalf("lineage = %+v", lin)
	}
}
