package engine

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/internal/dn"
	"github.com/idsync/idsync/store"
)

// open opens a connector session.
func (e *Engine) open(ctx context.Context, cc *config.Connector) (connector.Connector, error) {
	// Connectors resolve relative paths against Dir, possibly from another
	// working directory (the script connector runs in a temporary one):
	// hand them an absolute Dir.
	dir := e.cfg.Dir
	if abs, err := filepath.Abs(dir); err == nil && dir != "" {
		dir = abs
	}
	c, err := cc.Settings.Open(ctx, connector.Env{
		Name: cc.Name, Dir: dir, Logger: e.log.With("connector", cc.Name), Now: e.now,
		Secret: config.EnvSecrets,
	})
	if err != nil {
		return nil, classify(fmt.Errorf("open connector %s: %w", cc.Name, err))
	}
	return c, nil
}

// classify marks connectivity failures as transient so that the run
// status says stopped-connectivity.
func classify(err error) error {
	if err == nil || idsync.KindOf(err) != idsync.KindOther {
		return err
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) {
		return &idsync.Error{Kind: idsync.KindTransient, Err: err}
	}
	return err
}

// incoming is one object or change read by an import.
type incoming struct {
	op         idsync.Op // OpAdd (a whole object), OpUpdate (mods), OpDelete
	full       bool      // attrs hold the whole object
	objectType string
	anchor     idsync.Anchor
	dn, newDN  string
	attrs      idsync.Attrs
	mods       []idsync.AttrMod
	source     string
	err        error
}

// importer stages one import step page by page (§3).
type importer struct {
	ctx       context.Context // the step's context, for pages flushed from emit
	e         *Engine
	r         *runState
	cc        *config.Connector
	partition string
	gen       int64
	pageSize  int
	delta     bool
	page      []incoming
	types     map[string]bool
	include   map[string]bool
	// resumable is the connector of a full import that can resume after
	// its last committed page; base counts the objects read by the
	// attempts before this one.
	resumable connector.ResumableImporter
	base      int
	// A full page is staged and committed by a goroutine of its own
	// while the connector reads the next one (§3's pages, in order: one
	// page is written at a time). writing reports the page in flight's
	// result; spare is the buffer of the page written before it.
	writing chan error
	spare   []incoming
}

