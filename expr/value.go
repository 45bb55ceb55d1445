package expr

import (
	"bytes"
	"encoding/binary"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync"
)

const (
	typeString    = idsync.TypeString
	typeInteger   = idsync.TypeInteger
	typeBoolean   = idsync.TypeBoolean
	typeBinary    = idsync.TypeBinary
	typeReference = idsync.TypeReference
	typeDateTime  = idsync.TypeDateTime
)

// kind says what an intermediate result holds.
type kind uint8

const (
	kNull     kind = iota // no value
	kOne                  // one value, in val.one
	kMany                 // two or more values, in val.many (read-only: it may be an Env's slice)
	kIgnore               // IgnoreThisFlow
	kAuthNull             // AuthoritativeNull
)

// val is an intermediate result: a list of values (a single value is the
// common case and is stored without a slice) or one of the two flags.
type val struct {
	k    kind
	one  idsync.Value
	many []idsync.Value
}

var null = val{}

func one(v idsync.Value) val {
	if v.IsZero() {
		return null
	}
	return val{k: kOne, one: v}
}

func many(vs []idsync.Value) val {
	switch len(vs) {
	case 0:
		return null
	case 1:
		return val{k: kOne, one: vs[0]}
	}
	return val{k: kMany, many: vs}
}

// n returns the number of values.
func (v val) n() int {
	switch v.k {
	case kOne:
		return 1
	case kMany:
		return len(v.many)
	}
	return 0
}

// get returns value i; a single value is returned for every i, which is
// how a single value is paired with each value of a multi-valued one.
func (v val) get(i int) idsync.Value {
	if v.k == kOne {
		return v.one
	}
	return v.many[i]
}

// at is get by pointer.
func (v *val) at(i int) *idsync.Value {
	if v.k == kOne {
		return &v.one
	}
	return &v.many[i]
}

func (v val) isFlag() bool { return v.k == kIgnore || v.k == kAuthNull }

func (v val) flagName() string {
	if v.k == kAuthNull {
		return "AuthoritativeNull"
	}
	return "IgnoreThisFlow"
}

func strVal(s string) idsync.Value { return idsync.Value{Type: typeString, Str: s} }
func intVal(n int64) idsync.Value  { return idsync.Value{Type: typeInteger, Int: n} }
func binVal(b []byte) idsync.Value { return idsync.Value{Type: typeBinary, Bin: b} }
func refVal(s string) idsync.Value { return idsync.Value{Type: typeReference, Str: s} }
func boolVal(b bool) idsync.Value {
	if b {
		return idsync.Value{Type: typeBoolean, Int: 1}
	}
	return idsync.Value{Type: typeBoolean}
}

var (
	minNanoTime = time.Unix(0, -1<<63).UTC()
	maxNanoTime = time.Unix(0, 1<<63-1).UTC()
)

// timeVal returns a datetime value. idsync.Value holds Unix nanoseconds,
// which cover 1677 to 2262; AD dates outside that range (pwdLastSet=0 is
// 1601-01-01, accountExpires "never" is 30828) are kept exactly inside the
// evaluator by also carrying their Unix seconds in Str, and are clamped to
// the nearest representable instant when they leave it.
func timeVal(t time.Time) idsync.Value {
	t = t.UTC()
	if t.Before(minNanoTime) || t.After(maxNanoTime) {
		n := int64(-1 << 63)
		if t.After(maxNanoTime) {
			n = 1<<63 - 1
		}
		return idsync.Value{Type: typeDateTime, Int: n, Str: wideTimePrefix + strconv.FormatInt(t.Unix(), 10) + "." + strconv.Itoa(t.Nanosecond())}
	}
	return idsync.Value{Type: typeDateTime, Int: t.UnixNano()}
}

// wideTimePrefix starts the Str of a datetime outside the Unix-nanosecond
// range: Unix seconds and nanoseconds follow.
const wideTimePrefix = "\x00wide:"

