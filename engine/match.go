package engine

// Hard and soft match (§12): before provisioning creates an object in a
// target connector that already holds objects, the engine looks for an
// existing disjoined object of that connector space to take over.

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store"
)

// AttributeValueMustBeUnique is the export error type of an object whose
// export would give a target object a value another object holds (§12).
const AttributeValueMustBeUnique = "AttributeValueMustBeUnique"

// The names of the conflicting attribute in AttributeValueMustBeUnique
// errors, as the reference product reports them (AttributeConflictName).
const (
	ConflictProxyAddresses     = "ProxyAddresses"
	ConflictSecurityIdentifier = "OnPremiseSecurityIdentifier"
	ConflictUserPrincipalName  = "UserPrincipalName"
	ConflictImmutableID        = "ImmutableId"
)

// matchKeys are the values an object is matched and kept unique on, in
// the target's vocabulary: the immutable ID (exact), the user principal
// name and the primary SMTP proxy address (folded), the security
// identifier (exact).
type matchKeys struct {
	immutable string
	upn       string
	smtp      string // "smtp:address", folded like the store's index
	smtpShown string // as written ("SMTP:Address")
	sid       string
}

func firstString(vs []idsync.Value) string {
	for _, v := range vs {
		if s := v.String(); s != "" {
			return s
		}
	}
	return ""
}

// primarySMTP returns the primary SMTP address of a proxyAddresses value
// list: the value with the upper-case "SMTP:" prefix ("smtp:" marks the
// secondary addresses).
func primarySMTP(vs []idsync.Value) string {
	for _, v := range vs {
		if s := v.String(); strings.HasPrefix(s, "SMTP:") && len(s) > len("SMTP:") {
			return s
		}
	}
	return ""
}

// keysOf returns the match keys of attrs for an object of kind: users
// have every key, groups and contacts only the primary SMTP address.
func keysOf(m *config.Matching, kind config.MatchKind, attrs idsync.Attrs) matchKeys {
	var k matchKeys
	if kind == config.MatchNone {
		return k
	}
	if m.ProxyAddressesAttribute != "" {
		k.smtpShown = primarySMTP(attrs[m.ProxyAddressesAttribute])
		k.smtp = store.FoldValue(k.smtpShown)
	}
	if kind != config.MatchUser {
		return k
	}
	k.immutable = firstString(attrs[m.ImmutableIDAttribute])
	if m.UserPrincipalNameAttribute != "" {
		k.upn = store.FoldValue(firstString(attrs[m.UserPrincipalNameAttribute]))
	}
	if m.SecurityIdentifierAttribute != "" {
		k.sid = firstString(attrs[m.SecurityIdentifierAttribute])
	}
	return k
}

// holds reports whether attrs hold key k under attribute attr.
func holds(m *config.Matching, attrs idsync.Attrs, attr, k string) bool {
	if k == "" {
		return false
	}
	for _, v := range attrs[attr] {
		s := v.String()
		switch attr {
		case m.ImmutableIDAttribute, m.SecurityIdentifierAttribute:
			if s == k {
				return true
			}
		case m.ProxyAddressesAttribute:
			if strings.HasPrefix(s, "SMTP:") && store.FoldValue(s) == k {
				return true
			}
		default:
			if store.FoldValue(s) == k {
				return true
			}
		}
	}
	return false
}

// effectiveAttrs is what the system holds as far as the engine knows:
// the imported values overlaid by the exported, unconfirmed ones (§6.2).
func effectiveAttrs(o *idsync.CSObject) idsync.Attrs {
	if len(o.ExportStatus) == 0 {
		return o.Attrs
	}
	eff := o.Attrs.Clone()
	if eff == nil {
		eff = idsync.Attrs{}
	}
	for k, vs := range o.ExportStatus {
		eff[k] = vs
	}
	return eff
}

// matchLookups lists the (attribute, value, case-sensitive) lookups that
// keys need.
func matchLookups(m *config.Matching, k matchKeys) []csFindKey {
	var out []csFindKey
	if k.immutable != "" {
		out = append(out, csFindKey{attr: m.ImmutableIDAttribute, value: k.immutable, cs: true})
	}
	if k.upn != "" {
		out = append(out, csFindKey{attr: m.UserPrincipalNameAttribute, value: k.upn})
	}
	if k.smtp != "" {
		out = append(out, csFindKey{attr: m.ProxyAddressesAttribute, value: k.smtp})
	}
	if k.sid != "" {
		out = append(out, csFindKey{attr: m.SecurityIdentifierAttribute, value: k.sid, cs: true})
	}
	return out
}

