package engine

import (
	"context"
	"fmt"
	"slices"
	"sort"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

// runOutbound runs the outbound rules for every MV object of the page
// that changed (§4.2).
func (p *syncPage) runOutbound(ctx context.Context) error {
	if len(p.outbound) == 0 {
		return nil
	}
	// One query for the CS objects that MV reference values point to.
	var refs []string
	for _, id := range p.outbound {
		mv := p.mv[id]
		if mv == nil || p.delMV[id] {
			continue
		}
		for _, vs := range mv.Attrs {
			for _, v := range vs {
				if v.Type == idsync.TypeReference && v.Str != "" {
					if _, ok := p.links[v.Str]; !ok {
						refs = append(refs, v.Str)
					}
				}
			}
		}
	}
	if len(refs) > 0 {
		got, err := p.tx.LinksByMV(ctx, "", dedupe(refs))
		if err != nil {
			return fmt.Errorf("engine: resolve references: %w", err)
		}
		for _, id := range refs {
			p.mvLinks[id] = got[id]
		}
	}
	if err := p.prefetchOutbound(ctx); err != nil {
		return err
	}
	for i := 0; i < len(p.outbound); i++ {
		id := p.outbound[i]
		mv := p.mv[id]
		if mv == nil || p.delMV[id] {
			continue
		}
		if err := p.outboundMV(ctx, mv); err != nil {
			return err
		}
	}
	return nil
}

// outboundMV provisions, deprovisions or stages export flows for one MV
// object in every connector that has outbound rules for its type.
func (p *syncPage) outboundMV(ctx context.Context, mv *idsync.MVObject) error {
	c := p.counters()
	retry := mv.RetryProvisioning
	for _, conn := range p.e.rules.connOrder {
		rules := p.e.rules.outbound[conn]
		if len(rules) == 0 {
			continue
		}
		var applicable, inScope []*compiledRule
		for _, r := range rules {
			if r.MVType != mv.ObjectType && r.MVType != "*" {
				continue
			}
			applicable = append(applicable, r)
			in, detail := p.outboundScope(mv, r)
			p.tr.scope(r, in, detail)
			if in {
				inScope = append(inScope, r)
			}
		}
		if len(applicable) == 0 {
			continue
		}
		var linked []*idsync.CSObject
		for _, o := range p.links[mv.ID] {
			if o.Connector == conn {
				linked = append(linked, o)
			}
		}
		if len(linked) == 0 {
			if len(inScope) == 0 {
				continue
			}
			o, rule, failed, err := p.outboundJoin(ctx, mv, conn, inScope)
			if err != nil {
				return err
			}
			if failed {
				continue // an ambiguous join is an error, never a new object
			}
			if o != nil {
				p.link(o, mv.ID, rule)
				c.Joins++
				p.tr.outbound(OutboundTrace{Connector: conn, Rule: rule.Name, Action: "join", CSID: o.ID, DN: o.DN})
				if err := p.exportFlow(ctx, mv, o, rulesFor(inScope, o.ObjectType)); err != nil {
					return err
				}
				continue
			}
			var prov *compiledRule
			for _, r := range inScope {
				if r.LinkType == idsync.LinkProvision {
					prov = r
					break
				}
			}
			if prov == nil {
				continue
			}
			if err := p.provision(ctx, mv, conn, prov, rulesFor(inScope, prov.CSType)); err != nil {
				return err
			}
			continue
		}
		m := p.matching(conn)
		for _, o := range linked {
			rs := rulesFor(inScope, o.ObjectType)
			if len(rs) == 0 {
				if o.LinkType == idsync.LinkStickyJoin || !slices.ContainsFunc(applicable, func(r *compiledRule) bool { return r.CSType == o.ObjectType || r.CSType == "*" }) {
					continue
				}
				if isInboundLink(p.e, o) {
					// joined by an inbound rule of that connector: outbound
					// scope does not decide its link
					continue
				}
				p.deprovision(o, o.LinkRule)
				continue
			}
			if m != nil && unexportedAdd(o) {
				// never created in the target: still a new object (§12)
				taken, err := p.rematch(ctx, mv, o, m, rs)
				if err != nil {
					return err
				}
				if taken {
					continue
				}
			}
			if err := p.exportFlow(ctx, mv, o, rs); err != nil {
				return err
			}
		}
	}
	if retry {
		mv.RetryProvisioning = false
		p.markMV(mv)
	}
	// §2.2: deprovisioning may have removed the last link.
	if len(p.links[mv.ID]) == 0 && !p.delMV[mv.ID] {
		if cl := p.e.rules.mv.Class(mv.ObjectType); cl == nil || len(cl.DeletionRule.Connectors) == 0 {
			return p.deleteMV(ctx, mv)
		}
	}
	return nil
}

// isInboundLink reports whether o was linked by an inbound rule.
func isInboundLink(e *Engine, o *idsync.CSObject) bool {
	for _, r := range e.rules.inbound[o.Connector] {
		if r.Name == o.LinkRule {
			return true
		}
	}
	return false
}

func rulesFor(rs []*compiledRule, csType string) []*compiledRule {
	var out []*compiledRule
	for _, r := range rs {
		if r.CSType == csType || r.CSType == "*" {
			out = append(out, r)
		}
	}
	return out
}

// mvMemberOf answers ISMEMBEROF for an MV object: the group (an MV
// object ID) lists it in member.
func (p *syncPage) mvMemberOf(mv *idsync.MVObject) memberOfFunc {
	return func(group string) bool {
		g := p.mv[group]
		if g == nil {
			got, err := p.tx.MVByIDs(context.Background(), []string{group})
			if err != nil || got[group] == nil {
				return false
			}
			g = got[group]
		}
		for _, v := range g.Attrs["member"] {
			if v.Str == mv.ID {
				return true
			}
		}
		return false
	}
}

// outboundJoin looks for a disjoined CS object in conn that an in-scope
// outbound rule's join conditions match (§7.3). failed reports an error
// recorded on the object (two rules with join rules, an ambiguous join):
// then nothing may be provisioned either.
func (p *syncPage) outboundJoin(ctx context.Context, mv *idsync.MVObject, conn string, inScope []*compiledRule) (_ *idsync.CSObject, _ *compiledRule, failed bool, _ error) {
	var jr []*compiledRule
	for _, r := range inScope {
		if r.hasJoin {
			jr = append(jr, r)
		}
	}
	if len(jr) == 0 {
		return nil, nil, false, nil
	}
	if len(jr) > 1 {
		p.r.objErr(idsync.ObjectError{Connector: conn, MVID: mv.ID, Rule: jr[0].Name, Type: "two-join-rules", Message: fmt.Sprintf("%d in-scope outbound rules of %s have join rules: at most one may apply", len(jr), conn)})
		return nil, nil, true, nil
	}
	r := jr[0]
	for gi, g := range r.Join {
		var cands []string
		first := true
		for _, cond := range g {
			var ids []string
			for _, v := range mv.Attrs[cond.Source] {
				s := v.String()
				if !cond.CaseSensitive {
					s = store.FoldValue(s)
				}
				found, err := p.findCS(ctx, csFindKey{conn, cond.Target, s, cond.CaseSensitive})
				if err != nil {
					return nil, nil, false, fmt.Errorf("engine: outbound join lookup: %w", err)
				}
				for _, o := range found {
					ids = append(ids, o.ID)
				}
			}
			ids = dedupe(ids)
			if first {
				cands, first = ids, false
			} else {
				cands = intersect(cands, ids)
			}
		}
		if len(cands) == 0 {
			continue
		}
		var free []*idsync.CSObject
		for _, id := range cands {
			o := p.cs[id]
			if o == nil {
				continue
			}
			if o.MVID == "" && o.Kind == idsync.KindStaging && (o.ObjectType == r.CSType || r.CSType == "*") && !p.delCS[o.ID] {
				free = append(free, o)
			}
		}
		if len(free) > 1 {
			p.r.objErr(idsync.ObjectError{Connector: conn, MVID: mv.ID, Rule: r.Name, Type: "ambiguous-join", Message: fmt.Sprintf("outbound join group %d matches %d objects in %s: an ambiguous join is never guessed, and nothing is provisioned", gi+1, len(free), conn)})
			p.tr.outbound(OutboundTrace{Connector: conn, Rule: r.Name, Action: "error", Detail: fmt.Sprintf("ambiguous join: group %d matches %d objects (%s)", gi+1, len(free), dnList(free))})
			return nil, nil, true, nil
		}
		if len(free) == 1 {
			return free[0], r, false, nil
		}
	}
	return nil, nil, false, nil
}

// provision creates an export object in conn for mv (§4.2).
func (p *syncPage) provision(ctx context.Context, mv *idsync.MVObject, conn string, rule *compiledRule, rules []*compiledRule) error {
	target, dn, err := p.computeOutbound(ctx, mv, nil, conn, rules, true, nil)
	if err != nil {
		p.r.objErr(idsync.ObjectError{Connector: conn, MVID: mv.ID, Rule: errRule(err, rule.Name), Type: errType(err), Message: err.Error()})
		return nil
	}
	if m := p.matching(conn); m != nil {
		// §12: take over an existing object rather than create one
		outcome, err := p.match(ctx, mv, conn, m, rule, rules, target, nil)
		if err != nil || outcome != matchNone {
			return err
		}
	}
	o := &idsync.CSObject{
		ID: newID(), Connector: conn, ObjectType: rule.CSType, Kind: idsync.KindStaging,
		DN: dn, Provisioned: true,
		PendingExport: &idsync.PendingExport{Op: idsync.OpAdd, Mods: idsync.ModsFromAttrs(target)},
	}
	p.link(o, mv.ID, rule)
	p.counters().ProvisionedAdds++
	p.tr.outbound(OutboundTrace{Connector: conn, Rule: rule.Name, Action: "provision", CSID: o.ID, DN: dn, Mods: o.PendingExport.Mods})
	return nil
}

func errRule(err error, def string) string {
	if se, ok := err.(*syncError); ok && se.rule != "" {
		return se.rule
	}
	return def
}

func errType(err error) string {
	if se, ok := err.(*syncError); ok {
		return se.typ
	}
	return "sync-error"
}

// isRename says whether the DN a dn flow computed for an object of a
// connector with caps renames it. A connector whose DN is its anchor
// (dnStyle none: a SCIM application, an API) names an object only until
// the system gives it an anchor: the dn flow's value is then no new name.
func isRename(caps connector.Capabilities, oldDN, dn string) bool {
	return dn != "" && dn != oldDN && caps.DNStyle != connector.DNNone
}

// exportFlow computes the target values of a joined CS object and stages
// the differences as a pending export (§4.2, §6.2).
func (p *syncPage) exportFlow(ctx context.Context, mv *idsync.MVObject, o *idsync.CSObject, rules []*compiledRule) error {
	isAdd := o.PendingExport != nil && o.PendingExport.Op == idsync.OpAdd && o.Anchor == ""
	target, dn, err := p.computeOutbound(ctx, mv, o, o.Connector, rules, isAdd, nil)
	if err != nil {
		p.r.objErr(idsync.ObjectError{Connector: o.Connector, CSID: o.ID, MVID: mv.ID, DN: o.DN, Rule: errRule(err, ""), Type: errType(err), Message: err.Error()})
		return nil
	}
	if isAdd {
		// not exported yet: the pending add carries the whole object
		mods := idsync.ModsFromAttrs(target)
		if !modsEqual(mods, o.PendingExport.Mods) || (dn != "" && dn != o.DN) {
			o.PendingExport.Mods = mods
			if dn != "" {
				o.DN = dn
			}
			p.markCS(o)
			p.tr.outbound(OutboundTrace{Connector: o.Connector, Action: "update", CSID: o.ID, DN: o.DN, Mods: mods})
		}
		return nil
	}
	caps := p.connectorCaps(o.Connector)
	effective := o.Attrs.Clone()
	if effective == nil {
		effective = idsync.Attrs{}
	}
	for k, vs := range o.ExportStatus {
		effective[k] = vs
	}
	var mods []idsync.AttrMod
	names := idsync.SortedNames(target)
	for _, name := range names {
		want := target[name]
		have := effective[name]
		if idsync.ValuesEqual(want, have) {
			continue
		}
		mods = append(mods, diffMods(name, have, want, caps)...)
	}
	rename := isRename(caps, o.DN, dn)
	if o.PendingExport != nil && o.PendingExport.Op == idsync.OpDelete {
		// re-armed delete of a still-linked object: the flows decide now
		o.PendingExport = nil
	}
	if len(mods) == 0 && !rename {
		if o.PendingExport != nil && o.PendingExport.Op == idsync.OpUpdate {
			o.PendingExport = nil
			p.markCS(o)
		}
		p.tr.outbound(OutboundTrace{Connector: o.Connector, Action: "none", CSID: o.ID, DN: o.DN})
		return nil
	}
	// §6.2: every export of the object re-sends unconfirmed values.
	for _, name := range idsync.SortedNames(o.ExportStatus) {
		if !slices.ContainsFunc(mods, func(m idsync.AttrMod) bool { return m.Name == name }) {
			mods = append(mods, idsync.AttrMod{Name: name, Op: idsync.AttrReplace, Values: o.ExportStatus[name]})
		}
	}
	pe := &idsync.PendingExport{Op: idsync.OpUpdate, Mods: mods}
	if rename {
		pe.NewDN = dn
		p.counters().Renames++
	}
	if o.PendingExport == nil || !modsEqual(o.PendingExport.Mods, pe.Mods) || o.PendingExport.NewDN != pe.NewDN {
		o.PendingExport = pe
		p.markCS(o)
		p.counters().ExportFlows++
	}
	action := "update"
	if rename {
		action = "rename"
	}
	p.tr.outbound(OutboundTrace{Connector: o.Connector, Action: action, CSID: o.ID, DN: o.DN, NewDN: pe.NewDN, Mods: mods})
	return nil
}

// diffMods turns a value change into attribute modifications, per the
// connector's export type.
func diffMods(name string, have, want []idsync.Value, caps connector.Capabilities) []idsync.AttrMod {
	valueLevel := caps.ExportType == connector.ExportAttributeUpdate ||
		caps.ExportType == connector.ExportMultivaluedReferenceAttributeUpdate && isRef(want, have)
	if !valueLevel || len(want) == 0 || len(have) == 0 || (len(want) == 1 && len(have) == 1) {
		return []idsync.AttrMod{{Name: name, Op: idsync.AttrReplace, Values: want}}
	}
	var add, del []idsync.Value
	for _, v := range want {
		if !slices.ContainsFunc(have, v.Equal) {
			add = append(add, v)
		}
	}
	for _, v := range have {
		if !slices.ContainsFunc(want, v.Equal) {
			del = append(del, v)
		}
	}
	var mods []idsync.AttrMod
	if len(add) > 0 {
		mods = append(mods, idsync.AttrMod{Name: name, Op: idsync.AttrAdd, Values: add})
	}
	if len(del) > 0 {
		mods = append(mods, idsync.AttrMod{Name: name, Op: idsync.AttrDelete, Values: del})
	}
	return mods
}

func isRef(a, b []idsync.Value) bool {
	for _, v := range append(slices.Clone(a), b...) {
		if v.Type == idsync.TypeReference {
			return true
		}
	}
	return false
}

func modsEqual(a, b []idsync.AttrMod) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name || a[i].Op != b[i].Op || !idsync.ValuesEqual(a[i].Values, b[i].Values) {
			return false
		}
	}
	return true
}

