// Package aadc imports Entra Connect (Azure AD Connect) Sync rules into
// idsync: the XML written by Get-ADSyncServerConfiguration, the
// AADConnectDsc YAML model and the PowerShell written by the
// Synchronization Rules Editor's Export. Each rule is carried faithfully or
// reported as a Problem naming its file and element; the metaverse schema
// comes from the export's MV.xml.
package aadc

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// Problem is something the importer could not carry faithfully.
type Problem struct {
	File    string // the file
	Element string // where in the file ("mapping 3 (dest cloudFiltered)", "line 12")
	Rule    string // the rule's name, when known
	Msg     string
}

func (p Problem) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Element != "" {
		b.WriteString(": " + p.Element)
	}
	if p.Rule != "" {
		fmt.Fprintf(&b, ": rule %q", p.Rule)
	}
	b.WriteString(": " + p.Msg)
	return b.String()
}

// rule is a parsed rule before it is checked and renamed: Connector holds
// the connector as the source names it (GUID or name).
type rule struct {
	idsync.SyncRule
	file     string
	problems []Problem
}

func (r *rule) problem(elem, format string, args ...any) {
	r.problems = append(r.problems, Problem{File: r.file, Element: elem, Rule: r.Name, Msg: fmt.Sprintf(format, args...)})
}

// Options control an import.
type Options struct {
	// ConnectorMap maps a connector as the rules name it (a GUID, with or
	// without braces, any case; or a connector name) to an idsync connector.
	ConnectorMap map[string]string
}

// Result is the outcome of an import.
type Result struct {
	// Rules carried faithfully, in precedence order.
	Rules []*idsync.SyncRule
	// Metaverse is the schema from MV.xml, nil when none was read.
	Metaverse *idsync.Schema
	// MVFile is the file Metaverse came from.
	MVFile string
	// Problems, in file order.
	Problems []Problem
	// Unmapped lists connectors the rules name that ConnectorMap does not map.
	Unmapped []string
}

// Counts returns the numbers of flows, scope conditions and join conditions
// of the converted rules.
func (r *Result) Counts() (flows, scope, join int) {
	for _, x := range r.Rules {
		flows += len(x.Flows)
		for _, g := range x.Scope {
			scope += len(g)
		}
		for _, g := range x.Join {
			join += len(g)
		}
	}
	return
}

// Summary is the one-line summary the command prints.
func (r *Result) Summary() string {
	f, s, j := r.Counts()
	return fmt.Sprintf("converted %d rules (%d flows, %d scope conditions, %d join conditions); %d problems",
		len(r.Rules), f, s, j, len(r.Problems))
}

// Format is one of the input forms.
type Format int

// Input forms.
const (
	FormatUnknown    Format = iota
	FormatXML               // Get-ADSyncServerConfiguration: one <synchronizationRule> per file
	FormatMV                // Get-ADSyncServerConfiguration: MV.xml
	FormatDSC               // AADConnectDsc YAML
	FormatPowerShell        // Synchronization Rules Editor export
)

func (f Format) String() string {
	return [...]string{"unknown", "server-configuration XML", "metaverse XML", "AADConnectDsc YAML", "PowerShell"}[f]
}

var psRule = regexp.MustCompile(`(?i)\bNew-ADSyncRule\b`)

// Detect tells which form data is in.
func Detect(data []byte) Format {
	s := strings.TrimSpace(strings.TrimPrefix(string(data), "\ufeff"))
	switch {
	case strings.HasPrefix(s, "<"):
		root := xmlRoot(s)
		switch root {
		case "synchronizationRule", "synchronizationRules":
			return FormatXML
		case "saved-mv-configuration", "mv-data":
			return FormatMV
		}
		return FormatUnknown
	case psRule.MatchString(s):
		return FormatPowerShell
	case looksLikeDSC(data):
		return FormatDSC
	}
	return FormatUnknown
}

// File is one input file.
type File struct {
	Name string
	Data []byte
}

