package config

import (
	"encoding"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// EnvSecrets resolves a secret reference by reading the environment
// variable it names; plug it into connector.Env.Secret. Its errors name
// the variable, never a value.
func EnvSecrets(name string) (string, error) {
	if name == "" {
		return "", fmt.Errorf("config: secret: no environment variable named")
	}
	v, ok := os.LookupEnv(name)
	if !ok {
		return "", fmt.Errorf("config: secret: environment variable %s is not set", name)
	}
	if v == "" {
		return "", fmt.Errorf("config: secret: environment variable %s is empty", name)
	}
	return v, nil
}

// looksSecret reports whether a settings key names a secret: it contains
// password, passwd, secret, token or credential, or ends in "key" (apiKey,
// privateKey), unless it names a file or path holding the secret
// (passwordFile, keyPath) or a well-known non-secret key (primaryKey).
func looksSecret(key string) bool {
	k := strings.ToLower(strings.NewReplacer("_", "", "-", "", ".", "").Replace(key))
	for _, suffix := range []string{"file", "path", "env", "attribute", "attr", "attributes", "length", "lifetime", "ttl", "expiry", "url", "uri", "endpoint"} {
		if strings.HasSuffix(k, suffix) {
			return false
		}
	}
	for _, word := range []string{"password", "passwd", "secret", "token", "credential"} {
		if strings.Contains(k, word) {
			return true
		}
	}
	if strings.HasSuffix(k, "key") {
		for _, not := range []string{"primarykey", "foreignkey", "sortkey", "partitionkey", "anchorkey", "joinkey", "objectkey", "lookupkey", "keyattribute"} {
			if strings.HasSuffix(k, not) {
				return false
			}
		}
		return true
	}
	return false
}

var envRef = regexp.MustCompile(`^\$\{[A-Za-z_][A-Za-z0-9_]*\}$`)

// maxDepth bounds recursion into settings (hostile files nest deeply).
const maxDepth = 100

// checkSecrets reports every string scalar under a secret-looking key of
// n that is a literal rather than ${VAR} or {env: VAR}.
func checkSecrets(s *source, n *yaml.Node, what string, depth int) {
	n = deref(n)
	if n == nil || depth > maxDepth {
		return
	}
	switch n.Kind {
	case yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := deref(n.Content[i]), deref(n.Content[i+1])
			if k != nil && k.Kind == yaml.ScalarNode && looksSecret(k.Value) && v != nil &&
				v.Kind == yaml.ScalarNode && v.Tag == "!!str" && v.Value != "" && !envRef.MatchString(v.Value) {
				s.errorf(v, "%s: %s: secret in clear: use {env: NAME}", what, k.Value)
				if s.secrets == nil {
					s.secrets = map[*yaml.Node]bool{}
				}
				s.secrets[v] = true
				continue
			}
			checkSecrets(s, v, what, depth+1)
		}
	case yaml.SequenceNode:
		for _, it := range n.Content {
			checkSecrets(s, it, what, depth+1)
		}
	}
}

var (
	unmarshalerType         = reflect.TypeFor[yaml.Unmarshaler]()
	obsoleteUnmarshalerType = reflect.TypeFor[interface {
		UnmarshalYAML(unmarshal func(any) error) error
	}]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
)

