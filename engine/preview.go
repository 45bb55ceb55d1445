package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

// Preview computes what a synchronization of one CS object would do —
// scoping per rule, the join or projection decision, every attribute flow
// with its rule and the value before and after, and the outbound
// consequences — without committing anything (§14). ref is the object's
// DN, or its ID.
func (e *Engine) Preview(ctx context.Context, connectorName, ref string) (*Preview, error) {
	cc := e.cfg.Connector(connectorName)
	if cc == nil {
		_, _, err := e.Profile(connectorName, "")
		return nil, err
	}
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("engine: preview: %w", err)
	}
	defer tx.Rollback()
	var o *idsync.CSObject
	got, err := tx.CSByDNs(ctx, cc.Name, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("engine: preview: %w", err)
	}
	o = got[strings.ToLower(ref)]
	if o == nil {
		x, err := tx.GetCS(ctx, ref)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return nil, fmt.Errorf("engine: preview: %w", err)
		}
		if x != nil && x.Connector == cc.Name {
			o = x
		}
	}
	if o == nil {
		return nil, &idsync.Error{Op: "preview", Kind: idsync.KindNotFound, Connector: cc.Name, Object: ref, Err: errors.New("no such object in the connector space")}
	}
	// Keep a copy of the object as it is; the sync code changes its own.
	pv := &Preview{Connector: cc.Name, Object: o.Clone()}
	r := &runState{e: e, cc: cc, res: &idsync.RunResult{ID: "preview", Connector: cc.Name}}
	r.step = &idsync.StepResult{Type: idsync.StepFullSync}
	p := newSyncPage(e, r, tx, &tracer{p: pv})
	p.fixup = true
	if o.Kind == idsync.KindPlaceholder {
		pv.Decision = "placeholder"
		return pv, nil
	}
	if err := p.run(ctx, []*idsync.CSObject{o}); err != nil {
		return nil, err
	}
	if pv.Decision == "" {
		pv.Decision = "none"
	}
	return pv, nil
}
