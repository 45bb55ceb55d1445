package sqlshared

import (
	"slices"

	"github.com/idsync/idsync/store"
)

// Matches collects what a lookup by value (FindCS, FindMV) found: object
// IDs keyed by the wanted value, folded unless the lookup is case
// sensitive. The stores query candidate rows (value, id) by folded value
// and file each with Add, which keeps only exact matches.
type Matches struct {
	want          map[string]bool
	caseSensitive bool
	found         map[string][]string
}

// NewMatches starts a lookup of values.
func NewMatches(values []string, caseSensitive bool) *Matches {
	m := &Matches{want: make(map[string]bool, len(values)), caseSensitive: caseSensitive, found: map[string][]string{}}
	for _, v := range values {
		if !caseSensitive {
			v = store.FoldValue(v)
		}
		m.want[v] = true
	}
	return m
}

// Add files a candidate row under its key, once, when its value is wanted.
func (m *Matches) Add(value, id string) {
	if !m.caseSensitive {
		value = store.FoldValue(value)
	}
	if m.want[value] && !slices.Contains(m.found[value], id) {
		m.found[value] = append(m.found[value], id)
	}
}

// Result returns the IDs found per key, sorted.
func (m *Matches) Result() map[string][]string {
	for _, ids := range m.found {
		slices.Sort(ids)
	}
	return m.found
}

// FoldAll returns the folded forms of ss.
func FoldAll(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = store.FoldValue(s)
	}
	return out
}

// DedupeByID keeps the last of objects sharing an ID, in order.
func DedupeByID[T any](objs []T, id func(T) string) []T {
	seen := make(map[string]int, len(objs))
	dup := false
	for i, o := range objs {
		if _, ok := seen[id(o)]; ok {
			dup = true
		}
		seen[id(o)] = i
	}
	if !dup {
		return objs
	}
	out := make([]T, 0, len(seen))
	for i, o := range objs {
		if seen[id(o)] == i {
			out = append(out, o)
		}
	}
	return out
}
