package expr

import (
	"slices"
	"strings"

	"github.com/idsync/idsync"
)

// single returns the one value of a list argument; NULL gives ok=false.
func single(fn string, v val, what string) (x idsync.Value, ok bool, err error) {
	switch v.k {
	case kNull:
		return idsync.Value{}, false, nil
	case kOne:
		return v.one, true, nil
	}
	return idsync.Value{}, false, evalErr(fn, "%s must have one value, got %d", what, v.n())
}

// Evaluation.

func isNull(v val) bool { return v.k == kNull }

func present(v *val) bool {
	for i := range v.n() {
		if x := v.at(i); x.Type != typeString || x.Str != "" {
			return true
		}
	}
	return false
}

func isPresent(v val) bool     { return present(&v) }
func isNullOrEmpty(v val) bool { return !present(&v) }

// isEmpty is true when the attribute is present and holds only empty text.
func isEmpty(v val) bool { return v.n() > 0 && !present(&v) }

func isDate(_ *frame, a []idsync.Value) (idsync.Value, error) {
	switch a[0].Type {
	case typeDateTime:
		return boolVal(true), nil
	case typeString:
		_, ok := parseDate(a[0].Str)
		return boolVal(ok), nil
	}
	return boolVal(false), nil
}

func isNumeric(_ *frame, a []idsync.Value) (idsync.Value, error) {
	switch a[0].Type {
	case typeInteger, typeBoolean:
		return boolVal(true), nil
	case typeString:
		_, ok := parseNum(a[0].Str)
		return boolVal(ok), nil
	}
	return boolVal(false), nil
}

func isGuid(_ *frame, a []idsync.Value) (idsync.Value, error) {
	switch a[0].Type {
	case typeBinary:
		return boolVal(len(a[0].Bin) == 16), nil
	case typeString:
		_, ok := parseGuid(a[0].Str)
		return boolVal(ok), nil
	}
	return boolVal(false), nil
}

// isString is true when CStr would succeed: for every type but binary.
func isString(_ *frame, a []idsync.Value) (idsync.Value, error) {
	return boolVal(a[0].Type != typeBinary), nil
}

