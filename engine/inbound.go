package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// contribution is one flow of one in-scope rule of one linked CS object.
type contribution struct {
	rule *compiledRule
	flow *compiledFlow
	cs   *idsync.CSObject
}

// recompute computes the MV object's attributes from every linked CS
// object's in-scope inbound rules, by precedence (§7.5), and records
// lineage for every value that changed. It changes mv only when every
// flow evaluated without error. It reports whether mv changed.
func (p *syncPage) recompute(ctx context.Context, mv *idsync.MVObject, syncing *idsync.CSObject, isNew bool) (bool, error) {
	contribs := map[string][]contribution{}
	for _, cs := range p.links[mv.ID] {
		if cs.Kind != idsync.KindStaging || cs.Obsolete || cs.Anchor == "" || cs.PendingImport == idsync.ImportDelete || p.delCS[cs.ID] {
			continue
		}
		for _, r := range p.inScopeInbound(ctx, cs) {
			if r.MVType != mv.ObjectType {
				continue
			}
			for i := range r.flows {
				f := &r.flows[i]
				contribs[f.Target] = append(contribs[f.Target], contribution{r, f, cs})
			}
		}
	}
	targets := map[string]bool{}
	for t := range p.e.rules.inboundTargets[mv.ObjectType] {
		targets[t] = true
	}
	for t := range contribs {
		targets[t] = true
	}
	names := make([]string, 0, len(targets))
	for t := range targets {
		names = append(names, t)
	}
	sort.Strings(names)
	cls := p.e.rules.mv.Class(mv.ObjectType)

	type outcome struct {
		vals []idsync.Value
		lin  *idsync.Lineage
		keep bool
	}
	results := make(map[string]outcome, len(names))
	for _, target := range names {
		list := contribs[target]
		sort.SliceStable(list, func(i, j int) bool {
			a, b := list[i].rule, list[j].rule
			if a.Precedence != b.Precedence {
				return a.Precedence < b.Precedence
			}
			return p.e.connIndex(a.Connector) < p.e.connIndex(b.Connector)
		})
		def := idsync.AttrDef{Name: target, Type: 0, MultiValued: true}
		if cls != nil {
			if d, ok := cls.Attr(target); ok {
				def = d
			}
		}
		vals, win, keep, err := p.evalTarget(ctx, mv, def, list, isNew)
		if err != nil {
			return false, err
		}
		oc := outcome{vals: vals, keep: keep}
		if win != nil {
			oc.lin = &idsync.Lineage{Rule: win.rule.Name, Connector: win.cs.Connector, CSID: win.cs.ID, RunID: p.runID(), At: p.now, Flow: win.flow.Describe()}
		}
		results[target] = oc
	}
	changed := false
	for _, target := range names {
		oc := results[target]
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
			mv.Attrs = idsync.Attrs{}
		}
		if mv.Lineage == nil {
			mv.Lineage = map[string]idsync.Lineage{}
		}
		old, hadLin := mv.Lineage[target]
		if !idsync.ValuesEqual(before, oc.vals) {
			mv.Attrs[target] = oc.vals
			mv.Lineage[target] = *oc.lin
			changed = true
		} else if !hadLin || old.Rule != oc.lin.Rule || old.CSID != oc.lin.CSID {
			mv.Lineage[target] = *oc.lin
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
		ft := FlowTrace{Rule: ct.rule.Name, Connector: ct.cs.Connector, Precedence: ct.rule.Precedence, Target: def.Name, Flow: ct.flow.Describe(), Before: before}
		if ct.flow.ApplyOnce && !isNew {
			ft.Outcome = "apply-once-skipped"
			p.tr.flow(ft)
			ignored = true
			continue
		}
		env := &attrEnv{attrs: ct.cs.Attrs, imported: ct.cs.Attrs, params: ct.rule.params}
		vs, out, err := ct.flow.eval(env)
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
				t := p.csByDN(ctx, ct.cs.Connector, v.Str)
				if t == nil || t.MVID == "" || p.delMV[t.MVID] {
					if !p.fixup && p.unresolvedOK(t) {
						p.unresolved = append(p.unresolved, mv.ID)
					}
					continue
				}
				out = append(out, idsync.Ref(t.MVID))
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

// unresolvedOK says whether a reference target may still be joined later
// in this run: a staging object that is not joined yet.
func (p *syncPage) unresolvedOK(t *idsync.CSObject) bool {
	return t != nil && t.Kind == idsync.KindStaging && t.Anchor != ""
}

// valuesText renders values for messages.
func valuesText(vs []idsync.Value) string {
	ss := make([]string, len(vs))
	for i, v := range vs {
		ss[i] = v.String()
	}
	return strings.Join(ss, "; ")
}

var _ = slices.Contains[[]string]
