package sqlconn

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// Config is the `settings:` mapping of a sql connector. See the package
// documentation for a complete example.
type Config struct {
	// Driver is postgres, mysql (also MariaDB), sqlite or sqlserver.
	Driver string `yaml:"driver"`
	// DSN is the driver's data source name, without the password:
	// postgres://user@host:5432/db?sslmode=require, user@tcp(host:3306)/db,
	// a file path for sqlite (relative to the configuration directory),
	// sqlserver://user@host:1433?database=db.
	DSN string `yaml:"dsn"`
	// Password is set into the DSN when the connector opens; never in clear.
	Password connector.SecretRef `yaml:"password"`
	// Schema qualifies unqualified table names in catalog queries
	// (PostgreSQL search path, SQL Server schema); default: the
	// connection's current schema.
	Schema string `yaml:"schema"`
	// ObjectTypes are the object types this connector reads and writes.
	ObjectTypes []ObjectType `yaml:"objectTypes"`
	// PageSize is the number of rows read per keyset page; default 5000.
	PageSize int `yaml:"pageSize"`
	// BatchSize bounds the rows of one multi-row INSERT; default 1000.
	BatchSize int `yaml:"batchSize"`
	// MaxOpenConns bounds the connection pool; default 4.
	MaxOpenConns int `yaml:"maxOpenConns"`
	// Timeout bounds connecting and each statement ("30s"); default none.
	Timeout string `yaml:"timeout"`
}

// ObjectType maps one object type onto a table, a view or a query.
type ObjectType struct {
	// Name is the idsync object type.
	Name string `yaml:"name"`
	// Table is a table or view name, optionally schema-qualified
	// (hr.employees). Exactly one of Table and Query.
	Table string `yaml:"table"`
	// Query is a SELECT statement returning one row per object; import
	// only (export needs a table or statements).
	Query string `yaml:"query"`
	// Anchor lists the columns that identify a row; several are joined
	// with "|" (a "|" or "\" inside a value is escaped with "\").
	Anchor []string `yaml:"anchor"`
	// Generated says the database assigns the anchor on insert (identity,
	// serial, AUTO_INCREMENT): export reads it back (RETURNING, OUTPUT
	// INSERTED, LAST_INSERT_ID) and reports it as the new anchor.
	Generated bool `yaml:"generated"`
	// Exclude lists columns that are not attributes.
	Exclude []string `yaml:"exclude"`
	// Types overrides the type discovered from the catalog (string,
	// integer, boolean, binary, reference, datetime).
	Types map[string]string `yaml:"types"`
	// References lists columns holding the anchor of another object:
	// they become reference attributes.
	References []string `yaml:"references"`
	// MultiValued lists attributes stored in child tables.
	MultiValued []MultiValued `yaml:"multiValued"`
	// SoftDelete marks deleted rows: a full import skips them, a delta
	// import reports them as deletions, an export delete sets the column
	// instead of deleting the row.
	SoftDelete *SoftDelete `yaml:"softDelete"`
	// Delta selects how delta import finds changes; absent: no delta
	// import for this type (a delta run reads it fully).
	Delta *Delta `yaml:"delta"`
	// Export replaces the generated INSERT, UPDATE and DELETE with
	// statements or stored procedures.
	Export *Export `yaml:"export"`
}

// MultiValued is an attribute whose values are rows of a child table.
type MultiValued struct {
	// Attribute is the attribute name.
	Attribute string `yaml:"attribute"`
	// Table is the child table.
	Table string `yaml:"table"`
	// ParentColumns are the child columns holding the parent's anchor
	// columns, in the order of Anchor.
	ParentColumns []string `yaml:"parentColumns"`
	// ValueColumn holds one value.
	ValueColumn string `yaml:"valueColumn"`
	// Type is the value type; default from the catalog. "reference"
	// makes the values anchors of other objects.
	Type string `yaml:"type"`
}

// SoftDelete names the column that marks a row deleted.
type SoftDelete struct {
	Column string `yaml:"column"`
	// Value is the deleted marker (compared as text: "1", "true", "Y");
	// default true. Rows whose column is NULL or another value are live.
	Value string `yaml:"value"`
	// LiveValue is what export writes when it creates a row; default
	// false, "0" or "N" to match Value.
	LiveValue string `yaml:"liveValue"`
}

// Delta modes.
const (
	DeltaWatermark   = "watermark"
	DeltaChangeTable = "changeTable"
	DeltaSnapshot    = "snapshot"
)

// Delta configures delta import.
type Delta struct {
	// Mode is watermark, changeTable or snapshot.
	Mode string `yaml:"mode"`
	// Column is the watermark column (mode watermark).
	Column string `yaml:"column"`
	// Kind is the watermark column's kind: timestamp, number or
	// rowversion; default from the catalog.
	Kind string `yaml:"kind"`
	// Table is the change table (mode changeTable).
	Table string `yaml:"table"`
	// SequenceColumn is the change table's increasing number.
	SequenceColumn string `yaml:"sequenceColumn"`
	// AnchorColumns are the change table's columns holding the changed
	// row's anchor columns, in the order of Anchor; default the anchor
	// column names.
	AnchorColumns []string `yaml:"anchorColumns"`
	// OperationColumn holds insert, update or delete (or the values of
	// Operations).
	OperationColumn string `yaml:"operationColumn"`
	// Operations maps the operation column's values onto insert, update
	// and delete; default {insert: I, update: U, delete: D} besides the
	// words themselves.
	Operations map[string]string `yaml:"operations"`
}

