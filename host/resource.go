package host

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/scim"
)

// rtype is one exposed resource type of an endpoint.
type rtype struct {
	ep         *endpoint
	name       string // User, Group
	endpoint   string // /Users, /Groups
	schema     string
	objectType string
	dn         string // DN template
	maps       []mapping
	extensions []string                   // extension URNs used by the maps
	types      map[string]idsync.AttrType // connector attribute types, when discovered
	byPath     map[string]*mapping        // lowercased scim path → mapping

	curMu   sync.Mutex
	cursors map[int]string // startIndex → the ID the page before it ended at
}

// render turns a CS object into a SCIM resource.
func (rt *rtype) render(o *idsync.CSObject, dnToID map[string]string, base string) scim.Resource {
	r := scim.Resource{"id": string(o.Anchor)}
	schemas := []any{rt.schema}
	for i := range rt.maps {
		m := &rt.maps[i]
		vs := o.Attrs[m.attr]
		if len(vs) == 0 {
			continue
		}
		c := r
		if m.path.Attr.URN != "" && !strings.HasPrefix(strings.ToLower(m.path.Attr.URN), "urn:ietf:params:scim:schemas:core:") {
			ext, _ := r[m.path.Attr.URN].(map[string]any)
			if ext == nil {
				ext = map[string]any{}
				r[m.path.Attr.URN] = ext
				schemas = append(schemas, m.path.Attr.URN)
			}
			c = ext
		}
		name := m.path.Attr.Name
		switch m.kind {
		case kindSimple:
			v := jsonValue(vs[0], m.path.Attr)
			if m.path.Attr.Sub != "" {
				sub, _ := c[name].(map[string]any)
				if sub == nil {
					sub = map[string]any{}
					c[name] = sub
				}
				sub[m.path.Attr.Sub] = v
			} else {
				c[name] = v
			}
		case kindMulti:
			l, _ := c[name].([]any)
			for i, v := range vs {
				el := map[string]any{"value": jsonValue(v, m.path.Attr)}
				if i == 0 && len(l) == 0 && !strings.EqualFold(name, "groups") {
					el["primary"] = true
				}
				l = append(l, el)
			}
			c[name] = l
		case kindFiltered:
			l, _ := c[name].([]any)
			for _, v := range vs {
				el, _ := seedOf(m.path.Filter)
				el[m.path.Sub] = jsonValue(v, scim.AttrPath{Name: name, Sub: m.path.Sub})
				l = append(l, el)
			}
			c[name] = l
		case kindMembers:
			l := make([]any, 0, len(vs))
			for _, v := range vs {
				id, ok := dnToID[strings.ToLower(v.String())]
				if !ok {
					continue // not (yet) in the connector space
				}
				l = append(l, map[string]any{"value": id, "$ref": base + "/Users/" + url.PathEscape(id)})
			}
			if len(l) > 0 {
				c[name] = l
			}
		case kindManager:
			if id, ok := dnToID[strings.ToLower(vs[0].String())]; ok {
				c[name] = map[string]any{"value": id, "$ref": base + "/Users/" + url.PathEscape(id)}
			}
		}
	}
	r["schemas"] = schemas
	meta := map[string]any{
		"resourceType": rt.name,
		"location":     base + rt.endpoint + "/" + url.PathEscape(string(o.Anchor)),
		"version":      fmt.Sprintf(`W/"%d"`, o.Version),
	}
	if !o.Updated.IsZero() {
		meta["lastModified"] = o.Updated.UTC().Format(time.RFC3339)
	}
	r["meta"] = meta
	return r
}

// refDNs returns the reference values of o's mapped reference attributes.
func (rt *rtype) refDNs(o *idsync.CSObject, into []string) []string {
	for _, m := range rt.maps {
		if m.kind == kindMembers || m.kind == kindManager {
			for _, v := range o.Attrs[m.attr] {
				into = append(into, v.String())
			}
		}
	}
	return into
}

// booleanAttrs are SCIM attributes of type boolean.
var booleanAttrs = map[string]bool{"active": true, "primary": true}

// jsonValue writes a connector value as the JSON a SCIM client expects.
func jsonValue(v idsync.Value, p scim.AttrPath) any {
	name := p.Name
	if p.Sub != "" {
		name = p.Sub
	}
	switch v.Type {
	case idsync.TypeBoolean:
		return v.Boolean()
	case idsync.TypeInteger:
		return v.Int
	case idsync.TypeDateTime:
		return v.Time().Format(time.RFC3339)
	}
	if booleanAttrs[strings.ToLower(name)] {
		if b, err := v.Convert(idsync.TypeBoolean); err == nil {
			return b.Boolean()
		}
	}
	return v.String()
}