// csFindKey is one value lookup in a connector space.
type csFindKey struct {
	conn  string
	attr  string
	value string // folded unless cs
	cs    bool
}

// matching returns the matching configuration of a target connector, or nil.
func (p *syncPage) matching(conn string) *config.Matching {
	if cc := p.e.cfg.Connector(conn); cc != nil {
		return cc.Matching
	}
	return nil
}

// prefetchCS runs value lookups in a connector space in one query per
// (connector, attribute, case sensitivity), and loads every object found
// in one more query. Later lookups of the page are answered from memory.
func (p *syncPage) prefetchCS(ctx context.Context, keys []csFindKey) error {
	type q struct {
		conn, attr string
		cs         bool
	}
	per := map[q][]string{}
	for _, k := range keys {
		if _, ok := p.csFound[k]; ok || k.value == "" {
			continue
		}
		per[q{k.conn, k.attr, k.cs}] = append(per[q{k.conn, k.attr, k.cs}], k.value)
	}
	var ids []string
	for k, vs := range per {
		vs = dedupe(vs)
		got, err := p.tx.FindCS(ctx, k.conn, k.attr, vs, k.cs)
		if err != nil {
			return fmt.Errorf("engine: look up %s in %s: %w", k.attr, k.conn, err)
		}
		for _, v := range vs {
			p.csFound[csFindKey{k.conn, k.attr, v, k.cs}] = got[v]
			ids = append(ids, got[v]...)
		}
	}
	return p.loadCS(ctx, ids)
}

// loadCS loads the CS objects with the given IDs not loaded yet.
func (p *syncPage) loadCS(ctx context.Context, ids []string) error {
	var need []string
	for _, id := range ids {
		if _, ok := p.cs[id]; !ok && !p.delCS[id] {
			need = append(need, id)
		}
	}
	if len(need) == 0 {
		return nil
	}
	got, err := p.tx.CSByIDs(ctx, dedupe(need))
	if err != nil {
		return fmt.Errorf("engine: load connector space objects: %w", err)
	}
	for _, o := range got {
		p.addCS(o)
	}
	return nil
}

// findCS returns the loaded CS objects that a value lookup finds,
// querying the store only for what the page's prefetch did not ask.
func (p *syncPage) findCS(ctx context.Context, k csFindKey) ([]*idsync.CSObject, error) {
	ids, ok := p.csFound[k]
	if !ok {
		if err := p.prefetchCS(ctx, []csFindKey{k}); err != nil {
			return nil, err
		}
		ids = p.csFound[k]
	}
	var out []*idsync.CSObject
	for _, id := range ids {
		if o := p.cs[id]; o != nil && !p.delCS[id] {
			out = append(out, o)
		}
	}
	return out, nil
}

// prefetchOutbound batches the lookups that outbound join and matching
// will make for the page's MV objects: for every target connector where
// an MV object has no link yet (or only an add not exported yet), the
// join values and the match keys its provisioning would carry.
func (p *syncPage) prefetchOutbound(ctx context.Context) error {
	var keys []csFindKey
	for _, id := range p.outbound {
		mv := p.mv[id]
		if mv == nil || p.delMV[id] {
			continue
		}
		for _, conn := range p.e.rules.connOrder {
			rules := p.e.rules.outbound[conn]
			if len(rules) == 0 {
				continue
			}
			var inScope []*compiledRule
			for _, r := range rules {
				if r.MVType != mv.ObjectType && r.MVType != "*" {
					continue
				}
				if in, _ := p.outboundScope(mv, r); in {
					inScope = append(inScope, r)
				}
			}
			if len(inScope) == 0 {
				continue
			}
			var linked []*idsync.CSObject
			for _, o := range p.links[mv.ID] {
				if o.Connector == conn {
					linked = append(linked, o)
				}
			}
			m := p.matching(conn)
			if len(linked) == 0 {
				for _, r := range inScope {
					if !r.hasJoin {
						continue
					}
					for _, g := range r.Join {
						for _, cond := range g {
							for _, v := range mv.Attrs[cond.Source] {
								s := v.String()
								if !cond.CaseSensitive {
									s = store.FoldValue(s)
								}
								keys = append(keys, csFindKey{conn, cond.Target, s, cond.CaseSensitive})
							}
						}
					}
				}
				if m == nil {
					continue
				}
				for _, r := range inScope {
					if r.LinkType == idsync.LinkProvision {
						keys = append(keys, p.matchKeysFor(ctx, mv, conn, m, r.CSType, rulesFor(inScope, r.CSType))...)
						break
					}
				}
				continue
			}
			if m == nil {
				continue
			}
			for _, o := range linked {
				if unexportedAdd(o) {
					keys = append(keys, p.matchKeysFor(ctx, mv, conn, m, o.ObjectType, rulesFor(inScope, o.ObjectType))...)
				}
			}
		}
	}
	return p.prefetchCS(ctx, keys)
}

