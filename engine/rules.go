package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/expr"
	"github.com/idsync/idsync/store"
)

// ruleSet is the compiled rule set, indexed for the sync loop.
type ruleSet struct {
	all []*compiledRule // by precedence, then declaration order
	// inbound rules per connector, by precedence.
	inbound map[string][]*compiledRule
	// outbound rules per target connector, by precedence.
	outbound map[string][]*compiledRule
	// inboundTargets lists, per MV type, the MV attributes some inbound rule flows.
	inboundTargets map[string]map[string]bool
	mv             *idsync.Schema
	connOrder      []string
	fingerprint    string
	// mvIndex lists the MV attributes inbound join rules look up.
	mvIndex []string

	infoMu sync.Mutex
	info   map[string]*mvTypeInfo
}

// compiledRule is a rule ready to evaluate.
type compiledRule struct {
	*idsync.SyncRule
	scope  [][]clause
	flows  []compiledFlow
	params map[string]string
	order  int
	// joinAttrs are the join conditions' attributes.
	hasJoin bool
}

type clause struct {
	idsync.ScopeClause
	value  string // parameters resolved
	num    int64
	isNum  bool
	isBool bool
	bval   bool
	set    []string // ISIN / ISNOTIN
}

type compiledFlow struct {
	idsync.Flow
	prog *expr.Program
	// dropEmpty drops empty-text values from the expression's result: in
	// Entra Connect's metaverse an empty string is no value (Left(NULL, n)
	// is "" there, and flows nothing). Set for rules imported from it.
	dropEmpty bool
	// constant value as text; typed when it flows.
	constant idsync.Value
}

// standardParams are the rule parameters every connector has.
var standardParams = []string{"Domain.FQDN", "Domain.Netbios", "Domain.LDAP", "Forest.FQDN", "Forest.Netbios", "Forest.LDAP", "Connector.ID"}

func compileRules(cfg *config.Config) (*ruleSet, error) {
	rs := &ruleSet{
		inbound:        map[string][]*compiledRule{},
		outbound:       map[string][]*compiledRule{},
		inboundTargets: map[string]map[string]bool{},
		mv:             cfg.Metaverse,
	}
	if rs.mv == nil {
		rs.mv = &idsync.Schema{}
	}
	for _, c := range cfg.Connectors {
		rs.connOrder = append(rs.connOrder, c.Name)
	}
	h := sha256.New()
	for i, r := range cfg.Rules {
		if r.Disabled {
			continue
		}
		cc := cfg.Connector(r.Connector)
		if cc == nil {
			return nil, fmt.Errorf("engine: rule %q: unknown connector %q", r.Name, r.Connector)
		}
		params := cc.RuleParams()
		pnames := append([]string(nil), standardParams...)
		for k := range cc.Params {
			pnames = append(pnames, k)
		}
		cr := &compiledRule{SyncRule: r, params: params, order: i, hasJoin: len(r.Join) > 0}
		for _, g := range r.Scope {
			var cg []clause
			for _, c := range g {
				cl, err := compileClause(c, params)
				if err != nil {
					return nil, fmt.Errorf("engine: rule %q (%s): %w", r.Name, r.Source, err)
				}
				cg = append(cg, cl)
			}
			cr.scope = append(cr.scope, cg)
		}
		for fi, f := range r.Flows {
			cf := compiledFlow{Flow: f, dropEmpty: r.Origin != nil && r.Origin.System == idsync.OriginEntraConnect}
			switch f.Type {
			case idsync.FlowExpression:
				p, err := expr.Compile(f.Expression, &expr.Options{Params: pnames, Precedence: config.ExprPrecedence(r)})
				if err != nil {
					return nil, fmt.Errorf("engine: rule %q (%s) flow %d to %s: %w", r.Name, r.Source, fi+1, f.Target, err)
				}
				cf.prog = p
			case idsync.FlowConstant:
				cf.constant = idsync.String(resolveParams(f.Constant, params))
			}
			cr.flows = append(cr.flows, cf)
		}
		rs.all = append(rs.all, cr)
		b, _ := json.Marshal(r)
		h.Write(b)
	}
	sort.SliceStable(rs.all, func(i, j int) bool {
		a, b := rs.all[i], rs.all[j]
		if a.Precedence != b.Precedence {
			return a.Precedence < b.Precedence
		}
		return a.order < b.order
	})
	for _, r := range rs.all {
		if r.Direction == idsync.Inbound {
			rs.inbound[r.Connector] = append(rs.inbound[r.Connector], r)
			t := rs.inboundTargets[r.MVType]
			if t == nil {
				t = map[string]bool{}
				rs.inboundTargets[r.MVType] = t
			}
			for _, f := range r.flows {
				t[f.Target] = true
			}
		} else {
			rs.outbound[r.Connector] = append(rs.outbound[r.Connector], r)
		}
	}
	b, _ := json.Marshal(cfg.Metaverse)
	h.Write(b)
	rs.fingerprint = hex.EncodeToString(h.Sum(nil))
	rs.mvIndex = rs.indexes().MV
	return rs, nil
}

