package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

// syncStep runs a full or delta synchronization of one connector (§4).
func (e *Engine) syncStep(ctx context.Context, r *runState, s idsync.RunStep, delta bool) error {
	cn := r.cc.Name
	staging := idsync.KindStaging
	after := ""
	var fixups []string
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := e.st.Begin(ctx, true)
		if err != nil {
			return fmt.Errorf("engine: sync page: %w", err)
		}
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: cn, Kind: &staging, PendingImport: delta, After: after, Limit: s.PageSize})
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("engine: sync page: %w", err)
		}
		if len(objs) == 0 {
			tx.Rollback()
			break
		}
		after = objs[len(objs)-1].ID
		p := newSyncPage(e, r, tx, nil)
		if err := p.run(ctx, objs); err != nil {
			tx.Rollback()
			return err
		}
		if err := p.commit(ctx); err != nil {
			return err
		}
		fixups = append(fixups, p.unresolved...)
		if err := r.heartbeat(ctx); err != nil {
			return fmt.Errorf("engine: sync lock heartbeat: %w", err)
		}
	}
	// MV objects whose export object an import replaced (§3 step 2) are
	// provisioned again, like references to objects processed later in
	// the run, which resolve now.
	retry, err := e.takeRetryProvisioning(ctx)
	if err != nil {
		return err
	}
	fixups = append(fixups, retry...)
	fixups = dedupe(fixups)
	for len(fixups) > 0 {
		n := min(len(fixups), s.PageSize)
		batch := fixups[:n]
		fixups = fixups[n:]
		tx, err := e.st.Begin(ctx, true)
		if err != nil {
			return fmt.Errorf("engine: sync references: %w", err)
		}
		p := newSyncPage(e, r, tx, nil)
		p.fixup = true
		if err := p.runMV(ctx, batch); err != nil {
			tx.Rollback()
			return err
		}
		if err := p.commit(ctx); err != nil {
			return err
		}
	}
	if !delta {
		if err := e.putWatermark(ctx, cn, rulesFingerprintKey, []byte(e.rules.fingerprint)); err != nil {
			return err
		}
	}
	return nil
}

func dedupe(ss []string) []string {
	slices.Sort(ss)
	return slices.Compact(ss)
}

// syncPage holds the objects of one page of synchronization in memory,
// loaded in a few batched queries, and writes them back at commit.
type syncPage struct {
	e   *Engine
	r   *runState
	tx  store.Tx
	tr  *tracer
	now time.Time

	cs    map[string]*idsync.CSObject
	mv    map[string]*idsync.MVObject
	links map[string][]*idsync.CSObject // MV ID -> linked CS objects (complete for loaded MV objects)

	dirtyCS, delCS map[string]bool
	dirtyMV, delMV map[string]bool
	newMV          map[string]bool
	outbound       []string // MV IDs needing outbound, in order
	outboundSet    map[string]bool

	// join candidates found by the batched lookup and projections of this page.
	found  map[joinKey][]string
	newIdx map[joinKey][]string
	// dns caches CS objects by connector and lowercased DN.
	dns map[string]map[string]*idsync.CSObject
	// scope caches inbound scoping results per CS object.
	scopeCache map[string][]*compiledRule
	// refs caches reference DN resolution per connector; mvLinks the
	// links of MV objects that outbound references name.
	refs    map[string]map[string]*store.Link
	mvLinks map[string][]store.Link

	// csFound caches value lookups in connector spaces (outbound join
	// and matching), prefetched per page.
	csFound map[csFindKey][]string
	// outScope caches outbound scoping results per MV object and rule.
	outScope map[outScopeKey]outScopeResult

	unresolved []string
	fixup      bool
	scratch    [][]contribution
}

type joinKey struct {
	attr  string
	value string // lowercased unless case-sensitive
	cs    bool
}

