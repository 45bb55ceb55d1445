package inmem

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// Config is the configuration of an inmem connector.
type Config struct {
	// System names the System to attach to in the map given to NewType.
	System string `yaml:"system"`
	// AnchorFromDN anchors an exported Add that has no anchor by its DN
	// (DN as anchor) instead of a generated "id-NNNN".
	AnchorFromDN bool `yaml:"anchorFromDN"`
	// MinPasswordLength rejects shorter passwords with
	// connector.ErrPasswordPolicyViolation.
	MinPasswordLength int `yaml:"minPasswordLength"`
	// CheckReferences makes export reject reference values that name no
	// existing object (error type "ReferenceTargetMissing"), like a
	// directory that needs the target first (§5 two-pass export).
	CheckReferences bool `yaml:"checkReferences"`
	// Caps overrides what the connector declares; nil declares every
	// capability (see DefaultCapabilities). (It cannot be named
	// Capabilities: that is the connector.Capabler method.)
	Caps *connector.Capabilities `yaml:"capabilities"`
	// Objects seed the System when Open creates it (the Type's map does
	// not know System yet); they are ignored for an existing System.
	Objects []Object `yaml:"objects"`

	reg *registry
}

// Object is an inline seed object.
type Object struct {
	ObjectType string `yaml:"objectType"`
	Anchor     string `yaml:"anchor"`
	DN         string `yaml:"dn"`
	// Attributes map names to a scalar or a list of scalars: strings,
	// integers, booleans, timestamps.
	Attributes map[string]any `yaml:"attributes"`
}

type registry struct {
	mu      sync.Mutex
	systems map[string]*System
}

// NewType returns a connector Type named name whose connectors attach to
// the Systems of systems by Config.System. Open creates (and adds to the
// map) a System the map lacks, seeded with Config.Objects. The map must
// not be used by the caller while connectors are being opened.
func NewType(name string, systems map[string]*System) connector.Type {
	if systems == nil {
		systems = map[string]*System{}
	}
	reg := &registry{systems: systems}
	return connector.Type{
		Name:         name,
		NewConfig:    func() connector.Config { return &Config{reg: reg} },
		Capabilities: DefaultCapabilities(),
	}
}

// Type is an inmem Type with a private, initially empty set of Systems,
// for demos: every System named in configuration is created at its first
// Open and lives as long as the process.
var Type = NewType("inmem", nil)

// DefaultCapabilities are what an inmem connector declares without
// Config.Capabilities: everything.
func DefaultCapabilities() connector.Capabilities {
	return connector.Capabilities{
		DNStyle:            connector.DNLDAP,
		ExportType:         connector.ExportAttributeUpdate,
		Confirmation:       connector.ConfirmNormal,
		Concurrent:         true,
		Partitions:         true,
		Hierarchy:          true,
		Import:             true,
		DeltaImport:        true,
		Export:             true,
		FullExport:         true,
		ObjectRename:       true,
		DeleteAddAsReplace: true,
		Password:           true,
	}
}

// Capabilities implements connector.Capabler.
func (c *Config) Capabilities() connector.Capabilities {
	if c.Caps != nil {
		return *c.Caps
	}
	caps := DefaultCapabilities()
	caps.DNAsAnchor = c.AnchorFromDN
	return caps
}

var _ connector.Capabler = (*Config)(nil)

