package main

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
)

func (a *app) runCmd() *cobra.Command {
	var confirm, wait bool
	cmd := &cobra.Command{
		Use:   "run CONNECTOR PROFILE",
		Short: "Run a connector's run profile",
		Long: `Run the named run profile of a connector (its steps in order) and print the
run summary: status, duration, every non-zero counter and the first errors.
Exit code 1 when the run finished with errors, 2 for an unknown connector or profile.`,
		Example: "  idsync run hr full-import\n  idsync run directory export",
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			cfg, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := checkConnector(cfg, as[0]); err != nil {
				return err
			}
			pr := a.newRunProgress(ctx, cfg, st)
			e, err := a.newEngine(ctx, cfg, st, pr.report)
			if err != nil {
				return err
			}
			if confirm {
				ctx = engine.WithConfirmedDeletions(ctx)
			}
			if wait {
				ctx = engine.WaitForLocks(ctx, time.Second)
			}
			res, err := e.Run(ctx, as[0], as[1])
			pr.wait()
			if err != nil {
				return err
			}
			return a.finishRuns([]*idsync.RunResult{res})
		},
	}
	cmd.Flags().BoolVar(&confirm, "confirm-deletions", false, "send an export's deletions even beyond the connector's deletion threshold")
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for the connector's lock and the sync lock when another run (or process) holds them, instead of failing")
	return cmd
}

// finishRuns prints run results (summaries or JSON) and returns the
// exit error when any finished with errors.
func (a *app) finishRuns(rs []*idsync.RunResult) error {
	if a.jsonOut {
		if len(rs) == 1 {
			printJSON(a.stdout, rs[0])
		} else {
			printJSON(a.stdout, rs)
		}
	} else {
		for _, r := range rs {
			printSummary(a.stdout, r)
		}
	}
	for _, r := range rs {
		if runFailed(r) {
			return &silentError{code: exitFailed}
		}
	}
	return nil
}

// newRunProgress returns the progress display for runs. On a terminal it
// estimates each step's object count from the store, for the bar.
func (a *app) newRunProgress(ctx context.Context, cfg *config.Config, st store.Store) *progress {
	pr := newProgress(a.stderr, nil)
	if pr.tty {
		pr.expected = func(conn string, step idsync.StepType) int {
			return estimate(ctx, st, conn, step)
		}
	}
	return pr
}

// estimate guesses how many objects a step will process from what the
// connector space holds now.
func estimate(ctx context.Context, st store.Store, conn string, step idsync.StepType) int {
	n := 0
	readTx(ctx, st, func(tx store.Tx) error {
		f := store.CSFilter{Connector: conn}
		switch step {
		case idsync.StepDeltaSync:
			f.PendingImport = true
		case idsync.StepExport:
			f.PendingExport = true
		}
		n, _ = tx.CountCS(ctx, f)
		return nil
	})
	return n
}

func (a *app) cycleCmd() *cobra.Command {
	var (
		interval   time.Duration
		continuous bool
		confirm    bool
	)
	cmd := &cobra.Command{
		Use:   "cycle",
		Short: "Run one cycle: every import, then every sync, then every export",
		Long: `Run a cycle over all connectors (imports, then syncs, then exports) and print
each run's summary. With --continuous, run cycles until interrupted, waiting
--interval between them (default: the configuration's cycle interval; 0 runs
them back to back).`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			cfg, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			pr := a.newRunProgress(ctx, cfg, st)
			e, err := a.newEngine(ctx, cfg, st, pr.report)
			if err != nil {
				return err
			}
			if confirm {
				ctx = engine.WithConfirmedDeletions(ctx)
			}
			if !cmd.Flags().Changed("interval") {
				interval = cfg.Cycle.Interval
				if interval == 0 {
					interval = 30 * time.Minute
				}
			}
			for n := 1; ; n++ {
				start := time.Now()
				rs, err := e.Cycle(ctx)
				pr.wait()
				if !continuous {
					if err != nil {
						for _, r := range rs {
							printSummary(a.stdout, r)
						}
						return err
					}
					return a.finishRuns(rs)
				}
				if !a.jsonOut {
					fmt.Fprintf(a.stdout, "cycle %d: %d run(s) in %v\n", n, len(rs), roundDur(time.Since(start)))
				}
				a.finishRuns(rs)
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					fmt.Fprintf(a.stderr, "idsync: cycle %d: %v\n", n, err)
				}
				select {
				case <-ctx.Done():
					return nil
				case <-time.After(interval):
				}
			}
		},
	}
	cmd.Flags().DurationVar(&interval, "interval", 0, "time between cycles with --continuous (default: the configuration's cycle interval, 30m)")
	cmd.Flags().BoolVar(&continuous, "continuous", false, "keep running cycles until interrupted")
	cmd.Flags().BoolVar(&confirm, "confirm-deletions", false, "send exports' deletions even beyond the connectors' deletion thresholds")
	return cmd
}
