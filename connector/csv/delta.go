package csv

import (
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// ImportChanges implements connector.DeltaImporter by snapshot
// comparison. since is the snapshot a previous Import or ImportChanges
// returned: every anchor with a hash of its row. The file is streamed
// once; a row with an anchor the snapshot lacks is an OpAdd, a row whose
// hash changed an OpReplace (both carry the whole object, as Import's
// Entry), an unchanged row nothing, and an anchor of the snapshot no row
// holds an OpDelete, emitted after the rows in anchor order. It returns
// the snapshot of the file as read.
//
// A malformed row is emitted as a Change with Err and Source
// ("hr.csv:17") and keeps its anchor's snapshot entry as it was, so the
// object is neither deleted nor changed; a second row with an anchor
// likewise (the first wins). When a malformed row has no anchor that can
// be trusted (a wrong number of fields, a broken quote, a bad anchor
// cell), no deletion is reported at all: the rows it might hide keep their
// snapshot entries until the file is fixed.
//
// A Change with Err carries OpReplace when its anchor is in the snapshot
// and OpAdd otherwise (the engine reads an error whatever the Op, but
// refuses OpNone).
//
// A watermark that is not a snapshot of this encoding version, or was
// taken with other settings or file columns, returns
// connector.ErrWatermarkExpired: the engine then runs a full import.
func (c *conn) ImportChanges(ctx context.Context, opts connector.ImportOptions, since connector.Watermark, emit func(idsync.Change) error) (connector.Watermark, error) {
	old, fp, err := decodeSnapshot(since)
	if err != nil {
		return nil, fmt.Errorf("csv: delta import %s: %w: %w", c.name, connector.ErrWatermarkExpired, err)
	}
	if err := c.recoverJournal(ctx); err != nil {
		return nil, err
	}
	rd, err := c.openReader(c.path)
	if err != nil {
		return nil, fmt.Errorf("csv: delta import %s: %w", c.name, err)
	}
	defer rd.Close()
	if fp != c.fingerprint(rd.lay) {
		return nil, fmt.Errorf("csv: delta import %s: %w: the settings or the file's columns changed since the snapshot", c.name, connector.ErrWatermarkExpired)
	}
	d := &differ{c: c, l: rd.lay, old: old, added: newFileSet(64), emit: emit}
	done := ctx.Done()
	for n := 0; ; n++ {
		if n&1023 == 0 {
			select {
			case <-done:
				return nil, ctx.Err()
			default:
			}
		}
		rec, line, err := rd.next()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			d.untrusted++
			e := c.parseErrorEntry(pe)
			if err := emit(idsync.Change{Op: idsync.OpAdd, ObjectType: c.objType, Source: e.Source, Err: e.Err}); err != nil {
				return nil, err
			}
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("csv: read %s: %w", c.name, err)
		}
		if err := d.row(rec, line); err != nil {
			return nil, err
		}
	}
	return d.finish(fp)
}

// differ compares the rows of a file with a snapshot.
type differ struct {
	c         *conn
	l         *layout
	old       *anchorSet // the snapshot; lines mark the anchors the file holds
	added     *anchorSet // anchors the snapshot lacks
	emit      func(idsync.Change) error
	untrusted int // malformed rows without a trustworthy anchor
}

// row handles one record read without a CSV syntax error.
func (d *differ) row(rec []string, line int) error {
	c, l := d.c, d.l
	source := func() string { return c.name + ":" + strconv.Itoa(line) }
	fail := func(op idsync.Op, anchor string, err error) error {
		return d.emit(idsync.Change{Op: op, ObjectType: c.objType, Anchor: idsync.Anchor(anchor), Source: source(),
			Err: fmt.Errorf("csv: read %s line %d: %w", c.name, line, err)})
	}
	if len(rec) != len(l.cols) {
		d.untrusted++
		return fail(idsync.OpAdd, "", fmt.Errorf("%d fields, want %d", len(rec), len(l.cols)))
	}
	anchor, err := c.anchorOf(l, rec)
	if err != nil {
		d.untrusted++
		return fail(idsync.OpAdd, "", err)
	}
	h := rowHash(rec)
	op := idsync.OpReplace
	i := d.old.find(anchor)
	if i >= 0 {
		if first := d.old.lines[i]; first != 0 {
			return fail(op, anchor, fmt.Errorf("duplicate anchor %q (first at line %d)", anchor, first))
		}
		d.old.lines[i] = clampLine(line)
		if d.old.hashes[i] == h {
			return nil // unchanged; a snapshot holds rows read without error only
		}
	} else {
		op = idsync.OpAdd
		if j := d.added.find(anchor); j >= 0 {
			return fail(op, anchor, fmt.Errorf("duplicate anchor %q (first at line %d)", anchor, d.added.lines[j]))
		}
		if i, err = d.added.add(anchor, h, line); err != nil {
			return err
		}
	}
	// New or changed: read the whole row as Import does. On error the
	// snapshot keeps the old hash (or, for a new anchor, no entry).
	dn, err := c.dnOf(l, rec, anchor)
	if err != nil {
		return fail(op, anchor, err)
	}
	attrs, err := c.attrsOf(l, rec)
	if err != nil {
		return fail(op, anchor, err)
	}
	if op == idsync.OpReplace {
		d.old.hashes[i] = h
	} else {
		d.added.ok[i] = true
	}
	return d.emit(idsync.Change{Op: op, ObjectType: c.objType, Anchor: idsync.Anchor(anchor), DN: dn,
		Mods: idsync.ModsFromAttrs(attrs), Source: source()})
}

// finish reports the deletions and returns the new snapshot.
func (d *differ) finish(fp uint64) (connector.Watermark, error) {
	c, old := d.c, d.old
	keepOld := func(i int) bool { return old.lines[i] != 0 }
	if d.untrusted > 0 {
		gone := 0
		for i := range old.len() {
			if old.lines[i] == 0 {
				gone++
			}
		}
		if gone > 0 {
			c.log.Warn("csv: delta import reports no deletion: some malformed rows have no trustworthy anchor; fix them",
				"file", c.name, "malformedRows", d.untrusted, "absentAnchors", gone)
		}
		keepOld = func(int) bool { return true }
	} else {
		for i := range old.len() {
			if old.lines[i] != 0 {
				continue
			}
			a := string(old.anchor(i))
			ch := idsync.Change{Op: idsync.OpDelete, ObjectType: c.objType, Anchor: idsync.Anchor(a)}
			if c.dnKind == dnAnchor {
				ch.DN = a
			}
			if err := d.emit(ch); err != nil {
				return nil, err
			}
		}
	}
	old.table = nil // the index is no longer needed: let it go before encoding
	d.added.table = nil
	return mergeSnapshot(fp, old, keepOld, d.added, func(i int) bool { return d.added.ok[i] }), nil
}
