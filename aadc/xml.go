package aadc

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"

	"github.com/idsync/idsync"
)

// xnode is a parsed XML element.
type xnode struct {
	name     string
	attrs    map[string]string
	children []*xnode
	text     string
	line     int
}

func (n *xnode) child(name string) *xnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

func (n *xnode) all(name string) []*xnode {
	var out []*xnode
	for _, c := range n.children {
		if c.name == name {
			out = append(out, c)
		}
	}
	return out
}

// val returns the text of child name ("" when absent).
func (n *xnode) val(name string) string {
	if c := n.child(name); c != nil {
		return c.text
	}
	return ""
}

// parseTree reads a whole XML document.
func parseTree(data []byte) (*xnode, error) {
	d := xml.NewDecoder(bytes.NewReader(data))
	d.Strict = true
	var stack []*xnode
	var root *xnode
	line, counted := 1, int64(0) // line numbers, counted incrementally
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if off > counted && off <= int64(len(data)) {
				line += bytes.Count(data[counted:off], []byte("\n"))
				counted = off
			}
			n := &xnode{name: t.Name.Local, attrs: map[string]string{}, line: line}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if len(stack) > 0 {
				p := stack[len(stack)-1]
				p.children = append(p.children, n)
			} else if root == nil {
				root = n
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text += string(t)
			}
		}
	}
	if root == nil {
		return nil, fmt.Errorf("no root element")
	}
	return root, nil
}

// xmlRoot returns the name of the document's root element, "" when it
// cannot be read.
func xmlRoot(s string) string {
	d := xml.NewDecoder(strings.NewReader(s))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if t, ok := tok.(xml.StartElement); ok {
			return t.Name.Local
		}
	}
}

// Elements of <synchronizationRule> that carry nothing idsync needs: the
// rule's version and internal id, and the relative precedence links, which
// the precedence number already expresses.
var xmlIgnored = map[string]bool{"version": true, "internal-id": true, "precedence-after": true, "precedence-before": true}

// parseXML reads a Get-ADSyncServerConfiguration rule file.
func parseXML(file string, data []byte) ([]*rule, []Problem) {
	root, err := parseTree(data)
	if err != nil {
		return nil, []Problem{{File: file, Msg: fmt.Sprintf("malformed XML: %v", err)}}
	}
	var nodes []*xnode
	var probs []Problem
	if root.name == "synchronizationRule" {
		nodes = []*xnode{root}
	} else {
		for _, c := range root.children {
			if c.name == "synchronizationRule" {
				nodes = append(nodes, c)
			} else {
				probs = append(probs, Problem{File: file, Element: fmt.Sprintf("<%s> (line %d)", c.name, c.line), Msg: "unexpected element"})
			}
		}
	}
	var rules []*rule
	for _, n := range nodes {
		rules = append(rules, xmlRule(file, n))
	}
	return rules, probs
}