func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// decodeInto decodes n into v (a pointer) like node.Decode, but refuses
// keys that match no field (as yaml.Decoder.KnownFields does) and reports
// every problem at its own file:line:column. It reports whether v was
// decoded without error. A null n leaves v as it is.
func decodeInto(s *source, n *yaml.Node, v any, what string) bool {
	n = deref(n)
	if isNull(n) {
		return true
	}
	before := len(s.errs.list)
	checkFields(s, n, reflect.TypeOf(v), what, 0)
	if len(s.errs.list) > before {
		return false
	}
	if err := safeDecode(n, v); err != nil {
		if te, ok := err.(*yaml.TypeError); ok {
			for _, msg := range te.Errors {
				p, m := locate(s, n, msg)
				s.errs.add(p, "%s: %s", what, m)
			}
		} else {
			s.errorf(n, "%s: %s", what, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return false
	}
	return true
}

// safeDecode is n.Decode with a connector's UnmarshalYAML panics turned
// into errors.
func safeDecode(n *yaml.Node, v any) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return n.Decode(v)
}

var typeErrLine = regexp.MustCompile(`^line (\d+): (.*?)$`)
var typeErrValue = regexp.MustCompile("`([^`]*)`")

// locate finds the node a yaml.v3 TypeError message ("line 3: cannot
// unmarshal !!str `abc` into int") is about: the scalar on that line
// holding the quoted value, else the first node on the line.
func locate(s *source, root *yaml.Node, msg string) (Pos, string) {
	m := typeErrLine.FindStringSubmatch(msg)
	if m == nil {
		return s.pos(root), msg
	}
	line, _ := strconv.Atoi(m[1])
	text := m[2]
	want := ""
	if vm := typeErrValue.FindStringSubmatch(text); vm != nil {
		want = vm[1]
	}
	var first, exact *yaml.Node
	var walk func(n *yaml.Node, depth int)
	walk = func(n *yaml.Node, depth int) {
		if n == nil || depth > maxDepth || exact != nil {
			return
		}
		if n.Line == line {
			if first == nil {
				first = n
			}
			if n.Kind == yaml.ScalarNode && want != "" && strings.HasPrefix(n.Value, strings.TrimSuffix(want, "...")) {
				// Keys come before values: prefer the last match on a
				// key: value line, which is the value.
				exact = n
			}
		}
		if n.Kind == yaml.MappingNode {
			// Values only: a type error is never about a key.
			for i := 1; i < len(n.Content); i += 2 {
				walk(n.Content[i], depth+1)
			}
			return
		}
		for _, c := range n.Content {
			walk(c, depth+1)
		}
	}
	walk(root, 0)
	switch {
	case exact != nil:
		return s.pos(exact), text
	case first != nil:
		return s.pos(first), text
	}
	return Pos{File: s.name, Line: line}, text
}

// checkFields walks n alongside the Go type t the way yaml.v3 decodes it,
// reporting keys that match no field and the errors of custom
// unmarshalers (which yaml.v3 returns without a position) at their nodes.
func checkFields(s *source, n *yaml.Node, t reflect.Type, what string, depth int) {
	n = deref(n)
	if n == nil || t == nil || depth > maxDepth || s.secrets[n] {
		return
	}
	for t.Kind() == reflect.Pointer && !implements(t, unmarshalerType) && !implements(t, obsoleteUnmarshalerType) {
		t = t.Elem()
	}
	if implements(t, unmarshalerType) || implements(t, obsoleteUnmarshalerType) {
		if isNull(n) {
			return
		}
		target := reflect.New(t)
		if t.Kind() == reflect.Pointer {
			target = reflect.New(t.Elem())
		}
		if err := safeDecode(n, target.Interface()); err != nil {
			if te, ok := err.(*yaml.TypeError); ok {
				for _, msg := range te.Errors {
					p, m := locate(s, n, msg)
					s.errs.add(p, "%s: %s", what, m)
				}
				return
			}
			s.errorf(n, "%s: %s", what, strings.TrimPrefix(err.Error(), "yaml: "))
		}
		return
	}
	if implements(t, textUnmarshalerType) {
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			if !isNull(n) {
				s.errorf(n, "%s: want a mapping, got %s", what, describe(n))
			}
			return
		}
		fields, anyKey := yamlFields(t)
		var names []string
		for name := range fields {
			names = append(names, name)
		}
		slices.Sort(names)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k := deref(n.Content[i])
			if k == nil || k.Kind != yaml.ScalarNode {
				continue
			}
			ft, ok := fields[k.Value]
			if !ok {
				if anyKey == nil {
					s.errorf(k, "%s: unknown key %q (want one of %s)", what, k.Value, strings.Join(names, ", "))
					continue
				}
				ft = anyKey
			}
			checkFields(s, n.Content[i+1], ft, what+"."+k.Value, depth+1)
		}
	case reflect.Slice, reflect.Array:
		if n.Kind == yaml.SequenceNode {
			for i, it := range n.Content {
				checkFields(s, it, t.Elem(), fmt.Sprintf("%s[%d]", what, i), depth+1)
			}
		}
	case reflect.Map:
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k := deref(n.Content[i])
				name := "?"
				if k != nil {
					name = k.Value
				}
				checkFields(s, n.Content[i+1], t.Elem(), what+"."+name, depth+1)
			}
		}
	}
}

// yamlFields returns the keys yaml.v3 decodes into struct t and their
// types; anyKey is the element type of an inline map, which takes every
// other key.
func yamlFields(t reflect.Type) (fields map[string]reflect.Type, anyKey reflect.Type) {
	fields = map[string]reflect.Type{}
	var add func(t reflect.Type, depth int)
	add = func(t reflect.Type, depth int) {
		if depth > 10 {
			return
		}
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			if f.PkgPath != "" && !f.Anonymous {
				continue // unexported
			}
			tag := f.Tag.Get("yaml")
			if tag == "" && !strings.Contains(string(f.Tag), ":") {
				tag = string(f.Tag) // yaml.v3 accepts a bare tag
			}
			if tag == "-" {
				continue
			}
			name, opts, _ := strings.Cut(tag, ",")
			inline := false
			for _, o := range strings.Split(opts, ",") {
				if o == "inline" {
					inline = true
				}
			}
			if inline {
				ft := f.Type
				for ft.Kind() == reflect.Pointer {
					ft = ft.Elem()
				}
				switch ft.Kind() {
				case reflect.Struct:
					add(ft, depth+1)
				case reflect.Map:
					anyKey = ft.Elem()
				}
				continue
			}
			if f.PkgPath != "" {
				continue
			}
			if name == "" {
				name = strings.ToLower(f.Name)
			}
			fields[name] = f.Type
		}
	}
	add(t, 0)
	return fields, anyKey
}
