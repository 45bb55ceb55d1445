package config

import (
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/expr"
)

// Validate checks the configuration as it is now: references between the
// metaverse schema, connectors, rules and profiles, the connectors'
// settings, and every expression, which it compiles again (Program
// returns the new programs). Load has already called it; call it again
// after changing a Config. Errors name the file:line:column the values
// were loaded from when the Config came from Load, else the rule's or
// connector's Source. It returns an *Errors or nil.
//
// Validate is not safe to call concurrently with Program.
func (c *Config) Validate() error {
	return c.validate(&errorList{})
}

func (c *Config) validate(errs *errorList) error {
	v := &validator{c: c, errs: errs, programs: map[*idsync.SyncRule][]*expr.Program{}}
	v.metaverse()
	v.connectors()
	v.rules()
	v.cycle()
	c.programs = v.programs
	return errs.err()
}

type validator struct {
	c        *Config
	errs     *errorList
	programs map[*idsync.SyncRule][]*expr.Program
}

// at returns the position of path in obj, falling back to obj's own
// position and then to its Source ("file:line").
func (v *validator) at(obj any, path string) Pos {
	if p, ok := v.c.pos.get(obj, path); ok {
		return p
	}
	if p, ok := v.c.pos.get(obj, ""); ok {
		return p
	}
	var src string
	switch o := obj.(type) {
	case *idsync.SyncRule:
		src = o.Source
	case *Connector:
		src = o.Source
	}
	return parseSource(src)
}

// parseSource reads "file:line".
func parseSource(src string) Pos {
	if src == "" {
		return Pos{}
	}
	i := strings.LastIndexByte(src, ':')
	if i > 0 {
		if n, err := strconv.Atoi(src[i+1:]); err == nil {
			return Pos{File: src[:i], Line: n}
		}
	}
	return Pos{File: src}
}

func (v *validator) errorf(p Pos, format string, args ...any) {
	v.errs.add(p, format, args...)
}

func (v *validator) metaverse() {
	mv := v.c.Metaverse
	if mv == nil {
		return
	}
	seen := map[string]Pos{}
	for i := range mv.Classes {
		class := &mv.Classes[i]
		key := mvKey(i)
		at := func(path string) Pos {
			if p, ok := v.c.pos.get(mv, key+path); ok {
				return p
			}
			p, _ := v.c.pos.get(mv, key)
			return p
		}
		what := fmt.Sprintf("metaverse object type %q", class.Name)
		if class.Name == "" {
			what = "metaverse object type"
		}
		switch {
		case class.Name == "":
			v.errorf(at(""), "metaverse object type: name is required")
		case class.Name == "*":
			v.errorf(at(".name"), "metaverse object type: %q is not a valid name", class.Name)
		default:
			if first, dup := seen[class.Name]; dup {
				v.errorf(at(".name"), "%s declared twice (first at %s)", what, first)
			} else {
				seen[class.Name] = at(".name")
			}
		}
		attrs := map[string]Pos{}
		for j, a := range class.Attrs {
			ak := fmt.Sprintf(".attrs.%d", j)
			switch {
			case a.Name == "":
				v.errorf(at(ak), "%s: attribute: name is required", what)
			default:
				if first, dup := attrs[a.Name]; dup {
					v.errorf(at(ak+".name"), "%s: attribute %q declared twice (first at %s)", what, a.Name, first)
				} else {
					attrs[a.Name] = at(ak + ".name")
				}
			}
			if a.Type < idsync.TypeString || a.Type > idsync.TypeDateTime {
				v.errorf(at(ak), "%s: attribute %q: type is required (string, integer, boolean, binary, reference or datetime)", what, a.Name)
			}
		}
		for _, name := range class.DeletionRule.Connectors {
			if v.c.Connector(name) == nil {
				v.errorf(at(".deletion.connectors"), "%s: deletion: unknown connector %q", what, name)
			}
		}
	}
}

var (
	dnStyles      = []connector.DNStyle{connector.DNNone, connector.DNGeneric, connector.DNLDAP}
	exportTypes   = []connector.ExportType{connector.ExportAttributeReplace, connector.ExportAttributeUpdate, connector.ExportMultivaluedReferenceAttributeUpdate, connector.ExportObjectReplace}
	confirmations = []connector.ConfirmationMode{connector.ConfirmNormal, connector.ConfirmNoDeleteConfirmation, connector.ConfirmNoAddAndDeleteConfirmation}
)

func join[T ~string](list []T) string {
	s := make([]string, len(list))
	for i, x := range list {
		s[i] = string(x)
	}
	return strings.Join(s, ", ")
}