// Validate implements connector.Config.
func (c *Config) Validate() error {
	if c.System == "" {
		return errors.New("inmem: system is required")
	}
	if c.MinPasswordLength < 0 {
		return fmt.Errorf("inmem: minPasswordLength %d is negative", c.MinPasswordLength)
	}
	if cp := c.Caps; cp != nil {
		switch cp.DNStyle {
		case "", connector.DNNone, connector.DNGeneric, connector.DNLDAP:
		default:
			return fmt.Errorf("inmem: capabilities.dnStyle %q is not none, generic or ldap", cp.DNStyle)
		}
		switch cp.ExportType {
		case "", connector.ExportAttributeReplace, connector.ExportAttributeUpdate, connector.ExportMultivaluedReferenceAttributeUpdate, connector.ExportObjectReplace:
		default:
			return fmt.Errorf("inmem: capabilities.exportType %q is unknown", cp.ExportType)
		}
		switch cp.Confirmation {
		case "", connector.ConfirmNormal, connector.ConfirmNoDeleteConfirmation, connector.ConfirmNoAddAndDeleteConfirmation:
		default:
			return fmt.Errorf("inmem: capabilities.objectConfirmation %q is unknown", cp.Confirmation)
		}
	}
	for i, o := range c.Objects {
		if o.ObjectType == "" {
			return fmt.Errorf("inmem: objects[%d]: objectType is required", i)
		}
		if _, err := o.attrs(); err != nil {
			return fmt.Errorf("inmem: objects[%d]: %w", i, err)
		}
	}
	return nil
}

func (o Object) attrs() (idsync.Attrs, error) {
	a := idsync.Attrs{}
	for name, raw := range o.Attributes {
		list, ok := raw.([]any)
		if !ok {
			list = []any{raw}
		}
		for _, x := range list {
			var v idsync.Value
			switch x := x.(type) {
			case string:
				v = idsync.String(x)
			case int:
				v = idsync.Int(int64(x))
			case int64:
				v = idsync.Int(x)
			case uint64:
				v = idsync.Int(int64(x))
			case bool:
				v = idsync.Bool(x)
			case time.Time:
				v = idsync.Time(x)
			case float64:
				if x != float64(int64(x)) {
					return nil, fmt.Errorf("attribute %s: %v is not an integer", name, x)
				}
				v = idsync.Int(int64(x))
			case nil:
				continue
			default:
				return nil, fmt.Errorf("attribute %s: unsupported value %v (%T)", name, x, x)
			}
			a[name] = append(a[name], v)
		}
	}
	return a, nil
}

// Open implements connector.Config.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	reg := c.reg
	if reg == nil {
		return nil, errors.New("inmem: Config was not made by an inmem Type's NewConfig")
	}
	reg.mu.Lock()
	defer reg.mu.Unlock()
	sys, ok := reg.systems[c.System]
	if !ok {
		sys = NewSystem()
		for i, o := range c.Objects {
			attrs, _ := o.attrs()
			if _, err := sys.Add(idsync.Entry{ObjectType: o.ObjectType, Anchor: idsync.Anchor(o.Anchor), DN: o.DN, Attrs: attrs}); err != nil {
				return nil, fmt.Errorf("inmem: objects[%d]: %w", i, err)
			}
		}
		reg.systems[c.System] = sys
	}
	return &conn{sys: sys, cfg: *c}, nil
}

// conn is an open connector on a System.
type conn struct {
	sys *System
	cfg Config
}

var (
	_ connector.Connector           = (*conn)(nil)
	_ connector.Pinger              = (*conn)(nil)
	_ connector.SchemaDiscoverer    = (*conn)(nil)
	_ connector.PartitionLister     = (*conn)(nil)
	_ connector.HierarchyDiscoverer = (*conn)(nil)
	_ connector.Importer            = (*conn)(nil)
	_ connector.DeltaImporter       = (*conn)(nil)
	_ connector.Exporter            = (*conn)(nil)
	_ connector.PasswordChanger     = (*conn)(nil)
)

func (c *conn) Close() error { return nil }

// Ping implements connector.Pinger.
func (c *conn) Ping(ctx context.Context) error { return ctx.Err() }

