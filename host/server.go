package host

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/scim"
	"github.com/idsync/idsync/store"
)

// Options configure a Server.
type Options struct {
	Config *Config
	Engine *engine.Engine
	Store  store.Store
	// Secret resolves the token reference (config.EnvSecrets by default).
	Secret func(ref string) (string, error)
	Logger *slog.Logger
	Now    func() time.Time
}

// Server is the connector host. It is an http.Handler.
type Server struct {
	cfg   *Config
	st    store.Store
	log   *slog.Logger
	now   func() time.Time
	token []byte
	eps   []*endpoint
	eng   *engine.Engine
	idx   map[string][]string // the indexes the host declared
}

type endpoint struct {
	s      *Server
	path   string
	h      *engine.HostSession
	cn     string
	users  *rtype
	groups *rtype
	// writes serializes the writes of the endpoint: a uniqueness check
	// and the create it allows, or a read-modify-write PATCH, are atomic.
	// Reading the request body and writing the answer happen outside it.
	writes sync.Mutex
}

// New opens every exposed connector (taking its run lock) and declares
// the indexes the host looks objects up by. Close it.
func New(ctx context.Context, o Options) (*Server, error) {
	if o.Config == nil || o.Engine == nil || o.Store == nil {
		return nil, errors.New("host: Config, Engine and Store are required")
	}
	s := &Server{cfg: o.Config, st: o.Store, log: o.Logger, now: o.Now}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	secret := o.Secret
	if secret == nil {
		secret = config.EnvSecrets
	}
	tok, err := o.Config.Token.Resolve(connector.Env{Secret: secret})
	if err != nil {
		return nil, fmt.Errorf("host: token: %w", err)
	}
	if tok.Reveal() == "" {
		return nil, fmt.Errorf("host: token: %s is empty", o.Config.Token.Env)
	}
	s.token = []byte(tok.Reveal())
	idx := map[string][]string{}
	for _, epc := range o.Config.Endpoints {
		h, err := o.Engine.OpenHost(ctx, epc.Connector)
		if err != nil {
			s.Close(ctx)
			return nil, fmt.Errorf("host: open %s: %w", epc.Connector, err)
		}
		ep := &endpoint{s: s, path: epc.Path, h: h, cn: epc.Connector}
		s.eps = append(s.eps, ep)
		sch, err := h.Schema(ctx)
		if err != nil {
			s.log.Warn("host: schema discovery failed; values are sent as text", "connector", epc.Connector, "err", err)
		}
		for _, x := range []struct {
			m                      *ResourceMap
			dst                    **rtype
			name, endpoint, schema string
		}{{epc.Users, &ep.users, "User", "/Users", scim.SchemaUser}, {epc.Groups, &ep.groups, "Group", "/Groups", scim.SchemaGroup}} {
			if x.m == nil {
				continue
			}
			maps, err := compileMap(x.m)
			if err != nil {
				s.Close(ctx)
				return nil, err
			}
			rt := &rtype{ep: ep, name: x.name, endpoint: x.endpoint, schema: x.schema, objectType: x.m.ObjectType, dn: x.m.DN, maps: maps,
				types: map[string]idsync.AttrType{}, byPath: map[string]*mapping{}, cursors: map[int]string{}}
			if cl := sch.Class(x.m.ObjectType); cl != nil {
				for _, a := range cl.Attrs {
					rt.types[a.Name] = a.Type
				}
			}
			for i := range rt.maps {
				m := &rt.maps[i]
				rt.byPath[strings.ToLower(m.scimPath)] = m
				if u := m.path.Attr.URN; u != "" && !slices.Contains(rt.extensions, u) {
					rt.extensions = append(rt.extensions, u)
				}
				if m.kind != kindMembers && m.kind != kindManager {
					idx[epc.Connector] = append(idx[epc.Connector], m.attr)
				}
			}
			*x.dst = rt
		}
	}
	if err := o.Engine.DeclareHostIndexes(ctx, idx); err != nil {
		s.Close(ctx)
		return nil, err
	}
	s.eng, s.idx = o.Engine, idx
	return s, nil
}

