// Package storetest is the conformance suite of store.Store: every
// implementation runs
//
//	storetest.Run(t, func(t *testing.T) store.Store { return openFresh(t) })
//
// and passes. open must return a new, empty store each time it is called
// and close it in t.Cleanup. Stores with an injectable clock also pass
// WithClock, which enables the lock-timeout scenarios.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
)

// Clock is a settable clock for the store under test: pass its Now to the
// store, and the suite moves it.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock that reads t until moved.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Advance moves the clock forward by d.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// Option configures Run.
type Option func(*suite)

// WithClock tells the suite that the stores open reads clock and times out
// lock heartbeats after lockTimeout, which enables the scenarios that need
// a heartbeat to grow old.
func WithClock(clock *Clock, lockTimeout time.Duration) Option {
	return func(s *suite) {
		s.clock = clock
		s.lockTimeout = lockTimeout
	}
}

type suite struct {
	open        func(t *testing.T) store.Store
	clock       *Clock
	lockTimeout time.Duration
}

// Run runs every scenario against stores that open returns.
func Run(t *testing.T, open func(t *testing.T) store.Store, opts ...Option) {
	s := &suite{open: open}
	for _, o := range opts {
		o(s)
	}
	scenarios := []struct {
		name string
		fn   func(t *testing.T, st store.Store)
	}{
		{"CS/PutThenGetReturnsEveryField", s.csRoundTrip},
		{"CS/PutReplacesByID", s.csReplace},
		{"CS/PutKeepsLastOfDuplicateIDsInOneCall", s.csDuplicateIDs},
		{"CS/GetMissingIsErrNotFound", s.csNotFound},
		{"CS/AnchorIsUniquePerConnector", s.csAnchorUnique},
		{"CS/SameAnchorInTwoConnectorsIsAllowed", s.csAnchorTwoConnectors},
		{"CS/ObjectsWithoutAnchorDoNotConflict", s.csNoAnchorNoConflict},
		{"CS/ByAnchorsFindsOnlyTheConnectorsObjects", s.csByAnchors},
		{"CS/ByDNsIsCaseInsensitiveAndKeyedLowercase", s.csByDNs},
		{"CS/ByDNsPrefersTheNonObsoleteObject", s.csByDNsObsolete},
		{"CS/ByMVGroupsLinkedObjects", s.csByMV},
		{"CS/LinksByDNAndByMVMatchTheObjects", s.links},
		{"CS/VersionCountsWrites", s.versions},
		{"CS/FindByAnchorAndDNAlwaysWorks", s.findCSAnchorDN},
		{"CS/FindByIndexedAttribute", s.findCSIndexed},
		{"CS/FindByUndeclaredAttributeFails", s.findCSUndeclared},
		{"CS/IndexFollowsPutDeleteAndClear", s.findCSMaintained},
		{"CS/SetIndexesIndexesExistingObjects", s.setIndexesRebuild},
		{"CS/TouchAndMarkUnseenDeleted", s.markUnseen},
		{"CS/MarkUnseenDeletedHonoursPartition", s.markUnseenPartition},
		{"CS/ListFilters", s.listCSFilters},
		{"CS/ListPagesWithAfterAndLimit", s.listCSPages},
		{"CS/ListAttrFilterWithLimit", s.listCSAttrLimit},
		{"CS/DeleteRemovesObjects", s.deleteCS},
		{"CS/ClearRemovesOneConnectorSpaceAndItsLinks", s.clearCS},
		{"MV/PutThenGetReturnsEveryField", s.mvRoundTrip},
		{"MV/GetMissingIsErrNotFound", s.mvNotFound},
		{"MV/FindByIndexedAttribute", s.findMV},
		{"MV/IndexFollowsPutAndDelete", s.findMVMaintained},
		{"MV/ListAndCountFilters", s.listMV},
		{"Watermarks/NilWhenAbsentAndKeptPerPartition", s.watermarks},
		{"Seq/CountsFromOnePerName", s.seqs},
		{"Runs/PutIsUpsertAndIgnoresErrors", s.runsUpsert},
		{"Runs/ErrorsAppendInOrderAndGetLimitsThem", s.runErrors},
		{"Runs/ListNewestFirstWithFilters", s.listRuns},
		{"Tx/RollbackDiscards", s.rollback},
		{"Tx/CommitPersists", s.commit},
		{"Tx/ReaderDoesNotSeeUncommittedWrites", s.isolation},
		{"Tx/WritersAreSerialized", s.writersSerialized},
		{"Tx/CancelledContextFails", s.cancelled},
		{"Lock/SecondOwnerIsRefusedWithHoldersWhat", s.lockExclusive},
		{"Lock/ReleaseLetsTheNextOwnerIn", s.lockRelease},
		{"Lock/HolderWithDeadProcessLosesIt", s.lockDeadPID},
		{"Lock/StaleHeartbeatLosesIt", s.lockStale},
		{"Lock/HeartbeatKeepsIt", s.lockHeartbeat},
		{"Transfer/ListRestoreAndClear", s.transfer},
		{"Queue/ClaimsAreExclusiveOldestFirstAndOnePerConnector", s.queueClaims},
		{"Queue/ConcurrentClaimsNeverShareAnEntry", s.queueConcurrent},
		{"Queue/StaleClaimIsTakenOverAndTheOldClaimerLosesIt", s.queueStale},
	}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			sc.fn(t, s.open(t))
		})
	}
}

// ---------------------------------------------------------------------------
// helpers

var (
	t0 = time.Date(2024, 3, 1, 12, 0, 0, 123456000, time.UTC)
	t1 = time.Date(2024, 3, 2, 8, 30, 0, 0, time.UTC)
)

var cmpOpts = []cmp.Option{cmpopts.EquateEmpty()}

func write(t *testing.T, st store.Store, fn func(ctx context.Context, tx store.Tx)) {
	t.Helper()
	ctx := t.Context()
	tx, err := st.Begin(ctx, true)
	if err != nil {
		t.Fatalf("Begin(write): %v", err)
	}
	defer tx.Rollback()
	fn(ctx, tx)
	if err := tx.Commit(); err != nil {
		t.Fatalf("Commit: %v", err)
	}
}

func read(t *testing.T, st store.Store, fn func(ctx context.Context, tx store.Tx)) {
	t.Helper()
	ctx := t.Context()
	tx, err := st.Begin(ctx, false)
	if err != nil {
		t.Fatalf("Begin(read): %v", err)
	}
	defer tx.Rollback()
	fn(ctx, tx)
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func putCS(t *testing.T, st store.Store, objs ...*idsync.CSObject) {
	t.Helper()
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutCS", tx.PutCS(ctx, objs))
	})
}

func putMV(t *testing.T, st store.Store, objs ...*idsync.MVObject) {
	t.Helper()
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutMV", tx.PutMV(ctx, objs))
	})
}

func setIndexes(t *testing.T, st store.Store, ix store.Indexes) {
	t.Helper()
	must(t, "SetIndexes", st.SetIndexes(t.Context(), ix))
}

// cs returns a simple anchored import object.
func cs(id, connector, anchor, dn string, attrs ...any) *idsync.CSObject {
	o := &idsync.CSObject{ID: id, Connector: connector, ObjectType: "person", Anchor: idsync.Anchor(anchor), DN: dn, Attrs: idsync.Attrs{}}
	for i := 0; i+1 < len(attrs); i += 2 {
		name := attrs[i].(string)
		switch v := attrs[i+1].(type) {
		case string:
			o.Attrs[name] = append(o.Attrs[name], idsync.String(v))
		case int:
			o.Attrs[name] = append(o.Attrs[name], idsync.Int(int64(v)))
		case idsync.Value:
			o.Attrs[name] = append(o.Attrs[name], v)
		}
	}
	return o
}

func mv(id, objectType string, attrs ...any) *idsync.MVObject {
	c := cs("", "", "", "", attrs...)
	return &idsync.MVObject{ID: id, ObjectType: objectType, Attrs: c.Attrs}
}

func ids[T interface {
	*idsync.CSObject | *idsync.MVObject
}](objs []T) []string {
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		switch o := any(o).(type) {
		case *idsync.CSObject:
			out = append(out, o.ID)
		case *idsync.MVObject:
			out = append(out, o.ID)
		}
	}
	return out
}

func diff(t *testing.T, what string, want, got any) {
	t.Helper()
	if d := cmp.Diff(want, got, cmpOpts...); d != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", what, d)
	}
}

func everyValue() []idsync.Value {
	return []idsync.Value{
		idsync.String("Grace"),
		idsync.Int(-7),
		idsync.Bool(true),
		idsync.Bool(false),
		idsync.Binary([]byte{0, 1, 0xfe}),
		idsync.Ref("CN=Boss,OU=People,DC=example,DC=com"),
		idsync.Time(t0),
	}
}

func fullCS(id string) *idsync.CSObject {
	return &idsync.CSObject{
		ID:         id,
		Connector:  "hr",
		ObjectType: "person",
		Kind:       idsync.KindStaging,
		Partition:  "OU=People,DC=example,DC=com",
		Anchor:     idsync.Anchor("anchor-" + id),
		DN:         "CN=Grace Hopper,OU=People,DC=example,DC=com",
		Attrs: idsync.Attrs{
			"givenName": {idsync.String("Grace")},
			"every":     everyValue(),
			"member":    {idsync.Ref("CN=a"), idsync.Ref("CN=b")},
		},
		Provisioned:   true,
		Obsolete:      true,
		PendingImport: idsync.ImportUpdate,
		PendingExport: &idsync.PendingExport{
			Op:    idsync.OpUpdate,
			NewDN: "CN=Grace B. Hopper,OU=People,DC=example,DC=com",
			Mods: []idsync.AttrMod{
				{Name: "sn", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("Hopper")}},
				{Name: "member", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.Ref("CN=c")}},
				{Name: "fax", Op: idsync.AttrClear},
			},
		},
		ExportStatus: idsync.Attrs{"sn": {idsync.String("Hopper")}},
		Awaiting:     idsync.ConfirmAdd,
		ExportError:  &idsync.ExportError{Type: "connector-error", Message: "boom", Retries: 2, First: t0, Last: t1},
		ImportError:  "row 7: bad date",
		MVID:         "mv-" + id,
		LinkRule:     "in-hr-person",
		LinkType:     idsync.LinkStickyJoin,
		LinkedAt:     t0,
		ImportGen:    42,
		Updated:      t1,
	}
}

