package engine_test

// Scenario tests for SPEC §12 (taking over existing target objects: hard
// and soft match), after seed 003: an on-premises directory ("ad")
// provisioned into a cloud directory ("aad") that already holds
// cloud-only users, groups and contacts.

import (
	"fmt"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/engine"
)

// matchConfig: MATCHING is replaced by each test's matching block.
const matchConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: sourceAnchor, type: string}
        - {name: userPrincipalName, type: string}
        - {name: proxyAddresses, type: string, multiValued: true}
        - {name: displayName, type: string}
        - {name: objectSid, type: string}
    - name: group
      attributes:
        - {name: sourceAnchor, type: string}
        - {name: proxyAddresses, type: string, multiValued: true}
        - {name: displayName, type: string}
    - name: contact
      attributes:
        - {name: sourceAnchor, type: string}
        - {name: proxyAddresses, type: string, multiValued: true}
        - {name: displayName, type: string}
connectors:
  - name: ad
    type: inmem
    settings: {system: ad}
  - name: aad
    type: inmem
    settings: {system: aad}
MATCHING
rules:
  - name: In from AD (users)
    direction: inbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    linkType: Provision
    precedence: 100
    flows:
      - {target: sourceAnchor, source: consistencyGuid}
      - {target: userPrincipalName, source: userPrincipalName}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
      - {target: objectSid, source: objectSid}
  - name: In from AD (groups)
    direction: inbound
    connector: ad
    csObjectType: group
    mvObjectType: group
    linkType: Provision
    precedence: 101
    flows:
      - {target: sourceAnchor, source: consistencyGuid}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
  - name: In from AD (contacts)
    direction: inbound
    connector: ad
    csObjectType: contact
    mvObjectType: contact
    linkType: Provision
    precedence: 102
    flows:
      - {target: sourceAnchor, source: consistencyGuid}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
  - name: Out to AAD (users)
    direction: outbound
    connector: aad
    csObjectType: user
    mvObjectType: person
    linkType: Provision
    precedence: 200
    flows:
      - {target: dn, expression: '"CN=" & [sourceAnchor] & ",OU=Synced"'}
      - {target: immutableId, source: sourceAnchor}
      - {target: userPrincipalName, source: userPrincipalName}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
      - {target: onPremisesSecurityIdentifier, source: objectSid}
  - name: Out to AAD (groups)
    direction: outbound
    connector: aad
    csObjectType: group
    mvObjectType: group
    linkType: Provision
    precedence: 201
    flows:
      - {target: dn, expression: '"CN=" & [sourceAnchor] & ",OU=Synced"'}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
  - name: Out to AAD (contacts)
    direction: outbound
    connector: aad
    csObjectType: contact
    mvObjectType: contact
    linkType: Provision
    precedence: 202
    flows:
      - {target: dn, expression: '"CN=" & [sourceAnchor] & ",OU=Synced"'}
      - {target: proxyAddresses, source: proxyAddresses}
      - {target: displayName, source: displayName}
`

const defaultMatching = `    matching:
      privilegedAttribute: adminRoles
      securityIdentifierAttribute: onPremisesSecurityIdentifier
