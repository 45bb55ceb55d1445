package engine_test

// Scenario tests for SPEC §7 (sync rules): scoping end to end (§7.2),
// join rules (§7.3), precedence, lineage and the flow options (§7.4,
// §7.5). The operators themselves are table-tested in
// scope_internal_test.go.

import (
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// §7.2 and §4.2 end to end: scope changes move an object in and out, on
// an inbound rule (userAccountControl ISNOTBITSET 2: 512 in, 514 out)
// and on an outbound rule (department STARTSWITH IT).
func TestSpec7_ScopeChangesMoveObjectsInAndOut(t *testing.T) {
	h := newHarness(t, `
metaverse:
  objectTypes:
    - name: person
      deletion: {when: last-link}
      attributes:
        - {name: employeeId, type: string}
        - {name: displayName, type: string}
        - {name: department, type: string}
connectors:
  - name: hr
    type: inmem
    settings: {system: hr}
  - name: ad
    type: inmem
    settings: {system: ad}
rules:
  - name: Enabled users
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 100
    scope: [[{attribute: userAccountControl, operator: ISNOTBITSET, value: "2"}]]
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: displayName, source: name}
      - {target: department, source: department}
  - name: IT to AD
    direction: outbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    linkType: Provision
    precedence: 200
    scope: [[{attribute: department, operator: STARTSWITH, value: IT}]]
    flows:
      - {target: dn, expression: '"CN=" & [displayName] & ",DC=x"'}
      - {target: employeeID, source: employeeId}
`)
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1", "name": "Ada", "department": "IT-Ops", "userAccountControl": "512"})
	res := h.runOK("hr", fullImport, fullSync)
	if c := res.Counters; c.Projections != 1 || c.ProvisionedAdds != 1 {
		t.Fatalf("512, IT-Ops: projections %d provisioned %d, want 1 and 1", c.Projections, c.ProvisionedAdds)
	}
	mv := h.mustMV("employeeId", "1")
	h.runOK("ad", export)
	h.runOK("ad", fullImport, deltaSync)
	first := h.csByDN("ad", "CN=Ada,DC=x")

	// Out of the outbound scope: deprovisioned, the MV object stays.
	h.update("hr", "1", "department", "Sales")
	res = h.runOK("hr", deltaImport, deltaSync)
	if c := res.Counters; c.Deprovisioned != 1 || c.MVDeletes != 0 {
		t.Errorf("Sales: deprovisioned %d MV deletes %d, want 1 and 0", c.Deprovisioned, c.MVDeletes)
	}
	if o := h.csByID(first.ID); o.MVID != "" || o.PendingExport == nil || o.PendingExport.Op != idsync.OpDelete {
		t.Errorf("AD object out of scope: link %q pending %+v, want disjoined with a pending delete", o.MVID, o.PendingExport)
	}
	h.runOK("ad", export)
	h.runOK("ad", fullImport, deltaSync)

	// Back in the outbound scope: provisioned again.
	h.update("hr", "1", "department", "IT-Dev")
	res = h.runOK("hr", deltaImport, deltaSync)
	if res.Counters.ProvisionedAdds != 1 {
		t.Errorf("IT-Dev: provisioned %d, want 1", res.Counters.ProvisionedAdds)
	}
	second := h.csByDN("ad", "CN=Ada,DC=x")
	if second == nil || second.ID == first.ID || second.MVID != mv.ID || second.PendingExport == nil || second.PendingExport.Op != idsync.OpAdd {
		t.Fatalf("AD object back in scope = %+v, want a new export object linked to %s", second, mv.ID)
	}

	// 514: out of the inbound scope: filtered disconnector, the MV object
	// loses its last link and goes, the unexported AD object with it.
	h.update("hr", "1", "userAccountControl", "514")
	res = h.runOK("hr", deltaImport, deltaSync)
	if c := res.Counters; c.FilteredDisconnectors != 1 || c.MVDeletes != 1 {
		t.Errorf("514: filtered disconnectors %d MV deletes %d, want 1 and 1", c.FilteredDisconnectors, c.MVDeletes)
	}
	if h.mvByID(mv.ID) != nil || len(h.mvs()) != 0 {
		t.Errorf("the MV object survives leaving the scope of its only rule")
	}
	if o := h.mustCS("hr", "1"); o.MVID != "" {
		t.Errorf("hr object still linked to %s", o.MVID)
	}
	if o := h.csByID(second.ID); o != nil {
		t.Errorf("never-exported AD object survives its MV object: %+v", o)
	}

	// 512 again: projected again, as a new MV object.
	h.update("hr", "1", "userAccountControl", "512")
	res = h.runOK("hr", deltaImport, deltaSync)
	if res.Counters.Projections != 1 {
		t.Errorf("512 again: projections %d, want 1", res.Counters.Projections)
	}
	if again := h.mustMV("employeeId", "1"); again.ID == mv.ID {
		t.Errorf("the projection reused the deleted MV object's ID")
	}
}

// joinConfig: HR projects; the badge system joins by mail, with a link
// type and a scope that tests set.
const joinConfig = `
metaverse:
  objectTypes:
    - name: person
      deletion: {when: connector-link-removed, connectors: [hr]}
      attributes:
        - {name: employeeId, type: string}
        - {name: mail, type: string}
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
      - {target: mail, source: mail}
  - name: Badge by mail
    direction: inbound
    connector: badge
    csObjectType: badge
    mvObjectType: person
    linkType: LINKTYPE
    precedence: 110
    scope: [[{attribute: status, operator: EQUAL, value: valid}]]
    join: [[{source: mail, target: mail}]]
    flows:
      - {target: badgeNumber, source: number}
`

func hrMail(h *harness, id, mail string) {
	h.add("hr", "person", id, id, map[string]string{"employeeId": id, "mail": mail})
}

func badgeMail(h *harness, anchor, mail, status string) {
	h.add("badge", "badge", anchor, anchor, map[string]string{"mail": mail, "number": "B-" + anchor, "status": status})
}

// §7.3: a join group matching two MV objects is an error on that
// object, never a guess; it stays disjoined with its pending import.
func TestSpec7_AmbiguousJoinIsAnError(t *testing.T) {
	h := newHarness(t, strings.Replace(joinConfig, "LINKTYPE", "Join", 1))
	hrMail(h, "1", "shared@x")
	hrMail(h, "2", "shared@x")
	h.runOK("hr", fullImport, fullSync)
	badgeMail(h, "b1", "shared@x", "valid")
	res := h.run("badge", fullImport, fullSync)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)
	b1 := h.mustCS("badge", "b1")
	if len(res.Errors) != 1 {
		t.Fatalf("errors = %+v, want 1", res.Errors)
	}
	if e := res.Errors[0]; e.Type != "ambiguous-join" || e.Rule != "Badge by mail" || e.CSID != b1.ID || !strings.Contains(e.Message, "matches 2 metaverse objects") {
		t.Errorf("error = %+v", e)
	}
	if c := res.Counters; c.Joins != 0 || c.Projections != 0 {
		t.Errorf("joins %d projections %d, want 0 and 0", c.Joins, c.Projections)
	}
	if b1.MVID != "" || b1.PendingImport != idsync.ImportAdd {
		t.Fatalf("b1 = link %q pending %v, want disjoined with its pending add", b1.MVID, b1.PendingImport)
	}
	for _, mv := range h.mvs() {
		if len(mv.Attrs["badgeNumber"]) != 0 {
			t.Errorf("MV object %s got a badge number: a guess", mv.ID)
		}
	}
	// The pending import is kept: the next delta sync tries again.
	res = h.run("badge", deltaSync)
	if res.ErrorCount != 1 || res.Errors[0].Type != "ambiguous-join" {
		t.Errorf("next delta sync errors = %+v, want the ambiguous join again", res.Errors)
	}
}