// extract reads the connector attributes of a SCIM resource. ids maps
// member/manager ids to DNs; an unknown id is an error.
func (rt *rtype) extract(r scim.Resource, idToDN func(ids []string) (map[string]string, error)) (idsync.Attrs, error) {
	a := idsync.Attrs{}
	var refIDs []string
	refAttrs := map[string][]string{}
	for _, m := range rt.maps {
		var raw []any
		switch m.kind {
		case kindSimple:
			raw = scim.Values(r, m.path.Attr)
		case kindMulti, kindMembers, kindManager:
			raw = primaryFirst(r, m.path.Attr)
		case kindFiltered:
			v, _, ok := lookupAttr(r, m.path.Attr)
			if !ok {
				continue
			}
			l, _ := v.([]any)
			for _, el := range l {
				if em, ok := el.(map[string]any); ok && m.path.Filter.Match(em, scim.DefaultCaseExact) {
					if sv, _, ok := scim.Lookup(em, m.path.Sub); ok && sv != nil {
						raw = append(raw, sv)
					}
				}
			}
		}
		if m.kind == kindMembers || m.kind == kindManager {
			for _, x := range raw {
				s, ok := x.(string)
				if !ok {
					return nil, scim.Errorf(400, scim.ErrInvalidValue, "%s: a reference value must be a string id", m.scimPath)
				}
				refIDs = append(refIDs, s)
				refAttrs[m.attr] = append(refAttrs[m.attr], s)
			}
			continue
		}
		for _, x := range raw {
			v, err := rt.value(m, x)
			if err != nil {
				return nil, err
			}
			if !v.IsZero() && !(v.Type == idsync.TypeString && v.Str == "") {
				a[m.attr] = append(a[m.attr], v)
			}
		}
	}
	if len(refIDs) > 0 {
		dns, err := idToDN(refIDs)
		if err != nil {
			return nil, err
		}
		for attr, ids := range refAttrs {
			for _, id := range ids {
				dn, ok := dns[id]
				if !ok {
					return nil, scim.Errorf(400, scim.ErrInvalidValue, "%s: no resource with id %q", attr, id)
				}
				v := idsync.Ref(dn)
				if !containsRef(a[attr], v) {
					a[attr] = append(a[attr], v)
				}
			}
		}
	}
	return a, nil
}

func containsRef(vs []idsync.Value, v idsync.Value) bool {
	for _, x := range vs {
		if x.EqualFold(v) {
			return true
		}
	}
	return false
}

func lookupAttr(r scim.Resource, p scim.AttrPath) (any, string, bool) {
	if p.URN != "" && !strings.HasPrefix(strings.ToLower(p.URN), "urn:ietf:params:scim:schemas:core:") {
		ext, _, ok := scim.Lookup(r, p.URN)
		m, isMap := ext.(map[string]any)
		if !ok || !isMap {
			return nil, "", false
		}
		return scim.Lookup(m, p.Name)
	}
	return scim.Lookup(r, p.Name)
}

// primaryFirst returns the "value"s of a multi-valued complex attribute,
// the primary one first (or the value of a single complex one, manager).
func primaryFirst(r scim.Resource, p scim.AttrPath) []any {
	v, _, ok := lookupAttr(r, p)
	if !ok || v == nil {
		return nil
	}
	l, isList := v.([]any)
	if !isList {
		l = []any{v}
	}
	var first, rest []any
	for _, el := range l {
		em, isMap := el.(map[string]any)
		if !isMap {
			rest = append(rest, el)
			continue
		}
		val, _, ok := scim.Lookup(em, "value")
		if !ok || val == nil {
			continue
		}
		if pr, _, _ := scim.Lookup(em, "primary"); pr == true && first == nil {
			first = []any{val}
			continue
		}
		rest = append(rest, val)
	}
	return append(first, rest...)
}

// value converts one JSON value to the connector attribute's type.
func (rt *rtype) value(m mapping, x any) (idsync.Value, error) {
	var v idsync.Value
	switch t := x.(type) {
	case string:
		v = idsync.String(t)
	case bool:
		v = idsync.Bool(t)
	case float64:
		if t == math.Trunc(t) && math.Abs(t) < 1<<53 {
			v = idsync.Int(int64(t))
		} else {
			v = idsync.String(strconv.FormatFloat(t, 'f', -1, 64))
		}
	case nil:
		return idsync.Value{}, nil
	default:
		return idsync.Value{}, scim.Errorf(400, scim.ErrInvalidValue, "%s: a complex value where a simple one is expected", m.scimPath)
	}
	if want, ok := rt.types[m.attr]; ok && want != v.Type && want != idsync.TypeReference {
		c, err := v.Convert(want)
		if err != nil {
			return idsync.Value{}, scim.Errorf(400, scim.ErrInvalidValue, "%s: %v", m.scimPath, err)
		}
		return c, nil
	}
	if _, known := rt.types[m.attr]; !known && v.Type == idsync.TypeInteger {
		// A connector without a schema stores text.
		v = idsync.String(v.String())
	}
	return v, nil
}
