package mimconfig

import (
	"net/url"
	"strings"

	"gopkg.in/yaml.v3"
)

// sqlServerDSN builds a go-mssqldb URL DSN without a password.
func sqlServerDSN(server, database, user string) string {
	u := url.URL{Scheme: "sqlserver", Host: server}
	host, instance, _ := strings.Cut(server, `\`)
	if instance != "" {
		u.Host, u.Path = host, "/"+instance
	}
	if user != "" {
		u.User = url.User(user)
	}
	if database != "" {
		u.RawQuery = "database=" + url.QueryEscape(database)
	}
	return u.String()
}

// convertOLEDB converts the built-in SQL Server management agent
// (<oledbma-configuration>).
func convertOLEDB(r *Result, ma *node) error {
	oc := ma.at("private-configuration/oledbma-configuration")
	if oc == nil {
		return &Error{File: r.File, Element: elemOf(ma, "private-configuration"), Msg: "no <oledbma-configuration>: not a SQL Server management agent export"}
	}
	ci := oc.child("connection-info")
	server, db, table := ci.str("server"), ci.str("databasename"), ci.str("tablename")
	if server == "" || table == "" {
		return &Error{File: r.File, Element: elemOf(oc, "connection-info"), Msg: "no <server> or <tablename>"}
	}
	c := r.newConnector("sql")
	s := mapping()
	add(s, "driver", str("sqlserver"))
	user := ci.str("user")
	if ci.str("authentication") == "integrated" && ci.str("domain") != "" && user != "" {
		user = ci.str("domain") + `\` + user
		r.carried("integrated authentication as %s → NTLM login with that account", user)
	}
	add(s, "dsn", str(sqlServerDSN(server, db, user)))
	if user != "" {
		add(s, "password", r.secret("password", "the password of "+user+" on "+server))
	}
	r.carried("connectivity: SQL Server %s, database %s", server, db)
	if p := ci.str("provider"); p != "" {
		r.carried("OLE DB provider %s → the native SQL Server driver", p)
	}

	mi := oc.child("mms-info")
	typ := mi.str("object-type")
	if typ == "" {
		typ = "person"
		if t := mi.str("object-type-column"); t != "" {
			r.notCarried("object type from column %s: each idsync object type reads its own table, view or query; one type %q is written", t, typ)
		}
	}
	var anchor []string
	for _, a := range mi.at("anchor").children("attribute") {
		anchor = append(anchor, strings.TrimSpace(a.text))
	}
	if len(anchor) == 0 {
		return &Error{File: r.File, Element: elemOf(mi, "anchor"), Msg: "no anchor attribute"}
	}
	var refs []string
	for _, col := range mi.at("column-info").children("column") {
		if strings.EqualFold(col.str("mms-type"), "Reference") {
			refs = append(refs, col.str("name"))
		}
	}
	ot := mapping()
	add(ot, "name", str(typ))
	add(ot, "table", str(unbracket(table)))
	add(ot, "anchor", strs(true, anchor...))
	if len(refs) > 0 {
		add(ot, "references", strs(true, refs...))
	}
	r.carried("object type %s from table %s, anchor %s", typ, table, strings.Join(anchor, ", "))
	if len(refs) > 0 {
		r.carried("reference columns: %s", strings.Join(refs, ", "))
	}
	if mv := oc.child("multivalue-info"); !mv.empty() {
		r.notCarried("multi-valued attributes from a multivalue table (<multivalue-info>): add multiValued: entries (table, parentColumns, valueColumn) by hand")
	}
	if d := oc.child("delta-info"); !d.empty() {
		r.notCarried("delta table or view (<delta-info>): configure delta: {mode: changeTable, table, sequenceColumn, operationColumn} by hand")
	} else {
		r.notCarried("delta import: the MA had none configured; add delta: (watermark, changeTable or snapshot) to enable delta-import")
	}
	for _, k := range oc.kids {
		switch k.name {
		case "connection-info", "mms-info", "password-extension-config", "enable-unapplied-merge", "multivalue-info", "delta-info":
		default:
			if !k.empty() {
				r.notCarried("<%s> of the SQL MA configuration", k.name)
			}
		}
	}
	if oc.str("password-extension-config/password-extension-enabled") == "1" {
		r.notCarried("password extension (%s)", oc.str("password-extension-config/dll"))
	}
	add(s, "objectTypes", seqOf(ot))
	add(c, "settings", s)
	addInclusion(r, c, ma)
	if p := runProfiles(r, ma, nil); p != nil {
		add(c, "profiles", p)
	}
	return nil
}

func seqOf(items ...*yaml.Node) *yaml.Node {
	n := seq(false)
	n.Content = items
	return n
}

// elemOf names the child of n (or n when the child is missing).
func elemOf(n *node, child string) string {
	if n == nil {
		return "<" + child + ">"
	}
	if c := n.child(child); c != nil {
		return c.where()
	}
	return n.where() + "/<" + child + ">"
}

// unbracket turns [schema].[table] into schema.table.
func unbracket(s string) string {
	parts := strings.Split(s, ".")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if strings.HasPrefix(p, "[") && strings.HasSuffix(p, "]") {
			p = strings.ReplaceAll(p[1:len(p)-1], "]]", "]")
		}
		parts[i] = p
	}
	return strings.Join(parts, ".")
}

// addInclusion writes the attribute inclusion list, without the
// password pseudo-attribute.
func addInclusion(r *Result, c *yaml.Node, ma *node) {
	inc := inclusion(ma)
	var keep []string
	for _, a := range inc {
		if strings.EqualFold(a, "export_password") {
			r.notCarried("export_password (password export through the MA): idsync exports passwords through password operations")
			continue
		}
		keep = append(keep, a)
	}
	if len(keep) > 0 {
		add(c, "attributes", strs(true, keep...))
		r.carried("attribute inclusion list (%d attributes)", len(keep))
	}
}

// params reads an extensible MA's <parameter-values>.
type param struct {
	name, typ, use, value string
	encrypted             bool
}

func maParams(ma *node) []param {
	var out []param
	for _, p := range ma.at("private-configuration/MAConfig/parameter-values").children("parameter") {
		out = append(out, param{name: p.attrs["name"], typ: p.attrs["type"], use: p.attrs["use"], value: p.text,
			encrypted: p.attrs["type"] == "encrypted-string" || p.attrs["encrypted"] == "1"})
	}
	return out
}

func paramValue(ps []param, name string) string {
	for _, p := range ps {
		if strings.EqualFold(p.name, name) {
			return strings.TrimSpace(p.value)
		}
	}
	return ""
}

// adoParams parses an ADO/ODBC connection string (k=v;k=v).
func adoParams(s string) map[string]string {
	out := map[string]string{}
	for _, part := range strings.Split(s, ";") {
		k, v, ok := strings.Cut(part, "=")
		if ok {
			out[strings.ToLower(strings.TrimSpace(k))] = strings.TrimSpace(v)
		}
	}
	return out
}

// convertGranfeldtSQL converts Søren Granfeldt's Generic SQL MA.
func convertGranfeldtSQL(r *Result, ma *node) error {
	ps := maParams(ma)
	if len(ps) == 0 {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: "no parameters: not a Generic SQL MA export"}
	}
	cs := adoParams(paramValue(ps, "Connection string"))
	server := firstOf(cs, "data source", "server", "address")
	db := firstOf(cs, "initial catalog", "database")
	if server == "" {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: `parameter "Connection string" has no data source`}
	}
	user := paramValue(ps, "Username")
	if u := firstOf(cs, "user id", "uid"); u != "" && !strings.Contains(u, "{") {
		user = u
	}
	if strings.EqualFold(paramValue(ps, "Authentication Type"), "Windows") && paramValue(ps, "Domain") != "" {
		user = paramValue(ps, "Domain") + `\` + user
	}
	c := r.newConnector("sql")
	s := mapping()
	add(s, "driver", str("sqlserver"))
	add(s, "dsn", str(sqlServerDSN(server, db, user)))
	if user != "" {
		add(s, "password", r.secret("password", "the password of "+user+" on "+server))
	}
	r.carried("connectivity: SQL Server %s, database %s (from the connection string; its password placeholder is not carried)", server, db)
	if v := cs["multipleactiveresultsets"]; v != "" {
		r.notCarried("connection string option multipleactiveresultsets=%s: not needed by the driver", v)
	}
	table := unbracket(paramValue(ps, "Tablename"))
	anchor := paramValue(ps, "Anchor column name")
	if table == "" || anchor == "" {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: `parameters "Tablename" and "Anchor column name" are required`}
	}
	typ := paramValue(ps, "Object class (name or column)")
	if !strings.EqualFold(paramValue(ps, "Object class"), "Fixed") {
		r.notCarried("object class from column %s: each idsync object type reads its own table, view or query; configure one object type per class (with query:)", typ)
		typ = "person"
	}
	ot := mapping()
	add(ot, "name", str(typ))
	add(ot, "table", str(table))
	add(ot, "anchor", strs(true, anchor))
	r.carried("object type %s from table %s, anchor %s", typ, table, anchor)
	if dn := paramValue(ps, "DN column name"); dn != "" && dn != anchor {
		r.notCarried("DN column %s: the sql connector's DN is the anchor", dn)
	}
	refs, excl := granfeldtOverrides(r, paramValue(ps, "Schema Configuration"), typ)
	if len(excl) > 0 {
		add(ot, "exclude", strs(true, excl...))
	}
	if len(refs) > 0 {
		add(ot, "references", strs(true, refs...))
		r.carried("reference attributes: %s", strings.Join(refs, ", "))
	}
	if del := paramValue(ps, "IsDeleted column name"); del != "" {
		sd := flowMapping()
		add(sd, "column", str(del))
		add(ot, "softDelete", sd)
		r.carried("soft deletion by column %s", del)
	}
	if col := paramValue(ps, "Delta column name"); col != "" {
		kind := "timestamp"
		switch strings.ToLower(paramValue(ps, "Delta column type")) {
		case "rowversion":
			kind = "rowversion"
		case "number", "integer", "bigint":
			kind = "number"
		}
		dl := flowMapping()
		add(dl, "mode", str("watermark"))
		add(dl, "column", str(col))
		add(dl, "kind", str(kind))
		add(ot, "delta", dl)
		r.carried("delta import by %s watermark column %s", kind, col)
	}
	if mv := paramValue(ps, "Tablename (multivalue)"); mv != "" {
		r.notCarried("multi-valued table %s: add multiValued: entries (attribute, table, parentColumns, valueColumn) by hand", mv)
	}
	if f := paramValue(ps, "Date format"); f != "" {
		r.notCarried("date format %s: the sql connector reads typed dates from the driver", f)
	}
	for _, p := range ps {
		if strings.HasPrefix(p.name, "Run ") && strings.TrimSpace(p.value) != "" {
			r.notCarried("%q stored procedure %s: idsync runs configured statements per export operation (export: insert/update/delete), not hooks around runs", p.name, strings.TrimSpace(p.value))
		}
	}
	add(s, "objectTypes", seqOf(ot))
	add(c, "settings", s)
	addInclusion(r, c, ma)
	if p := runProfiles(r, ma, nil); p != nil {
		add(c, "profiles", p)
	}
	return nil
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := m[k]; v != "" {
			return v
		}
	}
	return ""
}

// granfeldtOverrides reads the Generic SQL MA's schema configuration:
// attributes overridden as references and excluded attributes of typ.
func granfeldtOverrides(r *Result, xmlText, typ string) (refs, excl []string) {
	if strings.TrimSpace(xmlText) == "" {
		return nil, nil
	}
	root, err := parseXML([]byte(xmlText))
	if err != nil {
		r.notCarried("schema configuration: unreadable XML (%v)", err)
		return nil, nil
	}
	var others []string
	for _, oc := range root.find("objectclass") {
		if oc.attrs["name"] != typ {
			others = append(others, oc.attrs["name"])
			continue
		}
		for _, a := range oc.at("overrides").children("attribute") {
			if strings.EqualFold(a.attrs["schematype"], "reference") {
				refs = append(refs, a.attrs["name"])
			}
		}
		for _, a := range oc.at("excludes").children("attribute") {
			excl = append(excl, a.attrs["name"])
		}
	}
	if len(others) > 0 {
		r.notCarried("schema configuration of object classes %s: the MA reads a single object class %q", strings.Join(others, ", "), typ)
	}
	return refs, excl
}

// convertMSGenericSQL reports Microsoft's ODBC Generic SQL connector,
// whose DSN file and per-type queries live outside the MA export.
func convertMSGenericSQL(r *Result, ma *node) error {
	notCarriedMA(r, ma, "the Microsoft Generic SQL (ODBC) connector: its ODBC DSN file and per-type queries are not in the export; configure the sql connector by hand (docs/sql-connector.md)")
	return nil
}
