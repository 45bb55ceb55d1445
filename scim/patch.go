package scim

import (
	"reflect"
	"strings"
)

// Path is a PATCH path (RFC 7644 §3.5.2): an attribute path, optionally
// with a value filter and a sub-attribute after it
// (`emails[type eq "work"].value`).
type Path struct {
	Attr   AttrPath // Sub set only when there is no Filter ("name.givenName")
	Filter Filter   // nil without "[...]"
	Sub    string   // the sub-attribute after "[...]"
}

func (p Path) String() string {
	s := p.Attr.String()
	if p.Filter != nil {
		s += "[" + p.Filter.String() + "]"
		if p.Sub != "" {
			s += "." + p.Sub
		}
	}
	return s
}

// ParsePath parses a PATCH path. Errors are *Error 400 invalidPath.
func ParsePath(s string) (Path, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexByte(s, '[')
	if i < 0 {
		ap, err := ParseAttrPath(s)
		return Path{Attr: ap}, err
	}
	ap, err := ParseAttrPath(s[:i])
	if err != nil {
		return Path{}, err
	}
	if ap.Sub != "" {
		return Path{}, Errorf(400, ErrInvalidPath, "path %q: a value filter applies to an attribute, not a sub-attribute", s)
	}
	j := strings.LastIndexByte(s, ']')
	if j < i {
		return Path{}, Errorf(400, ErrInvalidPath, "path %q: missing \"]\"", s)
	}
	f, err := ParseFilter(s[i+1 : j])
	if err != nil {
		return Path{}, Errorf(400, ErrInvalidPath, "path %q: %s", s, err.(*Error).Detail)
	}
	p := Path{Attr: ap, Filter: f}
	if rest := s[j+1:]; rest != "" {
		if rest[0] != '.' || !validName(rest[1:]) {
			return Path{}, Errorf(400, ErrInvalidPath, "path %q: invalid sub-attribute %q", s, rest)
		}
		p.Sub = rest[1:]
	}
	return p, nil
}

// Patch applies ops to r in place, with the semantics of RFC 7644
// §3.5.2. On error r may be partly modified: apply to a copy (Clone).
//
// Beyond the RFC, for the clients seen in the field (Microsoft Entra):
// op names are case-insensitive; a path-less value may hold paths as
// keys ("name.givenName"); an add or replace whose value filter matches
// nothing and is made of "eq" comparisons creates the value the filter
// describes (`emails[type eq "work"].value` on a user without a work
// e-mail); and a remove of a multi-valued attribute with a value removes
// just those values.
func Patch(r Resource, ops []PatchOp) error {
	for i, op := range ops {
		if err := patchOne(r, op); err != nil {
			if e, ok := err.(*Error); ok {
				e.Detail = "operation " + itoa(i+1) + " (" + strings.ToLower(op.Op) + " " + op.Path + "): " + e.Detail
			}
			return err
		}
	}
	return nil
}

func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func patchOne(r Resource, op PatchOp) error {
	kind := strings.ToLower(op.Op)
	switch kind {
	case "add", "replace", "remove":
	default:
		return Errorf(400, ErrInvalidSyntax, "unknown op %q (want add, replace or remove)", op.Op)
	}
	if op.Path == "" {
		if kind == "remove" {
			return Errorf(400, ErrNoTarget, "remove needs a path")
		}
		m, ok := op.Value.(map[string]any)
		if !ok {
			return Errorf(400, ErrInvalidValue, "an %s without a path needs an object value", kind)
		}
		for k, v := range m {
			if strings.EqualFold(k, "schemas") || strings.EqualFold(k, "meta") {
				continue
			}
			if ext, isExt := v.(map[string]any); isExt && strings.HasPrefix(strings.ToLower(k), "urn:") && !isCoreURN(k) {
				for sk, sv := range ext {
					if err := patchPath(r, kind, k+":"+sk, sv); err != nil {
						return err
					}
				}
				continue
			}
			if err := patchPath(r, kind, k, v); err != nil {
				return err
			}
		}
		return nil
	}
	return patchPath(r, kind, op.Path, op.Value)
}