func xmlRule(file string, n *xnode) *rule {
	r := newRule(file)
	r.Name = strings.TrimSpace(n.val("name"))
	at := func(c *xnode) string { return fmt.Sprintf("<%s> (line %d)", c.name, c.line) }
	// Direction first: the object types and join sides depend on it.
	if d := n.child("direction"); d != nil {
		r.setDirection(at(d), d.text)
	} else {
		r.problem("<synchronizationRule>", "<direction> is missing")
	}
	for _, c := range n.children {
		switch c.name {
		case "name", "direction", "sourceObjectType", "targetObjectType":
		case "id":
			r.Origin.ID = strings.TrimSpace(c.text)
		case "description":
			r.Description = c.text
		case "immutable-tag":
			r.ImmutableTag = strings.TrimSpace(c.text)
		case "disabled":
			b, ok := parseBool(c.text)
			if !ok {
				r.problem(at(c), "not a boolean: %q", c.text)
			}
			r.Disabled = b
		case "connector":
			r.Connector = strings.TrimSpace(c.text)
		case "linkType":
			r.setLinkType(at(c), c.text)
		case "precedence":
			r.setPrecedence(at(c), c.text)
		case "softDeleteExpiryInterval":
			r.softDelete(at(c), c.text)
		case "EnablePasswordSync":
			b, ok := parseBool(c.text)
			if !ok {
				r.problem(at(c), "not a boolean: %q", c.text)
			}
			r.PasswordSync = b
		case "attribute-mappings":
			for i, m := range c.children {
				if m.name != "mapping" {
					r.problem(at(m), "unexpected element in <attribute-mappings>")
					continue
				}
				r.xmlMapping(i+1, m)
			}
		case "relationshipCriteria":
			for _, g := range c.children {
				if g.name != "conditions" {
					r.problem(at(g), "unexpected element in <relationshipCriteria>")
					continue
				}
				var jg idsync.JoinGroup
				for _, jc := range g.children {
					if jc.name != "condition" {
						r.problem(at(jc), "unexpected element in <conditions>")
						continue
					}
					cs, mv, caseSens := "", "", false
					for _, x := range jc.children {
						switch x.name {
						case "csAttribute":
							cs = strings.TrimSpace(x.text)
						case "ilmAttribute":
							mv = strings.TrimSpace(x.text)
						case "caseSensitive":
							b, ok := parseBool(x.text)
							if !ok {
								r.problem(at(x), "not a boolean: %q", x.text)
							}
							caseSens = b
						default:
							r.problem(at(x), "unexpected element in a join <condition>")
						}
					}
					jg = append(jg, r.joinCond(cs, mv, caseSens))
				}
				r.Join = append(r.Join, jg)
			}
		case "synchronizationCriteria":
			for _, g := range c.children {
				if g.name != "conditions" {
					r.problem(at(g), "unexpected element in <synchronizationCriteria>")
					continue
				}
				var sg idsync.ScopeGroup
				for _, sc := range g.children {
					if sc.name != "scope" {
						r.problem(at(sc), "unexpected element in <conditions>")
						continue
					}
					var attr, op, val string
					for _, x := range sc.children {
						switch x.name {
						case "csAttribute":
							attr = strings.TrimSpace(x.text)
						case "csOperator":
							op = x.text
						case "csValue":
							val = x.text
						default:
							r.problem(at(x), "unexpected element in a <scope> condition")
						}
					}
					sg = append(sg, clause(attr, r.scopeOp(at(sc), op), val))
				}
				r.Scope = append(r.Scope, sg)
			}
		default:
			if !xmlIgnored[c.name] {
				r.problem(at(c), "unknown element; its meaning cannot be carried")
			}
		}
	}
	r.setTypes(strings.TrimSpace(n.val("sourceObjectType")), strings.TrimSpace(n.val("targetObjectType")))
	return r
}

// xmlMapping reads one <mapping>: an <expression> makes an Expression flow
// (its <src> attributes are the ones the expression reads); otherwise a
// <src> of <attr> elements is Direct and a <src> holding text is Constant.
func (r *rule) xmlMapping(i int, m *xnode) {
	elem := fmt.Sprintf("<mapping> %d (line %d)", i, m.line)
	f := idsync.Flow{Target: strings.TrimSpace(m.val("dest"))}
	if f.Target != "" {
		elem = fmt.Sprintf("<mapping> %d (dest %s, line %d)", i, f.Target, m.line)
	}
	for k, v := range m.attrs {
		switch k {
		case "execute-once":
			b, ok := parseBool(v)
			if !ok {
				r.problem(elem, "execute-once: not a boolean: %q", v)
			}
			f.ApplyOnce = b
		default:
			r.problem(elem, "unknown attribute %s", k)
		}
	}
	var srcAttrs []string
	var srcText string
	hasExpr := false
	for _, c := range m.children {
		switch c.name {
		case "dest":
		case "src":
			for _, a := range c.children {
				if a.name != "attr" {
					r.problem(elem, "unexpected <%s> in <src>", a.name)
					continue
				}
				srcAttrs = append(srcAttrs, strings.TrimSpace(a.text))
			}
			if len(c.children) == 0 {
				srcText = c.text
			}
		case "expression":
			hasExpr = true
			f.Expression = c.text
		case "valueMergeType":
			f.Merge = r.mergeType(elem, c.text)
		default:
			r.problem(elem, "unexpected <%s> in <mapping>", c.name)
		}
	}
	switch {
	case hasExpr:
		f.Type = idsync.FlowExpression
	case len(srcAttrs) == 1:
		f.Type, f.Source = idsync.FlowDirect, srcAttrs[0]
	case len(srcAttrs) > 1:
		r.problem(elem, "a mapping without an expression has %d source attributes", len(srcAttrs))
	default:
		f.Type, f.Constant = idsync.FlowConstant, srcText
	}
	r.Flows = append(r.Flows, f)
}