// Import converts files. A file of none of the forms, and every rule that
// cannot be carried faithfully, is a Problem; the other rules still convert.
func Import(files []File, opts Options) *Result {
	res := &Result{}
	var rules []*rule
	for _, f := range files {
		switch Detect(f.Data) {
		case FormatXML, FormatDSC, FormatPowerShell:
			var rs []*rule
			var ps []Problem
			switch Detect(f.Data) {
			case FormatXML:
				rs, ps = parseXML(f.Name, f.Data)
			case FormatDSC:
				rs, ps = parseDSC(f.Name, f.Data)
			default:
				rs, ps = parsePowerShell(f.Name, f.Data)
			}
			if len(rs) == 0 && len(ps) == 0 {
				ps = []Problem{{File: f.Name, Msg: fmt.Sprintf("no sync rule in this %s file", Detect(f.Data))}}
			}
			rules = append(rules, rs...)
			res.Problems = append(res.Problems, ps...)
		case FormatMV:
			mv, ps := parseMV(f.Name, f.Data)
			res.Problems = append(res.Problems, ps...)
			if mv != nil {
				if res.Metaverse != nil {
					res.Problems = append(res.Problems, Problem{File: f.Name, Msg: fmt.Sprintf("a second metaverse schema (the first came from %s); ignored", res.MVFile)})
					continue
				}
				res.Metaverse, res.MVFile = mv, f.Name
			}
		default:
			res.Problems = append(res.Problems, Problem{File: f.Name, Msg: "not an Entra Connect sync rule file: neither Get-ADSyncServerConfiguration XML (<synchronizationRule> or MV.xml), AADConnectDsc YAML (Items: with rules), nor a PowerShell export (New-ADSyncRule)"})
		}
	}
	for _, r := range rules {
		check(r)
	}
	finish(res, rules, opts)
	return res
}

// check finds what a parsed rule cannot carry: expressions that do not
// compile, operators and values idsync would refuse.
func check(r *rule) {
	seen := map[string]bool{}
	for i, f := range r.Flows {
		elem := fmt.Sprintf("mapping %d (destination %s)", i+1, f.Target)
		if f.Target == "" {
			r.problem(fmt.Sprintf("mapping %d", i+1), "the mapping has no destination")
			continue
		}
		if seen[f.Target] {
			r.problem(elem, "destination %s flows twice in this rule", f.Target)
		}
		seen[f.Target] = true
		switch f.Type {
		case idsync.FlowDirect:
			if f.Source == "" {
				r.problem(elem, "a Direct mapping needs one source attribute")
			}
		case idsync.FlowExpression:
			if strings.TrimSpace(f.Expression) == "" {
				r.problem(elem, "an Expression mapping has no expression")
				break
			}
			if _, err := compileExpr(f.Expression); err != nil {
				r.problem(elem, "expression %q: %v", f.Expression, err)
			}
		}
	}
	for gi, g := range r.Scope {
		if len(g) == 0 {
			r.problem(fmt.Sprintf("scope group %d", gi+1), "the scope group is empty")
		}
		for ci, c := range g {
			elem := fmt.Sprintf("scope group %d condition %d (%s %s)", gi+1, ci+1, c.Attr, c.Op)
			if c.Attr == "" {
				r.problem(elem, "the condition has no attribute")
			}
			switch c.Op {
			case idsync.ScopeLessThan, idsync.ScopeLessThanOrEqual, idsync.ScopeGreaterThan, idsync.ScopeGreaterThanOrEqual,
				idsync.ScopeIsBitSet, idsync.ScopeIsNotBitSet:
				v := strings.TrimSpace(c.Value)
				if isParam(v) {
					break
				}
				if _, err := strconv.ParseInt(v, 0, 64); err != nil {
					if _, ferr := strconv.ParseFloat(v, 64); ferr != nil || c.Op == idsync.ScopeIsBitSet || c.Op == idsync.ScopeIsNotBitSet {
						r.problem(elem, "%s needs a number, got %q", c.Op, c.Value)
					}
				}
			}
		}
	}
	for gi, g := range r.Join {
		if len(g) == 0 {
			r.problem(fmt.Sprintf("join group %d", gi+1), "the join group is empty")
		}
		for ci, c := range g {
			if c.Source == "" || c.Target == "" {
				r.problem(fmt.Sprintf("join group %d condition %d", gi+1, ci+1), "the join condition needs both attributes")
			}
		}
	}
	if r.Name == "" {
		r.problem("", "the rule has no name")
	}
	if r.CSType == "" || r.MVType == "" {
		r.problem("", "the rule needs a source and a target object type")
	}
	if r.MVType == "*" && len(r.Flows) > 0 {
		r.problem("", "a rule whose metaverse object type is * (any) cannot flow attributes in idsync")
	}
}