// ---------------------------------------------------------------------------
// connector spaces

func (s *suite) csRoundTrip(t *testing.T, st store.Store) {
	want := fullCS("cs-1")
	placeholder := &idsync.CSObject{ID: "cs-2", Connector: "hr", ObjectType: "organizationalUnit", Kind: idsync.KindPlaceholder, DN: "OU=People,DC=example,DC=com"}
	putCS(t, st, want, placeholder)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetCS(ctx, "cs-1")
		must(t, "GetCS", err)
		diff(t, "GetCS(cs-1)", want, got)
		got, err = tx.GetCS(ctx, "cs-2")
		must(t, "GetCS", err)
		diff(t, "GetCS(cs-2) (placeholder)", placeholder, got)
		m, err := tx.CSByIDs(ctx, []string{"cs-1", "cs-2", "nope"})
		must(t, "CSByIDs", err)
		diff(t, "CSByIDs", map[string]*idsync.CSObject{"cs-1": want, "cs-2": placeholder}, m)
	})
}

func (s *suite) csReplace(t *testing.T, st store.Store) {
	putCS(t, st, fullCS("cs-1"))
	repl := cs("cs-1", "hr", "anchor-2", "CN=Other", "sn", "Lovelace")
	putCS(t, st, repl)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetCS(ctx, "cs-1")
		must(t, "GetCS", err)
		diff(t, "GetCS after replace", repl, got)
		m, err := tx.CSByAnchors(ctx, "hr", []idsync.Anchor{"anchor-cs-1", "anchor-2"})
		must(t, "CSByAnchors", err)
		diff(t, "CSByAnchors after an anchor change", []idsync.Anchor{"anchor-2"}, slices.Collect(mapsKeys(m)))
		n, err := tx.CountCS(ctx, store.CSFilter{})
		must(t, "CountCS", err)
		if n != 1 {
			t.Errorf("CountCS = %d, want 1", n)
		}
	})
}

func mapsKeys[K comparable, V any](m map[K]V) func(func(K) bool) {
	return func(yield func(K) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

func (s *suite) csDuplicateIDs(t *testing.T, st store.Store) {
	first := cs("cs-1", "hr", "a1", "CN=First")
	last := cs("cs-1", "hr", "a1", "CN=Last")
	putCS(t, st, first, last)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetCS(ctx, "cs-1")
		must(t, "GetCS", err)
		if got.DN != "CN=Last" {
			t.Errorf("GetCS after PutCS(first, last with one ID).DN = %q, want %q", got.DN, "CN=Last")
		}
	})
}

func (s *suite) csNotFound(t *testing.T, st store.Store) {
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetCS(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCS(missing) error = %v, want ErrNotFound", err)
		}
		m, err := tx.CSByIDs(ctx, []string{"nope"})
		must(t, "CSByIDs", err)
		if len(m) != 0 {
			t.Errorf("CSByIDs(missing) = %v, want empty", m)
		}
		m2, err := tx.CSByIDs(ctx, nil)
		must(t, "CSByIDs(nil)", err)
		if len(m2) != 0 {
			t.Errorf("CSByIDs(nil) = %v, want empty", m2)
		}
	})
}

func (s *suite) csAnchorUnique(t *testing.T, st store.Store) {
	putCS(t, st, cs("cs-1", "hr", "E100", "CN=One"))
	ctx := t.Context()
	tx, err := st.Begin(ctx, true)
	must(t, "Begin", err)
	err = tx.PutCS(ctx, []*idsync.CSObject{cs("cs-2", "hr", "E100", "CN=Two")})
	tx.Rollback()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutCS(second object with anchor E100) error = %v, want ErrConflict", err)
	}
	// Two new objects with one anchor in a single call conflict too.
	tx, err = st.Begin(ctx, true)
	must(t, "Begin", err)
	err = tx.PutCS(ctx, []*idsync.CSObject{cs("cs-3", "hr", "E200", "CN=Three"), cs("cs-4", "hr", "E200", "CN=Four")})
	tx.Rollback()
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("PutCS(two new objects with anchor E200) error = %v, want ErrConflict", err)
	}
	read(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
		must(t, "CountCS", err)
		if n != 1 {
			t.Errorf("CountCS after refused puts = %d, want 1", n)
		}
	})
}

func (s *suite) csAnchorTwoConnectors(t *testing.T, st store.Store) {
	putCS(t, st, cs("cs-1", "hr", "E100", "CN=One"), cs("cs-2", "ad", "E100", "CN=One"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for conn, id := range map[string]string{"hr": "cs-1", "ad": "cs-2"} {
			m, err := tx.CSByAnchors(ctx, conn, []idsync.Anchor{"E100"})
			must(t, "CSByAnchors", err)
			if o := m["E100"]; o == nil || o.ID != id {
				t.Errorf("CSByAnchors(%s, E100) = %v, want object %s", conn, m, id)
			}
		}
	})
}

func (s *suite) csNoAnchorNoConflict(t *testing.T, st store.Store) {
	a := cs("cs-1", "ad", "", "CN=Export1")
	a.Provisioned = true
	b := cs("cs-2", "ad", "", "CN=Export2")
	b.Provisioned = true
	p := &idsync.CSObject{ID: "cs-3", Connector: "ad", ObjectType: "ou", Kind: idsync.KindPlaceholder, DN: "OU=X"}
	putCS(t, st, a, b, p)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.CountCS(ctx, store.CSFilter{Connector: "ad"})
		must(t, "CountCS", err)
		if n != 3 {
			t.Errorf("CountCS = %d, want 3 objects without anchors", n)
		}
		m, err := tx.CSByAnchors(ctx, "ad", []idsync.Anchor{""})
		must(t, "CSByAnchors", err)
		if len(m) != 0 {
			t.Errorf("CSByAnchors(empty anchor) = %v, want nothing", m)
		}
	})
}

func (s *suite) csByAnchors(t *testing.T, st store.Store) {
	var objs []*idsync.CSObject
	var anchors []idsync.Anchor
	for i := range 1200 { // more than one chunk of keys
		a := fmt.Sprintf("E%05d", i)
		objs = append(objs, cs(fmt.Sprintf("cs-%05d", i), "hr", a, "CN="+a))
		anchors = append(anchors, idsync.Anchor(a))
	}
	objs = append(objs, cs("other", "ad", "E00001", "CN=x"))
	putCS(t, st, objs...)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByAnchors(ctx, "hr", append(anchors, "missing", "e00001"))
		must(t, "CSByAnchors", err)
		if len(m) != 1200 {
			t.Fatalf("CSByAnchors(1200 anchors + 2 missing) returned %d objects, want 1200", len(m))
		}
		for i, a := range anchors {
			if o := m[a]; o == nil || o.ID != fmt.Sprintf("cs-%05d", i) || o.Connector != "hr" {
				t.Fatalf("CSByAnchors[%s] = %+v, want cs-%05d of hr", a, o, i)
			}
		}
		m, err = tx.CSByAnchors(ctx, "hr", nil)
		must(t, "CSByAnchors(nil)", err)
		if len(m) != 0 {
			t.Errorf("CSByAnchors(nil) = %d objects, want 0", len(m))
		}
	})
}

func (s *suite) csByDNs(t *testing.T, st store.Store) {
	p := &idsync.CSObject{ID: "cs-p", Connector: "ad", ObjectType: "ou", Kind: idsync.KindPlaceholder, DN: "OU=People,DC=Example,DC=com"}
	putCS(t, st, cs("cs-1", "ad", "g1", "CN=Ada,OU=People,DC=Example,DC=com"), p, cs("cs-x", "hr", "h1", "CN=Ada,OU=People,DC=Example,DC=com"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByDNs(ctx, "ad", []string{"cn=ADA,ou=people,dc=example,dc=COM", "OU=PEOPLE,DC=EXAMPLE,DC=COM", "CN=Missing"})
		must(t, "CSByDNs", err)
		got := map[string]string{}
		for k, o := range m {
			got[k] = o.ID
		}
		diff(t, "CSByDNs (lowercased DN -> ID)", map[string]string{
			"cn=ada,ou=people,dc=example,dc=com": "cs-1",
			"ou=people,dc=example,dc=com":        "cs-p",
		}, got)
	})
}

func (s *suite) csByDNsObsolete(t *testing.T, st store.Store) {
	// The obsolete object sorts first by ID and is written first, so that
	// neither order nor ID picks the winner by accident.
	old := cs("cs-a", "ad", "g-old", "CN=Ada")
	old.Obsolete = true
	putCS(t, st, old)
	putCS(t, st, cs("cs-b", "ad", "g-new", "cn=ada"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByDNs(ctx, "ad", []string{"CN=ADA"})
		must(t, "CSByDNs", err)
		if o := m["cn=ada"]; o == nil || o.ID != "cs-b" {
			t.Errorf("CSByDNs(CN=ADA)[cn=ada] = %+v, want the non-obsolete cs-b", o)
		}
	})
}

func (s *suite) csByMV(t *testing.T, st store.Store) {
	a := cs("cs-1", "hr", "h1", "CN=1")
	a.MVID = "mv-1"
	b := cs("cs-2", "ad", "g1", "CN=1")
	b.MVID = "mv-1"
	c := cs("cs-3", "ad", "g2", "CN=2")
	c.MVID = "mv-2"
	d := cs("cs-4", "ad", "g3", "CN=3")
	putCS(t, st, a, b, c, d)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByMV(ctx, []string{"mv-1", "mv-2", "mv-none"})
		must(t, "CSByMV", err)
		got := map[string][]string{}
		for k, objs := range m {
			got[k] = ids(objs)
			slices.Sort(got[k])
		}
		diff(t, "CSByMV", map[string][]string{"mv-1": {"cs-1", "cs-2"}, "mv-2": {"cs-3"}}, got)
	})
}

