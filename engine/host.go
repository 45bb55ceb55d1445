package engine

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/store"
)

// HostSession serves one connector to the connector host (§11): it
// exports single changes at once, on one connector kept open (each change
// in its own export session, closed before the answer: some connectors,
// such as CSV, make a change durable only when its session closes), and
// stages each result in the connector space as the import that
// confirms it would, so that the connector space the host answers reads
// from stays consistent with the system; and it refreshes the connector
// space by a delta import (a full import when the connector has none).
//
// While the session is open it holds the connector's run lock (§13), so
// that no other run exports to the system behind its back; it lends the
// lock to its own refresh runs. Methods are safe for concurrent use and
// serialized.
type HostSession struct {
	e     *Engine
	cc    *config.Connector
	conn  connector.Connector
	exp   connector.Exporter // nil when the connector cannot export
	owner store.LockOwner

	mu       sync.Mutex
	lock     store.Lock // nil while lent to a refresh run, or lost
	lastBeat time.Time
}

// HostExportError is a change the connector refused: Type is the
// connector's error type ("AttributeValueMustBeUnique", "ObjectNotFound", ...).
type HostExportError struct {
	Type string
	Err  error
}

func (e *HostExportError) Error() string {
	if e.Type == "" {
		return e.Err.Error()
	}
	return e.Type + ": " + e.Err.Error()
}

func (e *HostExportError) Unwrap() error { return e.Err }

// OpenHost opens connector name for the connector host and takes its run
// lock. Close it.
func (e *Engine) OpenHost(ctx context.Context, name string) (*HostSession, error) {
	cc := e.cfg.Connector(name)
	if cc == nil {
		_, _, err := e.Profile(name, "")
		return nil, err
	}
	h := &HostSession{e: e, cc: cc, owner: store.LockOwner{
		ID: "host-" + newID(), Host: e.host, PID: e.pid, What: fmt.Sprintf("idsync host serving %s", cc.Name),
	}}
	if err := h.takeLock(ctx); err != nil {
		return nil, err
	}
	conn, err := e.open(ctx, cc)
	if err != nil {
		h.lock.Release(context.WithoutCancel(ctx))
		return nil, err
	}
	h.conn = conn
	if x, ok := conn.(connector.Exporter); ok && cc.Capabilities.Export {
		h.exp = x
	}
	return h, nil
}

func (h *HostSession) takeLock(ctx context.Context) error {
	l, err := h.e.st.TryLock(ctx, "connector:"+h.cc.Name, h.owner)
	if err != nil {
		if errors.Is(err, store.ErrLocked) {
			return &idsync.Error{Op: "host", Kind: idsync.KindTransient, Connector: h.cc.Name, Err: fmt.Errorf("another run of %s is in progress: %w", h.cc.Name, err)}
		}
		return fmt.Errorf("engine: take connector lock: %w", err)
	}
	h.lock, h.lastBeat = l, h.e.now()
	return nil
}

// ensureLock holds the lock again after a refresh could not give it
// back, and heartbeats it.
func (h *HostSession) ensureLock(ctx context.Context) error {
	if h.lock == nil {
		return h.takeLock(ctx)
	}
	if h.e.now().Sub(h.lastBeat) < heartbeatEvery {
		return nil
	}
	if err := h.lock.Heartbeat(ctx); err != nil {
		h.lock = nil
		return h.takeLock(ctx)
	}
	h.lastBeat = h.e.now()
	return nil
}

// Connector returns the configured connector.
func (h *HostSession) Connector() *config.Connector { return h.cc }

// CanExport reports whether the connector takes exports.
func (h *HostSession) CanExport() bool { return h.exp != nil }

// Heartbeat keeps the connector lock alive while the host is idle.
func (h *HostSession) Heartbeat(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.ensureLock(ctx)
}

