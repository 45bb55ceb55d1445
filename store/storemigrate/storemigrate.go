// Package storemigrate copies a whole idsync installation from one store
// to another (SQLite to PostgreSQL and back): the index declaration,
// connector spaces (objects keep their IDs, links and versions), the
// metaverse (with lineage), watermarks, counters and the run history with
// every run's errors. It then verifies the copy: counts and SHA-256
// checksums over a canonical encoding of everything, read back from both
// stores, must be equal.
//
// Both stores' transactions must implement store.Transfer. The source is
// read in one read transaction, a consistent snapshot; stop the engine
// (no runs in progress) while migrating, or the target misses what runs
// write afterwards. Locks are not copied.
package storemigrate

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"slices"
	"sort"
	"strings"

	"github.com/idsync/idsync/store"
)

// ErrTargetNotEmpty is returned when the target holds data and
// Options.Replace is false.
var ErrTargetNotEmpty = errors.New("the target store is not empty")

// Options tune Copy.
type Options struct {
	// Replace empties a non-empty target first; without it Copy refuses one.
	Replace bool
	// PageSize is how many objects one write transaction copies (default 5000).
	PageSize int
	// Progress, when set, is called after every page with what was copied.
	Progress func(what string, n int)
}

// Summary describes a store's content: counts and checksums per part.
type Summary struct {
	CSObjects  int    `json:"csObjects"`
	MVObjects  int    `json:"mvObjects"`
	Runs       int    `json:"runs"`
	RunErrors  int    `json:"runErrors"`
	Watermarks int    `json:"watermarks"`
	Sequences  int    `json:"sequences"`
	CSSum      string `json:"csSha256"`
	MVSum      string `json:"mvSha256"`
	RunsSum    string `json:"runsSha256"`
	StateSum   string `json:"stateSha256"` // watermarks, sequences, indexes
}

// Empty reports whether the summary describes an empty store.
func (s Summary) Empty() bool {
	return s.CSObjects+s.MVObjects+s.Runs+s.Watermarks+s.Sequences == 0
}

// Diff lists the parts in which s and o differ; empty when equal.
func (s Summary) Diff(o Summary) []string {
	var d []string
	add := func(what string, a, b any) {
		if a != b {
			d = append(d, fmt.Sprintf("%s: %v vs %v", what, a, b))
		}
	}
	add("cs objects", s.CSObjects, o.CSObjects)
	add("mv objects", s.MVObjects, o.MVObjects)
	add("runs", s.Runs, o.Runs)
	add("run errors", s.RunErrors, o.RunErrors)
	add("watermarks", s.Watermarks, o.Watermarks)
	add("sequences", s.Sequences, o.Sequences)
	add("cs checksum", s.CSSum, o.CSSum)
	add("mv checksum", s.MVSum, o.MVSum)
	add("runs checksum", s.RunsSum, o.RunsSum)
	add("watermarks/sequences/indexes checksum", s.StateSum, o.StateSum)
	return d
}

// Result is the outcome of Copy: both stores' summaries, equal.
type Result struct {
	Source, Target Summary
}

func transfer(tx store.Tx, which string) (store.Transfer, error) {
	tr, ok := tx.(store.Transfer)
	if !ok {
		return nil, fmt.Errorf("storemigrate: the %s store cannot be copied (its transactions do not implement store.Transfer)", which)
	}
	return tr, nil
}

