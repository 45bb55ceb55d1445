package mimconfig

import (
	"fmt"
	"path"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// scriptKeys maps the PowerShell connector's script parameters onto the
// script connector's operations.
var scriptKeys = []struct{ param, key string }{
	{"Validation Script", "validate"},
	{"Schema Script", "schema"},
	{"Partition Script", "partitions"},
	{"Hierarchy Script", "hierarchy"},
	{"Begin Import Script", "importBegin"},
	{"Import Script", "importData"},
	{"End Import Script", "importEnd"},
	{"Begin Export Script", "exportBegin"},
	{"Export Script", "exportData"},
	{"End Export Script", "exportEnd"},
	{"Password Extension Script", "password"},
}

// capabilityParams maps capability parameters onto connector
// capabilities (YAML keys of connector.Capabilities).
var capabilityParams = map[string]string{
	"Distinguished Name Style":                    "dnStyle",
	"Export Type":                                 "exportType",
	"Data Normalization":                          "normalizeAnchors",
	"Object Confirmation":                         "objectConfirmation",
	"Use DN As Anchor (Only LDAP style DN)":       "dnAsAnchor",
	"Concurrent Operations Of Several Connectors": "concurrentOperations",
	"Partitions (Only LDAP style DN)":             "partitions",
	"Hierarchy (Only LDAP style DN)":              "hierarchy",
	"Enable Import":                               "import",
	"Enable Delta Import":                         "deltaImport",
	"Enable Export":                               "export",
	"Enable Full Export":                          "fullExport",
	"No Reference Values In First Export Pass":    "noReferenceValuesInFirstExportPass",
	"Enable Object Rename":                        "objectRename",
	"Delete-Add As Replace":                       "deleteAddAsReplace",
	"Enable Password operations":                  "passwordOperations",
	"Enable Export Password In First Pass":        "exportPasswordInFirstPass",
}

var pwshInterpreter = []string{"pwsh", "-NoProfile", "-NonInteractive", "-File"}

// inline returns a {inline: text} node with the script as a literal block.
func inline(text string) *yaml.Node {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	// Trailing blanks would force a quoted scalar; they mean nothing to a script.
	lines := strings.Split(text, "\n")
	for i, l := range lines {
		lines[i] = strings.TrimRight(l, " \t")
	}
	text = strings.Join(lines, "\n")
	m := mapping()
	v := str(text)
	if strings.Contains(text, "\n") {
		v.Style = yaml.LiteralStyle
	}
	add(m, "inline", v)
	return m
}

func fileRef(p string) *yaml.Node {
	m := flowMapping()
	add(m, "file", str(p))
	return m
}

// scriptFromParams builds the script connector from the Microsoft
// PowerShell connector's parameters (from an MA export or the ECMA host).
func scriptFromParams(r *Result, ps []param) (*yaml.Node, *yaml.Node) {
	c := r.newConnector("script")
	s := mapping()
	add(s, "interpreter", strs(true, pwshInterpreter...))
	r.carried("interpreter: pwsh (PowerShell 7); the scripts run as written, under the JSON contract of docs/script-connector.md (scripts written for the ECMA2 objects need porting)")
	if cm := paramValue(ps, "Common Module Script"); cm != "" {
		add(s, "commonModule", inline(cm))
		name := paramValue(ps, "Common Module Script Name (with extension)")
		r.carried("common module %s (inline)", name)
	}
	scripts := mapping()
	var carried []string
	for _, k := range scriptKeys {
		if v := paramValue(ps, k.param); v != "" {
			add(scripts, k.key, inline(v))
			carried = append(carried, k.param)
		}
	}
	for _, n := range []string{"Begin Password Script", "End Password Script"} {
		if paramValue(ps, n) != "" {
			r.notCarried("%s: the script connector has one password operation", n)
		}
	}
	if len(scripts.Content) > 0 {
		add(s, "scripts", scripts)
		r.carried("scripts (inline): %s", strings.Join(carried, ", "))
	}

	// Parameters: Server and the additional parameters, then the
	// Name_Scope ones.
	params := seq(false)
	seen := map[string]bool{}
	addParam := func(name, scope, value string, encrypted bool) {
		key := name + "_" + scope
		if seen[key] {
			return
		}
		seen[key] = true
		m := flowMapping()
		add(m, "name", str(name))
		add(m, "scope", str(scope))
		if encrypted {
			add(m, "encrypted", boolean(true))
			add(m, "value", r.secret(name, "the encrypted parameter "+name))
		} else {
			add(m, "value", str(value))
		}
		params.Content = append(params.Content, m)
	}
	if v := paramValue(ps, "Server"); v != "" {
		addParam("Server", "Global", v, false)
	}
	split := func(list string) []string {
		var out []string
		for _, n := range strings.Split(list, ",") {
			if n = strings.TrimSpace(n); n != "" {
				out = append(out, n)
			}
		}
		return out
	}
	for _, n := range split(paramValue(ps, "Additional Config Parameter Names")) {
		addParam(n, "Global", paramValue(ps, n), false)
	}
	for _, n := range split(paramValue(ps, "Additional Encrypted Config Parameter Names")) {
		addParam(n, "Global", "", true)
	}
	for _, p := range ps {
		for _, scope := range []string{"Global", "Partition", "RunStep"} {
			if base, ok := strings.CutSuffix(p.name, "_"+scope); ok && base != "" {
				addParam(base, scope, strings.TrimSpace(p.value), p.encrypted)
			}
		}
	}
	if len(params.Content) > 0 {
		add(s, "parameters", params)
		r.carried("%d custom configuration parameters (Name_Scope)", len(params.Content))
	}
	user := paramValue(ps, "User")
	if d := paramValue(ps, "Domain"); d != "" && user != "" {
		user = d + `\` + user
	}
	if user != "" {
		add(s, "username", str(user))
	}
	for _, p := range ps {
		if strings.EqualFold(p.name, "Password") {
			what := "the connector's password"
			if user != "" {
				what = "the password of " + user
			}
			add(s, "password", r.secret("password", what))
			break
		}
	}
	for _, p := range ps {
		if strings.HasPrefix(p.name, "PowerShell script execution timeout") {
			if m, err := strconv.Atoi(strings.TrimSpace(p.value)); err == nil && m > 0 {
				add(s, "timeout", str(fmt.Sprintf("%dm", m)))
				r.carried("script time limit %d minutes", m)
			}
		}
	}
	for _, n := range []string{"Impersonate Connector Account", "Load User Profile When Impersonating", "Signed Scripts Only"} {
		if paramValue(ps, n) == "1" {
			r.notCarried("%q: scripts run as the idsync service user with an explicit environment", n)
		}
	}
	if v := paramValue(ps, "Logon Type When Impersonating"); v != "" && v != "None" {
		r.notCarried("logon type when impersonating (%s)", v)
	}

	caps := mapping()
	var capNames []string
	for _, p := range ps {
		key, ok := capabilityParams[p.name]
		if !ok {
			continue
		}
		v := strings.TrimSpace(p.value)
		var node *yaml.Node
		switch key {
		case "dnStyle":
			node = str(strings.ToLower(v))
		case "exportType", "objectConfirmation":
			node = str(v)
		case "normalizeAnchors":
			node = boolean(strings.EqualFold(v, "ToUpper"))
		default:
			node = boolean(v == "1" || strings.EqualFold(v, "true"))
		}
		add(caps, key, node)
		capNames = append(capNames, key)
	}
	if len(caps.Content) > 0 {
		add(c, "capabilities", caps)
		r.carried("capabilities: %s", strings.Join(capNames, ", "))
	}
	return c, s
}

// convertMSPowerShell converts Microsoft's PowerShell connector from an
// MA export.
func convertMSPowerShell(r *Result, ma *node) error {
	ps := maParams(ma)
	if len(ps) == 0 {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: "no parameters: not a PowerShell connector export"}
	}
	c, s := scriptFromParams(r, ps)
	add(c, "settings", s)
	moveCapabilitiesLast(c)
	scriptCommon(r, c, ma)
	return nil
}

// moveCapabilitiesLast keeps settings before capabilities for reading.
func moveCapabilitiesLast(c *yaml.Node) {
	for i := 0; i+1 < len(c.Content); i += 2 {
		if c.Content[i].Value == "capabilities" {
			k, v := c.Content[i], c.Content[i+1]
			c.Content = append(c.Content[:i], c.Content[i+2:]...)
			c.Content = append(c.Content, k, v)
			return
		}
	}
}

func scriptCommon(r *Result, c *yaml.Node, ma *node) {
	if ocs := selectedObjectClasses(ma); len(ocs) > 0 {
		add(c, "objectTypes", strs(true, ocs...))
		r.carried("object types: %s", strings.Join(ocs, ", "))
	}
	addInclusion(r, c, ma)
	names := map[string]string{}
	var dns []string
	for _, p := range partitions(ma) {
		names[p.id] = p.name
		if p.name != "default" {
			dns = append(dns, p.name)
		}
	}
	if len(dns) > 0 {
		add(c, "partitions", strs(false, dns...))
	}
	if p := runProfiles(r, ma, func(id string) string {
		if n := names[id]; n != "default" {
			return n
		}
		return ""
	}); p != nil {
		add(c, "profiles", p)
	}
}

// convertGranfeldtPSMA converts Søren Granfeldt's PowerShell MA: its
// scripts are files on the MIM server, referenced by path.
func convertGranfeldtPSMA(r *Result, ma *node) error {
	ps := maParams(ma)
	if len(ps) == 0 {
		return &Error{File: r.File, Element: elemOf(ma.at("private-configuration/MAConfig"), "parameter-values"), Msg: "no parameters: not a PowerShell MA export"}
	}
	c := r.newConnector("script")
	s := mapping()
	add(s, "interpreter", strs(true, pwshInterpreter...))
	if v := paramValue(ps, "PowerShell Version"); v != "" && !strings.Contains(v, "7") {
		r.notCarried("PowerShell version %q: the scripts run under pwsh (PowerShell 7)", v)
	}
	scripts := mapping()
	var moved []string
	for _, m := range []struct{ param, key string }{
		{"Schema Script", "schema"}, {"Import Script", "importData"}, {"Export Script", "exportData"}, {"Password Management Script", "password"},
	} {
		p := paramValue(ps, m.param)
		if p == "" {
			continue
		}
		base := path.Base(strings.ReplaceAll(p, `\`, "/"))
		add(scripts, m.key, fileRef("scripts/"+base))
		moved = append(moved, fmt.Sprintf("%s %s → scripts/%s", m.param, p, base))
	}
	if len(scripts.Content) > 0 {
		add(s, "scripts", scripts)
		r.carried("script files (copy them next to the configuration):\n%s", strings.Join(moved, "\n"))
		r.notCarried("the PSMA script contract (named parameters, pipeline objects): port the scripts to the JSON contract of docs/script-connector.md")
	}
	if v := paramValue(ps, "Configuration parameters"); v != "" {
		params := seq(false)
		for _, line := range strings.Split(v, "\n") {
			k, val, ok := strings.Cut(line, "=")
			if !ok || strings.TrimSpace(k) == "" {
				continue
			}
			m := flowMapping()
			add(m, "name", str(strings.TrimSpace(k)))
			add(m, "scope", str("Global"))
			add(m, "value", str(strings.TrimSpace(val)))
			params.Content = append(params.Content, m)
		}
		if len(params.Content) > 0 {
			add(s, "parameters", params)
			r.carried("configuration parameters as Global parameters")
		}
	}
	if u := paramValue(ps, "Username"); u != "" {
		add(s, "username", str(u))
		add(s, "password", r.secret("password", "the password of "+u))
		r.carried("credentials: username %s, password from the environment", u)
	}
	for _, n := range []string{"Username (auxiliary)", "Username (impersonate)", "Domain (impersonate)"} {
		if paramValue(ps, n) != "" {
			r.notCarried("%q: scripts receive one set of credentials and run as the idsync service user", n)
		}
	}
	if paramValue(ps, "Use paged import") == "1" {
		r.carried("paged import → the import data script is called page by page (pageSize 9,999 by default)")
	}
	if paramValue(ps, "Export simple objects") == "1" {
		r.notCarried("\"Export simple objects\": export entries are JSON documents in idsync")
	}
	add(c, "settings", s)
	scriptCommon(r, c, ma)
	return nil
}

// convertECMAHost converts one connector of an ECMA Connector Host
// configuration (<Configuration><Connectors><Connector>).
func convertECMAHost(file string, root, cn *node, i int) (*Result, error) {
	cc := cn.child("ConnectorConfig")
	if cc == nil {
		return nil, &Error{File: file, Element: elemOf(cn, "ConnectorConfig"), Msg: "connector without <ConnectorConfig>"}
	}
	name := cn.str("ECMAConfig/ProfileName")
	if name == "" {
		name = fmt.Sprintf("ecma-connector-%d", i+1)
	}
	lib := cn.str("ECMAConfig/LibraryName")
	r := &Result{File: file, Root: root.name, MA: name, MAType: "ECMA Connector Host: " + lib, Name: slug(name)}
	var ps []param
	for _, p := range cc.at("Parameters").children("Parameter") {
		ps = append(ps, param{name: p.str("Name"), typ: p.str("Type"), use: p.str("Use"), value: p.at("Value").textRaw(), encrypted: p.str("Encrypted") == "true"})
	}
	if !strings.Contains(strings.ToLower(lib), "powershell") {
		r.notCarried("ECMA connector %s: idsync carries only the PowerShell connector from an ECMA host configuration", lib)
		return r, nil
	}
	c, s := scriptFromParams(r, ps)
	add(c, "settings", s)
	moveCapabilitiesLast(c)
	var types, attrs []string
	for _, es := range cn.at("Schema/EntriesSchema").children("EntrySchema") {
		t := es.str("ExternalName")
		types = append(types, t)
		for _, a := range es.at("SchemaAttributes").children("AttributeSchema") {
			attrs = append(attrs, a.str("Name"))
		}
	}
	if len(types) > 0 {
		add(c, "objectTypes", strs(true, types...))
		r.carried("object types: %s", strings.Join(types, ", "))
	}
	if len(attrs) > 0 {
		add(c, "attributes", strs(true, attrs...))
		r.carried("attribute inclusion list (%d attributes)", len(attrs))
	}
	profiles := mapping()
	var names []string
	for _, rc := range cn.at("RunConfigurations").children("RunConfiguration") {
		pn := rc.str("Name")
		steps := seq(true)
		for _, st := range rc.at("RunSteps").children("RunStep") {
			var k string
			switch strings.ToLower(strings.ReplaceAll(st.str("Name"), " ", "")) {
			case "fullimport":
				k = "full-import"
			case "deltaimport":
				k = "delta-import"
			case "export":
				k = "export"
			default:
				r.notCarried("run step %q of %q", st.str("Name"), pn)
				continue
			}
			if n, _ := strconv.Atoi(st.str("BatchSize")); n > 0 {
				m := flowMapping()
				add(m, "type", str(k))
				add(m, "pageSize", num(n))
				steps.Content = append(steps.Content, m)
			} else {
				steps.Content = append(steps.Content, str(k))
			}
		}
		if len(steps.Content) > 0 {
			add(profiles, pn, steps)
			names = append(names, pn)
		}
	}
	if len(names) > 0 {
		add(c, "profiles", profiles)
		r.carried("run profiles: %s", strings.Join(names, ", "))
	}
	if cn.str("Schema/SoftDelete/SoftDeleteStatusAttribute") != "" || cn.at("Schema/SoftDelete") != nil && !cn.at("Schema/SoftDelete").empty() {
		r.notCarried("soft-delete settings of the ECMA host")
	}
	if root.str("Setting/Port") != "" {
		r.notCarried("the ECMA host's SCIM endpoint (port %s, certificate %s): serve connectors with idsync host", root.str("Setting/Port"), root.str("Setting/Certificate"))
	}
	r.notCarried("the ECMA host's secret token and autosync timer")
	return r, nil
}

// textRaw returns n's text untrimmed ("" for nil).
func (n *node) textRaw() string {
	if n == nil {
		return ""
	}
	return n.text
}
