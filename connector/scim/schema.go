package scim

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/scim"
)

// resType is a SCIM resource type as the connector maps it: its object
// type (the resource type's name) and its attributes flattened to idsync
// attributes.
type resType struct {
	name     string
	endpoint string
	schema   string
	exts     []string
	attrs    []*attrMap
	byName   map[string]*attrMap // lowercased idsync name
}

// attrKind is how a SCIM attribute becomes idsync attributes.
type attrKind uint8

const (
	akSimple attrKind = iota // a simple attribute (multi-valued or not), or a sub-attribute of a single complex one (name.givenName)
	akValues                 // a multi-valued complex attribute with a "value": its values (emails)
	akRef                    // a single complex reference (enterprise manager): the target's id
	akRefs                   // multi-valued references (Group members, User groups): the targets' ids
	akJSON                   // a multi-valued complex attribute without "value" (addresses): each value as JSON text
)

// attrMap is one idsync attribute of a resource type.
type attrMap struct {
	name      string // idsync attribute name: "userName", "name.givenName", "urn:…:User:employeeNumber"
	urn       string // extension URN, "" for the core schema
	top, sub  string // SCIM attribute and sub-attribute
	kind      attrKind
	typ       idsync.AttrType
	multi     bool
	readOnly  bool
	writeOnly bool
	// valueType is the canonical "type" an exported value of an akValues
	// attribute gets ("work"), when the schema has one.
	valueType string
}

// path is the SCIM PATCH path of the attribute.
func (m *attrMap) path() string {
	p := m.top
	if m.sub != "" {
		p += "." + m.sub
	}
	if m.urn != "" {
		p = m.urn + ":" + p
	}
	return p
}

func scimToType(t string) idsync.AttrType {
	switch strings.ToLower(t) {
	case "boolean":
		return idsync.TypeBoolean
	case "integer":
		return idsync.TypeInteger
	case "datetime":
		return idsync.TypeDateTime
	case "binary":
		return idsync.TypeBinary
	}
	return idsync.TypeString
}

func findSub(a scim.Attribute, name string) (scim.Attribute, bool) {
	for _, s := range a.SubAttributes {
		if strings.EqualFold(s.Name, name) {
			return s, true
		}
	}
	return scim.Attribute{}, false
}

// isRef reports whether a complex attribute points at other resources.
func isRef(a scim.Attribute) bool {
	if _, ok := findSub(a, "value"); !ok {
		return false
	}
	if r, ok := findSub(a, "$ref"); ok && (slices.Contains(r.ReferenceTypes, "User") || slices.Contains(r.ReferenceTypes, "Group")) {
		return true
	}
	switch strings.ToLower(a.Name) {
	case "members", "manager", "groups":
		return true
	}
	return false
}

// buildType flattens the schemas of a resource type.
func buildType(rt scim.ResourceType, schemas map[string]scim.Schema) (*resType, error) {
	t := &resType{name: rt.Name, endpoint: "/" + strings.TrimLeft(rt.Endpoint, "/"), schema: rt.Schema, byName: map[string]*attrMap{}}
	core, ok := schemas[strings.ToLower(rt.Schema)]
	if !ok {
		return nil, fmt.Errorf("resource type %s: schema %s is not in /Schemas", rt.Name, rt.Schema)
	}
	t.add("", core.Attributes)
	// externalId is a common attribute (RFC 7643 §3.1): schemas do not
	// list it, every resource may have it.
	if t.byName["externalid"] == nil {
		t.add("", []scim.Attribute{{Name: "externalId", Type: "string", CaseExact: true, Mutability: "readWrite"}})
	}
	for _, e := range rt.SchemaExtensions {
		s, ok := schemas[strings.ToLower(e.Schema)]
		if !ok {
			return nil, fmt.Errorf("resource type %s: extension schema %s is not in /Schemas", rt.Name, e.Schema)
		}
		t.exts = append(t.exts, s.ID)
		t.add(s.ID, s.Attributes)
	}
	return t, nil
}