// computeOutbound evaluates the outbound flows of rules on mv for a
// target CS object (nil when provisioning), by precedence. It returns the
// target attribute values (an empty list for an AuthoritativeNull) and the
// DN computed by a "dn" flow. When only is not nil, only the flows to
// those attributes are evaluated.
func (p *syncPage) computeOutbound(ctx context.Context, mv *idsync.MVObject, o *idsync.CSObject, conn string, rules []*compiledRule, isAdd bool, only []string) (idsync.Attrs, string, error) {
	type ct struct {
		rule *compiledRule
		flow *compiledFlow
	}
	var names []string
	var lists [][]ct
	if len(rules) == 1 {
		// one rule: its flows in order, no grouping needed
		r := rules[0]
		names = make([]string, len(r.flows))
		lists = make([][]ct, len(r.flows))
		for i := range r.flows {
			names[i] = r.flows[i].Target
			lists[i] = []ct{{r, &r.flows[i]}}
		}
	} else {
		per := map[string][]ct{}
		for _, r := range rules {
			for i := range r.flows {
				f := &r.flows[i]
				per[f.Target] = append(per[f.Target], ct{r, f})
			}
		}
		for n := range per {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			list := per[n]
			sort.SliceStable(list, func(i, j int) bool { return list[i].rule.Precedence < list[j].rule.Precedence })
			lists = append(lists, list)
		}
	}
	var imported idsync.Attrs
	if o != nil {
		imported = o.Attrs
	}
	out := make(idsync.Attrs, len(names))
	dn := ""
	envs := map[*compiledRule]*attrEnv{}
	for li, name := range names {
		if only != nil && !slices.Contains(only, name) {
			continue
		}
		list := lists[li]
		var result []idsync.Value
		decided, merging, ignored := false, false, false
		for _, c := range list {
			if c.flow.ApplyOnce && !isAdd {
				ignored = true
				continue
			}
			env := envs[c.rule]
			if env == nil {
				env = &attrEnv{attrs: mv.Attrs, imported: imported, params: c.rule.params}
				envs[c.rule] = env
			}
			vs, oc, err := c.flow.eval(env)
			if err != nil {
				return nil, "", flowError(c.rule, name, err)
			}
			if oc == outValue {
				vs = p.convertOut(mv, conn, vs)
				if len(vs) == 0 {
					oc = outNull
				}
			}
			switch oc {
			case outIgnore:
				ignored = true
				continue
			case outNull:
				continue
			case outAuthNull:
				if !merging {
					result, decided = nil, true
				}
			case outValue:
				if c.flow.Merge == idsync.MergeMerge || c.flow.Merge == idsync.MergeCaseInsensitive {
					merging = true
					result = mergeValues(result, vs, c.flow.Merge == idsync.MergeCaseInsensitive)
					continue
				}
				if merging {
					continue
				}
				result, decided = vs, true
			}
			break
		}
		if !decided && !merging {
			mergeOnly := len(list) > 0
			for _, c := range list {
				mergeOnly = mergeOnly && (c.flow.Merge == idsync.MergeMerge || c.flow.Merge == idsync.MergeCaseInsensitive)
			}
			if ignored || mergeOnly {
				// Merge flows that contribute nothing leave the target
				// attribute alone: they add values, never remove them.
				continue
			}
			result = nil
		}
		if merging && !decided && o != nil {
			// Outbound Merge flows add their values to what the target
			// object holds (Entra's Exchange hybrid writeback adds an X500
			// address to proxyAddresses and keeps the others).
			fold := false
			for _, c := range list {
				fold = fold || c.flow.Merge == idsync.MergeCaseInsensitive
			}
			result = mergeValues(slices.Clone(o.Attrs[name]), result, fold)
		}
		if name == idsync.DNAttr {
			if len(result) > 0 {
				dn = result[0].String()
			}
			continue
		}
		if result == nil {
			result = []idsync.Value{}
		}
		if isAdd && len(result) == 0 {
			continue
		}
		out[name] = result
	}
	// Attributes flowed to nothing are only removals when the object has them.
	for k, vs := range out {
		if len(vs) == 0 && o != nil && len(o.Attrs[k]) == 0 && len(o.ExportStatus[k]) == 0 {
			delete(out, k)
		}
	}
	return out, dn, nil
}

