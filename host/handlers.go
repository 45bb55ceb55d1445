package host

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/scim"
	"github.com/idsync/idsync/store"
)

// live reports whether a CS object is a resource of rt: a staging object
// of its type, with an anchor, not deleted or parked.
func (rt *rtype) live(o *idsync.CSObject) bool {
	return o != nil && o.Kind == idsync.KindStaging && o.ObjectType == rt.objectType && o.Anchor != "" &&
		!o.Obsolete && o.PendingImport != idsync.ImportDelete
}

// readTx runs f in a read transaction. When another process declared
// the store's value indexes without the host's (an engine started by
// `idsync run` declares only what its rules need), the host declares
// them again and runs f once more.
func (rt *rtype) readTx(ctx context.Context, f func(tx store.Tx) error) error {
	err := rt.readTxOnce(ctx, f)
	if errors.Is(err, store.ErrNotIndexed) {
		rt.ep.s.log.Warn("host: value indexes were dropped by another process; declaring them again", "connector", rt.ep.cn)
		if derr := rt.ep.s.eng.DeclareHostIndexes(ctx, rt.ep.s.idx); derr != nil {
			return derr
		}
		err = rt.readTxOnce(ctx, f)
	}
	return err
}

func (rt *rtype) readTxOnce(ctx context.Context, f func(tx store.Tx) error) error {
	tx, err := rt.ep.s.st.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(tx)
}

// byID returns the live resource with SCIM id (anchor) id, or a 404.
func (rt *rtype) byID(ctx context.Context, tx store.Tx, id string) (*idsync.CSObject, error) {
	m, err := tx.CSByAnchors(ctx, rt.ep.cn, []idsync.Anchor{idsync.Anchor(id)})
	if err != nil {
		return nil, err
	}
	o := m[idsync.Anchor(id)]
	if !rt.live(o) {
		return nil, scim.Errorf(404, "", "%s %q not found", rt.name, id)
	}
	return o, nil
}

// renderAll renders objects, resolving their references in one lookup.
func (rt *rtype) renderAll(ctx context.Context, tx store.Tx, objs []*idsync.CSObject, base string) ([]scim.Resource, error) {
	var dns []string
	for _, o := range objs {
		dns = rt.refDNs(o, dns)
	}
	dnToID := map[string]string{}
	if len(dns) > 0 {
		links, err := tx.LinksByDN(ctx, rt.ep.cn, dns)
		if err != nil {
			return nil, err
		}
		for k, l := range links {
			if l.Anchor != "" && l.Kind == idsync.KindStaging {
				dnToID[k] = string(l.Anchor)
			}
		}
	}
	out := make([]scim.Resource, len(objs))
	for i, o := range objs {
		out[i] = rt.render(o, dnToID, base)
	}
	return out, nil
}

func (rt *rtype) get(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	return rt.readTx(ctx, func(tx store.Tx) error {
		o, err := rt.byID(ctx, tx, id)
		if err != nil {
			return err
		}
		res, err := rt.renderAll(ctx, tx, []*idsync.CSObject{o}, rt.ep.baseURL(r))
		if err != nil {
			return err
		}
		out, err := project(res[0], r.URL.Query())
		if err != nil {
			return err
		}
		w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, o.Version))
		writeJSON(w, 200, out)
		return nil
	})
}

// query is a list request's parameters.
type query struct {
	filter     scim.Filter
	startIndex int
	count      int
	params     url.Values
}

func (rt *rtype) parseQuery(v url.Values) (*query, error) {
	q := &query{startIndex: 1, count: rt.ep.s.cfg.MaxResults, params: v}
	if f := v.Get("filter"); f != "" {
		flt, err := scim.ParseFilter(f)
		if err != nil {
			return nil, err
		}
		q.filter = flt
	}
	if s := v.Get("startIndex"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, scim.Errorf(400, scim.ErrInvalidValue, "startIndex %q is not an integer", s)
		}
		q.startIndex = max(n, 1)
	}
	if s := v.Get("count"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, scim.Errorf(400, scim.ErrInvalidValue, "count %q is not an integer", s)
		}
		q.count = min(max(n, 0), rt.ep.s.cfg.MaxResults)
	}
	return q, nil
}