// Export sends one change (OpAdd, OpUpdate, OpReplace or OpDelete) to the
// connector now and stages its effect in the connector space: an added
// object becomes a staging object with the anchor the system gave it and
// a pending import Add, an update a pending import Update, a delete
// removes a disjoined object (or stages a pending import Delete on a
// joined one, for the next sync). It returns the object as staged (nil
// after a delete). A change the connector refuses is an error wrapping
// *HostExportError; a connectivity failure is KindTransient.
func (h *HostSession) Export(ctx context.Context, ch idsync.Change) (*idsync.CSObject, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	cn := h.cc.Name
	if h.exp == nil {
		return nil, &idsync.Error{Op: "export", Kind: idsync.KindUnsupported, Connector: cn, Err: errors.New("the connector cannot export")}
	}
	if err := h.ensureLock(ctx); err != nil {
		return nil, err
	}
	if ch.ID == "" {
		ch.ID = newID()
	}
	sess, err := h.exp.OpenExport(ctx, connector.ExportOptions{PageSize: 1})
	if err != nil {
		return nil, classify(fmt.Errorf("open export to %s: %w", cn, err))
	}
	results, err := sess.ExportPage(ctx, []idsync.Change{ch})
	if cerr := sess.Close(ctx); cerr != nil && err == nil {
		err = cerr
	}
	if err != nil {
		return nil, classify(fmt.Errorf("export to %s: %w", cn, err))
	}
	if len(results) != 1 {
		return nil, &idsync.Error{Op: "export", Kind: idsync.KindInternal, Connector: cn, Err: fmt.Errorf("the connector returned %d results for one change", len(results))}
	}
	res := results[0]
	if res.Err != nil {
		return nil, &idsync.Error{Op: "export", Kind: exportErrorKind(res.ErrorType), Connector: cn, Object: string(ch.Anchor),
			Err: &HostExportError{Type: res.ErrorType, Err: res.Err}}
	}
	return h.stage(ctx, ch, res)
}

func exportErrorKind(t string) idsync.Kind {
	switch t {
	case "AttributeValueMustBeUnique", "ObjectAlreadyExists", "AnchorMismatch":
		return idsync.KindConflict
	case "ObjectNotFound", "NoSuchObject":
		return idsync.KindNotFound
	case "PermissionDenied", "AccessDenied":
		return idsync.KindPermission
	}
	return idsync.KindInvalid
}

