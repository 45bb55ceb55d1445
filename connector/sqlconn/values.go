package sqlconn

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/idsync/idsync"
)

// fromDB converts a value scanned from the database into an attribute
// value of type t. A NULL gives ok == false.
func fromDB(raw any, t idsync.AttrType) (v idsync.Value, ok bool, err error) {
	if raw == nil {
		return idsync.Value{}, false, nil
	}
	switch t {
	case idsync.TypeString, idsync.TypeReference:
		s, err := text(raw)
		if err != nil {
			return idsync.Value{}, false, err
		}
		if t == idsync.TypeReference {
			return idsync.Ref(s), true, nil
		}
		return idsync.String(s), true, nil
	case idsync.TypeInteger:
		switch x := raw.(type) {
		case int64:
			return idsync.Int(x), true, nil
		case int32:
			return idsync.Int(int64(x)), true, nil
		case bool:
			return idsync.Int(b2i(x)), true, nil
		case float64:
			if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
				return idsync.Value{}, false, fmt.Errorf("value %v is not an integer", x)
			}
			return idsync.Int(int64(x)), true, nil
		}
	case idsync.TypeBoolean:
		switch x := raw.(type) {
		case bool:
			return idsync.Bool(x), true, nil
		case int64:
			return idsync.Bool(x != 0), true, nil
		case []byte:
			if len(x) == 1 && x[0] <= 1 { // MySQL BIT(1)
				return idsync.Bool(x[0] == 1), true, nil
			}
		}
		s, err := text(raw)
		if err != nil {
			return idsync.Value{}, false, err
		}
		switch strings.ToLower(strings.TrimSpace(s)) {
		case "1", "t", "true", "y", "yes":
			return idsync.Bool(true), true, nil
		case "0", "f", "false", "n", "no":
			return idsync.Bool(false), true, nil
		}
		return idsync.Value{}, false, fmt.Errorf("value %q is not a boolean", s)
	case idsync.TypeBinary:
		switch x := raw.(type) {
		case []byte:
			return idsync.Binary(append([]byte(nil), x...)), true, nil
		case string:
			return idsync.Binary([]byte(x)), true, nil
		}
	case idsync.TypeDateTime:
		if x, ok := raw.(time.Time); ok {
			return idsync.Time(x), true, nil
		}
	}
	s, err := text(raw)
	if err != nil {
		return idsync.Value{}, false, err
	}
	v, err = idsync.String(s).Convert(t)
	if err != nil && t == idsync.TypeDateTime {
		for _, layout := range []string{"2006-01-02 15:04:05.999999999-07:00", "2006-01-02 15:04:05.999999999 -0700 MST", "2006-01-02 15:04:05.999999999"} {
			if tm, e := time.Parse(layout, s); e == nil {
				return idsync.Time(tm), true, nil
			}
		}
	}
	if err != nil {
		return idsync.Value{}, false, err
	}
	return v, true, nil
}

func b2i(b bool) int64 {
	if b {
		return 1
	}
	return 0
}

// text renders a scanned value as text.
func text(raw any) (string, error) {
	switch x := raw.(type) {
	case string:
		return x, nil
	case []byte:
		return string(x), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), nil
	case float32:
		return strconv.FormatFloat(float64(x), 'f', -1, 32), nil
	case bool:
		if x {
			return "true", nil
		}
		return "false", nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case fmt.Stringer:
		return x.String(), nil
	}
	return "", fmt.Errorf("unsupported database value of Go type %T", raw)
}

// toDB converts an attribute value into a parameter for a column of
// type store. References bind their target anchor, converted to the
// column's type.
func toDB(v idsync.Value, store idsync.AttrType) (any, error) {
	if v.Type == idsync.TypeReference {
		v = idsync.String(v.Str)
	}
	if store != 0 && v.Type != store {
		var err error
		if v, err = v.Convert(store); err != nil {
			return nil, err
		}
	}
	switch v.Type {
	case idsync.TypeString:
		return v.Str, nil
	case idsync.TypeInteger:
		return v.Int, nil
	case idsync.TypeBoolean:
		return v.Boolean(), nil
	case idsync.TypeBinary:
		if v.Bin == nil {
			return []byte{}, nil
		}
		return v.Bin, nil
	case idsync.TypeDateTime:
		return v.Time(), nil
	}
	return nil, fmt.Errorf("cannot bind a value of type %s", v.Type)
}

// joinAnchor joins the text of anchor columns with "|", escaping "|"
// and "\" inside values with "\".
func joinAnchor(parts []string) idsync.Anchor {
	if len(parts) == 1 {
		return idsync.Anchor(parts[0])
	}
	var b strings.Builder
	for i, p := range parts {
		if i > 0 {
			b.WriteByte('|')
		}
		for j := 0; j < len(p); j++ {
			if p[j] == '|' || p[j] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(p[j])
		}
	}
	return idsync.Anchor(b.String())
}

// splitAnchor undoes joinAnchor for n columns.
func splitAnchor(a idsync.Anchor, n int) ([]string, error) {
	if n == 1 {
		return []string{string(a)}, nil
	}
	var parts []string
	var b strings.Builder
	s := string(a)
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			if i+1 < len(s) {
				i++
				b.WriteByte(s[i])
			}
		case '|':
			parts = append(parts, b.String())
			b.Reset()
		default:
			b.WriteByte(s[i])
		}
	}
	parts = append(parts, b.String())
	if len(parts) != n {
		return nil, fmt.Errorf("anchor %q has %d part(s), want %d", string(a), len(parts), n)
	}
	return parts, nil
}

// anchorArgs converts an anchor into parameters for the anchor columns.
func (ot *otype) anchorArgs(a idsync.Anchor) ([]any, error) {
	parts, err := splitAnchor(a, len(ot.anchor))
	if err != nil {
		return nil, err
	}
	args := make([]any, len(parts))
	for i, p := range parts {
		if args[i], err = toDB(idsync.String(p), ot.cols[ot.anchor[i]].store); err != nil {
			return nil, fmt.Errorf("anchor %q: column %s: %w", string(a), ot.anchorCol[i], err)
		}
	}
	return args, nil
}
