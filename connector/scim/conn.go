package scim

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/scim"
)

// Open connects lazily: the first operation discovers the server.
func (c *Config) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	if env.Logger == nil {
		env.Logger = discardLogger()
	}
	cl, err := newClient(c, env)
	if err != nil {
		return nil, err
	}
	return &conn{cfg: c, cl: cl}, nil
}

type conn struct {
	cfg *Config
	cl  *client

	mu    sync.Mutex
	types []*resType
	sp    *scim.ServiceProviderConfig
}

var (
	_ connector.Pinger           = (*conn)(nil)
	_ connector.SchemaDiscoverer = (*conn)(nil)
	_ connector.Importer         = (*conn)(nil)
	_ connector.Exporter         = (*conn)(nil)
)

func (c *conn) Close() error {
	c.cl.hc.CloseIdleConnections()
	return nil
}

// Ping reads /ServiceProviderConfig and the schemas.
func (c *conn) Ping(ctx context.Context) error { return c.discover(ctx) }

// Schema returns one class per resource type (User, Group, and custom
// types), with the attributes /Schemas declares, flattened.
func (c *conn) Schema(ctx context.Context) (*idsync.Schema, error) {
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	s := &idsync.Schema{}
	for _, t := range c.types {
		s.Classes = append(s.Classes, t.class())
	}
	return s, nil
}

// Import lists every resource of every resource type in pages
// (startIndex/count, RFC 7644 §3.4.2.4).
func (c *conn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	count := c.cfg.pageSize()
	if opts.PageSize > 0 && opts.PageSize < count {
		count = opts.PageSize
	}
	for _, t := range c.types {
		start := 1
		for {
			var lr struct {
				TotalResults int             `json:"totalResults"`
				Resources    []scim.Resource `json:"Resources"`
			}
			path := fmt.Sprintf("%s?startIndex=%d&count=%d", t.endpoint, start, count)
			if _, _, err := c.cl.do(ctx, "GET", path, nil, &lr); err != nil {
				return nil, fmt.Errorf("scim: list %s: %w", t.endpoint, err)
			}
			for _, r := range lr.Resources {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				if err := emit(t.entry(r, c.cl.base)); err != nil {
					return nil, err
				}
			}
			start += len(lr.Resources)
			if len(lr.Resources) == 0 || start > lr.TotalResults {
				break
			}
		}
	}
	return nil, nil
}

// entry converts a resource to an Entry: anchor and DN are its id.
func (t *resType) entry(r scim.Resource, base string) idsync.Entry {
	id, _ := r["id"].(string)
	e := idsync.Entry{ObjectType: t.name, Anchor: idsync.Anchor(id), DN: id, Attrs: idsync.Attrs{}, Source: base + t.endpoint + "/" + id}
	if id == "" {
		e.Err = errors.New("the resource has no id")
		return e
	}
	for _, m := range t.attrs {
		if m.writeOnly {
			continue
		}
		raw, ok := lookup(r, m)
		if !ok || raw == nil {
			continue
		}
		var vs []idsync.Value
		var err error
		switch m.kind {
		case akSimple:
			for _, x := range asList(raw) {
				v, cerr := toValue(x, m.typ)
				if cerr != nil {
					err = cerr
					break
				}
				vs = append(vs, v)
			}
		case akValues, akRefs, akRef:
			for _, x := range primaryFirst(raw) {
				if m.kind != akValues {
					vs = append(vs, idsync.Ref(fmt.Sprint(x)))
					continue
				}
				v, cerr := toValue(x, m.typ)
				if cerr != nil {
					err = cerr
					break
				}
				vs = append(vs, v)
			}
		case akJSON:
			for _, x := range asList(raw) {
				b, _ := json.Marshal(x)
				vs = append(vs, idsync.String(string(b)))
			}
		}
		if err != nil {
			e.Err = fmt.Errorf("attribute %s: %w", m.name, err)
			return e
		}
		if len(vs) > 0 {
			e.Attrs[m.name] = vs
		}
	}
	return e
}

// lookup finds the raw JSON of attribute m in r.
func lookup(r scim.Resource, m *attrMap) (any, bool) {
	c := r
	if m.urn != "" {
		ext, _, ok := scim.Lookup(r, m.urn)
		em, isMap := ext.(map[string]any)
		if !ok || !isMap {
			return nil, false
		}
		c = em
	}
	v, _, ok := scim.Lookup(c, m.top)
	if !ok || m.sub == "" {
		return v, ok
	}
	vm, isMap := v.(map[string]any)
	if !isMap {
		return nil, false
	}
	sv, _, ok := scim.Lookup(vm, m.sub)
	return sv, ok
}