// Copy copies everything from src to dst and verifies the copy.
func Copy(ctx context.Context, src, dst store.Store, opts Options) (*Result, error) {
	if opts.PageSize <= 0 {
		opts.PageSize = 5000
	}
	// The target: empty, or emptied when asked to.
	dsum, err := Summarize(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read target: %w", err)
	}
	if !dsum.Empty() {
		if !opts.Replace {
			return nil, fmt.Errorf("storemigrate: %w (%d cs objects, %d mv objects, %d runs, %d watermarks, %d sequences): use an empty one, or replace its content",
				ErrTargetNotEmpty, dsum.CSObjects, dsum.MVObjects, dsum.Runs, dsum.Watermarks, dsum.Sequences)
		}
	}
	if err := writeTx(ctx, dst, func(tx store.Tx, tr store.Transfer) error { return tr.Clear(ctx) }); err != nil {
		return nil, fmt.Errorf("storemigrate: clear target: %w", err)
	}

	stx, err := src.Begin(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read source: %w", err)
	}
	defer stx.Rollback()
	str, err := transfer(stx, "source")
	if err != nil {
		return nil, err
	}
	ix, err := str.Indexes(ctx)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read source: %w", err)
	}
	if err := dst.SetIndexes(ctx, ix); err != nil {
		return nil, fmt.Errorf("storemigrate: declare indexes on target: %w", err)
	}
	progress := func(what string, n int) {
		if opts.Progress != nil {
			opts.Progress(what, n)
		}
	}
	// Connector spaces, page by page.
	for after, n := "", 0; ; {
		objs, err := stx.ListCS(ctx, store.CSFilter{After: after, Limit: opts.PageSize})
		if err != nil {
			return nil, fmt.Errorf("storemigrate: read source cs objects: %w", err)
		}
		if len(objs) == 0 {
			break
		}
		if err := writeTx(ctx, dst, func(tx store.Tx, tr store.Transfer) error { return tr.RestoreCS(ctx, objs) }); err != nil {
			return nil, fmt.Errorf("storemigrate: write cs objects after %q: %w", after, err)
		}
		n += len(objs)
		progress("cs objects", n)
		after = objs[len(objs)-1].ID
	}
	// Metaverse.
	for after, n := "", 0; ; {
		objs, err := stx.ListMV(ctx, store.MVFilter{After: after, Limit: opts.PageSize})
		if err != nil {
			return nil, fmt.Errorf("storemigrate: read source mv objects: %w", err)
		}
		if len(objs) == 0 {
			break
		}
		if err := writeTx(ctx, dst, func(tx store.Tx, tr store.Transfer) error { return tx.PutMV(ctx, objs) }); err != nil {
			return nil, fmt.Errorf("storemigrate: write mv objects after %q: %w", after, err)
		}
		n += len(objs)
		progress("mv objects", n)
		after = objs[len(objs)-1].ID
	}
	// Run history, oldest first, each run with all its errors.
	runs, err := stx.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read source runs: %w", err)
	}
	slices.Reverse(runs)
	for i := 0; i < len(runs); {
		j := i
		batch := 0
		err := writeTx(ctx, dst, func(tx store.Tx, tr store.Transfer) error {
			for ; j < len(runs) && batch < opts.PageSize; j++ {
				r, err := stx.GetRun(ctx, runs[j].ID, 0)
				if err != nil {
					return err
				}
				if err := tx.PutRun(ctx, r); err != nil {
					return err
				}
				if err := tx.AddRunErrors(ctx, r.ID, r.Errors); err != nil {
					return err
				}
				batch += 1 + len(r.Errors)
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("storemigrate: copy runs: %w", err)
		}
		i = j
		progress("runs", i)
	}
	// Watermarks and counters.
	wms, err := str.ListWatermarks(ctx)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read source: %w", err)
	}
	seqs, err := str.ListSeqs(ctx)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: read source: %w", err)
	}
	err = writeTx(ctx, dst, func(tx store.Tx, tr store.Transfer) error {
		for _, w := range wms {
			if err := tx.PutWatermark(ctx, w.Connector, w.Partition, w.Value); err != nil {
				return err
			}
		}
		for name, v := range seqs {
			if err := tr.SetSeq(ctx, name, v); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("storemigrate: copy watermarks and sequences: %w", err)
	}
	ssum, err := summarizeTx(ctx, stx, str)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: verify source: %w", err)
	}
	stx.Rollback()
	dsum, err = Summarize(ctx, dst)
	if err != nil {
		return nil, fmt.Errorf("storemigrate: verify target: %w", err)
	}
	res := &Result{Source: *ssum, Target: dsum}
	if d := ssum.Diff(dsum); len(d) > 0 {
		return res, fmt.Errorf("storemigrate: the copy differs from the source: %s", strings.Join(d, "; "))
	}
	return res, nil
}

func writeTx(ctx context.Context, st store.Store, fn func(store.Tx, store.Transfer) error) error {
	tx, err := st.Begin(ctx, true)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	tr, err := transfer(tx, "target")
	if err != nil {
		return err
	}
	if err := fn(tx, tr); err != nil {
		return err
	}
	return tx.Commit()
}