// importStep runs a full or delta import.
func (e *Engine) importStep(ctx context.Context, r *runState, s idsync.RunStep, delta bool) error {
	cc := r.cc
	conn, err := e.open(ctx, cc)
	if err != nil {
		return err
	}
	defer conn.Close()
	im := &importer{ctx: ctx, e: e, r: r, cc: cc, partition: s.Partition, pageSize: s.PageSize, delta: delta}
	defer im.wait()
	if len(cc.ObjectTypes) > 0 {
		im.types = map[string]bool{}
		for _, t := range cc.ObjectTypes {
			im.types[t] = true
		}
	}
	if len(cc.Attributes) > 0 {
		im.include = map[string]bool{}
		for _, a := range cc.Attributes {
			im.include[a] = true
		}
	}
	opts := connector.ImportOptions{Partition: s.Partition, PageSize: s.PageSize}
	if delta {
		di, ok := conn.(connector.DeltaImporter)
		if !ok {
			return &idsync.Error{Op: "delta import", Kind: idsync.KindUnsupported, Connector: cc.Name, Err: errors.New("the connector has no delta import; use a full import")}
		}
		wm, err := e.getWatermark(ctx, cc.Name, s.Partition)
		if err != nil {
			return err
		}
		if wm == nil {
			r.step.Warnings = append(r.step.Warnings, "no watermark stored: running a full import instead of a delta import")
		} else {
			next, err := di.ImportChanges(ctx, opts, wm, im.addChange)
			if werr := im.wait(); werr != nil {
				return werr
			}
			if err == nil {
				if err = im.flush(ctx); err != nil {
					return err
				}
				return e.putWatermark(ctx, cc.Name, s.Partition, next)
			}
			if !errors.Is(err, connector.ErrWatermarkExpired) && !errors.Is(err, errors.ErrUnsupported) {
				return classify(fmt.Errorf("delta import from %s: %w", cc.Name, err))
			}
			r.step.Warnings = append(r.step.Warnings, fmt.Sprintf("watermark rejected (%v): falling back to a full import", err))
			im.page = im.page[:0]
		}
	}
	imp, ok := conn.(connector.Importer)
	if !ok {
		return &idsync.Error{Op: "import", Kind: idsync.KindUnsupported, Connector: cc.Name, Err: errors.New("the connector cannot import")}
	}
	im.delta = false
	im.resumable, _ = imp.(connector.ResumableImporter)
	var gen int64
	rf := r.takeResume(s)
	if rf != nil && im.resumable != nil && rf.at.Gen > 0 {
		// Resume the interrupted import after its last committed page: the
		// same generation, so that what it committed counts as seen.
		gen, opts.Resume, im.base = rf.at.Gen, rf.at.Position, rf.at.Objects
		r.step.ResumedFrom, r.step.ResumedAfter = rf.run, rf.at.Objects
	} else {
		if gen, err = e.nextSeq(ctx, "import-gen"); err != nil {
			return err
		}
	}
	im.gen = gen
	wm, err := imp.Import(ctx, opts, im.addEntry)
	if werr := im.wait(); werr != nil {
		return werr
	}
	if opts.Resume != nil && errors.Is(err, connector.ErrResumeInvalid) && len(im.page) == 0 && r.step.Pages == 0 {
		// The source changed since: read it all again (still the same
		// generation: every object is read again anyway).
		r.step.Warnings = append(r.step.Warnings, fmt.Sprintf("could not resume the import of run %s (%v): importing from the start", rf.run, err))
		r.step.ResumedFrom, r.step.ResumedAfter, im.base = "", 0, 0
		opts.Resume = nil
		wm, err = imp.Import(ctx, opts, im.addEntry)
		if werr := im.wait(); werr != nil {
			return werr
		}
	}
	if err != nil {
		return classify(fmt.Errorf("full import from %s: %w", cc.Name, err))
	}
	if err := im.flush(ctx); err != nil {
		return err
	}
	// Deletion detection: one set difference over the connector space.
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: detect deletions: %w", err)
	}
	defer tx.Rollback()
	n, err := tx.MarkUnseenDeleted(ctx, cc.Name, s.Partition, gen)
	if err != nil {
		return fmt.Errorf("engine: detect deletions: %w", err)
	}
	r.step.Counters.ImportDeletes += n
	r.step.Resume = nil
	if wm != nil {
		if err := tx.PutWatermark(ctx, cc.Name, s.Partition, wm); err != nil {
			return fmt.Errorf("engine: save watermark: %w", err)
		}
	}
	if err := r.saveIn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit()
}

func (e *Engine) getWatermark(ctx context.Context, conn, part string) ([]byte, error) {
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("engine: read watermark: %w", err)
	}
	defer tx.Rollback()
	wm, err := tx.GetWatermark(ctx, conn, part)
	if err != nil {
		return nil, fmt.Errorf("engine: read watermark: %w", err)
	}
	return wm, nil
}

func (e *Engine) putWatermark(ctx context.Context, conn, part string, wm []byte) error {
	if wm == nil {
		return nil
	}
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: save watermark: %w", err)
	}
	defer tx.Rollback()
	if err := tx.PutWatermark(ctx, conn, part, wm); err != nil {
		return fmt.Errorf("engine: save watermark: %w", err)
	}
	return tx.Commit()
}

func (e *Engine) nextSeq(ctx context.Context, name string) (int64, error) {
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return 0, fmt.Errorf("engine: next %s: %w", name, err)
	}
	defer tx.Rollback()
	n, err := tx.NextSeq(ctx, name)
	if err != nil {
		return 0, fmt.Errorf("engine: next %s: %w", name, err)
	}
	return n, tx.Commit()
}