func (s *suite) versions(t *testing.T, st store.Store) {
	a := cs("cs-1", "hr", "h1", "CN=One")
	b := cs("cs-2", "hr", "h2", "CN=Two")
	putCS(t, st, a, b)
	if a.Version != 1 || b.Version != 1 {
		t.Fatalf("after the first put Version = %d, %d; want 1, 1", a.Version, b.Version)
	}
	a.PendingImport = idsync.ImportUpdate
	putCS(t, st, a)
	if a.Version != 2 {
		t.Fatalf("after the second put Version = %d, want 2", a.Version)
	}
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSVersions(ctx, []string{"cs-1", "cs-2", "cs-none"})
		must(t, "CSVersions", err)
		diff(t, "CSVersions", map[string]int64{"cs-1": 2, "cs-2": 1}, m)
		o, err := tx.GetCS(ctx, "cs-1")
		must(t, "GetCS", err)
		if o.Version != 2 {
			t.Errorf("GetCS(cs-1).Version = %d, want 2", o.Version)
		}
	})
}

func (s *suite) links(t *testing.T, st store.Store) {
	a := cs("cs-1", "hr", "h1", "CN=One")
	a.MVID = "mv-1"
	b := cs("cs-2", "ad", "g1", "CN=One,OU=X")
	b.MVID = "mv-1"
	old := cs("cs-0", "ad", "g0", "cn=one,ou=x")
	old.Obsolete = true
	p := &idsync.CSObject{ID: "cs-p", Connector: "ad", Kind: idsync.KindPlaceholder, DN: "OU=X"}
	putCS(t, st, a, b, old, p)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.LinksByDN(ctx, "ad", []string{"CN=ONE,ou=x", "ou=x", "CN=Missing"})
		must(t, "LinksByDN", err)
		diff(t, "LinksByDN", map[string]store.Link{
			"cn=one,ou=x": {ID: "cs-2", Connector: "ad", Kind: idsync.KindStaging, Anchor: "g1", DN: "CN=One,OU=X", MVID: "mv-1"},
			"ou=x":        {ID: "cs-p", Connector: "ad", Kind: idsync.KindPlaceholder, DN: "OU=X"},
		}, m)
		all, err := tx.LinksByMV(ctx, "", []string{"mv-1", "mv-none"})
		must(t, "LinksByMV", err)
		diff(t, "LinksByMV(all connectors)", map[string][]store.Link{"mv-1": {
			{ID: "cs-1", Connector: "hr", Kind: idsync.KindStaging, Anchor: "h1", DN: "CN=One", MVID: "mv-1"},
			{ID: "cs-2", Connector: "ad", Kind: idsync.KindStaging, Anchor: "g1", DN: "CN=One,OU=X", MVID: "mv-1"},
		}}, all)
		ad, err := tx.LinksByMV(ctx, "ad", []string{"mv-1"})
		must(t, "LinksByMV", err)
		diff(t, "LinksByMV(ad)", map[string][]store.Link{"mv-1": {
			{ID: "cs-2", Connector: "ad", Kind: idsync.KindStaging, Anchor: "g1", DN: "CN=One,OU=X", MVID: "mv-1"},
		}}, ad)
	})
}

func (s *suite) findCSAnchorDN(t *testing.T, st store.Store) {
	putCS(t, st, cs("cs-1", "ad", "AbC", "CN=Ada,DC=x"), cs("cs-2", "ad", "abc", "CN=Bob,DC=x"), cs("cs-3", "hr", "AbC", "CN=Ada,DC=x"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			attr   string
			values []string
			cs     bool
			want   map[string][]string
		}{
			{"anchor", []string{"AbC", "zzz"}, true, map[string][]string{"AbC": {"cs-1"}}},
			{"anchor", []string{"ABC"}, false, map[string][]string{"abc": {"cs-1", "cs-2"}}},
			{"dn", []string{"CN=Ada,DC=x"}, true, map[string][]string{"CN=Ada,DC=x": {"cs-1"}}},
			{"dn", []string{"cn=ada,dc=x"}, true, map[string][]string{}},
			{"dn", []string{"cn=ADA,dc=x", "CN=bob,DC=X"}, false, map[string][]string{"cn=ada,dc=x": {"cs-1"}, "cn=bob,dc=x": {"cs-2"}}},
		} {
			got, err := tx.FindCS(ctx, "ad", tc.attr, tc.values, tc.cs)
			must(t, "FindCS", err)
			diff(t, fmt.Sprintf("FindCS(ad, %s, %q, caseSensitive=%v)", tc.attr, tc.values, tc.cs), tc.want, sortedFound(got))
		}
	})
}

func sortedFound(m map[string][]string) map[string][]string {
	for _, v := range m {
		slices.Sort(v)
	}
	return m
}

func (s *suite) findCSIndexed(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{CS: map[string][]string{"hr": {"mail", "employeeNumber"}}})
	a := cs("cs-1", "hr", "h1", "CN=1", "mail", "Ada@Example.com", "mail", "ada@example.com", "employeeNumber", 1001)
	b := cs("cs-2", "hr", "h2", "CN=2", "mail", "bob@example.com")
	c := cs("cs-3", "ad", "g1", "CN=3", "mail", "ada@example.com")
	putCS(t, st, a, b, c)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			attr   string
			values []string
			cs     bool
			want   map[string][]string
		}{
			{"mail", []string{"Ada@Example.com"}, true, map[string][]string{"Ada@Example.com": {"cs-1"}}},
			{"mail", []string{"ADA@example.COM"}, true, map[string][]string{}},
			{"mail", []string{"ADA@example.COM", "Bob@Example.com", "nobody@x"}, false, map[string][]string{"ada@example.com": {"cs-1"}, "bob@example.com": {"cs-2"}}},
			{"employeeNumber", []string{"1001"}, true, map[string][]string{"1001": {"cs-1"}}},
			{"mail", nil, false, map[string][]string{}},
		} {
			got, err := tx.FindCS(ctx, "hr", tc.attr, tc.values, tc.cs)
			must(t, "FindCS", err)
			diff(t, fmt.Sprintf("FindCS(hr, %s, %q, caseSensitive=%v)", tc.attr, tc.values, tc.cs), tc.want, sortedFound(got))
		}
	})
}

func (s *suite) findCSUndeclared(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{CS: map[string][]string{"hr": {"mail"}}})
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1", "mail", "a@x", "sn", "A"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.FindCS(ctx, "hr", "sn", []string{"A"}, false); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("FindCS(hr, sn) with sn not declared: error %v, want ErrNotIndexed", err)
		}
		if _, err := tx.FindCS(ctx, "ad", "mail", []string{"a@x"}, false); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("FindCS(ad, mail) with mail declared only for hr: error %v, want ErrNotIndexed", err)
		}
		// ListCS and CountCS by an undeclared attribute read every
		// object, unless Indexed asks for the index.
		f := store.CSFilter{Connector: "hr", Attr: "sn", Value: "a"}
		objs, err := tx.ListCS(ctx, f)
		must(t, "ListCS by an undeclared attribute", err)
		if len(objs) != 1 || objs[0].ID != "cs-1" {
			t.Errorf("ListCS(hr, sn=a) with sn not declared = %d objects, want cs-1", len(objs))
		}
		if n, err := tx.CountCS(ctx, f); err != nil || n != 1 {
			t.Errorf("CountCS(hr, sn=a) with sn not declared = %d, %v, want 1", n, err)
		}
		f.Indexed = true
		if _, err := tx.ListCS(ctx, f); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("ListCS(hr, sn=a, Indexed) with sn not declared: error %v, want ErrNotIndexed", err)
		}
		if _, err := tx.CountCS(ctx, f); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("CountCS(hr, sn=a, Indexed) with sn not declared: error %v, want ErrNotIndexed", err)
		}
		objs, err = tx.ListCS(ctx, store.CSFilter{Connector: "hr", Attr: "mail", Value: "A@X", Indexed: true})
		must(t, "ListCS by a declared attribute, Indexed", err)
		if len(objs) != 1 || objs[0].ID != "cs-1" {
			t.Errorf("ListCS(hr, mail=A@X, Indexed) = %d objects, want cs-1", len(objs))
		}
	})
}

func (s *suite) findCSMaintained(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{CS: map[string][]string{"hr": {"mail"}}})
	find := func(v string) []string {
		t.Helper()
		var got []string
		read(t, st, func(ctx context.Context, tx store.Tx) {
			m, err := tx.FindCS(ctx, "hr", "mail", []string{v}, false)
			must(t, "FindCS", err)
			got = m[store.FoldValue(v)]
			slices.Sort(got)
		})
		return got
	}
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1", "mail", "old@x"), cs("cs-2", "hr", "h2", "CN=2", "mail", "two@x"))
	diff(t, "FindCS(old@x) after put", []string{"cs-1"}, find("old@x"))
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1", "mail", "new@x"))
	diff(t, "FindCS(old@x) after the value changed", []string(nil), find("old@x"))
	diff(t, "FindCS(new@x) after the value changed", []string{"cs-1"}, find("new@x"))
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1"))
	diff(t, "FindCS(new@x) after the attribute was removed", []string(nil), find("new@x"))
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1", "mail", "new@x"))
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "DeleteCS", tx.DeleteCS(ctx, []string{"cs-1"})) })
	diff(t, "FindCS(new@x) after DeleteCS", []string(nil), find("new@x"))
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "ClearCS", tx.ClearCS(ctx, "hr")) })
	diff(t, "FindCS(two@x) after ClearCS", []string(nil), find("two@x"))
}

func (s *suite) setIndexesRebuild(t *testing.T, st store.Store) {
	putCS(t, st, cs("cs-1", "hr", "h1", "CN=1", "mail", "a@x", "sn", "Lovelace"), cs("cs-2", "hr", "h2", "CN=2", "sn", "lovelace"))
	putMV(t, st, mv("mv-1", "person", "mail", "a@x", "sn", "Lovelace"))
	setIndexes(t, st, store.Indexes{MV: []string{"mail"}, CS: map[string][]string{"hr": {"mail"}}})
	setIndexes(t, st, store.Indexes{MV: []string{"mail"}, CS: map[string][]string{"hr": {"mail"}}}) // unchanged: no-op
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.FindCS(ctx, "hr", "mail", []string{"A@X"}, false)
		must(t, "FindCS", err)
		diff(t, "FindCS(mail) of objects put before SetIndexes", map[string][]string{"a@x": {"cs-1"}}, m)
		mm, err := tx.FindMV(ctx, "", "mail", []string{"a@x"}, true)
		must(t, "FindMV", err)
		diff(t, "FindMV(mail) of objects put before SetIndexes", map[string][]string{"a@x": {"mv-1"}}, mm)
	})
	// Change the set: mail goes, sn comes.
	setIndexes(t, st, store.Indexes{MV: []string{"sn"}, CS: map[string][]string{"hr": {"sn"}}})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.FindCS(ctx, "hr", "sn", []string{"LOVELACE"}, false)
		must(t, "FindCS", err)
		diff(t, "FindCS(sn) after the set changed", map[string][]string{"lovelace": {"cs-1", "cs-2"}}, sortedFound(m))
		if _, err := tx.FindCS(ctx, "hr", "mail", []string{"a@x"}, false); err == nil {
			t.Errorf("FindCS(mail) after mail left the set: no error, want one")
		}
		mm, err := tx.FindMV(ctx, "person", "sn", []string{"Lovelace"}, true)
		must(t, "FindMV", err)
		diff(t, "FindMV(sn) after the set changed", map[string][]string{"Lovelace": {"mv-1"}}, mm)
		if _, err := tx.FindMV(ctx, "", "mail", []string{"a@x"}, false); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("FindMV(mail) after mail left the set: error %v, want ErrNotIndexed", err)
		}
	})
}