// Schema implements connector.SchemaDiscoverer: the schema set by
// SetSchema, or one derived from the objects present.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	s := c.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.schema != nil {
		sc := *s.schema
		sc.Classes = append([]idsync.ObjectClass(nil), sc.Classes...)
		return &sc, nil
	}
	classes := map[string]map[string]idsync.AttrDef{}
	for _, o := range s.objects {
		cl := classes[o.objectType]
		if cl == nil {
			cl = map[string]idsync.AttrDef{}
			classes[o.objectType] = cl
		}
		for name, vs := range o.attrs {
			d, seen := cl[name]
			if !seen && len(vs) > 0 {
				d = idsync.AttrDef{Name: name, Type: vs[0].Type}
			}
			if len(vs) > 1 {
				d.MultiValued = true
			}
			cl[name] = d
		}
	}
	sc := &idsync.Schema{}
	for name, defs := range classes {
		cl := idsync.ObjectClass{Name: name}
		for _, d := range defs {
			cl.Attrs = append(cl.Attrs, d)
		}
		sort.Slice(cl.Attrs, func(i, j int) bool { return cl.Attrs[i].Name < cl.Attrs[j].Name })
		sc.Classes = append(sc.Classes, cl)
	}
	sort.Slice(sc.Classes, func(i, j int) bool { return sc.Classes[i].Name < sc.Classes[j].Name })
	return sc, nil
}

// Partitions implements connector.PartitionLister.
func (c *conn) Partitions(ctx context.Context) ([]connector.Partition, error) {
	c.sys.mu.Lock()
	defer c.sys.mu.Unlock()
	return append([]connector.Partition(nil), c.sys.partitions...), nil
}

// Children implements connector.HierarchyDiscoverer. The containers are
// those declared by AddContainer, the partitions, and every parent of an
// object's DN. Children("") lists the partitions, or the top-level
// containers when there are none.
func (c *conn) Children(ctx context.Context, parentDN string) ([]connector.HierarchyNode, error) {
	s := c.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	if parentDN == "" && len(s.partitions) > 0 {
		out := make([]connector.HierarchyNode, 0, len(s.partitions))
		for _, p := range s.partitions {
			out = append(out, connector.HierarchyNode(p))
		}
		return out, nil
	}
	all := map[string]string{}
	for k, v := range s.containers {
		all[k] = v
	}
	for _, p := range s.partitions {
		all[strings.ToLower(p.DN)] = p.DN
	}
	for _, o := range s.objects {
		for _, d := splitDN(o.dn); d != ""; _, d = splitDN(d) {
			all[strings.ToLower(d)] = d
		}
	}
	var out []connector.HierarchyNode
	for _, dn := range all {
		rdn, parent := splitDN(dn)
		if strings.EqualFold(parent, parentDN) {
			out = append(out, connector.HierarchyNode{Name: rdn, DN: dn})
		}
	}
	sort.Slice(out, func(i, j int) bool { return strings.ToLower(out[i].DN) < strings.ToLower(out[j].DN) })
	return out, nil
}

// partitionDN returns the DN suffix of partition name ("" for all).
// Call with s.mu held.
func (c *conn) partitionDN(name string) (string, error) {
	if name == "" {
		return "", nil
	}
	for _, p := range c.sys.partitions {
		if p.Name == name {
			return p.DN, nil
		}
	}
	return "", fmt.Errorf("inmem: no partition %q", name)
}

// Import implements connector.Importer: every object, sorted by anchor,
// and the watermark of that state.
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	s := c.sys
	s.mu.Lock()
	suffix, err := c.partitionDN(opts.Partition)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	entries := s.snapshot(suffix)
	wm := encodeWM(s.seq)
	s.mu.Unlock()
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := emit(e); err != nil {
			return nil, err
		}
	}
	return wm, nil
}

// ImportChanges implements connector.DeltaImporter: the logged changes
// after since, one per modification. A watermark that is not 8 bytes, is
// ahead of the log or older than ExpireWatermarks is expired.
func (c *conn) ImportChanges(ctx context.Context, opts connector.ImportOptions, since connector.Watermark, emit func(idsync.Change) error) (connector.Watermark, error) {
	if len(since) != 8 {
		return nil, connector.ErrWatermarkExpired
	}
	from := binary.BigEndian.Uint64(since)
	s := c.sys
	s.mu.Lock()
	if from < s.minValid || from > s.seq {
		s.mu.Unlock()
		return nil, connector.ErrWatermarkExpired
	}
	suffix, err := c.partitionDN(opts.Partition)
	if err != nil {
		s.mu.Unlock()
		return nil, err
	}
	i := sort.Search(len(s.log), func(i int) bool { return s.log[i].seq > from })
	var changes []idsync.Change
	for _, r := range s.log[i:] {
		ch := r.change
		if ch.Op == idsync.OpNone {
			continue
		}
		if suffix != "" && !underDN(ch.DN, suffix) && (ch.NewDN == "" || !underDN(ch.NewDN, suffix)) {
			continue
		}
		ch.Mods = cloneMods(ch.Mods)
		changes = append(changes, ch)
	}
	wm := encodeWM(s.seq)
	s.mu.Unlock()
	for _, ch := range changes {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := emit(ch); err != nil {
			return nil, err
		}
	}
	return wm, nil
}