// §7.3: at most one in-scope rule with join rules may apply to an object.
func TestSpec7_TwoJoinRulesInScopeIsAnError(t *testing.T) {
	cfg := strings.Replace(joinConfig, "LINKTYPE", "Join", 1) + `  - name: Badge by number
    direction: inbound
    connector: badge
    csObjectType: badge
    mvObjectType: person
    linkType: Join
    precedence: 120
    join: [[{source: employeeNumber, target: employeeId}]]
`
	h := newHarness(t, cfg)
	hrMail(h, "1", "ada@x")
	h.runOK("hr", fullImport, fullSync)
	h.add("badge", "badge", "b1", "b1", map[string]string{"mail": "ada@x", "employeeNumber": "1", "status": "valid"})
	res := h.run("badge", fullImport, fullSync)
	wantStatus(t, res, idsync.StatusCompletedWithErrors)
	b1 := h.mustCS("badge", "b1")
	if len(res.Errors) != 1 || res.Errors[0].Type != "two-join-rules" || res.Errors[0].CSID != b1.ID ||
		!strings.Contains(res.Errors[0].Message, "Badge by mail, Badge by number") {
		t.Fatalf("errors = %+v, want one two-join-rules error naming both rules", res.Errors)
	}
	if b1.MVID != "" || b1.PendingImport != idsync.ImportAdd {
		t.Errorf("b1 = link %q pending %v, want disjoined with its pending add", b1.MVID, b1.PendingImport)
	}

	// Out of the first rule's scope, only one rule with join rules applies: it joins.
	h.update("badge", "b1", "status", "revoked")
	res = h.runOK("badge", deltaImport, deltaSync)
	if b1 := h.mustCS("badge", "b1"); b1.MVID == "" || b1.LinkRule != "Badge by number" || res.Counters.Joins != 1 {
		t.Errorf("b1 = link %q rule %q joins %d, want joined by Badge by number", b1.MVID, b1.LinkRule, res.Counters.Joins)
	}
}