func newSyncPage(e *Engine, r *runState, tx store.Tx, tr *tracer) *syncPage {
	return &syncPage{
		e: e, r: r, tx: tx, tr: tr, now: e.now().UTC(),
		cs: map[string]*idsync.CSObject{}, mv: map[string]*idsync.MVObject{}, links: map[string][]*idsync.CSObject{},
		dirtyCS: map[string]bool{}, delCS: map[string]bool{}, dirtyMV: map[string]bool{}, delMV: map[string]bool{},
		newMV: map[string]bool{}, outboundSet: map[string]bool{},
		found: map[joinKey][]string{}, newIdx: map[joinKey][]string{},
		dns: map[string]map[string]*idsync.CSObject{}, scopeCache: map[string][]*compiledRule{},
		refs: map[string]map[string]*store.Link{}, mvLinks: map[string][]store.Link{},
		csFound: map[csFindKey][]string{}, outScope: map[outScopeKey]outScopeResult{},
	}
}

func (p *syncPage) counters() *idsync.Counters { return &p.r.step.Counters }

// commit writes the page and the run record, and commits.
func (p *syncPage) commit(ctx context.Context) error {
	if err := p.flush(ctx); err != nil {
		p.tx.Rollback()
		return err
	}
	p.r.step.Pages++
	if err := p.r.saveIn(ctx, p.tx); err != nil {
		p.tx.Rollback()
		return err
	}
	if err := p.tx.Commit(); err != nil {
		return fmt.Errorf("engine: commit sync page: %w", err)
	}
	p.e.progress(p.r, false)
	return nil
}

func (p *syncPage) flush(ctx context.Context) error {
	var dels []string
	for id := range p.delCS {
		dels = append(dels, id)
	}
	slices.Sort(dels)
	if len(dels) > 0 {
		if err := p.tx.DeleteCS(ctx, dels); err != nil {
			return fmt.Errorf("engine: sync page: %w", err)
		}
	}
	var puts []*idsync.CSObject
	for id := range p.dirtyCS {
		if !p.delCS[id] {
			puts = append(puts, p.cs[id])
		}
	}
	slices.SortFunc(puts, func(a, b *idsync.CSObject) int { return strings.Compare(a.ID, b.ID) })
	if len(puts) > 0 {
		if err := p.tx.PutCS(ctx, puts); err != nil {
			return fmt.Errorf("engine: sync page: %w", err)
		}
	}
	var mdels []string
	for id := range p.delMV {
		if !p.newMV[id] {
			mdels = append(mdels, id)
		}
	}
	slices.Sort(mdels)
	if len(mdels) > 0 {
		if err := p.tx.DeleteMV(ctx, mdels); err != nil {
			return fmt.Errorf("engine: sync page: %w", err)
		}
	}
	var mputs []*idsync.MVObject
	for id := range p.dirtyMV {
		if !p.delMV[id] {
			mputs = append(mputs, p.mv[id])
		}
	}
	slices.SortFunc(mputs, func(a, b *idsync.MVObject) int { return strings.Compare(a.ID, b.ID) })
	if len(mputs) > 0 {
		if err := p.tx.PutMV(ctx, mputs); err != nil {
			return fmt.Errorf("engine: sync page: %w", err)
		}
	}
	return nil
}

// addCS registers a loaded CS object, keeping one pointer per ID.
func (p *syncPage) addCS(o *idsync.CSObject) *idsync.CSObject {
	if x := p.cs[o.ID]; x != nil {
		return x
	}
	p.cs[o.ID] = o
	return o
}

// loadMV loads MV objects and every CS object linked to them.
func (p *syncPage) loadMV(ctx context.Context, ids []string) error {
	var need []string
	for _, id := range ids {
		if id == "" {
			continue
		}
		if _, ok := p.mv[id]; !ok && !p.delMV[id] {
			need = append(need, id)
		}
	}
	need = dedupe(need)
	if len(need) == 0 {
		return nil
	}
	mvs, err := p.tx.MVByIDs(ctx, need)
	if err != nil {
		return fmt.Errorf("engine: load metaverse objects: %w", err)
	}
	links, err := p.tx.CSByMV(ctx, need)
	if err != nil {
		return fmt.Errorf("engine: load links: %w", err)
	}
	for _, id := range need {
		mv := mvs[id]
		if mv == nil {
			continue
		}
		p.mv[id] = mv
		var ls []*idsync.CSObject
		for _, o := range links[id] {
			o = p.addCS(o)
			if o.MVID == id {
				ls = append(ls, o)
			}
		}
		p.links[id] = ls
	}
	return nil
}

