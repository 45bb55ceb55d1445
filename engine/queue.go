package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

// The run queue spreads runs over several idsync processes sharing one
// store (§13: imports and exports of different connectors run at once,
// syncs are serialized). Enqueue adds a run; Work, in any number of
// processes, claims queued runs one at a time and runs them, waiting for
// the connector and sync locks as needed, while a goroutine heartbeats
// the claim. A worker that dies stops heartbeating; after the claim
// timeout another worker claims the run again and resumes it: the steps
// the dead worker finished are skipped, and the interrupted step is run
// again, which keeps every page the dead worker committed (an import
// finds those objects unchanged, an export finds their exports done).

// ErrNoQueue is returned when the store has no run queue.
var ErrNoQueue = errors.New("the store has no run queue")

func (e *Engine) queue() (store.RunQueue, error) {
	q, ok := e.st.(store.RunQueue)
	if !ok {
		return nil, &idsync.Error{Op: "queue", Kind: idsync.KindUnsupported, Err: ErrNoQueue}
	}
	return q, nil
}

// Enqueue adds a run of a connector's run profile to the run queue.
func (e *Engine) Enqueue(ctx context.Context, connectorName, profile string) (*store.QueuedRun, error) {
	if _, _, err := e.Profile(connectorName, profile); err != nil {
		return nil, err
	}
	q, err := e.queue()
	if err != nil {
		return nil, err
	}
	entry := &store.QueuedRun{ID: newID(), Connector: connectorName, Profile: profile, Enqueued: e.now().UTC()}
	if err := q.Enqueue(ctx, entry); err != nil {
		return nil, fmt.Errorf("engine: enqueue: %w", err)
	}
	return entry, nil
}

// WorkOptions configure Work.
type WorkOptions struct {
	// Connectors restricts the worker to these connectors' runs (all when empty).
	Connectors []string
	// Once makes Work return when nothing is claimable, instead of polling.
	Once bool
	// Poll is how often an idle worker looks for work, and a run waiting
	// for a lock tries it again (default 1s).
	Poll time.Duration
	// ClaimTimeout is how old a claim's heartbeat may grow before another
	// worker takes the run over (default 2 minutes); the worker
	// heartbeats at a sixth of it.
	ClaimTimeout time.Duration
	// Done, when set, is called after each claimed run with its queue
	// entry and its result (or the error that kept it from running).
	Done func(*store.QueuedRun, *idsync.RunResult, error)
}

// DefaultClaimTimeout is WorkOptions.ClaimTimeout's default.
const DefaultClaimTimeout = 2 * time.Minute

// Work claims and runs queued runs until ctx ends (then it returns nil),
// or, with Once, until nothing is claimable. A run that ctx interrupts
// goes back to the queue for another worker.
func (e *Engine) Work(ctx context.Context, opts WorkOptions) error {
	q, err := e.queue()
	if err != nil {
		return err
	}
	if opts.Poll <= 0 {
		opts.Poll = time.Second
	}
	if opts.ClaimTimeout <= 0 {
		opts.ClaimTimeout = DefaultClaimTimeout
	}
	worker := store.LockOwner{ID: newID(), Host: e.host, PID: e.pid}
	worker.What = fmt.Sprintf("worker %s on %s (pid %d)", worker.ID, e.host, e.pid)
	for {
		if ctx.Err() != nil {
			return nil
		}
		entry, err := q.ClaimRun(ctx, worker, opts.Connectors, opts.ClaimTimeout)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("engine: %w", err)
		}
		if entry == nil {
			if opts.Once {
				return nil
			}
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(opts.Poll):
			}
			continue
		}
		e.log.Info("claimed a queued run", "entry", entry.ID, "connector", entry.Connector, "profile", entry.Profile, "attempt", entry.Attempts)
		res, err := e.runClaimed(ctx, q, entry, worker.ID, opts)
		if opts.Done != nil {
			opts.Done(entry, res, err)
		}
		if err != nil && idsync.KindOf(err) == idsync.KindOther && !errors.Is(err, store.ErrLocked) && ctx.Err() == nil {
			// The store failed: stop rather than spin.
			return err
		}
	}
}