`

func matchHarness(t *testing.T, matching string) *harness {
	t.Helper()
	cfg := strings.Replace(matchConfig, "MATCHING\n", matching, 1)
	return newHarness(t, cfg)
}

// onPrem adds an AD user; attrs keys: upn, smtp (primary), sid.
func onPrem(h *harness, guid, upn, smtp, sid string) {
	h.t.Helper()
	a := map[string]string{"consistencyGuid": guid, "userPrincipalName": upn, "displayName": "AD " + guid}
	if smtp != "" {
		a["proxyAddresses"] = "SMTP:" + smtp + "|smtp:alias-" + smtp
	}
	if sid != "" {
		a["objectSid"] = sid
	}
	h.add("ad", "user", "ad-"+guid, "CN="+guid+",OU=Users", a)
}

// cloud adds a cloud object of typ to aad; attrs as given.
func cloud(h *harness, typ, anchor string, attrs map[string]string) {
	h.t.Helper()
	h.add("aad", typ, anchor, "CN="+anchor+",OU=Cloud", attrs)
}

// cycle imports both systems, synchronizes AD then exports to AAD, and
// returns the sync and export runs.
func (h *harness) matchCycle() (sync, exp *idsync.RunResult) {
	h.t.Helper()
	h.runOK("aad", fullImport, fullSync)
	sync = h.runOK("ad", fullImport, fullSync)
	exp = h.run("aad", export)
	return sync, exp
}

// aadBy returns the objects of the aad system whose attr has value (folded).
func (h *harness) aadBy(attr, value string) []idsync.Entry {
	var out []idsync.Entry
	for _, e := range h.sys["aad"].All() {
		for _, v := range e.Attrs[attr] {
			if strings.EqualFold(v.String(), value) {
				out = append(out, e)
				break
			}
		}
	}
	return out
}

// wantOne fails unless exactly one aad object has attr = value, and returns it.
func (h *harness) wantOne(attr, value string) idsync.Entry {
	h.t.Helper()
	got := h.aadBy(attr, value)
	if len(got) != 1 {
		h.t.Fatalf("aad holds %d objects with %s = %q, want exactly 1 (no duplicate): %v", len(got), attr, value, got)
	}
	return got[0]
}

// wantTakenOver checks that the aad object with anchor was taken over by
// the MV object projected from AD user guid and now carries the source
// values, the source anchor included; no other object was created.
func (h *harness) wantTakenOver(anchor, guid string, before int) {
	h.t.Helper()
	o := h.mustCS("aad", anchor)
	mv := h.mustMV("sourceAnchor", guid)
	if o.MVID != mv.ID || o.LinkRule != "Out to AAD (users)" && o.LinkRule != "Out to AAD (groups)" && o.LinkRule != "Out to AAD (contacts)" {
		h.t.Fatalf("aad object %s: link %q rule %q, want %s by the outbound rule", anchor, o.MVID, o.LinkRule, mv.ID)
	}
	if n := len(h.sys["aad"].All()); n != before {
		h.t.Fatalf("aad holds %d objects after the export, want %d (a match creates nothing)", n, before)
	}
	e, ok := h.sys["aad"].Get(idsync.Anchor(anchor))
	if !ok {
		h.t.Fatalf("aad object %s is gone", anchor)
	}
	if got := str(e.Attrs["displayName"]); got != "AD "+guid && !strings.HasPrefix(got, "AD ") {
		h.t.Errorf("aad object %s displayName = %q, want the source value (source-managed now)", anchor, got)
	}
	if got := str(e.Attrs["immutableId"]); o.ObjectType == "user" && got != guid {
		h.t.Errorf("aad object %s immutableId = %q, want the source anchor %q", anchor, got, guid)
	}
	if e.DN != "CN="+guid+",OU=Synced" {
		h.t.Errorf("aad object %s DN = %q, want it renamed by the rule to CN=%s,OU=Synced", anchor, e.DN, guid)
	}
}

// exportErr returns the export error of the aad CS object linked to the
// MV object of source anchor guid.
func (h *harness) exportErr(guid string) *idsync.ExportError {
	h.t.Helper()
	mv := h.mustMV("sourceAnchor", guid)
	for _, o := range h.csObjs("aad") {
		if o.MVID == mv.ID {
			if o.ExportError == nil {
				h.t.Fatalf("aad object %s of %s has no export error (pending %+v)", o.DN, guid, o.PendingExport)
			}
			return o.ExportError
		}
	}
	h.t.Fatalf("no aad object linked to %s", guid)
	return nil
}

func wantConflict(t *testing.T, exp *idsync.RunResult, ee *idsync.ExportError, name string) {
	t.Helper()
	if ee.Type != engine.AttributeValueMustBeUnique || !strings.Contains(ee.Message, "AttributeConflictName="+name+" ") {
		t.Fatalf("export error = %s: %s, want %s with AttributeConflictName=%s", ee.Type, ee.Message, engine.AttributeValueMustBeUnique, name)
	}
	if exp.Status != idsync.StatusCompletedWithErrors || exp.Counters.ExportErrors != 1 || exp.Counters.ExportAdds != 0 {
		t.Fatalf("export run: status %s, errors %d, adds %d; want completed-with-errors, 1 error, no add", exp.Status, exp.Counters.ExportErrors, exp.Counters.ExportAdds)
	}
	found := false
	for _, e := range exp.Errors {
		if e.Type == engine.AttributeValueMustBeUnique && strings.Contains(e.Message, "AttributeConflictName="+name+" ") {
			found = true
		}
	}
	if !found {
		t.Fatalf("export run errors %v do not name %s", exp.Errors, name)
	}
}

// §12 hard match: an existing object whose immutable ID equals the source
// anchor is joined and converted to source-managed, not duplicated.
func TestSpec12_HardMatch(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	cloud(h, "user", "c1", map[string]string{"immutableId": "G1", "userPrincipalName": "someone.else@contoso.com", "displayName": "Cloud Ada", "mobile": "+33 6"})
	onPrem(h, "G1", "ada@contoso.com", "ada@contoso.com", "S-1-5-21-1")

	sync, exp := h.matchCycle()
	if c := sync.Counters; c.HardMatches != 1 || c.SoftMatches != 0 || c.ProvisionedAdds != 0 || c.MatchConflicts != 0 {
		t.Fatalf("sync counters: hard %d soft %d provisioned %d conflicts %d, want 1 0 0 0", c.HardMatches, c.SoftMatches, c.ProvisionedAdds, c.MatchConflicts)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	if exp.Counters.ExportAdds != 0 || exp.Counters.ExportUpdates != 1 {
		t.Errorf("export adds %d updates %d, want 0 1", exp.Counters.ExportAdds, exp.Counters.ExportUpdates)
	}
	h.wantTakenOver("c1", "G1", 1)
	e, _ := h.sys["aad"].Get("c1")
	if str(e.Attrs["userPrincipalName"]) != "ada@contoso.com" || str(e.Attrs["proxyAddresses"]) != "SMTP:ada@contoso.com|smtp:alias-ada@contoso.com" {
		t.Errorf("attributes with a source value not overwritten: %v", e.Attrs)
	}
	if str(e.Attrs["mobile"]) != "+33 6" {
		t.Errorf("mobile = %q: an attribute without a source value keeps the target's", str(e.Attrs["mobile"]))
	}
	// The next cycle is quiet: the object is joined, nothing re-matched.
	sync, exp = h.matchCycle()
	if c := sync.Counters; c.HardMatches+c.SoftMatches+c.ProvisionedAdds != 0 {
		t.Errorf("second cycle counters %+v: nothing to match or provision", c)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	if exp.Counters.ExportAdds != 0 || len(h.sys["aad"].All()) != 1 {
		t.Errorf("second export added %d objects, aad holds %d: want 0 and 1", exp.Counters.ExportAdds, len(h.sys["aad"].All()))
	}
}

// §12 soft match on the user principal name: the matched object gets the
// source anchor so that later matches are hard.
func TestSpec12_SoftMatchUPN(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "Ada@Contoso.com", "displayName": "Cloud Ada"})
	cloud(h, "user", "c2", map[string]string{"userPrincipalName": "bob@contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "", "")

	sync, exp := h.matchCycle()
	if c := sync.Counters; c.SoftMatches != 1 || c.HardMatches != 0 || c.ProvisionedAdds != 0 {
		t.Fatalf("sync counters: soft %d hard %d provisioned %d, want 1 0 0", c.SoftMatches, c.HardMatches, c.ProvisionedAdds)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	h.wantTakenOver("c1", "G1", 2)
	if o := h.mustCS("aad", "c2"); o.MVID != "" {
		t.Errorf("c2 was joined to %s; it matches nothing", o.MVID)
	}
}

// §12 soft match on the primary SMTP address: only the "SMTP:" value
// (upper-case prefix) counts, a secondary "smtp:" never does.
func TestSpec12_SoftMatchPrimarySMTP(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	// a secondary address equal to the source's primary: not a match
	cloud(h, "user", "c0", map[string]string{"userPrincipalName": "x@contoso.onmicrosoft.com", "proxyAddresses": "SMTP:x@contoso.com|smtp:ada@contoso.com"})
	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "ada@contoso.onmicrosoft.com", "proxyAddresses": "SMTP:Ada@Contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "ada@contoso.com", "")

	sync, exp := h.matchCycle()
	if c := sync.Counters; c.SoftMatches != 1 || c.ProvisionedAdds != 0 {
		t.Fatalf("sync counters: soft %d provisioned %d, want 1 0", c.SoftMatches, c.ProvisionedAdds)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	h.wantTakenOver("c1", "G1", 2)
	if o := h.mustCS("aad", "c0"); o.MVID != "" {
		t.Errorf("c0 matched on a secondary smtp: address")
	}
	e, _ := h.sys["aad"].Get("c1")
	if str(e.Attrs["userPrincipalName"]) != "ada@contoso.com" {
		t.Errorf("UPN = %q, want the source's", str(e.Attrs["userPrincipalName"]))
	}
}

// §12 switches: block hard match and block soft match each stop their
// match; the add that follows is refused at export with
// AttributeValueMustBeUnique, so no duplicate is created either.
func TestSpec12_BlockSwitches(t *testing.T) {
	for _, tc := range []struct {
		name     string
		matching string
		cloud    map[string]string
		conflict string
	}{
		{"hard", defaultMatching + "      blockHardMatch: true\n",
			map[string]string{"immutableId": "G1", "userPrincipalName": "cloud-ada@contoso.com"}, engine.ConflictImmutableID},
		{"soft-upn", defaultMatching + "      blockSoftMatch: true\n",
			map[string]string{"userPrincipalName": "ada@contoso.com"}, engine.ConflictUserPrincipalName},
		{"soft-smtp", defaultMatching + "      blockSoftMatch: true\n",
			map[string]string{"userPrincipalName": "cloud-ada@contoso.com", "proxyAddresses": "SMTP:ada@contoso.com"}, engine.ConflictProxyAddresses},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := matchHarness(t, tc.matching)
			cloud(h, "user", "c1", tc.cloud)
			onPrem(h, "G1", "ada@contoso.com", "ada@contoso.com", "")
			sync, exp := h.matchCycle()
			if c := sync.Counters; c.HardMatches+c.SoftMatches != 0 || c.MatchConflicts != 1 || c.ProvisionedAdds != 1 {
				t.Fatalf("sync counters: hard %d soft %d conflicts %d provisioned %d, want 0 0 1 1", c.HardMatches, c.SoftMatches, c.MatchConflicts, c.ProvisionedAdds)
			}
			wantConflict(t, exp, h.exportErr("G1"), tc.conflict)
			if !strings.Contains(h.exportErr("G1").Message, "blocked") {
				t.Errorf("message %q does not say the match is blocked", h.exportErr("G1").Message)
			}
			if o := h.mustCS("aad", "c1"); o.MVID != "" {
				t.Errorf("c1 was taken over although blocked")
			}
			if n := len(h.sys["aad"].All()); n != 1 || len(h.sys["aad"].Exported()) != 0 {
				t.Errorf("aad holds %d objects, %d changes sent; want 1 and none", n, len(h.sys["aad"].Exported()))
			}
			// retried at the next export, still refused, retry count grows
			exp = h.run("aad", export)
			if ee := h.exportErr("G1"); ee.Retries != 2 || exp.Counters.ExportErrors != 1 {
				t.Errorf("retry: retries %d errors %d, want 2 1", ee.Retries, exp.Counters.ExportErrors)
			}
		})
	}
}

// §12: turning a blocking switch off later lets the next synchronization
// take the object over: an add never sent is still a new object.
func TestSpec12_ConflictResolvedThenMatched(t *testing.T) {
	h := matchHarness(t, defaultMatching+"      blockSoftMatch: true\n")
	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "ada@contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "", "")
	_, exp := h.matchCycle()
	wantConflict(t, exp, h.exportErr("G1"), engine.ConflictUserPrincipalName)

	// the administrator sets the cloud object's immutable ID to the source anchor
	h.update("aad", "c1", "immutableId", "G1")
	h.runOK("aad", fullImport, fullSync)
	sync := h.runOK("ad", fullSync)
	if c := sync.Counters; c.HardMatches != 1 {
		t.Fatalf("hard matches = %d after the immutable ID was set, want 1", c.HardMatches)
	}
	wantStatus(t, h.run("aad", export), idsync.StatusSuccess)
	h.wantTakenOver("c1", "G1", 1)
	for _, o := range h.csObjs("aad") {
		if o.Provisioned && o.Anchor == "" {
			t.Errorf("the unexported add %s is still there", o.DN)
		}
	}
}

// §12: an object holding a privileged role is never matched.
func TestSpec12_PrivilegedNotMatched(t *testing.T) {
	for _, tc := range []struct {
		name, matching string
		cloud          map[string]string
		matched        bool
	}{
		{"any-role", defaultMatching, map[string]string{"immutableId": "G1", "adminRoles": "Global Administrator"}, false},
		{"soft", defaultMatching, map[string]string{"userPrincipalName": "ada@contoso.com", "adminRoles": "User Administrator"}, false},
		{"listed-role", defaultMatching + "      privilegedValues: [global administrator]\n", map[string]string{"userPrincipalName": "ada@contoso.com", "adminRoles": "Global Administrator"}, false},
		{"unlisted-role", defaultMatching + "      privilegedValues: [global administrator]\n", map[string]string{"userPrincipalName": "ada@contoso.com", "adminRoles": "Helpdesk"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := matchHarness(t, tc.matching)
			cloud(h, "user", "c1", tc.cloud)
			onPrem(h, "G1", "ada@contoso.com", "", "")
			sync, exp := h.matchCycle()
			if tc.matched {
				if sync.Counters.SoftMatches != 1 {
					t.Fatalf("soft matches = %d, want 1 (the role is not a privileged one)", sync.Counters.SoftMatches)
				}
				h.wantTakenOver("c1", "G1", 1)
				return
			}
			if c := sync.Counters; c.HardMatches+c.SoftMatches != 0 || c.MatchConflicts != 1 {
				t.Fatalf("sync counters: hard %d soft %d conflicts %d, want 0 0 1", c.HardMatches, c.SoftMatches, c.MatchConflicts)
			}
			ee := h.exportErr("G1")
			if ee.Type != engine.AttributeValueMustBeUnique || !strings.Contains(ee.Message, "privileged role (adminRoles)") {
				t.Errorf("export error = %s: %s", ee.Type, ee.Message)
			}
			if exp.Counters.ExportAdds != 0 || len(h.sys["aad"].All()) != 1 {
				t.Errorf("export added %d objects, aad holds %d: want 0 and 1", exp.Counters.ExportAdds, len(h.sys["aad"].All()))
			}
			if h.mustCS("aad", "c1").MVID != "" {
				t.Errorf("the privileged object was taken over")
			}
		})
	}
}

// §12 conflicts: a soft match on the primary SMTP address with an object
// whose immutable ID differs is an export error AttributeValueMustBeUnique
// naming ProxyAddresses, or OnPremiseSecurityIdentifier when the security
// identifier is the same — never a takeover, never a duplicate.
func TestSpec12_SMTPConflict(t *testing.T) {
	for _, tc := range []struct {
		name, cloudSID, conflict string
	}{
		{"other-sid", "S-1-5-21-9", engine.ConflictProxyAddresses},
		{"no-sid", "", engine.ConflictProxyAddresses},
		{"same-sid", "S-1-5-21-1", engine.ConflictSecurityIdentifier},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := matchHarness(t, defaultMatching)
			attrs := map[string]string{"immutableId": "OLD-ANCHOR", "userPrincipalName": "ada.old@contoso.com", "proxyAddresses": "SMTP:ada@contoso.com"}
			if tc.cloudSID != "" {
				attrs["onPremisesSecurityIdentifier"] = tc.cloudSID
			}
			cloud(h, "user", "c1", attrs)
			onPrem(h, "G1", "ada@contoso.com", "ada@contoso.com", "S-1-5-21-1")
			sync, exp := h.matchCycle()
			if c := sync.Counters; c.SoftMatches+c.HardMatches != 0 || c.MatchConflicts != 1 {
				t.Fatalf("sync counters: soft %d hard %d conflicts %d, want 0 0 1", c.SoftMatches, c.HardMatches, c.MatchConflicts)
			}
			ee := h.exportErr("G1")
			wantConflict(t, exp, ee, tc.conflict)
			for _, want := range []string{"AttributeConflictValues=SMTP:ada@contoso.com", `"OLD-ANCHOR" differs from the source anchor "G1"`} {
				if !strings.Contains(ee.Message, want) {
					t.Errorf("message %q lacks %q", ee.Message, want)
				}
			}
			h.wantOne("proxyAddresses", "SMTP:ada@contoso.com")
			if e, _ := h.sys["aad"].Get("c1"); str(e.Attrs["immutableId"]) != "OLD-ANCHOR" {
				t.Errorf("the existing object was changed: %v", e.Attrs)
			}
		})
	}
}

// §12: matching happens only for new objects. A user already provisioned
// whose UPN later becomes a cloud-only user's is not matched again: the
// link stays, the cloud object stays disjoined, and the update is refused
// with AttributeValueMustBeUnique rather than sent.
func TestSpec12_ExistingObjectNotRematched(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	onPrem(h, "G1", "ada@contoso.com", "", "")
	_, exp := h.matchCycle()
	wantStatus(t, exp, idsync.StatusSuccess)
	h.runOK("aad", fullImport, fullSync)
	synced := h.aadBy("immutableId", "G1")
	if len(synced) != 1 {
		t.Fatalf("the provisioned user is not in aad: %v", h.sys["aad"].All())
	}
	own := h.mustCS("aad", string(synced[0].Anchor))

	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "lovelace@contoso.com"})
	h.update("ad", "ad-G1", "userPrincipalName", "lovelace@contoso.com")
	h.runOK("aad", deltaImport, deltaSync)
	sync := h.runOK("ad", deltaImport, deltaSync)
	if c := sync.Counters; c.HardMatches+c.SoftMatches+c.MatchConflicts+c.ProvisionedAdds != 0 {
		t.Fatalf("sync counters %+v: a changed existing object is never matched", c)
	}
	if o := h.mustCS("aad", string(synced[0].Anchor)); o.MVID != own.MVID || o.MVID == "" {
		t.Fatalf("the link moved: %q, was %q", o.MVID, own.MVID)
	}
	if o := h.mustCS("aad", "c1"); o.MVID != "" {
		t.Fatalf("the cloud object was matched by a changed object")
	}
	h.sys["aad"].ResetExported()
	exp = h.run("aad", export)
	wantConflict(t, exp, h.exportErr("G1"), engine.ConflictUserPrincipalName)
	if !strings.Contains(h.exportErr("G1").Message, "never matched again") || len(h.sys["aad"].Exported()) != 0 {
		t.Errorf("message %q, %d changes sent", h.exportErr("G1").Message, len(h.sys["aad"].Exported()))
	}
	h.wantOne("userPrincipalName", "lovelace@contoso.com")
}

// §12 groups and contacts: soft match on the primary SMTP address only
// (never on the immutable ID); a group without mail never matches.
func TestSpec12_GroupsAndContacts(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	// mail-enabled group and contact: matched on proxyAddresses
	cloud(h, "group", "cg1", map[string]string{"proxyAddresses": "SMTP:sales@contoso.com", "displayName": "Cloud Sales"})
	h.add("ad", "group", "ad-GG1", "CN=Sales,OU=Groups", map[string]string{"consistencyGuid": "GG1", "proxyAddresses": "SMTP:Sales@contoso.com", "displayName": "AD GG1"})
	cloud(h, "contact", "cc1", map[string]string{"proxyAddresses": "SMTP:partner@fabrikam.com"})
	h.add("ad", "contact", "ad-GC1", "CN=Partner,OU=Contacts", map[string]string{"consistencyGuid": "GC1", "proxyAddresses": "SMTP:partner@fabrikam.com", "displayName": "AD GC1"})
	// a group without mail with the same name as a cloud group: never matched
	cloud(h, "group", "cg2", map[string]string{"displayName": "AD GG2"})
	h.add("ad", "group", "ad-GG2", "CN=Staff,OU=Groups", map[string]string{"consistencyGuid": "GG2", "displayName": "AD GG2"})
	// a group whose immutable ID would match: hard match does not apply to groups
	cloud(h, "group", "cg3", map[string]string{"immutableId": "GG3", "displayName": "Cloud GG3"})
	h.add("ad", "group", "ad-GG3", "CN=Ops,OU=Groups", map[string]string{"consistencyGuid": "GG3", "displayName": "AD GG3"})

	sync, exp := h.matchCycle()
	if c := sync.Counters; c.SoftMatches != 2 || c.HardMatches != 0 || c.ProvisionedAdds != 2 {
		t.Fatalf("sync counters: soft %d hard %d provisioned %d, want 2 0 2", c.SoftMatches, c.HardMatches, c.ProvisionedAdds)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	h.wantTakenOver("cg1", "GG1", 6)
	h.wantTakenOver("cc1", "GC1", 6)
	for _, a := range []string{"cg2", "cg3"} {
		if o := h.mustCS("aad", a); o.MVID != "" {
			t.Errorf("%s was matched; a group without mail never is", a)
		}
	}
	if e, _ := h.sys["aad"].Get("cg1"); str(e.Attrs["proxyAddresses"]) != "SMTP:Sales@contoso.com" || str(e.Attrs["displayName"]) != "AD GG1" {
		t.Errorf("taken-over group = %v", e.Attrs)
	}
}

// §12: when both a UPN and an SMTP candidate exist and they are two
// different objects, the match is ambiguous: an error, nothing created.
func TestSpec12_AmbiguousSoftMatch(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "ada@contoso.com"})
	cloud(h, "user", "c2", map[string]string{"userPrincipalName": "other@contoso.com", "proxyAddresses": "SMTP:ada@contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "ada@contoso.com", "")
	h.runOK("aad", fullImport, fullSync)
	sync := h.run("ad", fullImport, fullSync)
	if sync.Counters.ProvisionedAdds != 0 || sync.Counters.SoftMatches != 0 {
		t.Fatalf("counters %+v: an ambiguous match provisions nothing", sync.Counters)
	}
	found := false
	for _, e := range sync.Errors {
		if e.Type == "ambiguous-match" && strings.Contains(e.Message, "2 objects of aad match") {
			found = true
		}
	}
	if !found {
		t.Fatalf("sync errors %v lack the ambiguous match", sync.Errors)
	}
	for _, o := range h.csObjs("aad") {
		if o.MVID != "" {
			t.Errorf("%s was linked", o.DN)
		}
	}
}

// §12, §14: preview explains the match decision.
func TestSpec12_PreviewExplainsMatch(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	cloud(h, "user", "c1", map[string]string{"userPrincipalName": "ada@contoso.com"})
	cloud(h, "user", "c2", map[string]string{"immutableId": "OTHER", "proxyAddresses": "SMTP:bob@contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "", "")
	onPrem(h, "G2", "bob@contoso.com", "bob@contoso.com", "")
	h.runOK("aad", fullImport, fullSync)
	h.runOK("ad", fullImport)
	for _, tc := range []struct{ dn, action, detail string }{
		{"CN=G1,OU=Users", "soft-match", `same userPrincipalName "ada@contoso.com"`},
		{"CN=G2,OU=Users", "match-conflict", `immutableId "OTHER" differs from the source anchor "G2"`},
	} {
		pv, err := h.e.Preview(h.ctx, "ad", tc.dn)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		ok := false
		for _, ot := range pv.Outbound {
			got = append(got, fmt.Sprintf("%s %s: %s", ot.Action, ot.DN, ot.Detail))
			if ot.Action == tc.action && strings.Contains(ot.Detail, tc.detail) {
				ok = true
			}
		}
		if !ok {
			t.Errorf("preview of %s: outbound %q, want %s with %q", tc.dn, got, tc.action, tc.detail)
		}
	}
	// nothing was committed by the preview
	for _, o := range h.csObjs("aad") {
		if o.MVID != "" {
			t.Errorf("preview linked %s", o.DN)
		}
	}
}

// Without a matching block nothing is matched: provisioning adds as before.
func TestSpec12_NoMatchingBlock(t *testing.T) {
	h := matchHarness(t, "")
	cloud(h, "user", "c1", map[string]string{"immutableId": "G1", "userPrincipalName": "ada@contoso.com"})
	onPrem(h, "G1", "ada@contoso.com", "", "")
	sync, exp := h.matchCycle()
	if c := sync.Counters; c.HardMatches+c.SoftMatches != 0 || c.ProvisionedAdds != 1 {
		t.Fatalf("counters %+v", c)
	}
	wantStatus(t, exp, idsync.StatusSuccess)
	if len(h.sys["aad"].All()) != 2 {
		t.Errorf("aad holds %d objects, want 2", len(h.sys["aad"].All()))
	}
}

// §12 uniqueness within one export: two new source users with one UPN
// (and no cloud object to match) — the first is created, the second
// refused with AttributeValueMustBeUnique, never a duplicate. A
// security identifier already held in the target is refused alike.
func TestSpec12_UniqueWithinExportAndSID(t *testing.T) {
	h := matchHarness(t, defaultMatching)
	onPrem(h, "G1", "ada@contoso.com", "", "")
	onPrem(h, "G2", "ADA@contoso.com", "", "")
	cloud(h, "user", "c9", map[string]string{"immutableId": "OTHER", "userPrincipalName": "x@contoso.com", "onPremisesSecurityIdentifier": "S-1-5-21-7"})
	onPrem(h, "G3", "bob@contoso.com", "bob@contoso.com", "S-1-5-21-7")
	_, exp := h.matchCycle()
	if exp.Counters.ExportAdds != 1 || exp.Counters.ExportErrors != 2 {
		t.Fatalf("export adds %d errors %d, want 1 and 2 (%v)", exp.Counters.ExportAdds, exp.Counters.ExportErrors, exp.Errors)
	}
	h.wantOne("userPrincipalName", "ada@contoso.com")
	var refused []string
	for _, guid := range []string{"G1", "G2"} {
		mv := h.mustMV("sourceAnchor", guid)
		for _, o := range h.csObjs("aad") {
			if o.MVID == mv.ID && o.ExportError != nil {
				refused = append(refused, guid)
				if !strings.Contains(o.ExportError.Message, "AttributeConflictName=UserPrincipalName ") || !strings.Contains(o.ExportError.Message, "also written to") {
					t.Errorf("%s: export error %q", guid, o.ExportError.Message)
				}
			}
		}
	}
	if len(refused) != 1 {
		t.Errorf("refused %v, want exactly one of G1, G2", refused)
	}
	if ee := h.exportErr("G3"); !strings.Contains(ee.Message, "AttributeConflictName=OnPremiseSecurityIdentifier AttributeConflictValues=S-1-5-21-7") {
		t.Errorf("G3: export error %q", ee.Message)
	}
}