func (v *validator) connectors() {
	seen := map[string]Pos{}
	for _, c := range v.c.Connectors {
		what := fmt.Sprintf("connector %q", c.Name)
		if c.Name == "" {
			what = "connector"
			v.errorf(v.at(c, ""), "connector: name is required")
		} else if first, dup := seen[c.Name]; dup {
			v.errorf(v.at(c, "name"), "%s declared twice (first at %s)", what, first)
		} else {
			seen[c.Name] = v.at(c, "name")
		}
		switch {
		case c.Type == "":
			v.errorf(v.at(c, ""), "%s: type is required", what)
		case v.c.reg != nil:
			if _, ok := v.c.reg.Lookup(c.Type); !ok {
				v.errorf(v.at(c, "type"), "%s: unknown connector type %q (registered: %s)", what, c.Type, strings.Join(v.c.reg.Names(), ", "))
			}
		}
		if c.Settings != nil {
			if err := safeValidate(c.Settings); err != nil {
				v.errorf(v.at(c, "settings"), "%s: settings: %v", what, err)
			}
		}
		caps := c.Capabilities
		if caps.DNStyle != "" && !slices.Contains(dnStyles, caps.DNStyle) {
			v.errorf(v.at(c, "capabilities"), "%s: capabilities: unknown dnStyle %q (want %s)", what, caps.DNStyle, join(dnStyles))
		}
		if caps.ExportType != "" && !slices.Contains(exportTypes, caps.ExportType) {
			v.errorf(v.at(c, "capabilities"), "%s: capabilities: unknown exportType %q (want %s)", what, caps.ExportType, join(exportTypes))
		}
		if caps.Confirmation != "" && !slices.Contains(confirmations, caps.Confirmation) {
			v.errorf(v.at(c, "capabilities"), "%s: capabilities: unknown objectConfirmation %q (want %s)", what, caps.Confirmation, join(confirmations))
		}
		switch c.Deprovision {
		case "", "delete", "disconnect":
		default:
			v.errorf(v.at(c, "deprovision"), "%s: unknown deprovision %q (want delete or disconnect)", what, c.Deprovision)
		}
		if c.DeletionThreshold < -1 {
			v.errorf(v.at(c, "deletionThreshold"), "%s: deletionThreshold must be positive, or none (or -1) to disable it", what)
		}
		if c.PageSize < 0 {
			v.errorf(v.at(c, "pageSize"), "%s: pageSize must be positive", what)
		}
		v.matching(c, what)
		names := slices.Clone(c.ProfileOrder)
		for name := range c.Profiles {
			if !slices.Contains(names, name) {
				names = append(names, name)
			}
		}
		sort.Strings(names[len(c.ProfileOrder):])
		for _, name := range names {
			p := c.Profiles[name]
			if p == nil {
				v.errorf(v.at(c, "profiles."+name), "%s: profile %q is not declared", what, name)
				continue
			}
			pwhat := fmt.Sprintf("%s: profile %q", what, name)
			if len(p.Steps) == 0 {
				v.errorf(v.at(c, "profiles."+name), "%s has no steps", pwhat)
			}
			for i, st := range p.Steps {
				sk := fmt.Sprintf("profiles.%s.%d", name, i)
				if !slices.Contains(idsync.StepTypes, st.Type) {
					v.errorf(v.at(c, sk), "%s: unknown run step %q", pwhat, st.Type)
					continue
				}
				if st.Type == idsync.StepDeltaImport && !caps.DeltaImport {
					v.errorf(v.at(c, sk), "%s: connector type %q cannot import deltas (capabilities.deltaImport is false)", pwhat, c.Type)
				}
				if st.Partition != "" && len(c.Partitions) > 0 && !slices.Contains(c.Partitions, st.Partition) {
					v.errorf(v.at(c, sk+".partition"), "%s: partition %q is not among the connector's partitions (%s)", pwhat, st.Partition, strings.Join(c.Partitions, "; "))
				}
				if st.PageSize < 0 {
					v.errorf(v.at(c, sk), "%s: pageSize must be positive", pwhat)
				}
			}
		}
	}
}

// safeValidate runs a connector Config's Validate, turning a panic into an error.
func safeValidate(cfg connector.Config) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("validate panicked: %v", r)
		}
	}()
	return cfg.Validate()
}