func (t *resType) add(urn string, attrs []scim.Attribute) {
	name := func(top, sub string) string {
		n := top
		if sub != "" {
			n += "." + sub
		}
		if urn != "" {
			n = urn + ":" + n
		}
		return n
	}
	for _, a := range attrs {
		if urn == "" && (strings.EqualFold(a.Name, "id") || strings.EqualFold(a.Name, "meta") || strings.EqualFold(a.Name, "schemas")) {
			continue
		}
		base := attrMap{urn: urn, top: a.Name, readOnly: a.Mutability == "readOnly", writeOnly: a.Mutability == "writeOnly" || a.Returned == "never"}
		var out []attrMap
		switch {
		case !strings.EqualFold(a.Type, "complex"):
			m := base
			m.name, m.typ, m.multi = name(a.Name, ""), scimToType(a.Type), a.MultiValued
			out = append(out, m)
		case isRef(a):
			m := base
			m.name, m.typ, m.multi, m.kind = name(a.Name, ""), idsync.TypeReference, a.MultiValued, akRef
			if a.MultiValued {
				m.kind = akRefs
			}
			out = append(out, m)
		case a.MultiValued:
			m := base
			m.name, m.multi = name(a.Name, ""), true
			if v, ok := findSub(a, "value"); ok {
				m.kind, m.typ = akValues, scimToType(v.Type)
				if tp, ok := findSub(a, "type"); ok && slices.Contains(tp.CanonicalValues, "work") {
					m.valueType = "work"
				}
			} else {
				m.kind, m.typ = akJSON, idsync.TypeString
			}
			out = append(out, m)
		default:
			for _, s := range a.SubAttributes {
				m := base
				m.sub = s.Name
				m.name, m.typ, m.multi = name(a.Name, s.Name), scimToType(s.Type), s.MultiValued
				m.readOnly = m.readOnly || s.Mutability == "readOnly"
				m.writeOnly = m.writeOnly || s.Mutability == "writeOnly" || s.Returned == "never"
				out = append(out, m)
			}
		}
		for i := range out {
			m := out[i]
			t.attrs = append(t.attrs, &m)
			t.byName[strings.ToLower(m.name)] = &m
		}
	}
}

// class returns the idsync object class of t.
func (t *resType) class() idsync.ObjectClass {
	c := idsync.ObjectClass{Name: t.name}
	for _, m := range t.attrs {
		if m.writeOnly {
			continue
		}
		c.Attrs = append(c.Attrs, idsync.AttrDef{Name: m.name, Type: m.typ, MultiValued: m.multi})
	}
	return c
}

// listResources reads a ListResponse (or a bare array, which some
// servers answer /Schemas with) into v's elements.
func listResources[T any](ctx context.Context, cl *client, path string) ([]T, error) {
	var raw json.RawMessage
	if _, _, err := cl.do(ctx, "GET", path, nil, &raw); err != nil {
		return nil, err
	}
	var out []T
	if len(raw) > 0 && raw[0] == '[' {
		if err := json.Unmarshal(raw, &out); err != nil {
			return nil, fmt.Errorf("scim: %s: %w", path, err)
		}
		return out, nil
	}
	var lr struct {
		Resources []T `json:"Resources"`
	}
	if err := json.Unmarshal(raw, &lr); err != nil {
		return nil, fmt.Errorf("scim: %s: %w", path, err)
	}
	return lr.Resources, nil
}

// discover reads /ServiceProviderConfig, /ResourceTypes and /Schemas.
func (c *conn) discover(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.types != nil {
		return nil
	}
	var sp scim.ServiceProviderConfig
	if _, _, err := c.cl.do(ctx, "GET", "/ServiceProviderConfig", nil, &sp); err != nil {
		return fmt.Errorf("scim: read /ServiceProviderConfig: %w", err)
	}
	rts, err := listResources[scim.ResourceType](ctx, c.cl, "/ResourceTypes")
	if err != nil {
		return fmt.Errorf("scim: read /ResourceTypes: %w", err)
	}
	ss, err := listResources[scim.Schema](ctx, c.cl, "/Schemas")
	if err != nil {
		return fmt.Errorf("scim: read /Schemas: %w", err)
	}
	schemas := map[string]scim.Schema{}
	for _, s := range ss {
		schemas[strings.ToLower(s.ID)] = s
	}
	var types []*resType
	for _, want := range c.wantTypes(rts) {
		i := slices.IndexFunc(rts, func(r scim.ResourceType) bool { return strings.EqualFold(r.Name, want) })
		if i < 0 {
			names := make([]string, len(rts))
			for j, r := range rts {
				names[j] = r.Name
			}
			return fmt.Errorf("scim: resource type %q is not offered by the server (it has %v)", want, names)
		}
		t, err := buildType(rts[i], schemas)
		if err != nil {
			return fmt.Errorf("scim: %w", err)
		}
		types = append(types, t)
	}
	c.sp = &sp
	c.types = types
	return nil
}

func (c *conn) wantTypes(rts []scim.ResourceType) []string {
	if len(c.cfg.ResourceTypes) > 0 {
		return c.cfg.ResourceTypes
	}
	var out []string
	for _, r := range rts {
		out = append(out, r.Name)
	}
	// Users first: groups refer to them.
	slices.SortStableFunc(out, func(a, b string) int {
		return boolInt(b == "User") - boolInt(a == "User")
	})
	return out
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (c *conn) typeOf(name string) (*resType, bool) {
	for _, t := range c.types {
		if strings.EqualFold(t.name, name) {
			return t, true
		}
	}
	return nil, false
}