func patchPath(r Resource, kind, path string, value any) error {
	p, err := ParsePath(path)
	if err != nil {
		return err
	}
	if p.Attr.URN == "" || isCoreURN(p.Attr.URN) {
		switch {
		case strings.EqualFold(p.Attr.Name, "id"), strings.EqualFold(p.Attr.Name, "meta"):
			if id, _, ok := Lookup(r, "id"); ok && kind == "replace" && p.Attr.Sub == "" && strings.EqualFold(p.Attr.Name, "id") && id == value {
				return nil
			}
			return Errorf(400, ErrMutability, "attribute %q is read-only", p.Attr.Name)
		case strings.EqualFold(p.Attr.Name, "schemas"):
			return nil
		}
	}
	if kind != "remove" && value == nil {
		return Errorf(400, ErrInvalidValue, "%s of %q needs a value", kind, path)
	}
	c := container(r, p.Attr.URN, kind != "remove")
	if c == nil {
		if kind == "remove" {
			return nil
		}
		return Errorf(400, ErrInvalidPath, "unknown schema %q", p.Attr.URN)
	}
	cur, key, exists := Lookup(c, p.Attr.Name)
	if !exists {
		key = p.Attr.Name
	}
	switch {
	case p.Filter != nil:
		return patchFiltered(c, key, cur, exists, kind, p, value)
	case p.Attr.Sub != "":
		return patchSub(c, key, cur, exists, kind, p.Attr.Sub, value)
	}
	switch kind {
	case "remove":
		if !exists {
			return nil
		}
		if l, isList := cur.([]any); isList && value != nil {
			out := l[:0:0]
			for _, el := range l {
				if !containsValue(asList(value), el) {
					out = append(out, el)
				}
			}
			setOrDelete(c, key, out)
			return nil
		}
		delete(c, key)
	case "replace":
		if cm, ok := cur.(map[string]any); ok {
			if vm, ok := value.(map[string]any); ok {
				for k, v := range vm {
					setKey(cm, k, v)
				}
				return nil
			}
		}
		c[key] = cloneValue(value)
	case "add":
		switch x := cur.(type) {
		case []any:
			for _, v := range asList(value) {
				if !containsValue(x, v) {
					x = append(x, cloneValue(v))
				}
			}
			c[key] = x
		case map[string]any:
			vm, ok := value.(map[string]any)
			if !ok {
				return Errorf(400, ErrInvalidValue, "attribute %q is complex: add needs an object", path)
			}
			for k, v := range vm {
				setKey(x, k, cloneValue(v))
			}
		default:
			c[key] = cloneValue(value)
		}
	}
	return nil
}

// patchSub changes sub-attribute sub of a complex attribute (every value
// of a multi-valued one).
func patchSub(c map[string]any, key string, cur any, exists bool, kind, sub string, value any) error {
	switch x := cur.(type) {
	case map[string]any:
		if kind == "remove" {
			if _, k, ok := Lookup(x, sub); ok {
				delete(x, k)
			}
			if len(x) == 0 {
				delete(c, key)
			}
			return nil
		}
		setKey(x, sub, cloneValue(value))
	case []any:
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				if kind == "remove" {
					if _, k, ok := Lookup(m, sub); ok {
						delete(m, k)
					}
				} else {
					setKey(m, sub, cloneValue(value))
				}
			}
		}
	case nil:
		if kind == "remove" {
			return nil
		}
		if exists && cur != nil {
			return Errorf(400, ErrInvalidPath, "attribute %q is not complex", key)
		}
		c[key] = map[string]any{sub: cloneValue(value)}
	default:
		return Errorf(400, ErrInvalidPath, "attribute %q is not complex", key)
	}
	return nil
}