// OpenExport implements connector.Exporter.
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return &session{c: c}, nil
}

type session struct{ c *conn }

// ExportPage applies each change and records it (see System.Exported).
func (x *session) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := x.c.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	res := make([]connector.ExportResult, len(changes))
	for i, ch := range changes {
		rec := ch
		rec.Mods = cloneMods(ch.Mods)
		s.exported = append(s.exported, rec)
		res[i] = x.c.apply(ch)
		res[i].ID = ch.ID
	}
	return res, nil
}

func (x *session) Close(ctx context.Context) error { return nil }

func failed(errType string, format string, args ...any) connector.ExportResult {
	return connector.ExportResult{ErrorType: errType, Err: fmt.Errorf("inmem: "+format, args...)}
}

// find returns the anchor of the object a change names: by anchor, else
// by DN. Call with s.mu held.
func (c *conn) find(ch idsync.Change) (idsync.Anchor, *object, bool) {
	s := c.sys
	if ch.Anchor != "" {
		o, ok := s.objects[ch.Anchor]
		return ch.Anchor, o, ok
	}
	if ch.DN != "" {
		if a, ok := s.byDN(ch.DN); ok {
			return a, s.objects[a], true
		}
	}
	return "", nil, false
}

// checkRefs reports a reference value naming no object. Call with s.mu held.
func (c *conn) checkRefs(mods []idsync.AttrMod) *connector.ExportResult {
	if !c.cfg.CheckReferences {
		return nil
	}
	for _, m := range mods {
		if m.Op == idsync.AttrDelete || m.Op == idsync.AttrClear {
			continue
		}
		for _, v := range m.Values {
			if v.Type != idsync.TypeReference {
				continue
			}
			if _, ok := c.sys.byDN(v.Str); !ok {
				r := failed("ReferenceTargetMissing", "%s: reference %q names no object", m.Name, v.Str)
				return &r
			}
		}
	}
	return nil
}