func (rt *rtype) list(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	q, err := rt.parseQuery(r.URL.Query())
	if err != nil {
		return err
	}
	return rt.answer(ctx, w, r, q)
}

// search is POST /.search (RFC 7644 §3.4.3).
func (rt *rtype) search(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var body struct {
		Filter             string   `json:"filter"`
		StartIndex         int      `json:"startIndex"`
		Count              *int     `json:"count"`
		Attributes         []string `json:"attributes"`
		ExcludedAttributes []string `json:"excludedAttributes"`
	}
	if err := readBody(r, &body); err != nil {
		return err
	}
	v := url.Values{}
	if body.Filter != "" {
		v.Set("filter", body.Filter)
	}
	if body.StartIndex != 0 {
		v.Set("startIndex", strconv.Itoa(body.StartIndex))
	}
	if body.Count != nil {
		v.Set("count", strconv.Itoa(*body.Count))
	}
	if len(body.Attributes) > 0 {
		v.Set("attributes", strings.Join(body.Attributes, ","))
	}
	if len(body.ExcludedAttributes) > 0 {
		v.Set("excludedAttributes", strings.Join(body.ExcludedAttributes, ","))
	}
	q, err := rt.parseQuery(v)
	if err != nil {
		return err
	}
	return rt.answer(ctx, w, r, q)
}

func (rt *rtype) answer(ctx context.Context, w http.ResponseWriter, r *http.Request, q *query) error {
	base := rt.ep.baseURL(r)
	return rt.readTx(ctx, func(tx store.Tx) error {
		var (
			page  []scim.Resource
			total int
		)
		objs, direct, err := rt.direct(ctx, tx, q.filter)
		if err != nil {
			return err
		}
		var ids []string
		indexed := false
		if !direct {
			if ids, indexed, err = rt.plan(ctx, tx, q.filter); err != nil {
				return err
			}
		}
		switch {
		case direct:
			page, total, err = rt.fromObjects(ctx, tx, objs, q, base)
		case indexed:
			page, total, err = rt.fromIDs(ctx, tx, ids, q, base)
		case q.filter == nil:
			page, total, err = rt.listAll(ctx, tx, q, base)
		default:
			page, total, err = rt.scan(ctx, tx, q, base)
		}
		if err != nil {
			return err
		}
		lr := scim.ListResponse{Schemas: []string{scim.MsgListResponse}, TotalResults: total, StartIndex: q.startIndex,
			ItemsPerPage: len(page), Resources: make([]scim.Resource, 0, len(page))}
		for _, res := range page {
			p, err := project(res, q.params)
			if err != nil {
				return err
			}
			lr.Resources = append(lr.Resources, p)
		}
		writeJSON(w, 200, lr)
		return nil
	})
}

// direct answers the commonest query, one eq on id or on an indexed
// attribute (a provisioning service's lookup by userName or externalId),
// with a single store query that returns the objects.
func (rt *rtype) direct(ctx context.Context, tx store.Tx, f scim.Filter) ([]*idsync.CSObject, bool, error) {
	x, ok := f.(scim.Compare)
	if !ok || x.Op != "eq" {
		return nil, false, nil
	}
	val, ok := x.Value.(string)
	if !ok || val == "" {
		return nil, false, nil
	}
	if x.Path.URN == "" && x.Path.Is("id", "") {
		m, err := tx.CSByAnchors(ctx, rt.ep.cn, []idsync.Anchor{idsync.Anchor(val)})
		if err != nil {
			return nil, false, err
		}
		var out []*idsync.CSObject
		for _, o := range m {
			out = append(out, o)
		}
		return out, true, nil
	}
	attrs := rt.indexAttrs(x.Path)
	if len(attrs) != 1 {
		return nil, false, nil
	}
	// The index compares case-insensitively; the filter, evaluated on
	// each object found, applies caseExact. Indexed: an index another
	// process dropped is an error (readTx declares it again), not a scan
	// of every object.
	objs, err := tx.ListCS(ctx, store.CSFilter{Connector: rt.ep.cn, ObjectType: rt.objectType, Attr: attrs[0], Value: val, Indexed: true})
	if err != nil {
		return nil, false, err
	}
	return objs, true, nil
}

