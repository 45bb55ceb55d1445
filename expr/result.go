package expr

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"strconv"
	"time"

	"github.com/idsync/idsync"
)

// MarshalJSON renders a result as the CLI and the tests show it: null for
// NULL, one JSON value for one value, an array for several; strings and
// references as strings, integers as numbers, booleans as booleans, dates
// as RFC 3339 UTC strings, binary as "base64:…", and the flags as the
// strings "IgnoreThisFlow" and "AuthoritativeNull".
func (r Result) MarshalJSON() ([]byte, error) { return r.AppendJSON(nil), nil }

// AppendJSON appends the JSON form of r (see MarshalJSON) to b. Unlike
// json.Marshal, it does not escape <, > and &, which DNs contain.
func (r Result) AppendJSON(b []byte) []byte {
	switch {
	case r.Flag != NoFlag:
		return appendJSONString(b, r.Flag.String())
	case len(r.Values) == 0:
		return append(b, "null"...)
	case len(r.Values) == 1:
		return appendJSONValue(b, r.Values[0])
	}
	b = append(b, '[')
	for i, v := range r.Values {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONValue(b, v)
	}
	return append(b, ']')
}

func appendJSONValue(b []byte, v idsync.Value) []byte {
	switch v.Type {
	case typeInteger:
		return strconv.AppendInt(b, v.Int, 10)
	case typeBoolean:
		return strconv.AppendBool(b, v.Int != 0)
	}
	return appendJSONString(b, FormatValue(v))
}

func appendJSONString(b []byte, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...)
}

// FormatValue renders one value as text: strings and references as they
// are, integers in decimal, booleans as True/False, dates in RFC 3339 UTC
// and binary as "base64:" followed by standard Base64.
func FormatValue(v idsync.Value) string {
	switch v.Type {
	case typeBinary:
		return "base64:" + base64.StdEncoding.EncodeToString(v.Bin)
	case typeDateTime:
		return valTime(v).Format(time.RFC3339Nano)
	}
	return v.String()
}

// Lines renders a result as text, one value per line: nothing for NULL,
// the flag's name for a flag.
func (r Result) Lines() []string {
	if r.Flag != NoFlag {
		return []string{r.Flag.String()}
	}
	out := make([]string, len(r.Values))
	for i, v := range r.Values {
		out[i] = FormatValue(v)
	}
	return out
}
