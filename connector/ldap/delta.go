package ldap

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// wmVersion is the version of the watermark encoding.
const wmVersion = 1

// watermark is what the connector stores between delta imports: the
// mechanism and, per partition (normalized DN), its position.
type watermark struct {
	V     int               `json:"v"`
	Mech  string            `json:"mech"`
	Parts map[string][]byte `json:"parts"`
}

func (w watermark) encode() connector.Watermark {
	b, _ := json.Marshal(w)
	return b
}

// decodeWatermark parses a stored watermark; anything unexpected is
// ErrWatermarkExpired, so the engine falls back to a full import.
func decodeWatermark(b []byte, mech string) (watermark, error) {
	var w watermark
	if err := json.Unmarshal(b, &w); err != nil {
		return w, fmt.Errorf("%w: unreadable watermark: %v", connector.ErrWatermarkExpired, err)
	}
	if w.V != wmVersion {
		return w, fmt.Errorf("%w: watermark version %d", connector.ErrWatermarkExpired, w.V)
	}
	if w.Mech != mech {
		return w, fmt.Errorf("%w: watermark of delta mechanism %q, configured %q", connector.ErrWatermarkExpired, w.Mech, mech)
	}
	if len(w.Parts) == 0 {
		return w, fmt.Errorf("%w: watermark holds no partition", connector.ErrWatermarkExpired)
	}
	return w, nil
}

// startWatermark takes the position a later delta import starts from,
// before a full import reads anything.
func (c *conn) startWatermark(ctx context.Context, scopes []scope) (connector.Watermark, error) {
	mech := c.cfg.delta()
	if mech == DeltaNone {
		return nil, nil
	}
	w := watermark{V: wmVersion, Mech: mech, Parts: map[string][]byte{}}
	for _, s := range scopes {
		key, _ := normDN(s.partition)
		var pos []byte
		var err error
		switch mech {
		case DeltaSyncrepl:
			pos, err = c.syncreplCookie(ctx, s.partition)
		case DeltaDirSync:
			pos, err = c.dirsyncCookie(ctx, s.partition)
		case DeltaUSNChanged:
			pos, err = c.usnPosition()
		case DeltaAccesslog:
			pos, err = c.accesslogPosition(ctx)
		}
		if err != nil {
			return nil, err
		}
		w.Parts[key] = pos
	}
	return w.encode(), nil
}

// ImportChanges implements connector.DeltaImporter with the configured
// mechanism.
func (c *conn) ImportChanges(ctx context.Context, opts connector.ImportOptions, since connector.Watermark, emit func(idsync.Change) error) (connector.Watermark, error) {
	mech := c.cfg.delta()
	if mech == DeltaNone {
		return nil, connector.ErrUnsupported
	}
	w, err := decodeWatermark(since, mech)
	if err != nil {
		return nil, err
	}
	if err := c.loadSchema(ctx); err != nil {
		return nil, err
	}
	scopes, err := c.scopes(opts.Partition)
	if err != nil {
		return nil, err
	}
	next := watermark{V: wmVersion, Mech: mech, Parts: map[string][]byte{}}
	for _, s := range scopes {
		key, _ := normDN(s.partition)
		pos, ok := w.Parts[key]
		if !ok {
			return nil, fmt.Errorf("%w: no position for partition %s", connector.ErrWatermarkExpired, s.partition)
		}
		var np []byte
		switch mech {
		case DeltaSyncrepl:
			np, err = c.syncreplDelta(ctx, s, pos, opts.PageSize, emit)
		case DeltaDirSync:
			np, err = c.dirsyncDelta(ctx, s, pos, emit)
		case DeltaUSNChanged:
			np, err = c.usnDelta(ctx, s, pos, opts.PageSize, emit)
		case DeltaAccesslog:
			np, err = c.accesslogDelta(ctx, s, pos, emit)
		}
		if err != nil {
			return nil, err
		}
		next.Parts[key] = np
	}
	return next.encode(), nil
}

// fullChange turns an entry into a whole-object change (or a delete
// when it left the scope).
func (c *conn) fullChange(ctx context.Context, e *goldap.Entry, scopes []scope) (idsync.Change, bool) {
	en := c.toEntry(ctx, e)
	if en.Err == nil && (!inScope(scopes, e.DN) || en.ObjectType == "") {
		if en.Anchor == "" {
			return idsync.Change{}, false
		}
		return idsync.Change{Op: idsync.OpDelete, Anchor: en.Anchor, DN: e.DN, Source: e.DN}, true
	}
	return idsync.Change{Op: idsync.OpReplace, ObjectType: en.ObjectType, Anchor: en.Anchor, DN: en.DN,
		Mods: idsync.ModsFromAttrs(en.Attrs), Source: en.Source, Err: en.Err}, true
}

