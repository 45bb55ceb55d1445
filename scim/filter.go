package scim

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// AttrPath is an attribute path (RFC 7644 §3.10): an optional schema URN,
// an attribute name and an optional sub-attribute name.
type AttrPath struct {
	URN  string // "" for the core schema (or whatever schema the name belongs to)
	Name string
	Sub  string
}

func (p AttrPath) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN + ":")
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteString("." + p.Sub)
	}
	return b.String()
}

// Is reports whether p names attribute name (and sub-attribute sub),
// case-insensitively, ignoring the URN.
func (p AttrPath) Is(name, sub string) bool {
	return strings.EqualFold(p.Name, name) && strings.EqualFold(p.Sub, sub)
}

// ParseAttrPath parses "userName", "name.givenName",
// "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value".
func ParseAttrPath(s string) (AttrPath, error) {
	var p AttrPath
	rest := s
	if len(s) > 4 && strings.EqualFold(s[:4], "urn:") {
		i := strings.LastIndexByte(s, ':')
		p.URN, rest = s[:i], s[i+1:]
		if p.URN == "urn" || rest == "" {
			return p, Errorf(400, ErrInvalidPath, "attribute path %q has a schema URN but no attribute name", s)
		}
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validName(name) || (hasSub && !validName(sub)) {
		return p, Errorf(400, ErrInvalidPath, "invalid attribute path %q", s)
	}
	p.Name, p.Sub = name, sub
	return p, nil
}

// validName checks ATTRNAME = ALPHA *(nameChar), allowing "$ref".
func validName(s string) bool {
	if s == "$ref" {
		return true
	}
	if s == "" || !isAlpha(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		c := s[i]
		if !isAlpha(c) && !('0' <= c && c <= '9') && c != '-' && c != '_' {
			return false
		}
	}
	return true
}

func isAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }

// Filter is a parsed filter expression (RFC 7644 §3.4.2.2).
type Filter interface {
	// Match reports whether r satisfies the filter; caseExact tells
	// whether a string attribute compares case-sensitively (nil: the
	// RFC 7643 defaults of DefaultCaseExact).
	Match(r Resource, caseExact func(AttrPath) bool) bool
	String() string
}

// And is "L and R".
type And struct{ L, R Filter }

// Or is "L or R".
type Or struct{ L, R Filter }

// Not is "not (F)".
type Not struct{ F Filter }

// Compare is "path op value"; Value is a string, float64, bool or nil.
type Compare struct {
	Path  AttrPath
	Op    string // eq ne co sw ew gt lt ge le
	Value any
}

// Present is "path pr".
type Present struct{ Path AttrPath }

// ValuePath is "path[filter]": some value of the multi-valued attribute
// path satisfies filter, whose paths name sub-attributes.
type ValuePath struct {
	Path   AttrPath
	Filter Filter
}

func (f And) String() string     { return "(" + f.L.String() + " and " + f.R.String() + ")" }
func (f Or) String() string      { return "(" + f.L.String() + " or " + f.R.String() + ")" }
func (f Not) String() string     { return "not (" + f.F.String() + ")" }
func (f Present) String() string { return f.Path.String() + " pr" }
func (f ValuePath) String() string {
	return f.Path.String() + "[" + f.Filter.String() + "]"
}
func (f Compare) String() string {
	v, _ := json.Marshal(f.Value)
	return f.Path.String() + " " + f.Op + " " + string(v)
}

// DefaultCaseExact is RFC 7643's caseExact for the common attributes:
// id, externalId, meta.version and $ref are case-exact; everything else
// (userName, displayName, emails, ...) is not.
func DefaultCaseExact(p AttrPath) bool {
	switch {
	case p.Is("id", ""), p.Is("externalId", ""), p.Is("meta", "version"), strings.EqualFold(p.Sub, "$ref"), p.Name == "$ref":
		return true
	}
	return false
}

// Match implementations.

