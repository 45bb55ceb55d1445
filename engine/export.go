package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

type confirmKey struct{}

// WithConfirmedDeletions returns a context in which export runs send
// deletions even beyond the connector's deletion threshold: the
// administrator's confirmation (§5).
func WithConfirmedDeletions(ctx context.Context) context.Context {
	return context.WithValue(ctx, confirmKey{}, true)
}

func deletionsConfirmed(ctx context.Context) bool {
	v, _ := ctx.Value(confirmKey{}).(bool)
	return v
}

// DefaultDeletionThreshold is the reference product's default (§5).
const DefaultDeletionThreshold = 500

// exportStep sends a connector's pending exports in pages (§5) and
// records the results and the export status (§6).
func (e *Engine) exportStep(ctx context.Context, r *runState, s idsync.RunStep) error {
	cc := r.cc
	if !cc.Capabilities.Export {
		return &idsync.Error{Op: "export", Kind: idsync.KindUnsupported, Connector: cc.Name, Err: errors.New("the connector cannot export")}
	}
	// Deletion protection: count before sending anything.
	threshold := cc.DeletionThreshold
	if threshold == 0 {
		threshold = DefaultDeletionThreshold
	}
	if threshold > 0 && !deletionsConfirmed(ctx) {
		n, err := e.countPendingDeletes(ctx, cc.Name)
		if err != nil {
			return err
		}
		if n > threshold {
			r.step.Status = idsync.StatusStoppedDeletionThreshold
			r.step.Message = fmt.Sprintf("export to %s would delete %d objects, more than the deletion threshold of %d: nothing was sent; raise deletionThreshold or confirm the deletions (idsync run --confirm-deletions)", cc.Name, n, threshold)
			return nil
		}
	}
	conn, err := e.open(ctx, cc)
	if err != nil {
		return err
	}
	defer conn.Close()
	exp, ok := conn.(connector.Exporter)
	if !ok {
		return &idsync.Error{Op: "export", Kind: idsync.KindUnsupported, Connector: cc.Name, Err: errors.New("the connector cannot export")}
	}
	sess, err := exp.OpenExport(ctx, connector.ExportOptions{Partition: s.Partition, PageSize: s.PageSize})
	if err != nil {
		return classify(fmt.Errorf("open export to %s: %w", cc.Name, err))
	}
	x := &exporter{e: e, r: r, sess: sess, failed: map[string]bool{}, twoPass: cc.Capabilities.NoReferencesInFirstPass}
	err = x.pass(ctx, s, 1)
	if err == nil && x.twoPass {
		err = x.pass(ctx, s, 2)
	}
	// Renames a connector cannot do were sent as deletions: the objects
	// are now pending adds at their new DN, sent by one more round (an
	// add that fails stays pending for the next export).
	if err == nil && x.readds > 0 {
		x.readds = 0
		err = x.pass(ctx, s, 1)
		if err == nil && x.twoPass {
			err = x.pass(ctx, s, 2)
		}
	}
	if cerr := sess.Close(ctx); cerr != nil && err == nil {
		err = classify(fmt.Errorf("close export to %s: %w", cc.Name, cerr))
	}
	return err
}

func (e *Engine) countPendingDeletes(ctx context.Context, conn string) (int, error) {
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return 0, fmt.Errorf("engine: count pending deletions: %w", err)
	}
	defer tx.Rollback()
	n, err := tx.CountCS(ctx, store.CSFilter{Connector: conn, PendingExport: true, PendingDelete: true})
	if err != nil {
		return 0, fmt.Errorf("engine: count pending deletions: %w", err)
	}
	return n, nil
}

type exporter struct {
	e       *Engine
	r       *runState
	sess    connector.ExportSession
	failed  map[string]bool // objects whose export failed in this run
	twoPass bool
	readds  int // renames sent as deletions whose add is still to send
}

// sent is what one change carried, to reconcile with the result.
type sent struct {
	obj      *idsync.CSObject // as read, with the pending export the change came from
	change   idsync.Change
	deferred []idsync.AttrMod // reference values held for the second pass
	rename   renameHow        // how a rename the connector cannot do is sent
}

