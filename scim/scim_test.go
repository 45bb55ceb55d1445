package scim

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

func res(t *testing.T, s string) Resource {
	t.Helper()
	var r Resource
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		t.Fatal(err)
	}
	return r
}

const alice = `{
 "schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
 "id":"2819c223","externalId":"E-1","userName":"Alice@Example.com","displayName":"Alice Liddell",
 "name":{"givenName":"Alice","familyName":"Liddell"},"active":true,"age":31,
 "emails":[{"value":"alice@example.com","type":"work","primary":true},{"value":"al@home.example","type":"home"}],
 "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"employeeNumber":"701984","manager":{"value":"26118915"}},
 "meta":{"lastModified":"2011-05-13T04:42:34Z"}}`

func TestFilter(t *testing.T) {
	r := res(t, alice)
	for _, tc := range []struct {
		f    string
		want bool
	}{
		{`userName eq "alice@example.com"`, true}, // caseExact false
		{`userName Eq "bob"`, false},
		{`id eq "2819C223"`, false}, // caseExact true
		{`id eq "2819c223"`, true},
		{`externalId eq "E-1"`, true},
		{`userName sw "ali"`, true},
		{`userName ew ".com"`, true},
		{`userName co "@EXAMPLE"`, true},
		{`userName ne "bob"`, true},
		{`title pr`, false},
		{`displayName pr`, true},
		{`name.familyName eq "liddell"`, true},
		{`emails eq "al@home.example"`, true},
		{`emails.value co "home"`, true},
		{`emails[type eq "work" and value co "@example.com"]`, true},
		{`emails[type eq "work" and value co "home"]`, false},
		{`emails[type eq "home"] and userName sw "A"`, true},
		{`userName eq "x" or displayName sw "alice"`, true},
		{`not (userName eq "x")`, true},
		{`not(active eq true)`, false},
		{`active eq true and (age gt 30 and age le 31)`, true},
		{`age lt 30`, false},
		{`meta.lastModified gt "2011-05-13T04:42:34Z"`, false},
		{`meta.lastModified ge "2011-05-13T04:42:34Z"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber eq "701984"`, true},
		{`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "26118915"`, true},
		{`urn:ietf:params:scim:schemas:core:2.0:User:userName sw "alice"`, true},
		{`title eq null`, true},
		{`userName eq "a" or userName eq "b" and active eq true`, false}, // and binds tighter
		{`userName eq "a" or userName eq "Alice@example.com" and active eq true`, true},
	} {
		f, err := ParseFilter(tc.f)
		if err != nil {
			t.Errorf("ParseFilter(%s): %v", tc.f, err)
			continue
		}
		if got := f.Match(r, nil); got != tc.want {
			t.Errorf("%s (parsed %s) = %v, want %v", tc.f, f, got, tc.want)
		}
		// The printed form parses to the same filter.
		g, err := ParseFilter(f.String())
		if err != nil || !reflect.DeepEqual(f, g) {
			t.Errorf("%s: reparse of %s = %v, %v", tc.f, f, g, err)
		}
	}
}

func TestFilterErrors(t *testing.T) {
	for _, f := range []string{``, `userName`, `userName eq`, `userName eq bob`, `userName xx "a"`,
		`(userName eq "a"`, `userName eq "a")`, `emails[type eq "work"`, `userName eq "a" and`, `not userName eq "a"`,
		`userName co 3`, `active gt true`, `1abc eq "a"`, `userName eq "unterminated`, `emails.value[type eq "x"]`} {
		_, err := ParseFilter(f)
		var se *Error
		if !errors.As(err, &se) || se.Status != 400 || se.ScimType != ErrInvalidFilter {
			t.Errorf("ParseFilter(%q) = %v, want a 400 invalidFilter error", f, err)
		}
	}
}