func (p *syncPage) markCS(o *idsync.CSObject) {
	o.Updated = p.now
	p.dirtyCS[o.ID] = true
	p.cs[o.ID] = o
}

func (p *syncPage) markMV(mv *idsync.MVObject) {
	mv.Updated = p.now
	p.dirtyMV[mv.ID] = true
}

func (p *syncPage) needOutbound(mvID string) {
	if !p.outboundSet[mvID] {
		p.outboundSet[mvID] = true
		p.outbound = append(p.outbound, mvID)
	}
}

func (p *syncPage) link(o *idsync.CSObject, mvID string, rule *compiledRule) {
	o.MVID = mvID
	o.LinkRule = rule.Name
	o.LinkType = rule.LinkType
	o.LinkedAt = p.now
	p.links[mvID] = append(p.links[mvID], o)
	p.markCS(o)
}

func (p *syncPage) unlink(o *idsync.CSObject) string {
	mvID := o.MVID
	if mvID == "" {
		return ""
	}
	ls := p.links[mvID]
	out := ls[:0]
	for _, x := range ls {
		if x != o {
			out = append(out, x)
		}
	}
	p.links[mvID] = out
	o.MVID, o.LinkRule, o.LinkType, o.LinkedAt = "", "", 0, time.Time{}
	p.markCS(o)
	return mvID
}

// run synchronizes a page of CS objects of one connector.
func (p *syncPage) run(ctx context.Context, objs []*idsync.CSObject) error {
	for i, o := range objs {
		objs[i] = p.addCS(o)
	}
	var mvIDs []string
	for _, o := range objs {
		if o.MVID != "" {
			mvIDs = append(mvIDs, o.MVID)
		}
	}
	if err := p.loadMV(ctx, mvIDs); err != nil {
		return err
	}
	if err := p.prefetchJoins(ctx, objs); err != nil {
		return err
	}
	if err := p.prefetchRefs(ctx, objs); err != nil {
		return err
	}
	for _, o := range objs {
		if err := ctx.Err(); err != nil {
			return err
		}
		p.counters().Objects++
		if err := p.inbound(ctx, o); err != nil {
			return err
		}
	}
	return p.runOutbound(ctx)
}

// runMV recomputes MV objects from all their links, then outbound.
func (p *syncPage) runMV(ctx context.Context, ids []string) error {
	if err := p.loadMV(ctx, ids); err != nil {
		return err
	}
	var objs []*idsync.CSObject
	for _, id := range ids {
		objs = append(objs, p.links[id]...)
	}
	if err := p.prefetchRefs(ctx, objs); err != nil {
		return err
	}
	for _, id := range ids {
		mv := p.mv[id]
		if mv == nil {
			continue
		}
		if _, err := p.recompute(ctx, mv, false); err != nil {
			p.r.objErr(idsync.ObjectError{MVID: id, Type: "sync-error", Message: err.Error()})
			continue
		}
		p.needOutbound(id)
	}
	return p.runOutbound(ctx)
}

// inScopeInbound returns the inbound rules of o's connector and object
// type whose scope o meets, by precedence.
func (p *syncPage) inScopeInbound(ctx context.Context, o *idsync.CSObject) []*compiledRule {
	if rs, ok := p.scopeCache[o.ID]; ok {
		return rs
	}
	var out []*compiledRule
	for _, r := range p.e.rules.inbound[o.Connector] {
		if r.CSType != o.ObjectType && r.CSType != "*" {
			continue
		}
		in, detail := r.inScope(o.Attrs, p.memberOf(ctx, o))
		p.tr.scope(r, in, detail)
		if in {
			out = append(out, r)
		}
	}
	p.scopeCache[o.ID] = out
	return out
}

// memberOf answers ISMEMBEROF for a CS object: the group (a DN in the
// same connector space) lists o's DN in its member attribute.
func (p *syncPage) memberOf(ctx context.Context, o *idsync.CSObject) memberOfFunc {
	return func(group string) bool {
		g := p.csByDN(ctx, o.Connector, group)
		if g == nil {
			return false
		}
		for _, v := range g.Attrs["member"] {
			if strings.EqualFold(v.Str, o.DN) {
				return true
			}
		}
		return false
	}
}

