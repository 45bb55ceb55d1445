package engine

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/google/uuid"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store"
)

// syncLock is the name of the store lock that serializes syncs (§13).
const syncLock = "sync"

// ErrSyncRunning is returned (wrapped in an *idsync.Error of KindConflict)
// when another sync holds the sync lock.
var ErrSyncRunning = errors.New("another synchronization is running")

// Run runs a connector's run profile and records it in the run history.
// It returns an error only when the run could not be attempted (unknown
// connector or profile: KindNotFound; sync lock held: KindConflict) or
// the store failed; problems with objects and connected systems are in
// the RunResult (its Status and Errors).
func (e *Engine) Run(ctx context.Context, connectorName, profile string) (*idsync.RunResult, error) {
	cc, p, err := e.Profile(connectorName, profile)
	if err != nil {
		return nil, err
	}
	return e.RunSteps(ctx, cc.Name, p.Name, p.Steps)
}

// RunSteps runs the given steps for a connector as one run named profile.
func (e *Engine) RunSteps(ctx context.Context, connectorName, profile string, steps []idsync.RunStep) (*idsync.RunResult, error) {
	cc := e.cfg.Connector(connectorName)
	if cc == nil {
		_, _, err := e.Profile(connectorName, profile)
		return nil, err
	}
	if err := e.recoverInterrupted(ctx); err != nil {
		return nil, err
	}
	r := &runState{
		e: e, cc: cc,
		res: &idsync.RunResult{
			ID: newID(), Connector: cc.Name, Profile: profile,
			Status: idsync.StatusRunning, Started: e.now().UTC(),
			Host: e.host, PID: e.pid,
		},
	}
	r.resume, _ = ctx.Value(resumeKey{}).(*resumeFrom)
	owner := store.LockOwner{ID: r.res.ID, Host: e.host, PID: e.pid, What: fmt.Sprintf("run %s of %s (%s)", profile, cc.Name, r.res.ID)}
	// One run at a time per connector, across processes: imports and
	// exports of different connectors may run at once (§13).
	clock, err := e.takeLock(ctx, "connector:"+cc.Name, owner)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return nil, &idsync.Error{Op: "run", Kind: idsync.KindConflict, Connector: cc.Name, Err: fmt.Errorf("another run of %s is in progress: %w", cc.Name, err)}
		}
		return nil, fmt.Errorf("engine: take connector lock: %w", err)
	}
	defer clock.Release(context.WithoutCancel(ctx))
	r.clock = clock
	// Holding the connector's lock proves that every other run of the
	// connector still recorded in progress lost its process (on any
	// host: the lock of a dead process is taken over).
	if err := e.recoverConnector(ctx, cc.Name, r.res.ID); err != nil {
		return nil, err
	}
	needSync := false
	for _, s := range steps {
		if s.Type.IsSync() {
			needSync = true
		}
	}
	if needSync {
		lock, err := e.takeLock(ctx, syncLock, owner)
		if err != nil {
			if errors.Is(err, store.ErrLocked) {
				return nil, &idsync.Error{Op: "run", Kind: idsync.KindConflict, Connector: cc.Name, Err: fmt.Errorf("%w: %v", ErrSyncRunning, err)}
			}
			return nil, fmt.Errorf("engine: take sync lock: %w", err)
		}
		r.lock = lock
		defer lock.Release(context.WithoutCancel(ctx))
	}
	if err := r.save(ctx); err != nil {
		return nil, err
	}
	if f, ok := ctx.Value(runStartedKey{}).(func(string)); ok {
		f(r.res.ID)
	}
	for _, s := range steps {
		if s.PageSize <= 0 {
			s.PageSize = cc.PageSize
		}
		if s.PageSize <= 0 {
			s.PageSize = 1000
		}
		sr := idsync.StepResult{Type: s.Type, Partition: s.Partition, Status: idsync.StatusRunning, Started: e.now().UTC()}
		r.res.Steps = append(r.res.Steps, sr)
		r.step = &r.res.Steps[len(r.res.Steps)-1]
		r.stepStart = time.Now()
		var err error
		switch s.Type {
		case idsync.StepFullImport:
			err = e.importStep(ctx, r, s, false)
		case idsync.StepDeltaImport:
			err = e.importStep(ctx, r, s, true)
		case idsync.StepFullSync:
			err = e.syncStep(ctx, r, s, false)
		case idsync.StepDeltaSync:
			err = e.syncStep(ctx, r, s, true)
		case idsync.StepFullImportDeltaSync:
			err = e.importStep(ctx, r, s, false)
			if err == nil {
				err = e.syncStep(ctx, r, s, true)
			}
		case idsync.StepExport:
			err = e.exportStep(ctx, r, s)
		default:
			err = &idsync.Error{Op: "run", Kind: idsync.KindInvalid, Err: fmt.Errorf("unknown step %q", s.Type)}
		}
		r.step.Ended = e.now().UTC()
		if r.step.Status == idsync.StatusRunning {
			r.step.Status = stepStatus(r.step, err)
		}
		if err != nil && r.step.Message == "" {
			r.step.Message = err.Error()
		}
		r.res.Counters.Add(r.step.Counters)
		e.progress(r, true)
		if err != nil || isStopped(r.step.Status) {
			break
		}
	}
	r.res.Ended = e.now().UTC()
	r.res.Status = runStatus(r.res)
	for _, s := range r.res.Steps {
		if s.Message != "" && r.res.Message == "" {
			r.res.Message = s.Message
		}
	}
	if err := r.flushErrors(context.WithoutCancel(ctx)); err != nil {
		return r.res, err
	}
	if err := r.save(context.WithoutCancel(ctx)); err != nil {
		return r.res, err
	}
	return r.res, nil
}