// ---- OpenLDAP syncrepl (RFC 4533 refreshOnly) ----

// syncResultRefreshRequired is e-syncRefreshRequired (RFC 4533 §2.4).
const syncResultRefreshRequired = 4096

func (c *conn) syncreplCookie(ctx context.Context, partition string) ([]byte, error) {
	if !c.root.controls[goldap.ControlTypeSyncRequest] {
		return nil, fmt.Errorf("ldap: delta syncrepl: the server does not support the sync request control (RFC 4533); load syncprov")
	}
	req := goldap.NewSearchRequest(partition, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil)
	var cookie []byte
	err := c.syncSearch(ctx, req, nil, func(*goldap.Entry, *goldap.ControlSyncState) error { return nil },
		func(info *goldap.ControlSyncInfo) error { return nil }, &cookie)
	if err != nil {
		return nil, err
	}
	if cookie == nil {
		return nil, errors.New("ldap: syncrepl: the server returned no cookie")
	}
	// syncprov may hand out a cookie a little behind writes it has already
	// answered (seen under load: deletions made just before came again in
	// the next delta). Catch the cookie up: a refresh from it, with a
	// filter no entry matches, returns only the deletions after it and a
	// newer cookie. Moving the start forward is safe: the full import
	// that follows reads everything written before it starts.
	for i := 0; i < 5; i++ {
		req := goldap.NewSearchRequest(partition, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=*)(!(objectClass=*)))", []string{"1.1"}, nil)
		var next []byte
		seen := 0
		err := c.syncSearch(ctx, req, cookie, func(*goldap.Entry, *goldap.ControlSyncState) error { seen++; return nil },
			func(info *goldap.ControlSyncInfo) error {
				if info.SyncIdSet != nil {
					seen += len(info.SyncIdSet.SyncUUIDs)
				}
				return nil
			}, &next)
		if err != nil {
			if errors.Is(err, connector.ErrWatermarkExpired) {
				break
			}
			return nil, err
		}
		if next != nil {
			cookie = next
		}
		if seen == 0 {
			break
		}
	}
	return cookie, nil
}