// Export configures statements or procedures per operation.
type Export struct {
	Insert *Statement `yaml:"insert"`
	Update *Statement `yaml:"update"`
	Delete *Statement `yaml:"delete"`
}

// Statement is one configured export operation: a SQL statement with
// :name parameters, or a stored procedure called with Parameters in
// order. Parameter names are attributes, or anchor, dn and objectType.
// If it returns a row, its first column(s) are the new anchor (insert).
type Statement struct {
	Statement  string   `yaml:"statement"`
	Procedure  string   `yaml:"procedure"`
	Parameters []string `yaml:"parameters"`
}

// Type is the sql connector type.
var Type = connector.Type{
	Name:         "sql",
	NewConfig:    func() connector.Config { return new(Config) },
	Capabilities: baseCapabilities(),
}

func baseCapabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:      connector.DNNone,
		DNAsAnchor:   true,
		ExportType:   connector.ExportAttributeUpdate,
		Confirmation: connector.ConfirmNormal,
		Import:       true,
		Export:       true,
	}
}

// Capabilities implements connector.Capabler: delta import when an
// object type configures it.
func (c *Config) Capabilities() connector.Capabilities {
	caps := baseCapabilities()
	for _, ot := range c.ObjectTypes {
		if ot.Delta != nil {
			caps.DeltaImport = true
		}
	}
	return caps
}

var _ connector.Capabler = (*Config)(nil)

const (
	defaultPageSize  = 5000
	defaultBatchSize = 1000
)

// Validate implements connector.Config without I/O.
func (c *Config) Validate() error {
	d, err := dialectFor(c.Driver)
	if err != nil {
		return err
	}
	if strings.TrimSpace(c.DSN) == "" {
		return errors.New("sql: dsn is required")
	}
	if err := checkDSN(d, c.DSN); err != nil {
		return err
	}
	if c.PageSize < 0 || c.BatchSize < 0 || c.MaxOpenConns < 0 {
		return errors.New("sql: pageSize, batchSize and maxOpenConns must not be negative")
	}
	if _, err := parseTimeout(c.Timeout); err != nil {
		return err
	}
	if len(c.ObjectTypes) == 0 {
		return errors.New("sql: objectTypes: configure at least one object type (table, view or query)")
	}
	seen := map[string]bool{}
	for i := range c.ObjectTypes {
		ot := &c.ObjectTypes[i]
		what := fmt.Sprintf("sql: objectTypes[%d]", i)
		if ot.Name != "" {
			what = fmt.Sprintf("sql: object type %q", ot.Name)
		}
		if err := ot.validate(d, what); err != nil {
			return err
		}
		if seen[ot.Name] {
			return fmt.Errorf("%s: declared twice", what)
		}
		seen[ot.Name] = true
	}
	return nil
}

func (ot *ObjectType) validate(d dialect, what string) error {
	if ot.Name == "" {
		return fmt.Errorf("%s: name is required", what)
	}
	if (ot.Table == "") == (ot.Query == "") {
		return fmt.Errorf("%s: set exactly one of table and query", what)
	}
	if ot.Table != "" {
		if err := checkIdent(ot.Table, true); err != nil {
			return fmt.Errorf("%s: table: %w", what, err)
		}
	}
	if len(ot.Anchor) == 0 {
		return fmt.Errorf("%s: anchor is required: list one or more columns", what)
	}
	for _, group := range []struct {
		field string
		cols  []string
	}{{"anchor", ot.Anchor}, {"exclude", ot.Exclude}, {"references", ot.References}} {
		seen := map[string]bool{}
		for _, col := range group.cols {
			if err := checkIdent(col, false); err != nil {
				return fmt.Errorf("%s: %s: %w", what, group.field, err)
			}
			if seen[col] {
				return fmt.Errorf("%s: %s: column %q listed twice", what, group.field, col)
			}
			seen[col] = true
		}
	}
	for _, a := range ot.Anchor {
		if slices.Contains(ot.Exclude, a) {
			return fmt.Errorf("%s: anchor column %q cannot be excluded", what, a)
		}
	}
	if ot.Generated && len(ot.Anchor) != 1 {
		return fmt.Errorf("%s: generated needs exactly one anchor column", what)
	}
	for col, t := range ot.Types {
		if err := checkIdent(col, false); err != nil {
			return fmt.Errorf("%s: types: %w", what, err)
		}
		if _, err := idsync.ParseAttrType(t); err != nil {
			return fmt.Errorf("%s: types: column %q: %w", what, col, err)
		}
	}
	attrs := map[string]bool{}
	for j, mv := range ot.MultiValued {
		mw := fmt.Sprintf("%s: multiValued[%d]", what, j)
		if mv.Attribute == "" || mv.Table == "" || mv.ValueColumn == "" {
			return fmt.Errorf("%s: attribute, table and valueColumn are required", mw)
		}
		if attrs[mv.Attribute] {
			return fmt.Errorf("%s: attribute %q declared twice", mw, mv.Attribute)
		}
		attrs[mv.Attribute] = true
		if err := checkIdent(mv.Table, true); err != nil {
			return fmt.Errorf("%s: table: %w", mw, err)
		}
		if err := checkIdent(mv.ValueColumn, false); err != nil {
			return fmt.Errorf("%s: valueColumn: %w", mw, err)
		}
		if len(mv.ParentColumns) != len(ot.Anchor) {
			return fmt.Errorf("%s: parentColumns must list %d column(s), one per anchor column", mw, len(ot.Anchor))
		}
		for _, p := range mv.ParentColumns {
			if err := checkIdent(p, false); err != nil {
				return fmt.Errorf("%s: parentColumns: %w", mw, err)
			}
		}
		if mv.Type != "" {
			if _, err := idsync.ParseAttrType(mv.Type); err != nil {
				return fmt.Errorf("%s: type: %w", mw, err)
			}
		}
	}
	if sd := ot.SoftDelete; sd != nil {
		if err := checkIdent(sd.Column, false); err != nil {
			return fmt.Errorf("%s: softDelete: column: %w", what, err)
		}
	}
	if dl := ot.Delta; dl != nil {
		if err := dl.validate(ot, what); err != nil {
			return err
		}
	}
	if ex := ot.Export; ex != nil {
		for _, op := range []struct {
			name string
			st   *Statement
		}{{"insert", ex.Insert}, {"update", ex.Update}, {"delete", ex.Delete}} {
			if op.st == nil {
				continue
			}
			if err := op.st.validate(d); err != nil {
				return fmt.Errorf("%s: export: %s: %w", what, op.name, err)
			}
		}
	}
	return nil
}