func isStopped(s idsync.RunStatus) bool {
	switch s {
	case idsync.StatusStoppedConnectivity, idsync.StatusStoppedDeletionThreshold, idsync.StatusStoppedError, idsync.StatusInterrupted:
		return true
	}
	return false
}

func stepStatus(s *idsync.StepResult, err error) idsync.RunStatus {
	switch {
	case err == nil && len(s.Warnings) > 0:
		return idsync.StatusCompletedWithWarnings
	case err == nil:
		return idsync.StatusSuccess
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return idsync.StatusInterrupted
	case idsync.KindOf(err) == idsync.KindTransient:
		return idsync.StatusStoppedConnectivity
	}
	return idsync.StatusStoppedError
}

func runStatus(r *idsync.RunResult) idsync.RunStatus {
	st := idsync.StatusSuccess
	for _, s := range r.Steps {
		if isStopped(s.Status) {
			return s.Status
		}
		if s.Status == idsync.StatusCompletedWithWarnings {
			st = idsync.StatusCompletedWithWarnings
		}
	}
	if r.ErrorCount > 0 {
		return idsync.StatusCompletedWithErrors
	}
	return st
}

// heartbeatEvery is how often a running step refreshes its locks; the
// store's lock timeout is much longer.
const heartbeatEvery = 5 * time.Second

// runState is one run in progress.
type runState struct {
	e         *Engine
	cc        *config.Connector
	res       *idsync.RunResult
	step      *idsync.StepResult
	stepStart time.Time
	lock      store.Lock // the sync lock, for sync steps
	clock     store.Lock // the connector's lock
	lastBeat  time.Time
	pending   []idsync.ObjectError // errors not yet written
	// resume is the interrupted step of an earlier run that the first
	// step of this one resumes (a queued run taken over, §13).
	resume *resumeFrom
}

// resumeFrom is an interrupted import step to resume.
type resumeFrom struct {
	run       string
	step      idsync.StepType
	partition string
	at        idsync.ImportResume
}

// withResume returns a context whose run resumes the interrupted import
// step rf in its first step.
func withResume(ctx context.Context, rf *resumeFrom) context.Context {
	return context.WithValue(ctx, resumeKey{}, rf)
}

type resumeKey struct{}

// takeResume returns, once, the interrupted import to resume when the
// current step is the first of the run and the same step.
func (r *runState) takeResume(s idsync.RunStep) *resumeFrom {
	rf := r.resume
	r.resume = nil
	if rf == nil || len(r.res.Steps) != 1 || rf.step != s.Type || rf.partition != s.Partition {
		return nil
	}
	return rf
}

// objErr records an error on one object.
func (r *runState) objErr(oe idsync.ObjectError) {
	if oe.Step == "" && r.step != nil {
		oe.Step = r.step.Type
	}
	if oe.Connector == "" {
		oe.Connector = r.cc.Name
	}
	r.res.ErrorCount++
	if r.res.ErrorCount <= r.e.limit {
		r.pending = append(r.pending, oe)
		r.res.Errors = append(r.res.Errors, oe)
	}
}

// flushErrors writes pending object errors to the run history.
func (r *runState) flushErrors(ctx context.Context) error {
	if len(r.pending) == 0 {
		return nil
	}
	tx, err := r.e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: record run errors: %w", err)
	}
	defer tx.Rollback()
	if err := tx.AddRunErrors(ctx, r.res.ID, r.pending); err != nil {
		return fmt.Errorf("engine: record run errors: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("engine: record run errors: %w", err)
	}
	r.pending = r.pending[:0]
	return nil
}

// saveIn writes the run record in tx (with the page it belongs to).
func (r *runState) saveIn(ctx context.Context, tx store.Tx) error {
	cp := *r.res
	cp.Errors = nil
	if err := tx.PutRun(ctx, &cp); err != nil {
		return fmt.Errorf("engine: save run: %w", err)
	}
	if len(r.pending) > 0 {
		if err := tx.AddRunErrors(ctx, r.res.ID, r.pending); err != nil {
			return fmt.Errorf("engine: record run errors: %w", err)
		}
		r.pending = r.pending[:0]
	}
	return nil
}

func (r *runState) save(ctx context.Context) error {
	tx, err := r.e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: save run: %w", err)
	}
	defer tx.Rollback()
	if err := r.saveIn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("engine: save run: %w", err)
	}
	return nil
}

