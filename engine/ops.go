package engine

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
)

// The connector operations outside runs (§9.1): validate configuration
// (ping), discover schema, partitions and hierarchy, and set or change a
// password. Each opens the connector, calls it once and closes it; each
// fails with an *idsync.Error of KindUnsupported naming the connector
// when the connector does not offer the operation.

// withConn opens the named connector and calls f with it.
func (e *Engine) withConn(ctx context.Context, op, name string, f func(cc *config.Connector, c connector.Connector) error) error {
	cc := e.cfg.Connector(name)
	if cc == nil {
		names := make([]string, 0, len(e.cfg.Connectors))
		for _, c := range e.cfg.Connectors {
			names = append(names, c.Name)
		}
		return &idsync.Error{Op: op, Kind: idsync.KindNotFound, Err: fmt.Errorf("unknown connector %q (configured: %v)", name, names)}
	}
	c, err := e.open(ctx, cc)
	if err != nil {
		return err
	}
	defer c.Close()
	return f(cc, c)
}

func unsupported(op, conn, what string) error {
	return &idsync.Error{Op: op, Kind: idsync.KindUnsupported, Connector: conn, Err: fmt.Errorf("connector %s cannot %s", conn, what)}
}

// opErr wraps a connector's error, naming the operation and connector.
func opErr(op, conn string, err error) error {
	if err == nil {
		return nil
	}
	err = classify(fmt.Errorf("%s of %s: %w", op, conn, err))
	if idsync.KindOf(err) != idsync.KindOther {
		return err
	}
	return &idsync.Error{Op: op, Kind: idsync.KindOther, Connector: conn, Err: err}
}

// Ping checks that a connector's system is reachable and its
// configuration works.
func (e *Engine) Ping(ctx context.Context, name string) error {
	return e.withConn(ctx, "ping", name, func(cc *config.Connector, c connector.Connector) error {
		p, ok := c.(connector.Pinger)
		if !ok {
			return unsupported("ping", cc.Name, "validate its configuration (it has no ping operation)")
		}
		return opErr("ping", cc.Name, p.Ping(ctx))
	})
}

// DiscoverSchema returns the object types and attributes a connector
// discovers in its system.
func (e *Engine) DiscoverSchema(ctx context.Context, name string) (*idsync.Schema, error) {
	var sc *idsync.Schema
	err := e.withConn(ctx, "schema", name, func(cc *config.Connector, c connector.Connector) error {
		d, ok := c.(connector.SchemaDiscoverer)
		if !ok {
			return unsupported("schema", cc.Name, "discover its schema")
		}
		var err error
		sc, err = d.Schema(ctx)
		return opErr("schema discovery", cc.Name, err)
	})
	return sc, err
}

// Partitions returns the partitions a connector discovers; the
// connector must declare the partitions capability.
func (e *Engine) Partitions(ctx context.Context, name string) ([]connector.Partition, error) {
	var ps []connector.Partition
	err := e.withConn(ctx, "partitions", name, func(cc *config.Connector, c connector.Connector) error {
		l, ok := c.(connector.PartitionLister)
		if !ok || !cc.Capabilities.Partitions {
			return unsupported("partitions", cc.Name, "discover partitions (capability partitions)")
		}
		var err error
		ps, err = l.Partitions(ctx)
		return opErr("partition discovery", cc.Name, err)
	})
	return ps, err
}

// Hierarchy returns the containers under parentDN (the top when empty);
// the connector must declare the hierarchy capability.
func (e *Engine) Hierarchy(ctx context.Context, name, parentDN string) ([]connector.HierarchyNode, error) {
	var ns []connector.HierarchyNode
	err := e.withConn(ctx, "hierarchy", name, func(cc *config.Connector, c connector.Connector) error {
		h, ok := c.(connector.HierarchyDiscoverer)
		if !ok || !cc.Capabilities.Hierarchy {
			return unsupported("hierarchy", cc.Name, "discover its hierarchy (capability hierarchy)")
		}
		var err error
		ns, err = h.Children(ctx, parentDN)
		return opErr("hierarchy discovery", cc.Name, err)
	})
	return ns, err
}

// PasswordRequest is a password operation on one connector-space object.
type PasswordRequest struct {
	Connector string
	// Object is the DN or the anchor of an object of the connector space.
	Object string
	// Old is the current password (ChangePassword only).
	Old, New connector.Secret
	Options  connector.PasswordOptions
}

// SetPassword sets the password of a connector-space object in its
// system (an administrator's reset).
func (e *Engine) SetPassword(ctx context.Context, req PasswordRequest) error {
	return e.password(ctx, "set password", req, func(pc connector.PasswordChanger, o *idsync.CSObject) error {
		return pc.SetPassword(ctx, o.Anchor, o.DN, req.New, req.Options)
	})
}

