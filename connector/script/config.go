package script

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// The operations, in the order of §10. Their names are the keys of the
// scripts mapping and the "operation" member of every input document.
const (
	OpValidate    = "validate"
	OpSchema      = "schema"
	OpPartitions  = "partitions"
	OpHierarchy   = "hierarchy"
	OpImportBegin = "importBegin"
	OpImportData  = "importData"
	OpImportEnd   = "importEnd"
	OpExportBegin = "exportBegin"
	OpExportData  = "exportData"
	OpExportEnd   = "exportEnd"
	OpPassword    = "password"
)

// Operations lists every operation.
var Operations = []string{OpValidate, OpSchema, OpPartitions, OpHierarchy, OpImportBegin, OpImportData, OpImportEnd, OpExportBegin, OpExportData, OpExportEnd, OpPassword}

// Defaults.
const (
	DefaultPageSize  = 9999
	DefaultTimeout   = 5 * time.Minute
	DefaultMaxOutput = 512 << 20 // bytes of stdout one call may print
)

// Config is the settings mapping of a script connector (see
// docs/script-connector.md and /work/settings-contract.md).
type Config struct {
	// Interpreter is the argv prefix each script runs under; the script's
	// path is appended, e.g. [python3] or [pwsh, -NoProfile, -NonInteractive, -File].
	// Empty: scripts are executed directly (an inline script then needs a #! line).
	Interpreter []string `yaml:"interpreter"`
	// Extension is the file-name extension of the scripts written from
	// inline bodies (".ps1" is required by pwsh -File). Default: derived
	// from the interpreter (pwsh/powershell .ps1, python .py, sh/bash .sh).
	Extension string `yaml:"extension"`
	// CommonModule is written next to the scripts before they run; its
	// path is in every input document (commonModule) and in
	// $IDSYNC_COMMON_MODULE.
	CommonModule *Source `yaml:"commonModule"`
	// CommonModuleName is the module's file name (MIM's "Common Module
	// Script Name (with extension)"); default "common" + Extension.
	CommonModuleName string `yaml:"commonModuleName"`
	// Scripts maps each operation to its script; an absent operation is
	// not supported.
	Scripts Scripts `yaml:"scripts"`
	// Parameters are the custom configuration parameters, handed to the
	// scripts as configParameters["Name_Scope"].
	Parameters []Parameter `yaml:"parameters"`
	// Username and Password are the credentials handed to the scripts.
	Username string              `yaml:"username"`
	Password connector.SecretRef `yaml:"password"`
	// Timeout limits each call (a Go duration: 30s, 5m); default 5m.
	Timeout Duration `yaml:"timeout"`
	// PageSize is the most entries one importData call may return
	// (default 9,999); also the export batch size handed to the scripts.
	PageSize int `yaml:"pageSize"`
	// Schema is a static schema (YAML or JSON in the shape of the schema
	// script's result) used when there is no schema script.
	Schema *Source `yaml:"schema"`
	// Environment holds extra environment variables for the scripts.
	// Nothing else of idsync's environment is passed on except PATH.
	Environment map[string]string `yaml:"environment"`
	// Path is the scripts' PATH; default idsync's own PATH.
	Path string `yaml:"path"`
	// MaxOutput caps the bytes one call may print on stdout (default 512 MiB).
	MaxOutput int `yaml:"maxOutput"`
}

// Scripts holds one script per operation.
type Scripts struct {
	Validate    *Source `yaml:"validate"`
	Schema      *Source `yaml:"schema"`
	Partitions  *Source `yaml:"partitions"`
	Hierarchy   *Source `yaml:"hierarchy"`
	ImportBegin *Source `yaml:"importBegin"`
	ImportData  *Source `yaml:"importData"`
	ImportEnd   *Source `yaml:"importEnd"`
	ExportBegin *Source `yaml:"exportBegin"`
	ExportData  *Source `yaml:"exportData"`
	ExportEnd   *Source `yaml:"exportEnd"`
	Password    *Source `yaml:"password"`
}

// Get returns the script of operation op, or nil.
func (s *Scripts) Get(op string) *Source {
	switch op {
	case OpValidate:
		return s.Validate
	case OpSchema:
		return s.Schema
	case OpPartitions:
		return s.Partitions
	case OpHierarchy:
		return s.Hierarchy
	case OpImportBegin:
		return s.ImportBegin
	case OpImportData:
		return s.ImportData
	case OpImportEnd:
		return s.ImportEnd
	case OpExportBegin:
		return s.ExportBegin
	case OpExportData:
		return s.ExportData
	case OpExportEnd:
		return s.ExportEnd
	case OpPassword:
		return s.Password
	}
	return nil
}