var paramOnly = regexp.MustCompile(`^%[A-Za-z_][A-Za-z0-9_.]*%$`)

func isParam(s string) bool { return paramOnly.MatchString(s) }

// compileExpr compiles an imported expression as the engine will: with the
// standard parameters and conventional operator precedence (see
// docs/entra-connect.md).
func compileExpr(src string) (p *expr.Program, err error) {
	defer func() {
		if x := recover(); x != nil {
			p, err = nil, fmt.Errorf("the expression compiler failed: %v", x)
		}
	}()
	return expr.Compile(src, &expr.Options{Params: expr.StandardParams, Precedence: expr.Conventional})
}

// normConnector normalises a connector reference for ConnectorMap lookups.
func normConnector(s string) string {
	s = strings.TrimSpace(s)
	t := strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
	if guidRe.MatchString(t) {
		return strings.ToLower(t)
	}
	return s
}

var guidRe = regexp.MustCompile(`^[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}$`)

// finish maps connectors, drops rules with problems, makes names unique
// and checks precedences.
func finish(res *Result, rules []*rule, opts Options) {
	cmap := map[string]string{}
	for k, v := range opts.ConnectorMap {
		cmap[normConnector(k)] = v
	}
	unmapped := map[string]bool{}
	var ok []*rule
	for _, r := range rules {
		if len(r.problems) > 0 {
			res.Problems = append(res.Problems, r.problems...)
			continue
		}
		orig := r.Connector
		r.Origin.Connector = orig
		r.Origin.Name = r.Name
		if to, found := cmap[normConnector(orig)]; found {
			r.Connector = to
		} else {
			r.Connector = normConnector(orig)
		}
		ok = append(ok, r)
	}
	sort.SliceStable(ok, func(i, j int) bool { return ok[i].Precedence < ok[j].Precedence })
	// Precedence must be unique in idsync, as it is on one Entra Connect server.
	held := map[int]*rule{}
	var kept []*rule
	for _, r := range ok {
		if other := held[r.Precedence]; other != nil {
			res.Problems = append(res.Problems, Problem{File: r.file, Element: "precedence", Rule: r.Name,
				Msg: fmt.Sprintf("precedence %d is already held by rule %q (%s); give one of them another precedence", r.Precedence, other.Name, other.file)})
			continue
		}
		held[r.Precedence] = r
		kept = append(kept, r)
		if _, found := cmap[normConnector(r.Origin.Connector)]; !found {
			unmapped[r.Connector] = true
		}
	}
	// Names must be unique in idsync; Entra Connect repeats them across
	// connectors. A repeated name gets its connector appended, then a
	// number; origin.name keeps the original.
	count := map[string]int{}
	for _, r := range kept {
		count[r.Name]++
	}
	used := map[string]bool{}
	for _, r := range kept {
		if count[r.Name] > 1 {
			r.Name = fmt.Sprintf("%s (%s)", r.Name, r.Connector)
		}
		base := r.Name
		for n := 2; used[r.Name]; n++ {
			r.Name = fmt.Sprintf("%s #%d", base, n)
		}
		used[r.Name] = true
		res.Rules = append(res.Rules, &r.SyncRule)
	}
	for c := range unmapped {
		res.Unmapped = append(res.Unmapped, c)
	}
	sort.Strings(res.Unmapped)
}

// newRule starts a rule read from file.
func newRule(file string) *rule {
	r := &rule{file: file}
	r.OperatorPrecedence = idsync.PrecedenceConventional
	r.Origin = &idsync.RuleOrigin{System: idsync.OriginEntraConnect, File: file}
	r.LinkType = idsync.LinkJoin
	return r
}