// §7.3: a StickyJoin link survives its rule's scope no longer holding; a
// Join link does not.
func TestSpec7_StickyJoinSurvivesScope(t *testing.T) {
	for _, tc := range []struct {
		linkType string
		sticky   bool
	}{{"StickyJoin", true}, {"Join", false}} {
		t.Run(tc.linkType, func(t *testing.T) {
			h := newHarness(t, strings.Replace(joinConfig, "LINKTYPE", tc.linkType, 1))
			hrMail(h, "1", "ada@x")
			h.runOK("hr", fullImport, fullSync)
			mv := h.mustMV("employeeId", "1")
			badgeMail(h, "b1", "ada@x", "valid")
			res := h.runOK("badge", fullImport, fullSync)
			b1 := h.mustCS("badge", "b1")
			if res.Counters.Joins != 1 || b1.MVID != mv.ID || b1.LinkType.String() != tc.linkType {
				t.Fatalf("b1 = link %q type %v joins %d, want joined by a %s link", b1.MVID, b1.LinkType, res.Counters.Joins, tc.linkType)
			}

			h.update("badge", "b1", "status", "revoked")
			res = h.runOK("badge", deltaImport, deltaSync)
			b1 = h.mustCS("badge", "b1")
			if tc.sticky {
				if b1.MVID != mv.ID || res.Counters.FilteredDisconnectors != 0 {
					t.Errorf("sticky link: link %q filtered disconnectors %d, want the link kept", b1.MVID, res.Counters.FilteredDisconnectors)
				}
			} else if b1.MVID != "" || res.Counters.FilteredDisconnectors != 1 {
				t.Errorf("join link: link %q filtered disconnectors %d, want the link removed", b1.MVID, res.Counters.FilteredDisconnectors)
			}
			if h.mvByID(mv.ID) == nil {
				t.Errorf("the MV object was deleted; only its HR link decides")
			}
		})
	}
}