// Source is a script body stored in the configuration ({inline: "..."})
// or a file ({file: path}, relative to the configuration directory).
type Source struct {
	Inline string `yaml:"inline"`
	File   string `yaml:"file"`
}

func (s *Source) validate() error {
	switch {
	case s == nil:
		return nil
	case s.Inline != "" && s.File != "":
		return errors.New("give inline or file, not both")
	case s.Inline == "" && s.File == "":
		return errors.New("needs inline: (the body) or file: (a path)")
	}
	return nil
}

// Parameter scopes (MIM's "Name_Scope" suffixes).
const (
	ScopeGlobal    = "Global"
	ScopePartition = "Partition"
	ScopeRunStep   = "RunStep"
)

// Parameter is a custom configuration parameter.
type Parameter struct {
	Name string `yaml:"name"`
	// Scope is Global, Partition or RunStep (default Global).
	Scope string `yaml:"scope"`
	// Encrypted marks a secret: Value must then be {env: NAME} / ${NAME};
	// the value is handed to the scripts on stdin only and never logged.
	Encrypted bool `yaml:"encrypted"`
	// Value is a plain string, or a secret reference {env: NAME}.
	Value ParamValue `yaml:"value"`
	// Partition restricts a Partition-scoped value to one partition
	// (default: every partition).
	Partition string `yaml:"partition"`
	// Step restricts a RunStep-scoped value to run steps of one type:
	// full-import, delta-import or export (default: every run step).
	Step string `yaml:"step"`
}

// Key is the name the scripts see: Name_Scope.
func (p Parameter) Key() string { return p.Name + "_" + p.scope() }

func (p Parameter) scope() string {
	if p.Scope == "" {
		return ScopeGlobal
	}
	return p.Scope
}

// ParamValue is a parameter value: literal text, or a secret reference.
type ParamValue struct {
	Text   string
	Secret connector.SecretRef
}

// UnmarshalYAML accepts a scalar (literal text, or ${NAME}) or {env: NAME}.
func (v *ParamValue) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode {
		s := n.Value
		if len(s) > 3 && strings.HasPrefix(s, "${") && strings.HasSuffix(s, "}") {
			v.Secret.Env = s[2 : len(s)-1]
			return nil
		}
		v.Text = s
		return nil
	}
	var r connector.SecretRef
	if err := n.Decode(&r); err != nil {
		return err
	}
	v.Secret = r
	return nil
}

// Duration is a time.Duration written as "30s" or "5m" in YAML.
type Duration time.Duration

// UnmarshalYAML parses a Go duration.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	var s string
	if err := n.Decode(&s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("timeout %q: want a duration such as 30s or 5m", s)
	}
	*d = Duration(v)
	return nil
}

// Type is the script connector type.
var Type = connector.Type{
	Name:         "script",
	NewConfig:    func() connector.Config { return new(Config) },
	Capabilities: baseCapabilities(),
}

func baseCapabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:      connector.DNGeneric,
		ExportType:   connector.ExportObjectReplace,
		Confirmation: connector.ConfirmNormal,
	}
}

// Capabilities implements connector.Capabler: import, export, password,
// partitions and hierarchy follow the scripts configured. Delta import,
// the DN style, the export type and the rest are declared with the
// connector-level capabilities: mapping, which overrides these.
func (c *Config) Capabilities() connector.Capabilities {
	caps := baseCapabilities()
	caps.Import = c.Scripts.ImportData != nil
	caps.Export = c.Scripts.ExportData != nil
	caps.Password = c.Scripts.Password != nil
	caps.Partitions = c.Scripts.Partitions != nil
	caps.Hierarchy = c.Scripts.Hierarchy != nil
	return caps
}

var _ connector.Capabler = (*Config)(nil)

func (c *Config) pageSize() int {
	if c.PageSize > 0 {
		return c.PageSize
	}
	return DefaultPageSize
}

func (c *Config) timeout() time.Duration {
	if c.Timeout > 0 {
		return time.Duration(c.Timeout)
	}
	return DefaultTimeout
}

func (c *Config) maxOutput() int {
	if c.MaxOutput > 0 {
		return c.MaxOutput
	}
	return DefaultMaxOutput
}