func (im *importer) addEntry(en idsync.Entry) error {
	in := incoming{op: idsync.OpAdd, full: true, objectType: en.ObjectType, anchor: en.Anchor, dn: en.DN, attrs: en.Attrs, source: en.Source, err: en.Err}
	return im.add(in)
}

func (im *importer) addChange(c idsync.Change) error {
	in := incoming{op: c.Op, objectType: c.ObjectType, anchor: c.Anchor, dn: c.DN, newDN: c.NewDN, mods: c.Mods, source: c.Source, err: c.Err}
	switch c.Op {
	case idsync.OpAdd, idsync.OpReplace:
		in.op, in.full = idsync.OpAdd, true
		in.attrs = idsync.Attrs{}.Apply(c.Mods)
		if c.NewDN != "" {
			in.dn = c.NewDN
		}
	case idsync.OpUpdate, idsync.OpDelete:
	default:
		in.err = fmt.Errorf("unknown change operation %v", c.Op)
	}
	return im.add(in)
}

func (im *importer) add(in incoming) error {
	if im.cc.Capabilities.NormalizeAnchors {
		in.anchor = idsync.Anchor(strings.ToUpper(string(in.anchor)))
	}
	if in.dn == "" && in.anchor != "" {
		in.dn = string(in.anchor)
	}
	if in.attrs != nil && im.include != nil {
		for k := range in.attrs {
			if !im.include[k] {
				delete(in.attrs, k)
			}
		}
	}
	if im.include != nil && len(in.mods) > 0 {
		mods := in.mods[:0:0]
		for _, m := range in.mods {
			if im.include[m.Name] {
				mods = append(mods, m)
			}
		}
		in.mods = mods
	}
	im.page = append(im.page, in)
	if len(im.page) >= im.pageSize {
		return im.start()
	}
	return nil
}

// start hands the buffered page to a goroutine that stages and commits
// it, once the page before it is committed, so that the connector reads
// the next page meanwhile. It returns the error of the page before.
func (im *importer) start() error {
	if err := im.wait(); err != nil {
		return err
	}
	page, pos := im.page, im.position()
	im.page, im.spare = im.spare[:0], nil
	done := make(chan error, 1)
	im.writing = done
	go func() {
		err := im.write(im.ctx, page, pos)
		clear(page) // let the page's objects go before the buffer's reuse
		im.spare = page[:0]
		done <- err
	}()
	return nil
}

// wait waits for the page in flight, if any, and returns its error.
// Nothing but that page's goroutine touches the run state meanwhile:
// call wait before reading or changing it.
func (im *importer) wait() error {
	if im.writing == nil {
		return nil
	}
	err := <-im.writing
	im.writing = nil
	return err
}

// flush stages the buffered page in one transaction, after the page in
// flight.
func (im *importer) flush(ctx context.Context) error {
	if err := im.wait(); err != nil {
		return err
	}
	if err := im.write(ctx, im.page, im.position()); err != nil {
		return err
	}
	im.page = im.page[:0]
	return nil
}

// position is where a resumable full import stands after the buffered
// page (nil when it cannot resume): asked while the connector is still
// in the emit of the page's last object, before it reads further.
func (im *importer) position() []byte {
	if im.resumable == nil || im.delta {
		return nil
	}
	return im.resumable.ImportPosition()
}

// write stages page in one transaction with the run record, and pos
// (when not nil) as where to resume after it.
func (im *importer) write(ctx context.Context, page []incoming, pos []byte) error {
	if len(page) == 0 {
		return nil
	}
	e, r := im.e, im.r
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return fmt.Errorf("engine: import page: %w", err)
	}
	defer tx.Rollback()
	if err := im.stage(ctx, tx, page); err != nil {
		return err
	}
	r.step.Pages++
	if pos != nil {
		// Where to resume should this process die: after this page.
		r.step.Resume = &idsync.ImportResume{Gen: im.gen, Position: pos, Objects: im.base + r.step.Counters.Objects}
	}
	if err := r.saveIn(ctx, tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("engine: commit import page: %w", err)
	}
	e.progress(r, false)
	if err := r.heartbeat(ctx); err != nil {
		return fmt.Errorf("engine: lock heartbeat: %w", err)
	}
	return nil
}

