package script

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"unicode/utf8"
)

// This file reads the entries of an importData result without
// encoding/json's reflection: it is the connector's hot path (one call
// per object of every import). The array it reads has already been
// validated as JSON by the decoding of the whole result document, so the
// scanner only has to find its way through valid JSON; it still reports
// a member of the wrong JSON type as an error, as encoding/json would.

// attrKV is one member of an entry's attributes object, its value raw.
type attrKV struct {
	name []byte
	raw  rawValue
}

type scanner struct {
	b   []byte
	i   int
	kvs []attrKV // the page's attributes, shared by its entries
	// interned values of members that repeat on every entry (objectType,
	// modificationType): one string each per page.
	interned map[string]string
}

// internStr reads a string value, returning one shared copy of each text.
func (s *scanner) internStr() (string, error) {
	if s.peek() == '"' {
		save := s.i
		body, esc, err := s.stringRaw()
		if err == nil && !esc {
			if v, ok := s.interned[string(body)]; ok {
				return v, nil
			}
		}
		s.i = save
	}
	v, err := s.str()
	if err == nil && len(s.interned) < 64 {
		if s.interned == nil {
			s.interned = map[string]string{}
		}
		s.interned[v] = v
	}
	return v, err
}

func (s *scanner) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// peek returns the next significant byte (0 at the end).
func (s *scanner) peek() byte {
	s.ws()
	if s.i >= len(s.b) {
		return 0
	}
	return s.b[s.i]
}

func (s *scanner) expect(c byte) error {
	if s.peek() != c {
		return fmt.Errorf("at byte %d: want %q", s.i, c)
	}
	s.i++
	return nil
}

// stringRaw returns the raw body of the string at the cursor (without
// quotes) and whether it holds escapes.
func (s *scanner) stringRaw() ([]byte, bool, error) {
	if s.peek() != '"' {
		return nil, false, fmt.Errorf("at byte %d: want a string", s.i)
	}
	start := s.i + 1
	esc := false
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], esc, nil
		}
	}
	return nil, false, errors.New("unterminated string")
}

// str reads a string value (null reads as "").
func (s *scanner) str() (string, error) {
	if s.peek() == 'n' {
		return "", s.skip()
	}
	start := s.i
	body, esc, err := s.stringRaw()
	if err != nil {
		return "", err
	}
	if !esc && utf8.Valid(body) {
		return string(body), nil
	}
	var out string
	if err := json.Unmarshal(s.b[start:s.i], &out); err != nil {
		return "", err
	}
	return out, nil
}

// skip moves past one value and returns nothing.
func (s *scanner) skip() error {
	_, err := s.value()
	return err
}

// value moves past one value and returns its raw bytes.
func (s *scanner) value() ([]byte, error) {
	s.ws()
	start := s.i
	if s.i >= len(s.b) {
		return nil, errors.New("unexpected end")
	}
	switch s.b[s.i] {
	case '"':
		if _, _, err := s.stringRaw(); err != nil {
			return nil, err
		}
	case '{', '[':
		depth := 0
	loop:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case '"':
				if _, _, err := s.stringRaw(); err != nil {
					return nil, err
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				depth--
			}
			s.i++
			if depth == 0 {
				break loop
			}
		}
		if depth != 0 {
			return nil, errors.New("unexpected end")
		}
	default:
		for s.i < len(s.b) {
			switch s.b[s.i] {
			case ',', '}', ']', ' ', '\t', '\n', '\r':
				return s.b[start:s.i], nil
			}
			s.i++
		}
	}
	return s.b[start:s.i], nil
}

// object calls member for each member of the object at the cursor; null
// is an empty object.
func (s *scanner) object(member func(key []byte) error) error {
	switch s.peek() {
	case 'n':
		return s.skip()
	case '{':
	default:
		return fmt.Errorf("at byte %d: want an object", s.i)
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return nil
	}
	for {
		key, esc, err := s.stringRaw()
		if err != nil {
			return err
		}
		if esc || !utf8.Valid(key) {
			var k string
			if err := json.Unmarshal(append(append([]byte{'"'}, key...), '"'), &k); err != nil {
				return err
			}
			key = []byte(k)
		}
		if err := s.expect(':'); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		switch s.peek() {
		case ',':
			s.i++
		case '}':
			s.i++
			return nil
		default:
			return fmt.Errorf("at byte %d: want , or }", s.i)
		}
	}
}

// keyIs matches a member name the way encoding/json does: exactly, else
// case-insensitively.
func keyIs(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}

