package sqlconn

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	mssql "github.com/microsoft/go-mssqldb"
	"github.com/microsoft/go-mssqldb/msdsn"
	"modernc.org/sqlite"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// conn is an open sql connector.
type conn struct {
	cfg    Config
	d      dialect
	db     *sql.DB
	log    *slog.Logger
	name   string
	types  []*otype
	byName map[string]*otype
	page   int
	batch  int
}

var (
	_ connector.Connector        = (*conn)(nil)
	_ connector.Importer         = (*conn)(nil)
	_ connector.DeltaImporter    = (*conn)(nil)
	_ connector.Exporter         = (*conn)(nil)
	_ connector.SchemaDiscoverer = (*conn)(nil)
	_ connector.Pinger           = (*conn)(nil)
)

// column is one attribute column of an object type.
type column struct {
	name   string
	hidden bool            // excluded, read only for soft deletion or the watermark
	attr   idsync.AttrType // the attribute's type (reference for references)
	store  idsync.AttrType // the column's own type, for binding values
}

// mvAttr is a multi-valued attribute in a child table.
type mvAttr struct {
	attr   string
	table  string
	parent []string
	value  string
	typ    idsync.AttrType
	store  idsync.AttrType
}

// otype is an object type resolved against the catalog.
type otype struct {
	cfg       *ObjectType
	name      string
	from      string // FROM clause: a quoted table or a parenthesized query, aliased q
	cols      []column
	idx       map[string]int // column name -> index in cols
	anchor    []int          // indexes of the anchor columns in cols
	anchorCol []string
	mv        []mvAttr
	mvByName  map[string]int
	softDel   int // index in cols, or -1
	wmIdx     int // index of the watermark column, or -1
	wmKind    string
}

func parseTimeout(s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, fmt.Errorf("sql: timeout %q: want a duration such as 30s", s)
	}
	return d, nil
}

var kvPassword = regexp.MustCompile(`(?i)(^|[\s;])(password|pwd)\s*=`)

// checkDSN refuses a DSN that carries a password: it belongs in
// password: {env: NAME}.
func checkDSN(d dialect, dsn string) error {
	const msg = "sql: dsn must not hold a password: set password: {env: NAME}"
	switch d.name() {
	case "mysql":
		cfg, err := mysql.ParseDSN(dsn)
		if err != nil {
			return fmt.Errorf("sql: dsn: %w", err)
		}
		if cfg.Passwd != "" {
			return errors.New(msg)
		}
		return nil
	case "sqlite":
		return nil
	}
	if strings.Contains(dsn, "://") {
		u, err := url.Parse(dsn)
		if err != nil {
			return errors.New("sql: dsn: not a valid URL")
		}
		if _, set := u.User.Password(); set {
			return errors.New(msg)
		}
		for k := range u.Query() {
			if strings.EqualFold(k, "password") {
				return errors.New(msg)
			}
		}
		return nil
	}
	if kvPassword.MatchString(dsn) {
		return errors.New(msg)
	}
	return nil
}

// dsnConnector adapts a driver and a DSN to driver.Connector.
type dsnConnector struct {
	drv driver.Driver
	dsn string
}

func (c dsnConnector) Connect(context.Context) (driver.Conn, error) { return c.drv.Open(c.dsn) }
func (c dsnConnector) Driver() driver.Driver                        { return c.drv }