func (im *importer) stage(ctx context.Context, tx store.Tx, page []incoming) error {
	e, r, cn := im.e, im.r, im.cc.Name
	c := &r.step.Counters
	now := e.now().UTC()
	ldap := im.cc.Capabilities.DNStyle == connector.DNLDAP

	// One lookup by anchor for the page, then one by DN for the rest.
	anchors := make([]idsync.Anchor, 0, len(page))
	for _, in := range page {
		if in.anchor != "" {
			anchors = append(anchors, in.anchor)
		}
	}
	byAnchor, err := tx.CSByAnchors(ctx, cn, anchors)
	if err != nil {
		return fmt.Errorf("engine: import page: %w", err)
	}
	// The DNs an object of the page may take (those of objects not found
	// by anchor, and new DNs) are looked up whole: §3 steps 1 and 2 may
	// change the objects holding them. Reference values and parent DNs
	// only need to be known to exist (§3 step 5): their holders are
	// looked up as links, without their data.
	var dns []string
	own := map[string]bool{}
	for _, in := range page {
		if in.err == nil && in.full && byAnchor[in.anchor] == nil && in.dn != "" {
			dns = append(dns, in.dn)
			own[strings.ToLower(in.dn)] = true
		}
		if in.newDN != "" {
			dns = append(dns, in.newDN)
			own[strings.ToLower(in.newDN)] = true
		}
	}
	var refDNs []string
	addRef := func(d string) {
		if !own[strings.ToLower(d)] {
			refDNs = append(refDNs, d)
		}
	}
	for _, in := range page {
		for _, vs := range in.attrs {
			for _, v := range vs {
				if v.Type == idsync.TypeReference && v.Str != "" {
					addRef(v.Str)
				}
			}
		}
		for _, m := range in.mods {
			for _, v := range m.Values {
				if v.Type == idsync.TypeReference && v.Str != "" {
					addRef(v.Str)
				}
			}
		}
		if ldap && in.full {
			if p := dn.Parent(in.dn); p != "" {
				addRef(p)
			}
		}
	}
	byDN, err := tx.CSByDNs(ctx, cn, dns)
	if err != nil {
		return fmt.Errorf("engine: import page: %w", err)
	}
	refs, err := tx.LinksByDN(ctx, cn, refDNs)
	if err != nil {
		return fmt.Errorf("engine: import page: %w", err)
	}
	// held reports whether a CS object holds DN d (lowercased).
	held := func(d string) bool {
		if byDN[d] != nil {
			return true
		}
		_, ok := refs[d]
		return ok
	}
	// One pointer per object: a change made through byAnchor (a rename)
	// must be seen through byDN, and the other way round (§3 step 2).
	sameObj := make(map[string]*idsync.CSObject, len(byAnchor))
	for _, o := range byAnchor {
		sameObj[o.ID] = o
	}
	for k, o := range byDN {
		if x := sameObj[o.ID]; x != nil {
			byDN[k] = x
		}
	}

	put := map[string]*idsync.CSObject{}
	var putOrder []*idsync.CSObject
	markPut := func(o *idsync.CSObject) {
		if _, ok := put[o.ID]; !ok {
			put[o.ID] = o
			putOrder = append(putOrder, o)
		}
	}
	var touch []string
	var del []string
	pageAnchor := map[idsync.Anchor]*idsync.CSObject{}
	pageLine := map[idsync.Anchor]string{}
	setDN := func(o *idsync.CSObject, newDN string) {
		if o.DN != "" {
			k := strings.ToLower(o.DN)
			if byDN[k] == o {
				delete(byDN, k)
			}
			if l, ok := refs[k]; ok && l.ID == o.ID {
				delete(refs, k)
			}
		}
		o.DN = newDN
		if newDN != "" {
			byDN[strings.ToLower(newDN)] = o
		}
	}

	for i := range page {
		in := &page[i]
		c.Objects++
		if in.err != nil {
			r.objErr(idsync.ObjectError{Anchor: in.anchor, DN: in.dn, Type: "import-error", Message: sourced(in.source, in.err.Error())})
			// A row that could not be read still exists: keep its object.
			if o := byAnchor[in.anchor]; o != nil && in.anchor != "" {
				touch = append(touch, o.ID)
			}
			continue
		}
		if im.types != nil && in.objectType != "" && !im.types[in.objectType] {
			continue
		}
		if in.anchor == "" {
			r.objErr(idsync.ObjectError{DN: in.dn, Type: "import-error", Message: sourced(in.source, "object has no anchor")})
			continue
		}
		if prev := pageAnchor[in.anchor]; prev != nil && in.full && !im.delta {
			r.objErr(idsync.ObjectError{Anchor: in.anchor, DN: in.dn, Type: "duplicate-anchor",
				Message: sourced(in.source, fmt.Sprintf("anchor %q appears twice in one import (first at %s); the second is ignored", in.anchor, pageLine[in.anchor]))})
			continue
		}
		o := pageAnchor[in.anchor]
		if o == nil {
			o = byAnchor[in.anchor]
		}
		switch in.op {
		case idsync.OpDelete:
			if o == nil {
				c.ImportNoChange++
				continue
			}
			if o.PendingImport != idsync.ImportDelete {
				o.PendingImport = idsync.ImportDelete
				o.Updated = now
				c.ImportDeletes++
				markPut(o)
			}
			pageAnchor[in.anchor] = o
			continue
		case idsync.OpUpdate:
			if o == nil {
				r.objErr(idsync.ObjectError{Anchor: in.anchor, DN: in.dn, Type: "import-error", Message: sourced(in.source, "update for an object that is not in the connector space")})
				continue
			}
			attrs := o.Attrs.Clone().Apply(in.mods)
			newDN := o.DN
			if in.newDN != "" {
				newDN = in.newDN
			}
			typ := in.objectType
			if typ == "" {
				typ = o.ObjectType
			}
			im.apply(o, typ, newDN, attrs, in.mods, false, now, setDN)
			markPut(o)
			pageAnchor[in.anchor] = o
			continue
		}
		// A whole object.
		isNew := false
		if o == nil {
			// §3 step 1: no object with this anchor; look for the DN.
			if d := byDN[strings.ToLower(in.dn)]; d != nil && !d.Obsolete {
				switch {
				case d.Kind == idsync.KindPlaceholder:
					// The real object replaces its placeholder.
					o, isNew = d, true
				case d.Anchor == "" && d.Awaiting == idsync.ConfirmAdd:
					// An exported add comes back: the import confirms it (§6.1).
					o = d
					o.Anchor = in.anchor
				case d.Anchor == "":
					// §3 step 2a: an export object not yet confirmed
					// holds the DN: delete it, retry provisioning.
					if d.MVID != "" {
						if err := e.flagRetryProvisioning(ctx, tx, d.MVID); err != nil {
							return err
						}
					}
					del = append(del, d.ID)
					delete(byDN, strings.ToLower(d.DN))
					delete(put, d.ID)
				default:
					// §3 step 2b: the DN belongs to another anchor: the
					// system renamed or deleted it. Park the old object.
					d.Obsolete = true
					setDN(d, obsoleteDN(d))
					d.Updated = now
					markPut(d)
				}
			}
		}
		if o == nil {
			o, isNew = &idsync.CSObject{ID: newID(), Connector: cn}, true
		}
		if isNew {
			o.Kind = idsync.KindStaging
			o.Anchor = in.anchor
			o.ObjectType = in.objectType
			o.Partition = im.partition
			setDN(o, in.dn)
			o.Attrs = in.attrs
			o.PendingImport = idsync.ImportAdd
			o.ImportGen = im.gen
			o.Updated = now
			c.ImportAdds++
			markPut(o)
		} else {
			changed := im.apply(o, in.objectType, in.dn, in.attrs, nil, true, now, setDN)
			if changed || put[o.ID] != nil {
				o.ImportGen = im.gen
				markPut(o)
			} else {
				touch = append(touch, o.ID)
			}
		}
		pageAnchor[in.anchor] = o
		pageLine[in.anchor] = in.source
	}

	// §3 step 5: reference values and DN parents resolve to CS objects;
	// unresolved ones become placeholders.
	var placeholders []*idsync.CSObject
	addPlaceholder := func(d string) {
		if d == "" || held(strings.ToLower(d)) {
			return
		}
		p := &idsync.CSObject{ID: newID(), Connector: cn, Kind: idsync.KindPlaceholder, Partition: im.partition, Updated: now}
		setDN(p, d)
		placeholders = append(placeholders, p)
		c.Placeholders++
	}
	for _, o := range putOrder {
		if o.Kind != idsync.KindStaging || o.PendingImport == idsync.ImportDelete || o.Obsolete {
			continue // an obsolete object's temporary DN has no parents
		}
		for _, vs := range o.Attrs {
			for _, v := range vs {
				if v.Type == idsync.TypeReference {
					addPlaceholder(v.Str)
				}
			}
		}
		if ldap {
			for p := dn.Parent(o.DN); p != ""; p = dn.Parent(p) {
				if held(strings.ToLower(p)) {
					break
				}
				addPlaceholder(p)
			}
		}
	}
	for _, p := range placeholders {
		markPut(p)
	}
	if len(del) > 0 {
		if err := tx.DeleteCS(ctx, del); err != nil {
			return fmt.Errorf("engine: import page: %w", err)
		}
	}
	live := putOrder[:0]
	for _, o := range putOrder {
		if put[o.ID] != nil {
			live = append(live, o)
		}
	}
	if len(live) > 0 {
		if err := tx.PutCS(ctx, live); err != nil {
			return fmt.Errorf("engine: import page: %w", err)
		}
	}
	if len(touch) > 0 && im.gen > 0 {
		if err := tx.TouchCS(ctx, touch, im.gen); err != nil {
			return fmt.Errorf("engine: import page: %w", err)
		}
	}
	return nil
}