// convertOut turns MV reference values (MV object IDs) into the DNs of
// the CS objects linked to them in conn. A reference to an object not
// (yet) provisioned there is left out, and the MV object revisited at the
// end of the run.
func (p *syncPage) convertOut(mv *idsync.MVObject, conn string, vs []idsync.Value) []idsync.Value {
	out := vs[:0:0]
	for _, v := range vs {
		if v.Type != idsync.TypeReference {
			out = append(out, v)
			continue
		}
		dn, exists := p.linkedDN(v.Str, conn)
		if dn == "" {
			if !p.fixup && exists {
				p.unresolved = append(p.unresolved, mv.ID)
			}
			continue
		}
		out = append(out, idsync.Ref(dn))
	}
	return out
}

// linkedDN returns the DN of the CS object of conn linked to MV object
// mvID, and whether that MV object exists at all (so that a missing DN
// may still appear later in the run).
func (p *syncPage) linkedDN(mvID, conn string) (string, bool) {
	if ls, ok := p.links[mvID]; ok {
		for _, o := range ls {
			if o.Connector == conn && !p.delCS[o.ID] {
				return o.DN, true
			}
		}
		return "", p.mv[mvID] != nil && !p.delMV[mvID]
	}
	ls, ok := p.mvLinks[mvID]
	if !ok {
		got, err := p.tx.LinksByMV(context.Background(), "", []string{mvID})
		if err != nil {
			return "", false
		}
		ls = got[mvID]
		p.mvLinks[mvID] = ls
	}
	for _, l := range ls {
		if l.Connector != conn {
			continue
		}
		if o := p.cs[l.ID]; o != nil {
			if o.MVID == mvID && !p.delCS[o.ID] {
				return o.DN, true
			}
			continue
		}
		return l.DN, true
	}
	return "", len(ls) > 0 && !p.delMV[mvID]
}