// matchKeysFor computes, from the outbound flows of the match attributes
// only, the lookups that matching mv into conn as csType needs.
func (p *syncPage) matchKeysFor(ctx context.Context, mv *idsync.MVObject, conn string, m *config.Matching, csType string, rules []*compiledRule) []csFindKey {
	kind := m.Kind(csType)
	if kind == config.MatchNone || len(rules) == 0 {
		return nil
	}
	target, _, err := p.computeOutbound(ctx, mv, nil, conn, rules, true, m.Attributes())
	if err != nil {
		return nil // reported when the object is provisioned
	}
	ks := matchLookups(m, keysOf(m, kind, target))
	for i := range ks {
		ks[i].conn = conn
	}
	return ks
}

// unexportedAdd reports whether o is an export object whose add was never
// sent successfully: for the target it is still a new object, so it may
// still be matched (a conflict resolved since, §12).
func unexportedAdd(o *idsync.CSObject) bool {
	return o.Provisioned && o.Anchor == "" && o.Awaiting == idsync.ConfirmNone &&
		o.PendingExport != nil && o.PendingExport.Op == idsync.OpAdd
}

// matchOutcome is what match decided.
type matchOutcome uint8

const (
	matchNone      matchOutcome = iota // nothing to take over: provision
	matchTaken                         // linked to an existing object
	matchAmbiguous                     // several candidates: an error, nothing provisioned
)

