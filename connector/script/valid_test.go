package script

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzValidJSON: validJSON accepts exactly what encoding/json.Valid accepts.
func FuzzValidJSON(f *testing.F) {
	for _, s := range []string{
		``, ` `, `{}`, `[]`, `{ }`, `[ ]`, `null`, `true`, `false`, `nul`, `tru`, `0`, `-0`, `01`, `-`, `1.`, `1.5`, `1e5`, `1E+5`, `1e-`, `.5`, `-1.5e-3`,
		`"a"`, `"\u00e9\n\t\"\\\/\b\f\r"`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"\xff\xfe\"", `"unterminated`,
		`{"a":1}`, `{"a" : [1, 2, {"b": null}], "c": "d"}`, `{"a":1,}`, `[1,]`, `[,1]`, `{,}`, `{"a"}`, `{"a":}`, `{1:2}`, `[1 2]`, `{"a":1 "b":2}`,
		`[1]]`, `[[1]`, `{"a":1}}`, `1 2`, ` [1] `, "\t{\"a\"\r\n:\n1}", `[{"objectType": "person", "attributes": {"mail": ["a@b"]}}]`,
		strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth+1) + strings.Repeat("]", maxDepth+1),
		strings.Repeat("[", maxDepth) + "{}" + strings.Repeat("]", maxDepth),
		strings.Repeat("[", maxDepth-1) + "{}" + strings.Repeat("]", maxDepth-1),
		strings.Repeat(`{"a":`, maxDepth) + "1" + strings.Repeat("}", maxDepth),
		strings.Repeat(`{"a":`, maxDepth+1) + "1" + strings.Repeat("}", maxDepth+1),
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want := json.Valid(b)
		if got := validJSON(b); got != want {
			t.Fatalf("validJSON(%q) = %v, encoding/json %v", b, got, want)
		}
		if got := validJSON(string(b)); got != want {
			t.Fatalf("validJSON(string %q) = %v, encoding/json %v", b, got, want)
		}
	})
}

// Every byte at every position of strings longer than the eight bytes
// validJSON checks at once.
func TestValidJSONStringBytes(t *testing.T) {
	for n := 1; n <= 20; n++ {
		for p := range n {
			for c := range 256 {
				body := []byte(strings.Repeat("a", n))
				body[p] = byte(c)
				for _, doc := range []string{`"` + string(body) + `"`, `["` + string(body) + `", 1]`, `{"` + string(body) + `": "` + string(body) + `\n"}`} {
					if got, want := validJSON(doc), json.Valid([]byte(doc)); got != want {
						t.Fatalf("validJSON(%q) = %v, encoding/json %v", doc, got, want)
					}
				}
			}
		}
	}
}
