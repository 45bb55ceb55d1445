// Package store is the persistence contract of idsync: connector spaces,
// the metaverse, watermarks, run history and locks. Implementations live
// below it (store/sqlstore) and must pass the conformance suite in
// store/storetest.
//
// All access goes through transactions. Write transactions are
// serialized; the engine sizes them to one page of work, so that a crash
// loses at most the page in flight. Every method takes a context and
// honours its cancellation. Lookups that may take many keys take slices
// and answer with maps, so that the engine never issues a query per object
// inside a loop.
package store

import (
	"context"
	"errors"
	"time"

	"github.com/idsync/idsync"
)

// Sentinel errors.
var (
	ErrNotFound = errors.New("store: not found")
	// ErrConflict reports a uniqueness violation (two CS objects with one anchor).
	ErrConflict = errors.New("store: conflict")
	// ErrLocked reports that a lock is held by another owner.
	ErrLocked = errors.New("store: locked")
	// ErrNotIndexed reports a lookup by value (FindCS, FindMV) of an
	// attribute the index declaration (SetIndexes) does not hold.
	ErrNotIndexed = errors.New("store: attribute not indexed")
)

// Store is an open store. Its methods are safe for concurrent use.
type Store interface {
	// Begin starts a transaction. A write transaction waits for other
	// write transactions (of this and other processes) to finish.
	Begin(ctx context.Context, write bool) (Tx, error)
	// TryLock takes the named exclusive lock for owner, or returns an
	// error wrapping ErrLocked at once, naming the current holder, when
	// another live owner holds it. A holder that died (its process is
	// gone, or its heartbeat is older than the lock's timeout) loses the
	// lock. An owner with the holder's ID takes the lock again. The
	// returned Lock must be released. TryLock runs its own write
	// transaction: do not call it while holding one on the same goroutine.
	TryLock(ctx context.Context, name string, owner LockOwner) (Lock, error)
	// SetIndexes declares which attributes lookups by value need: MV
	// attributes per MV object type, and CS attributes per connector. The
	// store (re)builds its value indexes when the set changed since the
	// last call, and keeps them up to date on every Put.
	SetIndexes(ctx context.Context, ix Indexes) error
	Close() error
}

// Indexes names the attributes to index for lookups by value.
type Indexes struct {
	// MV lists metaverse attribute names (for every object type).
	MV []string
	// CS lists, per connector, CS attribute names.
	CS map[string][]string
}

// LockOwner says who holds a lock.
type LockOwner struct {
	ID   string // unique per holder, e.g. a run ID
	Host string
	PID  int
	What string // "sync of hr", shown to whoever is refused
}

// Lock is a held lock.
type Lock interface {
	// Heartbeat refreshes the lock so that others do not take it over. It
	// returns an error wrapping ErrLocked when the lock was lost (taken
	// over after a timeout, or released).
	Heartbeat(ctx context.Context) error
	// Release gives the lock up. Releasing a lock that was lost leaves
	// the new holder alone and returns nil.
	Release(ctx context.Context) error
}

