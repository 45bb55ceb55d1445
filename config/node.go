package config

import (
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// source is one configuration file being decoded.
type source struct {
	name string // as printed in errors
	data []byte
	errs *errorList
	// secrets are the nodes reported as secrets in clear; the settings
	// decoder leaves them alone.
	secrets map[*yaml.Node]bool
}

func (s *source) pos(n *yaml.Node) Pos {
	if n == nil {
		return Pos{File: s.name}
	}
	return Pos{File: s.name, Line: n.Line, Col: n.Column}
}

func (s *source) errorf(n *yaml.Node, format string, args ...any) {
	s.errs.add(s.pos(n), format, args...)
}

// where returns "file:line" for Source fields.
func (s *source) where(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d", s.name, n.Line)
}

// maxAlias bounds alias chains (a fuzzed file may hold cycles).
const maxAlias = 64

// deref follows aliases and unwraps documents.
func deref(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && i < maxAlias; i++ {
		switch n.Kind {
		case yaml.AliasNode:
			n = n.Alias
		case yaml.DocumentNode:
			if len(n.Content) == 0 {
				return nil
			}
			n = n.Content[0]
		default:
			return n
		}
	}
	return n
}

// isNull reports whether n is absent or an explicit null.
func isNull(n *yaml.Node) bool {
	n = deref(n)
	return n == nil || n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

// describe names the kind of n for "want X, got Y" messages.
func describe(n *yaml.Node) string {
	n = deref(n)
	if n == nil {
		return "nothing"
	}
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		switch n.Tag {
		case "!!null":
			return "null"
		case "!!bool":
			return "a boolean"
		case "!!int", "!!float":
			return "a number"
		case "!!str":
			return "a string"
		}
		return "a scalar (" + n.Tag + ")"
	}
	return "an alias"
}

// mapping is a decoded YAML mapping whose keys were checked.
type mapping struct {
	src  *source
	node *yaml.Node
	what string // "rule", "connector hr", ... for messages
	vals map[string]*yaml.Node
	keys map[string]*yaml.Node
}

// mapping checks that n is a mapping whose keys are all in known (no
// duplicates), reporting problems, and returns it. It returns nil when n is
// not a mapping.
func (s *source) mapping(n *yaml.Node, what string, known ...string) *mapping {
	n = deref(n)
	if n == nil || n.Kind != yaml.MappingNode {
		s.errorf(n, "%s: want a mapping, got %s", what, describe(n))
		return nil
	}
	m := &mapping{src: s, node: n, what: what, vals: map[string]*yaml.Node{}, keys: map[string]*yaml.Node{}}
	var merges []*yaml.Node
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := deref(n.Content[i]), n.Content[i+1]
		if k == nil || k.Kind != yaml.ScalarNode {
			s.errorf(n.Content[i], "%s: a key must be a string, got %s", what, describe(k))
			continue
		}
		if k.Tag == "!!merge" {
			merges = append(merges, v)
			continue
		}
		m.add(k, v, known)
	}
	// Merge keys (<<: *defaults) add the keys not set explicitly.
	for _, v := range merges {
		v = deref(v)
		list := []*yaml.Node{v}
		if v != nil && v.Kind == yaml.SequenceNode {
			list = v.Content
		}
		for _, mv := range list {
			mv = deref(mv)
			if mv == nil || mv.Kind != yaml.MappingNode {
				s.errorf(v, "%s: <<: want a mapping or a list of mappings, got %s", what, describe(mv))
				continue
			}
			for i := 0; i+1 < len(mv.Content); i += 2 {
				k := deref(mv.Content[i])
				if k == nil || k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
					continue
				}
				if _, set := m.keys[k.Value]; !set {
					m.add(k, mv.Content[i+1], known)
				}
			}
		}
	}
	return m
}