func (s *suite) markUnseen(t *testing.T, st store.Store) {
	seen := cs("seen", "hr", "a1", "CN=seen")
	unseen := cs("unseen", "hr", "a2", "CN=unseen")
	unseen2 := cs("unseen2", "hr", "a3", "CN=unseen2")
	unseen2.PendingImport = idsync.ImportUpdate
	gone := cs("gone", "hr", "a4", "CN=gone")
	gone.PendingImport = idsync.ImportDelete
	placeholder := &idsync.CSObject{ID: "ph", Connector: "hr", ObjectType: "ou", Kind: idsync.KindPlaceholder, DN: "OU=X"}
	// A placeholder for a reference by anchor: anchored, yet never marked.
	anchoredPH := &idsync.CSObject{ID: "ph2", Connector: "hr", ObjectType: "person", Kind: idsync.KindPlaceholder, Anchor: "a9", DN: "CN=ref"}
	export := cs("export", "hr", "", "CN=export")
	export.Provisioned = true
	newer := cs("newer", "hr", "a5", "CN=newer")
	newer.ImportGen = 3
	other := cs("other", "ad", "a1", "CN=other")
	putCS(t, st, seen, unseen, unseen2, gone, placeholder, anchoredPH, export, newer, other)
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "TouchCS", tx.TouchCS(ctx, []string{"seen"}, 2))
		n, err := tx.MarkUnseenDeleted(ctx, "hr", "", 2)
		must(t, "MarkUnseenDeleted", err)
		if n != 2 {
			t.Errorf("MarkUnseenDeleted(hr, gen 2) = %d, want 2 (unseen, unseen2)", n)
		}
		n, err = tx.MarkUnseenDeleted(ctx, "hr", "", 2)
		must(t, "MarkUnseenDeleted", err)
		if n != 0 {
			t.Errorf("MarkUnseenDeleted again = %d, want 0: already-deleted objects are not counted again", n)
		}
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByIDs(ctx, []string{"seen", "unseen", "unseen2", "gone", "ph", "ph2", "export", "newer", "other"})
		must(t, "CSByIDs", err)
		got := map[string]idsync.ImportType{}
		for id, o := range m {
			got[id] = o.PendingImport
		}
		diff(t, "pending import after MarkUnseenDeleted", map[string]idsync.ImportType{
			"seen": idsync.ImportNone, "unseen": idsync.ImportDelete, "unseen2": idsync.ImportDelete,
			"gone": idsync.ImportDelete, "ph": idsync.ImportNone, "ph2": idsync.ImportNone, "export": idsync.ImportNone,
			"newer": idsync.ImportNone, "other": idsync.ImportNone,
		}, got)
		if m["seen"].ImportGen != 2 {
			t.Errorf("ImportGen of a touched object = %d, want 2", m["seen"].ImportGen)
		}
		if d := cmp.Diff(seen.Attrs, m["seen"].Attrs, cmpOpts...); d != "" {
			t.Errorf("TouchCS changed attributes:\n%s", d)
		}
	})
}

func (s *suite) markUnseenPartition(t *testing.T, st store.Store) {
	a := cs("a", "ad", "a", "CN=a,OU=1")
	a.Partition = "OU=1"
	b := cs("b", "ad", "b", "CN=b,OU=2")
	b.Partition = "OU=2"
	putCS(t, st, a, b)
	write(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.MarkUnseenDeleted(ctx, "ad", "OU=1", 1)
		must(t, "MarkUnseenDeleted", err)
		if n != 1 {
			t.Errorf("MarkUnseenDeleted(ad, OU=1) = %d, want 1", n)
		}
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		m, err := tx.CSByIDs(ctx, []string{"a", "b"})
		must(t, "CSByIDs", err)
		if m["a"].PendingImport != idsync.ImportDelete || m["b"].PendingImport != idsync.ImportNone {
			t.Errorf("after MarkUnseenDeleted(ad, OU=1): a %v, b %v; want a delete, b none", m["a"].PendingImport, m["b"].PendingImport)
		}
		if m["a"].Partition != "OU=1" {
			t.Errorf("Partition = %q, want OU=1", m["a"].Partition)
		}
	})
}

// listFixture writes objects that each CSFilter field tells apart.
func listFixture(t *testing.T, st store.Store) {
	t.Helper()
	setIndexes(t, st, store.Indexes{CS: map[string][]string{"hr": {"dept"}}})
	a := cs("a", "hr", "1", "CN=a", "dept", "Sales", "sn", "Smith")
	a.PendingImport = idsync.ImportAdd
	b := cs("b", "hr", "2", "CN=b", "dept", "sales", "sn", "Jones")
	b.MVID = "mv-b"
	b.PendingExport = &idsync.PendingExport{Op: idsync.OpUpdate}
	c := cs("c", "hr", "3", "CN=c", "dept", "IT")
	c.ObjectType = "group"
	c.MVID = "mv-c"
	p := &idsync.CSObject{ID: "d", Connector: "hr", ObjectType: "ou", Kind: idsync.KindPlaceholder, DN: "OU=x"}
	e := cs("e", "ad", "4", "CN=e", "dept", "Sales", "sn", "SMITH")
	e.PendingImport = idsync.ImportDelete
	e.PendingExport = &idsync.PendingExport{Op: idsync.OpDelete}
	putCS(t, st, e, c, a, p, b)
}

func ptr[T any](v T) *T { return &v }

func (s *suite) listCSFilters(t *testing.T, st store.Store) {
	listFixture(t, st)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			name string
			f    store.CSFilter
			want []string
		}{
			{"everything", store.CSFilter{}, []string{"a", "b", "c", "d", "e"}},
			{"connector", store.CSFilter{Connector: "hr"}, []string{"a", "b", "c", "d"}},
			{"object type", store.CSFilter{ObjectType: "person"}, []string{"a", "b", "e"}},
			{"placeholders", store.CSFilter{Kind: ptr(idsync.KindPlaceholder)}, []string{"d"}},
			{"staging of hr", store.CSFilter{Connector: "hr", Kind: ptr(idsync.KindStaging)}, []string{"a", "b", "c"}},
			{"pending import", store.CSFilter{PendingImport: true}, []string{"a", "e"}},
			{"pending import of hr", store.CSFilter{Connector: "hr", PendingImport: true}, []string{"a"}},
			{"pending export", store.CSFilter{PendingExport: true}, []string{"b", "e"}},
			{"pending export of ad", store.CSFilter{Connector: "ad", PendingExport: true}, []string{"e"}},
			{"pending delete", store.CSFilter{PendingDelete: true}, []string{"e"}},
			{"pending delete of hr", store.CSFilter{Connector: "hr", PendingExport: true, PendingDelete: true}, nil},
			{"joined", store.CSFilter{Joined: ptr(true)}, []string{"b", "c"}},
			{"disjoined of hr", store.CSFilter{Connector: "hr", Joined: ptr(false)}, []string{"a", "d"}},
			{"indexed attr and value", store.CSFilter{Connector: "hr", Attr: "dept", Value: "SALES"}, []string{"a", "b"}},
			{"indexed attr present", store.CSFilter{Connector: "hr", Attr: "dept"}, []string{"a", "b", "c"}},
			{"unindexed attr and value", store.CSFilter{Attr: "sn", Value: "smith"}, []string{"a", "e"}},
			{"unindexed attr present", store.CSFilter{Connector: "hr", Attr: "sn"}, []string{"a", "b"}},
			{"attr everywhere", store.CSFilter{Attr: "dept", Value: "sales"}, []string{"a", "b", "e"}},
			{"combined", store.CSFilter{Connector: "hr", ObjectType: "person", Joined: ptr(true), PendingExport: true, Attr: "dept", Value: "sales"}, []string{"b"}},
			{"nothing", store.CSFilter{Connector: "nope"}, nil},
		} {
			objs, err := tx.ListCS(ctx, tc.f)
			must(t, "ListCS", err)
			diff(t, "ListCS IDs ("+tc.name+")", tc.want, ids(objs))
			n, err := tx.CountCS(ctx, tc.f)
			must(t, "CountCS", err)
			if n != len(tc.want) {
				t.Errorf("CountCS (%s) = %d, want %d", tc.name, n, len(tc.want))
			}
		}
	})
}

func (s *suite) listCSPages(t *testing.T, st store.Store) {
	var objs []*idsync.CSObject
	var want []string
	for i := range 250 {
		id := fmt.Sprintf("id-%04d", (i*37)%250) // written out of order
		objs = append(objs, cs(id, "hr", id, "CN="+id))
	}
	for i := range 250 {
		want = append(want, fmt.Sprintf("id-%04d", i))
	}
	putCS(t, st, objs...)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		var got []string
		after := ""
		for page := 0; ; page++ {
			objs, err := tx.ListCS(ctx, store.CSFilter{Connector: "hr", After: after, Limit: 100})
			must(t, "ListCS", err)
			if len(objs) == 0 {
				break
			}
			if len(objs) > 100 {
				t.Fatalf("ListCS(Limit 100) page %d returned %d objects", page, len(objs))
			}
			got = append(got, ids(objs)...)
			after = objs[len(objs)-1].ID
		}
		diff(t, "IDs of all pages", want, got)
		n, err := tx.CountCS(ctx, store.CSFilter{Connector: "hr", After: "id-0100", Limit: 3})
		must(t, "CountCS", err)
		if n != 250 {
			t.Errorf("CountCS ignoring After and Limit = %d, want 250", n)
		}
	})
}

