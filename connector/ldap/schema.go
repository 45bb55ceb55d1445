package ldap

import (
	"context"
	"fmt"
	"sort"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
)

// attrType is an attribute type of the subschema (RFC 4512 §4.1.2).
type attrType struct {
	names  []string
	sup    string
	syntax string
	single bool
	noUser bool // NO-USER-MODIFICATION
	usage  string
}

// objClass is an object class of the subschema (RFC 4512 §4.1.1).
type objClass struct {
	names []string
	sups  []string
	kind  string // STRUCTURAL, AUXILIARY, ABSTRACT
	must  []string
	may   []string
}

// schemaInfo is the parsed subschema.
type schemaInfo struct {
	attrs   map[string]*attrType // by lower-case name and OID
	classes map[string]*objClass // by lower-case name and OID
	// rules are DIT content rules (RFC 4512 §4.1.6) by the structural
	// class's lower-case name and OID: Active Directory lists there the
	// auxiliary classes (securityPrincipal, mailRecipient, ...) whose
	// attributes a user or group holds. sups holds the AUX classes.
	rules map[string]*objClass
}

// parseDescription splits an RFC 4512 description into its OID and its
// keyword → values map. Quoted strings, ( lists ) and $-separated lists
// are flattened to values.
func parseDescription(s string) (oid string, fields map[string][]string, err error) {
	toks, err := tokenize(s)
	if err != nil {
		return "", nil, err
	}
	if len(toks) < 3 || toks[0] != "(" || toks[len(toks)-1] != ")" {
		return "", nil, fmt.Errorf("schema description %q: not a parenthesized list", trunc(s))
	}
	toks = toks[1 : len(toks)-1]
	oid = strings.Trim(toks[0], "'")
	fields = map[string][]string{}
	for i := 1; i < len(toks); {
		key := strings.ToUpper(toks[i])
		i++
		if i < len(toks) && toks[i] == "(" {
			i++
			var vals []string
			for i < len(toks) && toks[i] != ")" {
				if toks[i] != "$" {
					vals = append(vals, strings.Trim(toks[i], "'"))
				}
				i++
			}
			if i >= len(toks) {
				return "", nil, fmt.Errorf("schema description %q: unbalanced parentheses", trunc(s))
			}
			i++
			fields[key] = append(fields[key], vals...)
			continue
		}
		if i < len(toks) && !isKeyword(toks[i]) {
			fields[key] = append(fields[key], strings.Trim(toks[i], "'"))
			i++
			continue
		}
		fields[key] = append(fields[key], "")
	}
	return oid, fields, nil
}

