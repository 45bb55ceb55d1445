package host_test

import (
	"context"
	"database/sql"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	connectorhost "github.com/idsync/idsync/examples/connector-host"
)

// twoConnectors is an idsync configuration of two connectors of
// different types: app, the sql connector on the example's users table
// (anchor: the database-assigned id), and crm, a CSV file (anchor: the
// userName).
const twoConnectors = `
store: sqlite:idsync.db
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: userName, type: string}
connectors:
  - name: app
    type: sql
    settings:
      driver: sqlite
      dsn: app.db
      objectTypes:
        - {name: person, table: users, anchor: [id], generated: true, delta: {mode: snapshot}}
  - name: crm
    type: csv
    settings:
      path: crm.csv
      objectType: contact
      anchor: [userName]
      columns: [userName, displayName, mail, phone]
`

// twoEndpoints serves both, with different mappings.
const twoEndpoints = `
token: {env: IDSYNC_HOST_TOKEN}
refresh: 0s
endpoints:
  - connector: app
    path: /scim/app
    users:
      objectType: person
      attributes:
        userName: user_name
        displayName: display_name
        emails[type eq "work"].value: mail
        title: title
  - connector: crm
    users:
      objectType: contact
      attributes:
        userName: userName
        displayName: displayName
        emails[type eq "work"].value: mail
        phoneNumbers[type eq "work"].value: phone
`