func (s *suite) listCSAttrLimit(t *testing.T, st store.Store) {
	// Limit applies to matching objects, also when the attribute filter
	// cannot use an index.
	var objs []*idsync.CSObject
	for i := range 20 {
		o := cs(fmt.Sprintf("id-%02d", i), "hr", fmt.Sprint(i), fmt.Sprint("CN=", i))
		if i%4 == 0 {
			o.Attrs["flag"] = []idsync.Value{idsync.Bool(true)}
		}
		objs = append(objs, o)
	}
	putCS(t, st, objs...)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.ListCS(ctx, store.CSFilter{Connector: "hr", Attr: "flag", Value: "true", Limit: 2, After: "id-00"})
		must(t, "ListCS", err)
		diff(t, "ListCS(flag=true, After id-00, Limit 2)", []string{"id-04", "id-08"}, ids(got))
	})
}

func (s *suite) deleteCS(t *testing.T, st store.Store) {
	putCS(t, st, cs("a", "hr", "1", "CN=a"), cs("b", "hr", "2", "CN=b"))
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "DeleteCS", tx.DeleteCS(ctx, []string{"a", "missing"}))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetCS(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCS(deleted) error = %v, want ErrNotFound", err)
		}
		m, err := tx.CSByAnchors(ctx, "hr", []idsync.Anchor{"1", "2"})
		must(t, "CSByAnchors", err)
		diff(t, "anchors left", []idsync.Anchor{"2"}, slices.Collect(mapsKeys(m)))
	})
	// The anchor of a deleted object is free again.
	putCS(t, st, cs("c", "hr", "1", "CN=c"))
}

func (s *suite) clearCS(t *testing.T, st store.Store) {
	a := cs("a", "hr", "1", "CN=a")
	a.MVID = "mv-1"
	b := cs("b", "ad", "1", "CN=b")
	b.MVID = "mv-1"
	putCS(t, st, a, b, cs("c", "hr", "2", "CN=c"))
	putMV(t, st, mv("mv-1", "person"))
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "ClearCS", tx.ClearCS(ctx, "hr")) })
	read(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.CountCS(ctx, store.CSFilter{Connector: "hr"})
		must(t, "CountCS", err)
		if n != 0 {
			t.Errorf("CountCS(hr) after ClearCS(hr) = %d, want 0", n)
		}
		n, err = tx.CountCS(ctx, store.CSFilter{Connector: "ad"})
		must(t, "CountCS", err)
		if n != 1 {
			t.Errorf("CountCS(ad) after ClearCS(hr) = %d, want 1", n)
		}
		m, err := tx.CSByMV(ctx, []string{"mv-1"})
		must(t, "CSByMV", err)
		diff(t, "CSByMV(mv-1) after ClearCS(hr)", []string{"b"}, ids(m["mv-1"]))
		if _, err := tx.GetMV(ctx, "mv-1"); err != nil {
			t.Errorf("GetMV after ClearCS: %v; ClearCS must leave the metaverse alone", err)
		}
	})
	putCS(t, st, cs("a2", "hr", "1", "CN=a")) // anchors are free again
}

// ---------------------------------------------------------------------------
// metaverse

func fullMV(id string) *idsync.MVObject {
	lin := map[string]idsync.Lineage{}
	for i, n := range []string{"givenName", "sn", "mail", "every"} {
		lin[n] = idsync.Lineage{Rule: []string{"in-hr", "in-ad"}[i%2], Connector: []string{"hr", "ad"}[i%2], CSID: "cs-1", RunID: "run-1", At: t0, Flow: "Direct " + n}
	}
	return &idsync.MVObject{
		ID:         id,
		ObjectType: "person",
		Attrs: idsync.Attrs{
			"givenName": {idsync.String("Grace")},
			"sn":        {idsync.String("Hopper")},
			"mail":      {idsync.String("grace@example.com")},
			"every":     everyValue(),
		},
		Lineage:           lin,
		RetryProvisioning: true,
		Created:           t0,
		Updated:           t1,
	}
}

func (s *suite) mvRoundTrip(t *testing.T, st store.Store) {
	want := fullMV("mv-1")
	bare := &idsync.MVObject{ID: "mv-2", ObjectType: "group"}
	putMV(t, st, want, bare)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetMV(ctx, "mv-1")
		must(t, "GetMV", err)
		diff(t, "GetMV(mv-1)", want, got)
		m, err := tx.MVByIDs(ctx, []string{"mv-1", "mv-2", "missing"})
		must(t, "MVByIDs", err)
		diff(t, "MVByIDs", map[string]*idsync.MVObject{"mv-1": want, "mv-2": bare}, m)
	})
	repl := mv("mv-1", "contact", "sn", "X")
	putMV(t, st, repl)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetMV(ctx, "mv-1")
		must(t, "GetMV", err)
		diff(t, "GetMV after replace", repl, got)
	})
}

func (s *suite) mvNotFound(t *testing.T, st store.Store) {
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetMV(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMV(missing) error = %v, want ErrNotFound", err)
		}
	})
}

func (s *suite) findMV(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{MV: []string{"mail", "employeeID"}})
	putMV(t, st,
		mv("mv-1", "person", "mail", "Ada@X", "employeeID", 7),
		mv("mv-2", "contact", "mail", "ada@x"),
		mv("mv-3", "person", "mail", "bob@x", "mail", "robert@x"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			typ, attr string
			values    []string
			cs        bool
			want      map[string][]string
		}{
			{"", "mail", []string{"ADA@x"}, false, map[string][]string{"ada@x": {"mv-1", "mv-2"}}},
			{"person", "mail", []string{"ADA@x"}, false, map[string][]string{"ada@x": {"mv-1"}}},
			{"", "mail", []string{"Ada@X", "robert@x"}, true, map[string][]string{"Ada@X": {"mv-1"}, "robert@x": {"mv-3"}}},
			{"", "employeeID", []string{"7"}, true, map[string][]string{"7": {"mv-1"}}},
		} {
			got, err := tx.FindMV(ctx, tc.typ, tc.attr, tc.values, tc.cs)
			must(t, "FindMV", err)
			diff(t, fmt.Sprintf("FindMV(%q, %s, %q, caseSensitive=%v)", tc.typ, tc.attr, tc.values, tc.cs), tc.want, sortedFound(got))
		}
		if _, err := tx.FindMV(ctx, "", "sn", []string{"x"}, false); !errors.Is(err, store.ErrNotIndexed) {
			t.Errorf("FindMV(sn) with sn not declared: error %v, want ErrNotIndexed", err)
		}
	})
}

func (s *suite) findMVMaintained(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{MV: []string{"mail"}})
	find := func(v string) []string {
		t.Helper()
		var got []string
		read(t, st, func(ctx context.Context, tx store.Tx) {
			m, err := tx.FindMV(ctx, "", "mail", []string{v}, true)
			must(t, "FindMV", err)
			got = m[v]
		})
		return got
	}
	putMV(t, st, mv("mv-1", "person", "mail", "old@x"))
	diff(t, "FindMV(old@x)", []string{"mv-1"}, find("old@x"))
	putMV(t, st, mv("mv-1", "person", "mail", "new@x"))
	diff(t, "FindMV(old@x) after change", []string(nil), find("old@x"))
	diff(t, "FindMV(new@x) after change", []string{"mv-1"}, find("new@x"))
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "DeleteMV", tx.DeleteMV(ctx, []string{"mv-1"})) })
	diff(t, "FindMV(new@x) after DeleteMV", []string(nil), find("new@x"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetMV(ctx, "mv-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMV after DeleteMV error = %v, want ErrNotFound", err)
		}
	})
}

func (s *suite) listMV(t *testing.T, st store.Store) {
	setIndexes(t, st, store.Indexes{MV: []string{"dept"}})
	var objs []*idsync.MVObject
	for i := range 30 {
		typ := "person"
		if i%3 == 0 {
			typ = "group"
		}
		o := mv(fmt.Sprintf("mv-%02d", i), typ, "dept", []string{"Sales", "IT"}[i%2])
		if i%5 == 0 {
			o.Attrs["sn"] = []idsync.Value{idsync.String("Smith")}
		}
		objs = append(objs, o)
	}
	putMV(t, st, objs...)
	want := func(pred func(i int) bool) []string {
		var out []string
		for i := range 30 {
			if pred(i) {
				out = append(out, fmt.Sprintf("mv-%02d", i))
			}
		}
		return out
	}
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			name string
			f    store.MVFilter
			want []string
		}{
			{"everything", store.MVFilter{}, want(func(int) bool { return true })},
			{"object type", store.MVFilter{ObjectType: "group"}, want(func(i int) bool { return i%3 == 0 })},
			{"indexed attr", store.MVFilter{Attr: "dept", Value: "sales"}, want(func(i int) bool { return i%2 == 0 })},
			{"unindexed attr", store.MVFilter{Attr: "sn", Value: "SMITH"}, want(func(i int) bool { return i%5 == 0 })},
			{"attr present", store.MVFilter{Attr: "sn"}, want(func(i int) bool { return i%5 == 0 })},
			{"type and attr", store.MVFilter{ObjectType: "person", Attr: "dept", Value: "IT"}, want(func(i int) bool { return i%3 != 0 && i%2 == 1 })},
			{"after and limit", store.MVFilter{After: "mv-10", Limit: 3}, []string{"mv-11", "mv-12", "mv-13"}},
			{"unindexed attr with limit", store.MVFilter{Attr: "sn", After: "mv-00", Limit: 2}, []string{"mv-05", "mv-10"}},
		} {
			got, err := tx.ListMV(ctx, tc.f)
			must(t, "ListMV", err)
			diff(t, "ListMV IDs ("+tc.name+")", tc.want, ids(got))
			n, err := tx.CountMV(ctx, tc.f)
			must(t, "CountMV", err)
			f := tc.f
			f.After, f.Limit = "", 0
			all, err := tx.ListMV(ctx, f)
			must(t, "ListMV", err)
			if n != len(all) {
				t.Errorf("CountMV (%s) = %d, want %d (After and Limit ignored)", tc.name, n, len(all))
			}
		}
	})
}

// ---------------------------------------------------------------------------
// watermarks, sequences, runs