// rematch matches again an export object whose add was never sent
// successfully (a uniqueness conflict at export, typically): once the
// conflict is resolved — the source anchor made equal to the existing
// object's immutable ID, a role removed, a switch turned off — the
// existing object is taken over and the add dropped (§12).
func (p *syncPage) rematch(ctx context.Context, mv *idsync.MVObject, o *idsync.CSObject, m *config.Matching, rules []*compiledRule) (bool, error) {
	var rule *compiledRule
	for _, r := range rules {
		if r.Name == o.LinkRule {
			rule = r
		}
	}
	if rule == nil || rule.LinkType != idsync.LinkProvision {
		return false, nil
	}
	target, _, err := p.computeOutbound(ctx, mv, nil, o.Connector, rules, true, nil)
	if err != nil {
		return false, nil // exportFlow reports it
	}
	outcome, err := p.match(ctx, mv, o.Connector, m, rule, rules, target, o)
	return outcome == matchTaken, err
}

// outboundScope evaluates an outbound rule's scope on mv once per page
// (the outbound prefetch and outboundMV both ask).
func (p *syncPage) outboundScope(mv *idsync.MVObject, r *compiledRule) (bool, string) {
	k := outScopeKey{mv.ID, r}
	if res, ok := p.outScope[k]; ok {
		return res.in, res.detail
	}
	in, detail := r.inScope(mv.Attrs, p.mvMemberOf(mv))
	p.outScope[k] = outScopeResult{in, detail}
	return in, detail
}

type outScopeKey struct {
	mvID string
	rule *compiledRule
}

type outScopeResult struct {
	in     bool
	detail string
}
