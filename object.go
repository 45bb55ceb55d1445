package idsync

import (
	"fmt"
	"sort"
	"time"
)

// SortedNames returns the attribute names of a in sorted order.
func SortedNames(a Attrs) []string {
	names := make([]string, 0, len(a))
	for n := range a {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// AttrDef declares one attribute of an object type.
type AttrDef struct {
	Name        string   `json:"name"`
	Type        AttrType `json:"type"`
	MultiValued bool     `json:"multiValued,omitempty"`
}

// ObjectClass declares one object type and its attributes.
type ObjectClass struct {
	Name  string    `json:"name"`
	Attrs []AttrDef `json:"attributes"`
	// DeletionRule decides when an MV object of this type is deleted (§2.2);
	// only meaningful in the metaverse schema.
	DeletionRule DeletionRule `json:"deletionRule,omitempty"`
}

// Attr returns the definition of name, or false.
func (c *ObjectClass) Attr(name string) (AttrDef, bool) {
	for _, a := range c.Attrs {
		if a.Name == name {
			return a, true
		}
	}
	return AttrDef{}, false
}

// DeletionRule decides when an MV object goes (§2.2).
type DeletionRule struct {
	// Connectors, when not empty, deletes the MV object as soon as its
	// link from any of these connectors is removed. Otherwise the object is
	// deleted when its last link is removed.
	Connectors []string `json:"connectors,omitempty"`
}

// Schema is a set of object classes: the metaverse schema, or what a
// connector discovered.
type Schema struct {
	Classes []ObjectClass `json:"classes"`
}

// Class returns the class named name, or nil.
func (s *Schema) Class(name string) *ObjectClass {
	if s == nil {
		return nil
	}
	for i := range s.Classes {
		if s.Classes[i].Name == name {
			return &s.Classes[i]
		}
	}
	return nil
}

// ImportType is the pending import type of a CS object (§3 step 3).
type ImportType uint8

// Pending import types.
const (
	ImportNone ImportType = iota
	ImportAdd
	ImportUpdate
	ImportDelete
	ImportDeleteAdd
)

var importTypeNames = [...]string{"none", "add", "update", "delete", "delete-add"}

func (t ImportType) String() string {
	if int(t) < len(importTypeNames) {
		return importTypeNames[t]
	}
	return fmt.Sprintf("ImportType(%d)", t)
}

// ObjectKind separates staging objects from placeholders (§2.1).
type ObjectKind uint8

// CS object kinds.
const (
	KindStaging ObjectKind = iota
	KindPlaceholder
)

func (k ObjectKind) String() string {
	if k == KindPlaceholder {
		return "placeholder"
	}
	return "staging"
}

// LinkType is how a sync rule relates CS and MV objects (§7).
type LinkType uint8

// Link types.
const (
	LinkJoin LinkType = iota
	LinkStickyJoin
	LinkProvision
)

var linkTypeNames = [...]string{"Join", "StickyJoin", "Provision"}

func (t LinkType) String() string {
	if int(t) < len(linkTypeNames) {
		return linkTypeNames[t]
	}
	return fmt.Sprintf("LinkType(%d)", t)
}

// ParseLinkType parses Join, StickyJoin or Provision (case-insensitive).
func ParseLinkType(s string) (LinkType, error) {
	for i, n := range linkTypeNames {
		if equalFoldASCII(n, s) {
			return LinkType(i), nil
		}
	}
	return 0, fmt.Errorf("unknown link type %q (want Join, StickyJoin or Provision)", s)
}

func equalFoldASCII(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		x, y := a[i], b[i]
		if 'A' <= x && x <= 'Z' {
			x += 'a' - 'A'
		}
		if 'A' <= y && y <= 'Z' {
			y += 'a' - 'A'
		}
		if x != y {
			return false
		}
	}
	return true
}

// PendingExport is a staged change waiting for export (§4.2, §5).
type PendingExport struct {
	Op    Op        `json:"op"` // OpAdd, OpUpdate (attributes and/or rename), OpDelete, OpReplace (delete-add)
	Mods  []AttrMod `json:"mods,omitempty"`
	NewDN string    `json:"newDN,omitempty"`
}

// ExportError records a failed export of an object (§5).
type ExportError struct {
	Type    string    `json:"type"` // e.g. "AttributeValueMustBeUnique", "connector-error"
	Message string    `json:"message"`
	Retries int       `json:"retries"` // how many exports failed in a row
	First   time.Time `json:"first"`
	Last    time.Time `json:"last"`
}

// Confirmation is what an exported object waits for an import to confirm (§6.1).
type Confirmation uint8

// Confirmation states.
const (
	ConfirmNone   Confirmation = iota
	ConfirmAdd                 // exported an add; an import must show the object
	ConfirmDelete              // exported a delete; an import must show it gone
)

// CSObject is an object of a connector space (§2.1).
type CSObject struct {
	ID         string     `json:"id"` // the engine GUID
	Connector  string     `json:"connector"`
	ObjectType string     `json:"objectType"`
	Kind       ObjectKind `json:"kind"`
	// Partition is the partition the object was imported from or provisioned to.
	Partition string `json:"partition,omitempty"`
	Anchor    Anchor `json:"anchor,omitempty"` // empty for an export object not yet confirmed
	DN        string `json:"dn"`
	Attrs     Attrs  `json:"attrs,omitempty"` // values as last imported (or, for an unconfirmed export object, as provisioned)
	// Provisioned marks an export object: created by provisioning rather than import.
	Provisioned bool `json:"provisioned,omitempty"`
	// Obsolete marks an object whose DN another object took (§3 step 2); it
	// waits for the import that renames or deletes it.
	Obsolete      bool           `json:"obsolete,omitempty"`
	PendingImport ImportType     `json:"pendingImport,omitempty"`
	PendingExport *PendingExport `json:"pendingExport,omitempty"`
	// ExportStatus holds the values last exported and not yet confirmed by
	// an import (§6.2), per attribute.
	ExportStatus Attrs        `json:"exportStatus,omitempty"`
	Awaiting     Confirmation `json:"awaiting,omitempty"`
	ExportError  *ExportError `json:"exportError,omitempty"`
	// ImportError records why the last import of this object failed.
	ImportError string `json:"importError,omitempty"`

	MVID     string    `json:"mvId,omitempty"` // the link; empty when disjoined
	LinkRule string    `json:"linkRule,omitempty"`
	LinkType LinkType  `json:"linkType,omitempty"`
	LinkedAt time.Time `json:"linkedAt,omitzero"`

	// ImportGen is the generation of the last full import that saw this
	// object; the engine uses it for deletion detection.
	ImportGen int64 `json:"-"`
	// Version counts the object's writes to the store: the store sets it
	// (1 when created) and returns it, so that a writer can tell whether
	// the object changed since it read it (optimistic concurrency).
	Version int64     `json:"-"`
	Updated time.Time `json:"updated,omitzero"`
}

// Clone returns a deep copy of o.
func (o *CSObject) Clone() *CSObject {
	c := *o
	c.Attrs = o.Attrs.Clone()
	c.ExportStatus = o.ExportStatus.Clone()
	if o.PendingExport != nil {
		pe := *o.PendingExport
		pe.Mods = make([]AttrMod, len(o.PendingExport.Mods))
		for i, m := range o.PendingExport.Mods {
			m.Values = append([]Value(nil), m.Values...)
			pe.Mods[i] = m
		}
		c.PendingExport = &pe
	}
	if o.ExportError != nil {
		ee := *o.ExportError
		c.ExportError = &ee
	}
	return &c
}

// Joined reports whether the object is linked to an MV object.
func (o *CSObject) Joined() bool { return o.MVID != "" }

// Lineage says where an MV attribute's values came from (§7.5).
type Lineage struct {
	Rule      string    `json:"rule"`
	Connector string    `json:"connector"`
	CSID      string    `json:"csId"`
	RunID     string    `json:"runId"`
	At        time.Time `json:"at"`
	// Flow describes the flow: "Direct givenName", "Constant True", "Expression ...".
	Flow string `json:"flow,omitempty"`
}

// MVObject is an object of the metaverse (§2.2).
type MVObject struct {
	ID         string             `json:"id"`
	ObjectType string             `json:"objectType"`
	Attrs      Attrs              `json:"attrs,omitempty"`
	Lineage    map[string]Lineage `json:"lineage,omitempty"`
	// RetryProvisioning is set when an export object of this MV object was
	// replaced by an import object with another anchor (§3 step 2).
	RetryProvisioning bool      `json:"retryProvisioning,omitempty"`
	Created           time.Time `json:"created,omitzero"`
	Updated           time.Time `json:"updated,omitzero"`
}