// renameHow says how a DN change is exported (§9.1 objectRename,
// deleteAddAsReplace).
type renameHow int

const (
	renameNative      renameHow = iota // Change.NewDN: the connector renames
	renameAsReplace                    // one OpReplace: the whole object at the new DN
	renameAsDeleteAdd                  // OpDelete now, then OpAdd of the whole object
)

func (x *exporter) pass(ctx context.Context, s idsync.RunStep, pass int) error {
	e, r, cn := x.e, x.r, x.r.cc.Name
	caps := r.cc.Capabilities
	after := ""
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		tx, err := e.st.Begin(ctx, false)
		if err != nil {
			return fmt.Errorf("engine: export page: %w", err)
		}
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: cn, PendingExport: true, After: after, Limit: s.PageSize})
		if err != nil {
			tx.Rollback()
			return fmt.Errorf("engine: export page: %w", err)
		}
		if len(objs) == 0 {
			tx.Rollback()
			return nil
		}
		after = objs[len(objs)-1].ID
		var batch []sent
		for _, o := range objs {
			if x.failed[o.ID] || o.PendingExport == nil {
				continue
			}
			sn := sent{obj: o}
			sn.change, sn.rename = buildChange(o, caps)
			if x.twoPass && pass == 1 {
				sn.change.Mods, sn.deferred = splitRefs(sn.change.Mods)
				if sn.change.Op == idsync.OpUpdate && len(sn.change.Mods) == 0 && sn.change.NewDN == "" {
					continue // only references: the second pass sends them
				}
			}
			batch = append(batch, sn)
		}
		// §12: a change that would give a target object a value another
		// object holds is never sent.
		refused, err := x.uniqueness(ctx, tx, batch)
		tx.Rollback()
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			continue
		}
		changes := make([]idsync.Change, 0, len(batch))
		for i := range batch {
			if _, ok := refused[batch[i].change.ID]; !ok {
				changes = append(changes, batch[i].change)
			}
		}
		var results []connector.ExportResult
		if len(changes) > 0 {
			results, err = x.sess.ExportPage(ctx, changes)
			if err != nil {
				return classify(fmt.Errorf("export page to %s: %w", cn, err))
			}
		}
		for _, res := range refused {
			results = append(results, res)
		}
		if err := x.record(ctx, batch, results); err != nil {
			return err
		}
	}
}

// buildChange turns a pending export into the change sent to the
// connector. A rename of a connector that does not declare objectRename
// (§9.1) becomes a delete-add: one OpReplace of the whole object at the
// new DN when it declares deleteAddAsReplace, else an OpDelete now (the
// add follows once the delete is recorded, see record).
func buildChange(o *idsync.CSObject, caps connector.Capabilities) (idsync.Change, renameHow) {
	pe := o.PendingExport
	ch := idsync.Change{Op: pe.Op, ObjectType: o.ObjectType, Anchor: o.Anchor, DN: o.DN, NewDN: pe.NewDN, Mods: pe.Mods, ID: o.ID}
	if pe.Op == idsync.OpUpdate && pe.NewDN != "" && pe.NewDN != o.DN && !caps.ObjectRename {
		if caps.DeleteAddAsReplace {
			ch.Op = idsync.OpReplace
			ch.Mods = idsync.ModsFromAttrs(wholeObject(o, pe.Mods))
			return ch, renameAsReplace
		}
		ch.Op, ch.NewDN, ch.Mods = idsync.OpDelete, "", nil
		return ch, renameAsDeleteAdd
	}
	if pe.Op == idsync.OpUpdate && caps.ExportType == connector.ExportObjectReplace {
		ch.Mods = idsync.ModsFromAttrs(wholeObject(o, pe.Mods))
	}
	return ch, renameNative
}

// wholeObject is o's attributes as known (imported, overlaid by what was
// exported since) with mods applied.
func wholeObject(o *idsync.CSObject, mods []idsync.AttrMod) idsync.Attrs {
	full := o.Attrs.Clone()
	if full == nil {
		full = idsync.Attrs{}
	}
	for k, vs := range o.ExportStatus {
		full[k] = vs
	}
	full.Apply(mods)
	for k, vs := range full {
		if len(vs) == 0 {
			delete(full, k)
		}
	}
	return full
}