func (s *suite) watermarks(t *testing.T, st store.Store) {
	read(t, st, func(ctx context.Context, tx store.Tx) {
		wm, err := tx.GetWatermark(ctx, "ad", "")
		if err != nil || wm != nil {
			t.Errorf("GetWatermark(absent) = %q, %v; want nil, nil", wm, err)
		}
	})
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutWatermark", tx.PutWatermark(ctx, "ad", "", []byte("cookie-0")))
		must(t, "PutWatermark", tx.PutWatermark(ctx, "ad", "DC=a", []byte("cookie-a")))
		must(t, "PutWatermark", tx.PutWatermark(ctx, "ad", "DC=b", []byte{0, 1, 2}))
		must(t, "PutWatermark", tx.PutWatermark(ctx, "ad", "DC=a", []byte("cookie-a2")))
		must(t, "PutWatermark", tx.PutWatermark(ctx, "hr", "", []byte("usn-9")))
	})
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "DeleteWatermark", tx.DeleteWatermark(ctx, "ad", "DC=b"))
		must(t, "DeleteWatermark(absent)", tx.DeleteWatermark(ctx, "ad", "DC=none"))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			conn, part string
			want       []byte
		}{
			{"ad", "", []byte("cookie-0")},
			{"ad", "DC=a", []byte("cookie-a2")},
			{"ad", "DC=b", nil},
			{"hr", "", []byte("usn-9")},
			{"hr", "DC=a", nil},
		} {
			wm, err := tx.GetWatermark(ctx, tc.conn, tc.part)
			must(t, "GetWatermark", err)
			if (wm == nil) != (tc.want == nil) || string(wm) != string(tc.want) {
				t.Errorf("GetWatermark(%s, %q) = %q, want %q", tc.conn, tc.part, wm, tc.want)
			}
		}
	})
}

func (s *suite) seqs(t *testing.T, st store.Store) {
	next := func(ctx context.Context, tx store.Tx, name string) int64 {
		t.Helper()
		n, err := tx.NextSeq(ctx, name)
		must(t, "NextSeq", err)
		return n
	}
	var got []int64
	write(t, st, func(ctx context.Context, tx store.Tx) {
		got = append(got, next(ctx, tx, "import-gen/hr"), next(ctx, tx, "import-gen/hr"), next(ctx, tx, "import-gen/ad"))
	})
	write(t, st, func(ctx context.Context, tx store.Tx) {
		got = append(got, next(ctx, tx, "import-gen/hr"))
	})
	// A rolled-back increment is not kept.
	ctx := t.Context()
	tx, err := st.Begin(ctx, true)
	must(t, "Begin", err)
	next(ctx, tx, "import-gen/hr")
	must(t, "Rollback", tx.Rollback())
	write(t, st, func(ctx context.Context, tx store.Tx) {
		got = append(got, next(ctx, tx, "import-gen/hr"))
	})
	diff(t, "NextSeq values (hr, hr, ad, hr, [rolled back], hr)", []int64{1, 2, 1, 3, 4}, got)
}

func run(id, connector string, status idsync.RunStatus, started time.Time) *idsync.RunResult {
	return &idsync.RunResult{
		ID: id, Connector: connector, Profile: "full", Status: status, Started: started,
		Ended: started.Add(time.Minute),
		Steps: []idsync.StepResult{{Type: idsync.StepFullImport, Partition: "p", Status: status, Started: started,
			Ended: started.Add(time.Minute), Counters: idsync.Counters{ImportAdds: 3, Objects: 3}, Pages: 1,
			Warnings: []string{"w"}, Message: "m"}},
		Counters:   idsync.Counters{ImportAdds: 3, Objects: 3},
		ErrorCount: 0,
		Message:    "done",
	}
}

func (s *suite) runsUpsert(t *testing.T, st store.Store) {
	r := run("run-1", "hr", idsync.StatusRunning, t0)
	r.Errors = []idsync.ObjectError{{Type: "ignored", Message: "PutRun ignores Errors"}}
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "PutRun", tx.PutRun(ctx, r)) })
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetRun(ctx, "run-1", 0)
		must(t, "GetRun", err)
		want := *r
		want.Errors = nil
		diff(t, "GetRun after PutRun", &want, got)
	})
	done := run("run-1", "hr", idsync.StatusSuccess, t0)
	done.Counters.ImportUpdates = 9
	done.ErrorCount = 5
	write(t, st, func(ctx context.Context, tx store.Tx) { must(t, "PutRun", tx.PutRun(ctx, done)) })
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetRun(ctx, "run-1", 0)
		must(t, "GetRun", err)
		diff(t, "GetRun after a second PutRun", done, got)
		runs, err := tx.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns", err)
		if len(runs) != 1 {
			t.Errorf("ListRuns after two PutRun of one ID = %d runs, want 1", len(runs))
		}
		if _, err := tx.GetRun(ctx, "nope", 0); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetRun(missing) error = %v, want ErrNotFound", err)
		}
	})
}

func (s *suite) runErrors(t *testing.T, st store.Store) {
	oe := func(i int) idsync.ObjectError {
		return idsync.ObjectError{Step: idsync.StepFullSync, Connector: "hr", CSID: fmt.Sprint("cs-", i), MVID: "mv", Anchor: "a",
			DN: "CN=x", Rule: "r", Type: "expression-error", Message: fmt.Sprint("error ", i)}
	}
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutRun", tx.PutRun(ctx, run("run-1", "hr", idsync.StatusRunning, t0)))
		must(t, "PutRun", tx.PutRun(ctx, run("run-2", "hr", idsync.StatusRunning, t1)))
		must(t, "AddRunErrors", tx.AddRunErrors(ctx, "run-1", []idsync.ObjectError{oe(0), oe(1), oe(2)}))
		must(t, "AddRunErrors", tx.AddRunErrors(ctx, "run-2", []idsync.ObjectError{oe(100)}))
	})
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "AddRunErrors", tx.AddRunErrors(ctx, "run-1", []idsync.ObjectError{oe(3), oe(4)}))
		// PutRun after errors keeps them.
		must(t, "PutRun", tx.PutRun(ctx, run("run-1", "hr", idsync.StatusCompletedWithErrors, t0)))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		got, err := tx.GetRun(ctx, "run-1", 0)
		must(t, "GetRun", err)
		diff(t, "GetRun(maxErrors 0).Errors", []idsync.ObjectError{oe(0), oe(1), oe(2), oe(3), oe(4)}, got.Errors)
		got, err = tx.GetRun(ctx, "run-1", 2)
		must(t, "GetRun", err)
		diff(t, "GetRun(maxErrors 2).Errors", []idsync.ObjectError{oe(0), oe(1)}, got.Errors)
		got, err = tx.GetRun(ctx, "run-2", 0)
		must(t, "GetRun", err)
		diff(t, "GetRun(run-2).Errors", []idsync.ObjectError{oe(100)}, got.Errors)
		runs, err := tx.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns", err)
		for _, r := range runs {
			if len(r.Errors) != 0 {
				t.Errorf("ListRuns returned run %s with %d errors, want none", r.ID, len(r.Errors))
			}
		}
	})
}

func (s *suite) listRuns(t *testing.T, st store.Store) {
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutRun", tx.PutRun(ctx, run("r1", "hr", idsync.StatusSuccess, t0)))
		must(t, "PutRun", tx.PutRun(ctx, run("r3", "ad", idsync.StatusSuccess, t0.Add(2*time.Hour))))
		must(t, "PutRun", tx.PutRun(ctx, run("r2", "hr", idsync.StatusStoppedError, t0.Add(time.Hour))))
		must(t, "PutRun", tx.PutRun(ctx, run("r4", "hr", idsync.StatusSuccess, t0.Add(3*time.Hour))))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		for _, tc := range []struct {
			name string
			f    store.RunFilter
			want []string
		}{
			{"all, newest first", store.RunFilter{}, []string{"r4", "r3", "r2", "r1"}},
			{"connector", store.RunFilter{Connector: "hr"}, []string{"r4", "r2", "r1"}},
			{"status", store.RunFilter{Status: idsync.StatusSuccess}, []string{"r4", "r3", "r1"}},
			{"since", store.RunFilter{Since: t0.Add(time.Hour)}, []string{"r4", "r3", "r2"}},
			{"limit", store.RunFilter{Limit: 2}, []string{"r4", "r3"}},
			{"combined", store.RunFilter{Connector: "hr", Status: idsync.StatusSuccess, Limit: 1}, []string{"r4"}},
		} {
			runs, err := tx.ListRuns(ctx, tc.f)
			must(t, "ListRuns", err)
			var got []string
			for _, r := range runs {
				got = append(got, r.ID)
			}
			diff(t, "ListRuns ("+tc.name+")", tc.want, got)
		}
	})
}

// ---------------------------------------------------------------------------
// transactions

func (s *suite) rollback(t *testing.T, st store.Store) {
	ctx := t.Context()
	tx, err := st.Begin(ctx, true)
	must(t, "Begin", err)
	must(t, "PutCS", tx.PutCS(ctx, []*idsync.CSObject{cs("a", "hr", "1", "CN=a")}))
	must(t, "PutMV", tx.PutMV(ctx, []*idsync.MVObject{mv("mv-1", "person")}))
	must(t, "PutWatermark", tx.PutWatermark(ctx, "hr", "", []byte("x")))
	must(t, "Rollback", tx.Rollback())
	if err := tx.Rollback(); err != nil {
		t.Errorf("second Rollback = %v, want nil", err)
	}
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetCS(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetCS after Rollback error = %v, want ErrNotFound", err)
		}
		if _, err := tx.GetMV(ctx, "mv-1"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("GetMV after Rollback error = %v, want ErrNotFound", err)
		}
		if wm, _ := tx.GetWatermark(ctx, "hr", ""); wm != nil {
			t.Errorf("GetWatermark after Rollback = %q, want nil", wm)
		}
	})
}

func (s *suite) commit(t *testing.T, st store.Store) {
	putCS(t, st, cs("a", "hr", "1", "CN=a"))
	read(t, st, func(ctx context.Context, tx store.Tx) {
		if _, err := tx.GetCS(ctx, "a"); err != nil {
			t.Errorf("GetCS after Commit: %v", err)
		}
	})
	// A write transaction sees its own writes.
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "PutCS", tx.PutCS(ctx, []*idsync.CSObject{cs("b", "hr", "2", "CN=b")}))
		if _, err := tx.GetCS(ctx, "b"); err != nil {
			t.Errorf("GetCS of an object put in the same transaction: %v", err)
		}
	})
}