// openDB opens the pool for cfg, putting the password into the driver's
// configuration (never into a string that could be logged).
func openDB(cfg *Config, d dialect, env connector.Env) (*sql.DB, error) {
	var pw string
	if !cfg.Password.IsZero() {
		s, err := cfg.Password.Resolve(env)
		if err != nil {
			return nil, fmt.Errorf("sql: password: %w", err)
		}
		pw = s.Reveal()
	}
	timeout, _ := parseTimeout(cfg.Timeout)
	switch d.name() {
	case "postgres":
		pc, err := pgx.ParseConfig(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("sql: dsn: %w", errors.Unwrap(err))
		}
		if pw != "" {
			pc.Password = pw
		}
		if timeout > 0 {
			pc.ConnectTimeout = timeout
		}
		return stdlib.OpenDB(*pc), nil
	case "mysql":
		mc, err := mysql.ParseDSN(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("sql: dsn: %w", err)
		}
		mc.Passwd = pw
		mc.ParseTime = true
		mc.Logger = mysqlLogger{env.Logger}
		mc.ClientFoundRows = true // RowsAffected counts matched rows, as the other engines do
		mc.Loc = time.UTC
		if timeout > 0 {
			mc.Timeout = timeout
		}
		c, err := mysql.NewConnector(mc)
		if err != nil {
			return nil, fmt.Errorf("sql: dsn: %w", err)
		}
		return sql.OpenDB(c), nil
	case "sqlite":
		dsn := cfg.DSN
		if !strings.HasPrefix(dsn, "file:") && dsn != ":memory:" && !filepath.IsAbs(dsn) && env.Dir != "" {
			dsn = filepath.Join(env.Dir, dsn)
		}
		if !strings.Contains(dsn, "?") {
			dsn += "?_pragma=busy_timeout(10000)&_time_format=sqlite"
		}
		return sql.OpenDB(dsnConnector{drv: &sqlite.Driver{}, dsn: dsn}), nil
	case "sqlserver":
		p, err := msdsn.Parse(cfg.DSN)
		if err != nil {
			return nil, fmt.Errorf("sql: dsn: %w", err)
		}
		if pw != "" {
			p.Password = pw
		}
		if timeout > 0 {
			p.DialTimeout = timeout
		}
		return sql.OpenDB(mssql.NewConnectorConfig(p)), nil
	}
	return nil, fmt.Errorf("sql: unknown driver %q", cfg.Driver)
}

func open(ctx context.Context, cfg *Config, env connector.Env) (connector.Connector, error) {
	d, _ := dialectFor(cfg.Driver)
	db, err := openDB(cfg, d, env)
	if err != nil {
		return nil, idsync.E("open", idsync.KindInvalid, err)
	}
	maxOpen := cfg.MaxOpenConns
	if maxOpen == 0 {
		maxOpen = 4
	}
	if d.name() == "sqlite" {
		maxOpen = 1 // one writer; readers share the connection
	}
	db.SetMaxOpenConns(maxOpen)
	db.SetMaxIdleConns(maxOpen)
	c := &conn{cfg: *cfg, d: d, db: db, log: env.Logger, name: env.Name, byName: map[string]*otype{},
		page: cfg.PageSize, batch: cfg.BatchSize}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.page == 0 {
		c.page = defaultPageSize
	}
	if c.batch == 0 {
		c.batch = defaultBatchSize
	}
	pctx := ctx
	if t, _ := parseTimeout(cfg.Timeout); t > 0 {
		var cancel context.CancelFunc
		pctx, cancel = context.WithTimeout(ctx, t)
		defer cancel()
	}
	if err := db.PingContext(pctx); err != nil {
		db.Close()
		return nil, classify("connect", err)
	}
	for i := range c.cfg.ObjectTypes {
		ot, err := c.resolve(ctx, &c.cfg.ObjectTypes[i])
		if err != nil {
			db.Close()
			return nil, err
		}
		c.types = append(c.types, ot)
		c.byName[ot.name] = ot
	}
	return c, nil
}

// Close implements connector.Connector.
func (c *conn) Close() error { return c.db.Close() }

// Ping implements connector.Pinger.
func (c *conn) Ping(ctx context.Context) error {
	if err := c.db.PingContext(ctx); err != nil {
		return classify("ping", err)
	}
	return nil
}

// catalogColumns returns (name, type name) of a table or view.
func (c *conn) catalogColumns(ctx context.Context, table string) ([][2]string, error) {
	schema, tbl := splitName(table)
	if schema == "" {
		schema = c.cfg.Schema
	}
	rows, err := c.db.QueryContext(ctx, c.d.columnsQuery(), schema, tbl)
	if err != nil {
		return nil, classify("catalog "+table, err)
	}
	defer rows.Close()
	var out [][2]string
	for rows.Next() {
		var n, t sql.NullString
		if err := rows.Scan(&n, &t); err != nil {
			return nil, classify("catalog "+table, err)
		}
		out = append(out, [2]string{n.String, t.String})
	}
	if err := rows.Err(); err != nil {
		return nil, classify("catalog "+table, err)
	}
	if len(out) == 0 {
		return nil, idsync.E("catalog", idsync.KindNotFound, fmt.Errorf("sql: table or view %s not found (or has no columns visible to this login)", table))
	}
	return out, nil
}