// splitRefs separates reference values from the other modifications.
func splitRefs(mods []idsync.AttrMod) (plain, refs []idsync.AttrMod) {
	for _, m := range mods {
		if slices.ContainsFunc(m.Values, func(v idsync.Value) bool { return v.Type == idsync.TypeReference }) {
			refs = append(refs, m)
		} else {
			plain = append(plain, m)
		}
	}
	return plain, refs
}

// record commits a page's results.
func (x *exporter) record(ctx context.Context, batch []sent, results []connector.ExportResult) error {
	e, r := x.e, x.r
	c := &r.step.Counters
	now := e.now().UTC()
	byID := make(map[string]connector.ExportResult, len(results))
	for _, res := range results {
		byID[res.ID] = res
	}
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: record export results: %w", err)
	}
	defer tx.Rollback()
	ids := make([]string, len(batch))
	for i, b := range batch {
		ids[i] = b.change.ID
	}
	// The objects as read, unless a sync changed them meanwhile (their
	// version moved on): those, and only those, are read again.
	versions, err := tx.CSVersions(ctx, ids)
	if err != nil {
		return fmt.Errorf("engine: record export results: %w", err)
	}
	cur := make(map[string]*idsync.CSObject, len(batch))
	var stale []string
	for _, b := range batch {
		switch v, ok := versions[b.obj.ID]; {
		case !ok: // deleted meanwhile
		case v == b.obj.Version:
			cur[b.obj.ID] = b.obj
		default:
			stale = append(stale, b.obj.ID)
		}
	}
	if len(stale) > 0 {
		fresh, err := tx.CSByIDs(ctx, stale)
		if err != nil {
			return fmt.Errorf("engine: record export results: %w", err)
		}
		for id, o := range fresh {
			cur[id] = o
		}
	}
	var puts []*idsync.CSObject
	var dels []string
	mode := r.cc.Capabilities.Confirmation
	for _, b := range batch {
		c.Objects++
		o := cur[b.change.ID]
		res, ok := byID[b.change.ID]
		if !ok {
			res = connector.ExportResult{ID: b.change.ID, Err: errors.New("the connector returned no result for this object"), ErrorType: "no-result"}
		}
		if o == nil {
			continue // removed meanwhile
		}
		// A sync may have staged a newer change meanwhile: keep it.
		was := b.obj.PendingExport
		unchanged := o.PendingExport != nil && o.PendingExport.Op == was.Op && modsEqual(o.PendingExport.Mods, was.Mods) && o.PendingExport.NewDN == was.NewDN
		if res.Err != nil {
			x.failed[o.ID] = true
			ee := o.ExportError
			if ee == nil {
				ee = &idsync.ExportError{First: now}
			}
			ee.Type = res.ErrorType
			if ee.Type == "" {
				ee.Type = "export-error"
			}
			ee.Message = res.Err.Error()
			ee.Retries++
			ee.Last = now
			o.ExportError = ee
			o.Updated = now
			puts = append(puts, o)
			c.ExportErrors++
			r.objErr(idsync.ObjectError{CSID: o.ID, MVID: o.MVID, Anchor: o.Anchor, DN: o.DN, Type: ee.Type,
				Message: fmt.Sprintf("%s (export attempt %d)", ee.Message, ee.Retries)})
			continue
		}
		o.ExportError = nil
		o.Updated = now
		ch := b.change
		switch {
		case b.rename == renameAsDeleteAdd:
			// The old object is gone: o becomes an object to add, whole,
			// at its new DN, with the changes staged meanwhile (if any).
			c.ExportDeletes++
			pe := o.PendingExport
			if pe != nil && pe.Op == idsync.OpDelete {
				dels = append(dels, o.ID) // deprovisioned meanwhile: nothing to add
				continue
			}
			newDN, mods := ch.DN, []idsync.AttrMod(nil) // nothing staged any more: add it back where it was
			if pe != nil {
				mods = pe.Mods
				if pe.NewDN != "" {
					newDN = pe.NewDN
				}
			}
			full := wholeObject(o, mods)
			o.DN, o.Anchor = newDN, ""
			o.Attrs, o.ExportStatus = nil, nil
			o.Provisioned, o.Awaiting = true, idsync.ConfirmNone
			o.PendingExport = &idsync.PendingExport{Op: idsync.OpAdd, Mods: idsync.ModsFromAttrs(full)}
			x.readds++
			e.log.Info("export: rename sent as delete then add", "connector", r.cc.Name, "cs", o.ID, "dn", ch.DN, "newDn", newDN)
			puts = append(puts, o)
			continue
		case b.rename == renameAsReplace:
			c.ExportRenames++
			e.log.Info("export: rename sent as replace", "connector", r.cc.Name, "cs", o.ID, "dn", ch.DN, "newDn", ch.NewDN)
			if res.Anchor != "" {
				o.Anchor = res.Anchor
			}
			o.DN = ch.NewDN
			if res.DN != "" {
				o.DN = res.DN
			}
			if mode == connector.ConfirmNoAddAndDeleteConfirmation {
				o.Attrs, o.ExportStatus = idsync.Attrs{}.Apply(ch.Mods), nil
			} else {
				o.Awaiting = idsync.ConfirmAdd
				o.Attrs, o.ExportStatus = nil, idsync.Attrs{}.Apply(ch.Mods)
			}
		case ch.Op == idsync.OpAdd || ch.Op == idsync.OpReplace:
			c.ExportAdds++
			if res.Anchor != "" {
				o.Anchor = res.Anchor
			}
			if res.DN != "" {
				o.DN = res.DN
			}
			if mode == connector.ConfirmNoAddAndDeleteConfirmation {
				o.Attrs = idsync.Attrs{}.Apply(ch.Mods)
				o.Provisioned = false
			} else {
				o.Awaiting = idsync.ConfirmAdd
				o.ExportStatus = idsync.Attrs{}.Apply(ch.Mods)
			}
		case ch.Op == idsync.OpUpdate:
			if ch.NewDN != "" {
				c.ExportRenames++
				o.DN = ch.NewDN
				if res.DN != "" {
					o.DN = res.DN
				}
			}
			if len(ch.Mods) > 0 {
				c.ExportUpdates++
			}
			eff := o.Attrs.Clone()
			if eff == nil {
				eff = idsync.Attrs{}
			}
			for k, vs := range o.ExportStatus {
				eff[k] = vs
			}
			eff.Apply(ch.Mods)
			if o.ExportStatus == nil {
				o.ExportStatus = idsync.Attrs{}
			}
			for _, m := range ch.Mods {
				if vs := eff[m.Name]; len(vs) > 0 {
					o.ExportStatus[m.Name] = vs
				} else {
					o.ExportStatus[m.Name] = []idsync.Value{}
				}
			}
		case ch.Op == idsync.OpDelete:
			c.ExportDeletes++
			if mode == connector.ConfirmNoDeleteConfirmation || mode == connector.ConfirmNoAddAndDeleteConfirmation {
				dels = append(dels, o.ID)
				continue
			}
			o.Awaiting = idsync.ConfirmDelete
		}
		if unchanged {
			o.PendingExport = nil
			if len(b.deferred) > 0 {
				o.PendingExport = &idsync.PendingExport{Op: idsync.OpUpdate, Mods: b.deferred}
			}
		}
		puts = append(puts, o)
	}
	if len(dels) > 0 {
		if err := tx.DeleteCS(ctx, dels); err != nil {
			return fmt.Errorf("engine: record export results: %w", err)
		}
	}
	if len(puts) > 0 {
		if err := tx.PutCS(ctx, puts); err != nil {
			return fmt.Errorf("engine: record export results: %w", err)
		}
	}
	r.step.Pages++
	if err := r.saveIn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("engine: commit export results: %w", err)
	}
	e.progress(r, false)
	if err := r.heartbeat(ctx); err != nil {
		return fmt.Errorf("engine: lock heartbeat: %w", err)
	}
	return nil
}