// Tx is a transaction. It is not safe for concurrent use. A Tx that is
// neither committed nor rolled back holds resources: always end it.
type Tx interface {
	Commit() error
	// Rollback discards the transaction; after Commit or Rollback it is a
	// no-op returning nil, so that it can always be deferred. After a
	// method fails (ErrConflict included), roll back: some databases
	// cannot go on with the transaction.
	Rollback() error

	// --- connector spaces ---

	// GetCS returns the CS object with the given ID, or ErrNotFound.
	GetCS(ctx context.Context, id string) (*idsync.CSObject, error)
	// CSByIDs returns the CS objects with the given IDs that exist.
	CSByIDs(ctx context.Context, ids []string) (map[string]*idsync.CSObject, error)
	// CSVersions returns the Version of the CS objects with the given IDs
	// that exist: a cheap check that objects read earlier are unchanged.
	CSVersions(ctx context.Context, ids []string) (map[string]int64, error)
	// CSByAnchors returns the CS objects of a connector with the given anchors.
	CSByAnchors(ctx context.Context, connector string, anchors []idsync.Anchor) (map[idsync.Anchor]*idsync.CSObject, error)
	// CSByDNs returns the CS objects (staging and placeholders) of a
	// connector with the given DNs, compared case-insensitively; the map
	// is keyed by the lowercased DN. When several objects share a DN
	// (one of them obsolete), the non-obsolete one wins.
	CSByDNs(ctx context.Context, connector string, dns []string) (map[string]*idsync.CSObject, error)
	// CSByMV returns, per MV object ID, the CS objects linked to it.
	CSByMV(ctx context.Context, mvIDs []string) (map[string][]*idsync.CSObject, error)
	// LinksByDN is CSByDNs without the objects' data: identity and link
	// only, for resolving reference values cheaply.
	LinksByDN(ctx context.Context, connector string, dns []string) (map[string]Link, error)
	// LinksByMV is CSByMV without the objects' data, restricted to one
	// connector unless connector is empty.
	LinksByMV(ctx context.Context, connector string, mvIDs []string) (map[string][]Link, error)
	// FindCS returns the IDs of a connector's CS objects whose indexed
	// attribute attr holds one of values, keyed by the value as given
	// (lowercased when not caseSensitive). attr must be declared in
	// SetIndexes (else FindCS returns an error wrapping ErrNotIndexed); "anchor" and "dn" always
	// work. Values are compared in their text form (idsync.Value.String).
	FindCS(ctx context.Context, connector, attr string, values []string, caseSensitive bool) (map[string][]string, error)
	// PutCS inserts or replaces CS objects by ID. A second object with
	// the anchor of another object of the same connector fails with
	// ErrConflict. Each write increments the stored Version (1 for a new
	// object), and PutCS sets the objects' Version field to match.
	PutCS(ctx context.Context, objs []*idsync.CSObject) error
	// TouchCS sets the import generation of the given objects (an
	// unchanged object seen by a full import).
	TouchCS(ctx context.Context, ids []string, gen int64) error
	// DeleteCS removes CS objects.
	DeleteCS(ctx context.Context, ids []string) error
	// MarkUnseenDeleted sets pending import Delete on every anchored
	// staging object of the connector (and partition, when not empty)
	// whose import generation is below gen and which is not already
	// pending Delete: the deletion detection of a full import, as one
	// set operation. It returns how many objects it marked.
	MarkUnseenDeleted(ctx context.Context, connector, partition string, gen int64) (int, error)
	// ListCS returns CS objects matching f in ID order, at most f.Limit
	// (0 = no limit), starting after f.After.
	ListCS(ctx context.Context, f CSFilter) ([]*idsync.CSObject, error)
	// CountCS counts CS objects matching f (After and Limit ignored).
	CountCS(ctx context.Context, f CSFilter) (int, error)
	// ClearCS removes every CS object of a connector, and its links.
	ClearCS(ctx context.Context, connector string) error

	// --- metaverse ---

	GetMV(ctx context.Context, id string) (*idsync.MVObject, error)
	MVByIDs(ctx context.Context, ids []string) (map[string]*idsync.MVObject, error)
	// FindMV returns the IDs of MV objects of objectType (any type when
	// empty) whose indexed attribute attr holds one of values, keyed like FindCS.
	FindMV(ctx context.Context, objectType, attr string, values []string, caseSensitive bool) (map[string][]string, error)
	PutMV(ctx context.Context, objs []*idsync.MVObject) error
	DeleteMV(ctx context.Context, ids []string) error
	ListMV(ctx context.Context, f MVFilter) ([]*idsync.MVObject, error)
	CountMV(ctx context.Context, f MVFilter) (int, error)

	// --- watermarks and sequences ---

	// GetWatermark returns nil, nil when none is stored.
	GetWatermark(ctx context.Context, connector, partition string) ([]byte, error)
	PutWatermark(ctx context.Context, connector, partition string, wm []byte) error
	DeleteWatermark(ctx context.Context, connector, partition string) error
	// NextSeq returns the next value (from 1) of a named counter.
	NextSeq(ctx context.Context, name string) (int64, error)

	// --- runs ---

	// PutRun inserts or replaces a run record; its Errors field is ignored
	// (see AddRunErrors).
	PutRun(ctx context.Context, r *idsync.RunResult) error
	// AddRunErrors appends object errors to a run.
	AddRunErrors(ctx context.Context, runID string, errs []idsync.ObjectError) error
	// GetRun returns a run with at most maxErrors of its errors (0 = all).
	GetRun(ctx context.Context, id string, maxErrors int) (*idsync.RunResult, error)
	// ListRuns returns runs newest first, without their error lists.
	ListRuns(ctx context.Context, f RunFilter) ([]*idsync.RunResult, error)
}

// Link is the identity and link of a CS object, without its data.
type Link struct {
	ID        string
	Connector string
	Kind      idsync.ObjectKind
	Anchor    idsync.Anchor
	DN        string
	MVID      string
	Obsolete  bool
}