// numericOps need a number (or a %parameter%).
var numericOps = []idsync.ScopeOp{
	idsync.ScopeLessThan, idsync.ScopeLessThanOrEqual, idsync.ScopeGreaterThan,
	idsync.ScopeGreaterThanOrEqual, idsync.ScopeIsBitSet, idsync.ScopeIsNotBitSet,
}

var paramRef = regexp.MustCompile(`%([A-Za-z_][A-Za-z0-9_.]*)%`)

// ParamNames returns the parameter names rules of connector c may use: the
// standard seven (expr.StandardParams) and c's own params, sorted after them.
func (c *Connector) ParamNames() []string {
	names := slices.Clone(expr.StandardParams)
	var own []string
	for k := range c.Params {
		if !slices.Contains(names, k) {
			own = append(own, k)
		}
	}
	sort.Strings(own)
	return append(names, own...)
}

func (v *validator) rules() {
	names := map[string]Pos{}
	precedence := map[int]*idsync.SyncRule{}
	for _, r := range v.c.Rules {
		what := fmt.Sprintf("rule %q", r.Name)
		if r.Name == "" {
			what = "rule"
			v.errorf(v.at(r, ""), "rule: name is required")
		} else if first, dup := names[r.Name]; dup {
			v.errorf(v.at(r, "name"), "%s declared twice (first at %s)", what, first)
		} else {
			names[r.Name] = v.at(r, "name")
		}
		if other, dup := precedence[r.Precedence]; dup {
			v.errorf(v.at(r, "precedence"), "%s: precedence %d is already held by rule %q (%s)", what, r.Precedence, other.Name, other.Source)
		} else {
			precedence[r.Precedence] = r
		}

		var conn *Connector
		switch {
		case r.Connector == "":
			v.errorf(v.at(r, ""), "%s: connector is required", what)
		default:
			if conn = v.c.Connector(r.Connector); conn == nil {
				var declared []string
				for _, c := range v.c.Connectors {
					declared = append(declared, c.Name)
				}
				v.errorf(v.at(r, "connector"), "%s: unknown connector %q (declared: %s)", what, r.Connector, strings.Join(declared, ", "))
			}
		}
		switch {
		case r.CSType == "":
			v.errorf(v.at(r, ""), "%s: csObjectType is required", what)
		case conn != nil && len(conn.ObjectTypes) > 0 && !slices.Contains(conn.ObjectTypes, r.CSType):
			v.errorf(v.at(r, "csObjectType"), "%s: csObjectType %q is not among connector %q's objectTypes (%s)", what, r.CSType, conn.Name, strings.Join(conn.ObjectTypes, ", "))
		}
		var class *idsync.ObjectClass
		switch {
		case r.MVType == "":
			v.errorf(v.at(r, ""), "%s: mvObjectType is required", what)
		case r.MVType == "*" && r.Origin != nil && r.Origin.System == idsync.OriginEntraConnect:
			// Entra Connect's "any object type" target (the
			// ForeignSecurityPrincipal join rule): joins an object of any
			// type; the engine supports it, flows are not checked.
		case r.MVType == "*":
			v.errorf(v.at(r, "mvObjectType"), "%s: mvObjectType \"*\" (any object type) is only supported in rules imported from Entra Connect; name a metaverse object type", what)
		default:
			if class = v.c.Metaverse.Class(r.MVType); class == nil {
				var declared []string
				if v.c.Metaverse != nil {
					for _, c := range v.c.Metaverse.Classes {
						declared = append(declared, c.Name)
					}
				}
				v.errorf(v.at(r, "mvObjectType"), "%s: mvObjectType %q is not a metaverse object type (declared: %s)", what, r.MVType, strings.Join(declared, ", "))
			}
		}
		if r.LinkType > idsync.LinkProvision {
			v.errorf(v.at(r, "linkType"), "%s: unknown link type %v", what, r.LinkType)
		}
		params := expr.StandardParams
		if conn != nil {
			params = conn.ParamNames()
		}
		v.scope(r, what, params)
		v.join(r, what, class)
		v.flows(r, what, class, conn, params)
	}
}

// mvAttr checks that name is an attribute of class (when class is known).
func (v *validator) mvAttr(class *idsync.ObjectClass, name string) (idsync.AttrDef, bool) {
	if class == nil {
		return idsync.AttrDef{}, true
	}
	return class.Attr(name)
}