// ChangePassword changes the password of a connector-space object in its
// system, proving the old one.
func (e *Engine) ChangePassword(ctx context.Context, req PasswordRequest) error {
	return e.password(ctx, "change password", req, func(pc connector.PasswordChanger, o *idsync.CSObject) error {
		return pc.ChangePassword(ctx, o.Anchor, o.DN, req.Old, req.New)
	})
}

// password runs one password operation. The secrets never reach an error
// or a log: only the operation, connector and object are named. The
// operation is logged at info (the run history holds runs of profiles,
// which a password operation is not).
func (e *Engine) password(ctx context.Context, op string, req PasswordRequest, f func(connector.PasswordChanger, *idsync.CSObject) error) error {
	cc := e.cfg.Connector(req.Connector)
	if cc != nil && !cc.Capabilities.Password {
		return unsupported(op, cc.Name, "set or change passwords (capability passwordOperations is not declared)")
	}
	if req.New.Reveal() == "" {
		return &idsync.Error{Op: op, Kind: idsync.KindInvalid, Connector: req.Connector, Err: errors.New("the new password is empty")}
	}
	return e.withConn(ctx, op, req.Connector, func(cc *config.Connector, c connector.Connector) error {
		pc, ok := c.(connector.PasswordChanger)
		if !ok {
			return unsupported(op, cc.Name, "set or change passwords (it has no password operations)")
		}
		o, err := e.findCS(ctx, cc, req.Object)
		if err != nil {
			return &idsync.Error{Op: op, Kind: idsync.KindOf(err), Connector: cc.Name, Err: err}
		}
		if err := f(pc, o); err != nil {
			kind := idsync.KindOther
			if errors.Is(err, connector.ErrPasswordPolicyViolation) || errors.Is(err, connector.ErrPasswordIllFormed) {
				kind = idsync.KindInvalid
			}
			err = classify(fmt.Errorf("%s of %s in %s: %w", op, o.DN, cc.Name, err))
			if idsync.KindOf(err) == idsync.KindOther {
				err = &idsync.Error{Op: op, Kind: kind, Connector: cc.Name, Err: err}
			}
			e.log.Info("password operation failed", "op", op, "connector", cc.Name, "cs", o.ID, "dn", o.DN, "anchor", string(o.Anchor))
			return err
		}
		e.log.Info("password operation", "op", op, "connector", cc.Name, "cs", o.ID, "dn", o.DN, "anchor", string(o.Anchor))
		return nil
	})
}

// findCS finds a connector-space object by DN, else by anchor.
func (e *Engine) findCS(ctx context.Context, cc *config.Connector, ref string) (*idsync.CSObject, error) {
	if ref == "" {
		return nil, &idsync.Error{Kind: idsync.KindInvalid, Err: errors.New("no object named (give a DN or an anchor)")}
	}
	tx, err := e.st.Begin(ctx, false)
	if err != nil {
		return nil, fmt.Errorf("engine: find object: %w", err)
	}
	defer tx.Rollback()
	byDN, err := tx.CSByDNs(ctx, cc.Name, []string{ref})
	if err != nil {
		return nil, fmt.Errorf("engine: find object %q: %w", ref, err)
	}
	for _, o := range byDN {
		if o.Kind == idsync.KindStaging {
			return inSystem(o, ref)
		}
	}
	a := idsync.Anchor(ref)
	if cc.Capabilities.NormalizeAnchors {
		a = idsync.Anchor(strings.ToUpper(ref))
	}
	byA, err := tx.CSByAnchors(ctx, cc.Name, []idsync.Anchor{a})
	if err != nil {
		return nil, fmt.Errorf("engine: find object %q: %w", ref, err)
	}
	if o := byA[a]; o != nil && o.Kind == idsync.KindStaging {
		return inSystem(o, ref)
	}
	return nil, &idsync.Error{Kind: idsync.KindNotFound, Err: fmt.Errorf("no object %q (DN or anchor) in the connector space of %s", ref, cc.Name)}
}

// inSystem refuses an object whose add has not been exported yet.
func inSystem(o *idsync.CSObject, ref string) (*idsync.CSObject, error) {
	if o.PendingExport != nil && o.PendingExport.Op == idsync.OpAdd && o.Awaiting == idsync.ConfirmNone {
		return nil, &idsync.Error{Kind: idsync.KindInvalid, Err: fmt.Errorf("object %q is not yet in the system (its add is pending export)", ref)}
	}
	return o, nil
}
