package engine_test

import (
	"strings"
	"testing"
)

const outboundJoinConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: displayName, type: string}
connectors:
  - name: hr
    type: inmem
    settings: {system: hr}
  - name: app
    type: inmem
    settings: {system: app}
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 1
    flows:
      - {target: employeeId, source: employeeId}
      - {target: displayName, source: displayName}
  - name: Out to app
    direction: outbound
    connector: app
    csObjectType: account
    mvObjectType: person
    linkType: Provision
    precedence: 2
    join: [[{source: employeeId, target: empNo}]]
    flows:
      - {target: dn, expression: '"uid=" & [employeeId]'}
      - {target: empNo, source: employeeId}
      - {target: name, source: displayName}
`

// §7.3 outbound: join rules of an outbound Provision rule find an
// existing disjoined object (case-insensitively unless told otherwise);
// a value held by two objects is an ambiguous join (an error, nothing
// provisioned); no match provisions. The lookups of a page are batched.
func TestSpec7_3_OutboundJoinBeforeProvision(t *testing.T) {
	h := newHarness(t, outboundJoinConfig)
	h.add("app", "account", "a1", "uid=legacy-1", map[string]string{"empNo": "E1", "name": "old"})
	h.add("app", "account", "a2", "uid=legacy-2a", map[string]string{"empNo": "E2"})
	h.add("app", "account", "a3", "uid=legacy-2b", map[string]string{"empNo": "e2"})
	h.add("app", "account", "a4", "uid=legacy-4", map[string]string{"empNo": "E4"})
	for _, id := range []string{"e1", "E2", "E3"} {
		h.add("hr", "person", "hr-"+id, "hr-"+id, map[string]string{"employeeId": id, "displayName": "Person " + id})
	}
	h.runOK("app", fullImport, fullSync)
	res := h.run("hr", fullImport, fullSync)
	if c := res.Counters; c.Joins != 1 || c.ProvisionedAdds != 1 || c.Projections != 3 {
		t.Fatalf("counters: joins %d provisioned %d projections %d, want 1 1 3", c.Joins, c.ProvisionedAdds, c.Projections)
	}
	ambiguous := 0
	for _, e := range res.Errors {
		if e.Type == "ambiguous-join" && strings.Contains(e.Message, "matches 2 objects in app") {
			ambiguous++
		}
	}
	if ambiguous != 1 || len(res.Errors) != 1 {
		t.Fatalf("errors %v, want one ambiguous join", res.Errors)
	}
	mv1 := h.mustMV("employeeId", "e1")
	if o := h.mustCS("app", "a1"); o.MVID != mv1.ID || o.LinkRule != "Out to app" {
		t.Fatalf("a1 link %q rule %q, want %s by Out to app", o.MVID, o.LinkRule, mv1.ID)
	}
	for _, a := range []string{"a2", "a3", "a4"} {
		if o := h.mustCS("app", a); o.MVID != "" {
			t.Errorf("%s joined %s", a, o.MVID)
		}
	}
	wantStatus(t, h.run("app", export), "success")
	if e, _ := h.sys["app"].Get("a1"); str(e.Attrs["name"]) != "Person e1" {
		t.Errorf("joined a1 name = %q, want the flowed value", str(e.Attrs["name"]))
	}
	if n := len(h.sys["app"].All()); n != 5 {
		t.Errorf("app holds %d objects, want 5 (4 + E3 provisioned)", n)
	}
}
