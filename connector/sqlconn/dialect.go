package sqlconn

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/idsync/idsync"
)

// dialect is what differs between database engines: placeholders,
// identifier quoting, paging, returning generated keys, savepoints,
// procedure calls and catalog queries. Every identifier it writes comes
// from configuration and is quoted; data is always a parameter.
type dialect interface {
	name() string
	// quoteIdent quotes one identifier part.
	quoteIdent(s string) string
	// placeholder is the i-th (1-based) parameter marker.
	placeholder(i int) string
	// limit appends a row limit to a query that ends in ORDER BY.
	limit(n int) string
	// returning says how an INSERT hands back generated columns:
	// "returning" (… RETURNING cols), "output" (OUTPUT INSERTED.cols
	// before VALUES) or "lastid" (LastInsertId, one row per statement).
	returning() string
	// maxParams and maxRows bound one multi-row INSERT.
	maxParams() int
	maxRows() int
	// prepareInserts says whether an export session prepares its
	// multi-row INSERTs once: the driver would otherwise prepare,
	// execute and close the statement on every call (MySQL, whose
	// prepare answers with a definition of every parameter).
	prepareInserts() bool
	savepoint(name string) string
	release(name string) string // "" when the engine has no RELEASE
	rollbackTo(name string) string
	procedures() bool
	// call is the statement that calls a procedure with n parameters.
	call(proc string, n int) string
	// columnsQuery lists (column name, type name) of a table or view in
	// ordinal order; its parameters are schema ("" = current) and table.
	columnsQuery() string
	// attrType maps a catalog type name onto an attribute type.
	attrType(dbType string) idsync.AttrType
}

func dialectFor(driver string) (dialect, error) {
	switch strings.ToLower(driver) {
	case "postgres", "postgresql", "pgx":
		return postgres{}, nil
	case "mysql", "mariadb":
		return mysqlDialect{}, nil
	case "sqlite", "sqlite3":
		return sqliteDialect{}, nil
	case "sqlserver", "mssql":
		return sqlserver{}, nil
	case "":
		return nil, fmt.Errorf("sql: driver is required: postgres, mysql, sqlite or sqlserver")
	}
	return nil, fmt.Errorf("sql: unknown driver %q: want postgres, mysql, sqlite or sqlserver", driver)
}

// quoteName quotes a possibly qualified name (schema.table).
func quoteName(d dialect, s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		parts[i] = d.quoteIdent(p)
	}
	return strings.Join(parts, ".")
}

