package host_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/host"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// csvHost starts the host of examples/connector-host (a CSV connector)
// on a copy of the example in a temporary directory, over the store
// there; it returns the endpoint URL and the CSV file's path.
func csvHost(t *testing.T, dir string) (string, string, *host.Server) {
	return csvHostB(t, dir)
}

func csvHostB(t testing.TB, dir string) (string, string, *host.Server) {
	t.Helper()
	ctx := context.Background()
	reg := connector.NewRegistry(csvconn.Type)
	cfg, err := config.Load(filepath.Join(dir, "config"), reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "config", "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := host.LoadConfig(filepath.Join(dir, "host.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := host.New(ctx, host.Options{Config: hc, Engine: e, Store: st, Secret: func(string) (string, error) { return "entra-token", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(ctx); st.Close() })
	return hs.URL + "/scim/app", filepath.Join(dir, "config", "app-users.csv"), srv
}

func copyExample(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml", "config/app-users.csv"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "connector-host", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// entra sends a request the way the Microsoft Entra provisioning service
// does: bearer token, application/scim+json, its own JSON shapes.
func entra(t *testing.T, method, u, body string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(method, u, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer entra-token")
	req.Header.Set("Content-Type", "application/scim+json; charset=utf-8")
	req.Header.Set("Accept", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	json.Unmarshal(b, &m)
	return resp.StatusCode, m
}

func csvRow(t *testing.T, path, userName string) string {
	t.Helper()
	b, err := os.ReadFile(path)
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

// TestSpec11_CloudClientEndToEnd drives `idsync host` as the Entra
// provisioning service does — look up by userName, create, read,
// PATCH (capitalised ops, "False" as a string, a value-filtered e-mail
// path), disable, delete — and checks every write in the backing
// system, the CSV file, and that a new host on the same store and file
// answers the same.
func TestSpec11_CloudClientEndToEnd(t *testing.T) {
	dir := copyExample(t)
	base, file, srv := csvHost(t, dir)
	filter := func(f string) string { return base + "/Users?" + url.Values{"filter": {f}}.Encode() }

	// 1. Entra looks the user up before creating it.
	st, lr := entra(t, "GET", filter(`userName eq "alan@example.com"`), "")
	if st != 200 || lr["totalResults"] != float64(0) {
		t.Fatalf("lookup of a new user: %d %v", st, lr)
	}
	// 2. Create.
	st, u := entra(t, "POST", base+"/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId":"1003","userName":"alan@example.com","active":true,"displayName":"Alan Turing",
		"emails":[{"primary":true,"type":"work","value":"alan@example.com"}],
		"meta":{"resourceType":"User"},"name":{"formatted":"Alan Turing","familyName":"Turing","givenName":"Alan"},
		"title":"Mathematician","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Hut 8"}}`)
	if st != 201 || u["id"] != "alan@example.com" {
		t.Fatalf("create: %d %v", st, u)
	}
	if row := csvRow(t, file, "alan@example.com"); row != "alan@example.com,1003,Alan,Turing,Alan Turing,alan@example.com,Mathematician,Hut 8,True" {
		t.Errorf("CSV row after create: %q", row)
	}
	// 3. Read back by id and by externalId.
	if st, got := entra(t, "GET", base+"/Users/alan@example.com", ""); st != 200 || got["displayName"] != "Alan Turing" {
		t.Errorf("get: %d %v", st, got)
	}
	if st, lr := entra(t, "GET", filter(`externalId eq "1003"`), ""); st != 200 || lr["totalResults"] != float64(1) {
		t.Errorf("lookup by externalId: %d %v", st, lr)
	}
	// 4. Entra's PATCH.
	st, got := entra(t, "PATCH", base+"/Users/alan@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"displayName","value":"Alan M. Turing"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"turing@example.com"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Bletchley Park"},
		{"op":"Remove","path":"title"}]}`)
	if st != 200 || got["displayName"] != "Alan M. Turing" {
		t.Fatalf("patch: %d %v", st, got)
	}
	if row := csvRow(t, file, "alan@example.com"); row != "alan@example.com,1003,Alan,Turing,Alan M. Turing,turing@example.com,,Bletchley Park,True" {
		t.Errorf("CSV row after PATCH: %q", row)
	}
	// 5. Disable, as Entra sends it (a string).
	st, got = entra(t, "PATCH", base+"/Users/alan@example.com", `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if st != 200 || got["active"] != false {
		t.Fatalf("disable: %d %v", st, got)
	}
	if row := csvRow(t, file, "alan@example.com"); !strings.HasSuffix(row, ",False") {
		t.Errorf("CSV row after disable: %q", row)
	}
	// 6. A change made in the system out of band reaches the host with a refresh.
	b, _ := os.ReadFile(file)
	b = bytes.Replace(b, []byte("Ada Lovelace,ada@example.com,Analyst"), []byte("Ada Lovelace,ada@example.com,Countess"), 1)
	if err := os.WriteFile(file, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, got := entra(t, "GET", base+"/Users/ada@example.com", ""); got["title"] != "Countess" {
		t.Errorf("after an out-of-band change and a refresh, title = %v", got["title"])
	}
	// 7. Delete.
	if st, _ := entra(t, "DELETE", base+"/Users/alan@example.com", ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if row := csvRow(t, file, "alan@example.com"); row != "" {
		t.Errorf("CSV still has %q after delete", row)
	}
	if st, _ := entra(t, "GET", base+"/Users/alan@example.com", ""); st != 404 {
		t.Errorf("get after delete: %d, want 404", st)
	}
}

// TestSpec11_HostHoldsTheConnectorLock: while the host serves a
// connector, no other run can export to it behind its back.
func TestSpec11_HostHoldsTheConnectorLock(t *testing.T) {
	dir := copyExample(t)
	base, _, _ := csvHost(t, dir)
	ctx := context.Background()
	reg := connector.NewRegistry(csvconn.Type)
	cfg, err := config.Load(filepath.Join(dir, "config"), reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "config", "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.Run(ctx, "app", "full-import"); err == nil || !strings.Contains(err.Error(), "idsync host serving app") {
		t.Errorf("a run of a hosted connector = %v, want a refusal naming the host", err)
	}
	// That engine declared the store's indexes without the host's: the
	// host's indexed lookups still answer, and the host declares its
	// indexes again (rather than answering by scanning every object).
	if hostIndexed(t, st) {
		t.Fatalf("the other engine left the host's index of userName declared; the test needs it dropped")
	}
	st2, lr := entra(t, "GET", base+"/Users?"+url.Values{"filter": {`userName eq "ada@example.com"`}}.Encode(), "")
	if st2 != 200 || lr["totalResults"] != float64(1) {
		t.Errorf("lookup after another process re-declared the indexes: %d %v", st2, lr)
	}
	if !hostIndexed(t, st) {
		t.Errorf("after a lookup by userName, the host has not declared its index of userName again")
	}
}

// hostIndexed reports whether the store's index declaration holds the
// host's index of the example's userName.
func hostIndexed(t *testing.T, st store.Store) bool {
	t.Helper()
	ctx := context.Background()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	ix, err := tx.(store.Transfer).Indexes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return slices.Contains(ix.CS["app"], "userName")
}
