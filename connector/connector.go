// Package connector is the contract between the engine and connected
// systems, in the manner of database/sql/driver: a small required
// interface, Connector, plus optional capability interfaces the engine
// discovers by type assertion. A missing interface and a returned
// errors.ErrUnsupported mean the same thing.
//
// A connector package exports a Config type and a Type value, and
// cmd/idsync registers every Type explicitly with NewRegistry: there is no
// init() magic and no global map.
package connector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/idsync/idsync"
)

// Sentinel errors with protocol meaning.
var (
	// ErrWatermarkExpired is returned by ImportChanges when the watermark
	// is too old or invalid; the engine falls back to a full import and
	// records a warning.
	ErrWatermarkExpired = errors.New("connector: watermark expired or invalid")
	// ErrResumeInvalid is returned by the Import of a ResumableImporter,
	// before it emits anything, when ImportOptions.Resume no longer
	// applies (the source changed since); the engine then imports from
	// the start.
	ErrResumeInvalid = errors.New("connector: import position no longer valid")
	// ErrUnsupported says a capability is not available; same as a missing interface.
	ErrUnsupported = errors.ErrUnsupported
)

// Watermark is an opaque position for delta import: a DirSync cookie, a
// USN, a rowversion. The engine stores it per connector and partition and
// never looks inside.
type Watermark []byte

// Connector is an open session with one connected system. Close releases
// it; the engine calls Close exactly once, from the goroutine that opened it.
type Connector interface {
	Close() error
}

// Config is a connector's decoded configuration. Validate checks it
// without I/O (idsync validate stays offline). Open connects.
type Config interface {
	Validate() error
	Open(ctx context.Context, env Env) (Connector, error)
}

// Env is what the engine hands a connector when it opens it.
type Env struct {
	Name   string       // the connector instance name from configuration
	Dir    string       // the configuration directory, for relative paths
	Logger *slog.Logger // never nil
	Now    func() time.Time
	// Secret resolves a secret reference from configuration (an
	// environment variable name); secrets never reach logs.
	Secret func(ref string) (string, error)
}

// Type describes a kind of connector for the Registry.
type Type struct {
	Name string
	// NewConfig returns a new zero Config for the decoder to fill.
	NewConfig func() Config
	// Capabilities are the connector's declared capabilities (§9.1); a
	// Config may refine them by implementing Capabler.
	Capabilities Capabilities
}

// Registry maps type names to Types. It is built once by cmd/idsync (or a
// test) and never changes afterwards.
type Registry struct{ types map[string]Type }

// NewRegistry returns a registry of the given types. It panics on a
// duplicate name: that is a programming error.
func NewRegistry(types ...Type) *Registry {
	r := &Registry{types: make(map[string]Type, len(types))}
	for _, t := range types {
		if _, dup := r.types[t.Name]; dup {
			panic(fmt.Sprintf("connector: type %q registered twice", t.Name))
		}
		if t.NewConfig == nil {
			panic(fmt.Sprintf("connector: type %q has no NewConfig", t.Name))
		}
		r.types[t.Name] = t
	}
	return r
}

// Lookup returns the type named name.
func (r *Registry) Lookup(name string) (Type, bool) {
	t, ok := r.types[name]
	return t, ok
}