func (p *syncPage) csByDN(ctx context.Context, conn, d string) *idsync.CSObject {
	key := strings.ToLower(d)
	m := p.dns[conn]
	if m == nil {
		m = map[string]*idsync.CSObject{}
		p.dns[conn] = m
	}
	if o, ok := m[key]; ok {
		return o
	}
	got, err := p.tx.CSByDNs(ctx, conn, []string{d})
	if err != nil {
		return nil
	}
	o := got[key]
	if o != nil {
		o = p.addCS(o)
	}
	m[key] = o
	return o
}

// prefetchRefs resolves, in one narrow query per connector, the DNs
// that the page's reference values name.
func (p *syncPage) prefetchRefs(ctx context.Context, objs []*idsync.CSObject) error {
	per := map[string][]string{}
	for _, o := range objs {
		for _, vs := range o.Attrs {
			for _, v := range vs {
				if v.Type == idsync.TypeReference && v.Str != "" {
					if _, ok := p.refs[o.Connector][strings.ToLower(v.Str)]; !ok {
						per[o.Connector] = append(per[o.Connector], v.Str)
					}
				}
			}
		}
	}
	for conn, dns := range per {
		if err := p.resolveDNs(ctx, conn, dedupe(dns)); err != nil {
			return err
		}
	}
	return nil
}

func (p *syncPage) resolveDNs(ctx context.Context, conn string, dns []string) error {
	got, err := p.tx.LinksByDN(ctx, conn, dns)
	if err != nil {
		return fmt.Errorf("engine: resolve references: %w", err)
	}
	m := p.refs[conn]
	if m == nil {
		m = map[string]*store.Link{}
		p.refs[conn] = m
	}
	for _, d := range dns {
		k := strings.ToLower(d)
		if l, ok := got[k]; ok {
			m[k] = &l
		} else {
			m[k] = nil
		}
	}
	return nil
}

// refTarget resolves a reference DN in conn to the CS object's ID, its
// MV object (if joined) and whether it could still be joined later in
// the run. Objects loaded in this page win over the store's view.
func (p *syncPage) refTarget(ctx context.Context, conn, d string) (mvID string, later bool) {
	k := strings.ToLower(d)
	l, ok := p.refs[conn][k]
	if !ok {
		if err := p.resolveDNs(ctx, conn, []string{d}); err != nil {
			return "", false
		}
		l = p.refs[conn][k]
	}
	if l == nil {
		return "", false
	}
	if o := p.cs[l.ID]; o != nil {
		return o.MVID, o.Kind == idsync.KindStaging && o.Anchor != "" && !p.delCS[o.ID]
	}
	return l.MVID, l.Kind == idsync.KindStaging && l.Anchor != ""
}

// prefetchJoins runs the join lookups of the page's disjoined objects in
// one query per join attribute, and loads the candidates.
func (p *syncPage) prefetchJoins(ctx context.Context, objs []*idsync.CSObject) error {
	type q struct {
		attr string
		cs   bool
	}
	values := map[q][]string{}
	for _, o := range objs {
		if o.MVID != "" || o.PendingImport == idsync.ImportDelete || o.Obsolete || o.Anchor == "" {
			continue
		}
		for _, r := range p.e.rules.inbound[o.Connector] {
			if !r.hasJoin || (r.CSType != o.ObjectType && r.CSType != "*") {
				continue
			}
			for _, g := range r.Join {
				for _, c := range g {
					for _, v := range o.Attrs[c.Source] {
						s := v.String()
						if !c.CaseSensitive {
							s = strings.ToLower(s)
						}
						values[q{c.Target, c.CaseSensitive}] = append(values[q{c.Target, c.CaseSensitive}], s)
					}
				}
			}
		}
	}
	var cands []string
	for k, vs := range values {
		got, err := p.tx.FindMV(ctx, "", k.attr, dedupe(vs), k.cs)
		if err != nil {
			return fmt.Errorf("engine: join lookup on %s: %w", k.attr, err)
		}
		for v, ids := range got {
			p.found[joinKey{k.attr, v, k.cs}] = ids
			cands = append(cands, ids...)
		}
		for _, v := range vs {
			if _, ok := got[v]; !ok {
				p.found[joinKey{k.attr, v, k.cs}] = nil
			}
		}
	}
	return p.loadMV(ctx, cands)
}