// isBitSet is true when every bit of flag is set in value (IsBitSet(&HF,4)
// is True).
func isBitSet(_ *frame, a []idsync.Value) (idsync.Value, error) {
	v, err := argNum("IsBitSet", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	f, err := argNum("IsBitSet", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	return boolVal(v&f == f), nil
}

// Math.

func bitAnd(_ *frame, a []idsync.Value) (idsync.Value, error) {
	x, err := argNum("BitAnd", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	y, err := argNum("BitAnd", a, 1)
	return intVal(x & y), err
}

func bitOr(_ *frame, a []idsync.Value) (idsync.Value, error) {
	x, err := argNum("BitOr", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	y, err := argNum("BitOr", a, 1)
	return intVal(x | y), err
}

// randomNum returns a number from start to end, both included.
func randomNum(f *frame, a []idsync.Value) (idsync.Value, error) {
	lo, err := argNum("RandomNum", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	hi, err := argNum("RandomNum", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	if hi < lo {
		return errf("RandomNum", "end %d is less than start %d", hi, lo)
	}
	span := uint64(hi-lo) + 1
	if span == 0 { // the whole int64 range
		return intVal(int64(f.rand())), nil
	}
	return intVal(lo + int64(f.rand()%span)), nil
}

// Multi-valued.

// contains returns the 1-based index of the first value that contains
// search (strings) or equals it (references), or 0.
func contains(_ *frame, a []val) (val, error) {
	s, ok, err := single("Contains", a[1], "search")
	if err != nil || !ok {
		return one(intVal(0)), err
	}
	search, err := text("Contains", s)
	if err != nil {
		return null, err
	}
	fold := false
	if len(a) > 2 {
		o, _, err := single("Contains", a[2], "Casetype")
		if err != nil {
			return null, err
		}
		switch opt, _ := text("Contains", o); opt {
		case "CaseInsensitive":
			fold = true
		case "CaseSensitive":
		default:
			return null, evalErr("Contains", "Casetype must be CaseInsensitive or CaseSensitive, got %q", opt)
		}
	}
	if fold {
		search = strings.ToLower(search)
	}
	for i := range a[0].n() {
		v := a[0].get(i)
		t, err := text("Contains", v)
		if err != nil {
			return null, err
		}
		if fold {
			t = strings.ToLower(t)
		}
		if v.Type == typeReference && t == search || v.Type != typeReference && strings.Contains(t, search) {
			return one(intVal(int64(i + 1))), nil
		}
	}
	return one(intVal(0)), nil
}

func count(_ *frame, a []val) (val, error) { return one(intVal(int64(a[0].n()))), nil }

func itemAt(fn string, a []val, orNull bool) (val, error) {
	if a[0].k == kNull {
		return null, nil
	}
	x, ok, err := single(fn, a[1], "index")
	if err != nil || !ok {
		return null, err
	}
	i, err := toNum(fn, x)
	if err != nil {
		return null, err
	}
	if i < 1 || i > int64(a[0].n()) {
		if orNull {
			return null, nil
		}
		return null, evalErr(fn, "index %d is out of range (the attribute has %d values)", i, a[0].n())
	}
	return one(a[0].get(int(i - 1))), nil
}

func item(_ *frame, a []val) (val, error)       { return itemAt("Item", a, false) }
func itemOrNull(_ *frame, a []val) (val, error) { return itemAt("ItemOrNull", a, true) }

// join joins the values with the delimiter, a space when there is none
// and nothing when it is "" or NULL.
func join(_ *frame, a []val) (val, error) {
	if a[0].k == kNull {
		return null, nil
	}
	sep := " "
	if len(a) > 1 {
		d, ok, err := single("Join", a[1], "the delimiter")
		if err != nil {
			return null, err
		}
		sep = ""
		if ok {
			if sep, err = text("Join", d); err != nil {
				return null, err
			}
		}
	}
	var b strings.Builder
	for i := range a[0].n() {
		if i > 0 {
			b.WriteString(sep)
		}
		s, err := text("Join", a[0].get(i))
		if err != nil {
			return null, err
		}
		b.WriteString(s)
	}
	return one(strVal(b.String())), nil
}

// removeDuplicates keeps the first of equal values (compared exactly, so
// SMTP:a and smtp:a both stay).
func removeDuplicates(_ *frame, a []val) (val, error) {
	if a[0].k != kMany {
		return a[0], nil
	}
	out := make([]idsync.Value, 0, len(a[0].many))
	for _, v := range a[0].many {
		if !slices.ContainsFunc(out, v.Equal) {
			out = append(out, v)
		}
	}
	return many(out), nil
}

// split splits each value on the delimiter; with a limit the last value
// holds the rest, as .NET's String.Split(separator, count) does.
func split(_ *frame, a []val) (val, error) {
	d, ok, err := single("Split", a[1], "the delimiter")
	if err != nil || !ok {
		return null, err
	}
	sep, err := text("Split", d)
	if err != nil {
		return null, err
	}
	if sep == "" {
		return null, evalErr("Split", "the delimiter is empty")
	}
	limit := int64(-1)
	if len(a) > 2 {
		l, ok, err := single("Split", a[2], "limit")
		if err != nil {
			return null, err
		}
		if ok {
			if limit, err = toNum("Split", l); err != nil {
				return null, err
			}
			if limit < 1 {
				return null, evalErr("Split", "limit must be 1 or more, got %d", limit)
			}
		}
	}
	var out []idsync.Value
	for i := range a[0].n() {
		s, err := text("Split", a[0].get(i))
		if err != nil {
			return null, err
		}
		for _, p := range strings.SplitN(s, sep, int(min(limit, 1<<30))) {
			out = append(out, strVal(p))
		}
	}
	return many(out), nil
}

// raise is Error("msg").
func raise(_ *frame, a []idsync.Value) (idsync.Value, error) {
	msg := ""
	if !a[0].IsZero() {
		var err error
		if msg, err = text("Error", a[0]); err != nil {
			msg = a[0].String()
		}
	}
	if msg == "" {
		msg = "the expression raised an error"
	}
	return idsync.Value{}, &UserError{Msg: msg}
}
