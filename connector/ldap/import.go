package ldap

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// formatGUID formats a 16-byte Active Directory objectGUID as AD prints
// it: the first three groups little-endian.
func formatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%x",
		b[3], b[2], b[1], b[0], b[5], b[4], b[7], b[6], b[8], b[9], b[10:]), nil
}

// parseGUID is the inverse of formatGUID.
func parseGUID(s string) ([]byte, error) {
	h := strings.ReplaceAll(strings.Trim(s, "{}"), "-", "")
	raw, err := hex.DecodeString(h)
	if err != nil || len(raw) != 16 || len(s) < 32 {
		return nil, fmt.Errorf("%q is not a GUID", s)
	}
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = raw[3], raw[2], raw[1], raw[0]
	b[4], b[5] = raw[5], raw[4]
	b[6], b[7] = raw[7], raw[6]
	copy(b[8:], raw[8:])
	return b, nil
}

// escapeFilterBytes escapes every byte for an LDAP filter (binary values).
func escapeFilterBytes(b []byte) string {
	var sb strings.Builder
	for _, x := range b {
		fmt.Fprintf(&sb, "\\%02x", x)
	}
	return sb.String()
}

// anchorOf returns the anchor of entry e.
func (c *conn) anchorOf(e *goldap.Entry) (idsync.Anchor, error) {
	name := c.cfg.anchor()
	if strings.EqualFold(name, "objectGUID") {
		b := e.GetRawAttributeValue("objectGUID")
		if b == nil {
			return "", errors.New("entry has no objectGUID")
		}
		s, err := formatGUID(b)
		return idsync.Anchor(s), err
	}
	if strings.EqualFold(name, "dn") {
		return idsync.Anchor(e.DN), nil
	}
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) && len(a.Values) > 0 {
			if typ, _ := c.typeOf(name); typ == idsync.TypeBinary {
				return idsync.Anchor(base64.StdEncoding.EncodeToString(a.ByteValues[0])), nil
			}
			if strings.EqualFold(name, "entryUUID") {
				return idsync.Anchor(strings.ToLower(a.Values[0])), nil
			}
			return idsync.Anchor(a.Values[0]), nil
		}
	}
	return "", fmt.Errorf("entry has no anchor attribute %s", name)
}

// anchorFilter returns a filter matching the object with anchor a.
func (c *conn) anchorFilter(a idsync.Anchor) (string, error) {
	name := c.cfg.anchor()
	if strings.EqualFold(name, "objectGUID") {
		b, err := parseGUID(string(a))
		if err != nil {
			return "", err
		}
		return "(objectGUID=" + escapeFilterBytes(b) + ")", nil
	}
	if typ, _ := c.typeOf(name); typ == idsync.TypeBinary {
		b, err := base64.StdEncoding.DecodeString(string(a))
		if err != nil {
			return "", fmt.Errorf("anchor %q is not Base64", a)
		}
		return "(" + name + "=" + escapeFilterBytes(b) + ")", nil
	}
	return "(" + name + "=" + goldap.EscapeFilter(string(a)) + ")", nil
}

// objectTypeOf picks the idsync object type of an entry: with
// objectClasses configured, the configured type whose class is the most
// specific one the entry has ("" when none matches); otherwise the
// structural object class.
func (c *conn) objectTypeOf(e *goldap.Entry) string {
	ocs := e.GetAttributeValues("objectClass")
	if len(c.cfg.ObjectClasses) == 0 {
		if s := e.GetAttributeValue("structuralObjectClass"); s != "" {
			return s
		}
		// AD lists classes from top to the most specific.
		if len(ocs) > 0 && c.cfg.isAD() {
			return ocs[len(ocs)-1]
		}
		for _, oc := range ocs {
			if o := c.schema.classes[strings.ToLower(oc)]; o != nil && o.kind == "STRUCTURAL" && !strings.EqualFold(oc, "top") {
				// the first structural class that is no superclass of another
				if !c.isSuperOfAny(oc, ocs) {
					return oc
				}
			}
		}
		if len(ocs) > 0 {
			return ocs[len(ocs)-1]
		}
		return ""
	}
	best, bestIdx := "", -1
	if s := e.GetAttributeValue("structuralObjectClass"); s != "" {
		for t, oc := range c.cfg.ObjectClasses {
			if strings.EqualFold(oc, s) && (best == "" || t < best) {
				best, bestIdx = t, 1<<30
			}
		}
	}
	for i, oc := range ocs {
		for t, want := range c.cfg.ObjectClasses {
			if strings.EqualFold(oc, want) && (i > bestIdx || i == bestIdx && t < best) {
				best, bestIdx = t, i
			}
		}
	}
	return best
}