// add records key k with value v, reporting unknown and repeated keys.
func (m *mapping) add(k, v *yaml.Node, known []string) {
	s := m.src
	if known != nil && !contains(known, k.Value) {
		hint := ""
		if strings.Contains(k.Value, "=") {
			hint = "; quote DNs in {...} and [...]: commas separate entries there"
		}
		s.errorf(k, "%s: unknown key %q (want one of %s%s)", m.what, k.Value, strings.Join(known, ", "), hint)
		return
	}
	if prev, dup := m.keys[k.Value]; dup {
		s.errorf(k, "%s: key %q appears twice (first at line %d)", m.what, k.Value, prev.Line)
		return
	}
	m.keys[k.Value] = k
	m.vals[k.Value] = v
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// has reports whether key is present with a non-null value.
func (m *mapping) has(key string) bool { return !isNull(m.vals[key]) }

// node returns the value of key (dereferenced), or nil.
func (m *mapping) get(key string) *yaml.Node { return deref(m.vals[key]) }

// posOf returns the position of key's value, or of the mapping.
func (m *mapping) posOf(key string) Pos {
	if n := m.get(key); n != nil {
		return m.src.pos(n)
	}
	return m.src.pos(m.node)
}

// scalar returns the text of a scalar value; ok is false when key is
// missing, null or not a scalar (reported).
func (m *mapping) scalar(key string) (string, *yaml.Node, bool) {
	n := m.get(key)
	if isNull(n) {
		return "", n, false
	}
	if n.Kind != yaml.ScalarNode {
		m.src.errorf(n, "%s: %s: want a string, got %s", m.what, key, describe(n))
		return "", n, false
	}
	return n.Value, n, true
}

// str returns a string value, or "" when absent.
func (m *mapping) str(key string) string {
	s, _, _ := m.scalar(key)
	return s
}

// boolean returns a boolean value, or def when absent.
func (m *mapping) boolean(key string, def bool) bool {
	n := m.get(key)
	if isNull(n) {
		return def
	}
	if n.Kind == yaml.ScalarNode {
		switch strings.ToLower(n.Value) {
		case "true", "yes", "on":
			return true
		case "false", "no", "off":
			return false
		}
	}
	m.src.errorf(n, "%s: %s: want true or false, got %s", m.what, key, describeValue(n))
	return def
}

// integer returns an integer value; present is false when absent or invalid.
func (m *mapping) integer(key string) (v int, present bool) {
	n := m.get(key)
	if isNull(n) {
		return 0, false
	}
	if n.Kind == yaml.ScalarNode && (n.Tag == "!!int" || n.Tag == "!!str") {
		if i, err := strconv.Atoi(strings.ReplaceAll(n.Value, "_", "")); err == nil {
			return i, true
		}
	}
	m.src.errorf(n, "%s: %s: want an integer, got %s", m.what, key, describeValue(n))
	return 0, false
}

// strings returns a list of strings (a single string is a list of one).
func (m *mapping) strings(key string) []string {
	n := m.get(key)
	if isNull(n) {
		return nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{n.Value}
	}
	if n.Kind != yaml.SequenceNode {
		m.src.errorf(n, "%s: %s: want a list of strings, got %s", m.what, key, describe(n))
		return nil
	}
	var out []string
	for _, it := range n.Content {
		it = deref(it)
		if it == nil || it.Kind != yaml.ScalarNode || it.Tag == "!!null" {
			m.src.errorf(it, "%s: %s: want a string, got %s", m.what, key, describe(it))
			continue
		}
		out = append(out, it.Value)
	}
	return out
}

// seq returns the items of a list value (nil when absent). A mapping is
// accepted as a list of one when one is true.
func (m *mapping) seq(key string) []*yaml.Node {
	n := m.get(key)
	if isNull(n) {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		m.src.errorf(n, "%s: %s: want a list, got %s", m.what, key, describe(n))
		return nil
	}
	return n.Content
}

// describeValue is describe plus the scalar's text.
func describeValue(n *yaml.Node) string {
	n = deref(n)
	if n != nil && n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		return fmt.Sprintf("%s %q", describe(n), n.Value)
	}
	return describe(n)
}
