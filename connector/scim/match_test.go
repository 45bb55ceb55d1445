package scim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// matchYAML is engineYAML with the app taking a matching: block: the
// SCIM externalId holds the source anchor (the employee ID), userName is
// the user principal name, and the app has no proxy addresses.
var matchYAML = strings.Replace(engineYAML, "      auth: {type: bearer, token: {env: SCIM_ENGINE_TOKEN}}\n",
	"      auth: {type: bearer, token: {env: SCIM_ENGINE_TOKEN}}\n"+
		"    matching: {immutableIdAttribute: externalId, userPrincipalNameAttribute: userName, proxyAddressesAttribute: none, users: [User]}\n", 1)

// TestSpec12_HardAndSoftMatchIntoSCIMMY: the first provisioning into a
// real SCIM application that already holds users takes them over instead
// of duplicating them: a hard match on externalId = source anchor (its
// userName is then overwritten), a soft match on userName (the user then
// gets the source anchor), a user whose externalId belongs to another
// source is never taken over (the add is refused as
// AttributeValueMustBeUnique, nothing created), and a new person is
// created.
func TestSpec12_HardAndSoftMatchIntoSCIMMY(t *testing.T) {
	tg := scimmy(t)
	if matchYAML == engineYAML {
		t.Fatal("the matching block was not inserted")
	}
	_, hr, run := engineOn(t, tg, matchYAML)
	user := "urn:ietf:params:scim:schemas:core:2.0:User"
	hardID := post(t, tg, "/Users", map[string]any{"schemas": []any{user}, "userName": "old.name@example.com", "externalId": "E1", "displayName": "Old"})
	softID := post(t, tg, "/Users", map[string]any{"schemas": []any{user}, "userName": "soft@example.com", "displayName": "Soft (cloud)"})
	otherID := post(t, tg, "/Users", map[string]any{"schemas": []any{user}, "userName": "taken@example.com", "externalId": "OTHER", "displayName": "Someone else"})
	for _, p := range [][3]string{{"E1", "hard@example.com", "Hard"}, {"E2", "SOFT@example.com", "Soft"}, {"E3", "taken@example.com", "Taken"}, {"E4", "new@example.com", "New"}} {
		hr.Add(idsync.Entry{ObjectType: "person", Anchor: idsync.Anchor(p[0]), DN: p[0], Attrs: idsync.Attrs{
			"employeeId": {idsync.String(p[0])}, "userName": {idsync.String(p[1])}, "displayName": {idsync.String(p[2])}}})
	}
	run("app", idsync.StepFullImport)
	sync := run("hr", idsync.StepFullImport, idsync.StepFullSync)
	if c := sync.Counters; c.HardMatches != 1 || c.SoftMatches != 1 || c.MatchConflicts != 1 {
		t.Errorf("sync counters: hard %d, soft %d, conflicts %d; want 1, 1, 1", c.HardMatches, c.SoftMatches, c.MatchConflicts)
	}
	exp := run("app", idsync.StepExport)
	if exp.ErrorCount != 1 || exp.Errors[0].Type != "AttributeValueMustBeUnique" {
		t.Errorf("export: %s, errors %+v; want one AttributeValueMustBeUnique (the user of another source)", exp.Status, exp.Errors)
	}
	run("app", idsync.StepFullImport)

	users := listUsers(t, tg)
	if len(users) != 4 {
		t.Fatalf("SCIMMY holds %d users, want 4 (3 that were there, 1 new): %v", len(users), users)
	}
	want := map[string][3]string{ // id: userName, externalId, displayName
		hardID:  {"hard@example.com", "E1", "Hard"},
		softID:  {"SOFT@example.com", "E2", "Soft"},
		otherID: {"taken@example.com", "OTHER", "Someone else"},
	}
	var created int
	for _, u := range users {
		got := [3]string{u.UserName, u.ExternalID, u.DisplayName}
		if w, ok := want[u.ID]; ok {
			if !strings.EqualFold(got[0], w[0]) || got[1] != w[1] || got[2] != w[2] {
				t.Errorf("user %s = %v, want %v", u.ID, got, w)
			}
			continue
		}
		created++
		if got != [3]string{"new@example.com", "E4", "New"} {
			t.Errorf("created user %s = %v, want the new person E4", u.ID, got)
		}
	}
	if created != 1 {
		t.Errorf("%d users created, want 1", created)
	}

	// The next cycle has nothing to send: the dn flow's name ("new-E1")
	// is no rename for an application whose DN is the SCIM id.
	again := run("hr", idsync.StepFullSync)
	if again.Counters.Renames != 0 || again.Counters.ProvisionedAdds != 0 {
		t.Errorf("second sync: %d renames, %d provisions; want none", again.Counters.Renames, again.Counters.ProvisionedAdds)
	}
	exp = run("app", idsync.StepExport)
	if c := exp.Counters; c.ExportAdds+c.ExportDeletes+c.ExportRenames != 0 {
		t.Errorf("second export: %d adds, %d deletes, %d renames; want none", c.ExportAdds, c.ExportDeletes, c.ExportRenames)
	}
	if after := listUsers(t, tg); len(after) != 4 {
		t.Errorf("after the second cycle SCIMMY holds %d users, want the same 4", len(after))
	}
}

type scimUser struct {
	ID          string `json:"id"`
	UserName    string `json:"userName"`
	ExternalID  string `json:"externalId"`
	DisplayName string `json:"displayName"`
}

// listUsers reads every user of the target by a plain HTTP request.
func listUsers(t *testing.T, tg target) []scimUser {
	t.Helper()
	req, _ := http.NewRequest("GET", tg.url+"/Users?"+url.Values{"count": {"1000"}}.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+tg.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Resources []scimUser `json:"Resources"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET /Users: %d %v", resp.StatusCode, err)
	}
	return out.Resources
}
