package aadc

import (
	"fmt"
	"strings"

	"github.com/idsync/idsync"
)

// DSML syntax OIDs of the metaverse schema.
var syntaxTypes = map[string]idsync.AttrType{
	"1.3.6.1.4.1.1466.115.121.1.15": idsync.TypeString,    // Directory String
	"1.3.6.1.4.1.1466.115.121.1.27": idsync.TypeInteger,   // Integer
	"1.3.6.1.4.1.1466.115.121.1.7":  idsync.TypeBoolean,   // Boolean
	"1.3.6.1.4.1.1466.115.121.1.5":  idsync.TypeBinary,    // Binary
	"1.3.6.1.4.1.1466.115.121.1.12": idsync.TypeReference, // DN
}

// parseMV reads the metaverse schema from MV.xml: each dsml:class with the
// attributes it references, typed by their dsml:attribute-type.
func parseMV(file string, data []byte) (*idsync.Schema, []Problem) {
	root, err := parseTree(data)
	if err != nil {
		return nil, []Problem{{File: file, Msg: fmt.Sprintf("malformed XML: %v", err)}}
	}
	var probs []Problem
	var schema *xnode
	var find func(n *xnode)
	find = func(n *xnode) {
		if schema != nil {
			return
		}
		if n.name == "directory-schema" {
			schema = n
			return
		}
		for _, c := range n.children {
			find(c)
		}
	}
	find(root)
	if schema == nil {
		return nil, []Problem{{File: file, Msg: "no <dsml:directory-schema> in the metaverse configuration"}}
	}
	types := map[string]idsync.AttrDef{}
	for _, at := range schema.all("attribute-type") {
		name := strings.TrimSpace(at.val("name"))
		if name == "" {
			name = at.attrs["id"]
		}
		syn := strings.TrimSpace(at.val("syntax"))
		t, ok := syntaxTypes[syn]
		if !ok {
			probs = append(probs, Problem{File: file, Element: fmt.Sprintf("<dsml:attribute-type id=%q> (line %d)", name, at.line), Msg: fmt.Sprintf("unknown attribute syntax %q", syn)})
			continue
		}
		types[at.attrs["id"]] = idsync.AttrDef{Name: name, Type: t, MultiValued: at.attrs["single-value"] != "true"}
	}
	s := &idsync.Schema{}
	for _, cl := range schema.all("class") {
		name := strings.TrimSpace(cl.val("name"))
		if name == "" {
			name = cl.attrs["id"]
		}
		oc := idsync.ObjectClass{Name: name}
		for _, a := range cl.all("attribute") {
			ref := strings.TrimPrefix(a.attrs["ref"], "#")
			def, ok := types[ref]
			if !ok {
				probs = append(probs, Problem{File: file, Element: fmt.Sprintf("<dsml:class id=%q> attribute %q (line %d)", name, ref, a.line), Msg: "references an attribute type that is not defined"})
				continue
			}
			oc.Attrs = append(oc.Attrs, def)
		}
		s.Classes = append(s.Classes, oc)
	}
	return s, probs
}
