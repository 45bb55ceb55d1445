package script

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"gopkg.in/yaml.v3"

	"github.com/idsync/idsync"
)

// This file is the JSON contract of docs/script-connector.md: the input
// document every script reads on stdin and the result it prints on stdout.

// input is the document written to a script's stdin.
type input struct {
	Operation        string            `json:"operation"`
	Connector        string            `json:"connector"`
	WorkDir          string            `json:"workDir"`
	ConfigDir        string            `json:"configDir"`
	CommonModule     string            `json:"commonModule,omitempty"`
	ConfigParameters map[string]string `json:"configParameters"`
	Credentials      *credentials      `json:"credentials,omitempty"`
	Schema           *schemaDoc        `json:"schema,omitempty"`
	RunStep          *runStep          `json:"runStep,omitempty"`
	HierarchyNode    *hierarchyNode    `json:"hierarchyNode,omitempty"`
	Entries          []exportEntry     `json:"entries,omitempty"`
	Password         *passwordDoc      `json:"password,omitempty"`
}

type credentials struct {
	Username string `json:"username,omitempty"`
	Password string `json:"password,omitempty"`
}

// runStep describes the import or export run step of a call.
type runStep struct {
	// Type is "full" or "delta" for imports, "delta" for exports (the
	// engine exports pending changes only).
	Type       string `json:"type"`
	Partition  string `json:"partition"`
	PageSize   int    `json:"pageSize"`
	CustomData string `json:"customData"`
	PageNumber int    `json:"pageNumber,omitempty"`
	// Reason is set on importEnd and exportEnd: success, error or cancelled.
	Reason string `json:"reason,omitempty"`
}

type hierarchyNode struct {
	DN string `json:"dn"`
}

type passwordDoc struct {
	Operation   string          `json:"operation"` // set or change
	Anchor      string          `json:"anchor"`
	DN          string          `json:"dn"`
	NewPassword string          `json:"newPassword"`
	OldPassword string          `json:"oldPassword,omitempty"`
	Options     passwordOptions `json:"options"`
}

type passwordOptions struct {
	UnlockAccount      bool `json:"unlockAccount"`
	ForceChangeAtLogOn bool `json:"forceChangeAtLogOn"`
	ValidatePassword   bool `json:"validatePassword"`
}

// schemaDoc is the schema in the contract's shape: the schema script's
// result, the static schema setting, and the schema handed to scripts.
type schemaDoc struct {
	ObjectTypes []objectTypeDoc `json:"objectTypes" yaml:"objectTypes"`
}

type objectTypeDoc struct {
	Name             string    `json:"name" yaml:"name"`
	AnchorAttributes []string  `json:"anchorAttributes" yaml:"anchorAttributes"`
	Attributes       []attrDoc `json:"attributes" yaml:"attributes"`
}

type attrDoc struct {
	Name        string `json:"name" yaml:"name"`
	Type        string `json:"type" yaml:"type"`
	MultiValued bool   `json:"multiValued,omitempty" yaml:"multiValued"`
	// Direction is ImportExport (default), ImportOnly or ExportOnly.
	Direction string `json:"direction,omitempty" yaml:"direction"`
}

// parseSchemaDoc reads a schema document (YAML or JSON) and checks it.
func parseSchemaDoc(b []byte) (*schemaDoc, error) {
	var d schemaDoc
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&d); err != nil {
		return nil, fmt.Errorf("schema document: %w", err)
	}
	if err := d.check(); err != nil {
		return nil, err
	}
	return &d, nil
}

func (d *schemaDoc) check() error {
	if d == nil || len(d.ObjectTypes) == 0 {
		return errors.New("schema: no objectTypes")
	}
	seen := map[string]bool{}
	for i, t := range d.ObjectTypes {
		if t.Name == "" {
			return fmt.Errorf("schema: objectTypes[%d] has no name", i)
		}
		if seen[t.Name] {
			return fmt.Errorf("schema: object type %q declared twice", t.Name)
		}
		seen[t.Name] = true
		attrs := map[string]bool{}
		for j, a := range t.Attributes {
			if a.Name == "" {
				return fmt.Errorf("schema: object type %q: attributes[%d] has no name", t.Name, j)
			}
			if attrs[a.Name] {
				return fmt.Errorf("schema: object type %q: attribute %q declared twice", t.Name, a.Name)
			}
			attrs[a.Name] = true
			if _, err := parseType(a.Type); err != nil {
				return fmt.Errorf("schema: object type %q: attribute %q: %w", t.Name, a.Name, err)
			}
			switch a.Direction {
			case "", "ImportExport", "ImportOnly", "ExportOnly":
			default:
				return fmt.Errorf("schema: object type %q: attribute %q: unknown direction %q (want ImportExport, ImportOnly or ExportOnly)", t.Name, a.Name, a.Direction)
			}
		}
		for _, an := range t.AnchorAttributes {
			if !attrs[an] {
				return fmt.Errorf("schema: object type %q: anchor attribute %q is not among its attributes", t.Name, an)
			}
		}
	}
	return nil
}

