package aadc

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
)

// looksLikeDSC tells whether data is YAML holding AADConnectDsc rules: a
// mapping with Items, or a list, whose entries have ConnectorName or
// Direction.
func looksLikeDSC(data []byte) bool {
	var doc yaml.Node
	if yaml.Unmarshal(data, &doc) != nil || len(doc.Content) == 0 {
		return false
	}
	items := dscItems(doc.Content[0])
	if len(items) == 0 {
		return false
	}
	m := items[0]
	if m.Kind != yaml.MappingNode {
		return false
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		switch m.Content[i].Value {
		case "ConnectorName", "Direction", "SourceObjectType":
			return true
		}
	}
	return false
}

func dscItems(n *yaml.Node) []*yaml.Node {
	switch n.Kind {
	case yaml.SequenceNode:
		return n.Content
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == "Items" && n.Content[i+1].Kind == yaml.SequenceNode {
				return n.Content[i+1].Content
			}
		}
	}
	return nil
}

// dscMap is a YAML mapping read key by key; unknown keys are problems.
type dscMap struct {
	n    *yaml.Node
	vals map[string]*yaml.Node
}

func newDSCMap(n *yaml.Node) *dscMap {
	m := &dscMap{n: n, vals: map[string]*yaml.Node{}}
	if n.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(n.Content); i += 2 {
			m.vals[n.Content[i].Value] = n.Content[i+1]
		}
	}
	return m
}

func (m *dscMap) str(k string) string {
	if v := m.vals[k]; v != nil && v.Kind == yaml.ScalarNode && v.Tag != "!!null" {
		return v.Value
	}
	return ""
}

func (m *dscMap) list(k string) []*yaml.Node {
	if v := m.vals[k]; v != nil && v.Kind == yaml.SequenceNode {
		return v.Content
	}
	return nil
}

var (
	dscRuleKeys = []string{"Name", "Identifier", "Description", "ConnectorName", "Connector", "Direction", "Disabled",
		"SourceObjectType", "TargetObjectType", "Precedence", "LinkType", "EnablePasswordSync", "ImmutableTag",
		"JoinFilter", "ScopeFilter", "AttributeFlowMappings", "Ensure", "Version", "SoftDeleteExpiryInterval",
		"PrecedenceAfter", "PrecedenceBefore", "IsStandardRule", "IsLegacyCustomRule"}
	dscFlowKeys  = []string{"Source", "Destination", "FlowType", "ExecuteOnce", "Expression", "ValueMergeType", "MappingSourceAsString"}
	dscScopeKeys = []string{"Attribute", "ComparisonValue", "ComparisonOperator"}
	dscJoinKeys  = []string{"CSAttribute", "MVAttribute", "CaseSensitive"}
)

func (m *dscMap) unknown(r *rule, elem string, known []string) {
	for i := 0; i+1 < len(m.n.Content); i += 2 {
		k := m.n.Content[i].Value
		found := false
		for _, x := range known {
			if x == k {
				found = true
			}
		}
		if !found {
			r.problem(fmt.Sprintf("%s.%s (line %d)", elem, k, m.n.Content[i].Line), "unknown key; its meaning cannot be carried")
		}
	}
}

// parseDSC reads the AADConnectDsc YAML model (Items: a list of rules).
func parseDSC(file string, data []byte) (rules []*rule, probs []Problem) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, []Problem{{File: file, Msg: fmt.Sprintf("malformed YAML: %v", err)}}
	}
	if len(doc.Content) == 0 {
		return nil, []Problem{{File: file, Msg: "empty YAML document"}}
	}
	for i, item := range dscItems(doc.Content[0]) {
		elem := fmt.Sprintf("Items[%d]", i)
		if item.Kind != yaml.MappingNode {
			probs = append(probs, Problem{File: file, Element: fmt.Sprintf("%s (line %d)", elem, item.Line), Msg: "a rule must be a mapping"})
			continue
		}
		rules = append(rules, dscRule(file, elem, item))
	}
	return rules, probs
}