func (c *Config) extension() string {
	if c.Extension != "" {
		if !strings.HasPrefix(c.Extension, ".") {
			return "." + c.Extension
		}
		return c.Extension
	}
	if len(c.Interpreter) == 0 {
		return ""
	}
	base := strings.ToLower(filepath.Base(c.Interpreter[0]))
	base = strings.TrimSuffix(base, ".exe")
	switch {
	case base == "pwsh" || base == "powershell":
		return ".ps1"
	case strings.HasPrefix(base, "python"):
		return ".py"
	case base == "sh" || base == "bash" || base == "dash" || base == "ksh" || base == "zsh":
		return ".sh"
	}
	return ""
}

func (c *Config) commonModuleName() string {
	if c.CommonModuleName != "" {
		return c.CommonModuleName
	}
	return "common" + c.extension()
}

// Validate implements connector.Config. It does no I/O.
func (c *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	configured := false
	for _, op := range Operations {
		s := c.Scripts.Get(op)
		if s == nil {
			continue
		}
		configured = true
		if err := s.validate(); err != nil {
			add("script: scripts.%s: %v", op, err)
			continue
		}
		if s.Inline != "" && len(c.Interpreter) == 0 && !strings.HasPrefix(s.Inline, "#!") {
			add("script: scripts.%s: an inline script needs an interpreter: setting or a #! first line", op)
		}
	}
	if !configured {
		add("script: no scripts: configure at least one of %s", strings.Join(Operations, ", "))
	}
	if c.Scripts.ImportBegin != nil || c.Scripts.ImportEnd != nil {
		if c.Scripts.ImportData == nil {
			add("script: scripts.importBegin/importEnd without scripts.importData")
		}
	}
	if (c.Scripts.ExportBegin != nil || c.Scripts.ExportEnd != nil) && c.Scripts.ExportData == nil {
		add("script: scripts.exportBegin/exportEnd without scripts.exportData")
	}
	if err := c.CommonModule.validate(); err != nil {
		add("script: commonModule: %v", err)
	}
	if err := c.Schema.validate(); err != nil {
		add("script: schema: %v", err)
	} else if c.Schema != nil && c.Schema.Inline != "" {
		if _, err := parseSchemaDoc([]byte(c.Schema.Inline)); err != nil {
			add("script: schema: %v", err)
		}
	}
	if n := c.CommonModuleName; n != "" && (strings.ContainsAny(n, `/\`) || n == "." || n == "..") {
		add("script: commonModuleName %q must be a plain file name", n)
	}
	if c.PageSize < 0 {
		add("script: pageSize must be positive")
	}
	if c.Timeout < 0 {
		add("script: timeout must be positive")
	}
	if c.MaxOutput < 0 {
		add("script: maxOutput must be positive")
	}
	for k := range c.Environment {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			add("script: environment: invalid variable name %q", k)
		}
	}
	seen := map[string]bool{}
	for i, p := range c.Parameters {
		what := fmt.Sprintf("script: parameters[%d]", i)
		if p.Name != "" {
			what = fmt.Sprintf("script: parameter %s", p.Name)
		}
		switch {
		case p.Name == "":
			add("%s: name is required", what)
		case strings.ContainsAny(p.Name, " \t\n"):
			add("%s: name must not contain spaces", what)
		}
		switch p.scope() {
		case ScopeGlobal, ScopePartition, ScopeRunStep:
		default:
			add("%s: unknown scope %q (want Global, Partition or RunStep)", what, p.Scope)
		}
		if p.Partition != "" && p.scope() != ScopePartition {
			add("%s: partition: applies to scope Partition only", what)
		}
		switch p.Step {
		case "", string(idsync.StepFullImport), string(idsync.StepDeltaImport), string(idsync.StepExport):
			if p.Step != "" && p.scope() != ScopeRunStep {
				add("%s: step: applies to scope RunStep only", what)
			}
		default:
			add("%s: unknown step %q (want full-import, delta-import or export)", what, p.Step)
		}
		if p.Encrypted && p.Value.Secret.IsZero() {
			add("%s: an encrypted parameter's value must be a secret reference ({env: NAME} or ${NAME}), never a literal", what)
		}
		k := p.Key() + "\x00" + p.Partition + "\x00" + p.Step
		if seen[k] {
			add("%s: declared twice for scope %s", what, p.scope())
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// Open implements connector.Config: it resolves the secrets, writes the
// inline scripts and the common module to a private temporary directory
// and returns the session.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	return open(ctx, c, env)
}