// plan finds the candidates of a filter by the value indexes: eq on id,
// on a mapped simple attribute, or on a multi-valued one's values, and
// and/or of those. indexed is false when the filter needs a scan.
func (rt *rtype) plan(ctx context.Context, tx store.Tx, f scim.Filter) (ids []string, indexed bool, err error) {
	switch x := f.(type) {
	case scim.Compare:
		if x.Op != "eq" {
			return nil, false, nil
		}
		var val string
		switch v := x.Value.(type) {
		case string:
			val = v
		case float64:
			val = strconv.FormatFloat(v, 'f', -1, 64)
		default:
			return nil, false, nil
		}
		if x.Path.URN == "" && x.Path.Is("id", "") {
			m, err := tx.CSByAnchors(ctx, rt.ep.cn, []idsync.Anchor{idsync.Anchor(val)})
			if err != nil {
				return nil, false, err
			}
			for _, o := range m {
				ids = append(ids, o.ID)
			}
			return ids, true, nil
		}
		attrs := rt.indexAttrs(x.Path)
		if len(attrs) == 0 {
			return nil, false, nil
		}
		exact := scim.DefaultCaseExact(x.Path)
		for _, a := range attrs {
			found, err := tx.FindCS(ctx, rt.ep.cn, a, []string{val}, exact)
			if err != nil {
				return nil, false, err
			}
			for _, l := range found {
				ids = append(ids, l...)
			}
		}
		return ids, true, nil
	case scim.And:
		l, lok, err := rt.plan(ctx, tx, x.L)
		if err != nil {
			return nil, false, err
		}
		r, rok, err := rt.plan(ctx, tx, x.R)
		if err != nil {
			return nil, false, err
		}
		switch {
		case lok && rok:
			return intersect(l, r), true, nil
		case lok:
			return l, true, nil
		case rok:
			return r, true, nil
		}
	case scim.Or:
		l, lok, err := rt.plan(ctx, tx, x.L)
		if err != nil || !lok {
			return nil, false, err
		}
		r, rok, err := rt.plan(ctx, tx, x.R)
		if err != nil || !rok {
			return nil, false, err
		}
		return append(l, r...), true, nil
	}
	return nil, false, nil
}

// indexAttrs returns the connector attributes holding the values of
// SCIM path p.
func (rt *rtype) indexAttrs(p scim.AttrPath) []string {
	if m := rt.byPath[strings.ToLower(p.String())]; m != nil && m.kind == kindSimple {
		return []string{m.attr}
	}
	var out []string
	for _, m := range rt.maps {
		if (m.kind == kindMulti || m.kind == kindFiltered) && strings.EqualFold(m.path.Attr.Name, p.Name) &&
			strings.EqualFold(m.path.Attr.URN, p.URN) && (p.Sub == "" || strings.EqualFold(p.Sub, "value")) &&
			(m.kind == kindMulti || strings.EqualFold(m.path.Sub, "value")) {
			out = append(out, m.attr)
		}
	}
	return out
}

func intersect(a, b []string) []string {
	set := make(map[string]bool, len(b))
	for _, x := range b {
		set[x] = true
	}
	var out []string
	for _, x := range a {
		if set[x] {
			out = append(out, x)
		}
	}
	return out
}