// scanEntries reads the entries array of an importData result.
func scanEntries(raw []byte) ([]importEntry, error) {
	s := &scanner{b: raw}
	switch s.peek() {
	case 'n', 0:
		return nil, nil
	case '[':
	default:
		return nil, errors.New("entries is not an array")
	}
	s.i++
	// A capacity hint: most entries name their objectType once.
	n := min(bytes.Count(raw, []byte(`"objectType"`)), 100_000)
	out := make([]importEntry, 0, n)
	s.kvs = make([]attrKV, 0, 4*n)
	if s.peek() == ']' {
		return out, nil
	}
	for n := 0; ; n++ {
		var e importEntry
		if err := s.entry(&e); err != nil {
			return nil, fmt.Errorf("entries[%d]: %w", n, err)
		}
		out = append(out, e)
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			return out, nil
		default:
			return nil, fmt.Errorf("entries: at byte %d: want , or ]", s.i)
		}
	}
}

func (s *scanner) entry(e *importEntry) error {
	if s.peek() == 'n' {
		return s.skip() // null: an empty entry, reported as having no objectType
	}
	return s.object(func(key []byte) error {
		var err error
		switch {
		case keyIs(key, "objectType"):
			e.ObjectType, err = s.internStr()
		case keyIs(key, "anchor"):
			var v []byte
			v, err = s.value()
			e.Anchor = v
		case keyIs(key, "dn"):
			e.DN, err = s.str()
		case keyIs(key, "newDn"):
			e.NewDN, err = s.str()
		case keyIs(key, "modificationType"):
			e.ModificationType, err = s.internStr()
		case keyIs(key, "errorName"):
			e.ErrorName, err = s.str()
		case keyIs(key, "errorDetail"):
			e.ErrorDetail, err = s.str()
		case keyIs(key, "attributes"):
			start := len(s.kvs)
			err = s.object(func(name []byte) error {
				v, err := s.value()
				s.kvs = append(s.kvs, attrKV{name: name, raw: v})
				return err
			})
			switch kv := s.kvs[start:len(s.kvs):len(s.kvs)]; {
			case len(kv) == 0:
			case e.Attributes == nil:
				e.Attributes = kv
			default: // "attributes" given twice: both count
				e.Attributes = append(e.Attributes, kv...)
			}
		case keyIs(key, "attributeChanges"):
			var v []byte
			if v, err = s.value(); err == nil {
				err = json.Unmarshal(v, &e.AttributeChanges)
			}
		default:
			err = s.skip()
		}
		if err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		return nil
	})
}

// parseResult reads a result document: one validation pass over the
// whole text (encoding/json's), then the top-level members by the
// scanner, leaving entries raw. Errors are encoding/json's, with offsets.
//
// With validate false (importData, whose pages are validated while the
// next call runs) the validation pass is skipped: the scanner then reads
// what it can and never panics, and the caller validates later.
func parseResult(out []byte, res *result, validate bool) error {
	if validate && !json.Valid(out) {
		var v any
		if err := json.Unmarshal(out, &v); err != nil {
			return err
		}
		return errors.New("invalid JSON")
	}
	s := &scanner{b: out}
	if s.peek() != '{' {
		return &json.UnmarshalTypeError{Value: "non-object", Offset: int64(s.i), Type: reflect.TypeFor[result]()}
	}
	return s.object(func(key []byte) error {
		start := s.i
		raw, err := s.value()
		if err != nil {
			return err
		}
		field := func(v any) error {
			if err := json.Unmarshal(raw, v); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					te.Offset += int64(start)
					te.Field = string(key) + "." + te.Field
				}
				return err
			}
			return nil
		}
		switch {
		case keyIs(key, "entries"):
			res.Entries = json.RawMessage(raw)
		case keyIs(key, "moreToImport"):
			switch string(raw) {
			case "true":
				res.MoreToImport = true
			case "false", "null":
				res.MoreToImport = false
			default:
				return &json.UnmarshalTypeError{Value: string(raw), Field: "moreToImport", Offset: int64(start), Type: reflect.TypeFor[bool]()}
			}
		case keyIs(key, "customData"):
			if string(raw) == "null" {
				res.CustomData = nil
				return nil
			}
			var cd string
			if err := field(&cd); err != nil {
				return err
			}
			res.CustomData = &cd
		case keyIs(key, "error"):
			return field(&res.Error)
		case keyIs(key, "schema"):
			return field(&res.Schema)
		case keyIs(key, "partitions"):
			return field(&res.Partitions)
		case keyIs(key, "hierarchyNodes"):
			return field(&res.HierarchyNodes)
		case keyIs(key, "results"):
			return field(&res.Results)
		}
		return nil
	})
}