func (s *suite) isolation(t *testing.T, st store.Store) {
	putCS(t, st, cs("a", "hr", "1", "CN=a"))
	ctx := t.Context()
	w, err := st.Begin(ctx, true)
	must(t, "Begin(write)", err)
	defer w.Rollback()
	must(t, "PutCS", w.PutCS(ctx, []*idsync.CSObject{cs("b", "hr", "2", "CN=b"), cs("a", "hr", "1", "CN=changed")}))
	// The reader starts while the writer is open, and must not wait for it.
	read(t, st, func(ctx context.Context, r store.Tx) {
		if _, err := r.GetCS(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("reader GetCS(uncommitted object) error = %v, want ErrNotFound", err)
		}
		a, err := r.GetCS(ctx, "a")
		must(t, "GetCS", err)
		if a.DN != "CN=a" {
			t.Errorf("reader sees DN %q, want the committed %q", a.DN, "CN=a")
		}
	})
	must(t, "Commit", w.Commit())
	read(t, st, func(ctx context.Context, r store.Tx) {
		if _, err := r.GetCS(ctx, "b"); err != nil {
			t.Errorf("GetCS after the writer committed: %v", err)
		}
	})
}

func (s *suite) writersSerialized(t *testing.T, st store.Store) {
	ctx := t.Context()
	w1, err := st.Begin(ctx, true)
	must(t, "Begin(write)", err)
	// A second writer waits; with a deadline it gives up.
	short, cancel := context.WithTimeout(ctx, 50*time.Millisecond)
	defer cancel()
	if w2, err := st.Begin(short, true); err == nil {
		w2.Rollback()
		w1.Rollback()
		t.Fatalf("second Begin(write) while a writer is open succeeded, want it to wait until its context ended")
	}
	// Once the first ends, the waiting writer goes on.
	got := make(chan error, 1)
	go func() {
		w2, err := st.Begin(ctx, true)
		if err == nil {
			err = w2.PutCS(ctx, []*idsync.CSObject{cs("w2", "hr", "2", "CN=w2")})
			if err == nil {
				err = w2.Commit()
			} else {
				w2.Rollback()
			}
		}
		got <- err
	}()
	must(t, "PutCS", w1.PutCS(ctx, []*idsync.CSObject{cs("w1", "hr", "1", "CN=w1")}))
	must(t, "Commit", w1.Commit())
	must(t, "second writer", <-got)
	read(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.CountCS(ctx, store.CSFilter{})
		must(t, "CountCS", err)
		if n != 2 {
			t.Errorf("CountCS after two serialized writers = %d, want 2", n)
		}
	})
}

func (s *suite) cancelled(t *testing.T, st store.Store) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	for _, write := range []bool{false, true} {
		if tx, err := st.Begin(ctx, write); err == nil {
			tx.Rollback()
			t.Errorf("Begin(cancelled ctx, write=%v) succeeded, want an error", write)
		}
	}
	tx, err := st.Begin(t.Context(), true)
	must(t, "Begin", err)
	defer tx.Rollback()
	if _, err := tx.GetCS(ctx, "x"); err == nil || errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetCS(cancelled ctx) error = %v, want a context error", err)
	}
	if err := tx.PutCS(ctx, []*idsync.CSObject{cs("a", "hr", "1", "CN=a")}); err == nil {
		t.Errorf("PutCS(cancelled ctx) succeeded, want an error")
	}
	if _, err := tx.ListCS(ctx, store.CSFilter{}); err == nil {
		t.Errorf("ListCS(cancelled ctx) succeeded, want an error")
	}
	if _, err := st.TryLock(ctx, "x", store.LockOwner{ID: "o"}); err == nil {
		t.Errorf("TryLock(cancelled ctx) succeeded, want an error")
	}
	if err := st.SetIndexes(ctx, store.Indexes{MV: []string{"mail"}}); err == nil {
		t.Errorf("SetIndexes(cancelled ctx) succeeded, want an error")
	}
}

// ---------------------------------------------------------------------------
// locks

func owner(id, what string) store.LockOwner {
	host, _ := os.Hostname()
	return store.LockOwner{ID: id, Host: host, PID: os.Getpid(), What: what}
}

func (s *suite) lockExclusive(t *testing.T, st store.Store) {
	ctx := t.Context()
	l, err := st.TryLock(ctx, "sync", owner("run-1", "full sync of hr"))
	must(t, "TryLock", err)
	defer l.Release(ctx)
	_, err = st.TryLock(ctx, "sync", owner("run-2", "delta sync of ad"))
	if !errors.Is(err, store.ErrLocked) {
		t.Fatalf("second TryLock error = %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), "full sync of hr") {
		t.Errorf("second TryLock error %q does not name the holder's What %q", err, "full sync of hr")
	}
	// Another lock name is independent.
	l2, err := st.TryLock(ctx, "import/ad", owner("run-2", "import of ad"))
	must(t, "TryLock(another name)", err)
	must(t, "Release", l2.Release(ctx))
}

func (s *suite) lockRelease(t *testing.T, st store.Store) {
	ctx := t.Context()
	l, err := st.TryLock(ctx, "sync", owner("run-1", "first"))
	must(t, "TryLock", err)
	must(t, "Release", l.Release(ctx))
	l2, err := st.TryLock(ctx, "sync", owner("run-2", "second"))
	must(t, "TryLock after Release", err)
	must(t, "Heartbeat", l2.Heartbeat(ctx))
	// A released lock's stale handle cannot free the new holder's.
	must(t, "Release of a released lock", l.Release(ctx))
	if _, err := st.TryLock(ctx, "sync", owner("run-3", "third")); !errors.Is(err, store.ErrLocked) {
		t.Errorf("TryLock while run-2 holds the lock error = %v, want ErrLocked", err)
	}
	must(t, "Release", l2.Release(ctx))
}

// deadPID returns the PID of a process that has exited.
func deadPID(t *testing.T) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatalf("run a short-lived process: %v", err)
	}
	return cmd.ProcessState.Pid()
}

func (s *suite) lockDeadPID(t *testing.T, st store.Store) {
	if runtime.GOOS == "windows" {
		t.Skip("process liveness is not checked on windows")
	}
	ctx := t.Context()
	dead := owner("run-dead", "crashed sync")
	dead.PID = deadPID(t)
	old, err := st.TryLock(ctx, "sync", dead)
	must(t, "TryLock", err)
	l, err := st.TryLock(ctx, "sync", owner("run-2", "next sync"))
	if err != nil {
		t.Fatalf("TryLock over a holder whose process is gone: %v", err)
	}
	if err := old.Heartbeat(ctx); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Heartbeat of the lock taken over error = %v, want ErrLocked", err)
	}
	must(t, "Release of the lock taken over", old.Release(ctx))
	if _, err := st.TryLock(ctx, "sync", owner("run-3", "third")); !errors.Is(err, store.ErrLocked) {
		t.Errorf("TryLock after the old holder's Release error = %v, want ErrLocked (run-2 holds it)", err)
	}
	must(t, "Release", l.Release(ctx))
	// A dead PID on another host says nothing: that holder keeps it.
	remote := dead
	remote.Host = "another-host.invalid"
	rl, err := st.TryLock(ctx, "sync", remote)
	must(t, "TryLock", err)
	if _, err := st.TryLock(ctx, "sync", owner("run-4", "fourth")); !errors.Is(err, store.ErrLocked) {
		t.Errorf("TryLock over a fresh holder on another host error = %v, want ErrLocked", err)
	}
	must(t, "Release", rl.Release(ctx))
}

func (s *suite) lockStale(t *testing.T, st store.Store) {
	if s.clock == nil {
		t.Skip("needs WithClock")
	}
	ctx := t.Context()
	remote := owner("run-1", "sync on node b")
	remote.Host = "node-b.invalid" // its PID cannot be checked from here
	old, err := st.TryLock(ctx, "sync", remote)
	must(t, "TryLock", err)
	s.clock.Advance(s.lockTimeout / 2)
	if _, err := st.TryLock(ctx, "sync", owner("run-2", "sync on node a")); !errors.Is(err, store.ErrLocked) {
		t.Fatalf("TryLock at half the timeout error = %v, want ErrLocked", err)
	}
	s.clock.Advance(s.lockTimeout/2 + time.Second)
	l, err := st.TryLock(ctx, "sync", owner("run-2", "sync on node a"))
	if err != nil {
		t.Fatalf("TryLock over a heartbeat older than the timeout: %v", err)
	}
	if err := old.Heartbeat(ctx); !errors.Is(err, store.ErrLocked) {
		t.Errorf("Heartbeat of the lock taken over error = %v, want ErrLocked", err)
	}
	must(t, "Release", l.Release(ctx))
}

func (s *suite) lockHeartbeat(t *testing.T, st store.Store) {
	if s.clock == nil {
		t.Skip("needs WithClock")
	}
	ctx := t.Context()
	remote := owner("run-1", "sync on node b")
	remote.Host = "node-b.invalid"
	l, err := st.TryLock(ctx, "sync", remote)
	must(t, "TryLock", err)
	for range 4 {
		s.clock.Advance(s.lockTimeout * 3 / 4)
		must(t, "Heartbeat", l.Heartbeat(ctx))
	}
	s.clock.Advance(s.lockTimeout * 3 / 4)
	if _, err := st.TryLock(ctx, "sync", owner("run-2", "other")); !errors.Is(err, store.ErrLocked) {
		t.Errorf("TryLock over a holder that heartbeats error = %v, want ErrLocked", err)
	}
	must(t, "Release", l.Release(ctx))
}

// ---------------------------------------------------------------------------
// transfer (store.Transfer, optional)

