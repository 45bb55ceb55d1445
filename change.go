package idsync

import "fmt"

// Anchor identifies an object in its connected system. It never changes
// during the object's life. Connectors that build an anchor from several
// attributes join their text forms.
type Anchor string

// Entry is one object as a connector reads it in a full import.
type Entry struct {
	ObjectType string
	Anchor     Anchor
	DN         string
	Attrs      Attrs
	// Source locates the entry in the system for error messages
	// ("hr.csv:17"); optional.
	Source string
	// Err, when set, reports that the connector could not read this
	// object (a malformed row). The engine records an import error on it
	// and stages nothing for it.
	Err error
}

// Op is the kind of change to an object.
type Op uint8

// Object-level operations, for delta import (connector to engine) and
// export (engine to connector).
const (
	OpNone    Op = iota
	OpAdd        // a new object, with all its attributes
	OpUpdate     // attribute modifications, and/or a new DN
	OpReplace    // the whole object, replacing what was there (delta import); Delete-Add on export
	OpDelete     // the object is gone
)

var opNames = [...]string{"none", "add", "update", "replace", "delete"}

func (o Op) String() string {
	if int(o) < len(opNames) {
		return opNames[o]
	}
	return fmt.Sprintf("Op(%d)", o)
}

// ParseOp parses an Op name.
func ParseOp(s string) (Op, error) {
	for i, n := range opNames {
		if n == s {
			return Op(i), nil
		}
	}
	return 0, fmt.Errorf("unknown operation %q", s)
}

// AttrOp is the kind of change to one attribute.
type AttrOp uint8

// Attribute-level operations.
const (
	AttrReplace AttrOp = iota // set the attribute to exactly Values (none = remove it)
	AttrAdd                   // add Values to a multi-valued attribute
	AttrDelete                // remove Values from a multi-valued attribute
	AttrClear                 // remove the attribute
)

var attrOpNames = [...]string{"replace", "add", "delete", "clear"}

func (o AttrOp) String() string {
	if int(o) < len(attrOpNames) {
		return attrOpNames[o]
	}
	return fmt.Sprintf("AttrOp(%d)", o)
}

// ParseAttrOp parses an AttrOp name.
func ParseAttrOp(s string) (AttrOp, error) {
	for i, n := range attrOpNames {
		if n == s {
			return AttrOp(i), nil
		}
	}
	return 0, fmt.Errorf("unknown attribute operation %q", s)
}

// AttrMod is a change to one attribute.
type AttrMod struct {
	Name   string  `json:"name"`
	Op     AttrOp  `json:"op"`
	Values []Value `json:"values,omitempty"`
}

// Change is a change to one object. Connectors emit Changes from a delta
// import; the engine sends Changes to a connector's export.
//
// For OpAdd and OpReplace, Mods hold every attribute with AttrReplace. For
// OpUpdate, Mods hold the modified attributes, and NewDN a rename or move.
// For OpDelete only the identity fields matter.
type Change struct {
	Op         Op
	ObjectType string
	Anchor     Anchor
	DN         string
	NewDN      string
	Mods       []AttrMod
	// ID is the engine's CS object ID on export, so that results can be
	// matched to objects; connectors echo it in ExportResult.
	ID string
	// Source locates the change in the system for error messages; optional.
	Source string
	// Err, when set on an imported change, reports that the connector
	// could not read this object.
	Err error
}

// Apply applies mods to attrs in place and returns it (allocating when attrs is nil).
func (a Attrs) Apply(mods []AttrMod) Attrs {
	if a == nil {
		a = Attrs{}
	}
	for _, m := range mods {
		switch m.Op {
		case AttrReplace:
			if len(m.Values) == 0 {
				delete(a, m.Name)
			} else {
				a[m.Name] = append([]Value(nil), m.Values...)
			}
		case AttrClear:
			delete(a, m.Name)
		case AttrAdd:
			cur := a[m.Name]
			for _, v := range m.Values {
				if !containsValue(cur, v) {
					cur = append(cur, v)
				}
			}
			if len(cur) > 0 {
				a[m.Name] = cur
			}
		case AttrDelete:
			cur := a[m.Name]
			out := cur[:0:0]
			for _, v := range cur {
				if !containsValue(m.Values, v) {
					out = append(out, v)
				}
			}
			if len(out) == 0 {
				delete(a, m.Name)
			} else {
				a[m.Name] = out
			}
		}
	}
	return a
}

func containsValue(vs []Value, v Value) bool {
	for _, x := range vs {
		if x.Equal(v) {
			return true
		}
	}
	return false
}

// ModsFromAttrs returns AttrReplace modifications for every attribute of a,
// in sorted name order.
func ModsFromAttrs(a Attrs) []AttrMod {
	names := SortedNames(a)
	mods := make([]AttrMod, 0, len(names))
	for _, n := range names {
		mods = append(mods, AttrMod{Name: n, Op: AttrReplace, Values: a[n]})
	}
	return mods
}
