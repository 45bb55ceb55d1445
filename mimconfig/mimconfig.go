// Package mimconfig converts Microsoft Identity Manager (MIM) Sync
// management-agent configuration files into idsync connector
// configuration (SPEC §11): connectivity, object types, anchor, attribute
// inclusion list, partitions and containers, deprovisioning and run
// profiles, with a statement of everything that could not be carried.
//
// It reads the three shapes MIM writes — an Export Management Agent file
// (<export-ma>), a server-configuration export (<saved-ma-configuration>)
// and a bare <ma-data> — and the ECMA Connector Host's own configuration
// (<Configuration><Connectors>). Built-in SQL Server MAs and the community
// Generic SQL MA become the sql connector; Active Directory, AD LDS and
// Generic LDAP MAs the ldap connector; PowerShell connectors (Microsoft's,
// Granfeldt's PSMA, the ECMA host's) the script connector. Settings are
// written as the lead fixed them in the settings contract.
//
// Secrets are never written: a password becomes {env: IDSYNC_<MA>_PASSWORD}
// and the result lists the variables to set.
package mimconfig

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvVar is an environment variable the configuration refers to.
type EnvVar struct {
	Name string
	What string
}

// Result is one converted connector (or one that could not be carried).
type Result struct {
	File   string // the input file's base name
	Root   string // export-ma, saved-ma-configuration, ma-data, Configuration
	MA     string // the management agent's name
	MAType string // its MIM type ("MSSQL", "AD", "Extensible2: PowerShell", …)
	Name   string // the idsync connector name
	Type   string // the idsync connector type, "" when not carried
	// Connector is the connector's YAML mapping, nil when nothing usable
	// came out.
	Connector  *yaml.Node
	Carried    []string
	NotCarried []string
	Env        []EnvVar
}

// Usable reports whether a connector configuration came out.
func (r *Result) Usable() bool { return r.Connector != nil }

func (r *Result) carried(format string, args ...any) {
	r.Carried = append(r.Carried, fmt.Sprintf(format, args...))
}

func (r *Result) notCarried(format string, args ...any) {
	r.NotCarried = append(r.NotCarried, fmt.Sprintf(format, args...))
}

// secret returns {env: IDSYNC_<MA>_<WHAT>} and records the variable.
func (r *Result) secret(what, desc string) *yaml.Node {
	name := "IDSYNC_" + envName(r.MA) + "_" + envName(what)
	for _, e := range r.Env {
		if e.Name == name {
			return envRef(name)
		}
	}
	r.Env = append(r.Env, EnvVar{Name: name, What: desc})
	return envRef(name)
}

var nonAlnum = regexp.MustCompile(`[^A-Za-z0-9]+`)

func envName(s string) string {
	s = strings.Trim(nonAlnum.ReplaceAllString(s, "_"), "_")
	if s == "" {
		s = "MA"
	}
	return strings.ToUpper(s)
}