func TestErrorDocument(t *testing.T) {
	b, err := json.Marshal(Errorf(409, ErrUniqueness, "userName taken"))
	if err != nil {
		t.Fatal(err)
	}
	want := `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"409","scimType":"uniqueness","detail":"userName taken"}`
	if string(b) != want {
		t.Errorf("got %s, want %s", b, want)
	}
	for _, doc := range []string{want, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":409,"scimType":"uniqueness","detail":"userName taken"}`} {
		var e Error
		if err := json.Unmarshal([]byte(doc), &e); err != nil || e.Status != 409 || e.ScimType != ErrUniqueness || e.Detail != "userName taken" {
			t.Errorf("Unmarshal(%s) = %+v, %v", doc, e, err)
		}
	}
}

func TestPatch(t *testing.T) {
	for _, tc := range []struct {
		name string
		ops  string
		want func(r Resource) // mutate the original into the expected result
		err  string           // scimType expected
	}{
		{name: "replace simple", ops: `[{"op":"replace","path":"displayName","value":"A. L."}]`,
			want: func(r Resource) { r["displayName"] = "A. L." }},
		{name: "Entra capitalised op, path-less value with a dotted key", ops: `[{"op":"Replace","value":{"active":false,"name.givenName":"Al"}}]`,
			want: func(r Resource) { r["active"] = false; r["name"].(map[string]any)["givenName"] = "Al" }},
		{name: "add sub-attribute", ops: `[{"op":"add","path":"name.middleName","value":"M"}]`,
			want: func(r Resource) { r["name"].(map[string]any)["middleName"] = "M" }},
		{name: "add new attribute", ops: `[{"op":"add","path":"title","value":"Tour Guide"}]`,
			want: func(r Resource) { r["title"] = "Tour Guide" }},
		{name: "add to multi-valued appends, skipping equal values", ops: `[{"op":"add","path":"emails","value":[{"value":"alice@example.com"},{"value":"new@x.example","type":"other"}]}]`,
			want: func(r Resource) {
				r["emails"] = append(r["emails"].([]any), map[string]any{"value": "new@x.example", "type": "other"})
			}},
		{name: "replace with value filter and sub-attribute", ops: `[{"op":"replace","path":"emails[type eq \"work\"].value","value":"a2@example.com"}]`,
			want: func(r Resource) { r["emails"].([]any)[0].(map[string]any)["value"] = "a2@example.com" }},
		{name: "replace with a filter matching nothing creates the value (Entra)", ops: `[{"op":"replace","path":"emails[type eq \"other\"].value","value":"o@x.example"}]`,
			want: func(r Resource) {
				r["emails"] = append(r["emails"].([]any), map[string]any{"type": "other", "value": "o@x.example"})
			}},
		{name: "remove with value filter", ops: `[{"op":"remove","path":"emails[type eq \"home\"]"}]`,
			want: func(r Resource) { r["emails"] = r["emails"].([]any)[:1] }},
		{name: "remove attribute", ops: `[{"op":"remove","path":"displayName"}]`,
			want: func(r Resource) { delete(r, "displayName") }},
		{name: "remove sub-attribute of every value", ops: `[{"op":"remove","path":"emails.type"}]`,
			want: func(r Resource) {
				for _, e := range r["emails"].([]any) {
					delete(e.(map[string]any), "type")
				}
			}},
		{name: "remove values given (Entra members style)", ops: `[{"op":"Remove","path":"emails","value":[{"value":"al@home.example"}]}]`,
			want: func(r Resource) { r["emails"] = r["emails"].([]any)[:1] }},
		{name: "extension attribute by URN path", ops: `[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber","value":"9"}]`,
			want: func(r Resource) {
				r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["employeeNumber"] = "9"
			}},
		{name: "extension object in a path-less value", ops: `[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Tours"}}}]`,
			want: func(r Resource) {
				r["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"].(map[string]any)["department"] = "Tours"
			}},
		{name: "remove without path", ops: `[{"op":"remove"}]`, err: ErrNoTarget},
		{name: "read-only id", ops: `[{"op":"replace","path":"id","value":"x"}]`, err: ErrMutability},
		{name: "bad op", ops: `[{"op":"move","path":"title","value":"x"}]`, err: ErrInvalidSyntax},
		{name: "bad path", ops: `[{"op":"add","path":"emails[type eq","value":"x"}]`, err: ErrInvalidPath},
		{name: "filter on a single-valued attribute", ops: `[{"op":"replace","path":"displayName[value eq \"x\"]","value":"y"}]`, err: ErrInvalidPath},
		{name: "filter matching nothing that describes no value", ops: `[{"op":"replace","path":"emails[value co \"zzz\"].type","value":"y"}]`, err: ErrNoTarget},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ops []PatchOp
			if err := json.Unmarshal([]byte(tc.ops), &ops); err != nil {
				t.Fatal(err)
			}
			got := res(t, alice)
			err := Patch(got, ops)
			if tc.err != "" {
				var se *Error
				if !errors.As(err, &se) || se.ScimType != tc.err || se.Status != 400 {
					t.Fatalf("Patch = %v, want 400 %s", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Patch: %v", err)
			}
			want := res(t, alice)
			tc.want(want)
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.Marshal(got)
				wb, _ := json.Marshal(want)
				t.Errorf("got  %s\nwant %s", gb, wb)
			}
		})
	}
}