// syncSearch runs one refreshOnly sync search, calling onEntry for each
// entry and onInfo for each Sync Info message, and stores the final cookie.
func (c *conn) syncSearch(ctx context.Context, req *goldap.SearchRequest, cookie []byte,
	onEntry func(*goldap.Entry, *goldap.ControlSyncState) error, onInfo func(*goldap.ControlSyncInfo) error, out *[]byte) error {
	if c.l == nil {
		return idsync.E("ldap syncrepl", idsync.KindTransient, errors.New("connection is closed"))
	}
	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	r := c.l.Syncrepl(sctx, req, 64, goldap.SyncRequestModeRefreshOnly, cookie, false)
	for r.Next() {
		if err := ctx.Err(); err != nil {
			return err
		}
		ctrls := r.Controls()
		if e := r.Entry(); e != nil {
			var st *goldap.ControlSyncState
			for _, ct := range ctrls {
				if s, ok := ct.(*goldap.ControlSyncState); ok {
					st = s
				}
			}
			if err := onEntry(e, st); err != nil {
				return err
			}
			continue
		}
		for _, ct := range ctrls {
			switch v := ct.(type) {
			case *goldap.ControlSyncInfo:
				if ck := syncInfoCookie(v); ck != nil {
					*out = ck
				}
				if err := onInfo(v); err != nil {
					return err
				}
			case *goldap.ControlSyncDone:
				if v.Cookie != nil {
					*out = v.Cookie
				}
				if cookie != nil && !v.RefreshDeletes {
					// refreshDeletes FALSE: the refresh was a present
					// phase; entries not sent are deleted, which only a
					// full import can tell.
					return errPresentPhase
				}
			}
		}
	}
	if err := r.Err(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if goldap.IsErrorWithCode(err, syncResultRefreshRequired) || goldap.IsErrorWithCode(err, goldap.LDAPResultProtocolError) {
			return fmt.Errorf("%w: the server asks for a full refresh: %v", connector.ErrWatermarkExpired, err)
		}
		return c.classify("sync search "+req.BaseDN, err)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}

func syncInfoCookie(v *goldap.ControlSyncInfo) []byte {
	switch {
	case v.NewCookie != nil:
		return v.NewCookie.Cookie
	case v.RefreshDelete != nil:
		return v.RefreshDelete.Cookie
	case v.RefreshPresent != nil:
		return v.RefreshPresent.Cookie
	case v.SyncIdSet != nil:
		return v.SyncIdSet.Cookie
	}
	return nil
}

// errPresentPhase: the server could not replay its session log and sent
// a present phase, which only a full import can turn into deletions.
var errPresentPhase = fmt.Errorf("%w: the server answered with a present phase (its session log does not reach back to the cookie)", connector.ErrWatermarkExpired)

func (c *conn) syncreplDelta(ctx context.Context, s scope, cookie []byte, _ int, emit func(idsync.Change) error) ([]byte, error) {
	next := cookie
	first := true
	for _, base := range s.bases {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, c.classFilter(), c.attrList(), nil)
		var out []byte
		err := c.syncSearch(ctx, req, cookie,
			func(e *goldap.Entry, st *goldap.ControlSyncState) error {
				if st != nil && st.State == goldap.SyncStatePresent {
					return errPresentPhase
				}
				if st != nil && st.State == goldap.SyncStateDelete {
					return emit(idsync.Change{Op: idsync.OpDelete, Anchor: idsync.Anchor(st.EntryUUID.String()), DN: e.DN, Source: e.DN})
				}
				ch, ok := c.fullChange(ctx, e, []scope{s})
				if !ok {
					return nil
				}
				return emit(ch)
			},
			func(info *goldap.ControlSyncInfo) error {
				switch {
				case info.SyncIdSet != nil:
					if !info.SyncIdSet.RefreshDeletes {
						return errPresentPhase
					}
					for _, u := range info.SyncIdSet.SyncUUIDs {
						if err := emit(idsync.Change{Op: idsync.OpDelete, Anchor: idsync.Anchor(u.String())}); err != nil {
							return err
						}
					}
				case info.RefreshPresent != nil && !info.RefreshPresent.RefreshDone:
					return errPresentPhase
				}
				return nil
			}, &out)
		if err != nil {
			return nil, err
		}
		if first && out != nil {
			next = out
			first = false
		}
	}
	return next, nil
}

// ---- Active Directory DirSync ----

// DirSync flags (MS-ADTS 3.1.1.3.4.1.3).
const (
	dirsyncObjectSecurity     = 0x1
	dirsyncIncrementalValues  = 0x80000000
	dirsyncMaxAttrBytes       = 1 << 20
	dirsyncMoreResultsPending = 1
)

// dirsyncCookie pages through DirSync with a filter that matches nothing,
// to reach the current position without reading any object.
func (c *conn) dirsyncCookie(ctx context.Context, partition string) ([]byte, error) {
	var cookie []byte
	for i := 0; ; i++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req := goldap.NewSearchRequest(partition, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(&(objectClass=*)(!(objectClass=*)))", []string{"objectGUID"}, nil)
		res, err := c.l.DirSync(req, 0, dirsyncMaxAttrBytes, cookie)
		if err != nil {
			return nil, c.classify("dirsync "+partition, err)
		}
		ds, _ := goldap.FindControl(res.Controls, goldap.ControlTypeDirSync).(*goldap.ControlDirSync)
		if ds == nil {
			return nil, fmt.Errorf("ldap: dirsync %s: the server returned no DirSync control (is the bind account allowed to replicate directory changes?)", partition)
		}
		cookie = ds.Cookie
		if ds.Flags&dirsyncMoreResultsPending == 0 || i > 100000 {
			return cookie, nil
		}
	}
}