func (rt *rtype) fromIDs(ctx context.Context, tx store.Tx, ids []string, q *query, base string) ([]scim.Resource, int, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	objs, err := tx.CSByIDs(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	list := make([]*idsync.CSObject, 0, len(ids))
	for _, id := range ids {
		if o := objs[id]; o != nil {
			list = append(list, o)
		}
	}
	return rt.fromObjects(ctx, tx, list, q, base)
}

// fromObjects renders the live objects of objs (in ID order), keeps those
// the filter matches and returns the requested window and the total.
func (rt *rtype) fromObjects(ctx context.Context, tx store.Tx, objs []*idsync.CSObject, q *query, base string) ([]scim.Resource, int, error) {
	slices.SortFunc(objs, func(a, b *idsync.CSObject) int { return strings.Compare(a.ID, b.ID) })
	list := objs[:0:0]
	for _, o := range objs {
		if rt.live(o) {
			list = append(list, o)
		}
	}
	res, err := rt.renderAll(ctx, tx, list, base)
	if err != nil {
		return nil, 0, err
	}
	matched := res[:0]
	for _, r := range res {
		if q.filter == nil || q.filter.Match(r, nil) {
			matched = append(matched, r)
		}
	}
	return window(matched, q), len(matched), nil
}

func window(all []scim.Resource, q *query) []scim.Resource {
	from := q.startIndex - 1
	if from >= len(all) {
		return nil
	}
	return all[from:min(len(all), from+q.count)]
}

// listAll answers an unfiltered list (a client's full import) in ID
// order. It remembers where each page it served ended, so that the next
// page (startIndex+count) starts there instead of reading every object
// before it; totalResults counts the staging objects of the type.
func (rt *rtype) listAll(ctx context.Context, tx store.Tx, q *query, base string) ([]scim.Resource, int, error) {
	staging := idsync.KindStaging
	total, err := tx.CountCS(ctx, store.CSFilter{Connector: rt.ep.cn, ObjectType: rt.objectType, Kind: &staging})
	if err != nil {
		return nil, 0, err
	}
	rt.curMu.Lock()
	after, known := rt.cursors[q.startIndex]
	rt.curMu.Unlock()
	skip := 0
	if !known {
		after, skip = "", q.startIndex-1
	}
	var page []*idsync.CSObject
	for len(page) < q.count {
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: rt.ep.cn, ObjectType: rt.objectType, Kind: &staging, After: after, Limit: scanPage})
		if err != nil {
			return nil, 0, err
		}
		if len(objs) == 0 {
			break
		}
		for _, o := range objs {
			if len(page) == q.count {
				break
			}
			after = o.ID
			if !rt.live(o) {
				continue
			}
			if skip > 0 {
				skip--
				continue
			}
			page = append(page, o)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
	}
	if len(page) > 0 {
		rt.curMu.Lock()
		if len(rt.cursors) >= maxCursors {
			clear(rt.cursors)
		}
		rt.cursors[q.startIndex+len(page)] = after
		rt.curMu.Unlock()
	}
	res, err := rt.renderAll(ctx, tx, page, base)
	return res, total, err
}

// maxCursors bounds the remembered page ends of unfiltered lists.
const maxCursors = 4096

// scanPage is how many objects a scan reads at a time.
const scanPage = 500

// scan answers a query that no index serves by reading every object of
// the type in ID order.
func (rt *rtype) scan(ctx context.Context, tx store.Tx, q *query, base string) ([]scim.Resource, int, error) {
	var page []scim.Resource
	total := 0
	after := ""
	for {
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: rt.ep.cn, ObjectType: rt.objectType, After: after, Limit: scanPage})
		if err != nil {
			return nil, 0, err
		}
		if len(objs) == 0 {
			return page, total, nil
		}
		after = objs[len(objs)-1].ID
		live := objs[:0]
		for _, o := range objs {
			if rt.live(o) {
				live = append(live, o)
			}
		}
		if q.filter == nil {
			// No filter: render only the page's objects.
			for _, o := range live {
				total++
				if total >= q.startIndex && len(page) < q.count {
					res, err := rt.renderAll(ctx, tx, []*idsync.CSObject{o}, base)
					if err != nil {
						return nil, 0, err
					}
					page = append(page, res[0])
				}
			}
			continue
		}
		res, err := rt.renderAll(ctx, tx, live, base)
		if err != nil {
			return nil, 0, err
		}
		for _, r := range res {
			if q.filter.Match(r, nil) {
				total++
				if total >= q.startIndex && len(page) < q.count {
					page = append(page, r)
				}
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, err
		}
	}
}