// Names returns the registered type names in sorted order.
func (r *Registry) Names() []string {
	names := make([]string, 0, len(r.types))
	for n := range r.types {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// DNStyle is how a connector names objects (§9.1).
type DNStyle string

// DN styles.
const (
	DNNone    DNStyle = "none"    // DN is the anchor
	DNGeneric DNStyle = "generic" // opaque names
	DNLDAP    DNStyle = "ldap"    // RFC 4514 DNs with a hierarchy
)

// ExportType is how a connector takes attribute changes (§9.1).
type ExportType string

// Export types.
const (
	ExportAttributeReplace                    ExportType = "AttributeReplace"
	ExportAttributeUpdate                     ExportType = "AttributeUpdate"
	ExportMultivaluedReferenceAttributeUpdate ExportType = "MultivaluedReferenceAttributeUpdate"
	ExportObjectReplace                       ExportType = "ObjectReplace"
)

// ConfirmationMode relaxes export confirmation (§6.1).
type ConfirmationMode string

// Object confirmation modes.
const (
	ConfirmNormal                     ConfirmationMode = "Normal"
	ConfirmNoDeleteConfirmation       ConfirmationMode = "NoDeleteConfirmation"
	ConfirmNoAddAndDeleteConfirmation ConfirmationMode = "NoAddAndDeleteConfirmation"
)

// Capabilities are what a connector declares about itself (§9.1).
type Capabilities struct {
	DNStyle      DNStyle          `json:"dnStyle" yaml:"dnStyle"`
	ExportType   ExportType       `json:"exportType" yaml:"exportType"`
	Confirmation ConfirmationMode `json:"objectConfirmation" yaml:"objectConfirmation"`
	// NormalizeAnchors upper-cases anchors before comparing them.
	NormalizeAnchors bool `json:"normalizeAnchors,omitempty" yaml:"normalizeAnchors"`
	DNAsAnchor       bool `json:"dnAsAnchor,omitempty" yaml:"dnAsAnchor"`
	Concurrent       bool `json:"concurrentOperations,omitempty" yaml:"concurrentOperations"`
	Partitions       bool `json:"partitions,omitempty" yaml:"partitions"`
	Hierarchy        bool `json:"hierarchy,omitempty" yaml:"hierarchy"`
	Import           bool `json:"import" yaml:"import"`
	DeltaImport      bool `json:"deltaImport,omitempty" yaml:"deltaImport"`
	Export           bool `json:"export" yaml:"export"`
	FullExport       bool `json:"fullExport,omitempty" yaml:"fullExport"`
	// NoReferencesInFirstPass exports objects first and reference values in a second pass (§5).
	NoReferencesInFirstPass bool `json:"noReferenceValuesInFirstExportPass,omitempty" yaml:"noReferenceValuesInFirstExportPass"`
	ObjectRename            bool `json:"objectRename,omitempty" yaml:"objectRename"`
	DeleteAddAsReplace      bool `json:"deleteAddAsReplace,omitempty" yaml:"deleteAddAsReplace"`
	Password                bool `json:"passwordOperations,omitempty" yaml:"passwordOperations"`
	ExportPasswordFirstPass bool `json:"exportPasswordInFirstPass,omitempty" yaml:"exportPasswordInFirstPass"`
}

// Capabler is implemented by a Config whose capabilities depend on its settings.
type Capabler interface {
	Capabilities() Capabilities
}

// Pinger checks that the system is reachable and the configuration works
// (the "validate configuration" operation).
type Pinger interface {
	Ping(ctx context.Context) error
}

// SchemaDiscoverer discovers object types and attributes.
type SchemaDiscoverer interface {
	Schema(ctx context.Context) (*idsync.Schema, error)
}

// Partition is a naming context or other independent part of a system.
type Partition struct {
	Name string `json:"name"`
	DN   string `json:"dn,omitempty"`
}

// PartitionLister discovers partitions.
type PartitionLister interface {
	Partitions(ctx context.Context) ([]Partition, error)
}

// HierarchyNode is a container under a partition.
type HierarchyNode struct {
	Name string `json:"name"`
	DN   string `json:"dn"`
}

// HierarchyDiscoverer lists the children of a node.
type HierarchyDiscoverer interface {
	Children(ctx context.Context, parentDN string) ([]HierarchyNode, error)
}

// ImportOptions parameterize an import.
type ImportOptions struct {
	Partition string
	PageSize  int
	// Resume, for a ResumableImporter's full import, is a position its
	// ImportPosition returned during an earlier, interrupted import: the
	// import starts right after the object emitted last before it.
	Resume []byte
}

// ResumableImporter is an Importer whose full import can resume where an
// interrupted one stopped (§13: a process killed in the middle of an
// import; another one resumes the run from its last committed page).
// While Import runs, ImportPosition returns an opaque position right
// after the object emitted last; the engine stores it with each page it
// commits. Import with ImportOptions.Resume set starts right after that
// object, with everything else (the watermark it returns, duplicate
// detection) as if it had read the whole source, or returns
// ErrResumeInvalid, before emitting anything, when the source changed.
type ResumableImporter interface {
	Importer
	ImportPosition() []byte
}

// Importer lists every object in scope (full import), calling emit once
// per object in the order read, and returns the watermark a later
// ImportChanges starts from (nil if the connector has no delta import).
// An error from emit aborts the import and is returned. Import honours
// ctx cancellation between objects.
type Importer interface {
	Import(ctx context.Context, opts ImportOptions, emit func(idsync.Entry) error) (Watermark, error)
}

// DeltaImporter reports changes since a watermark. It returns
// ErrWatermarkExpired when since is too old; the engine then falls back to
// a full import.
type DeltaImporter interface {
	ImportChanges(ctx context.Context, opts ImportOptions, since Watermark, emit func(idsync.Change) error) (Watermark, error)
}

// ExportResult is the outcome of exporting one change.
type ExportResult struct {
	ID string // the Change.ID it answers
	// Anchor is the anchor the system assigned to an added object.
	Anchor idsync.Anchor
	// DN is the DN the system gave the object, when it differs.
	DN string
	// Err is nil on success. ErrorType names the failure for the run
	// history ("AttributeValueMustBeUnique", "ObjectAlreadyExists", ...).
	Err       error
	ErrorType string
}

// ExportSession receives the changes of one export run in pages. Each
// ExportPage call is durable when it returns: the results are final, and
// the engine commits them before sending the next page. Close ends the
// session; its error does not undo earlier pages.
type ExportSession interface {
	ExportPage(ctx context.Context, changes []idsync.Change) ([]ExportResult, error)
	Close(ctx context.Context) error
}

// Exporter opens an export session.
type Exporter interface {
	OpenExport(ctx context.Context, opts ExportOptions) (ExportSession, error)
}

// ExportOptions parameterize an export.
type ExportOptions struct {
	Partition string
	PageSize  int
}

// PasswordChanger sets and changes passwords.
type PasswordChanger interface {
	SetPassword(ctx context.Context, anchor idsync.Anchor, dn string, password Secret, opts PasswordOptions) error
	ChangePassword(ctx context.Context, anchor idsync.Anchor, dn string, oldPassword, newPassword Secret) error
}

// PasswordOptions are the options of SetPassword.
type PasswordOptions struct {
	UnlockAccount      bool
	ForceChangeAtLogOn bool
	ValidatePassword   bool
}

// Secret is a password or key that must never reach a log: it prints as
// "[redacted]".
type Secret struct{ v string }

// NewSecret wraps s.
func NewSecret(s string) Secret { return Secret{v: s} }

// Reveal returns the secret text.
func (s Secret) Reveal() string { return s.v }

func (s Secret) String() string               { return "[redacted]" }
func (s Secret) GoString() string             { return "[redacted]" }
func (s Secret) MarshalText() ([]byte, error) { return []byte("[redacted]"), nil }

// Password errors a connector returns from PasswordChanger.
var (
	ErrPasswordPolicyViolation = errors.New("password policy violation")
	ErrPasswordIllFormed       = errors.New("password ill-formed")
)

// SecretRef is how a connector Config names a secret: by environment
// variable, never in clear. In YAML it is written `{env: NAME}` or
// `${NAME}`; a plain string is refused so that no password sits in a
// configuration file. Resolve it with Env.Secret.
type SecretRef struct {
	Env string `json:"env" yaml:"env"`
}

// IsZero reports whether no secret is configured.
func (r SecretRef) IsZero() bool { return r.Env == "" }

// UnmarshalYAML accepts {env: NAME} or "${NAME}".
func (r *SecretRef) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err == nil {
		if len(s) > 3 && s[0] == '$' && s[1] == '{' && s[len(s)-1] == '}' {
			r.Env = s[2 : len(s)-1]
			return nil
		}
		return errors.New("a secret must be an environment-variable reference ({env: NAME} or ${NAME}), never a literal value")
	}
	var m struct {
		Env string `yaml:"env"`
	}
	if err := unmarshal(&m); err != nil {
		return err
	}
	if m.Env == "" {
		return errors.New("a secret reference needs env: NAME")
	}
	r.Env = m.Env
	return nil
}

// Resolve returns the secret's value from env, or an error naming the
// variable (never the value).
func (r SecretRef) Resolve(env Env) (Secret, error) {
	if r.Env == "" {
		return Secret{}, errors.New("no secret configured")
	}
	if env.Secret == nil {
		return Secret{}, fmt.Errorf("secret %s: no resolver", r.Env)
	}
	v, err := env.Secret(r.Env)
	if err != nil {
		return Secret{}, err
	}
	return NewSecret(v), nil
}