func (c *conn) isSuperOfAny(oc string, ocs []string) bool {
	for _, other := range ocs {
		if strings.EqualFold(other, oc) {
			continue
		}
		for o, i := c.schema.classes[strings.ToLower(other)], 0; o != nil && i < 30; i++ {
			if len(o.sups) == 0 {
				break
			}
			if strings.EqualFold(o.sups[0], oc) {
				return true
			}
			o = c.schema.classes[strings.ToLower(o.sups[0])]
		}
	}
	return false
}

// classFilter is the filter of the object classes in scope.
func (c *conn) classFilter() string {
	var f string
	if len(c.cfg.ObjectClasses) == 0 {
		f = "(objectClass=*)"
	} else {
		seen := map[string]bool{}
		var b strings.Builder
		b.WriteString("(|")
		for _, t := range sortedKeys(c.cfg.ObjectClasses) {
			oc := c.cfg.ObjectClasses[t]
			if seen[strings.ToLower(oc)] {
				continue
			}
			seen[strings.ToLower(oc)] = true
			b.WriteString("(objectClass=" + goldap.EscapeFilter(oc) + ")")
		}
		b.WriteString(")")
		f = b.String()
	}
	if x := c.cfg.filterText(); x != "" {
		f = "(&" + f + x + ")"
	}
	return f
}

// attrList is what a search asks for: all user attributes, the anchor
// (entryUUID is operational) and structuralObjectClass.
func (c *conn) attrList() []string {
	out := []string{"*", c.cfg.anchor()}
	if !c.cfg.isAD() {
		out = append(out, "structuralObjectClass")
	}
	return out
}

// skipAttr reports attributes that are machinery, not data.
func (c *conn) skipAttr(name string) bool {
	return strings.EqualFold(name, "structuralObjectClass")
}

// attrInfo is what conversion needs to know of an attribute name as the
// server spells it, computed once per connection.
type attrInfo struct {
	canon string
	typ   idsync.AttrType
	utc   bool
}

func (c *conn) info(name string) *attrInfo {
	if ai := c.attrCache[name]; ai != nil {
		return ai
	}
	typ, _ := c.typeOf(name)
	ai := &attrInfo{canon: c.canonical(name), typ: typ,
		utc: typ == idsync.TypeDateTime && c.schema.syntaxOf(c.schema.attr(name)) == synUTCTime}
	if c.attrCache == nil {
		c.attrCache = map[string]*attrInfo{}
	}
	c.attrCache[name] = ai
	return ai
}