func (f And) Match(r Resource, ce func(AttrPath) bool) bool {
	return f.L.Match(r, ce) && f.R.Match(r, ce)
}
func (f Or) Match(r Resource, ce func(AttrPath) bool) bool {
	return f.L.Match(r, ce) || f.R.Match(r, ce)
}
func (f Not) Match(r Resource, ce func(AttrPath) bool) bool { return !f.F.Match(r, ce) }

func (f Present) Match(r Resource, _ func(AttrPath) bool) bool {
	for _, v := range Values(r, f.Path) {
		if present(v) {
			return true
		}
	}
	return false
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func (f ValuePath) Match(r Resource, ce func(AttrPath) bool) bool {
	v, _, ok := lookupIn(r, f.Path.URN, f.Path.Name)
	if !ok {
		return false
	}
	for _, el := range asList(v) {
		if elementMatches(el, f.Filter, ce) {
			return true
		}
	}
	return false
}

// elementMatches evaluates a value filter on one value of a multi-valued
// attribute; a simple value is seen as {"value": v}.
func elementMatches(el any, f Filter, ce func(AttrPath) bool) bool {
	m, ok := el.(map[string]any)
	if !ok {
		m = map[string]any{"value": el}
	}
	return f.Match(m, ce)
}

func (f Compare) Match(r Resource, ce func(AttrPath) bool) bool {
	if ce == nil {
		ce = DefaultCaseExact
	}
	vals := Values(r, f.Path)
	if f.Op == "ne" {
		for _, v := range vals {
			if compare(v, "eq", f.Value, ce(f.Path)) {
				return false
			}
		}
		return f.Value != nil || len(vals) > 0
	}
	if f.Value == nil && f.Op == "eq" {
		return len(vals) == 0
	}
	for _, v := range vals {
		if compare(v, f.Op, f.Value, ce(f.Path)) {
			return true
		}
	}
	return false
}

func compare(v any, op string, want any, caseExact bool) bool {
	switch w := want.(type) {
	case string:
		s, ok := v.(string)
		if !ok {
			// A number or boolean compared with a string: compare text.
			switch x := v.(type) {
			case float64:
				s = strconv.FormatFloat(x, 'f', -1, 64)
			case bool:
				s = strconv.FormatBool(x)
			case json.Number:
				s = string(x)
			default:
				return false
			}
		}
		if !caseExact {
			s, w = strings.ToLower(s), strings.ToLower(w)
		}
		switch op {
		case "eq":
			return s == w
		case "co":
			return strings.Contains(s, w)
		case "sw":
			return strings.HasPrefix(s, w)
		case "ew":
			return strings.HasSuffix(s, w)
		case "gt":
			return s > w
		case "ge":
			return s >= w
		case "lt":
			return s < w
		case "le":
			return s <= w
		}
	case float64:
		var n float64
		switch x := v.(type) {
		case float64:
			n = x
		case json.Number:
			f, err := x.Float64()
			if err != nil {
				return false
			}
			n = f
		case string:
			f, err := strconv.ParseFloat(x, 64)
			if err != nil {
				return false
			}
			n = f
		default:
			return false
		}
		switch op {
		case "eq":
			return n == w
		case "gt":
			return n > w
		case "ge":
			return n >= w
		case "lt":
			return n < w
		case "le":
			return n <= w
		}
	case bool:
		b, ok := v.(bool)
		if !ok {
			if s, isStr := v.(string); isStr {
				b, ok = strings.EqualFold(s, "true"), strings.EqualFold(s, "true") || strings.EqualFold(s, "false")
			}
		}
		return ok && op == "eq" && b == w
	}
	return false
}

// Values returns the values path selects in r: the values of a simple
// attribute (each element when multi-valued); of a sub-attribute, in
// every value of a complex attribute; and, for a multi-valued complex
// attribute named without a sub-attribute, the "value" sub-attribute of
// each value (RFC 7644 §3.4.2.2).
func Values(r Resource, p AttrPath) []any {
	v, _, ok := lookupIn(r, p.URN, p.Name)
	if !ok || v == nil {
		return nil
	}
	var out []any
	for _, el := range asList(v) {
		m, isMap := el.(map[string]any)
		switch {
		case p.Sub != "" && isMap:
			if sv, _, ok := Lookup(m, p.Sub); ok && sv != nil {
				out = append(out, asList(sv)...)
			}
		case p.Sub != "":
		case isMap:
			if sv, _, ok := Lookup(m, "value"); ok && sv != nil {
				out = append(out, sv)
			}
		default:
			out = append(out, el)
		}
	}
	return out
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// lookupIn finds attribute name of schema urn in r: under the extension
// object when urn names one, else at the top level (the core schema's
// attributes, also when written with their core URN).
func lookupIn(r Resource, urn, name string) (any, string, bool) {
	if urn != "" {
		if ext, _, ok := Lookup(r, urn); ok {
			if m, ok := ext.(map[string]any); ok {
				return Lookup(m, name)
			}
			return nil, "", false
		}
		if !isCoreURN(urn) {
			return nil, "", false
		}
	}
	return Lookup(r, name)
}

func isCoreURN(urn string) bool {
	return strings.HasPrefix(strings.ToLower(urn), "urn:ietf:params:scim:schemas:core:")
}

// maxFilterDepth bounds nesting so that a hostile filter cannot exhaust the stack.
const maxFilterDepth = 64

// ParseFilter parses a filter expression. Errors are *Error with status
// 400 and scimType invalidFilter, naming the offset.
func ParseFilter(s string) (Filter, error) {
	p := &parser{s: s}
	f, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i < len(p.s) {
		return nil, p.errf("unexpected %q", p.rest())
	}
	return f, nil
}

type parser struct {
	s string
	i int
}

func (p *parser) errf(format string, args ...any) error {
	return Errorf(400, ErrInvalidFilter, "filter %q at offset %d: %s", p.s, p.i, fmt.Sprintf(format, args...))
}

func (p *parser) rest() string {
	r := p.s[p.i:]
	if len(r) > 20 {
		r = r[:20] + "…"
	}
	return r
}

func (p *parser) ws() bool {
	start := p.i
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
	return p.i > start
}

// keyword consumes kw (case-insensitive) when it is followed by a
// delimiter (space, parenthesis, end).
func (p *parser) keyword(kw string) bool {
	if len(p.s)-p.i < len(kw) || !strings.EqualFold(p.s[p.i:p.i+len(kw)], kw) {
		return false
	}
	j := p.i + len(kw)
	if j < len(p.s) {
		if c := p.s[j]; isAlpha(c) || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '.' || c == ':' || c == '$' || c == '"' {
			return false
		}
	}
	p.i = j
	return true
}

func (p *parser) or(depth int) (Filter, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for {
		save := p.i
		if !p.ws() || !p.keyword("or") {
			p.i = save
			return l, nil
		}
		p.ws()
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = Or{l, r}
	}
}

func (p *parser) and(depth int) (Filter, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for {
		save := p.i
		if !p.ws() || !p.keyword("and") {
			p.i = save
			return l, nil
		}
		p.ws()
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = And{l, r}
	}
}

func (p *parser) unary(depth int) (Filter, error) {
	if depth > maxFilterDepth {
		return nil, p.errf("nested more than %d levels", maxFilterDepth)
	}
	p.ws()
	if p.keyword("not") {
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != '(' {
			return nil, p.errf("\"not\" must be followed by a parenthesized filter")
		}
		f, err := p.paren(depth)
		if err != nil {
			return nil, err
		}
		return Not{f}, nil
	}
	if p.i < len(p.s) && p.s[p.i] == '(' {
		return p.paren(depth)
	}
	return p.attrExp(depth)
}

func (p *parser) paren(depth int) (Filter, error) {
	p.i++ // (
	p.ws()
	f, err := p.or(depth + 1)
	if err != nil {
		return nil, err
	}
	p.ws()
	if p.i >= len(p.s) || p.s[p.i] != ')' {
		return nil, p.errf("missing \")\"")
	}
	p.i++
	return f, nil
}

func (p *parser) path() (AttrPath, error) {
	start := p.i
	for p.i < len(p.s) {
		c := p.s[p.i]
		if c == ' ' || c == '\t' || c == '[' || c == ']' || c == '(' || c == ')' || c == '"' {
			break
		}
		p.i++
	}
	if p.i == start {
		return AttrPath{}, p.errf("expected an attribute path")
	}
	ap, err := ParseAttrPath(p.s[start:p.i])
	if err != nil {
		return AttrPath{}, Errorf(400, ErrInvalidFilter, "filter %q at offset %d: invalid attribute path %q", p.s, start, p.s[start:p.i])
	}
	return ap, nil
}

var compareOps = []string{"eq", "ne", "co", "sw", "ew", "gt", "lt", "ge", "le"}

func (p *parser) attrExp(depth int) (Filter, error) {
	ap, err := p.path()
	if err != nil {
		return nil, err
	}
	if p.i < len(p.s) && p.s[p.i] == '[' {
		if ap.Sub != "" {
			return nil, p.errf("a value filter applies to an attribute, not a sub-attribute")
		}
		p.i++
		p.ws()
		inner, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.ws()
		if p.i >= len(p.s) || p.s[p.i] != ']' {
			return nil, p.errf("missing \"]\"")
		}
		p.i++
		return ValuePath{Path: ap, Filter: inner}, nil
	}
	if !p.ws() {
		return nil, p.errf("expected an operator after %q", ap.String())
	}
	if p.keyword("pr") {
		return Present{Path: ap}, nil
	}
	op := ""
	for _, o := range compareOps {
		if p.keyword(o) {
			op = o
			break
		}
	}
	if op == "" {
		return nil, p.errf("unknown operator %q", p.rest())
	}
	if !p.ws() {
		return nil, p.errf("expected a value after %q", op)
	}
	v, err := p.value()
	if err != nil {
		return nil, err
	}
	switch v.(type) {
	case bool, nil:
		if op != "eq" && op != "ne" {
			return nil, p.errf("operator %q does not apply to %v", op, v)
		}
	case float64:
		if op == "co" || op == "sw" || op == "ew" {
			return nil, p.errf("operator %q does not apply to a number", op)
		}
	}
	return Compare{Path: ap, Op: op, Value: v}, nil
}

func (p *parser) value() (any, error) {
	if p.i >= len(p.s) {
		return nil, p.errf("expected a value")
	}
	switch c := p.s[p.i]; {
	case c == '"':
		j := p.i + 1
		for j < len(p.s) && p.s[j] != '"' {
			if p.s[j] == '\\' {
				j++
			}
			j++
		}
		if j >= len(p.s) {
			return nil, p.errf("unterminated string")
		}
		var str string
		if err := json.Unmarshal([]byte(p.s[p.i:j+1]), &str); err != nil {
			return nil, p.errf("invalid string %s", p.s[p.i:j+1])
		}
		p.i = j + 1
		return str, nil
	case p.keyword("true"):
		return true, nil
	case p.keyword("false"):
		return false, nil
	case p.keyword("null"):
		return nil, nil
	case c == '-' || '0' <= c && c <= '9':
		j := p.i
		for j < len(p.s) && strings.IndexByte("+-.eE0123456789", p.s[j]) >= 0 {
			j++
		}
		n, err := strconv.ParseFloat(p.s[p.i:j], 64)
		if err != nil || math.IsInf(n, 0) || math.IsNaN(n) {
			return nil, p.errf("invalid number %q", p.s[p.i:j])
		}
		p.i = j
		return n, nil
	}
	return nil, p.errf("invalid value %q (strings are double-quoted)", p.rest())
}