// joinCandidates returns the MV objects of mvType whose attr equals one of vs.
func (p *syncPage) joinCandidates(ctx context.Context, mvType, attr string, vs []idsync.Value, caseSensitive bool) ([]string, error) {
	var out []string
	for _, v := range vs {
		s := v.String()
		if !caseSensitive {
			s = strings.ToLower(s)
		}
		k := joinKey{attr, s, caseSensitive}
		ids, ok := p.found[k]
		if !ok {
			got, err := p.tx.FindMV(ctx, "", attr, []string{s}, caseSensitive)
			if err != nil {
				return nil, fmt.Errorf("engine: join lookup on %s: %w", attr, err)
			}
			ids = got[s]
			p.found[k] = ids
			if err := p.loadMV(ctx, ids); err != nil {
				return nil, err
			}
		}
		out = append(out, ids...)
		out = append(out, p.newIdx[k]...)
	}
	out = dedupe(out)
	res := out[:0]
	for _, id := range out {
		mv := p.mv[id]
		if mv == nil || p.delMV[id] || (mvType != "*" && mvType != "" && mv.ObjectType != mvType) {
			continue
		}
		// the index may be stale for objects changed in this page
		ok := false
		for _, x := range mv.Attrs[attr] {
			for _, v := range vs {
				if caseSensitive && x.String() == v.String() || !caseSensitive && strings.EqualFold(x.String(), v.String()) {
					ok = true
				}
			}
		}
		if ok {
			res = append(res, id)
		}
	}
	return res, nil
}

// indexNew records a projected MV object's join attributes so that
// later objects of the page can join to it.
func (p *syncPage) indexNew(mv *idsync.MVObject) {
	for _, a := range p.e.rules.mvIndex {
		for _, v := range mv.Attrs[a] {
			s := v.String()
			p.newIdx[joinKey{a, s, true}] = append(p.newIdx[joinKey{a, s, true}], mv.ID)
			l := strings.ToLower(s)
			p.newIdx[joinKey{a, l, false}] = append(p.newIdx[joinKey{a, l, false}], mv.ID)
		}
	}
}

