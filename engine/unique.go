package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

// uniqueness checks, in a connector with matching (§12), that no change
// of the page gives its object a match key — immutable ID, user principal
// name, primary SMTP address, security identifier — that another object
// of the connector space holds. Such a change is refused with an
// AttributeValueMustBeUnique error naming the conflicting attribute, as
// the reference product's directory does: an add is never a silent
// takeover nor a duplicate, and an existing object changed later is never
// matched again. The lookups are one query per attribute for the page.
func (x *exporter) uniqueness(ctx context.Context, tx store.Tx, batch []sent) (map[string]connector.ExportResult, error) {
	m := x.r.cc.Matching
	if m == nil || len(batch) == 0 {
		return nil, nil
	}
	cn := x.r.cc.Name
	type item struct {
		b    *sent
		kind config.MatchKind
		k    matchKeys
		add  bool
	}
	var items []item
	var lookups []csFindKey
	for i := range batch {
		b := &batch[i]
		ch := b.change
		kind := m.Kind(ch.ObjectType)
		if kind == config.MatchNone {
			continue
		}
		var k matchKeys
		switch ch.Op {
		case idsync.OpAdd, idsync.OpReplace:
			k = keysOf(m, kind, idsync.Attrs{}.Apply(ch.Mods))
		case idsync.OpUpdate:
			touched := map[string]bool{}
			for _, md := range ch.Mods {
				touched[md.Name] = true
			}
			eff := effectiveAttrs(b.obj).Clone()
			if eff == nil {
				eff = idsync.Attrs{}
			}
			eff.Apply(ch.Mods)
			k = keysOf(m, kind, eff)
			// only the keys this change writes: the others are the object's own
			if !touched[m.ImmutableIDAttribute] {
				k.immutable = ""
			}
			if !touched[m.UserPrincipalNameAttribute] {
				k.upn = ""
			}
			if !touched[m.ProxyAddressesAttribute] {
				k.smtp = ""
			}
			if !touched[m.SecurityIdentifierAttribute] {
				k.sid = ""
			}
		default:
			continue
		}
		ls := matchLookups(m, k)
		if len(ls) == 0 {
			continue
		}
		for j := range ls {
			ls[j].conn = cn
		}
		lookups = append(lookups, ls...)
		items = append(items, item{b: b, kind: kind, k: k, add: ch.Op != idsync.OpUpdate})
	}
	if len(items) == 0 {
		return nil, nil
	}
	// One query per attribute, one for the objects found.
	type q struct {
		attr string
		cs   bool
	}
	per := map[q][]string{}
	for _, l := range lookups {
		per[q{l.attr, l.cs}] = append(per[q{l.attr, l.cs}], l.value)
	}
	found := map[csFindKey][]string{}
	var ids []string
	for k, vs := range per {
		got, err := tx.FindCS(ctx, cn, k.attr, dedupe(vs), k.cs)
		if err != nil {
			return nil, fmt.Errorf("engine: uniqueness check on %s of %s: %w", k.attr, cn, err)
		}
		for v, list := range got {
			found[csFindKey{cn, k.attr, v, k.cs}] = list
			ids = append(ids, list...)
		}
	}
	objs := map[string]*idsync.CSObject{}
	if len(ids) > 0 {
		var err error
		objs, err = tx.CSByIDs(ctx, dedupe(ids))
		if err != nil {
			return nil, fmt.Errorf("engine: uniqueness check of %s: %w", cn, err)
		}
	}
	// holder returns an object of the system, other than self, holding key.
	holder := func(self string, attr, key string, cs bool) *idsync.CSObject {
		if key == "" {
			return nil
		}
		for _, id := range found[csFindKey{cn, attr, key, cs}] {
			o := objs[id]
			if o == nil || o.ID == self || o.Kind != idsync.KindStaging || o.Obsolete ||
				o.PendingImport == idsync.ImportDelete || o.Awaiting == idsync.ConfirmDelete {
				continue
			}
			if holds(m, effectiveAttrs(o), attr, key) {
				return o
			}
		}
		return nil
	}
	// Keys claimed by changes sent earlier in this page.
	claimed := map[csFindKey]*sent{}
	refused := map[string]connector.ExportResult{}
	for _, it := range items {
		self := it.b.obj.ID
		var name, value, why string
		var h *idsync.CSObject
		checks := []struct {
			attr, key, shown string
			cs               bool
		}{
			{m.ProxyAddressesAttribute, it.k.smtp, it.k.smtpShown, false},
			{m.SecurityIdentifierAttribute, it.k.sid, it.k.sid, true},
			{m.UserPrincipalNameAttribute, it.k.upn, it.k.upn, false},
			{m.ImmutableIDAttribute, it.k.immutable, it.k.immutable, true},
		}
		for _, c := range checks {
			if c.key == "" {
				continue
			}
			ck := csFindKey{cn, c.attr, c.key, c.cs}
			if o := holder(self, c.attr, c.key, c.cs); o != nil {
				h, value = o, c.shown
			} else if other := claimed[ck]; other != nil {
				value = c.shown
				why = fmt.Sprintf("%s is also written to %s in this export", value, other.obj.DN)
			} else {
				continue
			}
			switch c.attr {
			case m.ProxyAddressesAttribute:
				name = ConflictProxyAddresses
				if h != nil && it.k.sid != "" && holds(m, effectiveAttrs(h), m.SecurityIdentifierAttribute, it.k.sid) {
					name = ConflictSecurityIdentifier
				}
			case m.SecurityIdentifierAttribute:
				name = ConflictSecurityIdentifier
			case m.UserPrincipalNameAttribute:
				name = ConflictUserPrincipalName
			default:
				name = ConflictImmutableID
			}
			break
		}
		if name == "" {
			for _, c := range checks {
				if c.key != "" {
					claimed[csFindKey{cn, c.attr, c.key, c.cs}] = it.b
				}
			}
			continue
		}
		if h != nil {
			why = x.holderReason(m, it.b.obj, h, it.k, it.add)
		}
		msg := fmt.Sprintf("AttributeConflictName=%s AttributeConflictValues=%s: %s", name, value, why)
		refused[self] = connector.ExportResult{ID: self, Err: errors.New(msg), ErrorType: AttributeValueMustBeUnique}
	}
	return refused, nil
}

