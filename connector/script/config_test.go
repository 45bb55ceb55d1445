package script_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/script"
)

// The settings of /work/settings-contract.md, as the MIM importer writes
// them, load with their meanings; capabilities follow the scripts and the
// connector-level capabilities: mapping overrides them.
func TestSettingsContract(t *testing.T) {
	dir := t.TempDir()
	yamlText := `
store: sqlite:idsync.db
metaverse:
  objectTypes: [{name: person, attributes: [{name: uid, type: string}]}]
connectors:
  - name: api
    type: script
    capabilities: {deltaImport: true, exportType: AttributeUpdate}
    settings:
      interpreter: [pwsh, -NoProfile, -NonInteractive, -File]
      commonModule: {inline: "function Get-Thing {}"}
      commonModuleName: common.psm1
      scripts:
        validate: {inline: "Write-Output '{}'"}
        schema: {inline: "..."}
        partitions: {inline: "..."}
        hierarchy: {inline: "..."}
        importBegin: {inline: "..."}
        importData: {inline: "..."}
        importEnd: {inline: "..."}
        exportBegin: {inline: "..."}
        exportData: {file: scripts/export.ps1}
        exportEnd: {inline: "..."}
        password: {inline: "..."}
      parameters:
        - {name: Server, scope: Global, value: "https://api.example.com"}
        - {name: ApiKey, scope: Global, encrypted: true, value: {env: IDSYNC_X_APIKEY}}
        - {name: BaseDN, scope: Partition, value: "dc=example"}
        - {name: Filter, scope: RunStep, value: "(objectClass=*)"}
      username: svc
      password: {env: IDSYNC_X_PASSWORD}
      timeout: 5m
      pageSize: 9999
      schema: {inline: "objectTypes: [{name: person, anchorAttributes: [uid], attributes: [{name: uid}]}]"}
`
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yamlText), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(dir, connector.NewRegistry(script.Type))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	cc := cfg.Connector("api")
	s := cc.Settings.(*script.Config)
	if s.Scripts.ExportData.File != "scripts/export.ps1" || s.Scripts.Validate.Inline != "Write-Output '{}'" || s.CommonModule.Inline == "" {
		t.Errorf("scripts: %+v", s.Scripts)
	}
	if time.Duration(s.Timeout) != 5*time.Minute || s.PageSize != 9999 || s.Username != "svc" || s.Password.Env != "IDSYNC_X_PASSWORD" {
		t.Errorf("timeout %v, pageSize %d, username %q, password %+v", time.Duration(s.Timeout), s.PageSize, s.Username, s.Password)
	}
	if p := s.Parameters[1]; p.Key() != "ApiKey_Global" || !p.Encrypted || p.Value.Secret.Env != "IDSYNC_X_APIKEY" {
		t.Errorf("ApiKey parameter: %+v", p)
	}
	if p := s.Parameters[3]; p.Key() != "Filter_RunStep" || p.Value.Text != "(objectClass=*)" {
		t.Errorf("Filter parameter: %+v", p)
	}
	caps := cc.Capabilities
	if !caps.Import || !caps.Export || !caps.Password || !caps.Partitions || !caps.Hierarchy || !caps.DeltaImport || caps.ExportType != connector.ExportAttributeUpdate {
		t.Errorf("capabilities %+v", caps)
	}
}

// Configuration errors surface when the configuration loads, at the
// settings' position, and never echo a secret written in clear.
func TestSettingsErrors(t *testing.T) {
	for _, tc := range []struct{ settings, want string }{
		{`{interpreter: [sh], scripts: {validate: {inline: x, file: y}}}`, "scripts.validate: give inline or file, not both"},
		{`{interpreter: [sh], scripts: {validate: {inline: x}}, timeout: soon}`, `timeout "soon"`},
		{`{interpreter: [sh], scripts: {validate: {inline: x}}, nonsense: 1}`, "nonsense"},
		{`{interpreter: [sh], scripts: {validate: {inline: x}}, password: hunter2}`, "secret"},
		{`{interpreter: [sh], scripts: {validate: {inline: x}}, parameters: [{name: K, encrypted: true, value: hunter2}]}`, "never a literal"},
	} {
		dir := t.TempDir()
		text := "store: sqlite:idsync.db\nmetaverse:\n  objectTypes: [{name: person, attributes: [{name: uid, type: string}]}]\nconnectors:\n  - name: api\n    type: script\n    settings: " + tc.settings + "\n"
		if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := config.Load(dir, connector.NewRegistry(script.Type))
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "idsync.yaml:") {
			t.Errorf("settings %s: error %v, want %q at a position", tc.settings, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "hunter2") {
			t.Errorf("settings %s: the error shows the secret: %v", tc.settings, err)
		}
	}
}