func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{`userName eq "a"`, `emails[type eq "work" and value co "@x"]`, `not (a pr) or b gt 3.5e2`,
		`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value eq "x"`, `((a eq true))`, `a eq "\u00e9\""`} {
		f.Add(s)
	}
	r := Resource{"a": "x", "emails": []any{map[string]any{"type": "work", "value": "v@x"}}}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Status != 400 {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		flt.Match(r, nil)
		// What prints parses back to the same filter.
		g, err := ParseFilter(flt.String())
		if err != nil {
			t.Fatalf("reparse of %q (from %q): %v", flt.String(), s, err)
		}
		if !reflect.DeepEqual(flt, g) {
			t.Fatalf("reparse of %q differs: %#v vs %#v", flt.String(), flt, g)
		}
	})
}

func FuzzParsePath(f *testing.F) {
	for _, s := range []string{`members[value eq "x"]`, `emails[type eq "work"].value`, `name.givenName`, `urn:a:b:c`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePath(s)
		if err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Status != 400 {
				t.Fatalf("error %v is not a 400 *Error", err)
			}
			return
		}
		r := Resource{"members": []any{map[string]any{"value": "x"}}, "name": map[string]any{"givenName": "g"}}
		_ = Patch(r, []PatchOp{{Op: "add", Path: p.String(), Value: "v"}})
		_ = Patch(r, []PatchOp{{Op: "remove", Path: p.String()}})
	})
}

// FuzzPatch applies arbitrary PATCH bodies: Patch never panics, and
// either succeeds or returns a 400 *Error.
func FuzzPatch(f *testing.F) {
	for _, s := range []string{
		`[{"op":"add","path":"emails","value":[{"value":"x"}]}]`,
		`[{"op":"Replace","value":{"name.givenName":"g","active":false}}]`,
		`[{"op":"remove","path":"emails[type eq \"work\"].value"}]`,
		`[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value","value":"m"}]`,
		`[{"op":"add","value":{"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d"}}}]`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		var ops []PatchOp
		if json.Unmarshal([]byte(body), &ops) != nil {
			return
		}
		var r Resource
		json.Unmarshal([]byte(alice), &r)
		if err := Patch(r, ops); err != nil {
			var se *Error
			if !errors.As(err, &se) || se.Status != 400 {
				t.Fatalf("Patch error %v is not a 400 *Error", err)
			}
		}
		if _, err := json.Marshal(r); err != nil {
			t.Fatalf("patched resource does not encode: %v", err)
		}
	})
}