// heartbeat keeps the run's locks alive during long steps.
// It writes at most every few seconds; call it between transactions.
func (r *runState) heartbeat(ctx context.Context) error {
	if time.Since(r.lastBeat) < heartbeatEvery {
		return nil
	}
	r.lastBeat = time.Now()
	if r.clock != nil {
		if err := r.clock.Heartbeat(ctx); err != nil {
			return err
		}
	}
	if r.lock == nil {
		return nil
	}
	return r.lock.Heartbeat(ctx)
}

func (e *Engine) progress(r *runState, done bool) {
	if e.prog == nil || r.step == nil {
		return
	}
	e.prog(Progress{
		RunID: r.res.ID, Connector: r.cc.Name, Step: r.step.Type,
		Page: r.step.Pages, Objects: r.step.Counters.Objects, Done: done,
		Elapsed: time.Since(r.stepStart),
	})
}

// WaitForLocks returns a context in which runs wait (polling every
// interval, as long as the context lasts) for the connector's lock and
// the sync lock held by another run, instead of failing at once with a
// KindConflict error: what a worker of the run queue, or a scheduled run
// that must not be skipped, wants.
func WaitForLocks(ctx context.Context, interval time.Duration) context.Context {
	if interval <= 0 {
		interval = time.Second
	}
	return context.WithValue(ctx, lockWaitKey{}, interval)
}

type lockWaitKey struct{}

// withRunStarted returns a context whose run calls f with its run ID
// once its record is saved.
func withRunStarted(ctx context.Context, f func(runID string)) context.Context {
	return context.WithValue(ctx, runStartedKey{}, f)
}

type runStartedKey struct{}

// takeLock takes a store lock, waiting for it when ctx says so
// (WaitForLocks).
func (e *Engine) takeLock(ctx context.Context, name string, owner store.LockOwner) (store.Lock, error) {
	interval, wait := ctx.Value(lockWaitKey{}).(time.Duration)
	logged := false
	for {
		l, err := e.st.TryLock(ctx, name, owner)
		if err == nil || !wait || !errors.Is(err, store.ErrLocked) {
			return l, err
		}
		if !logged {
			e.log.Info("waiting for a lock", "lock", name, "run", owner.What, "holder", err)
			logged = true
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for lock %s: %w (%v)", name, ctx.Err(), err)
		case <-time.After(interval):
		}
	}
}

// recoverConnector marks as interrupted the runs of connector, other than
// current, that are recorded in progress: called with the connector's
// lock held, which no live run of another process can hold.
func (e *Engine) recoverConnector(ctx context.Context, connector, current string) error {
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return fmt.Errorf("engine: read run history: %w", err)
	}
	runs, err := tx.ListRuns(ctx, store.RunFilter{Connector: connector, Status: idsync.StatusRunning, Limit: 100})
	tx.Rollback()
	if err != nil {
		return fmt.Errorf("engine: read run history: %w", err)
	}
	runs = slices.DeleteFunc(runs, func(r *idsync.RunResult) bool { return r.ID == current })
	return e.markInterrupted(ctx, runs)
}

// recoverInterrupted marks runs left in progress by a process that died
// as interrupted, so that history tells the truth. A run is stale when
// its process is gone; runs of live processes are left alone.
func (e *Engine) recoverInterrupted(ctx context.Context) error {
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return fmt.Errorf("engine: read run history: %w", err)
	}
	runs, err := tx.ListRuns(ctx, store.RunFilter{Status: idsync.StatusRunning, Limit: 100})
	tx.Rollback()
	if err != nil {
		return fmt.Errorf("engine: read run history: %w", err)
	}
	var stale []*idsync.RunResult
	for _, run := range runs {
		if e.runOwnerGone(run) {
			stale = append(stale, run)
		}
	}
	return e.markInterrupted(ctx, stale)
}

// markInterrupted records runs whose process died as interrupted.
func (e *Engine) markInterrupted(ctx context.Context, stale []*idsync.RunResult) error {
	if len(stale) == 0 {
		return nil
	}
	wtx, err := e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: recover interrupted runs: %w", err)
	}
	defer wtx.Rollback()
	for _, run := range stale {
		run.Status = idsync.StatusInterrupted
		if run.Ended.IsZero() {
			run.Ended = e.now().UTC()
		}
		pages := 0
		for i := range run.Steps {
			if run.Steps[i].Status == idsync.StatusRunning {
				run.Steps[i].Status = idsync.StatusInterrupted
				run.Steps[i].Ended = run.Ended
				pages = run.Steps[i].Pages
				run.Message = fmt.Sprintf("the process running %s stopped during %s after %d committed pages; the pages it committed are kept", run.ID, run.Steps[i].Type, pages)
			}
		}
		if err := wtx.PutRun(ctx, run); err != nil {
			return fmt.Errorf("engine: recover interrupted runs: %w", err)
		}
	}
	return wtx.Commit()
}

// newID returns a new time-ordered GUID (UUIDv7), so that IDs sort in
// creation order and B-tree inserts append.
func newID() string {
	u, err := uuid.NewV7()
	if err != nil {
		return uuid.NewString()
	}
	return u.String()
}