// apply applies one exported change. Call with s.mu held.
func (c *conn) apply(ch idsync.Change) connector.ExportResult {
	s := c.sys
	for _, f := range s.failures {
		if f.match == nil || f.match(ch) {
			return connector.ExportResult{ErrorType: f.errType, Err: f.err}
		}
	}
	if r := c.checkRefs(ch.Mods); r != nil {
		return *r
	}
	switch ch.Op {
	case idsync.OpAdd:
		a := ch.Anchor
		if a != "" {
			if _, taken := s.objects[a]; taken {
				return failed("ObjectAlreadyExists", "add %q: anchor already exists", a)
			}
		}
		if ch.DN == "" {
			return failed("InvalidDN", "add: the change has no DN")
		}
		if _, taken := s.byDN(ch.DN); taken {
			return failed("ObjectAlreadyExists", "add %q: DN already exists", ch.DN)
		}
		if a == "" && c.cfg.AnchorFromDN {
			a = idsync.Anchor(ch.DN)
		}
		a, err := s.add(idsync.Entry{ObjectType: ch.ObjectType, Anchor: a, DN: ch.DN, Attrs: idsync.Attrs{}.Apply(ch.Mods)})
		if err != nil {
			return failed("ObjectAlreadyExists", "%v", err)
		}
		return connector.ExportResult{Anchor: a}
	case idsync.OpUpdate:
		a, o, ok := c.find(ch)
		if !ok {
			return failed("ObjectNotFound", "update %q (%s): no such object", ch.Anchor, ch.DN)
		}
		res := connector.ExportResult{Anchor: a}
		if ch.NewDN != "" && ch.NewDN != o.dn {
			if other, taken := s.byDN(ch.NewDN); taken && other != a {
				return failed("ObjectAlreadyExists", "rename %q to %q: DN already exists", a, ch.NewDN)
			}
			old := o.dn
			s.setDN(a, o, ch.NewDN)
			s.record(idsync.Change{Op: idsync.OpUpdate, ObjectType: o.objectType, Anchor: a, DN: old, NewDN: o.dn})
			res.DN = o.dn
		}
		if len(ch.Mods) > 0 {
			o.attrs.Apply(ch.Mods)
			s.record(idsync.Change{Op: idsync.OpUpdate, ObjectType: o.objectType, Anchor: a, DN: o.dn, Mods: ch.Mods})
		}
		return res
	case idsync.OpReplace:
		a, o, ok := c.find(ch)
		if !ok {
			ch.Op = idsync.OpAdd
			return c.apply(ch)
		}
		dn := o.dn
		if ch.NewDN != "" {
			dn = ch.NewDN
		} else if ch.DN != "" {
			dn = ch.DN
		}
		if other, taken := s.byDN(dn); taken && other != a {
			return failed("ObjectAlreadyExists", "replace %q: DN %q already exists", a, dn)
		}
		s.setDN(a, o, dn)
		if ch.ObjectType != "" {
			o.objectType = ch.ObjectType
		}
		o.attrs = idsync.Attrs{}.Apply(ch.Mods)
		s.record(idsync.Change{Op: idsync.OpReplace, ObjectType: o.objectType, Anchor: a, DN: o.dn, Mods: idsync.ModsFromAttrs(o.attrs)})
		return connector.ExportResult{Anchor: a}
	case idsync.OpDelete:
		a, o, ok := c.find(ch)
		if !ok {
			return failed("ObjectNotFound", "delete %q (%s): no such object", ch.Anchor, ch.DN)
		}
		s.dropDN(a, o)
		delete(s.objects, a)
		s.record(idsync.Change{Op: idsync.OpDelete, ObjectType: o.objectType, Anchor: a, DN: o.dn})
		return connector.ExportResult{Anchor: a}
	}
	return failed("UnsupportedOperation", "change %q: operation %s", ch.ID, ch.Op)
}

// passwordTarget finds the object of a password operation. Call with s.mu held.
func (c *conn) passwordTarget(a idsync.Anchor, dn string) (*object, error) {
	_, o, ok := c.find(idsync.Change{Anchor: a, DN: dn})
	if !ok {
		return nil, fmt.Errorf("inmem: password of %q (%s): no such object", a, dn)
	}
	return o, nil
}

// SetPassword implements connector.PasswordChanger.
func (c *conn) SetPassword(ctx context.Context, a idsync.Anchor, dn string, pw connector.Secret, opts connector.PasswordOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := c.passwordTarget(a, dn)
	if err != nil {
		return err
	}
	if n := len(pw.Reveal()); n < c.cfg.MinPasswordLength {
		return fmt.Errorf("inmem: set password of %q: %d characters, the minimum is %d: %w", a, n, c.cfg.MinPasswordLength, connector.ErrPasswordPolicyViolation)
	}
	o.password, o.hasPw = pw.Reveal(), true
	return nil
}

// ChangePassword implements connector.PasswordChanger: the old password
// must match the current one.
func (c *conn) ChangePassword(ctx context.Context, a idsync.Anchor, dn string, oldPw, newPw connector.Secret) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s := c.sys
	s.mu.Lock()
	defer s.mu.Unlock()
	o, err := c.passwordTarget(a, dn)
	if err != nil {
		return err
	}
	if !o.hasPw || o.password != oldPw.Reveal() {
		return fmt.Errorf("inmem: change password of %q: the old password does not match", a)
	}
	if n := len(newPw.Reveal()); n < c.cfg.MinPasswordLength {
		return fmt.Errorf("inmem: change password of %q: %d characters, the minimum is %d: %w", a, n, c.cfg.MinPasswordLength, connector.ErrPasswordPolicyViolation)
	}
	o.password = newPw.Reveal()
	return nil
}