func patchFiltered(c map[string]any, key string, cur any, exists bool, kind string, p Path, value any) error {
	var list []any
	if exists && cur != nil {
		l, ok := cur.([]any)
		if !ok {
			return Errorf(400, ErrInvalidPath, "attribute %q is not multi-valued: it takes no value filter", key)
		}
		list = l
	}
	matched := 0
	out := list[:0:0]
	for _, el := range list {
		if !elementMatches(el, p.Filter, DefaultCaseExact) {
			out = append(out, el)
			continue
		}
		matched++
		m, isMap := el.(map[string]any)
		switch {
		case kind == "remove" && p.Sub == "":
			continue // dropped
		case kind == "remove":
			if isMap {
				if _, k, ok := Lookup(m, p.Sub); ok {
					delete(m, k)
				}
			}
		case p.Sub != "":
			if !isMap {
				return Errorf(400, ErrInvalidPath, "values of %q are not complex", key)
			}
			setKey(m, p.Sub, cloneValue(value))
		case kind == "replace":
			el = cloneValue(value)
		default: // add: merge into the matched value
			vm, ok := value.(map[string]any)
			if !ok || !isMap {
				return Errorf(400, ErrInvalidValue, "add to %s needs an object value", p.String())
			}
			for k, v := range vm {
				setKey(m, k, cloneValue(v))
			}
		}
		out = append(out, el)
	}
	if matched == 0 {
		if kind == "remove" {
			return nil
		}
		seed, ok := filterSeed(p.Filter)
		if !ok {
			return Errorf(400, ErrNoTarget, "no value of %q matches %s", key, p.Filter.String())
		}
		if p.Sub != "" {
			setKey(seed, p.Sub, cloneValue(value))
		} else if vm, ok := value.(map[string]any); ok {
			for k, v := range vm {
				setKey(seed, k, cloneValue(v))
			}
		} else {
			return Errorf(400, ErrNoTarget, "no value of %q matches %s", key, p.Filter.String())
		}
		out = append(out, seed)
	}
	setOrDelete(c, key, out)
	return nil
}

// filterSeed turns a conjunction of eq comparisons on sub-attributes into
// the value they describe.
func filterSeed(f Filter) (map[string]any, bool) {
	switch x := f.(type) {
	case Compare:
		if x.Op != "eq" || x.Path.Sub != "" || x.Path.URN != "" || x.Value == nil {
			return nil, false
		}
		return map[string]any{x.Path.Name: x.Value}, true
	case And:
		l, ok1 := filterSeed(x.L)
		r, ok2 := filterSeed(x.R)
		if !ok1 || !ok2 {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}

func setOrDelete(c map[string]any, key string, l []any) {
	if len(l) == 0 {
		delete(c, key)
	} else {
		c[key] = l
	}
}

// container returns the object holding attributes of schema urn: r for
// the core schema, the extension object otherwise (created when create).
func container(r Resource, urn string, create bool) map[string]any {
	if urn == "" || isCoreURN(urn) {
		return r
	}
	if v, _, ok := Lookup(r, urn); ok {
		m, _ := v.(map[string]any)
		return m
	}
	if !create {
		return nil
	}
	m := map[string]any{}
	r[urn] = m
	if s, ok := r["schemas"].([]any); ok && !containsValue(s, urn) {
		r["schemas"] = append(s, urn)
	}
	return m
}

// setKey sets m[name], reusing the spelling of an existing key.
func setKey(m map[string]any, name string, v any) {
	if _, k, ok := Lookup(m, name); ok {
		m[k] = v
		return
	}
	m[name] = v
}

// containsValue reports whether l holds v: equal JSON values, or complex
// values with the same "value" sub-attribute.
func containsValue(l []any, v any) bool {
	for _, x := range l {
		if valueEqual(x, v) {
			return true
		}
	}
	return false
}

func valueEqual(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, _, ok1 := Lookup(am, "value")
		bv, _, ok2 := Lookup(bm, "value")
		if ok1 && ok2 {
			return reflect.DeepEqual(av, bv)
		}
	}
	if as, ok := a.(string); ok {
		if bs, ok := b.(string); ok {
			return as == bs
		}
	}
	return reflect.DeepEqual(a, b)
}

// Clone returns a deep copy of r.
func Clone(r Resource) Resource {
	if r == nil {
		return nil
	}
	return cloneValue(r).(map[string]any)
}

func cloneValue(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneValue(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneValue(e)
		}
		return l
	}
	return v
}