func (v *validator) scope(r *idsync.SyncRule, what string, params []string) {
	for gi, g := range r.Scope {
		if len(g) == 0 {
			v.errorf(v.at(r, fmt.Sprintf("scope.%d", gi)), "%s: scope: group %d is empty", what, gi+1)
		}
		for ci, cl := range g {
			key := fmt.Sprintf("scope.%d.%d", gi, ci)
			loaded := false
			if _, ok := v.c.pos.get(r, key); ok {
				loaded = true
			}
			if cl.Attr == "" {
				v.errorf(v.at(r, key), "%s: scope: attribute is required", what)
			}
			if cl.Op == "" {
				v.errorf(v.at(r, key), "%s: scope: operator is required", what)
				continue
			}
			op, err := idsync.ParseScopeOp(string(cl.Op))
			if err != nil || op != cl.Op {
				v.errorf(v.at(r, key+".operator"), "%s: scope: unknown operator %q (want one of %s)", what, cl.Op, join(idsync.ScopeOps))
				continue
			}
			_, hasValue := v.c.pos.get(r, key+".hasValue")
			if !loaded {
				hasValue = cl.Value != ""
			}
			switch {
			case op == idsync.ScopeIsNull || op == idsync.ScopeIsNotNull:
				if hasValue {
					v.errorf(v.at(r, key+".value"), "%s: scope: %s takes no value", what, op)
				}
				continue
			case !hasValue && loaded:
				v.errorf(v.at(r, key), "%s: scope: %s needs a value", what, op)
				continue
			}
			for _, m := range paramRef.FindAllStringSubmatch(cl.Value, -1) {
				if !slices.Contains(params, m[1]) {
					v.errorf(v.at(r, key+".value"), "%s: scope: unknown parameter %%%s%% (known: %s)", what, m[1], strings.Join(params, ", "))
				}
			}
			if slices.Contains(numericOps, op) {
				val := strings.TrimSpace(cl.Value)
				isParam := paramRef.FindString(val) == val && val != ""
				_, errInt := strconv.ParseInt(val, 0, 64)
				_, errFloat := strconv.ParseFloat(val, 64)
				bitOp := op == idsync.ScopeIsBitSet || op == idsync.ScopeIsNotBitSet
				switch {
				case isParam:
				case bitOp && errInt != nil:
					v.errorf(v.at(r, key+".value"), "%s: scope: %s needs an integer value or a %%parameter%%, got %q", what, op, cl.Value)
				case !bitOp && errInt != nil && errFloat != nil:
					v.errorf(v.at(r, key+".value"), "%s: scope: %s needs a numeric value or a %%parameter%%, got %q", what, op, cl.Value)
				}
			}
		}
	}
}

func (v *validator) join(r *idsync.SyncRule, what string, class *idsync.ObjectClass) {
	for gi, g := range r.Join {
		if len(g) == 0 {
			v.errorf(v.at(r, fmt.Sprintf("join.%d", gi)), "%s: join: group %d is empty", what, gi+1)
		}
		for ci, jc := range g {
			key := fmt.Sprintf("join.%d.%d", gi, ci)
			if jc.Source == "" {
				v.errorf(v.at(r, key), "%s: join: source is required", what)
			}
			if jc.Target == "" {
				v.errorf(v.at(r, key), "%s: join: target is required", what)
			}
			if r.Direction == idsync.Inbound && jc.Target != "" {
				if _, ok := v.mvAttr(class, jc.Target); !ok {
					v.errorf(v.at(r, key+".target"), "%s: join: target %q is not an attribute of metaverse object type %q", what, jc.Target, r.MVType)
				}
			}
			if r.Direction == idsync.Outbound && jc.Source != "" {
				if _, ok := v.mvAttr(class, jc.Source); !ok {
					v.errorf(v.at(r, key+".source"), "%s: join: source %q is not an attribute of metaverse object type %q", what, jc.Source, r.MVType)
				}
			}
		}
	}
}