// precedenceConfig: badge (precedence 50) outranks HR (100).
const precedenceConfig = `
metaverse:
  objectTypes:
    - name: person
      deletion: {when: last-link}
      attributes:
        - {name: employeeId, type: string}
        - {name: phone, type: string}
        - {name: color, type: string}
        - {name: startDate, type: string}
        - {name: emails, type: string, multiValued: true}
        - {name: aliases, type: string, multiValued: true}
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
      - {target: phone, source: phone}
      - {target: startDate, source: startDate, applyOnce: true}
      - {target: emails, source: mail, merge: Merge}
      - {target: aliases, source: alias, merge: MergeCaseInsensitive}
  - name: Badge
    direction: inbound
    connector: badge
    csObjectType: badge
    mvObjectType: person
    linkType: Join
    precedence: 50
    join: [[{source: employeeNumber, target: employeeId}]]
    flows:
      - {target: phone, expression: 'IIF([state]="wipe", AuthoritativeNull, IIF(IsPresent([phone]), [phone], NULL))'}
      - {target: color, expression: 'IIF(IsPresent([color]), [color], IgnoreThisFlow)'}
      - {target: emails, source: mail, merge: Merge}
      - {target: aliases, source: alias, merge: MergeCaseInsensitive}
`

// §7.5: the highest-precedence rule with a value wins; a NULL falls
// through to the next rule; AuthoritativeNull wins and clears; every
// value keeps its lineage, which changes with the winner.
func TestSpec7_PrecedenceFallThroughAuthoritativeNullAndLineage(t *testing.T) {
	h := newHarness(t, precedenceConfig)
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1", "phone": "111"})
	run1 := h.runOK("hr", fullImport, fullSync)
	hr := h.mustCS("hr", "1")
	mv := h.mustMV("employeeId", "1")
	phone := func() (string, idsync.Lineage) {
		t.Helper()
		m := h.mvByID(mv.ID)
		return str(m.Attrs["phone"]), m.Lineage["phone"]
	}

	// The badge rule outranks HR but yields NULL: HR's value stays.
	h.add("badge", "badge", "b1", "b1", map[string]string{"employeeNumber": "1"})
	h.runOK("badge", fullImport, fullSync)
	b1 := h.mustCS("badge", "b1")
	if b1.MVID != mv.ID {
		t.Fatalf("badge object not joined")
	}
	if v, lin := phone(); v != "111" || lin.Rule != "In from HR" || lin.Connector != "hr" || lin.CSID != hr.ID || lin.RunID != run1.ID {
		t.Errorf("phone = %q lineage %+v, want 111 from In from HR / hr / %s / run %s", v, lin, hr.ID, run1.ID)
	}

	// The badge rule yields a value: it wins, and the lineage says so.
	h.update("badge", "b1", "phone", "222")
	run3 := h.runOK("badge", deltaImport, deltaSync)
	if v, lin := phone(); v != "222" || lin.Rule != "Badge" || lin.Connector != "badge" || lin.CSID != b1.ID || lin.RunID != run3.ID || lin.Flow == "" {
		t.Errorf("phone = %q lineage %+v, want 222 from Badge / badge / %s / run %s", v, lin, b1.ID, run3.ID)
	}

	// Back to NULL: HR's value again, with a new lineage.
	h.update("badge", "b1", "phone")
	run4 := h.runOK("badge", deltaImport, deltaSync)
	if v, lin := phone(); v != "111" || lin.Rule != "In from HR" || lin.CSID != hr.ID || lin.RunID != run4.ID {
		t.Errorf("phone = %q lineage %+v, want 111 from In from HR in run %s", v, lin, run4.ID)
	}

	// AuthoritativeNull wins and clears, although HR has a value.
	h.update("badge", "b1", "state", "wipe")
	h.runOK("badge", deltaImport, deltaSync)
	if v, lin := phone(); v != "" || lin.Rule != "" {
		t.Errorf("phone = %q lineage %+v, want no value (AuthoritativeNull)", v, lin)
	}
	// HR syncing again does not bring it back.
	h.update("hr", "1", "phone", "333")
	h.runOK("hr", deltaImport, deltaSync)
	if v, _ := phone(); v != "" {
		t.Errorf("phone = %q after HR changed, want no value (AuthoritativeNull still wins)", v)
	}
}