// inbound synchronizes one CS object into the metaverse (§4.1).
func (p *syncPage) inbound(ctx context.Context, o *idsync.CSObject) error {
	c := p.counters()
	if o.Kind != idsync.KindStaging || o.Obsolete && o.PendingImport != idsync.ImportDelete {
		return nil // an obsolete object waits for the import that renames or deletes it (§3)
	}
	if o.PendingImport == idsync.ImportDelete {
		p.tr.decision("delete", "", o.MVID)
		mvID := p.unlink(o)
		p.delCS[o.ID] = true
		if mvID != "" {
			c.Disconnectors++
			return p.afterUnlink(ctx, mvID, o.Connector)
		}
		return nil
	}
	if o.Anchor == "" {
		// an export object not yet confirmed by an import: nothing to flow in
		return nil
	}
	rules := p.inScopeInbound(ctx, o)
	if o.MVID != "" {
		if err := p.loadMV(ctx, []string{o.MVID}); err != nil {
			return err
		}
		mv := p.mv[o.MVID]
		if mv == nil {
			// link to an MV object that no longer exists: repair
			p.unlink(o)
			return p.inbound(ctx, o)
		}
		// A link made by an outbound rule (provisioning, outbound join)
		// is decided by outbound scope, not by inbound rules.
		holds := !isInboundLink(p.e, o)
		for _, r := range rules {
			if r.MVType == mv.ObjectType || r.MVType == "*" {
				holds = true
			}
		}
		if o.LinkType == idsync.LinkStickyJoin {
			holds = true
		}
		if !holds {
			// §7.3: the object left the scope of every rule: filtered disconnector.
			p.tr.decision("disconnect", o.LinkRule, o.MVID)
			mvID := p.unlink(o)
			o.PendingImport = idsync.ImportNone
			c.FilteredDisconnectors++
			return p.afterUnlink(ctx, mvID, o.Connector)
		}
		p.tr.decision("joined", o.LinkRule, o.MVID)
		changed, err := p.recompute(ctx, mv, false)
		if err != nil {
			p.syncErr(o, err)
			return nil
		}
		if changed {
			c.ConnectorsWithFlowUpds++
			p.needOutbound(mv.ID)
		} else {
			c.ConnectorsNoFlowUpds++
			// An imported change in a connector that rules export to
			// (a value changed behind our back, §6.2) is decided again.
			if o.PendingImport == idsync.ImportDeleteAdd || p.fullSync() ||
				o.PendingImport != idsync.ImportNone && len(p.e.rules.outbound[o.Connector]) > 0 {
				p.needOutbound(mv.ID)
			}
		}
		p.done(o)
		return nil
	}

	// Disjoined: join (§7.3) or project (§4.1).
	var joinRules []*compiledRule
	for _, r := range rules {
		if r.hasJoin {
			joinRules = append(joinRules, r)
		}
	}
	if len(joinRules) > 1 {
		names := make([]string, len(joinRules))
		for i, r := range joinRules {
			names[i] = r.Name
		}
		p.tr.decision("error", "", "")
		p.objErr(o, joinRules[0].Name, "two-join-rules", fmt.Sprintf("%d in-scope rules have join rules (%s): at most one may apply to an object", len(joinRules), strings.Join(names, ", ")))
		return nil
	}
	var target string
	var via *compiledRule
	if len(joinRules) == 1 {
		jr := joinRules[0]
		for gi, g := range jr.Join {
			var cands []string
			first := true
			for _, cond := range g {
				ids, err := p.joinCandidates(ctx, jr.MVType, cond.Target, o.Attrs[cond.Source], cond.CaseSensitive)
				if err != nil {
					return err
				}
				if first {
					cands, first = ids, false
				} else {
					cands = intersect(cands, ids)
				}
				if len(cands) == 0 {
					break
				}
			}
			if len(cands) > 1 {
				p.tr.decision("error", jr.Name, "")
				p.objErr(o, jr.Name, "ambiguous-join", fmt.Sprintf("join group %d matches %d metaverse objects (%s): an ambiguous join is never guessed", gi+1, len(cands), strings.Join(cands, ", ")))
				return nil
			}
			if len(cands) == 1 {
				target, via = cands[0], jr
				break
			}
		}
	}
	isNew := false
	var mv *idsync.MVObject
	if target != "" {
		mv = p.mv[target]
	} else {
		// no join: the first in-scope Provision rule projects
		for _, r := range rules {
			if r.LinkType == idsync.LinkProvision && r.MVType != "*" {
				via = r
				break
			}
		}
		if via == nil {
			p.tr.decision("disjoined", "", "")
			if o.PendingImport != idsync.ImportNone {
				c.Disconnectors++
			}
			p.done(o)
			return nil
		}
		mv = &idsync.MVObject{ID: newID(), ObjectType: via.MVType, Created: p.now}
		isNew = true
	}
	// Link tentatively and compute the flows; undo on error.
	if isNew {
		p.mv[mv.ID] = mv
		p.links[mv.ID] = nil
	}
	p.link(o, mv.ID, via)
	changed, err := p.recompute(ctx, mv, isNew)
	if err != nil {
		p.unlink(o)
		if isNew {
			delete(p.mv, mv.ID)
			delete(p.links, mv.ID)
		}
		p.syncErr(o, err)
		return nil
	}
	if isNew {
		p.newMV[mv.ID] = true
		p.markMV(mv)
		p.indexNew(mv)
		c.Projections++
		p.tr.decision("project", via.Name, mv.ID)
	} else {
		c.Joins++
		p.tr.decision("join", via.Name, mv.ID)
		if changed {
			c.ConnectorsWithFlowUpds++
		}
	}
	p.needOutbound(mv.ID)
	p.done(o)
	return nil
}

func (p *syncPage) fullSync() bool {
	return p.r.step != nil && p.r.step.Type == idsync.StepFullSync
}