// queryColumns returns the columns of a configured query by running it
// with no rows.
func (c *conn) queryColumns(ctx context.Context, query string) ([][2]string, error) {
	rows, err := c.db.QueryContext(ctx, "SELECT * FROM ("+query+") q WHERE 1 = 0")
	if err != nil {
		return nil, classify("query columns", err)
	}
	defer rows.Close()
	cts, err := rows.ColumnTypes()
	if err != nil {
		return nil, classify("query columns", err)
	}
	out := make([][2]string, len(cts))
	for i, ct := range cts {
		out[i] = [2]string{ct.Name(), ct.DatabaseTypeName()}
	}
	return out, nil
}

// resolve reads an object type's columns and checks every configured
// column against them.
func (c *conn) resolve(ctx context.Context, cfg *ObjectType) (*otype, error) {
	what := fmt.Sprintf("sql: object type %q", cfg.Name)
	var cols [][2]string
	var err error
	ot := &otype{cfg: cfg, name: cfg.Name, idx: map[string]int{}, mvByName: map[string]int{}, softDel: -1, wmIdx: -1}
	if cfg.Table != "" {
		cols, err = c.catalogColumns(ctx, cfg.Table)
		ot.from = quoteName(c.d, cfg.Table) + " q"
	} else {
		cols, err = c.queryColumns(ctx, cfg.Query)
		ot.from = "(" + cfg.Query + ") q"
	}
	if err != nil {
		return nil, err
	}
	internal := map[string]bool{}
	if cfg.SoftDelete != nil {
		internal[cfg.SoftDelete.Column] = true
	}
	if cfg.Delta != nil && cfg.Delta.Mode == DeltaWatermark {
		internal[cfg.Delta.Column] = true
	}
	for _, nt := range cols {
		hidden := slices.Contains(cfg.Exclude, nt[0])
		if hidden && !internal[nt[0]] {
			continue
		}
		st := c.d.attrType(nt[1])
		at := st
		if t, ok := cfg.Types[nt[0]]; ok {
			at, _ = idsync.ParseAttrType(t)
			if at != idsync.TypeReference {
				st = at
			}
		}
		if slices.Contains(cfg.References, nt[0]) {
			at = idsync.TypeReference
		}
		ot.idx[nt[0]] = len(ot.cols)
		ot.cols = append(ot.cols, column{name: nt[0], attr: at, store: st, hidden: hidden})
	}
	need := func(field, col string) (int, error) {
		i, ok := ot.idx[col]
		if !ok {
			return -1, idsync.E("open", idsync.KindInvalid, fmt.Errorf("%s: %s: column %q not found in %s", what, field, col, sourceName(cfg)))
		}
		return i, nil
	}
	for _, a := range cfg.Anchor {
		i, err := need("anchor", a)
		if err != nil {
			return nil, err
		}
		ot.anchor = append(ot.anchor, i)
	}
	ot.anchorCol = cfg.Anchor
	for col := range cfg.Types {
		if _, err := need("types", col); err != nil {
			return nil, err
		}
	}
	for _, col := range cfg.References {
		if _, err := need("references", col); err != nil {
			return nil, err
		}
	}
	if sd := cfg.SoftDelete; sd != nil {
		if ot.softDel, err = need("softDelete", sd.Column); err != nil {
			return nil, err
		}
	}
	if dl := cfg.Delta; dl != nil && dl.Mode == DeltaWatermark {
		if ot.wmIdx, err = need("delta: column", dl.Column); err != nil {
			return nil, err
		}
		ot.wmKind = dl.Kind
		if ot.wmKind == "" {
			switch ot.cols[ot.wmIdx].store {
			case idsync.TypeDateTime:
				ot.wmKind = "timestamp"
			case idsync.TypeInteger:
				ot.wmKind = "number"
			case idsync.TypeBinary:
				ot.wmKind = "rowversion"
			default:
				return nil, idsync.E("open", idsync.KindInvalid, fmt.Errorf("%s: delta: column %q: cannot tell its kind; set kind: timestamp, number or rowversion", what, dl.Column))
			}
		}
	}
	for _, mv := range cfg.MultiValued {
		if _, clash := ot.idx[mv.Attribute]; clash {
			return nil, idsync.E("open", idsync.KindInvalid, fmt.Errorf("%s: multiValued %q: a column of %s has the same name", what, mv.Attribute, sourceName(cfg)))
		}
		ccols, err := c.catalogColumns(ctx, mv.Table)
		if err != nil {
			return nil, err
		}
		m := mvAttr{attr: mv.Attribute, table: mv.Table, parent: mv.ParentColumns, value: mv.ValueColumn}
		found := map[string]string{}
		for _, nt := range ccols {
			found[nt[0]] = nt[1]
		}
		for _, p := range append(slices.Clone(mv.ParentColumns), mv.ValueColumn) {
			if _, ok := found[p]; !ok {
				return nil, idsync.E("open", idsync.KindInvalid, fmt.Errorf("%s: multiValued %q: column %q not found in %s", what, mv.Attribute, p, mv.Table))
			}
		}
		m.store = c.d.attrType(found[mv.ValueColumn])
		m.typ = m.store
		if mv.Type != "" {
			m.typ, _ = idsync.ParseAttrType(mv.Type)
			if m.typ != idsync.TypeReference {
				m.store = m.typ
			}
		}
		ot.mvByName[m.attr] = len(ot.mv)
		ot.mv = append(ot.mv, m)
	}
	return ot, nil
}

