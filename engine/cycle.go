package engine

import (
	"context"

	"github.com/idsync/idsync"
)

// Cycle runs one cycle (§13): the import profile of every connector, then
// the sync profile of every connector, then the export profile of every
// connector, in configuration order. Profiles are chosen by name from
// the configuration's cycle settings; a connector without the named
// profile uses the step of the same type (delta import falls back to
// full import when the connector has no delta import, and full import is
// used on a connector's first cycle, when it has no watermark). Each run
// is recorded as usual; Cycle returns every RunResult, and an error only
// when a run could not be attempted.
func (e *Engine) Cycle(ctx context.Context) ([]*idsync.RunResult, error) {
	var out []*idsync.RunResult
	phases := []struct {
		profile string
		step    func(ctx context.Context, name string) (idsync.StepType, error)
	}{
		{e.cfg.Cycle.ImportProfile, e.cycleImportStep},
		{e.cfg.Cycle.SyncProfile, e.cycleSyncStep},
		{e.cfg.Cycle.ExportProfile, func(context.Context, string) (idsync.StepType, error) { return idsync.StepExport, nil }},
	}
	for _, ph := range phases {
		for _, cc := range e.cfg.Connectors {
			if err := ctx.Err(); err != nil {
				return out, err
			}
			st, err := ph.step(ctx, cc.Name)
			if err != nil {
				return out, err
			}
			if st == idsync.StepExport && !cc.Capabilities.Export || st.IsImport() && !cc.Capabilities.Import {
				continue
			}
			// The configured profile runs unless the engine knows it must
			// not: a first import has no watermark, changed rules need a
			// full sync.
			var res *idsync.RunResult
			forced := st == idsync.StepFullImport && ph.profile == "delta-import" || st == idsync.StepFullSync
			if p := cc.Profiles[ph.profile]; p != nil && !forced {
				res, err = e.Run(ctx, cc.Name, ph.profile)
			} else {
				res, err = e.RunSteps(ctx, cc.Name, "cycle-"+string(st), []idsync.RunStep{{Type: st}})
			}
			if res != nil {
				out = append(out, res)
			}
			if err != nil {
				return out, err
			}
		}
	}
	return out, nil
}

func (e *Engine) cycleImportStep(ctx context.Context, name string) (idsync.StepType, error) {
	cc := e.cfg.Connector(name)
	if !cc.Capabilities.DeltaImport {
		return idsync.StepFullImport, nil
	}
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	part := ""
	if len(cc.Partitions) > 0 {
		part = cc.Partitions[0]
	}
	wm, err := tx.GetWatermark(ctx, name, part)
	if err != nil {
		return "", err
	}
	if wm == nil {
		return idsync.StepFullImport, nil
	}
	return idsync.StepDeltaImport, nil
}

func (e *Engine) cycleSyncStep(ctx context.Context, name string) (idsync.StepType, error) {
	// A connector never fully synchronized since the rules changed needs a
	// full sync; the engine keeps the rules' fingerprint per connector.
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return "", err
	}
	defer tx.Rollback()
	fp, err := tx.GetWatermark(ctx, name, rulesFingerprintKey)
	if err != nil {
		return "", err
	}
	if string(fp) != e.rules.fingerprint {
		return idsync.StepFullSync, nil
	}
	return idsync.StepDeltaSync, nil
}

// rulesFingerprintKey is the pseudo-partition under which a full sync
// records the rule set's fingerprint.
const rulesFingerprintKey = "\x00rules-fingerprint"
