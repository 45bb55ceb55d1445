package engine_test

import (
	"testing"

	"github.com/idsync/idsync"
)

// §3 step 5 within one page: a reference (of a changed object) to the DN
// an object of the same page is renamed away from no longer resolves, and
// becomes a placeholder; a reference to an object that keeps its DN
// resolves.
func TestSpec3_ReferenceToDNRenamedAwayInPageBecomesPlaceholder(t *testing.T) {
	h := newHarness(t, adOnlyConfig)
	h.add("ad", "person", "a", "cn=A,ou=People,dc=x", map[string]string{"employeeId": "1"})
	h.add("ad", "person", "c", "cn=C,ou=People,dc=x", map[string]string{"employeeId": "3"})
	h.add("ad", "person", "b", "cn=B,ou=People,dc=x", map[string]string{"employeeId": "2",
		"manager": "ref:cn=A,ou=People,dc=x", "seeAlso": "ref:cn=C,ou=People,dc=x"})
	res := h.runOK("ad", fullImport)
	// The parents ou=People,dc=x and dc=x are placeholders.
	if res.Counters.Placeholders != 2 || res.Counters.ImportAdds != 3 {
		t.Fatalf("first import: placeholders %d adds %d, want 2 and 3", res.Counters.Placeholders, res.Counters.ImportAdds)
	}
	if err := h.sys["ad"].Rename("a", "cn=A2,ou=People,dc=x"); err != nil {
		t.Fatal(err)
	}
	h.update("ad", "b", "employeeId", "22") // B changes too: its references are resolved again
	res = h.runOK("ad", fullImport)
	if res.Counters.ImportRenames != 1 || res.Counters.Placeholders != 1 {
		t.Fatalf("second import: renames %d placeholders %d, want 1 and 1", res.Counters.ImportRenames, res.Counters.Placeholders)
	}
	if ph := h.csByDN("ad", "cn=A,ou=People,dc=x"); ph == nil || ph.Kind != idsync.KindPlaceholder {
		t.Fatalf("object at the old DN = %+v, want a placeholder", ph)
	}
	if a := h.mustCS("ad", "a"); a.DN != "cn=A2,ou=People,dc=x" {
		t.Errorf("renamed object's DN = %q", a.DN)
	}
	if c := h.csByDN("ad", "cn=C,ou=People,dc=x"); c == nil || c.Kind != idsync.KindStaging || c.Anchor != "c" {
		t.Errorf("object at C's DN = %+v, want C itself", c)
	}
}
