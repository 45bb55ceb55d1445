// Package hosttest starts an idsync connector host over an in-memory
// connected system (connector/inmem) and a real SQLite store, for tests
// and benchmarks of SCIM clients and of the host itself.
package hosttest

import (
	"context"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/host"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// Token is the bearer token of a test host.
const Token = "hosttest-token"

// ConfigYAML is the idsync configuration of a test host: one inmem
// connector, "app", on System "app".
const ConfigYAML = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: uid, type: string}
connectors:
  - name: app
    type: inmem
    settings: {system: app}
`

// HostYAML is the host configuration of a test host (the token comes
// from the test's secret resolver).
const HostYAML = `
token: {env: HOSTTEST_TOKEN}
refresh: 0s
maxResults: 200
endpoints:
  - connector: app
    path: /scim/v2
    users:
      objectType: person
      dn: "uid={uid},ou=users,dc=example"
      attributes:
        userName: uid
        externalId: employeeId
        displayName: displayName
        nickName: nickName
        title: title
        active: active
        name.givenName: givenName
        name.familyName: sn
        emails[type eq "work"].value: mail
        phoneNumbers: telephoneNumber
        urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber: employeeNumber
        urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department: department
        urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager: manager
    groups:
      objectType: group
      dn: "cn={cn},ou=groups,dc=example"
      attributes:
        displayName: cn
        externalId: groupId
        members: member
`

// Env is a running test host.
type Env struct {
	URL    string // the SCIM base URL (…/scim/v2)
	Token  string
	System *inmem.System
	Server *host.Server
	Store  store.Store
	Engine *engine.Engine
	HTTP   *httptest.Server
}

// Start starts a host over an empty System (seed it with Env.System and
// call Env.Refresh, or write through SCIM). It stops when t ends.
func Start(t testing.TB) *Env {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(ConfigYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	sys := inmem.NewSystem()
	reg := connector.NewRegistry(inmem.NewType("inmem", map[string]*inmem.System{"app": sys}))
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("hosttest: load config: %v", err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatalf("hosttest: engine: %v", err)
	}
	hp := filepath.Join(dir, "host.yaml")
	if err := os.WriteFile(hp, []byte(HostYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	hc, err := host.LoadConfig(hp)
	if err != nil {
		t.Fatalf("hosttest: %v", err)
	}
	srv, err := host.New(ctx, host.Options{Config: hc, Engine: e, Store: st,
		Secret: func(string) (string, error) { return Token, nil }})
	if err != nil {
		t.Fatalf("hosttest: %v", err)
	}
	t.Cleanup(func() { srv.Close(context.Background()) })
	if err := srv.Refresh(ctx); err != nil {
		t.Fatalf("hosttest: refresh: %v", err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	return &Env{URL: hs.URL + "/scim/v2", Token: Token, System: sys, Server: srv, Store: st, Engine: e, HTTP: hs}
}

// Refresh brings the host's connector space up to date with the System.
func (e *Env) Refresh(t testing.TB) {
	t.Helper()
	if err := e.Server.Refresh(context.Background()); err != nil {
		t.Fatalf("hosttest: refresh: %v", err)
	}
}