// TestSpec11_HostServesSeveralConnectors: one host serves two connectors
// (SPEC §11: "one or more configured connectors"), each at its endpoint
// with its own mapping; every read and write reaches the connector of the
// endpoint it was sent to, and only that one.
func TestSpec11_HostServesSeveralConnectors(t *testing.T) {
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	os.WriteFile(filepath.Join(dir, "config", "idsync.yaml"), []byte(twoConnectors), 0o644)
	os.WriteFile(filepath.Join(dir, "host.yaml"), []byte(twoEndpoints), 0o644)
	os.WriteFile(filepath.Join(dir, "config", "crm.csv"), []byte("userName,displayName,mail,phone\nbob@example.com,Bob Crm,bob@example.com,+1 555 0100\n"), 0o644)
	dbPath := filepath.Join(dir, "config", "app.db")
	if err := connectorhost.CreateDatabase(context.Background(), dbPath); err != nil {
		t.Fatal(err)
	}
	sdb, err := sql.Open("sqlite", dbPath+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer sdb.Close()
	db := &appDB{db: sdb}
	crmRow := func(userName string) string {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, "config", "crm.csv"))
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, userName+",") {
				return l
			}
		}
		return ""
	}
	hs, _ := startHost(t, dir)
	app, crm := hs.URL+"/scim/app", hs.URL+"/scim/crm" // crm: the default path /scim/<connector>
	names := func(base string) []string {
		t.Helper()
		st, lr := entra(t, "GET", base+"/Users", "")
		if st != 200 {
			t.Fatalf("list %s: %d %v", base, st, lr)
		}
		var out []string
		for _, r := range lr["Resources"].([]any) {
			out = append(out, r.(map[string]any)["userName"].(string))
		}
		return out
	}

	// Each endpoint lists its own system's users.
	if got := names(app); strings.Join(got, ",") != "ada@example.com" {
		t.Errorf("app lists %v, want ada", got)
	}
	if got := names(crm); strings.Join(got, ",") != "bob@example.com" {
		t.Errorf("crm lists %v, want bob", got)
	}
	// Each answers by its own ids, and not by the other's.
	if st, u := entra(t, "GET", crm+"/Users/bob@example.com", ""); st != 200 || u["phoneNumbers"] == nil {
		t.Errorf("crm user bob: %d %v", st, u)
	}
	if st, _ := entra(t, "GET", app+"/Users/bob@example.com", ""); st != 404 {
		t.Errorf("bob's crm id at the app endpoint: %d, want 404", st)
	}
	if st, _ := entra(t, "GET", crm+"/Users/1", ""); st != 404 {
		t.Errorf("ada's app id at the crm endpoint: %d, want 404", st)
	}
	// Each endpoint's schema is its own mapping.
	_, sch := entra(t, "GET", crm+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
	if s := schemaAttrs(sch); !strings.Contains(s, "phoneNumbers") || strings.Contains(s, "title") {
		t.Errorf("crm's User schema has %s, want phoneNumbers and no title", s)
	}
	_, sch = entra(t, "GET", app+"/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", "")
	if s := schemaAttrs(sch); strings.Contains(s, "phoneNumbers") || !strings.Contains(s, "title") {
		t.Errorf("app's User schema has %s, want title and no phoneNumbers", s)
	}

	// One userName created at both: each system gets its row, under its
	// own anchor (the uniqueness of userName is per endpoint).
	st, a := entra(t, "POST", app+"/Users", `{"userName":"carol@example.com","displayName":"Carol App","title":"Engineer"}`)
	if st != 201 || a["id"] != "2" {
		t.Fatalf("create at app: %d %v, want id 2", st, a)
	}
	st, c := entra(t, "POST", crm+"/Users", `{"userName":"carol@example.com","displayName":"Carol Crm","emails":[{"type":"work","value":"carol@crm.example.com"}]}`)
	if st != 201 || c["id"] != "carol@example.com" {
		t.Fatalf("create at crm: %d %v, want id carol@example.com", st, c)
	}
	if row := db.row(t, "2"); row != "carol@example.com,,,,Carol App,,Engineer,,true" {
		t.Errorf("app row 2: %q", row)
	}
	if row := crmRow("carol@example.com"); row != "carol@example.com,Carol Crm,carol@crm.example.com," {
		t.Errorf("crm row: %q", row)
	}
	// A PATCH at crm changes the CSV file only.
	if st, u := entra(t, "PATCH", crm+"/Users/carol@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
		"Operations":[{"op":"replace","path":"displayName","value":"Carol C."}]}`); st != 200 || u["displayName"] != "Carol C." {
		t.Fatalf("patch at crm: %d %v", st, u)
	}
	if row := crmRow("carol@example.com"); row != "carol@example.com,Carol C.,carol@crm.example.com," {
		t.Errorf("crm row after its PATCH: %q", row)
	}
	if row := db.row(t, "2"); row != "carol@example.com,,,,Carol App,,Engineer,,true" {
		t.Errorf("app row 2 after crm's PATCH: %q", row)
	}
	// A DELETE at app removes the table's row only.
	if st, _ := entra(t, "DELETE", app+"/Users/2", ""); st != 204 {
		t.Fatalf("delete at app: %d", st)
	}
	if row := db.row(t, "2"); row != "" {
		t.Errorf("app row 2 after delete: %q", row)
	}
	if row := crmRow("carol@example.com"); row == "" {
		t.Error("crm's carol is gone after app's delete")
	}
	filter := "/Users?" + url.Values{"filter": {`userName eq "carol@example.com"`}}.Encode()
	if _, lr := entra(t, "GET", app+filter, ""); lr["totalResults"] != float64(0) {
		t.Errorf("app finds carol after her delete: %v", lr)
	}
	if _, lr := entra(t, "GET", crm+filter, ""); lr["totalResults"] != float64(1) {
		t.Errorf("crm lookup of carol: %v", lr)
	}
	// The token opens both; without it, neither.
	for _, base := range []string{app, crm} {
		resp, err := http.Get(base + "/Users")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Errorf("%s without a token: %d", base, resp.StatusCode)
		}
	}
}

// schemaAttrs lists the top-level attribute names of a /Schemas resource.
func schemaAttrs(sch map[string]any) string {
	var out []string
	as, _ := sch["attributes"].([]any)
	for _, a := range as {
		if m, ok := a.(map[string]any); ok {
			out = append(out, m["name"].(string))
		}
	}
	return strings.Join(out, ",")
}