func sourceName(cfg *ObjectType) string {
	if cfg.Table != "" {
		return cfg.Table
	}
	return "the query"
}

// Schema implements connector.SchemaDiscoverer: the configured object
// types with the columns and types read from the database catalog.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	s := &idsync.Schema{}
	for _, ot := range c.types {
		cl := idsync.ObjectClass{Name: ot.name}
		for _, col := range ot.cols {
			if col.hidden {
				continue
			}
			cl.Attrs = append(cl.Attrs, idsync.AttrDef{Name: col.name, Type: col.attr})
		}
		for _, m := range ot.mv {
			cl.Attrs = append(cl.Attrs, idsync.AttrDef{Name: m.attr, Type: m.typ, MultiValued: true})
		}
		s.Classes = append(s.Classes, cl)
	}
	return s, nil
}

// Tables lists the tables and views of the connection's schema (or of
// Config.Schema), for building a configuration: the catalog half of
// schema discovery that has no configured object type yet.
func (c *conn) Tables(ctx context.Context) ([]string, error) {
	var q string
	switch c.d.name() {
	case "postgres":
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) ORDER BY table_name`
	case "mysql":
		q = `SELECT table_name FROM information_schema.tables WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) ORDER BY table_name`
	case "sqlserver":
		q = `SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = COALESCE(NULLIF(@p1, ''), SCHEMA_NAME()) ORDER BY TABLE_NAME`
	default:
		q = `SELECT name FROM sqlite_schema WHERE type IN ('table', 'view') AND name NOT LIKE 'sqlite_%' AND ?1 = ?1 ORDER BY name`
	}
	rows, err := c.db.QueryContext(ctx, q, c.cfg.Schema)
	if err != nil {
		return nil, classify("catalog", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, classify("catalog", err)
		}
		out = append(out, n)
	}
	return out, classify("catalog", rows.Err())
}

// mysqlLogger sends the MySQL driver's messages to the connector's log.
type mysqlLogger struct{ l *slog.Logger }

func (m mysqlLogger) Print(v ...any) {
	if m.l != nil {
		m.l.Debug("mysql driver: " + strings.TrimSpace(fmt.Sprint(v...)))
	}
}