// holderReason explains why the object h holding a key of o's change was
// not taken over, and what resolves it.
func (x *exporter) holderReason(m *config.Matching, o, h *idsync.CSObject, k matchKeys, add bool) string {
	attrs := effectiveAttrs(h)
	theirs := firstString(attrs[m.ImmutableIDAttribute])
	var b strings.Builder
	fmt.Fprintf(&b, "the value is held by %s", h.DN)
	switch {
	case !add:
		b.WriteString("; an existing object is never matched again: remove the value from one of the two objects")
	case h.MVID != "":
		fmt.Fprintf(&b, ", joined to metaverse object %s: two sources claim one target object", h.MVID)
	case theirs != "" && theirs != k.immutable:
		fmt.Fprintf(&b, ", whose %s %q differs from the source anchor %q: a soft match never takes over an object synchronized from another source; to take it over, give the source object the anchor %q so that it hard-matches", m.ImmutableIDAttribute, theirs, k.immutable, theirs)
	case m.Privileged(attrs):
		fmt.Fprintf(&b, ", which holds a privileged role (%s) and is never matched: remove the role, synchronize, then restore it", m.PrivilegedAttribute)
	case theirs != "" && theirs == k.immutable && m.BlockHardMatch:
		b.WriteString(", which hard match would take over, but hard match is blocked on this connector (matching.blockHardMatch)")
	case m.BlockSoftMatch:
		b.WriteString(", which soft match would take over, but soft match is blocked on this connector (matching.blockSoftMatch)")
	case h.ObjectType != o.ObjectType:
		fmt.Fprintf(&b, ", a %s, not a %s", h.ObjectType, o.ObjectType)
	default:
		b.WriteString(", a disjoined object that a synchronization can take over (run a full synchronization)")
	}
	if add {
		b.WriteString("; the object was not created")
	} else {
		b.WriteString("; the change was not sent")
	}
	return b.String()
}