// match looks, before mv is provisioned into conn by rule (target being
// the values the add would carry), for an existing object to take over
// (§12): hard match on the immutable ID, then soft match on the user
// principal name or the primary SMTP address. A match links mv to the
// object and stages the overwrite of every attribute with a source
// value. replacing is the unexported add being matched again, or nil.
func (p *syncPage) match(ctx context.Context, mv *idsync.MVObject, conn string, m *config.Matching, rule *compiledRule, rules []*compiledRule, target idsync.Attrs, replacing *idsync.CSObject) (matchOutcome, error) {
	kind := m.Kind(rule.CSType)
	if kind == config.MatchNone {
		return matchNone, nil
	}
	k := keysOf(m, kind, target)
	c := p.counters()
	if kind == config.MatchGroup && k.smtp == "" {
		return matchNone, nil // a group without mail never matches
	}
	present := func(o *idsync.CSObject) bool {
		return o.Kind == idsync.KindStaging && !o.Obsolete && o.PendingImport != idsync.ImportDelete &&
			o != replacing && !p.delCS[o.ID]
	}
	conflict := func(o *idsync.CSObject, detail string) (matchOutcome, error) {
		c.MatchConflicts++
		p.tr.outbound(OutboundTrace{Connector: conn, Rule: rule.Name, Action: "match-conflict", CSID: o.ID, DN: o.DN, Detail: detail})
		return matchNone, nil
	}
	ambiguous := func(detail string) (matchOutcome, error) {
		p.tr.outbound(OutboundTrace{Connector: conn, Rule: rule.Name, Action: "match-ambiguous", Detail: detail})
		oe := idsync.ObjectError{Connector: conn, MVID: mv.ID, Rule: rule.Name, Type: "ambiguous-match",
			Message: detail + ": an ambiguous match is never guessed, and nothing is provisioned until one object remains"}
		if replacing != nil {
			oe.CSID, oe.DN = replacing.ID, replacing.DN
		}
		if p.tr != nil {
			p.tr.p.Errors = append(p.tr.p.Errors, oe)
		}
		p.r.objErr(oe)
		return matchAmbiguous, nil
	}
	imm := m.ImmutableIDAttribute

	// 1. Hard match: the target's immutable ID is the source anchor.
	if kind == config.MatchUser && k.immutable != "" {
		found, err := p.findCS(ctx, csFindKey{conn, imm, k.immutable, true})
		if err != nil {
			return matchNone, err
		}
		var free, held []*idsync.CSObject
		for _, o := range found {
			if !present(o) || !holds(m, o.Attrs, imm, k.immutable) {
				continue
			}
			if o.MVID == "" && o.Anchor != "" && o.ObjectType == rule.CSType {
				free = append(free, o)
			} else {
				held = append(held, o)
			}
		}
		switch {
		case len(free) > 1:
			return ambiguous(fmt.Sprintf("hard match: %d objects of %s have %s %q (%s)", len(free), conn, imm, k.immutable, dnList(free)))
		case len(free) == 1:
			o := free[0]
			if m.BlockHardMatch {
				return conflict(o, fmt.Sprintf("%s %q matches, but hard match is blocked on %s (matching.blockHardMatch)", imm, k.immutable, conn))
			}
			if m.Privileged(o.Attrs) {
				return conflict(o, fmt.Sprintf("%s %q matches, but the object holds a privileged role (%s) and is never matched", imm, k.immutable, m.PrivilegedAttribute))
			}
			return p.take(ctx, mv, o, rule, rules, replacing, "hard-match", fmt.Sprintf("%s = %q", imm, k.immutable))
		case len(held) > 0:
			o := held[0]
			return conflict(o, fmt.Sprintf("%s %q is held by an object that cannot be taken over (%s)", imm, k.immutable, whyHeld(o, rule.CSType)))
		}
	}

	// 2. Soft match: the user principal name or the primary SMTP address.
	type cand struct {
		o   *idsync.CSObject
		via []string
	}
	var cands []*cand
	add := func(attr, key string) error {
		if key == "" {
			return nil
		}
		found, err := p.findCS(ctx, csFindKey{conn, attr, key, false})
		if err != nil {
			return err
		}
		for _, o := range found {
			if !present(o) || !holds(m, o.Attrs, attr, key) {
				continue
			}
			i := slices.IndexFunc(cands, func(c *cand) bool { return c.o == o })
			if i < 0 {
				cands = append(cands, &cand{o: o})
				i = len(cands) - 1
			}
			cands[i].via = append(cands[i].via, attr)
		}
		return nil
	}
	if kind == config.MatchUser {
		if err := add(m.UserPrincipalNameAttribute, k.upn); err != nil {
			return matchNone, err
		}
	}
	if err := add(m.ProxyAddressesAttribute, k.smtp); err != nil {
		return matchNone, err
	}
	if len(cands) == 0 {
		return matchNone, nil
	}
	describe := func(c *cand) string {
		var parts []string
		for _, a := range c.via {
			switch a {
			case m.ProxyAddressesAttribute:
				parts = append(parts, fmt.Sprintf("primary SMTP address %q", k.smtpShown))
			default:
				parts = append(parts, fmt.Sprintf("%s %q", a, firstString(target[a])))
			}
		}
		return strings.Join(parts, " and ")
	}
	var eligible []*cand
	for _, cd := range cands {
		o := cd.o
		theirs := firstString(o.Attrs[imm])
		switch {
		case o.MVID != "" || o.Anchor == "" || o.ObjectType != rule.CSType:
			return conflict(o, fmt.Sprintf("same %s as an object that cannot be taken over (%s)", describe(cd), whyHeld(o, rule.CSType)))
		case theirs != "" && theirs != k.immutable:
			name := conflictName(m, cd.via, k, o.Attrs)
			return conflict(o, fmt.Sprintf("same %s, but its %s %q differs from the source anchor %q: AttributeValueMustBeUnique (%s) at export, never a takeover", describe(cd), imm, theirs, k.immutable, name))
		case m.Privileged(o.Attrs):
			return conflict(o, fmt.Sprintf("same %s, but the object holds a privileged role (%s) and is never matched", describe(cd), m.PrivilegedAttribute))
		}
		eligible = append(eligible, cd)
	}
	if len(eligible) > 1 {
		objs := make([]*idsync.CSObject, len(eligible))
		for i, e := range eligible {
			objs[i] = e.o
		}
		return ambiguous(fmt.Sprintf("soft match: %d objects of %s match (%s)", len(eligible), conn, dnList(objs)))
	}
	cd := eligible[0]
	if m.BlockSoftMatch {
		return conflict(cd.o, fmt.Sprintf("same %s, but soft match is blocked on %s (matching.blockSoftMatch)", describe(cd), conn))
	}
	return p.take(ctx, mv, cd.o, rule, rules, replacing, "soft-match", "same "+describe(cd))
}

