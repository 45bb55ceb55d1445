package config_test

import (
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"golang.org/x/tools/txtar"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/errors/*.txtar")

// fakeConfig is the settings of the test connector types.
type fakeConfig struct {
	Path     string              `yaml:"path"`
	Anchor   []string            `yaml:"anchor"`
	Password connector.SecretRef `yaml:"password"`
	TLS      *fakeTLS            `yaml:"tls"`
	Delta    bool                `yaml:"delta"`
	Port     int                 `yaml:"port"`
}

type fakeTLS struct {
	CA       string `yaml:"ca"`
	Insecure bool   `yaml:"insecure"`
}

func (c *fakeConfig) Validate() error {
	if c.Path == "" {
		return errors.New("path is required")
	}
	if c.Port < 0 || c.Port > 65535 {
		return errors.New("port out of range")
	}
	return nil
}

func (c *fakeConfig) Open(context.Context, connector.Env) (connector.Connector, error) {
	return nil, errors.ErrUnsupported
}

// fakeLDAPConfig refines its type's capabilities.
type fakeLDAPConfig struct {
	Base fakeConfig `yaml:",inline"`
}

func (c *fakeLDAPConfig) Validate() error { return c.Base.Validate() }

func (c *fakeLDAPConfig) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	return c.Base.Open(ctx, env)
}

func (c *fakeLDAPConfig) Capabilities() connector.Capabilities {
	caps := fakeLDAPType.Capabilities
	caps.DeltaImport = c.Base.Delta
	return caps
}

var (
	fakeType = connector.Type{
		Name:      "fake",
		NewConfig: func() connector.Config { return new(fakeConfig) },
		Capabilities: connector.Capabilities{
			DNStyle: connector.DNNone, ExportType: connector.ExportObjectReplace,
			Confirmation: connector.ConfirmNormal, Import: true, Export: true,
		},
	}
	fakeLDAPType = connector.Type{
		Name:      "fakeldap",
		NewConfig: func() connector.Config { return new(fakeLDAPConfig) },
		Capabilities: connector.Capabilities{
			DNStyle: connector.DNLDAP, ExportType: connector.ExportAttributeReplace,
			Confirmation: connector.ConfirmNormal, Import: true, Export: true,
			Partitions: true, Hierarchy: true,
		},
	}
)

func registry() *connector.Registry { return connector.NewRegistry(fakeType, fakeLDAPType) }

func TestLoadValid(t *testing.T) {
	cfg, err := config.Load("testdata/valid", registry())
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	adCaps := fakeLDAPType.Capabilities
	adCaps.DeltaImport = true
	adCaps.Confirmation = connector.ConfirmNoDeleteConfirmation
	adCaps.ExportType = connector.ExportAttributeUpdate
	want := &config.Config{
		Dir:   "testdata/valid",
		Store: "sqlite:testdata/valid/state/idsync.db",
		Metaverse: &idsync.Schema{Classes: []idsync.ObjectClass{
			{
				Name: "person",
				Attrs: []idsync.AttrDef{
					{Name: "employeeId", Type: idsync.TypeString},
					{Name: "givenName", Type: idsync.TypeString},
					{Name: "displayName", Type: idsync.TypeString},
					{Name: "mail", Type: idsync.TypeString},
					{Name: "proxyAddresses", Type: idsync.TypeString, MultiValued: true},
					{Name: "accountEnabled", Type: idsync.TypeBoolean},
					{Name: "manager", Type: idsync.TypeReference},
				},
				DeletionRule: idsync.DeletionRule{Connectors: []string{"hr"}},
			},
			{
				Name:  "group",
				Attrs: []idsync.AttrDef{{Name: "member", Type: idsync.TypeReference, MultiValued: true}},
			},
		}},
		Connectors: []*config.Connector{
			{
				Name: "ad",
				Type: "fakeldap",
				Settings: &fakeLDAPConfig{Base: fakeConfig{
					Path:     "ldaps://dc1.contoso.com",
					Password: connector.SecretRef{Env: "AD_PASSWORD"},
					TLS:      &fakeTLS{CA: "ca.pem"},
					Delta:    true,
				}},
				Capabilities:      adCaps,
				ObjectTypes:       []string{"user", "group"},
				Partitions:        []string{"DC=contoso,DC=com"},
				Deprovision:       "disconnect",
				DeletionThreshold: -1,
				PageSize:          250,
				Params:            map[string]string{"Domain.FQDN": "contoso.com", "Connector.ID": "ad-contoso"},
				Profiles: map[string]*idsync.RunProfile{
					"full-import": {Name: "full-import", Steps: []idsync.RunStep{{Type: idsync.StepFullImport}}},
					"delta": {Name: "delta", Steps: []idsync.RunStep{
						{Type: idsync.StepDeltaImport, Partition: "DC=contoso,DC=com", PageSize: 500},
						{Type: idsync.StepDeltaSync},
					}},
					"full-cycle": {Name: "full-cycle", Steps: []idsync.RunStep{
						{Type: idsync.StepFullImport}, {Type: idsync.StepFullSync}, {Type: idsync.StepExport},
					}},
				},
				ProfileOrder: []string{"full-import", "delta", "full-cycle"},
				Source:       "testdata/valid/connectors/ad.yaml:2",
			},
			{
				Name:              "hr",
				Type:              "fake",
				Settings:          &fakeConfig{Path: "hr.csv", Anchor: []string{"employeeId"}, Password: connector.SecretRef{Env: "HR_PASSWORD"}},
				Capabilities:      fakeType.Capabilities,
				ObjectTypes:       []string{"person"},
				Attributes:        []string{"employeeId", "givenName", "status"},
				Deprovision:       "delete",
				DeletionThreshold: 500,
				PageSize:          1000,
				Params:            map[string]string{"Connector.ID": "hr"},
				Profiles: map[string]*idsync.RunProfile{
					"full-import":            {Name: "full-import", Steps: []idsync.RunStep{{Type: idsync.StepFullImport}}},
					"full-sync":              {Name: "full-sync", Steps: []idsync.RunStep{{Type: idsync.StepFullSync}}},
					"delta-sync":             {Name: "delta-sync", Steps: []idsync.RunStep{{Type: idsync.StepDeltaSync}}},
					"export":                 {Name: "export", Steps: []idsync.RunStep{{Type: idsync.StepExport}}},
					"full-import-delta-sync": {Name: "full-import-delta-sync", Steps: []idsync.RunStep{{Type: idsync.StepFullImportDeltaSync}}},
				},
				ProfileOrder: []string{"full-import", "full-sync", "delta-sync", "export", "full-import-delta-sync"},
				Source:       "testdata/valid/connectors/hr.yml:2",
			},
		},
		Rules: []*idsync.SyncRule{
			{
				Name:         "Out to AD",
				ImmutableTag: "Microsoft.OutToADUser.001",
				Direction:    idsync.Outbound,
				Connector:    "ad",
				CSType:       "user",
				MVType:       "person",
				LinkType:     idsync.LinkProvision,
				Precedence:   200,
				Disabled:     true,
				PasswordSync: true,
				Scope: []idsync.ScopeGroup{{
					{Attr: "accountEnabled", Op: idsync.ScopeEqual, Value: "%Connector.ID%"},
				}},
				Join: []idsync.JoinGroup{{{Source: "employeeId", Target: "employeeID", CaseSensitive: true}}},
				Flows: []idsync.Flow{
					{Target: "dn", Type: idsync.FlowExpression, Expression: `"CN=" & [displayName] & ",OU=People," & %Domain.LDAP%`},
					{Target: "givenName", Type: idsync.FlowDirect, Source: "givenName"},
					{Target: "description", Type: idsync.FlowConstant, Constant: "Managed by idsync"},
				},
				Source: "testdata/valid/rules/ad.yaml:2",
			},
			{
				Name:        "In from HR",
				Description: "People from the HR system.",
				Direction:   idsync.Inbound,
				Connector:   "hr",
				CSType:      "person",
				MVType:      "person",
				LinkType:    idsync.LinkProvision,
				Precedence:  100,
				Scope: []idsync.ScopeGroup{
					{
						{Attr: "status", Op: idsync.ScopeEqual, Value: "active"},
						{Attr: "employeeId", Op: idsync.ScopeIsNotNull},
					},
					{{Attr: "flags", Op: idsync.ScopeIsBitSet, Value: "2"}},
				},
				Join: []idsync.JoinGroup{{{Source: "employeeId", Target: "employeeId"}}},
				Flows: []idsync.Flow{
					{Target: "employeeId", Type: idsync.FlowDirect, Source: "employeeId"},
					{Target: "accountEnabled", Type: idsync.FlowConstant, Constant: "True"},
					{Target: "mail", Type: idsync.FlowExpression, Expression: `LCase([givenName]) & "@contoso.com"`, ApplyOnce: true},
					{Target: "proxyAddresses", Type: idsync.FlowExpression, Expression: `"smtp:" & [mail]`, Merge: idsync.MergeCaseInsensitive},
				},
				Source: "testdata/valid/rules/hr.yaml:2",
			},
		},
		Cycle: config.Cycle{Interval: 15 * time.Minute, ImportProfile: "delta", SyncProfile: "delta-sync", ExportProfile: "export"},
	}
	if diff := cmp.Diff(want, cfg, cmpopts.IgnoreUnexported(config.Config{})); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}

	// Every expression flow has its program; others have none.
	for _, r := range cfg.Rules {
		for i, f := range r.Flows {
			p := cfg.Program(r, i)
			if (f.Type == idsync.FlowExpression) != (p != nil) {
				t.Errorf("Program(%q, %d) = %v for a %v flow", r.Name, i, p, f.Type)
			}
			if p != nil && p.String() != f.Expression {
				t.Errorf("Program(%q, %d) = %q, want %q", r.Name, i, p.String(), f.Expression)
			}
		}
	}
	if p := cfg.Program(cfg.Rules[0], 99); p != nil {
		t.Errorf("Program out of range = %v, want nil", p)
	}

	// Validate is re-runnable and still passes.
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate after Load: %v", err)
	}
	if cfg.Connector("hr") == nil || cfg.Connector("nope") != nil {
		t.Errorf("Connector lookup broken")
	}
}

// TestErrors runs testdata/errors/*.txtar: each archive holds YAML files
// (loaded with testdata/base.yaml unless it has a "nobase" file) and a
// "want" file with the exact error lines.
func TestErrors(t *testing.T) {
	base, err := os.ReadFile("testdata/base.yaml")
	if err != nil {
		t.Fatal(err)
	}
	paths, _ := filepath.Glob("testdata/errors/*.txtar")
	if len(paths) == 0 {
		t.Fatal("no test cases")
	}
	for _, path := range paths {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var files []config.File
			useBase, wantIdx := true, -1
			for i, f := range ar.Files {
				switch f.Name {
				case "want":
					wantIdx = i
				case "nobase":
					useBase = false
				default:
					files = append(files, config.File{Name: f.Name, Data: f.Data})
				}
			}
			if useBase {
				files = append([]config.File{{Name: "base.yaml", Data: base}}, files...)
			}
			_, err = config.LoadFiles(".", files, registry())
			got := ""
			if err != nil {
				got = err.Error() + "\n"
				var errs *config.Errors
				if !errors.As(err, &errs) {
					t.Errorf("error %T is not a *config.Errors", err)
				}
			}
			if *update {
				if wantIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					wantIdx = len(ar.Files) - 1
				}
				ar.Files[wantIdx].Data = []byte(got)
				if err := os.WriteFile(path, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if wantIdx < 0 {
				t.Fatal("no want file (run with -update)")
			}
			if want := string(ar.Files[wantIdx].Data); got != want {
				t.Errorf("errors mismatch (-want +got):\n%s", cmp.Diff(want, got))
			}
		})
	}
}

// TestErrorsType checks the shape of the returned error.
func TestErrorsType(t *testing.T) {
	files := []config.File{{Name: "a.yaml", Data: []byte("connectors:\n  - {name: x, type: nope}\nbogus: 1\n")}}
	_, err := config.LoadFiles(".", files, registry())
	var errs *config.Errors
	if !errors.As(err, &errs) {
		t.Fatalf("LoadFiles error %T %v is not a *config.Errors", err, err)
	}
	want := []string{
		`a.yaml:2:21: connector "x": unknown connector type "nope" (registered: fake, fakeldap)`,
		`a.yaml:3:1: configuration: unknown key "bogus" (want one of store, cycle, metaverse, connectors, connector, rules)`,
	}
	var got []string
	for _, e := range errs.List {
		got = append(got, e.Error())
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("errors (-want +got):\n%s", diff)
	}
	if err.Error() != strings.Join(want, "\n") {
		t.Errorf("Error() = %q", err.Error())
	}
	var first *config.Error
	if !errors.As(err, &first) || first.Pos != (config.Pos{File: "a.yaml", Line: 2, Col: 21}) {
		t.Errorf("errors.As(*config.Error) = %+v", first)
	}
}

func TestDefaults(t *testing.T) {
	fsys := fstest.MapFS{
		"conf/a.yaml": {Data: []byte(`
metaverse: {objectTypes: [{name: person, attributes: [{name: id, type: string}]}]}
connectors:
  - {name: hr, type: fake, settings: {path: x}}
  - {name: ad, type: fakeldap, settings: {path: x, delta: true}, profiles: {}}
`)},
	}
	cfg, err := config.Load("conf", registry(), config.WithFS(fsys))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Store != "sqlite:conf/idsync.db" {
		t.Errorf("Store = %q", cfg.Store)
	}
	wantCycle := config.Cycle{Interval: 30 * time.Minute, ImportProfile: "delta-import", SyncProfile: "delta-sync", ExportProfile: "export"}
	if cfg.Cycle != wantCycle {
		t.Errorf("Cycle = %+v, want %+v", cfg.Cycle, wantCycle)
	}
	hr, ad := cfg.Connector("hr"), cfg.Connector("ad")
	if hr.DeletionThreshold != 500 || hr.PageSize != 1000 || hr.Deprovision != "delete" {
		t.Errorf("hr defaults: threshold %d, page size %d, deprovision %q", hr.DeletionThreshold, hr.PageSize, hr.Deprovision)
	}
	if diff := cmp.Diff(map[string]string{"Connector.ID": "hr"}, hr.Params); diff != "" {
		t.Errorf("hr params (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"full-import", "full-sync", "delta-sync", "export", "full-import-delta-sync"}, hr.ProfileOrder); diff != "" {
		t.Errorf("hr profiles (-want +got):\n%s", diff)
	}
	// The Config's Capabler turned delta import on: the defaults include it.
	if diff := cmp.Diff([]string{"full-import", "delta-import", "full-sync", "delta-sync", "export", "full-import-delta-sync"}, ad.ProfileOrder); diff != "" {
		t.Errorf("ad profiles (-want +got):\n%s", diff)
	}
	if p := ad.Profiles["delta-import"]; p == nil || len(p.Steps) != 1 || p.Steps[0].Type != idsync.StepDeltaImport {
		t.Errorf("ad delta-import profile = %+v", p)
	}
	if fsys, err := config.Load("nothing", registry(), config.WithFS(fstest.MapFS{"nothing/x.txt": {}})); err == nil {
		t.Errorf("Load of a directory without YAML = %v, want an error", fsys)
	}
}

func TestLoadFileNames(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "conf")
	if err := os.MkdirAll(filepath.Join(conf, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(conf, "sub", "x.yml"), []byte("rules: 3\n"), 0o644)
	os.WriteFile(filepath.Join(conf, ".hidden.yaml"), []byte("junk: 3\n"), 0o644)
	os.WriteFile(filepath.Join(conf, "notes.txt"), []byte("junk: 3\n"), 0o644)
	_, err := config.Load(conf, registry())
	want := "conf/sub/x.yml:1:8: configuration: rules: want a list, got a number"
	if err == nil || err.Error() != want {
		t.Errorf("Load(absolute) error = %v, want %s", err, want)
	}
	if _, err := config.Load(filepath.Join(dir, "missing"), registry()); err == nil {
		t.Errorf("Load(missing dir) = nil error")
	}
}

func TestEnvSecrets(t *testing.T) {
	t.Setenv("IDSYNC_TEST_SECRET", "s3cret")
	t.Setenv("IDSYNC_TEST_EMPTY", "")
	if v, err := config.EnvSecrets("IDSYNC_TEST_SECRET"); err != nil || v != "s3cret" {
		t.Errorf("EnvSecrets = %q, %v", v, err)
	}
	for _, name := range []string{"IDSYNC_TEST_UNSET_XYZ", "IDSYNC_TEST_EMPTY", ""} {
		_, err := config.EnvSecrets(name)
		if err == nil || (name != "" && !strings.Contains(err.Error(), name)) {
			t.Errorf("EnvSecrets(%q) error = %v, want one naming the variable", name, err)
		}
	}
	// Resolving through connector.SecretRef.
	ref := connector.SecretRef{Env: "IDSYNC_TEST_SECRET"}
	s, err := ref.Resolve(connector.Env{Secret: config.EnvSecrets})
	if err != nil || s.Reveal() != "s3cret" {
		t.Errorf("Resolve = %v, %v", s, err)
	}
}

// TestValidateProgrammatic checks Validate on a Config built in code:
// positions fall back to the rules' Source.
func TestValidateProgrammatic(t *testing.T) {
	cfg := &config.Config{
		Metaverse:  &idsync.Schema{Classes: []idsync.ObjectClass{{Name: "person", Attrs: []idsync.AttrDef{{Name: "mail", Type: idsync.TypeString}}}}},
		Connectors: []*config.Connector{{Name: "hr", Type: "fake", Settings: &fakeConfig{Path: "x"}, Params: map[string]string{}}},
		Rules: []*idsync.SyncRule{{
			Name: "r", Connector: "hr", CSType: "person", MVType: "person", Precedence: 1,
			Flows:  []idsync.Flow{{Target: "mail", Type: idsync.FlowExpression, Expression: "LCase([a]"}},
			Source: "rules.yaml:7",
		}},
	}
	cfg.SetRegistry(registry())
	err := cfg.Validate()
	if err == nil || !strings.HasPrefix(err.Error(), `rules.yaml:7: rule "r": flow "mail": expression: `) {
		t.Errorf("Validate = %v", err)
	}
	cfg.Rules[0].Flows[0].Expression = "LCase([a])"
	if err := cfg.Validate(); err != nil {
		t.Errorf("Validate after fix = %v", err)
	}
	if cfg.Program(cfg.Rules[0], 0) == nil {
		t.Errorf("no program after Validate")
	}
}

func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/valid/*/*.y*ml")
	seeds2, _ := filepath.Glob("testdata/valid/*.yaml")
	for _, p := range append(seeds, seeds2...) {
		data, err := os.ReadFile(p)
		if err == nil {
			f.Add(data)
		}
	}
	paths, _ := filepath.Glob("testdata/errors/*.txtar")
	for _, p := range paths {
		if ar, err := txtar.ParseFile(p); err == nil {
			for _, file := range ar.Files {
				if strings.HasSuffix(file.Name, ".yaml") {
					f.Add(file.Data)
				}
			}
		}
	}
	f.Add([]byte("a: &a [*a]\n"))
	f.Add([]byte("rules: [{flows: [{target: x, expression: \"\\u00e9 & [\"}]}]"))
	reg := registry()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := config.LoadFiles(".", []config.File{{Name: "f.yaml", Data: data}}, reg)
		if err == nil && cfg == nil {
			t.Fatal("nil Config and nil error")
		}
		if err != nil {
			var errs *config.Errors
			if !errors.As(err, &errs) || len(errs.List) == 0 {
				t.Fatalf("error %T %v is not a non-empty *config.Errors", err, err)
			}
		}
	})
}