// parseType accepts the idsync type names and the ECMA2/PSMA ones
// (String, Integer, Boolean, Binary, Reference); default string.
func parseType(s string) (idsync.AttrType, error) {
	if s == "" {
		return idsync.TypeString, nil
	}
	return idsync.ParseAttrType(s)
}

// schema is a schemaDoc indexed for conversions.
type schema struct {
	doc   *schemaDoc
	types map[string]*typeInfo
}

type typeInfo struct {
	anchor []string
	attrs  map[string]idsync.AttrDef
}

func newSchema(d *schemaDoc) *schema {
	s := &schema{doc: d, types: map[string]*typeInfo{}}
	for _, t := range d.ObjectTypes {
		ti := &typeInfo{anchor: t.AnchorAttributes, attrs: map[string]idsync.AttrDef{}}
		for _, a := range t.Attributes {
			typ, _ := parseType(a.Type)
			ti.attrs[a.Name] = idsync.AttrDef{Name: a.Name, Type: typ, MultiValued: a.MultiValued}
		}
		s.types[t.Name] = ti
	}
	return s
}

func (s *schema) idsync() *idsync.Schema {
	out := &idsync.Schema{}
	for _, t := range s.doc.ObjectTypes {
		c := idsync.ObjectClass{Name: t.Name}
		for _, a := range t.Attributes {
			c.Attrs = append(c.Attrs, s.types[t.Name].attrs[a.Name])
		}
		out.Classes = append(out.Classes, c)
	}
	return out
}

// result is the document a script prints on stdout. Every member is
// optional; which ones matter depends on the operation.
type result struct {
	Error          *scriptError   `json:"error"`
	Schema         *schemaDoc     `json:"schema"`
	Partitions     []partitionDoc `json:"partitions"`
	HierarchyNodes []partitionDoc `json:"hierarchyNodes"`
	// Entries stays raw (a slice of the document) until the page is
	// converted, so that reading a result (and starting the next call)
	// does not wait for it.
	Entries      string            `json:"-"`
	MoreToImport bool              `json:"moreToImport"`
	CustomData   *string           `json:"customData"`
	Results      []exportResultDoc `json:"results"`
	// raw is the document when it has not been validated yet (importData).
	raw string
	// entriesHint is about how many entries there are (a capacity hint).
	entriesHint int
	// raw[entriesAt:entriesEnd], when not empty, are the entries, checked
	// valid JSON when they were read.
	entriesAt, entriesEnd int
}

// rawValid reports whether raw (the document when it was not validated
// when read) is valid JSON, as encoding/json.Valid would: the entries
// were checked when they were read, the rest is checked now.
func (r *result) rawValid() bool {
	if r.entriesEnd > r.entriesAt {
		return validJSONExcept(r.raw, r.entriesAt, r.entriesEnd)
	}
	return validJSON(r.raw)
}

type scriptError struct {
	Name   string `json:"name"`
	Detail string `json:"detail"`
}

func (e *scriptError) Error() string {
	switch {
	case e.Detail == "":
		return e.Name
	case e.Name == "":
		return e.Detail
	}
	return e.Name + ": " + e.Detail
}

type partitionDoc struct {
	Name string `json:"name"`
	DN   string `json:"dn"`
}

// importEntry is one CSEntryChange-like entry of an importData result.
type importEntry struct {
	ObjectType       string          `json:"objectType"`
	Anchor           string          `json:"-"` // raw JSON
	DN               string          `json:"dn"`
	NewDN            string          `json:"newDn"`
	ModificationType string          `json:"modificationType"`
	Attributes       []attrKV        `json:"-"` // read by the scanner
	AttributeChanges []attrChangeDoc `json:"attributeChanges"`
	ErrorName        string          `json:"errorName"`
	ErrorDetail      string          `json:"errorDetail"`
}

// attrChangeDoc is an attribute change (ECMA2's AttributeChange): on
// export always with valueChanges; on import either values or valueChanges.
type attrChangeDoc struct {
	Name             string            `json:"name"`
	ModificationType string            `json:"modificationType"`
	Values           []json.RawMessage `json:"values,omitempty"`
	ValueChanges     []valueChangeDoc  `json:"valueChanges,omitempty"`
}

type valueChangeDoc struct {
	ModificationType string          `json:"modificationType"`
	Value            json.RawMessage `json:"value"`
}

