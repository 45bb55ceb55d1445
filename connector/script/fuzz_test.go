package script

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
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
		`{"entries": [{"objectType": "person", "attributes": {"uid": "a", "n": 1}}, {"objectType": "person", "attributes": {"n": 2, "uid": "b"}}, {"objectType": "group", "attributes": {"id": "g", "uid": "x"}}]}`,
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
		if json.Unmarshal(out, &res) != nil || parseResult(string(out), &res, true) != nil {
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
			if delta {
				continue
			}
			// The page's conversion, with what it remembers from entry to
			// entry, reads each entry as converting it alone does.
			ies, err := scanEntries(res.Entries)
			if err != nil || len(ies) != len(p.entries) {
				t.Fatalf("page of %d entries, scanEntries %d (%v)", len(p.entries), len(ies), err)
			}
			for i := range ies {
				ch, err := c.convertEntry(&ies[i], s, nil, nil, nil)
				e := p.entries[i]
				if wantErr := err != nil || ch.Op != idsync.OpAdd && ch.Op != idsync.OpReplace; wantErr != (e.Err != nil) {
					t.Fatalf("entry %d: in the page %v, alone %v", i, e.Err, err)
				}
				if err != nil || e.Err != nil {
					continue
				}
				if got, want := fmt.Sprint(e.Attrs), fmt.Sprint(idsync.Attrs{}.Apply(ch.Mods)); got != want || e.Anchor != ch.Anchor {
					t.Fatalf("entry %d: in the page %s %s, alone %s %s", i, e.Anchor, got, ch.Anchor, want)
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

// FuzzSplitArray: for any valid JSON array, arrayReader finds the same
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
		var got []string
		a, err := newArrayReader(string(b))
		for err == nil {
			e, ok, err2 := a.next()
			if err = err2; !ok {
				break
			}
			got = append(got, e)
		}
		if err != nil {
			t.Fatalf("arrayReader(%s): %v", b, err)
		}
		if len(got) != len(want) {
			t.Fatalf("arrayReader(%s) = %d elements, want %d", b, len(got), len(want))
		}
		for i := range got {
			if strings.TrimSpace(got[i]) != string(bytes.TrimSpace(want[i])) {
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
		got, err := decodeValue([]byte(encodeValue(v)), v.Type, true)
		if err != nil || !got.Equal(v) {
			t.Errorf("%s %q: round trip gives %v (%v)", v.Type, v.String(), got, err)
		}
		got, err = decodeValue(string(encodeValue(v)), v.Type, true)
		if err != nil || !got.Equal(v) {
			t.Errorf("%s %q: round trip gives %v (%v)", v.Type, v.String(), got, err)
		}
	}
}

// refEntry is an import entry as encoding/json reads it: the reference
// scanEntries must agree with.
type refEntry struct {
	ObjectType       string                     `json:"objectType"`
	Anchor           json.RawMessage            `json:"anchor"`
	DN               string                     `json:"dn"`
	NewDN            string                     `json:"newDn"`
	ModificationType string                     `json:"modificationType"`
	Attributes       map[string]json.RawMessage `json:"attributes"`
	AttributeChanges []attrChangeDoc            `json:"attributeChanges"`
	ErrorName        string                     `json:"errorName"`
	ErrorDetail      string                     `json:"errorDetail"`
}

// FuzzScanEntries: on any valid JSON, scanEntries accepts what
// encoding/json accepts and reads the same entries.
func FuzzScanEntries(f *testing.F) {
	for _, s := range []string{
		`[{"objectType": "person", "anchor": "a", "dn": "x\"y", "attributes": {"uid": "a", "n": [1, {"z": "]"}], "b": true}}]`,
		`[{"ObjectType": "p", "MODIFICATIONTYPE": "Update", "attributeChanges": [{"name": "m", "modificationType": "Update", "valueChanges": [{"modificationType": "Delete", "value": "x"}]}]}]`,
		`[null, {}, {"attributes": null, "anchor": 5, "extra": [1,2,{"a":null}]}]`,
		`[{"attributes": {"a": 1, "a": 2}, "attributes": {"b": "\u00e9\n"}}]`,
		`[{"objectType": 5}]`, `[{"attributes": "x"}]`, `[]`, `null`, `[{"dn": null, "errorName": "E", "errorDetail": "d"}]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if !json.Valid(b) {
			return
		}
		trimmed := bytes.TrimSpace(b)
		if len(trimmed) == 0 || (trimmed[0] != '[' && string(trimmed) != "null") {
			return
		}
		var want []refEntry
		wantErr := json.Unmarshal(b, &want)
		got, err := scanEntries(string(b))
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("scanEntries(%s) error %v, encoding/json %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%d entries, want %d", len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if g.ObjectType != w.ObjectType || g.DN != w.DN || g.NewDN != w.NewDN || g.ModificationType != w.ModificationType || g.ErrorName != w.ErrorName || g.ErrorDetail != w.ErrorDetail {
				t.Fatalf("entry %d = %+v, want %+v", i, g, w)
			}
			if strings.TrimSpace(g.Anchor) != string(bytes.TrimSpace(w.Anchor)) {
				t.Fatalf("entry %d anchor %s, want %s", i, g.Anchor, w.Anchor)
			}
			attrs := map[string]string{}
			for _, kv := range g.Attributes {
				attrs[kv.name] = strings.TrimSpace(kv.raw)
				// The scanner's plain hint changes how a value is read, not what it reads as.
				for _, typ := range []idsync.AttrType{idsync.TypeString, idsync.TypeReference, idsync.TypeInteger} {
					for _, typed := range []bool{true, false} {
						hinted, err1 := decodeValues(kv.raw, kv.plain, typ, typed, nil)
						plain, err2 := decodeValues(kv.raw, false, typ, typed, nil)
						if (err1 == nil) != (err2 == nil) || len(hinted) != len(plain) {
							t.Fatalf("attribute %q %s: with the plain hint %v (%v), without %v (%v)", kv.name, kv.raw, hinted, err1, plain, err2)
						}
						for i := range hinted {
							if !hinted[i].Equal(plain[i]) || hinted[i].Type != plain[i].Type {
								t.Fatalf("attribute %q %s: with the plain hint %v, without %v", kv.name, kv.raw, hinted, plain)
							}
						}
					}
				}
			}
			if len(attrs) != len(w.Attributes) {
				t.Fatalf("entry %d attributes %v, want %v", i, attrs, w.Attributes)
			}
			for k, v := range w.Attributes {
				if attrs[k] != string(bytes.TrimSpace(v)) {
					t.Fatalf("entry %d attribute %q = %s, want %s", i, k, attrs[k], v)
				}
			}
			if len(g.AttributeChanges) != len(w.AttributeChanges) {
				t.Fatalf("entry %d attributeChanges %d, want %d", i, len(g.AttributeChanges), len(w.AttributeChanges))
			}
		}
	})
}

// FuzzParseResult: parseResult accepts what encoding/json accepts and
// reads the same members.
func FuzzParseResult(f *testing.F) {
	for _, s := range []string{
		`{"entries": [{"a": 1}], "moreToImport": true, "customData": "x\"y"}`,
		`{"MoreToImport": false, "customData": null, "error": {"name": "E", "detail": "d"}}`,
		`{"results": [{"identifier": "a", "errorName": "success"}], "partitions": [{"name": "p"}]}`,
		`{"moreToImport": "yes"}`, `{"customData": 5}`, `[1]`, `{"schema": {"objectTypes": []}}`, `{"entries": null}`,
		`{"hierarchyNodes": [{"name": "n", "dn": "d"}], "extra": {"x": [1, 2]}}`,
		`{"entries": [1], "ENTRIES": [2 3], "moreToImport": false}`, `{"entries": [1, "\x"], "customData": "a"}`,
		`{"entries": [1], "moreToImport": tru}`, `{"entries": {"a": [}}`, ` {"entries" : [ {} , [] ] } `,
		`{"entries": ` + strings.Repeat("[", maxDepth-1) + strings.Repeat("]", maxDepth-1) + `}`, // the nesting limit counts the document's object
		`{"entries": ` + strings.Repeat("[", maxDepth) + strings.Repeat("]", maxDepth) + `}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var want, got, lenient result
		if parseResult(string(b), &lenient, false) == nil { // must not panic on anything
			lenient.raw = string(b)
			if got, want := lenient.rawValid(), json.Valid(b); got != want {
				t.Fatalf("parseResult(%s) then rawValid = %v, encoding/json %v", b, got, want)
			}
		}
		wantErr := json.Unmarshal(b, &want)
		err := parseResult(string(b), &got, true)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("parseResult(%s) error %v, encoding/json %v", b, err, wantErr)
		}
		if err != nil {
			return
		}
		wb, _ := json.Marshal(want)
		gb, _ := json.Marshal(got)
		if !bytes.Equal(wb, gb) {
			t.Fatalf("parseResult(%s) = %s, want %s", b, gb, wb)
		}
		var wantEntries struct {
			Entries json.RawMessage `json:"entries"`
		}
		if err := json.Unmarshal(b, &wantEntries); err != nil {
			t.Fatalf("encoding/json read %s, then not its entries: %v", b, err)
		}
		if strings.TrimSpace(got.Entries) != string(bytes.TrimSpace(wantEntries.Entries)) {
			t.Fatalf("parseResult(%s) entries %s, want %s", b, got.Entries, wantEntries.Entries)
		}
	})
}