func slug(s string) string {
	s = strings.Trim(nonAlnum.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if s == "" {
		s = "connector"
	}
	return s
}

// Error is bad input: it names the file, the element and the line.
type Error struct {
	File    string
	Element string
	Msg     string
}

func (e *Error) Error() string {
	if e.Element == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: %s: %s", e.File, e.Element, e.Msg)
}

// Convert converts the management-agent file named file (for messages)
// with contents data. It returns one Result per management agent or
// connector in the file; a Result without a Connector says why. An
// error means the file is not one it can read.
func Convert(file string, data []byte) ([]*Result, error) {
	base := filepath.Base(file)
	root, err := parseXML(data)
	if err != nil {
		return nil, &Error{File: base, Msg: "not a readable XML file: " + err.Error()}
	}
	var mas []*node
	switch root.name {
	case "export-ma", "saved-ma-configuration":
		mas = root.children("ma-data")
		if len(mas) == 0 {
			return nil, &Error{File: base, Element: root.where(), Msg: "no <ma-data> element: not a management-agent export"}
		}
	case "ma-data":
		mas = []*node{root}
	case "Configuration":
		cs := root.at("Connectors").children("Connector")
		if len(cs) == 0 {
			return nil, &Error{File: base, Element: root.where(), Msg: "no <Connectors>/<Connector> element: not an ECMA Connector Host configuration"}
		}
		var out []*Result
		for i, c := range cs {
			r, err := convertECMAHost(base, root, c, i)
			if err != nil {
				return nil, err
			}
			out = append(out, r)
		}
		return out, nil
	case "saved-mv-configuration", "mv-data":
		r := &Result{File: base, Root: root.name, MA: "metaverse", MAType: "metaverse"}
		r.notCarried("this is the metaverse configuration (<%s>), not a management agent: import each management agent's file instead; write the metaverse schema in the metaverse: section (docs/configuration.md)", root.name)
		return []*Result{r}, nil
	default:
		return nil, &Error{File: base, Element: root.where(), Msg: "unknown root element: want <export-ma>, <saved-ma-configuration>, <ma-data> or an ECMA Connector Host <Configuration>"}
	}
	var out []*Result
	for _, ma := range mas {
		r, err := convertMA(base, root.name, ma)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// convertMA dispatches on the MA's category and subtype.
func convertMA(file, rootName string, ma *node) (*Result, error) {
	r := &Result{File: file, Root: rootName, MA: ma.str("name")}
	if r.MA == "" {
		return nil, &Error{File: file, Element: ma.where(), Msg: "the management agent has no <name>"}
	}
	r.Name = slug(r.MA)
	cat, sub := ma.str("category"), ma.str("subtype")
	r.MAType = cat
	if sub != "" {
		r.MAType += ": " + sub
	}
	if cat == "" {
		return nil, &Error{File: file, Element: ma.where(), Msg: "the management agent has no <category>"}
	}
	var err error
	switch {
	case cat == "MSSQL" || cat == "OLEDB":
		err = convertOLEDB(r, ma)
	case cat == "ORACLE" || cat == "DB2":
		notCarriedMA(r, ma, fmt.Sprintf("the %s database management agent: idsync's sql connector has no %s driver (PostgreSQL, MySQL/MariaDB, SQLite and SQL Server only)", cat, cat))
	case cat == "AD" || cat == "ADAM":
		err = convertADMA(r, ma)
	case cat == "FIM":
		notCarriedMA(r, ma, "the FIM/MIM Service management agent: idsync has no connector for the MIM Service (its portal, workflows and sets have no idsync equivalent)")
	case cat == "Extensible2" || cat == "Extensible":
		switch s := strings.ToLower(sub); {
		case strings.Contains(s, "genericsql") || strings.Contains(s, "generic sql"):
			if strings.Contains(s, "granfeldt") {
				err = convertGranfeldtSQL(r, ma)
			} else {
				err = convertMSGenericSQL(r, ma)
			}
		case strings.Contains(s, "powershell") && strings.Contains(s, "microsoft"):
			err = convertMSPowerShell(r, ma)
		case strings.Contains(s, "powershell"):
			err = convertGranfeldtPSMA(r, ma)
		case strings.Contains(s, "ldap"):
			err = convertGenericLDAP(r, ma)
		case strings.Contains(s, "azure active directory"):
			notCarriedMA(r, ma, "the Azure AD (Entra ID) connector: idsync has no Entra ID connector yet (convert the Active Directory connector of the same server from its own file)")
		default:
			notCarriedMA(r, ma, fmt.Sprintf("the extensible connector %q: idsync has no equivalent connector", sub))
		}
	default:
		notCarriedMA(r, ma, fmt.Sprintf("management agents of type %q: idsync has no equivalent connector", cat))
	}
	if err != nil {
		return nil, err
	}
	if r.Connector != nil {
		commonNotCarried(r, ma)
	}
	return r, nil
}

// notCarriedMA records an MA that has no idsync connector, listing what
// it held for reference.
func notCarriedMA(r *Result, ma *node, why string) {
	r.notCarried("%s", why)
	if ocs := selectedObjectClasses(ma); len(ocs) > 0 {
		r.notCarried("object types in scope (for reference): %s", strings.Join(ocs, ", "))
	}
	if inc := inclusion(ma); len(inc) > 0 {
		r.notCarried("attribute inclusion list (for reference, %d attributes): %s", len(inc), strings.Join(inc, ", "))
	}
	var names []string
	for _, rc := range ma.parent.find("run-configuration") {
		names = append(names, rc.str("name"))
	}
	for _, rc := range ma.find("run-configuration") {
		if !contains(names, rc.str("name")) {
			names = append(names, rc.str("name"))
		}
	}
	if len(names) > 0 {
		r.notCarried("run profiles (for reference): %s", strings.Join(names, ", "))
	}
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// inclusion returns the attribute inclusion list.
func inclusion(ma *node) []string {
	var out []string
	for _, a := range ma.at("attribute-inclusion").children("attribute") {
		if t := strings.TrimSpace(a.text); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// partition is a selected MIM partition.
type partition struct {
	id, name      string
	objectClasses []string
	include       []string
	exclude       []string
}

func partitions(ma *node) []partition {
	pd := ma.child("ma-partition-data")
	if pd == nil {
		pd = ma.parent.child("ma-partition-data")
	}
	var out []partition
	for _, p := range pd.children("partition") {
		if p.str("selected") == "0" {
			continue
		}
		pt := partition{id: p.str("id"), name: p.str("name")}
		for _, oc := range p.at("filter/object-classes").children("object-class") {
			pt.objectClasses = append(pt.objectClasses, strings.TrimSpace(oc.text))
		}
		for _, in := range p.at("filter/containers/inclusions").children("inclusion") {
			if t := strings.TrimSpace(in.text); t != "" {
				pt.include = append(pt.include, t)
			}
		}
		for _, ex := range p.at("filter/containers/exclusions").children("exclusion") {
			if t := strings.TrimSpace(ex.text); t != "" {
				pt.exclude = append(pt.exclude, t)
			}
		}
		out = append(out, pt)
	}
	return out
}

func selectedObjectClasses(ma *node) []string {
	var out []string
	for _, p := range partitions(ma) {
		for _, oc := range p.objectClasses {
			if !contains(out, oc) {
				out = append(out, oc)
			}
		}
	}
	return out
}

// runProfiles converts <ma-run-data>: each run configuration's steps
// become idsync steps. Steps idsync cannot run are reported.
func runProfiles(r *Result, ma *node, partName func(id string) string) *yaml.Node {
	rd := ma.child("ma-run-data")
	if rd == nil {
		rd = ma.parent.child("ma-run-data")
	}
	rcs := rd.children("run-configuration")
	if len(rcs) == 0 {
		return nil
	}
	out := mapping()
	var carried []string
	for _, rc := range rcs {
		name := rc.str("name")
		steps := seq(false)
		ok := true
		for _, st := range rc.at("configuration").children("step") {
			typ := st.child("step-type")
			t, sub := typ.attrs["type"], ""
			if typ != nil {
				sub = typ.str("import-subtype") + typ.str("apply-rules-subtype") + typ.str("export-subtype")
			}
			var kinds []string
			switch {
			case t == "full-import" && (sub == "" || sub == "to-cs"):
				kinds = []string{"full-import"}
			case t == "delta-import" && (sub == "" || sub == "to-cs"):
				kinds = []string{"delta-import"}
			case t == "full-import-reevaluate-rules":
				kinds = []string{"full-import", "full-sync"}
			case t == "delta-import-reevaluate-rules" || t == "delta-import-delta-sync":
				kinds = []string{"delta-import", "delta-sync"}
			case t == "apply-rules" && sub == "reevaluate-flow-connectors":
				kinds = []string{"full-sync"}
			case t == "apply-rules":
				kinds = []string{"delta-sync"}
			case t == "export" && (sub == "" || sub == "to-cd"):
				kinds = []string{"export"}
			default:
				r.notCarried("run profile %q: step %s %s (staging to or resuming from a file) has no idsync equivalent", name, t, sub)
				ok = false
			}
			part := ""
			if id := st.str("partition"); id != "" && partName != nil {
				part = partName(id)
			}
			for _, k := range kinds {
				if part == "" {
					steps.Content = append(steps.Content, str(k))
					continue
				}
				m := flowMapping()
				add(m, "type", str(k))
				add(m, "partition", str(part))
				steps.Content = append(steps.Content, m)
			}
		}
		if ok && len(steps.Content) > 0 {
			steps.Style = yaml.FlowStyle
			add(out, name, steps)
			carried = append(carried, name)
		}
	}
	if len(carried) == 0 {
		return nil
	}
	r.carried("run profiles: %s", strings.Join(carried, ", "))
	return out
}

// commonNotCarried reports the MA's sync logic, which lives in sync
// rules (or nowhere) in idsync.
func commonNotCarried(r *Result, ma *node) {
	for _, c := range []struct{ elem, what string }{
		{"join", "join rules: write them in inbound sync rules (join:)"},
		{"projection", "projection rules: write an inbound sync rule with linkType: Provision"},
		{"export-attribute-flow", "export attribute flows: write outbound sync rules (flows:)"},
		{"import-attribute-flow", "import attribute flows: write inbound sync rules (flows:)"},
		{"stay-disconnector", "connector filter (stay-disconnector): write a scoping filter on the sync rules"},
		{"extension", "rules extension (a .NET assembly): rewrite its logic as expressions"},
		{"dn-construction", "DN construction rules: write a dn flow on the outbound rule"},
		{"component_mappings", "sync-rule component mappings"},
	} {
		if n := ma.child(c.elem); !n.empty() {
			r.notCarried("%s", c.what)
		}
	}
	if ma.str("password-sync-allowed") == "1" {
		r.notCarried("password synchronization: idsync does not synchronize passwords from PCNS")
	}
	if cc := ma.child("controller-configuration"); cc != nil && !cc.child("impersonation").empty() {
		r.notCarried("impersonation (%s\\%s): idsync runs connectors as its service user", cc.str("impersonation/domain"), cc.str("impersonation/user"))
	}
	switch ma.str("provisioning-cleanup/action") {
	case "make-normal-disconnector", "make-explicit-disconnector":
		add(r.Connector, "deprovision", str("disconnect"))
		r.carried("deprovisioning: %s → deprovision: disconnect", ma.str("provisioning-cleanup/action"))
	case "delete-object":
		add(r.Connector, "deprovision", str("delete"))
		r.carried("deprovisioning: delete-object → deprovision: delete")
	}
	if pc := ma.child("provisioning-cleanup"); pc != nil && pc.attrs["type"] == "scripted" {
		r.notCarried("scripted deprovisioning (rules extension)")
	}
}

// ---- YAML building

func mapping() *yaml.Node { return &yaml.Node{Kind: yaml.MappingNode} }
func flowMapping() *yaml.Node {
	return &yaml.Node{Kind: yaml.MappingNode, Style: yaml.FlowStyle}
}
func seq(flow bool) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode}
	if flow {
		n.Style = yaml.FlowStyle
	}
	return n
}
func str(s string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s} }
func num(n int) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: fmt.Sprint(n)}
}
func boolean(b bool) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: fmt.Sprint(b)}
}