// exportEntry is one change handed to exportData.
type exportEntry struct {
	Identifier            string                     `json:"identifier"`
	ObjectType            string                     `json:"objectType"`
	Anchor                string                     `json:"anchor,omitempty"`
	DN                    string                     `json:"dn"`
	NewDN                 string                     `json:"newDn,omitempty"`
	ModificationType      string                     `json:"modificationType"`
	AttributeChanges      []attrChangeDoc            `json:"attributeChanges"`
	Attributes            map[string]json.RawMessage `json:"attributes"`
	ChangedAttributeNames []string                   `json:"changedAttributeNames"`
}

type exportResultDoc struct {
	Identifier  string `json:"identifier"`
	ErrorName   string `json:"errorName"`
	ErrorDetail string `json:"errorDetail"`
	Anchor      string `json:"anchor"`
	DN          string `json:"dn"`
}

// --- values ---

// encodeValue writes v as the contract's JSON scalar: strings and
// references as strings, integers as numbers, booleans as true/false,
// binary as standard Base64, datetimes as RFC 3339 UTC strings.
func encodeValue(v idsync.Value) json.RawMessage {
	switch v.Type {
	case idsync.TypeInteger:
		return json.RawMessage(strconv.FormatInt(v.Int, 10))
	case idsync.TypeBoolean:
		if v.Int != 0 {
			return json.RawMessage("true")
		}
		return json.RawMessage("false")
	}
	b, _ := json.Marshal(v.String())
	return b
}

// decodeValue reads one JSON scalar as a value of type t, or (with typed
// false) by its JSON type: string, integer number, boolean. A string
// without escapes read from a string is a slice of it, with no copy.
func decodeValue[T string | []byte](raw T, t idsync.AttrType, typed bool) (idsync.Value, error) {
	raw = trimSpace(raw)
	if len(raw) == 0 {
		return idsync.Value{}, errors.New("empty value")
	}
	var v idsync.Value
	switch raw[0] {
	case '"':
		var s string
		if len(raw) >= 2 && raw[len(raw)-1] == '"' && plainString(raw[1:len(raw)-1]) && validUTF8(raw) {
			s = toString(raw[1 : len(raw)-1]) // no escapes: the text as is
		} else {
			var err error
			if s, err = unquote([]byte(raw)); err != nil {
				return idsync.Value{}, err
			}
		}
		if !typed {
			return idsync.String(s), nil
		}
		switch t {
		case idsync.TypeString:
			return idsync.String(s), nil
		case idsync.TypeReference:
			return idsync.Ref(s), nil
		case idsync.TypeBinary:
			b, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return idsync.Value{}, fmt.Errorf("value %q is not standard Base64", s)
			}
			return idsync.Binary(b), nil
		case idsync.TypeDateTime:
			tm, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return idsync.String(s).Convert(t)
			}
			return idsync.Time(tm), nil
		}
		return idsync.String(s).Convert(t)
	case 't', 'f':
		switch toString(raw) {
		case "true":
			v = idsync.Bool(true)
		case "false":
			v = idsync.Bool(false)
		default:
			var b bool
			if err := json.Unmarshal([]byte(raw), &b); err != nil {
				return idsync.Value{}, err
			}
			v = idsync.Bool(b)
		}
	case 'n':
		return idsync.Value{}, errors.New("null value")
	case '[', '{':
		return idsync.Value{}, fmt.Errorf("value %s is not a scalar", truncate(string(raw), 40))
	default:
		n, ok := parseInt(raw)
		if !ok {
			f, ferr := strconv.ParseFloat(string(raw), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<53 {
				if typed && (t == idsync.TypeString || t == idsync.TypeReference) {
					return idsync.String(string(raw)).Convert(t)
				}
				return idsync.Value{}, fmt.Errorf("number %s is not an integer", raw)
			}
			n = int64(f)
		}
		v = idsync.Int(n)
	}
	if !typed {
		return v, nil
	}
	return v.Convert(t)
}

// parseInt reads a decimal integer as strconv.ParseInt(s, 10, 64) does,
// without converting s to a string first.
func parseInt[T string | []byte](s T) (int64, bool) {
	neg := false
	i := 0
	if len(s) > 0 && (s[0] == '-' || s[0] == '+') {
		neg = s[0] == '-'
		i = 1
	}
	if i == len(s) || len(s)-i > 18 { // longer ones (and overflow) the slow way
		n, err := strconv.ParseInt(string(s), 10, 64)
		return n, err == nil
	}
	var n int64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int64(c-'0')
	}
	if neg {
		n = -n
	}
	return n, true
}

// plainString reports whether a string's body holds neither escapes nor quotes.
func plainString[T string | []byte](body T) bool {
	for i := 0; i < len(body); i++ {
		if c := body[i]; c == '\\' || c == '"' {
			return false
		}
	}
	return true
}