func asList(v any) []any {
	if l, ok := v.([]any); ok {
		return l
	}
	return []any{v}
}

// primaryFirst returns the "value"s of complex values, the primary first.
func primaryFirst(raw any) []any {
	var first, rest []any
	for _, el := range asList(raw) {
		m, ok := el.(map[string]any)
		if !ok {
			rest = append(rest, el)
			continue
		}
		v, _, ok := scim.Lookup(m, "value")
		if !ok || v == nil {
			continue
		}
		if p, _, _ := scim.Lookup(m, "primary"); p == true && first == nil {
			first = []any{v}
		} else {
			rest = append(rest, v)
		}
	}
	return append(first, rest...)
}

// toValue converts a JSON value to an idsync value of type t.
func toValue(x any, t idsync.AttrType) (idsync.Value, error) {
	switch v := x.(type) {
	case string:
		switch t {
		case idsync.TypeBinary:
			b, err := base64.StdEncoding.DecodeString(v)
			if err != nil {
				return idsync.Value{}, fmt.Errorf("value %q is not Base64", v)
			}
			return idsync.Binary(b), nil
		case idsync.TypeString:
			return idsync.String(v), nil
		}
		return idsync.String(v).Convert(t)
	case bool:
		if t == idsync.TypeBoolean {
			return idsync.Bool(v), nil
		}
		return idsync.Bool(v).Convert(t)
	case float64:
		if t == idsync.TypeInteger || t == idsync.TypeDateTime {
			if v != math.Trunc(v) {
				return idsync.Value{}, fmt.Errorf("value %v is not an integer", v)
			}
			return idsync.Int(int64(v)), nil
		}
		return idsync.String(strconv.FormatFloat(v, 'f', -1, 64)).Convert(t)
	}
	return idsync.Value{}, fmt.Errorf("unexpected JSON value %v", x)
}

// fromValue converts an idsync value to JSON for attribute m.
func fromValue(v idsync.Value, typ idsync.AttrType) any {
	switch v.Type {
	case idsync.TypeBoolean:
		if typ == idsync.TypeString {
			return v.String()
		}
		return v.Boolean()
	case idsync.TypeInteger:
		if typ == idsync.TypeString {
			return v.String()
		}
		return v.Int
	case idsync.TypeDateTime:
		return v.Time().Format(time.RFC3339)
	case idsync.TypeBinary:
		return base64.StdEncoding.EncodeToString(v.Bin)
	}
	if typ == idsync.TypeBoolean || typ == idsync.TypeInteger {
		if c, err := v.Convert(typ); err == nil {
			return fromValue(c, typ)
		}
	}
	return v.String()
}

// element is the JSON of one value of a complex attribute.
func (m *attrMap) element(v idsync.Value, primary bool) (any, error) {
	switch m.kind {
	case akRef, akRefs:
		return map[string]any{"value": v.String()}, nil
	case akJSON:
		var x any
		if err := json.Unmarshal([]byte(v.String()), &x); err != nil {
			return nil, fmt.Errorf("attribute %s: value is not JSON: %v", m.name, err)
		}
		return x, nil
	case akValues:
		el := map[string]any{"value": fromValue(v, m.typ)}
		if m.valueType != "" {
			el["type"] = m.valueType
		}
		if primary {
			el["primary"] = true
		}
		return el, nil
	}
	return fromValue(v, m.typ), nil
}

// json returns the JSON value of attribute m holding vs.
func (m *attrMap) json(vs []idsync.Value) (any, error) {
	if !m.multi && m.kind != akValues {
		if len(vs) > 1 {
			return nil, fmt.Errorf("attribute %s is single-valued but has %d values", m.name, len(vs))
		}
		return m.element(vs[0], false)
	}
	l := make([]any, 0, len(vs))
	for i, v := range vs {
		el, err := m.element(v, i == 0)
		if err != nil {
			return nil, err
		}
		l = append(l, el)
	}
	return l, nil
}

// set puts the JSON value of m into r.
func (t *resType) set(r scim.Resource, m *attrMap, val any) {
	c := r
	if m.urn != "" {
		ext, _ := r[m.urn].(map[string]any)
		if ext == nil {
			ext = map[string]any{}
			r[m.urn] = ext
			schemas, _ := r["schemas"].([]any)
			r["schemas"] = append(schemas, m.urn)
		}
		c = ext
	}
	if m.sub == "" {
		c[m.top] = val
		return
	}
	sub, _ := c[m.top].(map[string]any)
	if sub == nil {
		sub = map[string]any{}
		c[m.top] = sub
	}
	sub[m.sub] = val
}