// done clears o's pending import and sync error state.
func (p *syncPage) done(o *idsync.CSObject) {
	if o.PendingImport != idsync.ImportNone || p.dirtyCS[o.ID] {
		o.PendingImport = idsync.ImportNone
		p.markCS(o)
	}
}

func intersect(a, b []string) []string {
	var out []string
	for _, x := range a {
		if slices.Contains(b, x) {
			out = append(out, x)
		}
	}
	return out
}

// syncError is an error on one object found while computing flows.
type syncError struct {
	rule string
	typ  string
	msg  string
}

func (e *syncError) Error() string { return e.msg }

func (p *syncPage) syncErr(o *idsync.CSObject, err error) {
	if se, ok := err.(*syncError); ok {
		p.objErr(o, se.rule, se.typ, se.msg)
		return
	}
	p.objErr(o, "", "sync-error", err.Error())
}

func (p *syncPage) objErr(o *idsync.CSObject, rule, typ, msg string) {
	oe := idsync.ObjectError{Connector: o.Connector, CSID: o.ID, MVID: o.MVID, Anchor: o.Anchor, DN: o.DN, Rule: rule, Type: typ, Message: msg}
	if p.tr != nil {
		p.tr.p.Errors = append(p.tr.p.Errors, oe)
	}
	p.r.objErr(oe)
}

// afterUnlink applies the MV deletion rule after a link was removed (§2.2).
func (p *syncPage) afterUnlink(ctx context.Context, mvID, fromConnector string) error {
	if err := p.loadMV(ctx, []string{mvID}); err != nil {
		return err
	}
	mv := p.mv[mvID]
	if mv == nil {
		return nil
	}
	del := false
	var rule idsync.DeletionRule
	if cl := p.e.rules.mv.Class(mv.ObjectType); cl != nil {
		rule = cl.DeletionRule
	}
	if len(rule.Connectors) > 0 {
		del = slices.Contains(rule.Connectors, fromConnector)
	} else {
		del = len(p.links[mvID]) == 0
	}
	if !del {
		if _, err := p.recompute(ctx, mv, false); err != nil {
			p.r.objErr(idsync.ObjectError{MVID: mvID, Type: "sync-error", Message: err.Error()})
		}
		p.needOutbound(mvID)
		return nil
	}
	return p.deleteMV(ctx, mv)
}

// deleteMV deletes an MV object and deprovisions every object linked to it.
func (p *syncPage) deleteMV(ctx context.Context, mv *idsync.MVObject) error {
	p.counters().MVDeletes++
	if p.tr != nil {
		p.tr.p.MVDeleted = true
	}
	p.delMV[mv.ID] = true
	for _, o := range slices.Clone(p.links[mv.ID]) {
		p.deprovision(o, "")
	}
	delete(p.links, mv.ID)
	return nil
}

// deprovision removes o's link and stages its deletion, or only
// disconnects it, per its connector's configuration (§4.2).
func (p *syncPage) deprovision(o *idsync.CSObject, rule string) {
	c := p.counters()
	cc := p.e.cfg.Connector(o.Connector)
	p.unlink(o)
	if o.Anchor == "" && (o.PendingExport == nil || o.PendingExport.Op == idsync.OpAdd) && o.Awaiting == idsync.ConfirmNone {
		// never exported: nothing to delete in the system
		p.delCS[o.ID] = true
		c.Deprovisioned++
		p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule, Action: "deprovision", CSID: o.ID, DN: o.DN})
		return
	}
	if cc == nil || cc.Deprovision == "disconnect" || !cc.Capabilities.Export {
		o.PendingExport = nil
		c.DisconnectedExport++
		p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule, Action: "disconnect", CSID: o.ID, DN: o.DN})
		return
	}
	o.PendingExport = &idsync.PendingExport{Op: idsync.OpDelete}
	c.Deprovisioned++
	p.tr.outbound(OutboundTrace{Connector: o.Connector, Rule: rule, Action: "deprovision", CSID: o.ID, DN: o.DN})
}

// connectorCaps returns a connector's capabilities.
func (p *syncPage) connectorCaps(name string) connector.Capabilities {
	if cc := p.e.cfg.Connector(name); cc != nil {
		return cc.Capabilities
	}
	return connector.Capabilities{}
}