// splitName returns the schema ("" when unqualified) and the table of a
// possibly qualified name.
func splitName(s string) (schema, table string) {
	if i := strings.LastIndexByte(s, '.'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return "", s
}

func quoteWith(s string, open, close byte) string {
	return string(open) + strings.ReplaceAll(s, string(close), string(close)+string(close)) + string(close)
}

// ---- PostgreSQL

type postgres struct{}

func (postgres) name() string               { return "postgres" }
func (postgres) quoteIdent(s string) string { return quoteWith(s, '"', '"') }
func (postgres) placeholder(i int) string   { return "$" + strconv.Itoa(i) }
func (postgres) limit(n int) string         { return " LIMIT " + strconv.Itoa(n) }
func (postgres) returning() string          { return "returning" }
func (postgres) maxParams() int             { return 65535 }
func (postgres) maxRows() int               { return 1 << 30 }
func (postgres) prepareInserts() bool       { return false } // pgx caches prepared statements per connection
func (postgres) savepoint(n string) string  { return "SAVEPOINT " + n }
func (postgres) release(n string) string    { return "RELEASE SAVEPOINT " + n }
func (postgres) rollbackTo(n string) string { return "ROLLBACK TO SAVEPOINT " + n }
func (postgres) procedures() bool           { return true }
func (d postgres) call(p string, n int) string {
	return "CALL " + quoteName(d, p) + "(" + marks(d, 1, n) + ")"
}
func (postgres) columnsQuery() string {
	return `SELECT column_name, data_type FROM information_schema.columns
WHERE table_schema = COALESCE(NULLIF($1, ''), current_schema()) AND table_name = $2 ORDER BY ordinal_position`
}
func (postgres) attrType(t string) idsync.AttrType {
	t = strings.ToLower(t)
	switch {
	case t == "smallint" || t == "integer" || t == "bigint" || t == "int2" || t == "int4" || t == "int8":
		return idsync.TypeInteger
	case t == "boolean" || t == "bool":
		return idsync.TypeBoolean
	case t == "bytea":
		return idsync.TypeBinary
	case strings.HasPrefix(t, "timestamp") || t == "date":
		return idsync.TypeDateTime
	}
	return idsync.TypeString
}

// ---- MySQL and MariaDB

type mysqlDialect struct{}

func (mysqlDialect) name() string               { return "mysql" }
func (mysqlDialect) quoteIdent(s string) string { return quoteWith(s, '`', '`') }
func (mysqlDialect) placeholder(int) string     { return "?" }
func (mysqlDialect) limit(n int) string         { return " LIMIT " + strconv.Itoa(n) }
func (mysqlDialect) returning() string          { return "lastid" }
func (mysqlDialect) maxParams() int             { return 65535 }
func (mysqlDialect) maxRows() int               { return 1 << 30 }
func (mysqlDialect) prepareInserts() bool       { return true }
func (mysqlDialect) savepoint(n string) string  { return "SAVEPOINT " + n }
func (mysqlDialect) release(n string) string    { return "RELEASE SAVEPOINT " + n }
func (mysqlDialect) rollbackTo(n string) string { return "ROLLBACK TO SAVEPOINT " + n }
func (mysqlDialect) procedures() bool           { return true }
func (d mysqlDialect) call(p string, n int) string {
	return "CALL " + quoteName(d, p) + "(" + marks(d, 1, n) + ")"
}
func (mysqlDialect) columnsQuery() string {
	return `SELECT column_name, column_type FROM information_schema.columns
WHERE table_schema = COALESCE(NULLIF(?, ''), DATABASE()) AND table_name = ? ORDER BY ordinal_position`
}
func (mysqlDialect) attrType(t string) idsync.AttrType {
	t = strings.ToLower(t)
	switch {
	case strings.HasPrefix(t, "tinyint(1)") || t == "bool" || t == "boolean" || strings.HasPrefix(t, "bit(1)"):
		return idsync.TypeBoolean
	case strings.Contains(t, "int"):
		return idsync.TypeInteger
	case strings.Contains(t, "blob") || strings.HasPrefix(t, "binary") || strings.HasPrefix(t, "varbinary"):
		return idsync.TypeBinary
	case strings.HasPrefix(t, "datetime") || strings.HasPrefix(t, "timestamp") || t == "date":
		return idsync.TypeDateTime
	}
	return idsync.TypeString
}

// ---- SQLite

type sqliteDialect struct{}

func (sqliteDialect) name() string               { return "sqlite" }
func (sqliteDialect) quoteIdent(s string) string { return quoteWith(s, '"', '"') }
func (sqliteDialect) placeholder(int) string     { return "?" }
func (sqliteDialect) limit(n int) string         { return " LIMIT " + strconv.Itoa(n) }
func (sqliteDialect) returning() string          { return "returning" }
func (sqliteDialect) maxParams() int             { return 32766 }
func (sqliteDialect) maxRows() int               { return 1 << 30 }
func (sqliteDialect) prepareInserts() bool       { return false } // in-process: nothing to save
func (sqliteDialect) savepoint(n string) string  { return "SAVEPOINT " + n }
func (sqliteDialect) release(n string) string    { return "RELEASE SAVEPOINT " + n }
func (sqliteDialect) rollbackTo(n string) string { return "ROLLBACK TO SAVEPOINT " + n }
func (sqliteDialect) procedures() bool           { return false }
func (sqliteDialect) call(string, int) string    { return "" }
func (sqliteDialect) columnsQuery() string {
	// The schema parameter is unused: attached databases are named in the table.
	return `SELECT name, type FROM pragma_table_info(?2) WHERE ?1 = ?1 ORDER BY cid`
}
func (sqliteDialect) attrType(t string) idsync.AttrType {
	// SQLite's type affinity rules (datatype3 §3.1), plus the declared
	// names the Go driver reads as booleans and times.
	t = strings.ToUpper(t)
	switch {
	case strings.Contains(t, "BOOL"):
		return idsync.TypeBoolean
	case strings.Contains(t, "INT"):
		return idsync.TypeInteger
	case strings.Contains(t, "DATE") || strings.Contains(t, "TIME"):
		return idsync.TypeDateTime
	case strings.Contains(t, "BLOB") || t == "":
		if t == "" {
			return idsync.TypeString
		}
		return idsync.TypeBinary
	}
	return idsync.TypeString
}

// ---- SQL Server

type sqlserver struct{}

func (sqlserver) name() string               { return "sqlserver" }
func (sqlserver) quoteIdent(s string) string { return quoteWith(s, '[', ']') }
func (sqlserver) placeholder(i int) string   { return "@p" + strconv.Itoa(i) }
func (sqlserver) limit(n int) string {
	return " OFFSET 0 ROWS FETCH NEXT " + strconv.Itoa(n) + " ROWS ONLY"
}
func (sqlserver) returning() string          { return "output" }
func (sqlserver) maxParams() int             { return 2099 }
func (sqlserver) maxRows() int               { return 1000 }
func (sqlserver) prepareInserts() bool       { return false }
func (sqlserver) savepoint(n string) string  { return "SAVE TRANSACTION " + n }
func (sqlserver) release(string) string      { return "" }
func (sqlserver) rollbackTo(n string) string { return "ROLLBACK TRANSACTION " + n }
func (sqlserver) procedures() bool           { return true }
func (d sqlserver) call(p string, n int) string {
	s := "EXEC " + quoteName(d, p)
	if n > 0 {
		s += " " + marks(d, 1, n)
	}
	return s
}
func (sqlserver) columnsQuery() string {
	return `SELECT COLUMN_NAME, DATA_TYPE FROM INFORMATION_SCHEMA.COLUMNS
WHERE TABLE_SCHEMA = COALESCE(NULLIF(@p1, ''), SCHEMA_NAME()) AND TABLE_NAME = @p2 ORDER BY ORDINAL_POSITION`
}
func (sqlserver) attrType(t string) idsync.AttrType {
	switch strings.ToLower(t) {
	case "int", "bigint", "smallint", "tinyint":
		return idsync.TypeInteger
	case "bit":
		return idsync.TypeBoolean
	case "binary", "varbinary", "image", "timestamp", "rowversion":
		return idsync.TypeBinary
	case "datetime", "datetime2", "smalldatetime", "date", "datetimeoffset":
		return idsync.TypeDateTime
	}
	return idsync.TypeString
}

// marks returns n comma-separated placeholders numbered from first.
func marks(d dialect, first, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(d.placeholder(first + i))
	}
	return b.String()
}

