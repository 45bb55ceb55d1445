package config_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

// TestCSVConnector loads settings into the real CSV connector's Config.
func TestCSVConnector(t *testing.T) {
	reg := connector.NewRegistry(csv.Type)
	files := []config.File{{Name: "hr.yaml", Data: []byte(`
metaverse: {objectTypes: [{name: person, attributes: [{name: employeeId, type: string}]}]}
connectors:
  - name: hr
    type: csv
    settings: {path: hr.csv, anchor: [employeeId], dn: "{anchor}", types: {hired: datetime}}
`)}}
	cfg, err := config.LoadFiles("/etc/idsync", files, reg)
	if err != nil {
		t.Fatal(err)
	}
	hr := cfg.Connector("hr")
	want := &csv.Config{Path: "hr.csv", Anchor: []string{"employeeId"}, DN: "{anchor}", Types: map[string]string{"hired": "datetime"}}
	if diff := cmp.Diff(want, hr.Settings, cmp.AllowUnexported(csv.Config{})); diff != "" {
		t.Errorf("settings (-want +got):\n%s", diff)
	}
	if caps := hr.Settings.(connector.Capabler).Capabilities(); hr.Capabilities != caps {
		t.Errorf("Capabilities = %+v, want the Config's %+v", hr.Capabilities, caps)
	}
	if cfg.Store != "sqlite:/etc/idsync/idsync.db" {
		t.Errorf("Store = %q", cfg.Store)
	}

	bad := []config.File{{Name: "hr.yaml", Data: []byte(`
connectors:
  - name: hr
    type: csv
    settings: {path: hr.csv, anchr: [id]}
  - name: hr2
    type: csv
    settings: {path: hr.csv}
`)}}
	_, err = config.LoadFiles(".", bad, reg)
	wantErr := `hr.yaml:5:30: connector "hr": settings: unknown key "anchr" (want one of anchor, columns, delimiter, dn, exportPath, header, multiValueSeparator, multiValued, objectType, path, types)
hr.yaml:8:15: connector "hr2": settings: csv: anchor is required: list one or more column names`
	if err == nil || err.Error() != wantErr {
		t.Errorf("LoadFiles error:\n%v\nwant:\n%s", err, wantErr)
	}
}