// setTypes sets the CS and MV object types from the rule's source and
// target types, which swap with the direction.
func (r *rule) setTypes(source, target string) {
	if r.Direction == idsync.Outbound {
		r.MVType, r.CSType = source, target
	} else {
		r.CSType, r.MVType = source, target
	}
}

// addJoin adds a join condition given as (CS attribute, MV attribute).
func (r *rule) joinCond(cs, mv string, caseSensitive bool) idsync.JoinCondition {
	if r.Direction == idsync.Outbound {
		return idsync.JoinCondition{Source: mv, Target: cs, CaseSensitive: caseSensitive}
	}
	return idsync.JoinCondition{Source: cs, Target: mv, CaseSensitive: caseSensitive}
}

// parseBool reads True/False in any case.
func parseBool(s string) (bool, bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "$true", "1":
		return true, true
	case "false", "$false", "0", "":
		return false, true
	}
	return false, false
}

// setDirection, setLinkType, scopeOp, flowType and mergeType parse the
// enumerations and record a problem on an unknown value.
func (r *rule) setDirection(elem, s string) {
	d, err := idsync.ParseDirection(strings.TrimSpace(s))
	if err != nil {
		r.problem(elem, "%v", err)
	}
	r.Direction = d
}

func (r *rule) setLinkType(elem, s string) {
	if strings.TrimSpace(s) == "" {
		return
	}
	t, err := idsync.ParseLinkType(strings.TrimSpace(s))
	if err != nil {
		r.problem(elem, "%v", err)
	}
	r.LinkType = t
}

func (r *rule) setPrecedence(elem, s string) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		r.problem(elem, "precedence %q is not a number", s)
	}
	r.Precedence = n
}

func (r *rule) scopeOp(elem, s string) idsync.ScopeOp {
	op, err := idsync.ParseScopeOp(s)
	if err != nil {
		r.problem(elem, "%v", err)
	}
	return op
}

func (r *rule) flowType(elem, s string) idsync.FlowType {
	t, err := idsync.ParseFlowType(strings.TrimSpace(s))
	if err != nil {
		r.problem(elem, "%v", err)
	}
	return t
}

func (r *rule) mergeType(elem, s string) idsync.MergeType {
	if strings.TrimSpace(s) == "" {
		return idsync.MergeUpdate
	}
	t, err := idsync.ParseMergeType(strings.TrimSpace(s))
	if err != nil {
		r.problem(elem, "%v", err)
	}
	return t
}

// clause builds a scope clause; ISNULL and ISNOTNULL ignore their value
// there, as they do in Entra Connect.
func clause(attr string, op idsync.ScopeOp, value string) idsync.ScopeClause {
	if op == idsync.ScopeIsNull || op == idsync.ScopeIsNotNull {
		value = ""
	}
	return idsync.ScopeClause{Attr: attr, Op: op, Value: value}
}

// softDelete reports a soft-delete expiry interval idsync cannot carry.
func (r *rule) softDelete(elem, s string) {
	s = strings.TrimSpace(s)
	switch s {
	case "", "0", "00:00:00":
		return
	}
	r.problem(elem, "a soft-delete expiry interval (%s) has no equivalent in idsync", s)
}

// inputExts are the file extensions read from a directory.
var inputExts = map[string]bool{".xml": true, ".yml": true, ".yaml": true, ".ps1": true, ".psm1": true}

// ReadPaths reads the files named, and the rule files (.xml, .yml, .yaml,
// .ps1, .psm1) under the directories named, in path order.
func ReadPaths(paths []string) ([]File, error) {
	var files []File
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("aadc: %w", err)
		}
		if !st.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return nil, fmt.Errorf("aadc: %w", err)
			}
			files = append(files, File{Name: p, Data: b})
			continue
		}
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() || strings.HasPrefix(d.Name(), ".") || !inputExts[strings.ToLower(filepath.Ext(path))] {
				return nil
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			files = append(files, File{Name: path, Data: b})
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("aadc: read %s: %w", p, err)
		}
	}
	return files, nil
}