// sqlBuilder writes SQL text and collects its parameters in order.
type sqlBuilder struct {
	d    dialect
	b    strings.Builder
	args []any
}

func (s *sqlBuilder) str(t string) *sqlBuilder { s.b.WriteString(t); return s }
func (s *sqlBuilder) ident(n string) *sqlBuilder {
	s.b.WriteString(s.d.quoteIdent(n))
	return s
}
func (s *sqlBuilder) name(n string) *sqlBuilder {
	s.b.WriteString(quoteName(s.d, n))
	return s
}
func (s *sqlBuilder) arg(v any) *sqlBuilder {
	s.args = append(s.args, v)
	s.b.WriteString(s.d.placeholder(len(s.args)))
	return s
}
func (s *sqlBuilder) String() string { return s.b.String() }

// idents writes quoted identifiers separated by commas, each prefixed by
// prefix (an alias or INSERTED.).
func (s *sqlBuilder) idents(prefix string, cols []string) *sqlBuilder {
	for i, c := range cols {
		if i > 0 {
			s.b.WriteString(", ")
		}
		s.b.WriteString(prefix)
		s.b.WriteString(s.d.quoteIdent(c))
	}
	return s
}

// after writes the keyset condition "cols > vals" in expanded form
// (c1 > v1 OR (c1 = v1 AND c2 > v2) …), which every dialect accepts.
// With inclusive, the last comparison is >= (used with < for ranges).
func (s *sqlBuilder) keyset(prefix string, cols []string, vals []any, op string) *sqlBuilder {
	s.b.WriteString("(")
	for i := range cols {
		if i > 0 {
			s.b.WriteString(" OR ")
		}
		s.b.WriteString("(")
		for j := 0; j < i; j++ {
			s.b.WriteString(prefix + s.d.quoteIdent(cols[j]) + " = ")
			s.arg(vals[j])
			s.b.WriteString(" AND ")
		}
		s.b.WriteString(prefix + s.d.quoteIdent(cols[i]) + " " + op + " ")
		s.arg(vals[i])
		s.b.WriteString(")")
	}
	s.b.WriteString(")")
	return s
}