// runClaimed runs a claimed entry, heartbeating the claim, and records
// how it ended.
func (e *Engine) runClaimed(ctx context.Context, q store.RunQueue, entry *store.QueuedRun, workerID string, opts WorkOptions) (*idsync.RunResult, error) {
	var mu sync.Mutex // guards entry against the heartbeat goroutine
	update := func(ctx context.Context) error {
		mu.Lock()
		defer mu.Unlock()
		return q.UpdateClaimed(ctx, entry, workerID)
	}
	runCtx, cancelRun := context.WithCancel(ctx)
	defer cancelRun()
	var lost error
	beat := opts.ClaimTimeout / 6
	stopBeat := make(chan struct{})
	beatDone := make(chan struct{})
	go func() {
		defer close(beatDone)
		t := time.NewTicker(beat)
		defer t.Stop()
		for {
			select {
			case <-stopBeat:
				return
			case <-t.C:
			}
			if err := update(runCtx); err != nil && runCtx.Err() == nil {
				if errors.Is(err, store.ErrLocked) {
					// Another worker took the run over: stop at once.
					mu.Lock()
					lost = err
					mu.Unlock()
					cancelRun()
					return
				}
				e.log.Warn("heartbeat of a queued run", "entry", entry.ID, "err", err)
			}
		}
	}()
	finish := func(state store.QueueState, msg string) {
		close(stopBeat)
		<-beatDone
		mu.Lock()
		gone := lost
		entry.State, entry.Message = state, msg
		mu.Unlock()
		if gone != nil {
			return
		}
		if err := update(context.WithoutCancel(ctx)); err != nil {
			e.log.Warn("record the end of a queued run", "entry", entry.ID, "err", err)
		}
	}

	_, p, err := e.Profile(entry.Connector, entry.Profile)
	if err != nil {
		finish(store.QueueFailed, err.Error())
		return nil, err
	}
	steps := p.Steps
	if entry.Attempts > 1 && entry.RunID != "" {
		done, rf, msg, err := e.resumePoint(ctx, entry)
		if err != nil {
			finish(store.QueueQueued, err.Error())
			return nil, err
		}
		if rf != nil {
			runCtx = withResume(runCtx, rf)
		}
		mu.Lock()
		entry.StepsDone = done
		mu.Unlock()
		e.log.Info("resuming a queued run", "entry", entry.ID, "previousRun", entry.RunID, "detail", msg)
	}
	mu.Lock()
	entry.StepsDone = min(entry.StepsDone, len(steps))
	steps = steps[entry.StepsDone:]
	mu.Unlock()
	runCtx = withRunStarted(WaitForLocks(runCtx, opts.Poll), func(id string) {
		mu.Lock()
		entry.RunID = id
		mu.Unlock()
		if err := update(runCtx); err != nil {
			e.log.Warn("record the run of a queued run", "entry", entry.ID, "err", err)
		}
	})
	res, err := e.RunSteps(runCtx, entry.Connector, entry.Profile, steps)
	mu.Lock()
	gone := lost
	mu.Unlock()
	switch {
	case gone != nil:
		finish(store.QueueRunning, "")
		return res, fmt.Errorf("engine: queued run %s: %w", entry.ID, gone)
	case ctx.Err() != nil:
		// This worker stops: put the run back for another one.
		finish(store.QueueQueued, "interrupted by the worker's shutdown; to be resumed")
		return res, err
	case err != nil:
		finish(store.QueueFailed, err.Error())
		return res, err
	}
	msg := string(res.Status)
	if res.Message != "" {
		msg += ": " + res.Message
	}
	finish(store.QueueDone, msg)
	return res, nil
}

// resumePoint returns how many of the profile's steps are finished, from
// the entry's last attempt's run record, and where the interrupted step
// stood when it was a full import that can resume after its last
// committed page.
func (e *Engine) resumePoint(ctx context.Context, entry *store.QueuedRun) (int, *resumeFrom, string, error) {
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return 0, nil, "", fmt.Errorf("engine: read the interrupted run: %w", err)
	}
	defer tx.Rollback()
	prev, err := tx.GetRun(ctx, entry.RunID, 1)
	if errors.Is(err, store.ErrNotFound) {
		return entry.StepsDone, nil, "the interrupted attempt left no run record", nil
	}
	if err != nil {
		return 0, nil, "", fmt.Errorf("engine: read the interrupted run: %w", err)
	}
	done := entry.StepsDone
	var rf *resumeFrom
	for _, s := range prev.Steps {
		if s.Status == idsync.StatusRunning || isStopped(s.Status) {
			if s.Resume != nil {
				rf = &resumeFrom{run: prev.ID, step: s.Type, partition: s.Partition, at: *s.Resume}
			}
			break
		}
		done++
	}
	msg := fmt.Sprintf("run %s finished %d step(s) before it stopped", prev.ID, done-entry.StepsDone)
	if rf != nil {
		msg += fmt.Sprintf("; its %s resumes after the %d objects it committed", rf.step, rf.at.Objects)
	}
	return done, rf, msg, nil
}

// WaitQueued waits until a queue entry is done or failed, polling every
// interval, and returns the run result of its last attempt.
func (e *Engine) WaitQueued(ctx context.Context, id string, interval time.Duration) (*store.QueuedRun, *idsync.RunResult, error) {
	q, err := e.queue()
	if err != nil {
		return nil, nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	for {
		entry, err := q.GetQueued(ctx, id)
		if err != nil {
			return nil, nil, fmt.Errorf("engine: %w", err)
		}
		if entry.State == store.QueueDone || entry.State == store.QueueFailed {
			if entry.RunID == "" {
				return entry, nil, nil
			}
			tx, err := e.st.Begin(ctx, false)
			if err != nil {
				return entry, nil, fmt.Errorf("engine: read run: %w", err)
			}
			res, err := tx.GetRun(ctx, entry.RunID, e.limit)
			tx.Rollback()
			if err != nil {
				return entry, nil, fmt.Errorf("engine: read run: %w", err)
			}
			return entry, res, nil
		}
		select {
		case <-ctx.Done():
			return entry, nil, ctx.Err()
		case <-time.After(interval):
		}
	}
}
