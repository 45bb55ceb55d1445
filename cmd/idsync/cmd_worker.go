package main

import (
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
)

func (a *app) workerCmd() *cobra.Command {
	var (
		connectors []string
		once       bool
		poll       time.Duration
		timeout    time.Duration
	)
	cmd := &cobra.Command{
		Use:   "worker",
		Short: "Run queued runs, alongside other idsync processes sharing the store",
		Long: `Claim runs from the run queue (see 'idsync queue add') one at a time and run
them, until stopped (SIGINT/SIGTERM: the run in progress is interrupted at
its next page and goes back to the queue). Start several workers, on one or
several machines sharing a PostgreSQL store, to run imports and exports of
different connectors at the same time; syncs stay serialized by the sync lock,
and runs of one connector by the connector's lock: a run waits for them.

A worker heartbeats its claim. When a worker dies (killed, machine lost),
another worker claims the run once the heartbeat is older than
--claim-timeout and resumes it: the steps already finished are skipped, the
interrupted step runs again and keeps every page the dead worker committed.
See docs/multi-process.md.`,
		Example: "  idsync worker\n  idsync worker --connector hr --connector ad\n  idsync worker --once",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			cfg, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			for _, c := range connectors {
				if err := checkConnector(cfg, c); err != nil {
					return err
				}
			}
			e, err := a.newEngine(ctx, cfg, st, nil)
			if err != nil {
				return err
			}
			failed := false
			err = e.Work(ctx, engine.WorkOptions{
				Connectors: connectors, Once: once, Poll: poll, ClaimTimeout: timeout,
				Done: func(q *store.QueuedRun, r *idsync.RunResult, err error) {
					switch {
					case r != nil && a.jsonOut:
						printJSON(a.stdout, r)
					case r != nil:
						printSummary(a.stdout, r)
					}
					if err != nil {
						fmt.Fprintf(a.stderr, "idsync: queued run %s (%s %s): %v\n", q.ID, q.Connector, q.Profile, err)
					}
					if err != nil || r != nil && runFailed(r) {
						failed = true
					}
				},
			})
			if err != nil {
				return err
			}
			if once && failed {
				return &silentError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringSliceVar(&connectors, "connector", nil, "run only this connector's queued runs (repeatable)")
	cmd.Flags().BoolVar(&once, "once", false, "exit when the queue has nothing to claim")
	cmd.Flags().DurationVar(&poll, "poll", time.Second, "how often to look for work, and to retry a lock held by another run")
	cmd.Flags().DurationVar(&timeout, "claim-timeout", engine.DefaultClaimTimeout, "take over a run whose worker has not heartbeat for this long")
	return cmd
}

func (a *app) queueCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "queue",
		Short: "Queue runs for idsync workers, and list the queue",
	}
	var wait bool
	add := &cobra.Command{
		Use:   "add CONNECTOR PROFILE",
		Short: "Queue a run of a connector's run profile for a worker",
		Long: `Queue a run of a connector's run profile; a worker ('idsync worker') of any
process sharing the store claims and runs it. With --wait, wait until the run
finished and print its summary (exit code 1 when it finished with errors).`,
		Example: "  idsync queue add hr full-import\n  idsync queue add hr delta-sync --wait",
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
			e, err := a.newEngine(ctx, cfg, st, nil)
			if err != nil {
				return err
			}
			q, err := e.Enqueue(ctx, as[0], as[1])
			if err != nil {
				return err
			}
			if !wait {
				if a.jsonOut {
					return printJSON(a.stdout, q)
				}
				fmt.Fprintf(a.stdout, "queued %s %s as %s\n", q.Connector, q.Profile, q.ID)
				return nil
			}
			entry, res, err := e.WaitQueued(ctx, q.ID, 500*time.Millisecond)
			if err != nil {
				return err
			}
			if res == nil {
				return fmt.Errorf("queued run %s %s: %s", entry.State, q.ID, entry.Message)
			}
			return a.finishRuns([]*idsync.RunResult{res})
		},
	}
	add.Flags().BoolVar(&wait, "wait", false, "wait for a worker to finish the run, and print its summary")
	var states []string
	list := &cobra.Command{
		Use:   "list",
		Short: "List the run queue, oldest first",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			_, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			rq, ok := st.(store.RunQueue)
			if !ok {
				return engine.ErrNoQueue
			}
			var ss []store.QueueState
			for _, s := range states {
				ss = append(ss, store.QueueState(s))
			}
			qs, err := rq.ListQueue(ctx, ss...)
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.stdout, qs)
			}
			t := newTable(a.stdout, "ID", "CONNECTOR", "PROFILE", "STATE", "ATTEMPTS", "WORKER", "HEARTBEAT", "RUN", "MESSAGE")
			for _, q := range qs {
				hb := "-"
				if !q.Heartbeat.IsZero() {
					hb = shortTime(q.Heartbeat)
				}
				t.row(q.ID, q.Connector, q.Profile, q.State, q.Attempts, orDash(q.Claimer.What), hb, orDash(q.RunID), truncate(orDash(q.Message), 60))
			}
			t.flush()
			return nil
		},
	}
	list.Flags().StringSliceVar(&states, "state", nil, "only entries in this state: queued, running, done, failed (repeatable)")
	cmd.AddCommand(add, list)
	return cmd
}