// indexes returns the attributes join rules look up by value.
func (rs *ruleSet) indexes() (ix store.Indexes) {
	mv := map[string]bool{}
	cs := map[string]map[string]bool{}
	for _, r := range rs.all {
		for _, g := range r.Join {
			for _, c := range g {
				if r.Direction == idsync.Inbound {
					mv[c.Target] = true
				} else {
					if cs[r.Connector] == nil {
						cs[r.Connector] = map[string]bool{}
					}
					cs[r.Connector][c.Target] = true
				}
			}
		}
	}
	ix.CS = map[string][]string{}
	for a := range mv {
		ix.MV = append(ix.MV, a)
	}
	sort.Strings(ix.MV)
	for c, as := range cs {
		for a := range as {
			ix.CS[c] = append(ix.CS[c], a)
		}
		sort.Strings(ix.CS[c])
	}
	return ix
}

// resolveParams replaces %Name% parameters in s.
func resolveParams(s string, params map[string]string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	for k, v := range params {
		s = strings.ReplaceAll(s, "%"+k+"%", v)
	}
	return s
}

func compileClause(c idsync.ScopeClause, params map[string]string) (clause, error) {
	cl := clause{ScopeClause: c, value: resolveParams(c.Value, params)}
	if n, err := parseNum(cl.value); err == nil {
		cl.num, cl.isNum = n, true
	}
	switch strings.ToLower(cl.value) {
	case "true":
		cl.isBool, cl.bval = true, true
	case "false":
		cl.isBool, cl.bval = true, false
	}
	switch c.Op {
	case idsync.ScopeIsIn, idsync.ScopeIsNotIn:
		for _, p := range strings.Split(cl.value, ";") {
			cl.set = append(cl.set, strings.TrimSpace(p))
		}
	case idsync.ScopeIsBitSet, idsync.ScopeIsNotBitSet, idsync.ScopeLessThan, idsync.ScopeLessThanOrEqual,
		idsync.ScopeGreaterThan, idsync.ScopeGreaterThanOrEqual:
		if c.Op == idsync.ScopeIsBitSet || c.Op == idsync.ScopeIsNotBitSet {
			if !cl.isNum {
				return cl, fmt.Errorf("scoping clause %s %s %q: the value must be a number", c.Attr, c.Op, c.Value)
			}
		}
	}
	return cl, nil
}

// parseNum parses a decimal or &H hexadecimal integer.
func parseNum(s string) (int64, error) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && (s[:2] == "&H" || s[:2] == "&h") {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return int64(u), err
	}
	return strconv.ParseInt(s, 10, 64)
}

// memberOfFunc reports whether the object is a member of the group named
// by ref (a DN in a connector space, an MV object ID in the metaverse).
type memberOfFunc func(groupRef string) bool

// inScope evaluates the scoping filter on attrs (§7.2): no groups means
// always in scope; otherwise at least one group whose clauses all hold.
// It returns a description of a failing clause when out of scope.
func (r *compiledRule) inScope(attrs idsync.Attrs, memberOf memberOfFunc) (bool, string) {
	if len(r.scope) == 0 {
		return true, ""
	}
	detail := ""
	for _, g := range r.scope {
		ok := true
		for _, c := range g {
			if !c.holds(attrs[c.Attr], memberOf) {
				ok = false
				if detail == "" {
					detail = fmt.Sprintf("%s %s %q does not hold", c.Attr, c.Op, c.value)
				}
				break
			}
		}
		if ok {
			return true, ""
		}
	}
	return false, detail
}

// holds evaluates one clause against an attribute's values. Values are
// compared as text, numbers numerically and booleans case-insensitively.
// For a multi-valued attribute a positive operator holds when some value
// satisfies it, and a negated one when no value satisfies its positive.
func (c *clause) holds(vs []idsync.Value, memberOf memberOfFunc) bool {
	switch c.Op {
	case idsync.ScopeIsNull:
		return len(vs) == 0
	case idsync.ScopeIsNotNull:
		return len(vs) > 0
	case idsync.ScopeNotEqual:
		return !c.any(vs, idsync.ScopeEqual)
	case idsync.ScopeNotStartsWith:
		return !c.any(vs, idsync.ScopeStartsWith)
	case idsync.ScopeNotEndsWith:
		return !c.any(vs, idsync.ScopeEndsWith)
	case idsync.ScopeNotContains:
		return !c.any(vs, idsync.ScopeContains)
	case idsync.ScopeIsNotBitSet:
		return len(vs) > 0 && !c.any(vs, idsync.ScopeIsBitSet)
	case idsync.ScopeIsNotIn:
		return !c.any(vs, idsync.ScopeIsIn)
	case idsync.ScopeIsMemberOf:
		return memberOf != nil && memberOf(c.value)
	case idsync.ScopeIsNotMemberOf:
		return memberOf == nil || !memberOf(c.value)
	}
	return c.any(vs, c.Op)
}