func dscRule(file, elem string, n *yaml.Node) *rule {
	m := newDSCMap(n)
	r := newRule(file)
	r.Name = strings.TrimSpace(m.str("Name"))
	at := func(k string) string {
		line := n.Line
		if v := m.vals[k]; v != nil {
			line = v.Line
		}
		return fmt.Sprintf("%s.%s (line %d)", elem, k, line)
	}
	m.unknown(r, elem, dscRuleKeys)
	r.Origin.ID = m.str("Identifier")
	r.Description = m.str("Description")
	r.ImmutableTag = m.str("ImmutableTag")
	r.Connector = m.str("ConnectorName")
	if r.Connector == "" {
		r.Connector = m.str("Connector")
	}
	if r.Connector == "" {
		r.problem(at("ConnectorName"), "the rule names no connector")
	}
	r.setDirection(at("Direction"), m.str("Direction"))
	if e := m.str("Ensure"); e != "" && !strings.EqualFold(e, "Present") {
		r.problem(at("Ensure"), "Ensure: %s asks for the rule to be removed, which an import cannot carry", e)
	}
	var ok bool
	if r.Disabled, ok = parseBool(m.str("Disabled")); !ok {
		r.problem(at("Disabled"), "not a boolean: %q", m.str("Disabled"))
	}
	if r.PasswordSync, ok = parseBool(m.str("EnablePasswordSync")); !ok {
		r.problem(at("EnablePasswordSync"), "not a boolean: %q", m.str("EnablePasswordSync"))
	}
	r.setPrecedence(at("Precedence"), m.str("Precedence"))
	r.setLinkType(at("LinkType"), m.str("LinkType"))
	r.softDelete(at("SoftDeleteExpiryInterval"), m.str("SoftDeleteExpiryInterval"))
	r.setTypes(m.str("SourceObjectType"), m.str("TargetObjectType"))
	for gi, g := range m.list("JoinFilter") {
		gm := newDSCMap(g)
		var jg idsync.JoinGroup
		for ci, c := range gm.list("JoinConditionList") {
			cm := newDSCMap(c)
			celem := fmt.Sprintf("%s.JoinFilter[%d].JoinConditionList[%d]", elem, gi, ci)
			cm.unknown(r, celem, dscJoinKeys)
			cs, ok := parseBool(cm.str("CaseSensitive"))
			if !ok {
				r.problem(fmt.Sprintf("%s (line %d)", celem, c.Line), "CaseSensitive: not a boolean: %q", cm.str("CaseSensitive"))
			}
			jg = append(jg, r.joinCond(cm.str("CSAttribute"), cm.str("MVAttribute"), cs))
		}
		r.Join = append(r.Join, jg)
	}
	for gi, g := range m.list("ScopeFilter") {
		gm := newDSCMap(g)
		var sg idsync.ScopeGroup
		for ci, c := range gm.list("ScopeConditionList") {
			cm := newDSCMap(c)
			celem := fmt.Sprintf("%s.ScopeFilter[%d].ScopeConditionList[%d]", elem, gi, ci)
			cm.unknown(r, celem, dscScopeKeys)
			op := r.scopeOp(fmt.Sprintf("%s (line %d)", celem, c.Line), cm.str("ComparisonOperator"))
			sg = append(sg, clause(cm.str("Attribute"), op, cm.str("ComparisonValue")))
		}
		r.Scope = append(r.Scope, sg)
	}
	for fi, fn := range m.list("AttributeFlowMappings") {
		fm := newDSCMap(fn)
		felem := fmt.Sprintf("%s.AttributeFlowMappings[%d] (line %d)", elem, fi, fn.Line)
		fm.unknown(r, felem, dscFlowKeys)
		f := idsync.Flow{Target: fm.str("Destination")}
		var src []string
		if v := fm.vals["Source"]; v != nil {
			switch v.Kind {
			case yaml.ScalarNode:
				if v.Value != "" && v.Tag != "!!null" {
					src = []string{v.Value}
				}
			case yaml.SequenceNode:
				for _, s := range v.Content {
					src = append(src, s.Value)
				}
			}
		}
		f.Type = r.flowType(felem, fm.str("FlowType"))
		f.Merge = r.mergeType(felem, fm.str("ValueMergeType"))
		if f.ApplyOnce, ok = parseBool(fm.str("ExecuteOnce")); !ok {
			r.problem(felem, "ExecuteOnce: not a boolean: %q", fm.str("ExecuteOnce"))
		}
		switch f.Type {
		case idsync.FlowDirect:
			if len(src) != 1 {
				r.problem(felem, "a Direct mapping needs exactly one source, got %d", len(src))
			} else {
				f.Source = src[0]
			}
		case idsync.FlowConstant:
			if len(src) > 1 {
				r.problem(felem, "a Constant mapping has %d values", len(src))
			} else if len(src) == 1 {
				f.Constant = src[0]
			}
		case idsync.FlowExpression:
			f.Expression = fm.str("Expression")
		}
		r.Flows = append(r.Flows, f)
	}
	return r
}