func (s *suite) transfer(t *testing.T, st store.Store) {
	probe, err := st.Begin(t.Context(), false)
	must(t, "Begin", err)
	_, ok := probe.(store.Transfer)
	probe.Rollback()
	if !ok {
		t.Skip("the store's transactions do not implement store.Transfer")
	}
	setIndexes(t, st, store.Indexes{MV: []string{"mail"}, CS: map[string][]string{"hr": {"mail"}}})
	restored := fullCS("cs-r")
	restored.Connector = "hr"
	restored.Version = 7
	restored.Attrs["mail"] = []idsync.Value{idsync.String("R@example.com")}
	write(t, st, func(ctx context.Context, tx store.Tx) {
		tr := tx.(store.Transfer)
		must(t, "PutWatermark", tx.PutWatermark(ctx, "hr", "", []byte("usn-1")))
		must(t, "PutWatermark", tx.PutWatermark(ctx, "", "\x00engine-state", []byte{0, 1}))
		for range 3 {
			_, err := tx.NextSeq(ctx, "import-gen")
			must(t, "NextSeq", err)
		}
		must(t, "SetSeq", tr.SetSeq(ctx, "other", 41))
		must(t, "RestoreCS", tr.RestoreCS(ctx, []*idsync.CSObject{restored}))
		must(t, "PutMV", tx.PutMV(ctx, []*idsync.MVObject{mv("mv-1", "person", "mail", "m@example.com")}))
		must(t, "PutRun", tx.PutRun(ctx, run("run-1", "hr", idsync.StatusSuccess, t0)))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		tr := tx.(store.Transfer)
		ix, err := tr.Indexes(ctx)
		must(t, "Indexes", err)
		diff(t, "Indexes", store.Indexes{MV: []string{"mail"}, CS: map[string][]string{"hr": {"mail"}}}, ix)
		wms, err := tr.ListWatermarks(ctx)
		must(t, "ListWatermarks", err)
		diff(t, "ListWatermarks", []store.Watermark{
			{Connector: "", Partition: "\x00engine-state", Value: []byte{0, 1}},
			{Connector: "hr", Partition: "", Value: []byte("usn-1")},
		}, wms)
		seqs, err := tr.ListSeqs(ctx)
		must(t, "ListSeqs", err)
		diff(t, "ListSeqs", map[string]int64{"import-gen": 3, "other": 41}, seqs)
		got, err := tx.GetCS(ctx, "cs-r")
		must(t, "GetCS", err)
		diff(t, "restored object", restored, got)
		found, err := tx.FindCS(ctx, "hr", "mail", []string{"r@example.com"}, false)
		must(t, "FindCS", err)
		diff(t, "FindCS of a restored object", map[string][]string{"r@example.com": {"cs-r"}}, found)
	})
	write(t, st, func(ctx context.Context, tx store.Tx) {
		n, err := tx.NextSeq(ctx, "other")
		must(t, "NextSeq", err)
		if n != 42 {
			t.Errorf("NextSeq after SetSeq(41) = %d, want 42", n)
		}
		// Restoring an existing ID fails.
	})
	tx, err := st.Begin(t.Context(), true)
	must(t, "Begin", err)
	if err := tx.(store.Transfer).RestoreCS(t.Context(), []*idsync.CSObject{restored}); err == nil {
		t.Errorf("RestoreCS of an existing object succeeded, want an error")
	}
	tx.Rollback()
	write(t, st, func(ctx context.Context, tx store.Tx) {
		must(t, "Clear", tx.(store.Transfer).Clear(ctx))
	})
	read(t, st, func(ctx context.Context, tx store.Tx) {
		tr := tx.(store.Transfer)
		ncs, err := tx.CountCS(ctx, store.CSFilter{})
		must(t, "CountCS", err)
		nmv, err := tx.CountMV(ctx, store.MVFilter{})
		must(t, "CountMV", err)
		runs, err := tx.ListRuns(ctx, store.RunFilter{})
		must(t, "ListRuns", err)
		wms, err := tr.ListWatermarks(ctx)
		must(t, "ListWatermarks", err)
		seqs, err := tr.ListSeqs(ctx)
		must(t, "ListSeqs", err)
		ix, err := tr.Indexes(ctx)
		must(t, "Indexes", err)
		if ncs+nmv+len(runs)+len(wms)+len(seqs)+len(ix.MV)+len(ix.CS) != 0 {
			t.Errorf("after Clear: %d cs, %d mv, %d runs, %d watermarks, %d sequences, indexes %v; want nothing", ncs, nmv, len(runs), len(wms), len(seqs), ix)
		}
	})
}

// ---------------------------------------------------------------------------
// run queue (store.RunQueue, optional)

func runQueue(t *testing.T, st store.Store) store.RunQueue {
	q, ok := st.(store.RunQueue)
	if !ok {
		t.Skip("the store does not implement store.RunQueue")
	}
	return q
}

func enqueue(t *testing.T, q store.RunQueue, id, connector, profile string, at time.Time) {
	t.Helper()
	must(t, "Enqueue", q.Enqueue(t.Context(), &store.QueuedRun{ID: id, Connector: connector, Profile: profile, Enqueued: at}))
}

func claimID(t *testing.T, q store.RunQueue, worker string, connectors []string, stale time.Duration) string {
	t.Helper()
	c, err := q.ClaimRun(t.Context(), owner(worker, "worker "+worker), connectors, stale)
	must(t, "ClaimRun", err)
	if c == nil {
		return ""
	}
	if c.State != store.QueueRunning || c.Claimer.ID != worker {
		t.Errorf("claimed entry %s: state %s claimer %q, want running by %s", c.ID, c.State, c.Claimer.ID, worker)
	}
	return c.ID
}

func (s *suite) queueClaims(t *testing.T, st store.Store) {
	q := runQueue(t, st)
	ctx := t.Context()
	enqueue(t, q, "q1", "hr", "full-import", t0)
	enqueue(t, q, "q2", "hr", "delta-import", t0.Add(time.Second))
	enqueue(t, q, "q3", "ad", "export", t0.Add(2*time.Second))
	const stale = time.Hour
	if got := claimID(t, q, "w0", []string{"crm"}, stale); got != "" {
		t.Errorf("claim for connector crm = %q, want nothing", got)
	}
	if got := claimID(t, q, "w1", nil, stale); got != "q1" {
		t.Fatalf("first claim = %q, want the oldest entry q1", got)
	}
	// q2 is of hr, which q1 keeps busy: the next claim skips to q3.
	if got := claimID(t, q, "w2", nil, stale); got != "q3" {
		t.Fatalf("second claim = %q, want q3 (hr is busy)", got)
	}
	if got := claimID(t, q, "w3", nil, stale); got != "" {
		t.Fatalf("third claim = %q, want nothing claimable", got)
	}
	e, err := q.GetQueued(ctx, "q1")
	must(t, "GetQueued", err)
	e.RunID, e.Message = "run-1", "started"
	must(t, "UpdateClaimed", q.UpdateClaimed(ctx, e, "w1"))
	if err := q.UpdateClaimed(ctx, e, "w2"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("UpdateClaimed by a worker that does not hold the claim = %v, want ErrLocked", err)
	}
	e.State, e.StepsDone = store.QueueDone, 1
	must(t, "UpdateClaimed(done)", q.UpdateClaimed(ctx, e, "w1"))
	if got := claimID(t, q, "w3", nil, stale); got != "q2" {
		t.Fatalf("claim after q1 finished = %q, want q2", got)
	}
	done, err := q.ListQueue(ctx, store.QueueDone)
	must(t, "ListQueue", err)
	if len(done) != 1 || done[0].ID != "q1" || done[0].RunID != "run-1" || done[0].Attempts != 1 || done[0].StepsDone != 1 || done[0].Claimer.What != "worker w1" {
		t.Errorf("ListQueue(done) = %+v, want q1 with run-1, 1 step done, after 1 attempt by w1", done)
	}
	all, err := q.ListQueue(ctx)
	must(t, "ListQueue", err)
	if got := ids2(all); !slices.Equal(got, []string{"q1", "q2", "q3"}) {
		t.Errorf("ListQueue() = %v, want q1 q2 q3 (oldest first)", got)
	}
	if _, err := q.GetQueued(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("GetQueued(missing) = %v, want ErrNotFound", err)
	}
}

func ids2(qs []*store.QueuedRun) []string {
	var out []string
	for _, q := range qs {
		out = append(out, q.ID)
	}
	return out
}

func (s *suite) queueConcurrent(t *testing.T, st store.Store) {
	q := runQueue(t, st)
	const n = 12
	for i := range n {
		enqueue(t, q, fmt.Sprintf("q%02d", i), fmt.Sprintf("c%02d", i), "export", t0.Add(time.Duration(i)*time.Second))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			worker := fmt.Sprintf("w%d", w)
			for {
				c, err := q.ClaimRun(t.Context(), owner(worker, worker), nil, time.Hour)
				if err != nil {
					t.Errorf("ClaimRun: %v", err)
					return
				}
				if c == nil {
					return
				}
				mu.Lock()
				if other, dup := seen[c.ID]; dup {
					t.Errorf("entry %s claimed by %s and %s", c.ID, other, worker)
				}
				seen[c.ID] = worker
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(seen) != n {
		t.Errorf("%d entries claimed, want %d", len(seen), n)
	}
}

func (s *suite) queueStale(t *testing.T, st store.Store) {
	q := runQueue(t, st)
	if s.clock == nil {
		t.Skip("needs WithClock")
	}
	ctx := t.Context()
	enqueue(t, q, "q1", "hr", "full-import", time.Time{})
	stale := s.lockTimeout
	if got := claimID(t, q, "w1", nil, stale); got != "q1" {
		t.Fatalf("claim = %q, want q1", got)
	}
	s.clock.Advance(stale / 2)
	if got := claimID(t, q, "w2", nil, stale); got != "" {
		t.Fatalf("claim while w1 heartbeats = %q, want nothing", got)
	}
	e, err := q.GetQueued(ctx, "q1")
	must(t, "GetQueued", err)
	must(t, "UpdateClaimed (heartbeat)", q.UpdateClaimed(ctx, e, "w1"))
	s.clock.Advance(stale / 2)
	if got := claimID(t, q, "w2", nil, stale); got != "" {
		t.Fatalf("claim after a fresh heartbeat = %q, want nothing", got)
	}
	s.clock.Advance(stale + time.Second)
	c, err := q.ClaimRun(ctx, owner("w2", "worker 2"), nil, stale)
	must(t, "ClaimRun", err)
	if c == nil || c.ID != "q1" || c.Attempts != 2 || c.Claimer.ID != "w2" {
		t.Fatalf("claim of a stale entry = %+v, want q1, attempt 2, by w2", c)
	}
	if err := q.UpdateClaimed(ctx, e, "w1"); !errors.Is(err, store.ErrLocked) {
		t.Errorf("UpdateClaimed by the old claimer = %v, want ErrLocked", err)
	}
}
