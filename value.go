package idsync

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// AttrType is the syntax of an attribute value.
type AttrType uint8

// The attribute types of §2.2.
const (
	TypeString    AttrType = iota + 1 // UTF-8 text
	TypeInteger                       // 64-bit signed integer
	TypeBoolean                       // true or false
	TypeBinary                        // bytes
	TypeReference                     // a reference to another object: a DN in a connector space, an MV object ID in the metaverse
	TypeDateTime                      // an instant, always UTC
)

var typeNames = [...]string{"", "string", "integer", "boolean", "binary", "reference", "datetime"}

func (t AttrType) String() string {
	if int(t) < len(typeNames) && t != 0 {
		return typeNames[t]
	}
	return fmt.Sprintf("AttrType(%d)", t)
}

// ParseAttrType parses a type name as written in configuration
// ("string", "integer", "boolean", "binary", "reference", "datetime").
func ParseAttrType(s string) (AttrType, error) {
	switch strings.ToLower(s) {
	case "string", "str":
		return TypeString, nil
	case "integer", "int", "number", "num":
		return TypeInteger, nil
	case "boolean", "bool":
		return TypeBoolean, nil
	case "binary", "bin":
		return TypeBinary, nil
	case "reference", "ref":
		return TypeReference, nil
	case "datetime", "date", "dt":
		return TypeDateTime, nil
	}
	return 0, fmt.Errorf("unknown attribute type %q (want string, integer, boolean, binary, reference or datetime)", s)
}

// Value is one typed attribute value. The zero Value is invalid and
// stands for "no value" where a single value is expected.
//
// Str holds String and Reference values; Int holds Integer values,
// Boolean values (0 or 1) and DateTime values (Unix nanoseconds, UTC);
// Bin holds Binary values.
type Value struct {
	Type AttrType
	Str  string
	Int  int64
	Bin  []byte
}

// String returns a string value.
func String(s string) Value { return Value{Type: TypeString, Str: s} }

// Int returns an integer value.
func Int(n int64) Value { return Value{Type: TypeInteger, Int: n} }

// Bool returns a boolean value.
func Bool(b bool) Value {
	if b {
		return Value{Type: TypeBoolean, Int: 1}
	}
	return Value{Type: TypeBoolean}
}

// Binary returns a binary value. The slice is not copied.
func Binary(b []byte) Value { return Value{Type: TypeBinary, Bin: b} }

// Ref returns a reference value naming its target (a DN or an object ID).
func Ref(target string) Value { return Value{Type: TypeReference, Str: target} }

// Time returns a datetime value, converted to UTC.
func Time(t time.Time) Value { return Value{Type: TypeDateTime, Int: t.UTC().UnixNano()} }

// IsZero reports whether v is the zero Value.
func (v Value) IsZero() bool { return v.Type == 0 }

// Boolean returns the value of a boolean.
func (v Value) Boolean() bool { return v.Int != 0 }

// Time returns the instant of a datetime value.
func (v Value) Time() time.Time { return time.Unix(0, v.Int).UTC() }

// String returns the canonical text form of v: integers in decimal,
// booleans as True/False, binary as standard Base64, datetimes as RFC 3339
// in UTC.
func (v Value) String() string {
	switch v.Type {
	case TypeString, TypeReference:
		return v.Str
	case TypeInteger:
		return strconv.FormatInt(v.Int, 10)
	case TypeBoolean:
		if v.Int != 0 {
			return "True"
		}
		return "False"
	case TypeBinary:
		return base64.StdEncoding.EncodeToString(v.Bin)
	case TypeDateTime:
		return v.Time().Format(time.RFC3339Nano)
	}
	return ""
}

// Equal reports whether a and b have the same type and value.
func (v Value) Equal(o Value) bool {
	if v.Type != o.Type {
		return false
	}
	switch v.Type {
	case TypeString, TypeReference:
		return v.Str == o.Str
	case TypeBinary:
		return bytes.Equal(v.Bin, o.Bin)
	default:
		return v.Int == o.Int
	}
}

// EqualFold is Equal with strings and references compared case-insensitively.
func (v Value) EqualFold(o Value) bool {
	if v.Type != o.Type {
		return false
	}
	if v.Type == TypeString || v.Type == TypeReference {
		return strings.EqualFold(v.Str, o.Str)
	}
	return v.Equal(o)
}

// Convert returns v converted to type t, or an error naming both types
// when the text cannot be read as t. Converting to the type v already has
// returns v.
func (v Value) Convert(t AttrType) (Value, error) {
	if v.Type == t {
		return v, nil
	}
	s := v.String()
	switch t {
	case TypeString:
		return String(s), nil
	case TypeReference:
		return Ref(s), nil
	case TypeInteger:
		if v.Type == TypeBoolean || v.Type == TypeDateTime {
			return Int(v.Int), nil
		}
		n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return Value{}, fmt.Errorf("value %q is not an integer", s)
		}
		return Int(n), nil
	case TypeBoolean:
		if v.Type == TypeInteger {
			return Bool(v.Int != 0), nil
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "true", "1", "yes":
			return Bool(true), nil
		case "false", "0", "no":
			return Bool(false), nil
		}
		return Value{}, fmt.Errorf("value %q is not a boolean", s)
	case TypeBinary:
		if v.Type == TypeString {
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return Value{}, fmt.Errorf("value %q is not Base64 binary", s)
			}
			return Binary(b), nil
		}
		return Binary([]byte(s)), nil
	case TypeDateTime:
		if v.Type == TypeInteger {
			return Value{Type: TypeDateTime, Int: v.Int}, nil
		}
		for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02 15:04:05", "2006-01-02"} {
			if tm, err := time.Parse(layout, strings.TrimSpace(s)); err == nil {
				return Time(tm), nil
			}
		}
		return Value{}, fmt.Errorf("value %q is not a date and time", s)
	}
	return Value{}, fmt.Errorf("cannot convert %s to %s", v.Type, t)
}

// Attrs holds an object's attributes: name to values. A present attribute
// has at least one value; an absent attribute is not in the map.
type Attrs map[string][]Value

// Get returns the first value of name, or the zero Value.
func (a Attrs) Get(name string) Value {
	if vs := a[name]; len(vs) > 0 {
		return vs[0]
	}
	return Value{}
}

// Clone returns a copy of a whose value slices can be changed independently.
func (a Attrs) Clone() Attrs {
	if a == nil {
		return nil
	}
	c := make(Attrs, len(a))
	for k, vs := range a {
		c[k] = append([]Value(nil), vs...)
	}
	return c
}

// ValuesEqual reports whether two value lists hold the same values in any
// order (as sets with multiplicity).
func ValuesEqual(a, b []Value) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) == 1 {
		return a[0].Equal(b[0])
	}
	used := make([]bool, len(b))
outer:
	for _, x := range a {
		for j, y := range b {
			if !used[j] && x.Equal(y) {
				used[j] = true
				continue outer
			}
		}
		return false
	}
	return true
}

// Equal reports whether a and b hold the same attributes with the same values.
func (a Attrs) Equal(b Attrs) bool {
	if len(a) != len(b) {
		return false
	}
	for k, vs := range a {
		if !ValuesEqual(vs, b[k]) {
			return false
		}
	}
	return true
}