// conflictName is the AttributeConflictName of a soft-match conflict:
// OnPremiseSecurityIdentifier when the primary SMTP address and the
// security identifier are both the same, ProxyAddresses for the address
// alone, UserPrincipalName for the name.
func conflictName(m *config.Matching, via []string, k matchKeys, holder idsync.Attrs) string {
	if slices.Contains(via, m.ProxyAddressesAttribute) {
		if k.sid != "" && holds(m, holder, m.SecurityIdentifierAttribute, k.sid) {
			return ConflictSecurityIdentifier
		}
		return ConflictProxyAddresses
	}
	return ConflictUserPrincipalName
}

func whyHeld(o *idsync.CSObject, csType string) string {
	switch {
	case o.MVID != "":
		return fmt.Sprintf("%s is joined to metaverse object %s", o.DN, o.MVID)
	case o.Anchor == "":
		return fmt.Sprintf("%s is not confirmed by an import yet", o.DN)
	case o.ObjectType != csType:
		return fmt.Sprintf("%s is a %s, not a %s", o.DN, o.ObjectType, csType)
	}
	return o.DN
}

func dnList(objs []*idsync.CSObject) string {
	dns := make([]string, len(objs))
	for i, o := range objs {
		dns[i] = o.DN
	}
	return strings.Join(dns, "; ")
}

// take links mv to the existing object o and converts o to
// source-managed: every attribute with a source value is overwritten,
// the source anchor included (§12).
func (p *syncPage) take(ctx context.Context, mv *idsync.MVObject, o *idsync.CSObject, rule *compiledRule, rules []*compiledRule, replacing *idsync.CSObject, how, detail string) (matchOutcome, error) {
	c := p.counters()
	if replacing != nil {
		// the add was never sent: drop it, the existing object replaces it
		p.unlink(replacing)
		p.delCS[replacing.ID] = true
		p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule.Name, Action: "deprovision", CSID: replacing.ID, DN: replacing.DN, Detail: "an unexported add replaced by a " + how})
	}
	p.link(o, mv.ID, rule)
	if how == "hard-match" {
		c.HardMatches++
	} else {
		c.SoftMatches++
	}
	target, dn, err := p.computeOutbound(ctx, mv, o, o.Connector, rules, true, nil)
	if err != nil {
		p.r.objErr(idsync.ObjectError{Connector: o.Connector, CSID: o.ID, MVID: mv.ID, DN: o.DN, Rule: errRule(err, rule.Name), Type: errType(err), Message: err.Error()})
		p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule.Name, Action: how, CSID: o.ID, DN: o.DN, Detail: detail})
		return matchTaken, nil
	}
	caps := p.connectorCaps(o.Connector)
	have := effectiveAttrs(o)
	var mods []idsync.AttrMod
	for _, name := range idsync.SortedNames(target) {
		want := target[name]
		if len(want) == 0 || idsync.ValuesEqual(want, have[name]) {
			continue // no source value: the target keeps its own
		}
		mods = append(mods, diffMods(name, have[name], want, caps)...)
	}
	pe := &idsync.PendingExport{Op: idsync.OpUpdate, Mods: mods}
	if isRename(caps, o.DN, dn) {
		pe.NewDN = dn
		c.Renames++
	}
	if len(pe.Mods) > 0 || pe.NewDN != "" {
		o.PendingExport = pe
		c.ExportFlows++
	} else {
		o.PendingExport = nil
	}
	p.markCS(o)
	p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule.Name, Action: how, CSID: o.ID, DN: o.DN, NewDN: pe.NewDN, Mods: pe.Mods, Detail: detail})
	return matchTaken, nil
}

// withMatchIndexes adds to ix the target attributes that matching looks
// up by value (§12), per connector with a matching block.
func withMatchIndexes(ix store.Indexes, cfg *config.Config) store.Indexes {
	for _, c := range cfg.Connectors {
		attrs := c.Matching.Attributes()
		if len(attrs) == 0 {
			continue
		}
		if ix.CS == nil {
			ix.CS = map[string][]string{}
		}
		list := slices.Clone(ix.CS[c.Name])
		for _, a := range attrs {
			if !slices.Contains(list, a) {
				list = append(list, a)
			}
		}
		slices.Sort(list)
		ix.CS[c.Name] = list
	}
	return ix
}