// CSFilter selects CS objects. Zero fields select everything.
type CSFilter struct {
	Connector     string
	ObjectType    string
	Kind          *idsync.ObjectKind
	PendingImport bool // only objects with a pending import
	PendingExport bool // only objects with a pending export
	PendingDelete bool // only objects whose pending export is a delete
	Joined        *bool
	// Attr and Value select objects whose attribute Attr holds Value
	// (case-insensitively); Value empty selects objects that have Attr.
	// When the index declaration (SetIndexes) does not hold Attr for
	// Connector, every object is read and filtered, unless Indexed is
	// set: then the query fails with an error wrapping ErrNotIndexed.
	Attr, Value string
	Indexed     bool
	After       string // ID to start after
	Limit       int
}

// MVFilter selects MV objects.
type MVFilter struct {
	ObjectType  string
	Attr, Value string // as in CSFilter
	After       string
	Limit       int
}

// RunFilter selects runs.
type RunFilter struct {
	Connector string
	Status    idsync.RunStatus
	Since     time.Time
	Limit     int
}

// Transfer is implemented by the transactions of stores that can be
// copied whole (idsync store migrate): it enumerates and restores what the
// Tx methods alone cannot. Both sqlstore and pgstore implement it.
type Transfer interface {
	// Indexes returns the index declaration last given to SetIndexes.
	Indexes(ctx context.Context) (Indexes, error)
	// ListWatermarks returns every stored watermark, by connector and partition.
	ListWatermarks(ctx context.Context) ([]Watermark, error)
	// ListSeqs returns the current value of every named counter.
	ListSeqs(ctx context.Context) (map[string]int64, error)
	// SetSeq sets a named counter's current value (NextSeq returns value+1).
	SetSeq(ctx context.Context, name string, value int64) error
	// RestoreCS inserts CS objects exactly as given, Version included
	// (PutCS would count a write). Their IDs must not exist yet.
	RestoreCS(ctx context.Context, objs []*idsync.CSObject) error
	// Clear deletes everything the store holds but its schema and locks:
	// connector spaces, metaverse, index declaration, watermarks,
	// counters and run history.
	Clear(ctx context.Context) error
}

// Watermark is a stored watermark.
type Watermark struct {
	Connector, Partition string
	Value                []byte
}

// RunQueue is the run queue that spreads runs over several idsync
// processes (idsync worker): runs are enqueued, claimed by one worker
// each, kept alive by the worker's heartbeats, and claimed again by
// another worker when their claimer stops heartbeating (it died), which
// then resumes them. Both sqlstore and pgstore implement it on the Store.
type RunQueue interface {
	// Enqueue adds q (ID, Connector and Profile set) in state QueueQueued.
	Enqueue(ctx context.Context, q *QueuedRun) error
	// ClaimRun claims for worker the oldest entry that is queued, or
	// running with a heartbeat older than stale (its claimer died), of
	// one of connectors (any when empty), skipping connectors that have
	// an entry running with a fresh heartbeat. It marks the entry
	// running, counts the attempt, and returns it; nil, nil when none
	// is claimable. Claims of concurrent workers never return one entry
	// twice.
	ClaimRun(ctx context.Context, worker LockOwner, connectors []string, stale time.Duration) (*QueuedRun, error)
	// UpdateClaimed writes the entry's State, StepsDone, RunID and Message and
	// refreshes its heartbeat, if worker still holds the claim; else it
	// returns an error wrapping ErrLocked (another worker took it over).
	UpdateClaimed(ctx context.Context, q *QueuedRun, workerID string) error
	// GetQueued returns an entry, or ErrNotFound.
	GetQueued(ctx context.Context, id string) (*QueuedRun, error)
	// ListQueue returns the entries in the given states (all when none),
	// oldest first.
	ListQueue(ctx context.Context, states ...QueueState) ([]*QueuedRun, error)
}

// QueueState is the state of a queue entry.
type QueueState string

// Queue states.
const (
	QueueQueued  QueueState = "queued"
	QueueRunning QueueState = "running"
	QueueDone    QueueState = "done"   // the run finished (whatever its status)
	QueueFailed  QueueState = "failed" // the run could not be attempted
)

// QueuedRun is an entry of the run queue.
type QueuedRun struct {
	ID        string     `json:"id"`
	Connector string     `json:"connector"`
	Profile   string     `json:"profile"`
	State     QueueState `json:"state"`
	Enqueued  time.Time  `json:"enqueued"`
	// Claimer is the worker running (or that last ran) the entry.
	Claimer   LockOwner `json:"claimer"`
	Heartbeat time.Time `json:"heartbeat"`
	Attempts  int       `json:"attempts"`
	// StepsDone counts the profile's leading steps that earlier attempts
	// finished: a resumed attempt runs the steps after them.
	StepsDone int `json:"stepsDone,omitempty"`
	// RunID is the run record of the latest attempt.
	RunID   string `json:"runId,omitempty"`
	Message string `json:"message,omitempty"`
}