// attr returns the mapping of an exported attribute, or a failed result.
func (t *resType) attr(name string) (*attrMap, *connector.ExportResult) {
	m := t.byName[strings.ToLower(name)]
	if m == nil {
		return nil, &connector.ExportResult{ErrorType: "UnknownAttribute", Err: fmt.Errorf("%s has no attribute %s", t.name, name)}
	}
	if m.readOnly {
		return nil, &connector.ExportResult{ErrorType: "ReadOnlyAttribute", Err: fmt.Errorf("%s attribute %s is read-only", t.name, name)}
	}
	return m, nil
}

// resource builds the full resource of an add or replace.
func (t *resType) resource(attrs idsync.Attrs) (scim.Resource, *connector.ExportResult) {
	r := scim.Resource{"schemas": []any{t.schema}}
	for _, n := range idsync.SortedNames(attrs) {
		vs := attrs[n]
		if len(vs) == 0 {
			continue
		}
		m, fail := t.attr(n)
		if fail != nil {
			return nil, fail
		}
		val, err := m.json(vs)
		if err != nil {
			return nil, &connector.ExportResult{ErrorType: "InvalidValue", Err: err}
		}
		t.set(r, m, val)
	}
	return r, nil
}

// patchOps turns attribute modifications into PATCH operations
// (RFC 7644 §3.5.2): replace or remove of an attribute, add of values,
// and remove of values by a value filter.
func (t *resType) patchOps(mods []idsync.AttrMod) ([]scim.PatchOp, *connector.ExportResult) {
	var ops []scim.PatchOp
	for _, mod := range mods {
		m, fail := t.attr(mod.Name)
		if fail != nil {
			return nil, fail
		}
		p := m.path()
		switch {
		case mod.Op == idsync.AttrClear || mod.Op == idsync.AttrReplace && len(mod.Values) == 0:
			ops = append(ops, scim.PatchOp{Op: "remove", Path: p})
		case mod.Op == idsync.AttrReplace:
			val, err := m.json(mod.Values)
			if err != nil {
				return nil, &connector.ExportResult{ErrorType: "InvalidValue", Err: err}
			}
			ops = append(ops, scim.PatchOp{Op: "replace", Path: p, Value: val})
		case mod.Op == idsync.AttrAdd && len(mod.Values) > 0:
			if !m.multi && m.kind != akValues {
				val, err := m.json(mod.Values)
				if err != nil {
					return nil, &connector.ExportResult{ErrorType: "InvalidValue", Err: err}
				}
				ops = append(ops, scim.PatchOp{Op: "replace", Path: p, Value: val})
				continue
			}
			l := make([]any, 0, len(mod.Values))
			for _, v := range mod.Values {
				el, err := m.element(v, false)
				if err != nil {
					return nil, &connector.ExportResult{ErrorType: "InvalidValue", Err: err}
				}
				l = append(l, el)
			}
			ops = append(ops, scim.PatchOp{Op: "add", Path: p, Value: l})
		case mod.Op == idsync.AttrDelete:
			for _, v := range mod.Values {
				switch {
				case m.kind == akValues || m.kind == akRefs:
					b, _ := json.Marshal(fromValue(v, m.typ))
					ops = append(ops, scim.PatchOp{Op: "remove", Path: fmt.Sprintf("%s[value eq %s]", p, b)})
				case m.multi && m.kind == akSimple && m.sub == "":
					// A multi-valued simple attribute has no value filter:
					// remove the value given (RFC 7644 leaves this to the server).
					ops = append(ops, scim.PatchOp{Op: "remove", Path: p, Value: []any{fromValue(v, m.typ)}})
				default:
					ops = append(ops, scim.PatchOp{Op: "remove", Path: p})
				}
			}
		}
	}
	return ops, nil
}

// OpenExport starts an export session.
func (c *conn) OpenExport(ctx context.Context, opts connector.ExportOptions) (connector.ExportSession, error) {
	if err := c.discover(ctx); err != nil {
		return nil, err
	}
	return &session{c: c}, nil
}

type session struct{ c *conn }

func (s *session) Close(ctx context.Context) error { return nil }