func (h *HostSession) stage(ctx context.Context, ch idsync.Change, res connector.ExportResult) (*idsync.CSObject, error) {
	e, cn := h.e, h.cc.Name
	anchor := ch.Anchor
	if res.Anchor != "" && (ch.Op == idsync.OpAdd || ch.Op == idsync.OpReplace) {
		anchor = res.Anchor
	}
	if anchor == "" {
		return nil, &idsync.Error{Op: "export", Kind: idsync.KindInternal, Connector: cn, Err: errors.New("the connector gave the added object no anchor")}
	}
	now := e.now().UTC()
	tx, err := e.st.Begin(ctx, true)
	if err != nil {
		return nil, fmt.Errorf("engine: stage host export: %w", err)
	}
	defer tx.Rollback()
	found, err := tx.CSByAnchors(ctx, cn, []idsync.Anchor{anchor})
	if err != nil {
		return nil, fmt.Errorf("engine: stage host export: %w", err)
	}
	o := found[anchor]
	dn := res.DN
	if dn == "" {
		dn = ch.NewDN
	}
	switch ch.Op {
	case idsync.OpDelete:
		if o == nil {
			return nil, nil
		}
		if o.MVID == "" && o.PendingExport == nil {
			if err := tx.DeleteCS(ctx, []string{o.ID}); err != nil {
				return nil, fmt.Errorf("engine: stage host export: %w", err)
			}
		} else {
			o.PendingImport = idsync.ImportDelete
			o.Updated = now
			if err := tx.PutCS(ctx, []*idsync.CSObject{o}); err != nil {
				return nil, fmt.Errorf("engine: stage host export: %w", err)
			}
		}
		if err := tx.Commit(); err != nil {
			return nil, fmt.Errorf("engine: stage host export: %w", err)
		}
		return nil, nil
	case idsync.OpAdd, idsync.OpReplace:
		attrs := idsync.Attrs{}.Apply(ch.Mods)
		if dn == "" {
			dn = ch.DN
		}
		if dn == "" {
			dn = string(anchor)
		}
		if o == nil {
			o = &idsync.CSObject{ID: newID(), Connector: cn, Anchor: anchor, PendingImport: idsync.ImportAdd}
		} else if o.PendingImport != idsync.ImportAdd && o.PendingImport != idsync.ImportDeleteAdd {
			o.PendingImport = idsync.ImportUpdate
		}
		o.Kind, o.Obsolete, o.ObjectType, o.DN, o.Attrs = idsync.KindStaging, false, ch.ObjectType, dn, attrs
	case idsync.OpUpdate:
		if o == nil {
			// Not in the connector space yet: the next refresh brings it.
			if err := tx.Commit(); err != nil {
				return nil, fmt.Errorf("engine: stage host export: %w", err)
			}
			return nil, nil
		}
		o.Attrs = o.Attrs.Clone().Apply(ch.Mods)
		if len(o.Attrs) == 0 {
			o.Attrs = nil
		}
		if dn != "" {
			o.DN = dn
		}
		switch o.PendingImport {
		case idsync.ImportAdd, idsync.ImportDeleteAdd:
		default:
			o.PendingImport = idsync.ImportUpdate
		}
	default:
		return nil, &idsync.Error{Op: "export", Kind: idsync.KindInvalid, Connector: cn, Err: fmt.Errorf("unknown operation %s", ch.Op)}
	}
	o.Updated = now
	if err := tx.PutCS(ctx, []*idsync.CSObject{o}); err != nil {
		return nil, fmt.Errorf("engine: stage host export: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return nil, fmt.Errorf("engine: stage host export: %w", err)
	}
	return o, nil
}

// Refresh brings the connector space up to date with the system: a delta
// import when the connector has one (the engine falls back to a full
// import without a watermark), else a full import, recorded in the run
// history as profile "host-refresh". The session lends its lock to the run.
func (h *HostSession) Refresh(ctx context.Context) (*idsync.RunResult, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.lock != nil {
		if err := h.lock.Release(context.WithoutCancel(ctx)); err != nil {
			return nil, fmt.Errorf("engine: lend connector lock: %w", err)
		}
		h.lock = nil
	}
	step := idsync.StepFullImport
	if _, ok := h.conn.(connector.DeltaImporter); ok && h.cc.Capabilities.DeltaImport {
		step = idsync.StepDeltaImport
	}
	res, err := h.e.RunSteps(ctx, h.cc.Name, "host-refresh", []idsync.RunStep{{Type: step}})
	if lerr := h.takeLock(ctx); lerr != nil && err == nil {
		err = lerr
	}
	return res, err
}

// Close closes the connector and releases the lock.
func (h *HostSession) Close(ctx context.Context) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	err := h.conn.Close()
	if h.lock != nil {
		if lerr := h.lock.Release(context.WithoutCancel(ctx)); lerr != nil && err == nil {
			err = lerr
		}
		h.lock = nil
	}
	return err
}

// DeclareHostIndexes declares, on top of the value indexes the sync
// rules need, the connector-space attributes the connector host looks
// objects up by (per connector).
func (e *Engine) DeclareHostIndexes(ctx context.Context, cs map[string][]string) error {
	ix := e.rules.indexes()
	if ix.CS == nil {
		ix.CS = map[string][]string{}
	}
	for c, names := range cs {
		ix.CS[c] = append(append([]string(nil), ix.CS[c]...), names...)
	}
	if err := e.st.SetIndexes(ctx, ix); err != nil {
		return fmt.Errorf("engine: declare host indexes: %w", err)
	}
	return nil
}

// Schema returns what the connector discovers of its schema, or nil when
// it discovers none.
func (h *HostSession) Schema(ctx context.Context) (*idsync.Schema, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	sd, ok := h.conn.(connector.SchemaDiscoverer)
	if !ok {
		return nil, nil
	}
	s, err := sd.Schema(ctx)
	if errors.Is(err, connector.ErrUnsupported) {
		return nil, nil
	}
	if err != nil {
		return nil, classify(fmt.Errorf("schema of %s: %w", h.cc.Name, err))
	}
	return s, nil
}