func (c *conn) dirsyncDelta(ctx context.Context, s scope, cookie []byte, emit func(idsync.Change) error) ([]byte, error) {
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		req := goldap.NewSearchRequest(s.partition, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			c.classFilter(), []string{"*"}, nil)
		res, err := c.l.DirSync(req, dirsyncIncrementalValues, dirsyncMaxAttrBytes, cookie)
		if err != nil {
			if goldap.IsErrorAnyOf(err, goldap.LDAPResultProtocolError, goldap.LDAPResultUnwillingToPerform, goldap.LDAPResultOther, goldap.LDAPResultUnavailableCriticalExtension) && !isNetErr(err) {
				return nil, fmt.Errorf("%w: the server refused the DirSync cookie: %v", connector.ErrWatermarkExpired, err)
			}
			return nil, c.classify("dirsync "+s.partition, err)
		}
		for _, e := range res.Entries {
			if err := c.dirsyncEntry(ctx, s, e, emit); err != nil {
				return nil, err
			}
		}
		ds, _ := goldap.FindControl(res.Controls, goldap.ControlTypeDirSync).(*goldap.ControlDirSync)
		if ds == nil {
			return nil, fmt.Errorf("ldap: dirsync %s: the server returned no DirSync control", s.partition)
		}
		cookie = ds.Cookie
		if ds.Flags&dirsyncMoreResultsPending == 0 {
			return cookie, nil
		}
	}
}

// dirsyncEntry turns one DirSync result into a change. DirSync returns
// the changed attributes only (and all of them for a new object); with
// incremental values, linked attributes come as "member;range=1-1" (values
// added) and "member;range=0-0" (values removed).
func (c *conn) dirsyncEntry(ctx context.Context, s scope, e *goldap.Entry, emit func(idsync.Change) error) error {
	anchor, err := c.anchorOf(e)
	if err != nil {
		return emit(idsync.Change{Op: idsync.OpUpdate, DN: e.DN, Source: e.DN, Err: err})
	}
	if strings.EqualFold(e.GetAttributeValue("isDeleted"), "TRUE") {
		return emit(idsync.Change{Op: idsync.OpDelete, Anchor: anchor, DN: e.DN, Source: e.DN})
	}
	// The object's classes and current place decide its type and scope.
	cur, err := c.readByGUID(e.GetRawAttributeValue("objectGUID"), []string{"objectClass"})
	if err != nil {
		return err
	}
	if cur == nil || !inScope([]scope{s}, cur.DN) {
		return emit(idsync.Change{Op: idsync.OpDelete, Anchor: anchor, DN: e.DN, Source: e.DN})
	}
	typ := c.objectTypeOf(cur)
	if typ == "" {
		return emit(idsync.Change{Op: idsync.OpDelete, Anchor: anchor, DN: cur.DN, Source: cur.DN})
	}
	if e.GetAttributeValue("objectClass") != "" {
		// A new object (or one DirSync sends whole): read it whole.
		full, err := c.readByGUID(e.GetRawAttributeValue("objectGUID"), c.attrList())
		if err != nil {
			return err
		}
		if full == nil {
			return nil
		}
		ch, ok := c.fullChange(ctx, full, []scope{s})
		if !ok {
			return nil
		}
		return emit(ch)
	}
	ch := idsync.Change{Op: idsync.OpUpdate, ObjectType: typ, Anchor: anchor, DN: cur.DN, NewDN: cur.DN, Source: cur.DN}
	for _, at := range e.Attributes {
		name := at.Name
		if strings.EqualFold(name, "objectGUID") || strings.EqualFold(name, "instanceType") {
			continue
		}
		op := idsync.AttrReplace
		if r, ok, err := parseRange(name); ok {
			if err != nil {
				ch.Err = err
				break
			}
			switch {
			case r.lo == 1 && r.hi == 1:
				op = idsync.AttrAdd
			case r.lo == 0 && r.hi == 0:
				op = idsync.AttrDelete
			}
			name = r.base
		}
		vs, err := c.convertValues(at)
		if err != nil {
			ch.Err = err
			break
		}
		ch.Mods = append(ch.Mods, idsync.AttrMod{Name: c.canonical(name), Op: op, Values: vs})
	}
	return emit(ch)
}