// ExportPage sends the changes of a page, Config.Concurrency at a time:
// first every change of a non-Group type, then the Group changes (whose
// members may be users of the same page). A connection failure (after
// the retries) before any change of the page succeeded fails the page
// (the run stops as stopped-connectivity, nothing lost); otherwise the
// changes not sent fail one by one with error type "connectivity", so
// that the results of those sent are kept.
func (s *session) ExportPage(ctx context.Context, changes []idsync.Change) ([]connector.ExportResult, error) {
	out := make([]connector.ExportResult, len(changes))
	errs := make([]error, len(changes))
	var (
		mu   sync.Mutex
		down error
		sent bool
	)
	run := func(idx []int) {
		sem := make(chan struct{}, s.c.cfg.concurrency())
		var wg sync.WaitGroup
		for _, i := range idx {
			mu.Lock()
			stop := down != nil
			mu.Unlock()
			if stop {
				break
			}
			sem <- struct{}{}
			wg.Add(1)
			go func(i int) {
				defer func() { <-sem; wg.Done() }()
				res, err := s.c.export(ctx, changes[i])
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs[i] = err
					if down == nil {
						down = err
					}
					return
				}
				res.ID = changes[i].ID
				out[i] = res
				if res.Err == nil {
					sent = true
				}
			}(i)
		}
		wg.Wait()
	}
	var first, groups []int
	for i, ch := range changes {
		if strings.EqualFold(ch.ObjectType, "Group") {
			groups = append(groups, i)
		} else {
			first = append(first, i)
		}
	}
	run(first)
	run(groups)
	if down != nil {
		if !sent || ctx.Err() != nil {
			return nil, down
		}
		for i, ch := range changes {
			if out[i].ID == "" {
				err := errs[i]
				if err == nil {
					err = fmt.Errorf("not sent: %w", down)
				}
				out[i] = connector.ExportResult{ID: ch.ID, ErrorType: "connectivity", Err: err}
			}
		}
	}
	return out, nil
}

// export sends one change. A returned error is a connectivity failure;
// a refusal of the server is in the result.
func (c *conn) export(ctx context.Context, ch idsync.Change) (connector.ExportResult, error) {
	t, ok := c.typeOf(ch.ObjectType)
	if !ok {
		return connector.ExportResult{ErrorType: "UnknownObjectType", Err: fmt.Errorf("no SCIM resource type %q", ch.ObjectType)}, nil
	}
	id := string(ch.Anchor)
	if id == "" && ch.Op != idsync.OpAdd {
		id = ch.DN
	}
	at := t.endpoint + "/" + url.PathEscape(id)
	var (
		got scim.Resource
		err error
	)
	switch ch.Op {
	case idsync.OpAdd, idsync.OpReplace:
		if ch.NewDN != "" {
			return connector.ExportResult{ErrorType: "Unsupported", Err: errors.New("a SCIM resource cannot be renamed: its id is fixed")}, nil
		}
		r, fail := t.resource(idsync.Attrs{}.Apply(ch.Mods))
		if fail != nil {
			return *fail, nil
		}
		if ch.Op == idsync.OpAdd {
			var retried bool
			_, _, err = c.cl.do(withRetried(ctx, &retried), "POST", t.endpoint, r, &got)
			var se *scim.Error
			if retried && errors.As(err, &se) && se.Status == 409 {
				// A create retried after a failure that hid its success
				// (a timeout, a 502) meets itself: adopt the object it made.
				if id, ok := c.findCreated(ctx, t, r); ok {
					c.cl.log.Warn("scim: a retried create had already succeeded; using the object it created", "type", t.name, "id", id)
					return connector.ExportResult{Anchor: idsync.Anchor(id), DN: id}, nil
				}
			}
		} else {
			r["id"] = id
			_, _, err = c.cl.do(ctx, "PUT", at, r, &got)
		}
	case idsync.OpUpdate:
		if ch.NewDN != "" && ch.NewDN != ch.DN {
			return connector.ExportResult{ErrorType: "Unsupported", Err: errors.New("a SCIM resource cannot be renamed: its id is fixed")}, nil
		}
		ops, fail := t.patchOps(ch.Mods)
		if fail != nil {
			return *fail, nil
		}
		if len(ops) == 0 {
			return connector.ExportResult{Anchor: ch.Anchor}, nil
		}
		err = c.update(ctx, at, ops, &got)
	case idsync.OpDelete:
		var st int
		st, _, err = c.cl.do(ctx, "DELETE", at, nil, nil)
		if st == 404 {
			err = nil // already gone: what the delete wanted
		}
	default:
		return connector.ExportResult{ErrorType: "Unsupported", Err: fmt.Errorf("unknown operation %s", ch.Op)}, nil
	}
	if err != nil {
		var se *scim.Error
		if errors.As(err, &se) && idsync.KindOf(err) != idsync.KindTransient {
			return refusal(t, ch, se), nil
		}
		return connector.ExportResult{}, err
	}
	res := connector.ExportResult{Anchor: ch.Anchor}
	if ch.Op == idsync.OpAdd {
		nid, _ := got["id"].(string)
		if nid == "" {
			return connector.ExportResult{ErrorType: "InvalidResponse", Err: errors.New("the server created the resource but returned no id")}, nil
		}
		res.Anchor, res.DN = idsync.Anchor(nid), nid
	}
	return res, nil
}