// project applies the attributes and excludedAttributes parameters
// (RFC 7644 §3.4.2.5) at the top level: id and schemas are always
// returned.
func project(r scim.Resource, v url.Values) (scim.Resource, error) {
	inc, exc := splitList(v.Get("attributes")), splitList(v.Get("excludedAttributes"))
	if len(inc) == 0 && len(exc) == 0 {
		return r, nil
	}
	top := func(p string) string {
		ap, err := scim.ParseAttrPath(p)
		if err != nil {
			return strings.ToLower(p)
		}
		if ap.URN != "" && !strings.HasPrefix(strings.ToLower(ap.URN), "urn:ietf:params:scim:schemas:core:") {
			return strings.ToLower(ap.URN)
		}
		return strings.ToLower(ap.Name)
	}
	out := scim.Resource{}
	keep := map[string]bool{}
	for _, p := range inc {
		keep[top(p)] = true
	}
	drop := map[string]bool{}
	for _, p := range exc {
		drop[top(p)] = true
	}
	for k, val := range r {
		lk := strings.ToLower(k)
		switch {
		case lk == "id" || lk == "schemas":
		case len(inc) > 0 && !keep[lk]:
			continue
		case drop[lk]:
			continue
		}
		out[k] = val
	}
	return out, nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// idToDN resolves member and manager ids (anchors) to DNs.
func (rt *rtype) idToDN(ctx context.Context) func([]string) (map[string]string, error) {
	return func(ids []string) (map[string]string, error) {
		out := map[string]string{}
		err := rt.readTx(ctx, func(tx store.Tx) error {
			as := make([]idsync.Anchor, len(ids))
			for i, id := range ids {
				as[i] = idsync.Anchor(id)
			}
			m, err := tx.CSByAnchors(ctx, rt.ep.cn, as)
			if err != nil {
				return err
			}
			for a, o := range m {
				if o.Kind == idsync.KindStaging && !o.Obsolete && o.PendingImport != idsync.ImportDelete {
					out[string(a)] = o.DN
				}
			}
			return nil
		})
		return out, err
	}
}

// checkRequired checks the attribute a resource type requires.
func (rt *rtype) checkRequired(res scim.Resource) error {
	need := "userName"
	if rt.name == "Group" {
		need = "displayName"
	}
	v, _, _ := scim.Lookup(res, need)
	if s, ok := v.(string); !ok || strings.TrimSpace(s) == "" {
		return scim.Errorf(400, scim.ErrInvalidValue, "%s is required", need)
	}
	return nil
}

// checkUnique refuses a userName another user holds (case-insensitively).
func (rt *rtype) checkUnique(ctx context.Context, res scim.Resource, self string) error {
	if rt.name != "User" {
		return nil
	}
	m := rt.byPath["username"]
	v, _, _ := scim.Lookup(res, "userName")
	name, _ := v.(string)
	if m == nil || name == "" {
		return nil
	}
	return rt.readTx(ctx, func(tx store.Tx) error {
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: rt.ep.cn, ObjectType: rt.objectType, Attr: m.attr, Value: name, Indexed: true})
		if err != nil {
			return err
		}
		for _, o := range objs {
			if rt.live(o) && string(o.Anchor) != self {
				return scim.Errorf(409, scim.ErrUniqueness, "userName %q is already taken", name)
			}
		}
		return nil
	})
}

func (rt *rtype) create(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	var res scim.Resource
	if err := readBody(r, &res); err != nil {
		return err
	}
	if err := rt.checkRequired(res); err != nil {
		return err
	}
	o, err := rt.locked(func() (*idsync.CSObject, error) { return rt.createObject(ctx, res) })
	if err != nil {
		return err
	}
	return rt.respond(ctx, w, r, 201, o)
}

// locked runs a write of the endpoint (a uniqueness check and the create
// it allows, a read-modify-write) holding its write lock; reading the
// request and writing the answer stay outside.
func (rt *rtype) locked(f func() (*idsync.CSObject, error)) (*idsync.CSObject, error) {
	rt.ep.writes.Lock()
	defer rt.ep.writes.Unlock()
	return f()
}