// convertValues converts the raw values of one attribute.
func (c *conn) convertValues(a *goldap.EntryAttribute) ([]idsync.Value, error) {
	ai := c.info(a.Name)
	typ, utc := ai.typ, ai.utc
	out := make([]idsync.Value, 0, len(a.Values))
	for i, s := range a.Values {
		if utc {
			t, err := parseUTCTime(s)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
			}
			out = append(out, idsync.Time(t))
			continue
		}
		v, err := convertValue(typ, s, a.ByteValues[i])
		if err != nil {
			return nil, fmt.Errorf("attribute %s: %w", a.Name, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func convertValue(typ idsync.AttrType, s string, raw []byte) (idsync.Value, error) {
	switch typ {
	case idsync.TypeReference:
		return idsync.Ref(s), nil
	case idsync.TypeInteger:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return idsync.Value{}, fmt.Errorf("value %q is not an integer", s)
		}
		return idsync.Int(n), nil
	case idsync.TypeBoolean:
		switch strings.ToUpper(s) {
		case "TRUE":
			return idsync.Bool(true), nil
		case "FALSE":
			return idsync.Bool(false), nil
		}
		return idsync.Value{}, fmt.Errorf("value %q is not TRUE or FALSE", s)
	case idsync.TypeDateTime:
		t, err := parseLDAPTime(s)
		if err != nil {
			return idsync.Value{}, err
		}
		return idsync.Time(t), nil
	case idsync.TypeBinary:
		return idsync.Binary(append([]byte(nil), raw...)), nil
	}
	return idsync.String(s), nil
}

// parseLDAPTime parses GeneralizedTime (RFC 4517 §3.3.13).
func parseLDAPTime(s string) (time.Time, error) {
	if t, err := ber.ParseGeneralizedTime([]byte(s)); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("value %q is not a GeneralizedTime", s)
}

// parseUTCTime parses UTCTime (RFC 4517 §3.3.34).
func parseUTCTime(s string) (time.Time, error) {
	for _, layout := range []string{"060102150405Z0700", "0601021504Z0700", "060102150405Z", "0601021504Z"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("value %q is not a UTCTime", s)
}

// formatLDAPTime formats t as GeneralizedTime in UTC.
func formatLDAPTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() == 0 {
		return t.Format("20060102150405Z")
	}
	return t.Format("20060102150405.000000Z")
}

// toEntry converts a search result entry; conversion problems land in
// Entry.Err.
func (c *conn) toEntry(ctx context.Context, e *goldap.Entry) idsync.Entry {
	out := idsync.Entry{DN: e.DN, Source: e.DN, ObjectType: c.objectTypeOf(e)}
	a, err := c.anchorOf(e)
	if err != nil {
		out.Err = err
		return out
	}
	out.Anchor = a
	attrs, err := c.toAttrs(ctx, e)
	if err != nil {
		out.Err = err
	}
	out.Attrs = attrs
	return out
}

func (c *conn) toAttrs(ctx context.Context, e *goldap.Entry) (idsync.Attrs, error) {
	attrs := make(idsync.Attrs, len(e.Attributes))
	anchorName := c.cfg.anchor()
	for _, at := range e.Attributes {
		if c.skipAttr(at.Name) || (strings.EqualFold(at.Name, anchorName) && strings.EqualFold(anchorName, "entryUUID")) {
			continue
		}
		name := at.Name
		if r, ok, err := parseRange(name); ok {
			// Active Directory returns big multi-valued attributes in ranges.
			if err != nil {
				return attrs, err
			}
			all, err := c.readRange(ctx, e.DN, r, at)
			if err != nil {
				return attrs, err
			}
			at = all
			name = r.base
		}
		vs, err := c.convertValues(at)
		if err != nil {
			return attrs, err
		}
		if len(vs) > 0 {
			canon := c.info(name).canon
			if old, ok := attrs[canon]; ok {
				attrs[canon] = append(old, vs...)
			} else {
				attrs[canon] = vs
			}
		}
	}
	return attrs, nil
}

// canonical returns the schema's spelling of an attribute name.
func (c *conn) canonical(name string) string {
	if a := c.schema.attr(name); a != nil && len(a.names) > 0 {
		for _, n := range a.names {
			if n == name {
				return n
			}
		}
		return a.names[0]
	}
	return name
}

// attrRange is the range option of an attribute description, as Active
// Directory sends a big multi-valued attribute ("member;range=0-1499",
// then "member;range=1500-*") and DirSync its incremental values
// ("member;range=1-1" added, "member;range=0-0" removed).
type attrRange struct {
	base   string // the description without the range option
	lo, hi int    // the values' positions; hi is -1 for "*": the last values
}

// last reports whether the range holds the last values.
func (r attrRange) last() bool { return r.hi < 0 }

// next is the description that asks for the values after r.
func (r attrRange) next() string { return r.base + ";range=" + strconv.Itoa(r.hi+1) + "-*" }

// parseRange reads the range option of an attribute description. ok is
// false when it has none; err reports a malformed one.
func parseRange(desc string) (r attrRange, ok bool, err error) {
	i := indexFold(desc, ";range=")
	if i < 0 {
		return attrRange{base: desc}, false, nil
	}
	spec, rest := desc[i+len(";range="):], ""
	if j := strings.IndexByte(spec, ';'); j >= 0 {
		spec, rest = spec[:j], spec[j:]
	}
	r = attrRange{base: desc[:i] + rest, hi: -1}
	loText, hiText, dash := strings.Cut(spec, "-")
	lo, lerr := strconv.Atoi(loText)
	if !dash || lerr != nil || lo < 0 || loText[0] == '+' || r.base == "" {
		return r, true, fmt.Errorf("attribute %s: bad range %q", r.base, desc)
	}
	r.lo = lo
	if hiText != "*" {
		hi, herr := strconv.Atoi(hiText)
		if herr != nil || hi < 0 || hiText[0] == '+' {
			return r, true, fmt.Errorf("attribute %s: bad range %q", r.base, desc)
		}
		r.hi = hi
	}
	return r, true, nil
}

// indexFold is strings.Index ignoring ASCII case.
func indexFold(s, sub string) int {
	for i := 0; i+len(sub) <= len(s); i++ {
		if strings.EqualFold(s[i:i+len(sub)], sub) {
			return i
		}
	}
	return -1
}

// readRange fetches the remaining values of a ranged attribute whose
// first part (range r) came with the entry, one base search per range.
func (c *conn) readRange(ctx context.Context, dn string, r attrRange, firstPart *goldap.EntryAttribute) (*goldap.EntryAttribute, error) {
	all := &goldap.EntryAttribute{Name: r.base, Values: append([]string(nil), firstPart.Values...), ByteValues: append([][]byte(nil), firstPart.ByteValues...)}
	for !r.last() {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		res, err := c.l.Search(goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{r.next()}, nil))
		if err != nil {
			return nil, c.classify("read range of "+r.base+" of "+dn, err)
		}
		if len(res.Entries) == 0 {
			return all, nil
		}
		var next *goldap.EntryAttribute
		var nr attrRange
		for _, a := range res.Entries[0].Attributes {
			x, ok, err := parseRange(a.Name)
			if !ok || !strings.EqualFold(x.base, r.base) {
				continue
			}
			if err != nil {
				return nil, err
			}
			next, nr = a, x
		}
		if next == nil {
			return all, nil // no values after r
		}
		if nr.lo != r.hi+1 || (!nr.last() && nr.hi < nr.lo) {
			return nil, fmt.Errorf("attribute %s of %s: asked for the values from %d, the server sent %q", r.base, dn, r.hi+1, next.Name)
		}
		all.Values = append(all.Values, next.Values...)
		all.ByteValues = append(all.ByteValues, next.ByteValues...)
		r = nr
	}
	return all, nil
}

// Import implements connector.Importer: a paged subtree search of each
// container in scope. The watermark of the configured delta mechanism is
// taken before the search starts, so that changes made during the import
// come again in the next delta import.
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	if err := c.loadSchema(ctx); err != nil {
		return nil, err
	}
	scopes, err := c.scopes(opts.Partition)
	if err != nil {
		return nil, err
	}
	wm, err := c.startWatermark(ctx, scopes)
	if err != nil {
		return nil, err
	}
	filter := c.classFilter()
	attrs := c.attrList()
	// The entries come on a connection of their own, decoded by the lean
	// reader of raw.go; the main connection serves lookups meanwhile.
	rc, err := c.dialRaw(ctx)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	// A reader goroutine reads and converts the next entries while the
	// caller stores the previous ones (the engine commits a page at a
	// time): the directory and the store work at once. It stops when the
	// import ends, fails or is cancelled.
	rctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(rctx, func() { rc.Close() })
	defer stop()
	size := c.cfg.pageSize(opts.PageSize)
	// Entries travel in batches: one channel operation per batch, not per
	// entry.
	const batch = 256
	entries := make(chan []idsync.Entry, 1+size/batch)
	readErr := make(chan error, 1)
	done := make(chan struct{})
	defer func() {
		cancel()
		for range entries { // unblock and wait for the reader
		}
		<-done
	}()
	go func() {
		defer close(done)
		defer close(entries)
		buf := make([]idsync.Entry, 0, batch)
		flush := func() error {
			if len(buf) == 0 {
				return nil
			}
			select {
			case entries <- buf:
				buf = make([]idsync.Entry, 0, batch)
				return nil
			case <-rctx.Done():
				return rctx.Err()
			}
		}
		for _, s := range scopes {
			for _, base := range s.bases {
				req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, filter, attrs, nil)
				err := c.rawPaged(rctx, rc, req, size, func(e *goldap.Entry) error {
					if len(s.exclude) > 0 && !inScope([]scope{s}, e.DN) {
						return nil
					}
					en := c.toEntry(rctx, e)
					if en.ObjectType == "" && en.Err == nil {
						return nil
					}
					buf = append(buf, en)
					if len(buf) == batch {
						return flush()
					}
					return nil
				}, flush)
				if err != nil {
					readErr <- err
					return
				}
			}
		}
		if err := flush(); err != nil {
			readErr <- err
		}
	}()
	for ens := range entries {
		for _, en := range ens {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			if err := emit(en); err != nil {
				return nil, err
			}
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case err := <-readErr:
		return nil, err
	default:
	}
	return wm, nil
}

func sortedKeys(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j] < out[j-1]; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}