func strs(flow bool, ss ...string) *yaml.Node {
	n := seq(flow)
	for _, s := range ss {
		n.Content = append(n.Content, str(s))
	}
	return n
}

func envRef(name string) *yaml.Node {
	m := flowMapping()
	add(m, "env", str(name))
	return m
}

func add(m *yaml.Node, key string, v *yaml.Node) {
	m.Content = append(m.Content, str(key), v)
}

// newConnector starts the connector mapping: name and type.
func (r *Result) newConnector(typ string) *yaml.Node {
	r.Type = typ
	c := mapping()
	add(c, "name", str(r.Name))
	add(c, "type", str(typ))
	r.Connector = c
	return c
}

// YAML renders the result: a commented report, then (when usable) a
// configuration document with the connector under connectors:.
func (r *Result) YAML() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Imported by `idsync config import-mim` from %s\n", r.File)
	fmt.Fprintf(&b, "# (<%s>, management agent %q of type %s).\n", r.Root, r.MA, r.MAType)
	writeList(&b, "Carried", r.Carried)
	writeList(&b, "Not carried", r.NotCarried)
	if len(r.Env) > 0 {
		b.WriteString("#\n# Set before use:\n")
		for _, e := range r.Env {
			fmt.Fprintf(&b, "#   %s: %s\n", e.Name, e.What)
		}
	}
	if r.Connector == nil {
		b.WriteString("#\n# Nothing usable came out of this file: no connector configuration is written.\n")
		return b.Bytes()
	}
	doc := mapping()
	list := seq(false)
	list.Content = append(list.Content, r.Connector)
	add(doc, "connectors", list)
	var y bytes.Buffer
	enc := yaml.NewEncoder(&y)
	enc.SetIndent(2)
	if err := enc.Encode(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}); err != nil {
		// Encoding a tree built here cannot fail; say so loudly if it does.
		fmt.Fprintf(&b, "# internal error: %v\n", err)
		return b.Bytes()
	}
	enc.Close()
	b.Write(y.Bytes())
	return b.Bytes()
}

func writeList(b *bytes.Buffer, title string, items []string) {
	if len(items) == 0 {
		return
	}
	fmt.Fprintf(b, "#\n# %s:\n", title)
	for _, it := range items {
		lines := strings.Split(strings.TrimSpace(it), "\n")
		fmt.Fprintf(b, "#   - %s\n", lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(b, "#     %s\n", l)
		}
	}
}

// Report is the plain-text summary printed by the command.
func (r *Result) Report() string {
	var b strings.Builder
	state := "carried as a " + r.Type + " connector named " + r.Name
	if r.Connector == nil {
		state = "NOT carried"
	}
	fmt.Fprintf(&b, "%s: management agent %q (%s): %s\n", r.File, r.MA, r.MAType, state)
	for _, c := range r.Carried {
		fmt.Fprintf(&b, "  carried:     %s\n", c)
	}
	for _, c := range r.NotCarried {
		fmt.Fprintf(&b, "  not carried: %s\n", c)
	}
	for _, e := range r.Env {
		fmt.Fprintf(&b, "  set:         %s (%s)\n", e.Name, e.What)
	}
	return b.String()
}