// createObject checks the uniqueness of res and exports its creation.
// Call with the endpoint's write lock held.
func (rt *rtype) createObject(ctx context.Context, res scim.Resource) (*idsync.CSObject, error) {
	if err := rt.checkUnique(ctx, res, ""); err != nil {
		return nil, err
	}
	attrs, err := rt.extract(res, rt.idToDN(ctx))
	if err != nil {
		return nil, err
	}
	dn := ""
	if rt.dn != "" {
		if dn, err = expandDN(rt.dn, attrs); err != nil {
			return nil, scim.Errorf(400, scim.ErrInvalidValue, "%v", err)
		}
	}
	return rt.ep.h.Export(ctx, idsync.Change{Op: idsync.OpAdd, ObjectType: rt.objectType, DN: dn, Mods: idsync.ModsFromAttrs(attrs)})
}

// respond writes the staged object o.
func (rt *rtype) respond(ctx context.Context, w http.ResponseWriter, r *http.Request, status int, o *idsync.CSObject) error {
	if o == nil {
		return errors.New("host: the export staged no object")
	}
	write := func(tx store.Tx) error {
		var res []scim.Resource
		if tx == nil {
			res = []scim.Resource{rt.render(o, nil, rt.ep.baseURL(r))}
		} else {
			var err error
			if res, err = rt.renderAll(ctx, tx, []*idsync.CSObject{o}, rt.ep.baseURL(r)); err != nil {
				return err
			}
		}
		if status == 201 {
			w.Header().Set("Location", res[0]["meta"].(map[string]any)["location"].(string))
		}
		w.Header().Set("ETag", fmt.Sprintf(`W/"%d"`, o.Version))
		writeJSON(w, status, res[0])
		return nil
	}
	if len(rt.refDNs(o, nil)) == 0 {
		return write(nil) // nothing to resolve: no transaction needed
	}
	return rt.readTx(ctx, write)
}

// current reads the object with id and its rendering.
func (rt *rtype) current(ctx context.Context, r *http.Request, id string) (*idsync.CSObject, scim.Resource, error) {
	var o *idsync.CSObject
	var res scim.Resource
	err := rt.readTx(ctx, func(tx store.Tx) error {
		var err error
		if o, err = rt.byID(ctx, tx, id); err != nil {
			return err
		}
		rs, err := rt.renderAll(ctx, tx, []*idsync.CSObject{o}, rt.ep.baseURL(r))
		if err != nil {
			return err
		}
		res = rs[0]
		return nil
	})
	return o, res, err
}

func (rt *rtype) replace(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	var res scim.Resource
	if err := readBody(r, &res); err != nil {
		return err
	}
	o, err := rt.locked(func() (*idsync.CSObject, error) {
		o, _, err := rt.current(ctx, r, id)
		if err != nil {
			return nil, err
		}
		if v, _, ok := scim.Lookup(res, "id"); ok && v != nil && v != id {
			return nil, scim.Errorf(400, scim.ErrMutability, "id is %q, not %v: it cannot change", id, v)
		}
		if err := rt.checkRequired(res); err != nil {
			return nil, err
		}
		return rt.update(ctx, o, res)
	})
	if err != nil {
		return err
	}
	return rt.respond(ctx, w, r, 200, o)
}

func (rt *rtype) patch(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	var req scim.PatchRequest
	if err := readBody(r, &req); err != nil {
		return err
	}
	if len(req.Schemas) > 0 && !slices.Contains(req.Schemas, scim.MsgPatchOp) {
		return scim.Errorf(400, scim.ErrInvalidSyntax, "a PATCH body must have schema %s", scim.MsgPatchOp)
	}
	if len(req.Operations) == 0 {
		return scim.Errorf(400, scim.ErrInvalidSyntax, "a PATCH body needs Operations")
	}
	o, err := rt.locked(func() (*idsync.CSObject, error) {
		o, cur, err := rt.current(ctx, r, id)
		if err != nil {
			return nil, err
		}
		if err := scim.Patch(cur, req.Operations); err != nil {
			return nil, err
		}
		if err := rt.checkRequired(cur); err != nil {
			return nil, scim.Errorf(400, scim.ErrMutability, "%s", err.(*scim.Error).Detail)
		}
		return rt.update(ctx, o, cur)
	})
	if err != nil {
		return err
	}
	return rt.respond(ctx, w, r, 200, o)
}

