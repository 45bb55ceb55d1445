package host_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
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

// csvHost starts the host of testdata/csvhost (a CSV connector) on a
// copy of it in a temporary directory (copyCSVHost), over the store
// there; it returns the endpoint URL and the CSV file's path.
func csvHost(t *testing.T, dir string) (string, string, *host.Server) {
	return csvHostB(t, dir)
}

func csvHostB(t testing.TB, dir string) (string, string, *host.Server) {
	t.Helper()
	hs, srv := startHost(t, dir)
	return hs.URL + "/scim/app", filepath.Join(dir, "config", "app-users.csv"), srv
}

func copyCSVHost(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml", "config/app-users.csv"} {
		b, err := os.ReadFile(filepath.Join("testdata", "csvhost", f))
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

// TestSpec11_HostHoldsTheConnectorLock: while the host serves a
// connector, no other run can export to it behind its back.
func TestSpec11_HostHoldsTheConnectorLock(t *testing.T) {
	dir := copyCSVHost(t)
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