// apply updates an existing staging object with imported state and
// decides its pending import type (§3 step 3) and export confirmation
// (§6). It reports whether anything changed.
func (im *importer) apply(o *idsync.CSObject, typ, newDN string, attrs idsync.Attrs, mods []idsync.AttrMod, full bool, now time.Time, setDN func(*idsync.CSObject, string)) bool {
	c := &im.r.step.Counters
	changed := false
	t := idsync.ImportNone
	if typ != "" && typ != o.ObjectType {
		t = idsync.ImportDeleteAdd
		o.ObjectType = typ
	}
	if newDN != "" && newDN != o.DN {
		if !strings.EqualFold(newDN, o.DN) {
			c.ImportRenames++
		}
		setDN(o, newDN)
		if t == idsync.ImportNone {
			t = idsync.ImportUpdate
		}
	}
	if o.Obsolete {
		o.Obsolete = false
		changed = true
	}
	// §6.2: compare with the export status: a value that came back
	// confirms the export; a different value imported since wins too.
	if len(o.ExportStatus) > 0 {
		for name := range o.ExportStatus {
			if full || modsTouch(mods, name) {
				delete(o.ExportStatus, name)
				changed = true
			}
		}
		if len(o.ExportStatus) == 0 {
			o.ExportStatus = nil
		}
	}
	// §6.1: an exported add is confirmed by seeing the object.
	if o.Awaiting == idsync.ConfirmAdd {
		o.Awaiting = idsync.ConfirmNone
		changed = true
	}
	if o.Awaiting == idsync.ConfirmDelete {
		// The object is still there: the delete did not take. Stage it again.
		o.Awaiting = idsync.ConfirmNone
		o.PendingExport = &idsync.PendingExport{Op: idsync.OpDelete}
		im.r.step.Warnings = appendOnce(im.r.step.Warnings, "some exported deletions were not confirmed by this import; they are staged again")
		changed = true
	}
	if o.Provisioned {
		o.Provisioned = false
		changed = true
	}
	if !o.Attrs.Equal(attrs) {
		o.Attrs = attrs
		if t == idsync.ImportNone {
			t = idsync.ImportUpdate
		}
	}
	if o.ImportError != "" {
		o.ImportError = ""
		changed = true
	}
	prev := o.PendingImport
	switch {
	case prev == idsync.ImportAdd:
		// never synchronized: still an add
	case prev == idsync.ImportDeleteAdd:
	case prev == idsync.ImportDelete:
		// the object came back before the delete was synchronized
		if t == idsync.ImportDeleteAdd {
			o.PendingImport = idsync.ImportDeleteAdd
		} else {
			o.PendingImport = idsync.ImportUpdate
		}
	case t != idsync.ImportNone:
		if prev != idsync.ImportDeleteAdd {
			o.PendingImport = t
		}
	}
	switch t {
	case idsync.ImportNone:
		c.ImportNoChange++
	case idsync.ImportUpdate:
		c.ImportUpdates++
	case idsync.ImportDeleteAdd:
		c.ImportDeleteAdd++
	}
	if t != idsync.ImportNone || o.PendingImport != prev {
		changed = true
	}
	if changed {
		o.Updated = now
	}
	return changed
}

