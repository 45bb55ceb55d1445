package csv

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// Config is the configuration of a CSV connector: the connector's
// settings mapping. See the package documentation for an example.
type Config struct {
	// Path is the file import reads (and export writes unless ExportPath
	// is set). Relative paths resolve against the configuration directory.
	Path string `yaml:"path"`
	// ObjectType is the object type of every row; default "person".
	ObjectType string `yaml:"objectType"`
	// Anchor lists the columns whose values make the anchor, joined with
	// "|" when there are several. Required.
	Anchor []string `yaml:"anchor"`
	// DN is a column name, or a template with {column} placeholders
	// ("CN={displayName},OU=People"). Empty: the DN is the anchor.
	DN string `yaml:"dn"`
	// Delimiter separates fields; one character, default ",".
	Delimiter string `yaml:"delimiter"`
	// MultiValueSeparator separates the values of a multi-valued column;
	// default ";".
	MultiValueSeparator string `yaml:"multiValueSeparator"`
	// MultiValued lists the multi-valued columns.
	MultiValued []string `yaml:"multiValued"`
	// Types maps columns to attribute types (string, integer, boolean,
	// binary, reference, datetime); default string.
	Types map[string]string `yaml:"types"`
	// Columns is the column order export writes. Default: the existing
	// file's header, else the sorted union of the exported attributes.
	// Required when Header is false: the file's columns.
	Columns []string `yaml:"columns"`
	// ExportPath is the file export writes, when it is not Path.
	ExportPath string `yaml:"exportPath"`
	// Header says whether the first line names the columns; default true.
	Header *bool `yaml:"header"`

	// fault, set only by tests, is called at each stage of a file
	// rewrite ("write", "sync", "rename") and fails it with its error.
	fault func(stage string) error
	// checkpoint, set only by tests, overrides defaultCheckpointRows.
	checkpoint int
}

// Type is the CSV connector type.
var Type = connector.Type{
	Name:         "csv",
	NewConfig:    func() connector.Config { return new(Config) },
	Capabilities: baseCapabilities(),
}

func baseCapabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:      connector.DNGeneric,
		ExportType:   connector.ExportObjectReplace,
		Confirmation: connector.ConfirmNormal,
		Import:       true,
		DeltaImport:  true,
		Export:       true,
	}
}

// Capabilities implements connector.Capabler: DN style none (DN as
// anchor) when DN is empty; ObjectRename when DN is a plain column that is
// not part of the anchor.
func (c *Config) Capabilities() connector.Capabilities {
	caps := baseCapabilities()
	switch k, col, _ := parseDN(c.DN); k {
	case dnAnchor:
		caps.DNStyle = connector.DNNone
		caps.DNAsAnchor = true
	case dnColumn:
		caps.ObjectRename = !slices.Contains(c.Anchor, col)
	}
	return caps
}

var _ connector.Capabler = (*Config)(nil)

func (c *Config) header() bool { return c.Header == nil || *c.Header }

func (c *Config) objectType() string {
	if c.ObjectType == "" {
		return "person"
	}
	return c.ObjectType
}

func (c *Config) delimiter() rune {
	if c.Delimiter == "" {
		return ','
	}
	r, _ := utf8.DecodeRuneInString(c.Delimiter)
	return r
}

func (c *Config) separator() string {
	if c.MultiValueSeparator == "" {
		return ";"
	}
	return c.MultiValueSeparator
}