func (dl *Delta) validate(ot *ObjectType, what string) error {
	switch dl.Mode {
	case DeltaWatermark:
		if err := checkIdent(dl.Column, false); err != nil {
			return fmt.Errorf("%s: delta: column: %w", what, err)
		}
		switch dl.Kind {
		case "", "timestamp", "number", "rowversion":
		default:
			return fmt.Errorf("%s: delta: kind %q: want timestamp, number or rowversion", what, dl.Kind)
		}
	case DeltaChangeTable:
		if err := checkIdent(dl.Table, true); err != nil {
			return fmt.Errorf("%s: delta: table: %w", what, err)
		}
		if err := checkIdent(dl.SequenceColumn, false); err != nil {
			return fmt.Errorf("%s: delta: sequenceColumn: %w", what, err)
		}
		if err := checkIdent(dl.OperationColumn, false); err != nil {
			return fmt.Errorf("%s: delta: operationColumn: %w", what, err)
		}
		if dl.AnchorColumns != nil && len(dl.AnchorColumns) != len(ot.Anchor) {
			return fmt.Errorf("%s: delta: anchorColumns must list %d column(s), one per anchor column", what, len(ot.Anchor))
		}
		for _, a := range dl.AnchorColumns {
			if err := checkIdent(a, false); err != nil {
				return fmt.Errorf("%s: delta: anchorColumns: %w", what, err)
			}
		}
		for k := range dl.Operations {
			switch k {
			case "insert", "update", "delete":
			default:
				return fmt.Errorf("%s: delta: operations: key %q: want insert, update or delete", what, k)
			}
		}
	case DeltaSnapshot:
	default:
		return fmt.Errorf("%s: delta: mode %q: want watermark, changeTable or snapshot", what, dl.Mode)
	}
	return nil
}

func (st *Statement) validate(d dialect) error {
	if (strings.TrimSpace(st.Statement) == "") == (st.Procedure == "") {
		return errors.New("set exactly one of statement and procedure")
	}
	if st.Procedure != "" {
		if !d.procedures() {
			return fmt.Errorf("%s has no stored procedures: use statement", d.name())
		}
		if err := checkIdent(st.Procedure, true); err != nil {
			return fmt.Errorf("procedure: %w", err)
		}
		return nil
	}
	if len(st.Parameters) > 0 {
		return errors.New("parameters go with procedure; a statement names its parameters as :name")
	}
	if _, _, err := bindNamed(st.Statement, d); err != nil {
		return err
	}
	return nil
}

// checkIdent refuses names a dialect could not quote safely. Names from
// configuration are always quoted; data never becomes SQL text.
func checkIdent(s string, qualified bool) error {
	if s == "" {
		return errors.New("empty name")
	}
	parts := []string{s}
	if qualified {
		parts = strings.Split(s, ".")
		if len(parts) > 3 {
			return fmt.Errorf("name %q has more than three parts", s)
		}
	}
	for _, p := range parts {
		if p == "" {
			return fmt.Errorf("name %q has an empty part", s)
		}
		if strings.ContainsAny(p, "\x00\r\n") {
			return fmt.Errorf("name %q holds a NUL or a line break", s)
		}
	}
	return nil
}

// Open implements connector.Config.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return open(ctx, c, env)
}
