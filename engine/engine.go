// Package engine runs the identity-management cycle of idsync: import
// (§3), synchronization (§4, §7) and export (§5, §6), plus preview (§14).
// It reaches connected systems only through package connector and
// persists only through package store; it never imports a driver.
//
// One object's journey: a connector emits an idsync.Entry; import stages
// it as a CS object with a pending import (import.go); sync evaluates the
// inbound rules of its connector, joins or projects it, and recomputes
// the MV attributes by precedence with lineage (sync.go, inbound.go);
// for every MV object that changed, the outbound rules provision,
// deprovision or stage export attribute flows on CS objects of other
// connectors (outbound.go); export sends those pending exports in pages
// and records the results and the export status (export.go).
package engine

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"sort"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

// Options configure an Engine.
type Options struct {
	Store    store.Store
	Registry *connector.Registry
	Config   *config.Config
	// Logger defaults to a discarding logger.
	Logger *slog.Logger
	// Now defaults to time.Now.
	Now func() time.Time
	// Progress, when set, is called after every committed page and at the
	// end of every step, one call at a time: from the goroutine running
	// the step, or, for an import's pages, from the goroutine that
	// commits them while the connector reads on.
	Progress func(Progress)
	// Host and PID identify this process in locks (default: os.Hostname, os.Getpid).
	Host string
	PID  int
	// ErrorListLimit caps the object errors stored per run (default 10,000);
	// ErrorCount still counts them all.
	ErrorListLimit int
}

// Progress reports the advance of a run step.
type Progress struct {
	RunID     string
	Connector string
	Step      idsync.StepType
	Page      int // pages committed so far
	Objects   int // objects processed so far
	Done      bool
	Elapsed   time.Duration
}

// Engine runs run profiles against a store and configured connectors.
// It is safe for concurrent use: imports and exports of different
// connectors may run at once; syncs are serialized by a store lock, so a
// second concurrent sync (from this or another process) fails fast.
type Engine struct {
	st    store.Store
	reg   *connector.Registry
	cfg   *config.Config
	log   *slog.Logger
	now   func() time.Time
	prog  func(Progress)
	host  string
	pid   int
	limit int

	rules *ruleSet
}

// New returns an engine for cfg. It compiles every rule (expressions,
// scoping filters, join rules) and declares the value indexes that join
// rules need to the store.
func New(ctx context.Context, opts Options) (*Engine, error) {
	if opts.Store == nil || opts.Config == nil || opts.Registry == nil {
		return nil, fmt.Errorf("engine: Store, Registry and Config are required")
	}
	e := &Engine{
		st: opts.Store, reg: opts.Registry, cfg: opts.Config,
		log: opts.Logger, now: opts.Now, prog: opts.Progress,
		host: opts.Host, pid: opts.PID, limit: opts.ErrorListLimit,
	}
	if e.log == nil {
		e.log = slog.New(slog.DiscardHandler)
	}
	if e.now == nil {
		e.now = time.Now
	}
	if e.host == "" {
		e.host, _ = os.Hostname()
	}
	if e.pid == 0 {
		e.pid = os.Getpid()
	}
	if e.limit == 0 {
		e.limit = 10000
	}
	rs, err := compileRules(opts.Config)
	if err != nil {
		return nil, err
	}
	e.rules = rs
	if err := e.st.SetIndexes(ctx, withMatchIndexes(rs.indexes(), opts.Config)); err != nil {
		return nil, fmt.Errorf("engine: declare indexes: %w", err)
	}
	return e, nil
}

// Config returns the engine's configuration.
func (e *Engine) Config() *config.Config { return e.cfg }

// Profile returns the named run profile of a connector, or an
// *idsync.Error of KindNotFound naming what exists.
func (e *Engine) Profile(connectorName, profile string) (*config.Connector, *idsync.RunProfile, error) {
	cc := e.cfg.Connector(connectorName)
	if cc == nil {
		names := make([]string, 0, len(e.cfg.Connectors))
		for _, c := range e.cfg.Connectors {
			names = append(names, c.Name)
		}
		return nil, nil, &idsync.Error{Op: "run", Kind: idsync.KindNotFound, Err: fmt.Errorf("unknown connector %q (configured: %v)", connectorName, names)}
	}
	p := cc.Profiles[profile]
	if p == nil {
		names := make([]string, 0, len(cc.Profiles))
		for n := range cc.Profiles {
			names = append(names, n)
		}
		sort.Strings(names)
		return nil, nil, &idsync.Error{Op: "run", Kind: idsync.KindNotFound, Connector: connectorName, Err: fmt.Errorf("unknown run profile %q (configured: %v)", profile, names)}
	}
	return cc, p, nil
}