// findCreated looks up the resource a create made, by its key
// (userName, or a group's displayName): exactly one must match.
func (c *conn) findCreated(ctx context.Context, t *resType, r scim.Resource) (string, bool) {
	key := "userName"
	if t.name == "Group" {
		key = "displayName"
	}
	v, ok := r[key].(string)
	if !ok || v == "" {
		return "", false
	}
	b, _ := json.Marshal(v)
	var lr struct {
		Resources []scim.Resource `json:"Resources"`
	}
	q := url.Values{"filter": {key + " eq " + string(b)}}
	if _, _, err := c.cl.do(ctx, "GET", t.endpoint+"?"+q.Encode(), nil, &lr); err != nil || len(lr.Resources) != 1 {
		return "", false
	}
	id, _ := lr.Resources[0]["id"].(string)
	return id, id != ""
}

// update applies PATCH operations: by PATCH when the server supports it
// (or update is patch), else by reading the resource, applying the
// operations here and PUTting it back.
func (c *conn) update(ctx context.Context, at string, ops []scim.PatchOp, got *scim.Resource) error {
	usePatch := c.cfg.Update == "patch" || (c.cfg.Update != "put" && c.sp.Patch.Supported)
	if usePatch {
		_, _, err := c.cl.do(ctx, "PATCH", at, scim.PatchRequest{Schemas: []string{scim.MsgPatchOp}, Operations: ops}, got)
		return err
	}
	var cur scim.Resource
	if _, _, err := c.cl.do(ctx, "GET", at, nil, &cur); err != nil {
		return err
	}
	if err := scim.Patch(cur, ops); err != nil {
		return err
	}
	delete(cur, "meta")
	_, _, err := c.cl.do(ctx, "PUT", at, cur, got)
	return err
}

// refusal records a SCIM error as an export error: 409 as
// AttributeValueMustBeUnique naming the attribute.
func refusal(t *resType, ch idsync.Change, se *scim.Error) connector.ExportResult {
	switch {
	case se.Status == 409 || se.ScimType == scim.ErrUniqueness:
		attr := conflictAttr(t, ch, se.Detail)
		return connector.ExportResult{ErrorType: "AttributeValueMustBeUnique",
			Err: fmt.Errorf("attribute %s: value must be unique: %s", attr, se.Detail)}
	case se.Status == 404:
		return connector.ExportResult{ErrorType: "ObjectNotFound", Err: se}
	case se.Status == 401 || se.Status == 403:
		return connector.ExportResult{ErrorType: "PermissionDenied", Err: se}
	case se.ScimType == scim.ErrMutability:
		return connector.ExportResult{ErrorType: "ReadOnlyAttribute", Err: se}
	case se.Status == 400:
		return connector.ExportResult{ErrorType: "InvalidValue", Err: se}
	}
	return connector.ExportResult{ErrorType: "ServerError", Err: se}
}

// conflictAttr finds the attribute a uniqueness error is about: one the
// change sets and the detail names, else the resource type's natural key.
func conflictAttr(t *resType, ch idsync.Change, detail string) string {
	d := strings.ToLower(detail)
	best, bestLen := "", 0
	for _, m := range ch.Mods {
		am := t.byName[strings.ToLower(m.Name)]
		if am == nil {
			continue
		}
		for _, cand := range []string{m.Name, am.top} {
			if cand != "" && len(cand) > bestLen && containsWord(d, strings.ToLower(cand)) {
				best, bestLen = m.Name, len(cand)
			}
		}
	}
	if best != "" {
		return best
	}
	for _, key := range []string{"userName", "displayName", "externalId"} {
		for _, m := range ch.Mods {
			if strings.EqualFold(m.Name, key) {
				return m.Name
			}
		}
	}
	if t.name == "Group" {
		return "displayName"
	}
	return "userName"
}

// containsWord reports whether s holds w not as a part of a longer name
// ("name" is not in "username is taken").
func containsWord(s, w string) bool {
	for i := 0; ; {
		j := strings.Index(s[i:], w)
		if j < 0 {
			return false
		}
		j += i
		before := j == 0 || !isNameChar(s[j-1])
		after := j+len(w) == len(s) || !isNameChar(s[j+len(w)])
		if before && after {
			return true
		}
		i = j + 1
	}
}

func isNameChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c == '$'
}
