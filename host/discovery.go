package host

import (
	"net/http"
	"sort"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/scim"
)

func (ep *endpoint) spConfig(r *http.Request) scim.Resource {
	return scim.Resource{
		"schemas":          []any{scim.SchemaSPConfig},
		"documentationUri": "https://github.com/idsync/idsync/blob/main/docs/scim.md",
		"patch":            map[string]any{"supported": true},
		"bulk":             map[string]any{"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
		"filter":           map[string]any{"supported": true, "maxResults": ep.s.cfg.MaxResults},
		"changePassword":   map[string]any{"supported": false},
		"sort":             map[string]any{"supported": false},
		"etag":             map[string]any{"supported": false},
		"authenticationSchemes": []any{map[string]any{
			"type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": true,
			"description": "Authentication with a bearer token (RFC 6750) configured in the host",
		}},
		"meta": map[string]any{"resourceType": "ServiceProviderConfig", "location": ep.baseURL(r) + "/ServiceProviderConfig"},
	}
}

func (ep *endpoint) types() []*rtype {
	var out []*rtype
	for _, rt := range []*rtype{ep.users, ep.groups} {
		if rt != nil {
			out = append(out, rt)
		}
	}
	return out
}

func (rt *rtype) resourceType(base string) scim.Resource {
	res := scim.Resource{
		"schemas": []any{scim.SchemaResourceType}, "id": rt.name, "name": rt.name, "endpoint": rt.endpoint,
		"description": rt.name + "s of connector " + rt.ep.cn + " (object type " + rt.objectType + ")",
		"schema":      rt.schema,
		"meta":        map[string]any{"resourceType": "ResourceType", "location": base + "/ResourceTypes/" + rt.name},
	}
	if len(rt.extensions) > 0 {
		var ext []any
		for _, u := range rt.extensions {
			if !strings.HasPrefix(strings.ToLower(u), "urn:ietf:params:scim:schemas:core:") {
				ext = append(ext, map[string]any{"schema": u, "required": false})
			}
		}
		if ext != nil {
			res["schemaExtensions"] = ext
		}
	}
	return res
}

func (ep *endpoint) resourceTypes(w http.ResponseWriter, r *http.Request, id string) {
	base := ep.baseURL(r)
	var all []scim.Resource
	for _, rt := range ep.types() {
		if id != "" && rt.name == id {
			writeJSON(w, 200, rt.resourceType(base))
			return
		}
		all = append(all, rt.resourceType(base))
	}
	if id != "" {
		writeError(w, scim.Errorf(404, "", "no resource type %q", id))
		return
	}
	writeJSON(w, 200, scim.ListResponse{Schemas: []string{scim.MsgListResponse}, TotalResults: len(all), StartIndex: 1, ItemsPerPage: len(all), Resources: all})
}

// schemaDefs builds the schema definitions (RFC 7643 §7) of what the
// endpoint maps: per schema URN, the mapped attributes.
func (ep *endpoint) schemaDefs(base string) []scim.Resource {
	type attrDef = map[string]any
	bySchema := map[string]map[string]attrDef{}
	names := map[string]string{scim.SchemaUser: "User", scim.SchemaGroup: "Group", scim.SchemaEnterpriseUser: "EnterpriseUser"}
	for _, rt := range ep.types() {
		core := rt.schema
		if bySchema[core] == nil {
			bySchema[core] = map[string]attrDef{}
		}
		bySchema[core]["id"] = simpleDef("id", "string", false, true, "readOnly", "always", "server")
		for _, m := range rt.maps {
			urn := core
			if m.path.Attr.URN != "" {
				urn = m.path.Attr.URN
			}
			if bySchema[urn] == nil {
				bySchema[urn] = map[string]attrDef{}
			}
			attrs := bySchema[urn]
			name := m.path.Attr.Name
			typ := scimType(rt.types[m.attr], name, m.path.Attr.Sub)
			switch m.kind {
			case kindSimple:
				if m.path.Attr.Sub == "" {
					uniq := "none"
					if strings.EqualFold(name, "userName") {
						uniq = "server"
					}
					attrs[name] = simpleDef(name, typ, false, strings.EqualFold(name, "externalId"), "readWrite", "default", uniq)
					if strings.EqualFold(name, "userName") && rt.name == "User" || strings.EqualFold(name, "displayName") && rt.name == "Group" {
						attrs[name]["required"] = true
					}
					continue
				}
				d := attrs[name]
				if d == nil {
					d = simpleDef(name, "complex", false, false, "readWrite", "default", "none")
					attrs[name] = d
				}
				subs, _ := d["subAttributes"].([]any)
				d["subAttributes"] = append(subs, simpleDef(m.path.Attr.Sub, typ, false, false, "readWrite", "default", "none"))
			case kindMulti, kindFiltered:
				d := simpleDef(name, "complex", true, false, "readWrite", "default", "none")
				tp := simpleDef("type", "string", false, false, "readWrite", "default", "none")
				tp["canonicalValues"] = []any{"work", "home", "other"}
				d["subAttributes"] = []any{
					simpleDef("value", "string", false, false, "readWrite", "default", "none"),
					tp,
					simpleDef("primary", "boolean", false, false, "readWrite", "default", "none"),
				}
				attrs[name] = d
			case kindMembers, kindManager:
				d := simpleDef(name, "complex", m.kind == kindMembers, false, "readWrite", "default", "none")
				val := simpleDef("value", "string", false, true, "immutable", "default", "none")
				ref := simpleDef("$ref", "reference", false, true, "immutable", "default", "none")
				ref["referenceTypes"] = []any{"User", "Group"}
				d["subAttributes"] = []any{val, ref}
				attrs[name] = d
			}
		}
	}
	urns := make([]string, 0, len(bySchema))
	for u := range bySchema {
		urns = append(urns, u)
	}
	sort.Strings(urns)
	var out []scim.Resource
	for _, u := range urns {
		var attrs []any
		keys := make([]string, 0, len(bySchema[u]))
		for k := range bySchema[u] {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			attrs = append(attrs, bySchema[u][k])
		}
		name := names[u]
		if name == "" {
			name = u[strings.LastIndexByte(u, ':')+1:]
		}
		out = append(out, scim.Resource{"schemas": []any{scim.SchemaSchema}, "id": u, "name": name, "attributes": attrs,
			"meta": map[string]any{"resourceType": "Schema", "location": base + "/Schemas/" + u}})
	}
	return out
}

func simpleDef(name, typ string, multi, caseExact bool, mut, ret, uniq string) map[string]any {
	return map[string]any{"name": name, "type": typ, "multiValued": multi, "required": false, "caseExact": caseExact,
		"mutability": mut, "returned": ret, "uniqueness": uniq}
}

func scimType(t idsync.AttrType, name, sub string) string {
	if sub != "" {
		name = sub
	}
	if booleanAttrs[strings.ToLower(name)] {
		return "boolean"
	}
	switch t {
	case idsync.TypeBoolean:
		return "boolean"
	case idsync.TypeInteger:
		return "integer"
	case idsync.TypeDateTime:
		return "dateTime"
	case idsync.TypeBinary:
		return "binary"
	}
	return "string"
}

func (ep *endpoint) schemas(w http.ResponseWriter, r *http.Request, id string) {
	defs := ep.schemaDefs(ep.baseURL(r))
	if id != "" {
		for _, d := range defs {
			if d["id"] == id {
				writeJSON(w, 200, d)
				return
			}
		}
		writeError(w, scim.Errorf(404, "", "no schema %q", id))
		return
	}
	writeJSON(w, 200, scim.ListResponse{Schemas: []string{scim.MsgListResponse}, TotalResults: len(defs), StartIndex: 1, ItemsPerPage: len(defs), Resources: defs})
}