func (c *clause) any(vs []idsync.Value, op idsync.ScopeOp) bool {
	for _, v := range vs {
		if c.one(v, op) {
			return true
		}
	}
	return false
}

func valueNum(v idsync.Value) (int64, bool) {
	switch v.Type {
	case idsync.TypeInteger, idsync.TypeBoolean:
		return v.Int, true
	case idsync.TypeString:
		n, err := parseNum(v.Str)
		return n, err == nil
	}
	return 0, false
}

func (c *clause) one(v idsync.Value, op idsync.ScopeOp) bool {
	s := v.String()
	switch op {
	case idsync.ScopeEqual:
		if c.isBool && (v.Type == idsync.TypeBoolean || strings.EqualFold(s, "true") || strings.EqualFold(s, "false")) {
			return strings.EqualFold(s, c.value)
		}
		if c.isNum {
			if n, ok := valueNum(v); ok {
				return n == c.num
			}
		}
		return s == c.value
	case idsync.ScopeLessThan, idsync.ScopeLessThanOrEqual, idsync.ScopeGreaterThan, idsync.ScopeGreaterThanOrEqual:
		var cmp int
		if n, ok := valueNum(v); ok && c.isNum {
			cmp = compareInt(n, c.num)
		} else if v.Type == idsync.TypeDateTime {
			t, err := idsync.String(c.value).Convert(idsync.TypeDateTime)
			if err != nil {
				return false
			}
			cmp = compareInt(v.Int, t.Int)
		} else {
			cmp = strings.Compare(s, c.value)
		}
		switch op {
		case idsync.ScopeLessThan:
			return cmp < 0
		case idsync.ScopeLessThanOrEqual:
			return cmp <= 0
		case idsync.ScopeGreaterThan:
			return cmp > 0
		}
		return cmp >= 0
	case idsync.ScopeStartsWith:
		return strings.HasPrefix(s, c.value)
	case idsync.ScopeEndsWith:
		return strings.HasSuffix(s, c.value)
	case idsync.ScopeContains:
		return strings.Contains(s, c.value)
	case idsync.ScopeIsBitSet:
		n, ok := valueNum(v)
		return ok && n&c.num == c.num
	case idsync.ScopeIsIn:
		for _, x := range c.set {
			if x == s {
				return true
			}
		}
	}
	return false
}

func compareInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// attrEnv adapts attributes to expr.Env.
type attrEnv struct {
	attrs    idsync.Attrs
	imported idsync.Attrs
	params   map[string]string
	// dn is the connector space object's DN, which inbound rules read as
	// the attribute [dn] (as Entra Connect's do) unless the connector
	// imports an attribute of that name.
	dn string
}

func (e *attrEnv) Attr(name string) []idsync.Value {
	if vs, ok := e.attrs[name]; ok || name != idsync.DNAttr || e.dn == "" {
		return vs
	}
	return []idsync.Value{idsync.String(e.dn)}
}
func (e *attrEnv) Imported(name string) []idsync.Value { return e.imported[name] }
func (e *attrEnv) Param(name string) (string, bool) {
	v, ok := e.params[name]
	return v, ok
}

// outcome of one flow.
type flowOutcome uint8

const (
	outValue flowOutcome = iota
	outNull
	outIgnore
	outAuthNull
)

var outcomeNames = [...]string{"value", "null", "ignore", "authoritative-null"}

// eval computes a flow on a source object.
func (f *compiledFlow) eval(env *attrEnv) ([]idsync.Value, flowOutcome, error) {
	switch f.Type {
	case idsync.FlowDirect:
		vs := env.Attr(f.Source)
		if len(vs) == 0 {
			return nil, outNull, nil
		}
		return vs, outValue, nil
	case idsync.FlowConstant:
		return []idsync.Value{f.constant}, outValue, nil
	}
	res, err := f.prog.Eval(env)
	if err != nil {
		return nil, outNull, err
	}
	switch res.Flag {
	case expr.IgnoreThisFlow:
		return nil, outIgnore, nil
	case expr.AuthoritativeNull:
		return nil, outAuthNull, nil
	}
	vals := res.Values
	if f.dropEmpty {
		vals = dropEmptyText(vals)
	}
	if len(vals) == 0 {
		return nil, outNull, nil
	}
	return vals, outValue, nil
}

// dropEmptyText returns vs without its empty strings.
func dropEmptyText(vs []idsync.Value) []idsync.Value {
	for i, v := range vs {
		if v.Type == idsync.TypeString && v.Str == "" {
			out := append([]idsync.Value(nil), vs[:i]...)
			for _, w := range vs[i+1:] {
				if w.Type != idsync.TypeString || w.Str != "" {
					out = append(out, w)
				}
			}
			return out
		}
	}
	return vs
}
