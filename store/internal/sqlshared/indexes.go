// Package sqlshared holds the parts of the SQL stores (store/sqlstore and
// store/pgstore) that do not depend on the SQL dialect or driver: the
// value-index declaration and the derivation of index rows from an
// object's attributes. SQL text, query execution and error prefixes stay
// in each store.
package sqlshared

import (
	"encoding/json"
	"fmt"
	"slices"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

// IndexSet is a normalized index declaration: sorted, without duplicates
// or empty lists. Raw is its JSON form as stored in the meta table.
type IndexSet struct {
	MV  []string            `json:"mv,omitempty"`
	CS  map[string][]string `json:"cs,omitempty"`
	Raw string              `json:"-"`
}

// NormalizeIndexes returns the normalized form of ix, with Raw set.
func NormalizeIndexes(ix store.Indexes) *IndexSet {
	norm := func(names []string) []string {
		out := slices.Clone(names)
		out = slices.DeleteFunc(out, func(s string) bool { return s == "" })
		slices.Sort(out)
		return slices.Compact(out)
	}
	s := &IndexSet{MV: norm(ix.MV)}
	for c, names := range ix.CS {
		if n := norm(names); len(n) > 0 {
			if s.CS == nil {
				s.CS = map[string][]string{}
			}
			s.CS[c] = n
		}
	}
	if len(s.MV) == 0 {
		s.MV = nil
	}
	b, _ := json.Marshal(s) // maps marshal in key order
	s.Raw = string(b)
	return s
}

// ParseIndexes decodes a stored index declaration.
func ParseIndexes(raw string) (*IndexSet, error) {
	s := &IndexSet{Raw: raw}
	if err := json.Unmarshal([]byte(raw), s); err != nil {
		return nil, fmt.Errorf("decode index declaration: %w", err)
	}
	return s, nil
}

// HasMV reports whether the metaverse attribute attr is indexed.
func (s *IndexSet) HasMV(attr string) bool { return slices.Contains(s.MV, attr) }

// HasCS reports whether attr is indexed in the connector space of connector.
func (s *IndexSet) HasCS(connector, attr string) bool {
	return slices.Contains(s.CS[connector], attr)
}

// ErrCSNotIndexed is the error of a lookup by a connector-space attribute
// the index declaration does not hold (it wraps store.ErrNotIndexed).
func ErrCSNotIndexed(connector, attr string) error {
	return fmt.Errorf("attribute %s of connector %s is not declared in SetIndexes: %w", attr, connector, store.ErrNotIndexed)
}

// EachIndexValue calls fn with the distinct text forms of the values of
// each attribute in attrs, and their folded form.
func EachIndexValue(a idsync.Attrs, attrs []string, fn func(attr, fold, value string)) {
	for _, attr := range attrs {
		vs := a[attr]
		for i, v := range vs {
			s := v.String()
			dup := false
			for _, w := range vs[:i] {
				if w.String() == s {
					dup = true
					break
				}
			}
			if !dup {
				fn(attr, store.FoldValue(s), s)
			}
		}
	}
}

// Declaration returns a copy of s as a store.Indexes, sharing no slices
// or maps with s (which is cached and shared between transactions).
func (s *IndexSet) Declaration() store.Indexes {
	out := store.Indexes{MV: slices.Clone(s.MV)}
	if len(s.CS) > 0 {
		out.CS = map[string][]string{}
		for c, attrs := range s.CS {
			out.CS[c] = slices.Clone(attrs)
		}
	}
	return out
}