// readByGUID reads the object with objectGUID g (AD's <GUID=...> DN), or nil.
func (c *conn) readByGUID(g []byte, attrs []string) (*goldap.Entry, error) {
	s, err := formatGUID(g)
	if err != nil {
		return nil, err
	}
	res, err := c.l.Search(goldap.NewSearchRequest("<GUID="+s+">", goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", attrs, nil))
	if err != nil {
		if goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			return nil, nil
		}
		return nil, c.classify("read object "+s, err)
	}
	if len(res.Entries) == 0 {
		return nil, nil
	}
	return res.Entries[0], nil
}

// ---- Active Directory uSNChanged ----

// usnPosition is "USN|dsServiceName": a USN means something only on the
// domain controller that issued it.
func (c *conn) usnPosition() ([]byte, error) {
	if err := c.readRoot(); err != nil {
		return nil, err
	}
	if !c.root.hasHighestUSN {
		return nil, errors.New("ldap: delta usnchanged: the server has no highestCommittedUSN (not Active Directory?)")
	}
	return []byte(strconv.FormatInt(c.root.highestUSN, 10) + "|" + c.root.dsServiceName), nil
}

func (c *conn) usnDelta(ctx context.Context, s scope, pos []byte, pageSize int, emit func(idsync.Change) error) ([]byte, error) {
	usnText, server, ok := strings.Cut(string(pos), "|")
	since, err := strconv.ParseInt(usnText, 10, 64)
	if !ok || err != nil || since < 0 {
		return nil, fmt.Errorf("%w: unreadable USN watermark", connector.ErrWatermarkExpired)
	}
	next, err := c.usnPosition()
	if err != nil {
		return nil, err
	}
	if !strings.EqualFold(server, c.root.dsServiceName) {
		return nil, fmt.Errorf("%w: the USN watermark was taken on %s, this is %s", connector.ErrWatermarkExpired, server, c.root.dsServiceName)
	}
	if since > c.root.highestUSN {
		return nil, fmt.Errorf("%w: the USN watermark %d is ahead of the server (%d): restored from backup?", connector.ErrWatermarkExpired, since, c.root.highestUSN)
	}
	f := fmt.Sprintf("(&%s(uSNChanged>=%d))", c.classFilter(), since+1)
	for _, base := range s.bases {
		req := goldap.NewSearchRequest(base, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, f, c.attrList(), nil)
		err := c.paged(ctx, req, c.cfg.pageSize(pageSize), func(e *goldap.Entry) error {
			ch, ok := c.fullChange(ctx, e, []scope{s})
			if !ok {
				return nil
			}
			return emit(ch)
		})
		if err != nil {
			return nil, err
		}
	}
	// Deletions: tombstones, seen with the show-deleted control.
	req := goldap.NewSearchRequest(s.partition, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
		fmt.Sprintf("(&(isDeleted=TRUE)(uSNChanged>=%d))", since+1), []string{"objectGUID", "lastKnownParent"},
		[]goldap.Control{goldap.NewControlMicrosoftShowDeleted()})
	err = c.paged(ctx, req, c.cfg.pageSize(pageSize), func(e *goldap.Entry) error {
		a, err := c.anchorOf(e)
		if err != nil {
			return nil
		}
		return emit(idsync.Change{Op: idsync.OpDelete, Anchor: a, DN: e.DN, Source: e.DN})
	})
	if err != nil {
		return nil, err
	}
	return next, nil
}

// ---- OpenLDAP accesslog ----

// accesslogBase is the suffix of the changelog database.
const accesslogBase = "cn=accesslog"

// accesslogLookback is how far before the changelog's contextCSN the
// start position looks for the newest record (contextCSN is the entryCSN
// of the newest record, stamped after its reqStart).
const accesslogLookback = time.Minute

// accesslogPosition is the reqStart of the newest changelog record.
func (c *conn) accesslogPosition(ctx context.Context) ([]byte, error) {
	res, err := c.l.Search(goldap.NewSearchRequest(accesslogBase, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, 0, false,
		"(objectClass=*)", []string{"contextCSN"}, nil))
	if err != nil {
		return nil, c.classify("read "+accesslogBase, err)
	}
	if len(res.Entries) == 0 {
		return nil, fmt.Errorf("ldap: delta accesslog: %s not found", accesslogBase)
	}
	latest := ""
	for _, csn := range res.Entries[0].GetAttributeValues("contextCSN") {
		if t, _, _ := strings.Cut(csn, "#"); t > latest {
			latest = t
		}
	}
	if latest == "" {
		return nil, fmt.Errorf("ldap: delta accesslog: %s has no contextCSN (add syncprov to the accesslog database)", accesslogBase)
	}
	t, err := time.Parse(reqStartLayout, latest)
	if err != nil {
		return nil, fmt.Errorf("ldap: delta accesslog: contextCSN %q: %w", latest, err)
	}
	newest := ""
	req := goldap.NewSearchRequest(accesslogBase, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(reqStart>="+t.Add(-accesslogLookback).Format(reqStartLayout)+")", []string{"reqStart"}, nil)
	err = c.paged(ctx, req, 1000, func(e *goldap.Entry) error {
		if v := e.GetAttributeValue("reqStart"); v > newest {
			newest = v
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if newest == "" {
		newest = t.Format(reqStartLayout)
	}
	return []byte(newest), nil
}

// reqStartLayout is the GeneralizedTime form of reqStart.
const reqStartLayout = "20060102150405.000000Z"

func (c *conn) accesslogDelta(ctx context.Context, s scope, pos []byte, emit func(idsync.Change) error) ([]byte, error) {
	if _, err := time.Parse(reqStartLayout, string(pos)); err != nil {
		return nil, fmt.Errorf("%w: unreadable accesslog watermark", connector.ErrWatermarkExpired)
	}
	from := string(pos)
	// The log must reach back to the watermark: a purged log lost changes.
	old, err := c.l.Search(goldap.NewSearchRequest(accesslogBase, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 1, 0, false,
		"(reqStart<="+from+")", []string{"1.1"}, nil))
	if err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultSizeLimitExceeded) {
		return nil, c.classify("search "+accesslogBase, err)
	}
	if old == nil || len(old.Entries) == 0 {
		return nil, fmt.Errorf("%w: the accesslog holds nothing as old as the watermark %s (purged?)", connector.ErrWatermarkExpired, pos)
	}
	next := from
	// Collect the objects touched, in order, then read each once.
	type touched struct {
		uuid    string
		dn      string
		deleted bool
	}
	var order []string
	byUUID := map[string]*touched{}
	req := goldap.NewSearchRequest(accesslogBase, goldap.ScopeSingleLevel, goldap.NeverDerefAliases, 0, 0, false,
		"(&(objectClass=auditWriteObject)(reqResult=0)(reqStart>="+from+")(!(reqStart="+from+")))", []string{"reqStart", "reqType", "reqDN", "reqEntryUUID", "reqOld", "reqNewRDN", "reqNewSuperior"}, nil)
	err = c.paged(ctx, req, 1000, func(e *goldap.Entry) error {
		if v := e.GetAttributeValue("reqStart"); v > next {
			next = v
		}
		u := strings.ToLower(e.GetAttributeValue("reqEntryUUID"))
		if u == "" {
			for _, o := range e.GetAttributeValues("reqOld") {
				if v, ok := strings.CutPrefix(o, "entryUUID: "); ok {
					u = strings.ToLower(v)
				}
			}
		}
		if u == "" {
			return nil
		}
		dnv := e.GetAttributeValue("reqDN")
		if !inScope([]scope{s}, dnv) {
			// out of scope, unless a rename or move brought it in
			newDN := ""
			if rdn := e.GetAttributeValue("reqNewRDN"); rdn != "" {
				parent := e.GetAttributeValue("reqNewSuperior")
				if parent == "" {
					_, parent = splitDN(dnv)
				}
				newDN = rdn + "," + parent
			}
			if newDN == "" || !inScope([]scope{s}, newDN) {
				if byUUID[u] == nil {
					return nil
				}
			}
		}
		tt := byUUID[u]
		if tt == nil {
			tt = &touched{uuid: u}
			byUUID[u] = tt
			order = append(order, u)
		}
		tt.dn = dnv
		tt.deleted = strings.EqualFold(e.GetAttributeValue("reqType"), "delete")
		return nil
	})
	if err != nil {
		return nil, err
	}
	for _, u := range order {
		tt := byUUID[u]
		if tt.deleted {
			if inScope([]scope{s}, tt.dn) {
				if err := emit(idsync.Change{Op: idsync.OpDelete, Anchor: idsync.Anchor(u), DN: tt.dn, Source: tt.dn}); err != nil {
					return nil, err
				}
			}
			continue
		}
		res, err := c.l.Search(goldap.NewSearchRequest(s.partition, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false,
			"(&(entryUUID="+goldap.EscapeFilter(u)+")"+c.classFilter()+")", c.attrList(), nil))
		if err != nil {
			return nil, c.classify("read entry "+u, err)
		}
		if len(res.Entries) == 0 || c.objectTypeOf(res.Entries[0]) == "" {
			// gone since, or no longer matching the filter: out of scope
			if err := emit(idsync.Change{Op: idsync.OpDelete, Anchor: idsync.Anchor(u), DN: tt.dn, Source: tt.dn}); err != nil {
				return nil, err
			}
			continue
		}
		e := res.Entries[0]
		ch, ok := c.fullChange(ctx, e, []scope{s})
		if !ok {
			continue
		}
		if err := emit(ch); err != nil {
			return nil, err
		}
	}
	return []byte(next), nil
}
