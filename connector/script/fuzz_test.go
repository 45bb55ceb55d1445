package script

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/idsync/idsync"
)

// FuzzImportPage feeds arbitrary importData output through the result
// decoding and page conversion: no panic, and an accepted page never holds
// more than the page size.
func FuzzImportPage(f *testing.F) {
	for _, s := range []string{
		`{"entries": [{"objectType": "person", "anchor": "a", "attributes": {"uid": "a", "n": [1, 2], "b": true}}], "moreToImport": true, "customData": "x"}`,
		`{"entries": [{"objectType": "person", "modificationType": "Update", "anchor": 5, "attributeChanges": [{"name": "m", "modificationType": "Update", "valueChanges": [{"modificationType": "Delete", "value": "x"}]}]}]}`,
		`{"entries": [{"objectType": "person", "modificationType": "Delete", "anchor": "z"}, null, {"errorName": "E"}]}`,
		`{"entries": [{"objectType": "group", "attributes": {"id": "g", "member": ["a\"b", "c\\\\d", "\u00e9"]}}]}`,
		`{"entries": "nope"}`, `{"entries": [1, 2, 3]}`, `{}`,
	} {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	d, err := parseSchemaDoc([]byte(`objectTypes:
  - name: person
    anchorAttributes: [uid]
    attributes: [{name: uid}, {name: n, type: integer, multiValued: true}, {name: b, type: boolean}, {name: m, multiValued: true}]
  - name: group
    anchorAttributes: [id]
    attributes: [{name: id}, {name: member, type: reference, multiValued: true}]`))
	if err != nil {
		f.Fatal(err)
	}
	sch := newSchema(d)
	c := &conn{cfg: &Config{PageSize: 3}}
	f.Fuzz(func(t *testing.T, out []byte, delta bool) {
		var res result
		if json.Unmarshal(out, &res) != nil {
			return
		}
		for _, s := range []*schema{sch, nil} {
			p, err := c.convertPage(&res, delta, s, 1)
			if err != nil {
				continue
			}
			if len(p.entries) > 3 || len(p.changes) > 3 {
				t.Fatalf("accepted a page of %d/%d entries, more than 3", len(p.entries), len(p.changes))
			}
			for _, e := range p.entries {
				if e.Err == nil && (e.Anchor == "" || e.ObjectType == "") {
					t.Fatalf("entry without anchor or type accepted: %+v", e)
				}
			}
		}
	})
}

// FuzzSchemaDoc: parsing never panics, and an accepted schema converts.
func FuzzSchemaDoc(f *testing.F) {
	f.Add([]byte(`objectTypes: [{name: p, anchorAttributes: [a], attributes: [{name: a, type: String}]}]`))
	f.Add([]byte(`{"objectTypes": [{"name": "p", "attributes": [{"name": "x", "direction": "ExportOnly"}]}]}`))
	f.Add([]byte(`objectTypes: [{name: p}, {name: p}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		d, err := parseSchemaDoc(b)
		if err != nil {
			return
		}
		if s := newSchema(d).idsync(); len(s.Classes) != len(d.ObjectTypes) {
			t.Fatalf("%d classes from %d object types", len(s.Classes), len(d.ObjectTypes))
		}
	})
}

// FuzzSplitArray: for any valid JSON array, splitArray finds the same
// elements as encoding/json.
func FuzzSplitArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1]`, `[ "a,b" , ["x", {"y": "]"}], "\"", null ]`, `["\\"]`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want []json.RawMessage
		if json.Unmarshal(b, &want) != nil {
			return
		}
		b = bytes.TrimSpace(b)
		if len(b) == 0 || b[0] != '[' {
			return
		}
		got, err := splitArray(b)
		if err != nil {
			t.Fatalf("splitArray(%s): %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("splitArray(%s) = %d elements, want %d", b, len(got), len(want))
		}
		for i := range got {
			if !bytes.Equal(bytes.TrimSpace(got[i]), bytes.TrimSpace(want[i])) {
				t.Fatalf("element %d = %s, want %s", i, got[i], want[i])
			}
		}
	})
}

// Values survive the contract's encoding both ways for every type.
func TestValueRoundTrip(t *testing.T) {
	for _, v := range []idsync.Value{
		idsync.String(`a "quoted" \ string é`), idsync.Int(-42), idsync.Bool(true), idsync.Bool(false),
		idsync.Binary([]byte{0, 1, 0xff}), idsync.Ref("uid=a,dc=x"),
		idsync.Value{Type: idsync.TypeDateTime, Int: 1715000000123456789},
	} {
		got, err := decodeValue(encodeValue(v), v.Type, true)
		if err != nil || !got.Equal(v) {
			t.Errorf("%s %q: round trip gives %v (%v)", v.Type, v.String(), got, err)
		}
	}
}