// Close closes the connectors and releases their locks.
func (s *Server) Close(ctx context.Context) error {
	var errs []error
	for _, ep := range s.eps {
		if err := ep.h.Close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	s.eps = nil
	return errors.Join(errs...)
}

// Refresh refreshes every connector space once (delta import, or full).
func (s *Server) Refresh(ctx context.Context) error {
	var errs []error
	for _, ep := range s.eps {
		res, err := ep.h.Refresh(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("refresh %s: %w", ep.cn, err))
			continue
		}
		s.log.Info("host: refreshed", "connector", ep.cn, "run", res.ID, "status", res.Status)
		if !strings.HasPrefix(string(res.Status), "success") && !strings.HasPrefix(string(res.Status), "completed") {
			errs = append(errs, fmt.Errorf("refresh %s: run %s ended %s", ep.cn, res.ID, res.Status))
		}
	}
	return errors.Join(errs...)
}

// Serve refreshes every connector space, then answers on l until ctx is
// done, refreshing every Config.Refresh.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	if err := s.Refresh(ctx); err != nil {
		return err
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second, BaseContext: func(net.Listener) context.Context { return ctx }}
	done := make(chan struct{})
	go func() {
		defer close(done)
		var tick <-chan time.Time
		if s.cfg.Refresh > 0 {
			t := time.NewTicker(s.cfg.Refresh)
			defer t.Stop()
			tick = t.C
		}
		beat := time.NewTicker(20 * time.Second)
		defer beat.Stop()
		for {
			select {
			case <-ctx.Done():
				sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
				srv.Shutdown(sctx)
				cancel()
				return
			case <-tick:
				if err := s.Refresh(ctx); err != nil {
					s.log.Error("host: refresh failed", "err", err)
				}
			case <-beat.C:
				for _, ep := range s.eps {
					if err := ep.h.Heartbeat(ctx); err != nil {
						s.log.Warn("host: connector lock", "connector", ep.cn, "err", err)
					}
				}
			}
		}
	}()
	var err error
	if s.cfg.TLS != nil {
		err = srv.ServeTLS(l, s.abs(s.cfg.TLS.Cert), s.abs(s.cfg.TLS.Key))
	} else {
		err = srv.Serve(l)
	}
	<-done
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func (s *Server) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(s.cfg.Dir, p)
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var ep *endpoint
	rest := ""
	for _, e := range s.eps {
		if r.URL.Path == e.path || strings.HasPrefix(r.URL.Path, e.path+"/") {
			ep, rest = e, strings.TrimPrefix(r.URL.Path, e.path)
			break
		}
	}
	if ep == nil {
		writeError(w, scim.Errorf(404, "", "no SCIM endpoint at %s", r.URL.Path))
		return
	}
	if !s.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="idsync"`)
		writeError(w, scim.Errorf(401, "", "a valid bearer token is required"))
		return
	}
	ep.serve(w, r, strings.Trim(rest, "/"))
}

func (s *Server) authorized(r *http.Request) bool {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(strings.TrimSpace(tok)), s.token) == 1
}

// baseURL is the endpoint's absolute URL as the client reached it.
func (ep *endpoint) baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + ep.path
}

func (ep *endpoint) serve(w http.ResponseWriter, r *http.Request, rest string) {
	seg := strings.SplitN(rest, "/", 2)
	first := seg[0]
	id := ""
	if len(seg) == 2 {
		var err error
		if id, err = url.PathUnescape(seg[1]); err != nil {
			writeError(w, scim.Errorf(400, "", "bad id in path"))
			return
		}
	}
	switch first {
	case "ServiceProviderConfig":
		ep.onlyGET(w, r, func() { writeJSON(w, 200, ep.spConfig(r)) })
		return
	case "ResourceTypes":
		ep.onlyGET(w, r, func() { ep.resourceTypes(w, r, id) })
		return
	case "Schemas":
		ep.onlyGET(w, r, func() { ep.schemas(w, r, id) })
		return
	}
	var rt *rtype
	switch first {
	case "Users":
		rt = ep.users
	case "Groups":
		rt = ep.groups
	}
	if rt == nil {
		writeError(w, scim.Errorf(404, "", "no resource type at /%s", first))
		return
	}
	ctx := r.Context()
	var err error
	switch {
	case r.Method == http.MethodGet && id == "":
		err = rt.list(ctx, w, r)
	case r.Method == http.MethodGet:
		err = rt.get(ctx, w, r, id)
	case r.Method == http.MethodPost && id == "":
		err = rt.create(ctx, w, r)
	case r.Method == http.MethodPost && id == ".search":
		err = rt.search(ctx, w, r)
	case r.Method == http.MethodPut && id != "":
		err = rt.replace(ctx, w, r, id)
	case r.Method == http.MethodPatch && id != "":
		err = rt.patch(ctx, w, r, id)
	case r.Method == http.MethodDelete && id != "":
		err = rt.delete(ctx, w, r, id)
	default:
		w.Header().Set("Allow", "GET, POST, PUT, PATCH, DELETE")
		err = scim.Errorf(405, "", "%s is not allowed on %s", r.Method, r.URL.Path)
	}
	if err != nil {
		ep.s.fail(w, r, err)
	}
}

func (ep *endpoint) onlyGET(w http.ResponseWriter, r *http.Request, f func()) {
	if r.Method != http.MethodGet {
		writeError(w, scim.Errorf(405, "", "%s is not allowed on %s", r.Method, r.URL.Path))
		return
	}
	f()
}

// fail writes err as a SCIM error: a protocol error as is, a connector
// refusal by its kind, anything else as 500 (logged, never shown).
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *scim.Error
	if errors.As(err, &se) {
		writeError(w, se)
		return
	}
	var xe *engine.HostExportError
	detail := err.Error()
	if errors.As(err, &xe) {
		detail = xe.Error()
	}
	switch idsync.KindOf(err) {
	case idsync.KindConflict:
		st := scim.ErrUniqueness
		if xe == nil {
			st = ""
		}
		writeError(w, scim.Errorf(409, st, "%s", detail))
	case idsync.KindNotFound:
		writeError(w, scim.Errorf(404, "", "%s", detail))
	case idsync.KindInvalid:
		writeError(w, scim.Errorf(400, scim.ErrInvalidValue, "%s", detail))
	case idsync.KindPermission:
		writeError(w, scim.Errorf(403, "", "%s", detail))
	case idsync.KindTransient:
		w.Header().Set("Retry-After", "5")
		writeError(w, scim.Errorf(503, "", "the connected system is unavailable; try again later"))
		s.log.Warn("host: connected system unavailable", "method", r.Method, "path", r.URL.Path, "err", err)
	case idsync.KindUnsupported:
		writeError(w, scim.Errorf(501, "", "%s", detail))
	default:
		s.log.Error("host: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		writeError(w, scim.Errorf(500, "", "internal error"))
	}
}

func writeError(w http.ResponseWriter, e *scim.Error) {
	writeJSON(w, e.Status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = 500, []byte(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"500","detail":"encoding failed"}`)
	}
	w.Header().Set("Content-Type", scim.MediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// readBody decodes a JSON request body (at most 4 MiB).
func readBody(r *http.Request, v any) error {
	b, err := io.ReadAll(io.LimitReader(r.Body, 4<<20+1))
	if err != nil {
		return scim.Errorf(400, scim.ErrInvalidSyntax, "reading the body: %v", err)
	}
	if len(b) > 4<<20 {
		return scim.Errorf(413, "", "the body is larger than 4 MiB")
	}
	if err := json.Unmarshal(b, v); err != nil {
		return scim.Errorf(400, scim.ErrInvalidSyntax, "the body is not valid JSON: %v", err)
	}
	return nil
}
