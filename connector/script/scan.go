package script

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file reads the entries of an importData result without
// encoding/json's reflection: it is the connector's hot path (one call
// per object of every import). The array it reads has already been
// validated as JSON (validJSON over the whole result document), so the
// scanner only has to find its way through valid JSON; it still reports
// a member of the wrong JSON type as an error, as encoding/json would.

// attrKV is one member of an entry's attributes object, its value raw:
// both are slices of the page's text.
type attrKV struct {
	name  string
	raw   string
	plain bool // raw is a plain string (see stringRaw)
}

// scanner reads a result document. It is a string: every string the
// scanner reads without escapes is then a slice of it, with no copy.
type scanner struct {
	b   string
	i   int
	kvs []attrKV // the current entry's attributes, reused by the next
	// commas counts the commas directly inside the last object or array
	// value read: its members or elements, less one.
	commas int
	// plain says the last value read is a plain string (see stringRaw).
	plain bool
}

func (s *scanner) ws() {
	if s.i < len(s.b) && s.b[s.i] > ' ' { // no space, the most common case
		return
	}
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
// quotes) and whether it is plain: no escapes, valid UTF-8, so the body is
// the string's value.
func (s *scanner) stringRaw() (body string, plain bool, err error) {
	if s.peek() != '"' {
		return "", false, fmt.Errorf("at byte %d: want a string", s.i)
	}
	start := s.i + 1
	var or byte // of the bytes: the high bit says some are not ASCII
	esc := false
	for j := start; j < len(s.b); j++ {
		switch c := s.b[j]; c {
		case '\\':
			esc = true
			j++
		case '"':
			s.i = j + 1
			body = s.b[start:j]
			if esc {
				return body, false, nil
			}
			return body, or < utf8.RuneSelf || utf8.ValidString(body), nil
		default:
			or |= c
		}
	}
	return "", false, errors.New("unterminated string")
}

// str reads a string value (null reads as "").
func (s *scanner) str() (string, error) {
	if s.peek() == 'n' {
		return "", s.skip()
	}
	start := s.i
	body, plain, err := s.stringRaw()
	if err != nil {
		return "", err
	}
	if plain {
		return body, nil // a slice of the document
	}
	return unquote([]byte(s.b[start:s.i]))
}

// unquote decodes a JSON string with escapes.
func unquote(raw []byte) (string, error) {
	var out string
	if err := json.Unmarshal(raw, &out); err != nil {
		return "", err
	}
	return out, nil
}

// toString converts text to a string: a string as it is (where a plain
// conversion in generic code copies it), bytes by copying.
func toString[T string | []byte](b T) string {
	switch b := any(b).(type) {
	case string:
		return b
	case []byte:
		return string(b)
	}
	panic("unreachable")
}

func validUTF8[T string | []byte](b T) bool {
	switch b := any(b).(type) {
	case string:
		return utf8.ValidString(b)
	case []byte:
		return utf8.Valid(b)
	}
	return false
}

// skip moves past one value and returns nothing.
func (s *scanner) skip() error {
	_, err := s.value()
	return err
}

// value moves past one value and returns its raw text.
func (s *scanner) value() (string, error) {
	s.ws()
	start := s.i
	if s.i >= len(s.b) {
		return "", errors.New("unexpected end")
	}
	s.plain = false
	switch s.b[s.i] {
	case '"':
		var err error
		if _, s.plain, err = s.stringRaw(); err != nil {
			return "", err
		}
	case '{', '[':
		// One tight loop to the matching bracket, strings skipped inline.
		b, i := s.b, s.i
		depth, commas := 0, 0
		for i < len(b) {
			switch b[i] {
			case '"':
				for i++; i < len(b); {
					c := b[i]
					i++
					if c == '\\' {
						i++
					} else if c == '"' {
						break
					}
				}
				continue
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					s.i, s.commas = i+1, commas
					return b[start : i+1], nil
				}
			case ',':
				if depth == 1 {
					commas++
				}
			}
			i++
		}
		return "", errors.New("unexpected end")
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

// open enters the object at the cursor; more is false for null and {}.
func (s *scanner) open() (more bool, err error) {
	switch s.peek() {
	case 'n':
		return false, s.skip()
	case '{':
	default:
		return false, fmt.Errorf("at byte %d: want an object", s.i)
	}
	s.i++
	if s.peek() == '}' {
		s.i++
		return false, nil
	}
	return true, nil
}

// key reads a member's name and its colon. Names with escapes, or that
// are not UTF-8, read as encoding/json reads them.
func (s *scanner) key() (string, error) {
	key, plain, err := s.stringRaw()
	if err != nil {
		return "", err
	}
	k := key
	if !plain {
		q := make([]byte, 0, len(key)+2)
		if k, err = unquote(append(append(append(q, '"'), key...), '"')); err != nil {
			return "", err
		}
	}
	if err := s.expect(':'); err != nil {
		return "", err
	}
	return k, nil
}

// next moves past the comma after a member; more is false at the
// object's end.
func (s *scanner) next() (more bool, err error) {
	switch s.peek() {
	case ',':
		s.i++
		return true, nil
	case '}':
		s.i++
		return false, nil
	}
	return false, fmt.Errorf("at byte %d: want , or }", s.i)
}

// object calls member for each member of the object at the cursor; null
// is an empty object.
func (s *scanner) object(member func(key string) error) error {
	more, err := s.open()
	for more && err == nil {
		var key string
		if key, err = s.key(); err != nil {
			return err
		}
		if err := member(key); err != nil {
			return err
		}
		more, err = s.next()
	}
	return err
}

// keyIs matches a member name the way encoding/json does: exactly, else
// case-insensitively.
func keyIs(key, name string) bool {
	return key == name || strings.EqualFold(key, name)
}

// entryMembers are the members of an import entry the scanner reads.
var entryMembers = [...]string{"objectType", "anchor", "dn", "newDn", "modificationType", "errorName", "errorDetail", "attributes", "attributeChanges"}

// entryMember returns the entry member key names, or "": an exact match,
// else the first case-insensitive one (encoding/json's rule).
func entryMember(key string) string {
	switch key {
	case "objectType", "anchor", "dn", "newDn", "modificationType", "errorName", "errorDetail", "attributes", "attributeChanges":
		return key
	}
	for _, m := range entryMembers {
		if strings.EqualFold(key, m) {
			return m
		}
	}
	return ""
}

// entries reads the entries array of an importData result one entry at
// a time: begin enters it, then each nextEntry call reads one entry
// (whose Attributes are valid until the next call) until it reports no
// more.
type entries struct {
	s     scanner
	n     int // entries read
	first bool
	done  bool
}

func (es *entries) begin(raw string) error {
	es.s = scanner{b: raw, kvs: es.s.kvs[:0]}
	es.n, es.first, es.done = 0, true, false
	switch es.s.peek() {
	case 'n', 0:
		es.done = true
		return nil
	case '[':
	default:
		return errors.New("entries is not an array")
	}
	es.s.i++
	if es.s.peek() == ']' {
		es.done = true
	}
	return nil
}

// nextEntry reads the next entry into e; ok is false after the last.
func (es *entries) nextEntry(e *importEntry) (ok bool, err error) {
	if es.done {
		return false, nil
	}
	s := &es.s
	if !es.first {
		switch s.peek() {
		case ',':
			s.i++
		case ']':
			es.done = true
			return false, nil
		default:
			return false, fmt.Errorf("entries: at byte %d: want , or ]", s.i)
		}
	}
	es.first = false
	*e = importEntry{}
	s.kvs = s.kvs[:0]
	if err := s.entry(e); err != nil {
		return false, fmt.Errorf("entries[%d]: %w", es.n, err)
	}
	es.n++
	return true, nil
}

// scanEntries reads the whole entries array (for tests; the import
// converts the entries one at a time).
func scanEntries(raw string) ([]importEntry, error) {
	var es entries
	if err := es.begin(raw); err != nil {
		return nil, err
	}
	out := []importEntry{}
	for {
		var e importEntry
		ok, err := es.nextEntry(&e)
		if err != nil {
			return nil, err
		}
		if !ok {
			return out, nil
		}
		e.Attributes = slices.Clone(e.Attributes)
		out = append(out, e)
	}
}

// entry reads one entry; null is an empty entry, reported as having no objectType.
func (s *scanner) entry(e *importEntry) error {
	more, err := s.open()
	for more && err == nil {
		var key string
		if key, err = s.key(); err != nil {
			return err
		}
		if err = s.entryMember(e, key); err != nil {
			return fmt.Errorf("%s: %w", key, err)
		}
		more, err = s.next()
	}
	return err
}

func (s *scanner) entryMember(e *importEntry, key string) error {
	var err error
	switch entryMember(key) {
	case "objectType":
		e.ObjectType, err = s.str()
	case "anchor":
		e.Anchor, err = s.value()
	case "dn":
		e.DN, err = s.str()
	case "newDn":
		e.NewDN, err = s.str()
	case "modificationType":
		e.ModificationType, err = s.str()
	case "errorName":
		e.ErrorName, err = s.str()
	case "errorDetail":
		e.ErrorDetail, err = s.str()
	case "attributes":
		var more bool
		more, err = s.open()
		for more && err == nil {
			var name string
			if name, err = s.key(); err != nil {
				break
			}
			var v string
			v, err = s.value()
			s.kvs = append(s.kvs, attrKV{name: name, raw: v, plain: s.plain})
			if err == nil {
				more, err = s.next()
			}
		}
		// "attributes" given twice: both count.
		e.Attributes = s.kvs[:len(s.kvs):len(s.kvs)]
	case "attributeChanges":
		var v string
		if v, err = s.value(); err == nil {
			err = json.Unmarshal([]byte(v), &e.AttributeChanges)
		}
	default:
		err = s.skip()
	}
	return err
}

// parseResult reads a result document: one validation pass over the
// whole text (encoding/json's), then the top-level members by the
// scanner, leaving entries raw. Errors are encoding/json's, with offsets.
//
// With validate false (importData) the validation pass is skipped: the
// entries are validated as they are skipped, the scanner reads what it can
// of the rest and never panics, and the caller validates the rest later
// (result.rawValid), while the next page's call runs.
func parseResult(out string, res *result, validate bool) error {
	if validate && !validJSON(out) {
		var v any
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			return err
		}
		return errors.New("invalid JSON")
	}
	s := &scanner{b: out}
	if s.peek() != '{' {
		return &json.UnmarshalTypeError{Value: "non-object", Offset: int64(s.i), Type: reflect.TypeFor[result]()}
	}
	return s.object(func(key string) error {
		s.ws()
		start := s.i
		if !validate && keyIs(key, "entries") {
			// The entries, most of the page, are validated as they are
			// skipped; the rest of the document with the conversion.
			if end, commas, ok := validValue(out, start, 1); ok {
				s.i = end
				res.Entries, res.entriesAt, res.entriesEnd = out[start:end], start, end
				res.entriesHint = 0
				if out[start] == '[' {
					res.entriesHint = commas + 1
				}
				return nil
			}
		}
		raw, err := s.value()
		if err != nil {
			return err
		}
		field := func(v any) error {
			if err := json.Unmarshal([]byte(raw), v); err != nil {
				var te *json.UnmarshalTypeError
				if errors.As(err, &te) {
					te.Offset += int64(start)
					te.Field = key + "." + te.Field
				}
				return err
			}
			return nil
		}
		switch {
		case keyIs(key, "entries"):
			res.Entries, res.entriesAt, res.entriesEnd = raw, 0, 0 // not valid (importData) or not checked on its own
			res.entriesHint = 0
			if len(raw) > 0 && raw[0] == '[' {
				res.entriesHint = s.commas + 1
			}
		case keyIs(key, "moreToImport"):
			switch raw {
			case "true":
				res.MoreToImport = true
			case "false", "null":
				res.MoreToImport = false
			default:
				return &json.UnmarshalTypeError{Value: raw, Field: "moreToImport", Offset: int64(start), Type: reflect.TypeFor[bool]()}
			}
		case keyIs(key, "customData"):
			if raw == "null" {
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