func modsTouch(mods []idsync.AttrMod, name string) bool {
	return slices.ContainsFunc(mods, func(m idsync.AttrMod) bool { return m.Name == name })
}

func appendOnce(ss []string, s string) []string {
	if slices.Contains(ss, s) {
		return ss
	}
	return append(ss, s)
}

func obsoleteDN(o *idsync.CSObject) string {
	return fmt.Sprintf("%s#obsolete-%s", o.DN, o.ID)
}

func sourced(source, msg string) string {
	if source == "" {
		return msg
	}
	if file, _, ok := strings.Cut(source, ":"); ok && strings.Contains(msg, file) {
		return msg // the connector's message already says where
	}
	return source + ": " + msg
}

// flagRetryProvisioning marks an MV object so that the next sync
// provisions it again (§3 step 2).
func (e *Engine) flagRetryProvisioning(ctx context.Context, tx store.Tx, mvID string) error {
	mv, err := tx.GetMV(ctx, mvID)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("engine: flag retry provisioning: %w", err)
	}
	mv.RetryProvisioning = true
	mv.Updated = e.now().UTC()
	if err := tx.PutMV(ctx, []*idsync.MVObject{mv}); err != nil {
		return fmt.Errorf("engine: flag retry provisioning: %w", err)
	}
	// Remember it so that the next sync (of any connector) visits it.
	ids, err := tx.GetWatermark(ctx, "", retryProvisioningKey)
	if err != nil {
		return fmt.Errorf("engine: flag retry provisioning: %w", err)
	}
	ids = append(ids, mvID+"\n"...)
	if err := tx.PutWatermark(ctx, "", retryProvisioningKey, ids); err != nil {
		return fmt.Errorf("engine: flag retry provisioning: %w", err)
	}
	return nil
}

// retryProvisioningKey is the pseudo-partition (of connector "") under
// which imports list the MV objects flagged RetryProvisioning, one ID a
// line, for the next sync to visit (§3 step 2).
const retryProvisioningKey = "\x00retry-provisioning"

// takeRetryProvisioning returns and forgets the MV objects to provision again.
func (e *Engine) takeRetryProvisioning(ctx context.Context) ([]string, error) {
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("engine: read retry provisioning: %w", err)
	}
	defer tx.Rollback()
	b, err := tx.GetWatermark(ctx, "", retryProvisioningKey)
	if err != nil || len(b) == 0 {
		return nil, err
	}
	if err := tx.DeleteWatermark(ctx, "", retryProvisioningKey); err != nil {
		return nil, fmt.Errorf("engine: read retry provisioning: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("engine: read retry provisioning: %w", err)
	}
	return strings.Fields(string(b)), nil
}
