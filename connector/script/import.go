package script

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// watermarkPrefix marks a watermark this connector wrote; what follows is
// the script's CustomData. A watermark without it (another connector's,
// or garbage) is expired.
const watermarkPrefix = "idsync-script/1\n"

func encodeWatermark(customData string) connector.Watermark {
	return connector.Watermark(watermarkPrefix + customData)
}

// Import runs a full import: importBegin, importData until moreToImport
// is false, importEnd. The CustomData starts empty; the last one is the
// watermark a later delta import starts from.
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	cd, err := c.runImport(ctx, opts, false, "", func(p *page) error {
		for i := range p.entries {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(p.entries[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return encodeWatermark(cd), nil
}

// ImportChanges runs a delta import from the CustomData saved in since.
func (c *conn) ImportChanges(ctx context.Context, opts connector.ImportOptions, since connector.Watermark, emit func(idsync.Change) error) (connector.Watermark, error) {
	if _, ok := c.scripts[OpImportData]; !ok {
		return nil, errors.ErrUnsupported
	}
	if !bytes.HasPrefix(since, []byte(watermarkPrefix)) {
		return nil, connector.ErrWatermarkExpired
	}
	cd, err := c.runImport(ctx, opts, true, string(since[len(watermarkPrefix):]), func(p *page) error {
		for i := range p.changes {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := emit(p.changes[i]); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return encodeWatermark(cd), nil
}

// page is one importData result, converted whole before any of it is emitted.
type page struct {
	entries []idsync.Entry  // full import
	changes []idsync.Change // delta import
}

// runImport drives the import scripts and returns the final CustomData.
func (c *conn) runImport(ctx context.Context, opts connector.ImportOptions, delta bool, customData string, emit func(*page) error) (string, error) {
	if _, ok := c.scripts[OpImportData]; !ok {
		return "", errors.ErrUnsupported
	}
	sch, err := c.loadSchema(ctx)
	if err != nil {
		return "", err
	}
	stepType := idsync.StepFullImport
	rs := runStep{Type: "full", Partition: opts.Partition, PageSize: c.cfg.pageSize(), CustomData: customData}
	if delta {
		stepType, rs.Type = idsync.StepDeltaImport, "delta"
	}
	sc := scope{partition: opts.Partition, step: stepType, inStep: true}
	newIn := func(op string) *input {
		in := c.newInput(op, sc)
		if sch != nil {
			in.Schema = sch.doc
		}
		r := rs
		in.RunStep = &r
		return in
	}
	began := false
	end := func(reason string) {
		if !began || c.scripts[OpImportEnd] == "" {
			return
		}
		// The run failed: tell the script, within its own time limit
		// even when ctx is cancelled; its answer cannot change the outcome.
		in := newIn(OpImportEnd)
		in.RunStep.Reason = reason
		in.RunStep.PageNumber = 0
		if _, err := c.call(context.WithoutCancel(ctx), OpImportEnd, in); err != nil {
			c.log.Warn("script: importEnd after a failed import", "error", err)
		}
	}
	if _, ok := c.scripts[OpImportBegin]; ok {
		res, err := c.call(ctx, OpImportBegin, newIn(OpImportBegin))
		if err != nil {
			return "", watermarkErr(err)
		}
		if res.CustomData != nil {
			rs.CustomData = *res.CustomData
		}
	}
	began = true

	// Pages are pipelined: as soon as a page's result is read, the call
	// for the next page starts (it needs only the customData), and this
	// page is checked, converted and handed to the engine meanwhile. A
	// failure cancels the call in flight and waits for it.
	type answer struct {
		res *result
		err error
	}
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var pending chan answer
	start := func(n int) {
		rs.PageNumber = n
		in := newIn(OpImportData)
		pending = make(chan answer, 1)
		go func(ch chan<- answer) {
			res, err := c.call(cctx, OpImportData, in)
			ch <- answer{res, err}
		}(pending)
	}
	stop := func() {
		if pending != nil {
			cancel()
			<-pending
			pending = nil
		}
	}
	start(1)
	for n := 1; ; n++ {
		a := <-pending
		pending = nil
		if a.err != nil {
			if ctx.Err() != nil {
				a.err = fmt.Errorf("%w (%w)", ctx.Err(), a.err)
			}
			end(reasonOf(ctx))
			return "", watermarkErr(a.err)
		}
		res := a.res
		before := rs.CustomData
		if res.CustomData != nil {
			rs.CustomData = *res.CustomData
		}
		if res.MoreToImport && emptyArray(res.Entries) && rs.CustomData == before {
			end("error")
			return "", &CallError{Connector: c.env.Name, Operation: OpImportData, Script: c.scriptName(OpImportData),
				Err: fmt.Errorf("page %d: moreToImport is true but the page is empty and customData did not change: the import would never end", n)}
		}
		if res.MoreToImport {
			start(n + 1)
		}
		p, err := c.convertPage(res, delta, sch, n)
		if err != nil {
			stop()
			end("error")
			return "", err
		}
		if err := emit(p); err != nil {
			stop()
			end(reasonOf(ctx))
			return "", err
		}
		if !res.MoreToImport {
			break
		}
	}
	rs.PageNumber = 0
	if _, ok := c.scripts[OpImportEnd]; ok {
		in := newIn(OpImportEnd)
		in.RunStep.Reason = "success"
		res, err := c.call(ctx, OpImportEnd, in)
		if err != nil {
			return "", err
		}
		if res.CustomData != nil {
			rs.CustomData = *res.CustomData
		}
	}
	return rs.CustomData, nil
}

func reasonOf(ctx context.Context) string {
	if ctx.Err() != nil {
		return "cancelled"
	}
	return "error"
}

// watermarkErr turns a script's WatermarkExpired error into
// connector.ErrWatermarkExpired (the engine then runs a full import).
func watermarkErr(err error) error {
	var se *scriptError
	if errors.As(err, &se) && strings.EqualFold(se.Name, "WatermarkExpired") {
		return fmt.Errorf("%w: %v", connector.ErrWatermarkExpired, err)
	}
	return err
}

// convertPage checks and converts a whole page before anything of it is
// emitted: a page too large or an entry that is not JSON fails the
// page; an entry the script marked in error, or one that does not fit
// the schema, becomes an entry with Err (an import error on that object).
//
// The entries are read one at a time from one string copy of the entries
// array: the strings of the converted entries (types, anchors, DNs,
// values without escapes) are slices of it, and the page's values share
// one backing array, so an entry costs few allocations of its own.
func (c *conn) convertPage(res *result, delta bool, sch *schema, n int) (*page, error) {
	fail := func(err error) error {
		return &CallError{Connector: c.env.Name, Operation: OpImportData, Script: c.scriptName(OpImportData), Err: fmt.Errorf("page %d: %w", n, err)}
	}
	if res.raw != "" && !res.rawValid() {
		var v any
		err := json.Unmarshal([]byte(res.raw), &v)
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return nil, fail(c.jsonError(res.raw, err, nil))
	}
	doc := res.Entries
	var es entries
	if err := es.begin(doc); err != nil {
		return nil, fail(err)
	}
	max := c.cfg.pageSize()
	hint := min(res.entriesHint, max)
	p := &page{}
	if delta {
		p.changes = make([]idsync.Change, 0, hint)
	} else {
		p.entries = make([]idsync.Entry, 0, hint)
	}
	sources := newSources(OpImportData+" page "+strconv.Itoa(n)+" entry ", hint)
	arena := make([]idsync.Value, 0, 4*hint+8)
	var scratch []idsync.AttrMod
	var ie importEntry
	var dc defCache
	for i := 0; ; i++ {
		ok, err := es.nextEntry(&ie)
		if err != nil {
			return nil, fail(err)
		}
		if !ok {
			break
		}
		if i >= max {
			continue // read on: a malformed entry further on is reported first
		}
		source := sources.get(i + 1)
		ch, err := c.convertEntry(&ie, sch, &arena, scratch[:0], &dc)
		scratch = ch.Mods
		ch.Source = source
		if err != nil {
			ch.Err = errors.New(c.redact(err.Error()))
		}
		if delta {
			if ch.Op == idsync.OpNone && ch.Err == nil {
				continue
			}
			ch.Mods = slices.Clone(ch.Mods) // scratch is reused by the next entry
			p.changes = append(p.changes, ch)
			continue
		}
		e := idsync.Entry{ObjectType: ch.ObjectType, Anchor: ch.Anchor, DN: ch.DN, Source: source, Err: ch.Err}
		if ch.Err == nil {
			switch ch.Op {
			case idsync.OpAdd, idsync.OpReplace:
				// Whole entries hold AttrReplace mods only (convertEntry checks).
				e.Attrs = make(idsync.Attrs, len(ch.Mods))
				for _, m := range ch.Mods {
					if len(m.Values) > 0 {
						e.Attrs[m.Name] = m.Values
					} else {
						delete(e.Attrs, m.Name)
					}
				}
			default:
				e.Err = fmt.Errorf("modificationType %s in a full import (want Add or Replace: every object whole)", ie.ModificationType)
			}
		}
		p.entries = append(p.entries, e)
	}
	if es.n > max {
		return nil, fail(fmt.Errorf("returned %d entries, more than the page size of %d: nothing of this page was staged", es.n, max))
	}
	return p, nil
}

// defCache is convertEntry's memory of the schema definitions of the
// attributes of one object type, by their position in an entry.
type defCache struct {
	ti         *typeInfo
	objectType string
	names      []string
	defs       []idsync.AttrDef
}

// sources makes the Source of a page's entries ("importData page 3 entry
// 17") as slices of one string per page instead of two allocations per entry.
type sources struct {
	prefix string
	text   string // prefix+"1", prefix+"2", ... back to back
	ends   []int32
}

func newSources(prefix string, n int) *sources {
	s := &sources{prefix: prefix, ends: make([]int32, 0, n)}
	var b strings.Builder // its String is no copy
	b.Grow(n * (len(prefix) + len(strconv.Itoa(n))))
	var num [20]byte
	for i := 1; i <= n; i++ {
		b.WriteString(prefix)
		b.Write(strconv.AppendInt(num[:0], int64(i), 10))
		s.ends = append(s.ends, int32(b.Len()))
	}
	s.text = b.String()
	return s
}

// get returns the source of the i-th entry (from 1).
func (s *sources) get(i int) string {
	if i > len(s.ends) {
		return s.prefix + strconv.Itoa(i)
	}
	start := int32(0)
	if i > 1 {
		start = s.ends[i-2]
	}
	return s.text[start:s.ends[i-1]]
}

// convertEntry turns one importEntry into a Change: Add and Replace hold
// every attribute as AttrReplace mods, Update holds the modifications.
// Values are appended to *arena; mods is a scratch slice the Change's Mods
// are built in (the caller copies them when it keeps them).
//
// dc remembers the schema's definitions of the attributes of the entries
// before, in their order, which the next entries mostly repeat; it may be nil.
func (c *conn) convertEntry(ie *importEntry, sch *schema, arena *[]idsync.Value, mods []idsync.AttrMod, dc *defCache) (idsync.Change, error) {
	ch := idsync.Change{ObjectType: ie.ObjectType, DN: ie.DN, NewDN: ie.NewDN}
	if len(ie.Anchor) > 0 && ie.Anchor != "null" {
		v, err := decodeValue(ie.Anchor, idsync.TypeString, false)
		if err != nil {
			return ch, fmt.Errorf("anchor: %v", err)
		}
		ch.Anchor = idsync.Anchor(v.String())
	}
	if ie.ErrorName != "" && !strings.EqualFold(ie.ErrorName, "success") {
		msg := ie.ErrorName
		if ie.ErrorDetail != "" {
			msg += ": " + ie.ErrorDetail
		}
		return ch, errors.New(msg)
	}
	if ie.ObjectType == "" {
		return ch, errors.New("no objectType")
	}
	if dc == nil {
		dc = &defCache{}
	}
	var ti *typeInfo
	if sch != nil {
		if dc.ti != nil && dc.objectType == ie.ObjectType {
			ti = dc.ti
		} else {
			ti = sch.types[ie.ObjectType]
			if ti == nil {
				return ch, fmt.Errorf("object type %q is not in the schema", ie.ObjectType)
			}
			*dc = defCache{ti: ti, objectType: ie.ObjectType, names: dc.names[:0], defs: dc.defs[:0]}
		}
	}
	def := func(name string) (idsync.AttrDef, bool, error) {
		if ti == nil {
			return idsync.AttrDef{Name: name}, false, nil
		}
		d, ok := ti.attrs[name]
		if !ok {
			return d, false, fmt.Errorf("attribute %q is not in the schema of %q", name, ie.ObjectType)
		}
		return d, true, nil
	}
	switch canonMod(ie.ModificationType) {
	case "", "Add":
		ch.Op = idsync.OpAdd
	case "Replace":
		ch.Op = idsync.OpReplace
	case "Update":
		ch.Op = idsync.OpUpdate
	case "Delete":
		ch.Op = idsync.OpDelete
	case "None":
		ch.Op = idsync.OpNone
	default:
		return ch, fmt.Errorf("unknown modificationType %q (want Add, Replace, Update, Delete or None)", ie.ModificationType)
	}
	whole := ch.Op == idsync.OpAdd || ch.Op == idsync.OpReplace
	ch.Mods = mods
	for j, kv := range ie.Attributes {
		var d idsync.AttrDef
		var typed bool
		if ti != nil {
			// The schema's name: no allocation for the attribute's name.
			if j < len(dc.names) && dc.names[j] == kv.name {
				d = dc.defs[j]
			} else {
				dd, ok := ti.attrs[kv.name]
				if !ok {
					return ch, fmt.Errorf("attribute %q is not in the schema of %q", kv.name, ie.ObjectType)
				}
				d = dd
				if j < len(dc.names) {
					dc.names[j], dc.defs[j] = kv.name, dd
				} else if j == len(dc.names) {
					dc.names, dc.defs = append(dc.names, kv.name), append(dc.defs, dd)
				}
			}
			typed = true
		} else {
			d = idsync.AttrDef{Name: kv.name}
		}
		name := d.Name
		vs, err := decodeValues(kv.raw, kv.plain, d.Type, typed, arena)
		if err != nil {
			return ch, fmt.Errorf("attribute %s: %v", name, err)
		}
		if whole && len(vs) == 0 {
			continue
		}
		ch.Mods = append(ch.Mods, idsync.AttrMod{Name: name, Op: idsync.AttrReplace, Values: vs})
	}
	for _, ac := range ie.AttributeChanges {
		d, typed, err := def(ac.Name)
		if err != nil {
			return ch, err
		}
		mods, err := decodeAttrChange(ac, d.Type, typed)
		if err != nil {
			return ch, fmt.Errorf("attributeChanges %s: %v", ac.Name, err)
		}
		ch.Mods = append(ch.Mods, mods...)
	}
	if whole {
		for _, m := range ch.Mods {
			if m.Op != idsync.AttrReplace {
				return ch, fmt.Errorf("attribute %s: an %s entry holds whole values (attribute modificationType Add or Replace)", m.Name, ch.Op)
			}
		}
	}
	if ch.Anchor == "" && ti != nil && len(ti.anchor) > 0 && ch.Op != idsync.OpNone {
		a := idsync.Attrs{}.Apply(ch.Mods)
		parts := make([]string, 0, len(ti.anchor))
		for _, an := range ti.anchor {
			v := a.Get(an)
			if v.IsZero() {
				return ch, fmt.Errorf("no anchor: give anchor or the anchor attribute %s", an)
			}
			parts = append(parts, v.String())
		}
		ch.Anchor = idsync.Anchor(strings.Join(parts, "|"))
	}
	if ch.Anchor == "" && ch.Op != idsync.OpNone {
		return ch, errors.New("no anchor")
	}
	return ch, nil
}

// emptyArray reports whether raw is absent, null or [].
func emptyArray(raw string) bool {
	raw = trimSpace(raw)
	if len(raw) == 0 || raw == "null" {
		return true
	}
	return raw[0] == '[' && len(trimSpace(raw[1:len(raw)-1])) == 0
}

func decodeAttrChange(ac attrChangeDoc, t idsync.AttrType, typed bool) ([]idsync.AttrMod, error) {
	if ac.Name == "" {
		return nil, errors.New("no name")
	}
	values := func() ([]idsync.Value, error) {
		var out []idsync.Value
		for _, raw := range ac.Values {
			v, err := decodeValue([]byte(raw), t, typed)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		for _, vc := range ac.ValueChanges {
			if canonMod(vc.ModificationType) != "Add" && vc.ModificationType != "" {
				return nil, fmt.Errorf("value change %s in an attribute %s (only Add)", vc.ModificationType, ac.ModificationType)
			}
			v, err := decodeValue([]byte(vc.Value), t, typed)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	}
	switch canonMod(ac.ModificationType) {
	case "Add", "Replace":
		vs, err := values()
		if err != nil {
			return nil, err
		}
		return []idsync.AttrMod{{Name: ac.Name, Op: idsync.AttrReplace, Values: vs}}, nil
	case "Delete":
		return []idsync.AttrMod{{Name: ac.Name, Op: idsync.AttrClear}}, nil
	case "Update":
		var adds, dels []idsync.Value
		for _, vc := range ac.ValueChanges {
			v, err := decodeValue([]byte(vc.Value), t, typed)
			if err != nil {
				return nil, err
			}
			switch canonMod(vc.ModificationType) {
			case "Add":
				adds = append(adds, v)
			case "Delete":
				dels = append(dels, v)
			default:
				return nil, fmt.Errorf("unknown value modificationType %q (want Add or Delete)", vc.ModificationType)
			}
		}
		var mods []idsync.AttrMod
		if len(dels) > 0 {
			mods = append(mods, idsync.AttrMod{Name: ac.Name, Op: idsync.AttrDelete, Values: dels})
		}
		if len(adds) > 0 {
			mods = append(mods, idsync.AttrMod{Name: ac.Name, Op: idsync.AttrAdd, Values: adds})
		}
		return mods, nil
	}
	return nil, fmt.Errorf("unknown modificationType %q (want Add, Replace, Update or Delete)", ac.ModificationType)
}