// eqAll writes "c1 = ? AND c2 = ?".
func (s *sqlBuilder) eqAll(prefix string, cols []string, vals []any) *sqlBuilder {
	for i, c := range cols {
		if i > 0 {
			s.b.WriteString(" AND ")
		}
		s.b.WriteString(prefix + s.d.quoteIdent(c) + " = ")
		s.arg(vals[i])
	}
	return s
}

// bindNamed rewrites a configured statement's :name parameters into the
// dialect's placeholders and returns the names in order. It skips string
// literals, quoted identifiers, comments and PostgreSQL's :: casts.
func bindNamed(stmt string, d dialect) (string, []string, error) {
	var b strings.Builder
	var names []string
	n := len(stmt)
	for i := 0; i < n; {
		c := stmt[i]
		switch {
		case c == '\'' || c == '"' || c == '`' || (c == '[' && d.name() == "sqlserver"):
			closer := c
			if c == '[' {
				closer = ']'
			}
			j := i + 1
			for {
				if j >= n {
					return "", nil, fmt.Errorf("statement: unterminated %c at offset %d", c, i)
				}
				if stmt[j] == closer {
					if j+1 < n && stmt[j+1] == closer {
						j += 2
						continue
					}
					break
				}
				if stmt[j] == '\\' && c != '[' && d.name() == "mysql" {
					j++
				}
				j++
			}
			b.WriteString(stmt[i : j+1])
			i = j + 1
		case c == '-' && i+1 < n && stmt[i+1] == '-':
			j := strings.IndexByte(stmt[i:], '\n')
			if j < 0 {
				j = n - i
			}
			b.WriteString(stmt[i : i+j])
			i += j
		case c == '/' && i+1 < n && stmt[i+1] == '*':
			j := strings.Index(stmt[i+2:], "*/")
			if j < 0 {
				return "", nil, fmt.Errorf("statement: unterminated comment at offset %d", i)
			}
			b.WriteString(stmt[i : i+j+4])
			i += j + 4
		case c == ':' && i+1 < n && stmt[i+1] == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && i+1 < n && isNameStart(stmt[i+1]):
			j := i + 1
			for j < n && isNameChar(stmt[j]) {
				j++
			}
			names = append(names, stmt[i+1:j])
			b.WriteString(d.placeholder(len(names)))
			i = j
		case c == '?' && d.placeholder(1) == "?":
			return "", nil, fmt.Errorf("statement: write parameters as :name, not ? (offset %d)", i)
		default:
			b.WriteByte(c)
			i++
		}
	}
	return b.String(), names, nil
}

func isNameStart(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

func isNameChar(c byte) bool { return isNameStart(c) || (c >= '0' && c <= '9') }
