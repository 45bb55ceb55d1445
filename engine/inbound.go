package engine

import (
	"context"
	"errors"
	"fmt"
	"sort"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// contribution is one flow of one in-scope rule of one linked CS object.
type contribution struct {
	rule *compiledRule
	flow *compiledFlow
	cs   *idsync.CSObject
	env  *attrEnv
}

// mvTypeInfo is what recompute needs about one MV object type, computed
// once per rule set.
type mvTypeInfo struct {
	targets []string // every MV attribute some inbound rule flows, sorted
	pos     map[string]int
	defs    []idsync.AttrDef // by position in targets
}

func (rs *ruleSet) typeInfo(mvType string) *mvTypeInfo {
	rs.infoMu.Lock()
	defer rs.infoMu.Unlock()
	if ti := rs.info[mvType]; ti != nil {
		return ti
	}
	ti := &mvTypeInfo{pos: map[string]int{}}
	for t := range rs.inboundTargets[mvType] {
		ti.targets = append(ti.targets, t)
	}
	sort.Strings(ti.targets)
	cls := rs.mv.Class(mvType)
	for i, t := range ti.targets {
		ti.pos[t] = i
		def := idsync.AttrDef{Name: t, MultiValued: true}
		if cls != nil {
			if d, ok := cls.Attr(t); ok {
				def = d
			}
		}
		ti.defs = append(ti.defs, def)
	}
	if rs.info == nil {
		rs.info = map[string]*mvTypeInfo{}
	}
	rs.info[mvType] = ti
	return ti
}

// recompute computes the MV object's attributes from every linked CS
// object's in-scope inbound rules, by precedence (§7.5), and records
// lineage for every value that changed. It changes mv only when every
// flow evaluated without error. It reports whether mv changed.
func (p *syncPage) recompute(ctx context.Context, mv *idsync.MVObject, isNew bool) (bool, error) {
	ti := p.e.rules.typeInfo(mv.ObjectType)
	n := len(ti.targets)
	if cap(p.scratch) < n {
		p.scratch = make([][]contribution, n)
	}
	per := p.scratch[:n]
	for i := range per {
		per[i] = per[i][:0]
	}
	for _, cs := range p.links[mv.ID] {
		if cs.Kind != idsync.KindStaging || cs.Obsolete || cs.Anchor == "" || cs.PendingImport == idsync.ImportDelete || p.delCS[cs.ID] {
			continue
		}
		for _, r := range p.inScopeInbound(ctx, cs) {
			if r.MVType != mv.ObjectType {
				continue
			}
			env := &attrEnv{attrs: cs.Attrs, imported: cs.Attrs, params: r.params, dn: cs.DN}
			for i := range r.flows {
				f := &r.flows[i]
				k, ok := ti.pos[f.Target]
				if !ok {
					continue
				}
				per[k] = append(per[k], contribution{r, f, cs, env})
			}
		}
	}
	type outcome struct {
		vals []idsync.Value
		win  *contribution
		keep bool
	}
	results := make([]outcome, n)
	for k := range ti.targets {
		list := per[k]
		if len(list) > 1 {
			sort.SliceStable(list, func(i, j int) bool {
				a, b := list[i].rule, list[j].rule
				if a.Precedence != b.Precedence {
					return a.Precedence < b.Precedence
				}
				return p.e.connIndex(a.Connector) < p.e.connIndex(b.Connector)
			})
		}
		vals, win, keep, err := p.evalTarget(ctx, mv, ti.defs[k], list, isNew)
		if err != nil {
			return false, err
		}
		results[k] = outcome{vals, win, keep}
	}
	changed := false
	for k, target := range ti.targets {
		oc := results[k]
		if oc.keep {
			continue
		}
		before := mv.Attrs[target]
		if len(oc.vals) == 0 {
			if len(before) > 0 {
				delete(mv.Attrs, target)
				delete(mv.Lineage, target)
				changed = true
			}
			continue
		}
		if mv.Attrs == nil {
			mv.Attrs = make(idsync.Attrs, n)
		}
		if mv.Lineage == nil {
			mv.Lineage = make(map[string]idsync.Lineage, n)
		}
		win := oc.win
		old, hadLin := mv.Lineage[target]
		if !idsync.ValuesEqual(before, oc.vals) {
			mv.Attrs[target] = oc.vals
			mv.Lineage[target] = p.lineage(win)
			changed = true
		} else if !hadLin || old.Rule != win.rule.Name || old.CSID != win.cs.ID {
			mv.Lineage[target] = p.lineage(win)
			changed = true
		}
	}
	if p.tr != nil {
		for i := range p.tr.p.Flows {
			ft := &p.tr.p.Flows[i]
			if ft.After == nil {
				ft.After = mv.Attrs[ft.Target]
			}
		}
	}
	if changed {
		p.markMV(mv)
	}
	return changed, nil
}

func (p *syncPage) lineage(c *contribution) idsync.Lineage {
	return idsync.Lineage{Rule: c.rule.Name, Connector: c.cs.Connector, CSID: c.cs.ID, RunID: p.runID(), At: p.now, Flow: c.flow.Describe()}
}

func (p *syncPage) runID() string {
	if p.r != nil && p.r.res != nil {
		return p.r.res.ID
	}
	return ""
}

// connIndex is a connector's position in configuration (§7.1 tie-break).
func (e *Engine) connIndex(name string) int {
	for i, n := range e.rules.connOrder {
		if n == name {
			return i
		}
	}
	return len(e.rules.connOrder)
}

// evalTarget decides one MV attribute. It returns the values, the
// winning contribution, and keep=true when the attribute must keep its
// current value (every contribution was IgnoreThisFlow or apply-once).
func (p *syncPage) evalTarget(ctx context.Context, mv *idsync.MVObject, def idsync.AttrDef, list []contribution, isNew bool) ([]idsync.Value, *contribution, bool, error) {
	var result []idsync.Value
	var win *contribution
	ignored, merging := false, false
	before := mv.Attrs[def.Name]
loop:
	for i := range list {
		ct := &list[i]
		var ft FlowTrace
		if p.tr != nil {
			ft = FlowTrace{Rule: ct.rule.Name, Connector: ct.cs.Connector, Precedence: ct.rule.Precedence, Target: def.Name, Flow: ct.flow.Describe(), Before: before}
		}
		if ct.flow.ApplyOnce && !isNew {
			ft.Outcome = "apply-once-skipped"
			p.tr.flow(ft)
			ignored = true
			continue
		}
		vs, out, err := ct.flow.eval(ct.env)
		if err != nil {
			ft.Outcome = "error"
			p.tr.flow(ft)
			return nil, nil, false, flowError(ct.rule, def.Name, err)
		}
		if out == outValue {
			vs, err = p.convertIn(ctx, mv, def, ct, vs)
			if err != nil {
				ft.Outcome = "error"
				p.tr.flow(ft)
				return nil, nil, false, &syncError{rule: ct.rule.Name, typ: "flow-error", msg: fmt.Sprintf("flow to %s: %v", def.Name, err)}
			}
			if len(vs) == 0 {
				out = outNull
			}
		}
		ft.Outcome = outcomeNames[out]
		ft.Result = vs
		switch out {
		case outIgnore:
			p.tr.flow(ft)
			ignored = true
		case outNull:
			p.tr.flow(ft)
		case outAuthNull:
			if win == nil {
				win = ct
				result = nil
				ft.Won = true
			}
			p.tr.flow(ft)
			break loop
		case outValue:
			mt := ct.flow.Merge
			if def.MultiValued && (mt == idsync.MergeMerge || mt == idsync.MergeCaseInsensitive) {
				if win == nil {
					win = ct
					ft.Won = true
				}
				merging = true
				result = mergeValues(result, vs, mt == idsync.MergeCaseInsensitive)
				p.tr.flow(ft)
				continue
			}
			if merging {
				p.tr.flow(ft)
				continue
			}
			win, result = ct, vs
			ft.Won = true
			p.tr.flow(ft)
			break loop
		}
	}
	if win == nil && ignored {
		return nil, nil, true, nil
	}
	if !def.MultiValued && len(result) > 1 {
		result = result[:1]
	}
	return result, win, false, nil
}

func flowError(r *compiledRule, target string, err error) error {
	var ue *expr.UserError
	if errors.As(err, &ue) {
		return &syncError{rule: r.Name, typ: "expression-error", msg: fmt.Sprintf("flow to %s: Error(%q)", target, ue.Msg)}
	}
	return &syncError{rule: r.Name, typ: "expression-error", msg: fmt.Sprintf("flow to %s: %v", target, err)}
}

func mergeValues(acc, vs []idsync.Value, fold bool) []idsync.Value {
	for _, v := range vs {
		dup := false
		for _, x := range acc {
			if fold && x.EqualFold(v) || !fold && x.Equal(v) {
				dup = true
				break
			}
		}
		if !dup {
			acc = append(acc, v)
		}
	}
	return acc
}

// convertIn converts flowed values to the MV attribute's type. Reference
// values (DNs in the contributor's connector space) become MV object IDs;
// a reference to an object not (yet) joined is left out and the MV object
// is revisited at the end of the run.
func (p *syncPage) convertIn(ctx context.Context, mv *idsync.MVObject, def idsync.AttrDef, ct *contribution, vs []idsync.Value) ([]idsync.Value, error) {
	if def.Type == 0 {
		return vs, nil
	}
	out := make([]idsync.Value, 0, len(vs))
	for _, v := range vs {
		if def.Type == idsync.TypeReference {
			if v.Type == idsync.TypeReference || v.Type == idsync.TypeString {
				if v.Str == "" {
					continue
				}
				target, later := p.refTarget(ctx, ct.cs.Connector, v.Str)
				if target == "" || p.delMV[target] {
					if !p.fixup && later {
						p.unresolved = append(p.unresolved, mv.ID)
					}
					continue
				}
				out = append(out, idsync.Ref(target))
				continue
			}
		}
		cv, err := v.Convert(def.Type)
		if err != nil {
			return nil, err
		}
		out = append(out, cv)
	}
	return out, nil
}