// Summarize counts and checksums everything st holds, in one read
// transaction.
func Summarize(ctx context.Context, st store.Store) (Summary, error) {
	tx, err := st.Begin(ctx, false)
	if err != nil {
		return Summary{}, err
	}
	defer tx.Rollback()
	tr, err := transfer(tx, "")
	if err != nil {
		return Summary{}, err
	}
	s, err := summarizeTx(ctx, tx, tr)
	if err != nil {
		return Summary{}, err
	}
	return *s, nil
}

const sumPage = 5000

// summarizeTx hashes a canonical encoding of everything: every object's
// columns and its codec encoding (deterministic), in ID order.
func summarizeTx(ctx context.Context, tx store.Tx, tr store.Transfer) (*Summary, error) {
	s := &Summary{}
	h := sha256.New()
	var buf []byte
	for after := ""; ; {
		objs, err := tx.ListCS(ctx, store.CSFilter{After: after, Limit: sumPage})
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			break
		}
		for _, o := range objs {
			buf = buf[:0]
			for _, f := range []string{o.ID, o.Connector, o.ObjectType, o.Partition, string(o.Anchor), o.DN, o.MVID} {
				buf = appendStr(buf, f)
			}
			buf = binary.AppendVarint(buf, int64(o.Kind))
			buf = binary.AppendVarint(buf, int64(o.PendingImport))
			buf = binary.AppendVarint(buf, o.ImportGen)
			buf = binary.AppendVarint(buf, o.Version)
			buf = store.EncodeCSData(buf, o)
			writeRecord(h, buf)
		}
		s.CSObjects += len(objs)
		after = objs[len(objs)-1].ID
	}
	s.CSSum = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	for after := ""; ; {
		objs, err := tx.ListMV(ctx, store.MVFilter{After: after, Limit: sumPage})
		if err != nil {
			return nil, err
		}
		if len(objs) == 0 {
			break
		}
		for _, o := range objs {
			buf = appendStr(buf[:0], o.ID)
			buf = appendStr(buf, o.ObjectType)
			buf = store.EncodeMVData(buf, o)
			writeRecord(h, buf)
		}
		s.MVObjects += len(objs)
		after = objs[len(objs)-1].ID
	}
	s.MVSum = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	runs, err := tx.ListRuns(ctx, store.RunFilter{})
	if err != nil {
		return nil, err
	}
	sort.Slice(runs, func(i, j int) bool { return runs[i].ID < runs[j].ID })
	for _, r := range runs {
		full, err := tx.GetRun(ctx, r.ID, 0)
		if err != nil {
			return nil, err
		}
		b, err := json.Marshal(full)
		if err != nil {
			return nil, err
		}
		writeRecord(h, b)
		s.RunErrors += len(full.Errors)
	}
	s.Runs = len(runs)
	s.RunsSum = hex.EncodeToString(h.Sum(nil))
	h.Reset()
	wms, err := tr.ListWatermarks(ctx)
	if err != nil {
		return nil, err
	}
	sort.Slice(wms, func(i, j int) bool {
		if wms[i].Connector != wms[j].Connector {
			return wms[i].Connector < wms[j].Connector
		}
		return wms[i].Partition < wms[j].Partition
	})
	for _, w := range wms {
		writeRecord(h, appendStr(appendStr(appendStr(nil, w.Connector), w.Partition), string(w.Value)))
	}
	s.Watermarks = len(wms)
	seqs, err := tr.ListSeqs(ctx)
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(seqs))
	for n := range seqs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		writeRecord(h, binary.AppendVarint(appendStr(nil, n), seqs[n]))
	}
	s.Sequences = len(seqs)
	ix, err := tr.Indexes(ctx)
	if err != nil {
		return nil, err
	}
	b, _ := json.Marshal(ix) // maps marshal in key order
	writeRecord(h, b)
	s.StateSum = hex.EncodeToString(h.Sum(nil))
	return s, nil
}

func appendStr(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// writeRecord writes a length-prefixed record, so that records cannot
// run into each other.
func writeRecord(h hash.Hash, b []byte) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(b)))])
	h.Write(b)
}

// Equal reports whether two summaries are equal.
func Equal(a, b Summary) bool { return len(a.Diff(b)) == 0 }