// §7.4: IgnoreThisFlow contributes nothing and leaves the target as it
// is, where a NULL would clear it.
func TestSpec7_IgnoreThisFlow(t *testing.T) {
	h := newHarness(t, precedenceConfig)
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1"})
	h.runOK("hr", fullImport, fullSync)
	h.add("badge", "badge", "b1", "b1", map[string]string{"employeeNumber": "1", "color": "red"})
	h.runOK("badge", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")
	if got := str(mv.Attrs["color"]); got != "red" {
		t.Fatalf("color = %q, want red", got)
	}
	h.update("badge", "b1", "color")
	h.update("badge", "b1", "phone", "1") // a second change, so that the MV object is recomputed
	h.runOK("badge", deltaImport, deltaSync)
	mv = h.mvByID(mv.ID)
	if got := str(mv.Attrs["color"]); got != "red" {
		t.Errorf("color = %q after the flow said IgnoreThisFlow, want red kept", got)
	}
	if got := str(mv.Attrs["phone"]); got != "1" {
		t.Errorf("phone = %q, want 1 (the object was recomputed)", got)
	}
}

// §7.4: an apply-once flow sets the target only when the target object
// is created, inbound (projection) and outbound (provisioning).
func TestSpec7_ApplyOnce(t *testing.T) {
	h := newHarness(t, precedenceConfig)
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1", "startDate": "2020-01-01", "phone": "1"})
	h.runOK("hr", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")
	if got := str(mv.Attrs["startDate"]); got != "2020-01-01" {
		t.Fatalf("startDate at projection = %q", got)
	}
	h.update("hr", "1", "startDate", "2024-01-01")
	h.update("hr", "1", "phone", "2")
	h.runOK("hr", deltaImport, deltaSync)
	mv = h.mvByID(mv.ID)
	if got := str(mv.Attrs["startDate"]); got != "2020-01-01" || str(mv.Attrs["phone"]) != "2" {
		t.Errorf("startDate = %q phone %q after a change, want 2020-01-01 kept and phone 2", got, str(mv.Attrs["phone"]))
	}

	// Outbound: the initial description is set when provisioning only.
	h2 := newHarness(t, baseConfig+"      - {target: description, source: displayName, applyOnce: true}\n")
	o := provisioned(t, h2)
	if e, _ := h2.sys["ad"].Get(o.Anchor); str(e.Attrs["description"]) != "Ada Lovelace" {
		t.Fatalf("description at provisioning = %q, want Ada Lovelace", str(e.Attrs["description"]))
	}
	h2.update("hr", "1", "sn", "King")
	h2.runOK("hr", deltaImport, deltaSync)
	pe := h2.csByID(o.ID).PendingExport
	if pe == nil || modsText(pe.Mods) != "displayName replace Ada King" {
		t.Errorf("pending export = %+v, want only displayName (description applies once)", pe)
	}
}

// §7.4: Merge and MergeCaseInsensitive take the union of every
// contribution on a multi-valued attribute.
func TestSpec7_MergeTypes(t *testing.T) {
	h := newHarness(t, precedenceConfig)
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1", "mail": "a@x|B@x", "alias": "Ada|Lovelace"})
	h.runOK("hr", fullImport, fullSync)
	h.add("badge", "badge", "b1", "b1", map[string]string{"employeeNumber": "1", "mail": "b@x|c@x", "alias": "ada|AL"})
	h.runOK("badge", fullImport, fullSync)
	mv := h.mustMV("employeeId", "1")
	sorted := func(vs []idsync.Value) string {
		ss := strings.Split(str(vs), "|")
		slices.Sort(ss)
		return strings.Join(ss, "|")
	}
	if got, want := sorted(mv.Attrs["emails"]), "B@x|a@x|b@x|c@x"; got != want {
		t.Errorf("emails (Merge) = %q, want %q", got, want)
	}
	// Badge outranks HR: its "ada" is kept and HR's "Ada" is the same value.
	if got, want := sorted(mv.Attrs["aliases"]), "AL|Lovelace|ada"; got != want {
		t.Errorf("aliases (MergeCaseInsensitive) = %q, want %q", got, want)
	}
	// A source dropping a value drops it from the union.
	h.update("badge", "b1", "mail", "c@x")
	h.runOK("badge", deltaImport, deltaSync)
	if got, want := sorted(h.mvByID(mv.ID).Attrs["emails"]), "B@x|a@x|c@x"; got != want {
		t.Errorf("emails after badge dropped b@x = %q, want %q", got, want)
	}
}