func trimSpace[T string | []byte](s T) T {
	i, j := 0, len(s)
	for i < j && isSpace(s[i]) {
		i++
	}
	for j > i && isSpace(s[j-1]) {
		j--
	}
	return s[i:j]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// decodeValues reads a value or an array of values; null and [] mean none.
// The values are appended to *arena (a page's shared backing array, to
// save an allocation per attribute) and returned as a slice of it whose
// capacity ends with it; arena may be nil.
//
// plain says raw is known to be a plain string: quoted, without escapes,
// valid UTF-8 (the scanner found it so).
func decodeValues(raw string, plain bool, t idsync.AttrType, typed bool, arena *[]idsync.Value) ([]idsync.Value, error) {
	raw = trimSpace(raw)
	if len(raw) == 0 || raw == "null" {
		return nil, nil
	}
	if arena == nil {
		arena = new([]idsync.Value)
	}
	start := len(*arena)
	if plain && len(raw) >= 2 && raw[0] == '"' && (!typed || t == idsync.TypeString || t == idsync.TypeReference) {
		v := idsync.String(raw[1 : len(raw)-1])
		if typed && t == idsync.TypeReference {
			v = idsync.Ref(v.Str)
		}
		*arena = append(*arena, v)
		return (*arena)[start:len(*arena):len(*arena)], nil
	}
	if raw[0] != '[' {
		v, err := decodeScalar(raw, t, typed)
		if err != nil {
			return nil, err
		}
		*arena = append(*arena, v)
		return (*arena)[start:len(*arena):len(*arena)], nil
	}
	a, err := newArrayReader(raw)
	for err == nil {
		var it string
		var ok bool
		if it, ok, err = a.next(); err != nil || !ok {
			break
		}
		var v idsync.Value
		if v, err = decodeScalar(it, t, typed); err == nil {
			*arena = append(*arena, v)
		}
	}
	if err != nil {
		*arena = (*arena)[:start]
		return nil, err
	}
	if len(*arena) == start {
		return nil, nil
	}
	return (*arena)[start:len(*arena):len(*arena)], nil
}

// decodeScalar is decodeValue for a value read by the scanner (no
// surrounding space) with a fast way for what most values are: a string
// of printable ASCII without escapes, and a small integer.
func decodeScalar(raw string, t idsync.AttrType, typed bool) (idsync.Value, error) {
	if len(raw) >= 2 && raw[0] == '"' && raw[len(raw)-1] == '"' && (!typed || t == idsync.TypeString || t == idsync.TypeReference) {
		body := raw[1 : len(raw)-1]
		plain := true
		for i := 0; i < len(body); i++ {
			if c := body[i]; c == '\\' || c == '"' || c >= utf8.RuneSelf {
				plain = false
				break
			}
		}
		if plain {
			if typed && t == idsync.TypeReference {
				return idsync.Ref(body), nil
			}
			return idsync.String(body), nil
		}
	}
	return decodeValue(raw, t, typed)
}

// arrayReader reads the elements of a JSON array that is already known
// to be valid JSON (it came out of a validated document).
type arrayReader struct {
	s    scanner
	more bool
}

func newArrayReader(raw string) (arrayReader, error) {
	if len(raw) < 2 || raw[0] != '[' || raw[len(raw)-1] != ']' {
		return arrayReader{}, fmt.Errorf("value %s is not an array", truncate(raw, 40))
	}
	a := arrayReader{s: scanner{b: raw, i: 1}}
	a.more = a.s.peek() != ']'
	return a, nil
}

// next returns the next element's text; ok is false after the last.
func (a *arrayReader) next() (elem string, ok bool, err error) {
	if !a.more {
		return "", false, nil
	}
	if elem, err = a.s.value(); err != nil {
		return "", false, err
	}
	switch a.s.peek() {
	case ',':
		a.s.i++
	case ']':
		a.more = false
	default:
		return "", false, errors.New("malformed array")
	}
	return elem, true, nil
}

func encodeValues(vs []idsync.Value, multi bool) json.RawMessage {
	if len(vs) == 0 {
		return json.RawMessage("null")
	}
	if len(vs) == 1 && !multi {
		return encodeValue(vs[0])
	}
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(encodeValue(v))
	}
	b.WriteByte(']')
	return b.Bytes()
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// modType names of the contract (ECMA2's ObjectModificationType and
// AttributeModificationType), matched case-insensitively.
func canonMod(s string) string {
	switch s {
	case "", "Add", "Replace", "Update", "Delete", "None":
		return s
	}
	switch strings.ToLower(s) {
	case "", "add":
		if s == "" {
			return ""
		}
		return "Add"
	case "replace":
		return "Replace"
	case "update":
		return "Update"
	case "delete":
		return "Delete"
	case "none":
		return "None"
	}
	return s
}