func isKeyword(t string) bool {
	if t == "" || t == "(" || t == ")" || strings.HasPrefix(t, "'") {
		return false
	}
	for _, r := range t {
		if !(r >= 'A' && r <= 'Z' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func trunc(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

// tokenize splits a description into (, ), $, 'quoted' and bare words.
func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		ch := s[i]
		switch {
		case ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r':
			i++
		case ch == '(' || ch == ')' || ch == '$':
			toks = append(toks, string(ch))
			i++
		case ch == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("schema description %q: unterminated quote", trunc(s))
			}
			toks = append(toks, s[i:i+j+2])
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()$'", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func parseAttrType(s string) (string, *attrType, error) {
	oid, f, err := parseDescription(s)
	if err != nil {
		return "", nil, err
	}
	a := &attrType{names: f["NAME"], syntax: first(f["SYNTAX"])}
	a.sup = first(f["SUP"])
	_, a.single = f["SINGLE-VALUE"]
	_, a.noUser = f["NO-USER-MODIFICATION"]
	a.usage = first(f["USAGE"])
	// "1.3.6.1.4.1.1466.115.121.1.15{256}": drop the length bound.
	if i := strings.IndexByte(a.syntax, '{'); i >= 0 {
		a.syntax = a.syntax[:i]
	}
	return oid, a, nil
}

func parseObjClass(s string) (string, *objClass, error) {
	oid, f, err := parseDescription(s)
	if err != nil {
		return "", nil, err
	}
	o := &objClass{names: f["NAME"], sups: f["SUP"], must: f["MUST"], may: f["MAY"]}
	for _, k := range []string{"STRUCTURAL", "AUXILIARY", "ABSTRACT"} {
		if _, ok := f[k]; ok {
			o.kind = k
		}
	}
	if o.kind == "" {
		o.kind = "STRUCTURAL"
	}
	return oid, o, nil
}

func first(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[0]
}

// parseSchema builds a schemaInfo from attributeTypes and objectClasses
// values. Unparsable descriptions are skipped and returned as warnings.
func parseSchema(attrTypes, objClasses []string, contentRules ...string) (*schemaInfo, []error) {
	si := &schemaInfo{attrs: map[string]*attrType{}, classes: map[string]*objClass{}, rules: map[string]*objClass{}}
	var warns []error
	for _, s := range attrTypes {
		oid, a, err := parseAttrType(s)
		if err != nil {
			warns = append(warns, err)
			continue
		}
		si.attrs[strings.ToLower(oid)] = a
		for _, n := range a.names {
			si.attrs[strings.ToLower(n)] = a
		}
	}
	for _, s := range objClasses {
		oid, o, err := parseObjClass(s)
		if err != nil {
			warns = append(warns, err)
			continue
		}
		si.classes[strings.ToLower(oid)] = o
		for _, n := range o.names {
			si.classes[strings.ToLower(n)] = o
		}
	}
	for _, s := range contentRules {
		oid, f, err := parseDescription(s)
		if err != nil {
			warns = append(warns, err)
			continue
		}
		r := &objClass{names: f["NAME"], sups: f["AUX"], must: f["MUST"], may: f["MAY"]}
		si.rules[strings.ToLower(oid)] = r
		for _, n := range r.names {
			si.rules[strings.ToLower(n)] = r
		}
	}
	return si, warns
}

// attr returns the attribute type named name (any case), or nil.
func (si *schemaInfo) attr(name string) *attrType {
	if si == nil {
		return nil
	}
	if i := strings.IndexByte(name, ';'); i >= 0 {
		name = name[:i]
	}
	return si.attrs[strings.ToLower(name)]
}

// syntaxOf follows SUP until a syntax is found.
func (si *schemaInfo) syntaxOf(a *attrType) string {
	for i := 0; a != nil && i < 20; i++ {
		if a.syntax != "" {
			return a.syntax
		}
		a = si.attr(a.sup)
	}
	return ""
}

// Syntaxes by OID (RFC 4517 and Active Directory).
const (
	synDN              = "1.3.6.1.4.1.1466.115.121.1.12"
	synInteger         = "1.3.6.1.4.1.1466.115.121.1.27"
	synBoolean         = "1.3.6.1.4.1.1466.115.121.1.7"
	synGeneralizedTime = "1.3.6.1.4.1.1466.115.121.1.24"
	synUTCTime         = "1.3.6.1.4.1.1466.115.121.1.53"
	synOctetString     = "1.3.6.1.4.1.1466.115.121.1.40"
	synJPEG            = "1.3.6.1.4.1.1466.115.121.1.28"
	synBinary          = "1.3.6.1.4.1.1466.115.121.1.5"
	synCertificate     = "1.3.6.1.4.1.1466.115.121.1.8"
	synCertList        = "1.3.6.1.4.1.1466.115.121.1.9"
	synCertPair        = "1.3.6.1.4.1.1466.115.121.1.10"
	synFax             = "1.3.6.1.4.1.1466.115.121.1.23"
	synAudio           = "1.3.6.1.4.1.1466.115.121.1.4"
	synADLargeInt      = "1.2.840.113556.1.4.906"
	synADSecDesc       = "1.2.840.113556.1.4.907"
	synADDNBinary      = "1.2.840.113556.1.4.903"
	synADORName        = "1.2.840.113556.1.4.1221"
	synADSid           = "1.3.6.1.4.1.1466.115.121.1.40"
)

// typeOfSyntax maps an LDAP syntax to an idsync attribute type.
func typeOfSyntax(syn string) idsync.AttrType {
	switch syn {
	case synDN:
		return idsync.TypeReference
	case synInteger, synADLargeInt:
		return idsync.TypeInteger
	case synBoolean:
		return idsync.TypeBoolean
	case synGeneralizedTime, synUTCTime:
		return idsync.TypeDateTime
	case synOctetString, synJPEG, synBinary, synCertificate, synCertList, synCertPair, synFax, synAudio, synADSecDesc:
		return idsync.TypeBinary
	}
	return idsync.TypeString
}

// typeOf returns the idsync type and multi-valuedness of attribute name.
// Unknown attributes are multi-valued strings. The anchor is a string.
func (c *conn) typeOf(name string) (idsync.AttrType, bool) {
	a := c.schema.attr(name)
	if a == nil {
		return idsync.TypeString, true
	}
	return typeOfSyntax(c.schema.syntaxOf(a)), !a.single
}

// loadSchema reads and parses the subschema once per connection.
func (c *conn) loadSchema(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.schema != nil {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	sub := c.root.subschema
	if sub == "" {
		sub = "cn=Subschema"
	}
	res, err := c.l.Search(goldap.NewSearchRequest(sub, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"attributeTypes", "objectClasses", "dITContentRules"}, nil))
	if err != nil {
		return c.classify("read subschema "+sub, err)
	}
	if len(res.Entries) == 0 {
		return fmt.Errorf("ldap: subschema %s: no entry", sub)
	}
	e := res.Entries[0]
	si, warns := parseSchema(e.GetAttributeValues("attributeTypes"), e.GetAttributeValues("objectClasses"), e.GetAttributeValues("dITContentRules")...)
	for _, w := range warns {
		c.log.Warn("ldap: skipping a subschema description", "error", w)
	}
	c.schema = si
	return nil
}

// classAttrs returns every attribute an object of class name may hold,
// following superclasses.
func (si *schemaInfo) classAttrs(name string) []string {
	seen := map[string]bool{}
	var out []string
	var walk func(n string, depth int)
	walk = func(n string, depth int) {
		o := si.classes[strings.ToLower(n)]
		if o == nil || depth > 30 {
			return
		}
		names := append(append([]string(nil), o.must...), o.may...)
		if r := si.rules[strings.ToLower(n)]; r != nil {
			names = append(append(names, r.must...), r.may...)
			for _, aux := range r.sups {
				walk(aux, depth+1)
			}
		}
		for _, a := range names {
			at := si.attr(a)
			canon := a
			if at != nil && len(at.names) > 0 {
				canon = at.names[0]
			}
			if !seen[strings.ToLower(canon)] {
				seen[strings.ToLower(canon)] = true
				out = append(out, canon)
			}
		}
		for _, s := range o.sups {
			walk(s, depth+1)
		}
	}
	walk(name, 0)
	return out
}

// Schema implements connector.SchemaDiscoverer: one class per configured
// object type (or per structural object class when none is configured),
// with every attribute its class and superclasses allow.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	if err := c.loadSchema(ctx); err != nil {
		return nil, err
	}
	types := map[string]string{}
	if len(c.cfg.ObjectClasses) > 0 {
		for t, oc := range c.cfg.ObjectClasses {
			types[t] = oc
		}
	} else {
		for _, o := range c.schema.classes {
			if o.kind == "STRUCTURAL" && len(o.names) > 0 {
				types[o.names[0]] = o.names[0]
			}
		}
	}
	names := make([]string, 0, len(types))
	for t := range types {
		names = append(names, t)
	}
	sort.Strings(names)
	sc := &idsync.Schema{}
	for _, t := range names {
		cl := idsync.ObjectClass{Name: t}
		for _, a := range c.schema.classAttrs(types[t]) {
			typ, multi := c.typeOf(a)
			cl.Attrs = append(cl.Attrs, idsync.AttrDef{Name: a, Type: typ, MultiValued: multi})
		}
		sort.Slice(cl.Attrs, func(i, j int) bool { return cl.Attrs[i].Name < cl.Attrs[j].Name })
		sc.Classes = append(sc.Classes, cl)
	}
	return sc, nil
}

// mustAttrs returns the mandatory attributes of class name and its
// superclasses.
func (si *schemaInfo) mustAttrs(name string) []string {
	var out []string
	for i := 0; i < 30; i++ {
		o := si.classes[strings.ToLower(name)]
		if o == nil {
			break
		}
		out = append(out, o.must...)
		if len(o.sups) == 0 {
			break
		}
		name = o.sups[0]
	}
	return out
}