func (v *validator) flows(r *idsync.SyncRule, what string, class *idsync.ObjectClass, conn *Connector, params []string) {
	progs := make([]*expr.Program, len(r.Flows))
	targets := map[string]Pos{}
	hasDN := false
	for i, f := range r.Flows {
		key := fmt.Sprintf("flows.%d", i)
		fwhat := fmt.Sprintf("%s: flow %q", what, f.Target)
		if f.Target == "" {
			fwhat = what + ": flow"
			v.errorf(v.at(r, key), "%s: target is required", fwhat)
		} else if first, dup := targets[f.Target]; dup {
			v.errorf(v.at(r, key+".target"), "%s: target %q already flows in this rule (at %s)", fwhat, f.Target, first)
		} else {
			targets[f.Target] = v.at(r, key+".target")
		}
		if f.Target == idsync.DNAttr {
			hasDN = true
		}
		var def idsync.AttrDef
		known := false
		if r.Direction == idsync.Inbound && f.Target != "" {
			def, known = v.mvAttr(class, f.Target)
			if !known {
				v.errorf(v.at(r, key+".target"), "%s: target %q is not an attribute of metaverse object type %q", fwhat, f.Target, r.MVType)
			}
			known = known && class != nil
		}
		if f.Merge > idsync.MergeReplace {
			v.errorf(v.at(r, key+".merge"), "%s: unknown merge type %v", fwhat, f.Merge)
		}
		if known && !def.MultiValued && (f.Merge == idsync.MergeMerge || f.Merge == idsync.MergeCaseInsensitive) {
			v.errorf(v.at(r, key+".merge"), "%s: merge %v needs a multi-valued target; %q is single-valued", fwhat, f.Merge, f.Target)
		}
		switch f.Type {
		case idsync.FlowDirect:
			switch {
			case f.Source == "":
				v.errorf(v.at(r, key+".value"), "%s: source is required", fwhat)
			case r.Direction == idsync.Outbound:
				if _, ok := v.mvAttr(class, f.Source); !ok {
					v.errorf(v.at(r, key+".value"), "%s: source %q is not an attribute of metaverse object type %q", fwhat, f.Source, r.MVType)
				}
			}
		case idsync.FlowConstant:
			if known {
				if _, err := idsync.String(f.Constant).Convert(def.Type); err != nil {
					v.errorf(v.at(r, key+".value"), "%s: constant %q does not convert to %v: %v", fwhat, f.Constant, def.Type, err)
				}
			}
		case idsync.FlowExpression:
			if strings.TrimSpace(f.Expression) == "" {
				v.errorf(v.at(r, key+".value"), "%s: expression is required", fwhat)
				break
			}
			prog, err := compile(f.Expression, params, ExprPrecedence(r))
			if err != nil {
				p := v.at(r, key+".value")
				msg := err.Error()
				var ee *expr.Error
				if errors.As(err, &ee) {
					msg = ee.Msg
					if ep, ok := v.c.pos.exprPos(r, i, f.Expression, ee.Line, ee.Col); ok {
						p = ep
					} else if p.Col > 0 && ee.Line == 1 {
						// No character map (a Config built in code): the
						// best guess is the scalar's column plus the offset.
						p.Col += ee.Col - 1
					}
				}
				v.errorf(p, "%s: expression: %s", fwhat, msg)
				break
			}
			progs[i] = prog
		default:
			v.errorf(v.at(r, key), "%s: unknown flow type %v", fwhat, f.Type)
		}
	}
	if r.Direction == idsync.Outbound && r.LinkType == idsync.LinkProvision && conn != nil &&
		conn.Capabilities.DNStyle == connector.DNLDAP && !hasDN {
		v.errorf(v.at(r, "linkType"), "%s: an outbound Provision rule for connector %q (DN style ldap) needs a flow with target dn", what, conn.Name)
	}
	v.programs[r] = progs
}

// compile compiles an expression with the given parameters; it turns a
// panic in the compiler into an error so that one bad expression cannot
// take the loader down.
func compile(src string, params []string, prec expr.Precedence) (p *expr.Program, err error) {
	defer func() {
		if r := recover(); r != nil {
			p, err = nil, fmt.Errorf("the expression compiler failed: %v", r)
		}
	}()
	return expr.Compile(src, &expr.Options{Params: params, Precedence: prec})
}

// ExprPrecedence is the expression operator precedence of rule r
// (SyncRule.OperatorPrecedence).
func ExprPrecedence(r *idsync.SyncRule) expr.Precedence {
	if r.OperatorPrecedence == idsync.PrecedenceConventional {
		return expr.Conventional
	}
	return expr.LeftToRight
}

func (v *validator) cycle() {
	cy := v.c.Cycle
	for _, x := range []struct{ key, name string }{
		{"import", cy.ImportProfile}, {"sync", cy.SyncProfile}, {"export", cy.ExportProfile},
	} {
		p, explicit := v.c.pos.get(v.c, "cycle."+x.key)
		if !explicit || x.name == "" || len(v.c.Connectors) == 0 {
			continue
		}
		found := false
		for _, c := range v.c.Connectors {
			if _, ok := c.Profiles[x.name]; ok {
				found = true
			}
		}
		if !found {
			v.errorf(p, "cycle: %s: no connector has a profile %q", x.key, x.name)
		}
	}
	if cy.Interval < 0 {
		v.errorf(Pos{}, "cycle: interval must be positive")
	}
}
