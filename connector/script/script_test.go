package script_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
	"github.com/idsync/idsync/connector/script"
)

const (
	pyDir = "../../examples/script-connector/python"
	shDir = "../../examples/script-connector/sh"
	psDir = "../../examples/script-connector/powershell"
)

var errorsIs = errors.Is

// needTool skips (or, under CI=true, fails) when an interpreter is missing.
func needTool(t testing.TB, name string) {
	t.Helper()
	if name == "python3" && python3() == "" || name != "python3" && lookPath(name) == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not installed (CI installs it from .ci/peers/40-script.sh)", name)
		}
		t.Skipf("%s is not installed", name)
	}
}

func lookPath(name string) string {
	p, _ := exec.LookPath(name)
	return p
}

// python3 is the real interpreter behind python3 (a pyenv shim costs most
// of a second a call), or "" when there is none.
var python3 = sync.OnceValue(func() string {
	out, err := exec.Command("python3", "-c", "import sys; print(sys.executable)").Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
})

// pythonConfig is the Python example's configuration over the system file data.
func pythonConfig(t testing.TB, data string) *script.Config {
	t.Helper()
	abs, err := filepath.Abs(pyDir)
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string) *script.Source { return &script.Source{File: filepath.Join(abs, name)} }
	return &script.Config{
		Interpreter:  []string{python3()},
		CommonModule: f("common.py"),
		Scripts: script.Scripts{
			Validate: f("validate.py"), Schema: f("schema.py"), Partitions: f("partitions.py"), Hierarchy: f("hierarchy.py"),
			ImportBegin: f("import_begin.py"), ImportData: f("import_data.py"), ImportEnd: f("import_end.py"),
			ExportBegin: f("export_begin.py"), ExportData: f("export_data.py"), ExportEnd: f("export_end.py"),
			Password: f("password.py"),
		},
		Parameters: []script.Parameter{{Name: "DataFile", Scope: "Global", Value: script.ParamValue{Text: data}}},
	}
}

// shConfig is the POSIX sh example's configuration over the system file data.
func shConfig(t testing.TB, data string) *script.Config {
	t.Helper()
	abs, err := filepath.Abs(shDir)
	if err != nil {
		t.Fatal(err)
	}
	f := func(name string) *script.Source { return &script.Source{File: filepath.Join(abs, name)} }
	return &script.Config{
		Interpreter:  []string{"sh"},
		CommonModule: f("common.sh"),
		Scripts: script.Scripts{
			Validate: f("validate.sh"), Schema: f("schema.sh"), Partitions: f("partitions.sh"), Hierarchy: f("hierarchy.sh"),
			ImportBegin: f("import_begin.sh"), ImportData: f("import_data.sh"), ImportEnd: f("import_end.sh"),
			ExportBegin: f("export_begin.sh"), ExportData: f("export_data.sh"), ExportEnd: f("export_end.sh"),
			Password: f("password.sh"),
		},
		Parameters: []script.Parameter{{Name: "DataFile", Scope: "Global", Value: script.ParamValue{Text: data}}},
	}
}

func testEnv(t testing.TB, secrets map[string]string) connector.Env {
	return connector.Env{Name: "scripted", Dir: t.TempDir(), Logger: slog.New(slog.DiscardHandler),
		Secret: func(ref string) (string, error) {
			if v, ok := secrets[ref]; ok {
				return v, nil
			}
			return "", os.ErrNotExist
		}}
}

func dn(key string) string { return "uid=" + key + ",ou=people,dc=example" }

// seedSystem writes the example system's file holding exactly objs.
func seedSystem(t testing.TB, path string, objs []idsync.Entry) {
	t.Helper()
	type object struct {
		ObjectType string                     `json:"objectType"`
		DN         string                     `json:"dn"`
		Attributes map[string]json.RawMessage `json:"attributes"`
	}
	multi := map[string]bool{"mail": true, "member": true}
	data := struct {
		Seq     int               `json:"seq"`
		Objects map[string]object `json:"objects"`
		Log     []any             `json:"log"`
	}{Objects: map[string]object{}, Log: []any{}}
	for _, e := range objs {
		o := object{ObjectType: e.ObjectType, DN: e.DN, Attributes: map[string]json.RawMessage{}}
		for name, vs := range e.Attrs {
			o.Attributes[name] = script.EncodeValues(vs, multi[name])
		}
		data.Objects[string(e.Anchor)] = o
	}
	b, err := json.Marshal(data)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestConformancePython(t *testing.T) {
	needTool(t, "python3")
	data := filepath.Join(t.TempDir(), "system.json")
	conformance(t, pythonConfig(t, data), data)
}

func TestConformanceSh(t *testing.T) {
	needTool(t, "jq")
	data := filepath.Join(t.TempDir(), "system.json")
	conformance(t, shConfig(t, data), data)
}

func conformance(t *testing.T, cfg *script.Config, data string) {
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	caps := cfg.Capabilities()
	caps.DeltaImport = true
	caps.ObjectRename = true
	caps.DNStyle = connector.DNLDAP
	connectortest.Run(t, connectortest.Harness{
		Seed: func(t *testing.T, objs []idsync.Entry) { seedSystem(t, data, objs) },
		Open: func(t *testing.T) connector.Connector {
			c, err := cfg.Open(context.Background(), testEnv(t, nil))
			if err != nil {
				t.Fatal(err)
			}
			return c
		},
		ObjectType: "person",
		Key:        "uid",
		DN:         dn,
		Attributes: []idsync.AttrDef{
			{Name: "displayName", Type: idsync.TypeString},
			{Name: "mail", Type: idsync.TypeString, MultiValued: true},
			{Name: "employeeNumber", Type: idsync.TypeInteger},
			{Name: "enabled", Type: idsync.TypeBoolean},
			{Name: "photo", Type: idsync.TypeBinary},
			{Name: "manager", Type: idsync.TypeReference},
			{Name: "hired", Type: idsync.TypeDateTime},
		},
		Capabilities:      caps,
		MinPasswordLength: 8,
	})
}

// A script that answers WatermarkExpired (the example's importBegin, for
// customData it cannot read) makes ImportChanges return
// connector.ErrWatermarkExpired, on which the engine runs a full import.
func TestScriptWatermarkExpired(t *testing.T) {
	needTool(t, "python3")
	data := filepath.Join(t.TempDir(), "system.json")
	seedSystem(t, data, people(2, 0))
	c, err := pythonConfig(t, data).Open(context.Background(), testEnv(t, nil))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.(connector.DeltaImporter).ImportChanges(context.Background(), connector.ImportOptions{}, script.EncodeWatermark("not json"), func(idsync.Change) error { return nil })
	if !errors.Is(err, connector.ErrWatermarkExpired) || !strings.Contains(err.Error(), "importBegin") {
		t.Errorf("ImportChanges(unreadable customData) = %v, want ErrWatermarkExpired from importBegin", err)
	}
}