// valTime returns the instant of a datetime value made by timeVal.
func valTime(v idsync.Value) time.Time {
	if rest, ok := strings.CutPrefix(v.Str, wideTimePrefix); ok {
		sec, nsec, _ := strings.Cut(rest, ".")
		s, err1 := strconv.ParseInt(sec, 10, 64)
		ns, err2 := strconv.ParseInt(nsec, 10, 64)
		if err1 == nil && err2 == nil {
			return time.Unix(s, ns).UTC()
		}
	}
	return time.Unix(0, v.Int).UTC()
}

// exported returns v as it leaves the package: datetimes lose the
// out-of-range text that only the evaluator uses.
func exported(v idsync.Value) idsync.Value {
	if v.Type == typeDateTime {
		v.Str = ""
	}
	return v
}

// describeValue renders v for error messages.
func describeValue(v idsync.Value) string {
	switch v.Type {
	case typeString:
		return "string " + strconv.Quote(truncate(v.Str))
	case typeReference:
		return "reference " + strconv.Quote(truncate(v.Str))
	case typeInteger:
		return "number " + strconv.FormatInt(v.Int, 10)
	case typeBoolean:
		return "boolean " + v.String()
	case typeBinary:
		return "binary value of " + strconv.Itoa(len(v.Bin)) + " bytes"
	case typeDateTime:
		return "date " + valTime(v).Format(time.RFC3339)
	}
	return "NULL"
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:37] + "..."
	}
	return s
}

// text converts a value to a string, as CStr and & do. Binary values have
// no text form (use ConvertToBase64 or StringFromGuid).
func text(fn string, v idsync.Value) (string, error) {
	switch v.Type {
	case typeString, typeReference:
		return v.Str, nil
	case typeInteger:
		return strconv.FormatInt(v.Int, 10), nil
	case typeBoolean:
		if v.Int != 0 {
			return "True", nil
		}
		return "False", nil
	case typeDateTime:
		return valTime(v).Format(time.RFC3339Nano), nil
	case typeBinary:
		return "", evalErr(fn, "a binary value can't be used as text (use ConvertToBase64 or StringFromGuid)")
	}
	return "", evalErr(fn, "missing value")
}

