package engine_test

import "testing"

const mergeOutConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: x500, type: string}
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
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: x500, source: x500}
  - name: Out to AD - Exchange Hybrid
    direction: outbound
    connector: ad
    csObjectType: user
    mvObjectType: person
    linkType: Join
    precedence: 200
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: proxyAddresses, expression: 'IIF(IsNullOrEmpty([x500]),NULL,"x500:" & [x500])', merge: MergeCaseInsensitive}
`

// §7.4: an outbound Merge flow adds its values to the target attribute and
// never removes what the target holds; one that yields NULL leaves the
// attribute alone. (Entra's 'Out to AD - User Exchange Hybrid' flows
// proxyAddresses this way: a NULL must not wipe a user's addresses.)
func TestSpec7_4_OutboundMergeKeepsTargetValues(t *testing.T) {
	h := newHarness(t, mergeOutConfig)
	h.add("ad", "user", "a1", "CN=Ada", map[string]string{"employeeId": "1", "proxyAddresses": "SMTP:ada@contoso.com|smtp:ada@old.contoso.com"})
	h.add("hr", "person", "1", "1", map[string]string{"employeeId": "1"})
	h.runOK("ad", fullImport, fullSync)
	h.runOK("hr", fullImport, fullSync)
	ad := h.mustCS("ad", "a1")
	if ad.MVID == "" {
		t.Fatal("the AD object is not joined")
	}
	if ad.PendingExport != nil {
		t.Errorf("a Merge flow yielding NULL staged %s, want nothing", modsText(ad.PendingExport.Mods))
	}

	h.update("hr", "1", "x500", "/o=ExchangeLabs/cn=Recipients/cn=ada")
	h.runOK("hr", deltaImport, deltaSync)
	h.runOK("ad", export, fullImport)
	e, _ := h.sys["ad"].Get("a1")
	want := "SMTP:ada@contoso.com|smtp:ada@old.contoso.com|x500:/o=ExchangeLabs/cn=Recipients/cn=ada"
	if got := str(e.Attrs["proxyAddresses"]); got != want {
		t.Errorf("proxyAddresses in AD = %q, want %q (existing addresses kept, the X500 added)", got, want)
	}
	if o := h.mustCS("ad", "a1"); o.PendingExport != nil {
		t.Errorf("after the confirming import: pending %s, want nothing", modsText(o.PendingExport.Mods))
	}
}