// Validate implements connector.Config. It does no I/O.
func (c *Config) Validate() error {
	if c.Path == "" {
		return errors.New("csv: path is required")
	}
	if len(c.Anchor) == 0 {
		return errors.New("csv: anchor is required: list one or more column names")
	}
	if err := checkNames("anchor", c.Anchor); err != nil {
		return err
	}
	if err := checkNames("multiValued", c.MultiValued); err != nil {
		return err
	}
	if err := checkNames("columns", c.Columns); err != nil {
		return err
	}
	for _, a := range c.Anchor {
		if slices.Contains(c.MultiValued, a) {
			return fmt.Errorf("csv: anchor column %q cannot be multiValued", a)
		}
	}
	if c.Delimiter != "" {
		r, n := utf8.DecodeRuneInString(c.Delimiter)
		if n != len(c.Delimiter) || r == utf8.RuneError || r == '"' || r == '\r' || r == '\n' {
			return fmt.Errorf("csv: delimiter %q must be one character other than a quote or a line break", c.Delimiter)
		}
	}
	if strings.ContainsAny(c.MultiValueSeparator, "\r\n") {
		return fmt.Errorf("csv: multiValueSeparator %q must not hold a line break", c.MultiValueSeparator)
	}
	for col, t := range c.Types {
		if col == "" {
			return errors.New("csv: types: empty column name")
		}
		if _, err := idsync.ParseAttrType(t); err != nil {
			return fmt.Errorf("csv: types: column %q: %w", col, err)
		}
	}
	kind, col, tmpl := parseDN(c.DN)
	if kind == dnInvalid {
		return fmt.Errorf("csv: dn %q: unbalanced braces or an empty {} placeholder", c.DN)
	}
	if c.Columns != nil {
		need := append([]string(nil), c.Anchor...)
		if kind == dnColumn {
			need = append(need, col)
		}
		for _, p := range tmpl {
			if p.col != "" {
				need = append(need, p.col)
			}
		}
		for _, n := range need {
			if !slices.Contains(c.Columns, n) {
				return fmt.Errorf("csv: columns lacks %q (used by anchor or dn)", n)
			}
		}
	}
	if !c.header() && len(c.Columns) == 0 {
		return errors.New("csv: columns is required when header is false")
	}
	return nil
}

func checkNames(field string, names []string) error {
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		if n == "" {
			return fmt.Errorf("csv: %s: empty column name", field)
		}
		if seen[n] {
			return fmt.Errorf("csv: %s: column %q listed twice", field, n)
		}
		seen[n] = true
	}
	return nil
}

// DN kinds.
const (
	dnInvalid = iota
	dnAnchor
	dnColumn
	dnTemplate
)

// tmplPart is a literal or, when col is set, a placeholder.
type tmplPart struct{ lit, col string }

// parseDN classifies the dn setting.
func parseDN(s string) (kind int, col string, tmpl []tmplPart) {
	if s == "" {
		return dnAnchor, "", nil
	}
	if !strings.ContainsAny(s, "{}") {
		return dnColumn, s, nil
	}
	rest := s
	for rest != "" {
		i := strings.IndexAny(rest, "{}")
		if i < 0 {
			tmpl = append(tmpl, tmplPart{lit: rest})
			break
		}
		if rest[i] == '}' {
			return dnInvalid, "", nil
		}
		if i > 0 {
			tmpl = append(tmpl, tmplPart{lit: rest[:i]})
		}
		j := strings.IndexAny(rest[i+1:], "{}")
		if j <= 0 || rest[i+1+j] != '}' {
			return dnInvalid, "", nil
		}
		tmpl = append(tmpl, tmplPart{col: rest[i+1 : i+1+j]})
		rest = rest[i+2+j:]
	}
	return dnTemplate, "", tmpl
}

// Open implements connector.Config. It opens no file: Import and
// OpenExport do.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	resolve := func(p string) string {
		if !filepath.IsAbs(p) && env.Dir != "" {
			p = filepath.Join(env.Dir, p)
		}
		return filepath.Clean(p)
	}
	cn := &conn{
		cfg:     *c,
		name:    c.Path,
		path:    resolve(c.Path),
		objType: c.objectType(),
		sep:     c.separator(),
		delim:   c.delimiter(),
		types:   map[string]idsync.AttrType{},
		multi:   map[string]bool{},
		log:     env.Logger,
	}
	cn.exportPath = cn.path
	if c.ExportPath != "" {
		cn.exportPath = resolve(c.ExportPath)
	}
	cn.journalPath = cn.exportPath + ".journal"
	cn.dnKind, cn.dnCol, cn.dnTmpl = parseDN(c.DN)
	for col, t := range c.Types {
		cn.types[col], _ = idsync.ParseAttrType(t)
	}
	for _, m := range c.MultiValued {
		cn.multi[m] = true
	}
	cn.columns = map[string]colInfo{}
	for col, t := range cn.types {
		cn.columns[col] = colInfo{typ: t, multi: cn.multi[col]}
	}
	for col := range cn.multi {
		cn.columns[col] = colInfo{typ: cn.typeOf(col), multi: true}
	}
	if cn.log == nil {
		cn.log = discardLogger()
	}
	cn.log = cn.log.With("connector", env.Name)
	return cn, nil
}