// parseNum reads a number written in decimal or as &Hhex, with optional
// surrounding spaces and sign.
func parseNum(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if len(s) > 2 && s[0] == '&' && (s[1] == 'H' || s[1] == 'h') {
		u, err := strconv.ParseUint(s[2:], 16, 64)
		return int64(u), err == nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil
}

// toNum converts a value to a number, as CNum does. Binary values are read
// as unsigned little-endian integers of up to eight bytes (the inverse of
// CBin), which is how the default device rules read lengths out of
// searchableDeviceKey.
func toNum(fn string, v idsync.Value) (int64, error) {
	switch v.Type {
	case typeInteger:
		return v.Int, nil
	case typeBoolean:
		return v.Int, nil
	case typeString, typeReference:
		if n, ok := parseNum(v.Str); ok {
			return n, nil
		}
	case typeBinary:
		if len(v.Bin) <= 8 {
			var b [8]byte
			copy(b[:], v.Bin)
			return int64(binary.LittleEndian.Uint64(b[:])), nil
		}
	}
	return 0, evalErr(fn, "%s is not a number", describeValue(v))
}

// parseBool reads True/False in any case, or a number (non-zero is true).
func parseBool(s string) (bool, bool) {
	s = strings.TrimSpace(s)
	switch {
	case strings.EqualFold(s, "true"):
		return true, true
	case strings.EqualFold(s, "false"):
		return false, true
	}
	if n, ok := parseNum(s); ok {
		return n != 0, true
	}
	return false, false
}

// toBool converts a value to a boolean, as CBool does: numbers are true
// when non-zero.
func toBool(fn string, v idsync.Value) (bool, error) {
	switch v.Type {
	case typeBoolean, typeInteger:
		return v.Int != 0, nil
	case typeString:
		if b, ok := parseBool(v.Str); ok {
			return b, nil
		}
	}
	return false, evalErr(fn, "%s is not a boolean", describeValue(v))
}

// truth is toBool for conditions: NULL is false.
func truth(fn string, v *val) (bool, error) {
	switch v.k {
	case kNull:
		return false, nil
	case kOne:
		return toBool(fn, v.one)
	case kMany:
		return false, evalErr(fn, "the condition has %d values; it needs one", len(v.many))
	}
	return false, evalErr(fn, "%s can't be used as a condition", v.flagName())
}

func toTime(fn string, v idsync.Value) (time.Time, error) {
	switch v.Type {
	case typeDateTime:
		return valTime(v), nil
	case typeString:
		if t, ok := parseDate(v.Str); ok {
			return t, nil
		}
	}
	return time.Time{}, evalErr(fn, "%s is not a date", describeValue(v))
}

// toBin returns the bytes of a binary value; a string is read as Base64.
func toBin(fn string, v idsync.Value) ([]byte, error) {
	switch v.Type {
	case typeBinary:
		return v.Bin, nil
	case typeString:
		if b, err := decodeBase64(v.Str); err == nil {
			return b, nil
		}
	}
	return nil, evalErr(fn, "%s is not binary", describeValue(v))
}

// equal implements =. Values of different types are compared after
// converting the text side to the other side's type; when that fails they
// are not equal. Strings compare case-sensitively (vbBinaryCompare), DNs
// case-insensitively.
func equal(a, b *idsync.Value) bool {
	if a.Type == b.Type {
		switch a.Type {
		case typeString:
			return a.Str == b.Str
		case typeReference:
			return strings.EqualFold(a.Str, b.Str)
		case typeBinary:
			return bytes.Equal(a.Bin, b.Bin)
		case typeDateTime:
			return valTime(*a).Equal(valTime(*b))
		}
		return a.Int == b.Int
	}
	if b.Type == typeString || b.Type == typeReference {
		a, b = b, a
	}
	switch b.Type {
	case typeString, typeReference:
		return strings.EqualFold(a.Str, b.Str) // a string and a reference
	case typeInteger:
		n, ok := parseNum(a.Str)
		if a.Type == typeBoolean {
			return (a.Int != 0) == (b.Int != 0)
		}
		return ok && a.Type != typeBinary && n == b.Int
	case typeBoolean:
		if a.Type == typeInteger {
			return (a.Int != 0) == (b.Int != 0)
		}
		v, ok := parseBool(a.Str)
		return ok && a.Type == typeString && v == (b.Int != 0)
	case typeDateTime:
		t, ok := parseDate(a.Str)
		return ok && a.Type == typeString && t.Equal(valTime(*b))
	case typeBinary:
		if a.Type == typeString {
			bb, err := decodeBase64(a.Str)
			return err == nil && bytes.Equal(bb, b.Bin)
		}
	}
	return false
}

// order implements < <= > >=: numbers, dates and strings (ordinal) compare;
// a string compares with a number or date when it can be read as one.
func order(op string, a, b idsync.Value) (int, error) {
	ta, tb := a.Type, b.Type
	if ta == typeReference {
		ta = typeString
	}
	if tb == typeReference {
		tb = typeString
	}
	switch {
	case ta == typeString && tb == typeString:
		return strings.Compare(a.Str, b.Str), nil
	case ta == typeDateTime || tb == typeDateTime:
		x, err := toTime(op, a)
		if err != nil {
			return 0, err
		}
		y, err := toTime(op, b)
		if err != nil {
			return 0, err
		}
		return x.Compare(y), nil
	case ta == typeBinary || tb == typeBinary:
		if ta == tb {
			return bytes.Compare(a.Bin, b.Bin), nil
		}
		return 0, evalErr(op, "can't compare %s with %s", describeValue(a), describeValue(b))
	}
	x, err := toNum(op, a)
	if err != nil {
		return 0, err
	}
	y, err := toNum(op, b)
	if err != nil {
		return 0, err
	}
	switch {
	case x < y:
		return -1, nil
	case x > y:
		return 1, nil
	}
	return 0, nil
}
