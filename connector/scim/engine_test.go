package scim

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

const engineYAML = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: userName, type: string}
        - {name: displayName, type: string}
connectors:
  - name: hr
    type: inmem
    settings: {system: hr}
  - name: app
    type: scim
    settings:
      url: URL
      auth: {type: bearer, token: {env: SCIM_ENGINE_TOKEN}}
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
      - {target: userName, source: userName}
      - {target: displayName, source: displayName}
  - name: Out to the app
    direction: outbound
    connector: app
    csObjectType: User
    mvObjectType: person
    linkType: Provision
    precedence: 200
    flows:
      - {target: dn, expression: '"new-" & [employeeId]'}
      - {target: userName, source: userName}
      - {target: displayName, source: displayName}
      - {target: externalId, source: employeeId}
`

// engineOn builds an engine on configuration yamlText, its app connector
// pointing at tg and its hr connector at the in-memory system it returns,
// with a function running steps of a connector.
func engineOn(t *testing.T, tg target, yamlText string) (store.Store, *inmem.System, func(conn string, steps ...idsync.StepType) *idsync.RunResult) {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	t.Setenv("SCIM_ENGINE_TOKEN", tg.token)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(strings.Replace(yamlText, "url: URL", "url: "+tg.url, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	hr := inmem.NewSystem()
	reg := connector.NewRegistry(inmem.NewType("inmem", map[string]*inmem.System{"hr": hr}), Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	run := func(conn string, steps ...idsync.StepType) *idsync.RunResult {
		t.Helper()
		var ss []idsync.RunStep
		for _, s := range steps {
			ss = append(ss, idsync.RunStep{Type: s})
		}
		r, err := e.RunSteps(ctx, conn, "test", ss)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	return st, hr, run
}

// TestEngineExportToSCIMMY provisions through the engine into SCIMMY:
// the adds get the server's ids as anchors (confirmed by the next
// import), and a userName the server already holds is recorded on the
// object and in the run as AttributeValueMustBeUnique naming userName.
func TestEngineExportToSCIMMY(t *testing.T) {
	tg := scimmy(t)
	ctx := context.Background()
	st, hr, run := engineOn(t, tg, engineYAML)
	for _, p := range [][3]string{{"1", "ada@example.com", "Ada"}, {"2", "taken@example.com", "Taken"}} {
		hr.Add(idsync.Entry{ObjectType: "person", Anchor: idsync.Anchor(p[0]), DN: p[0], Attrs: idsync.Attrs{
			"employeeId": {idsync.String(p[0])}, "userName": {idsync.String(p[1])}, "displayName": {idsync.String(p[2])}}})
	}
	post(t, tg, "/Users", map[string]any{"schemas": []any{"urn:ietf:params:scim:schemas:core:2.0:User"}, "userName": "TAKEN@example.com"})
	run("hr", idsync.StepFullImport, idsync.StepFullSync)
	res := run("app", idsync.StepExport)
	if res.ErrorCount != 1 || len(res.Errors) != 1 || res.Errors[0].Type != "AttributeValueMustBeUnique" || !strings.Contains(res.Errors[0].Message, "userName") {
		t.Fatalf("export run: %s, errors %+v; want one AttributeValueMustBeUnique naming userName", res.Status, res.Errors)
	}
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := tx.ListCS(ctx, store.CSFilter{Connector: "app"})
	tx.Rollback()
	if err != nil {
		t.Fatal(err)
	}
	var ok, failed int
	for _, o := range objs {
		switch {
		case o.ExportError != nil && o.ExportError.Type == "AttributeValueMustBeUnique" && o.PendingExport != nil:
			failed++
		case o.ExportError == nil && o.Anchor != "":
			ok++
		}
	}
	if ok != 1 || failed != 1 {
		t.Errorf("app connector space: %d exported, %d failed; want 1 and 1", ok, failed)
	}
	// The next import confirms the add (the object is found by its id).
	imp := run("app", idsync.StepFullImport)
	if imp.Status != idsync.StatusSuccess && imp.Status != idsync.StatusCompletedWithWarnings {
		t.Errorf("import after export: %s %+v", imp.Status, imp.Errors)
	}
	tx, _ = st.Begin(ctx, false)
	defer tx.Rollback()
	objs, _ = tx.ListCS(ctx, store.CSFilter{Connector: "app"})
	for _, o := range objs {
		if o.Attrs.Get("userName").String() == "ada@example.com" && (o.Awaiting != idsync.ConfirmNone || !o.Joined()) {
			t.Errorf("ada after the confirming import: awaiting %v, joined %v", o.Awaiting, o.Joined())
		}
	}
}