// update exports the difference between o and the resource res and
// returns the object as staged. Call with the endpoint's write lock held.
func (rt *rtype) update(ctx context.Context, o *idsync.CSObject, res scim.Resource) (*idsync.CSObject, error) {
	if err := rt.checkUnique(ctx, res, string(o.Anchor)); err != nil {
		return nil, err
	}
	attrs, err := rt.extract(res, rt.idToDN(ctx))
	if err != nil {
		return nil, err
	}
	mods := rt.diff(o.Attrs, attrs)
	if len(mods) == 0 {
		return o, nil
	}
	n, err := rt.ep.h.Export(ctx, idsync.Change{Op: idsync.OpUpdate, ObjectType: o.ObjectType, Anchor: o.Anchor, DN: o.DN, Mods: mods})
	if err != nil {
		return nil, err
	}
	if n == nil {
		n = o
	}
	return n, nil
}

// diff returns the modifications that turn the mapped attributes of old
// into those of new: value-level adds and deletes for multi-valued
// references when the connector takes them, replaces otherwise.
func (rt *rtype) diff(old, new idsync.Attrs) []idsync.AttrMod {
	et := rt.ep.h.Connector().Capabilities.ExportType
	valueLevel := et == connector.ExportAttributeUpdate || et == connector.ExportMultivaluedReferenceAttributeUpdate
	var mods []idsync.AttrMod
	names := make([]string, 0, len(rt.maps))
	kinds := map[string]mapKind{}
	for _, m := range rt.maps {
		names = append(names, m.attr)
		kinds[m.attr] = m.kind
	}
	sort.Strings(names)
	for _, n := range names {
		ov, nv := old[n], new[n]
		if sameValues(ov, nv) {
			continue
		}
		if valueLevel && kinds[n] == kindMembers && len(ov) > 0 {
			var add, del []idsync.Value
			for _, v := range nv {
				if !containsRef(ov, v) {
					add = append(add, v)
				}
			}
			for _, v := range ov {
				if !containsRef(nv, v) {
					del = append(del, v)
				}
			}
			if len(add) > 0 {
				mods = append(mods, idsync.AttrMod{Name: n, Op: idsync.AttrAdd, Values: add})
			}
			if len(del) > 0 {
				mods = append(mods, idsync.AttrMod{Name: n, Op: idsync.AttrDelete, Values: del})
			}
			continue
		}
		if len(nv) == 0 {
			mods = append(mods, idsync.AttrMod{Name: n, Op: idsync.AttrClear})
		} else {
			mods = append(mods, idsync.AttrMod{Name: n, Op: idsync.AttrReplace, Values: nv})
		}
	}
	return mods
}

// sameValues compares in text form: the connector may store a boolean a
// client sent as text, or the other way round.
func sameValues(a, b []idsync.Value) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Type == idsync.TypeReference || b[i].Type == idsync.TypeReference {
			if !strings.EqualFold(a[i].String(), b[i].String()) {
				return false
			}
			continue
		}
		if a[i].String() != b[i].String() {
			return false
		}
	}
	return true
}

func (rt *rtype) delete(ctx context.Context, w http.ResponseWriter, r *http.Request, id string) error {
	rt.ep.writes.Lock()
	defer rt.ep.writes.Unlock()
	o, _, err := rt.current(ctx, r, id)
	if err != nil {
		return err
	}
	if _, err := rt.ep.h.Export(ctx, idsync.Change{Op: idsync.OpDelete, ObjectType: o.ObjectType, Anchor: o.Anchor, DN: o.DN}); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
