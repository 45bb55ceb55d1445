package engine_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
)

// loggedEngine is a second engine over h's store, configuration and
// systems, logging at debug into the returned buffer.
func loggedEngine(t *testing.T, h *harness) (*engine.Engine, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	reg := connector.NewRegistry(inmem.NewType("inmem", h.sys))
	e, err := engine.New(h.ctx, engine.Options{Store: h.st, Registry: reg, Config: h.e.Config(), Now: h.clk.Now,
		Logger: slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	return e, &buf
}

// §9.1: the discovery operations of a connector are reachable through the
// engine: ping, schema, partitions, hierarchy.
func TestSpec9_1_DiscoveryOperations(t *testing.T) {
	h := newHarness(t, baseConfig)
	ad := h.sys["ad"]
	ad.SetSchema(&idsync.Schema{Classes: []idsync.ObjectClass{{Name: "user", Attrs: []idsync.AttrDef{{Name: "mail", Type: idsync.TypeString}}}}})
	ad.AddPartition(connector.Partition{Name: "x", DN: "DC=x"})
	ad.AddContainer("OU=People,DC=x")
	if err := h.e.Ping(h.ctx, "ad"); err != nil {
		t.Errorf("ping: %v", err)
	}
	sc, err := h.e.DiscoverSchema(h.ctx, "ad")
	if err != nil || sc.Class("user") == nil || len(sc.Class("user").Attrs) != 1 {
		t.Errorf("schema = %+v, %v", sc, err)
	}
	ps, err := h.e.Partitions(h.ctx, "ad")
	if err != nil || len(ps) != 1 || ps[0].DN != "DC=x" {
		t.Errorf("partitions = %+v, %v", ps, err)
	}
	ns, err := h.e.Hierarchy(h.ctx, "ad", "DC=x")
	if err != nil || len(ns) != 1 || ns[0].DN != "OU=People,DC=x" {
		t.Errorf("hierarchy under DC=x = %+v, %v", ns, err)
	}
	if err := h.e.Ping(h.ctx, "nope"); idsync.KindOf(err) != idsync.KindNotFound {
		t.Errorf("ping of an unknown connector: %v (kind %v), want not-found", err, idsync.KindOf(err))
	}
}

// §9.1: an operation whose capability the connector does not declare is
// refused with KindUnsupported naming the connector, and never reaches it.
func TestSpec9_1_UndeclaredCapabilitiesRefused(t *testing.T) {
	h := newHarness(t, capsConfig(t, ""))
	o := provisioned(t, h)
	for name, f := range map[string]func() error{
		"partitions": func() error { _, err := h.e.Partitions(h.ctx, "ad"); return err },
		"hierarchy":  func() error { _, err := h.e.Hierarchy(h.ctx, "ad", ""); return err },
		"password": func() error {
			return h.e.SetPassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: o.DN, New: connector.NewSecret("Secret#123")})
		},
	} {
		err := f()
		if idsync.KindOf(err) != idsync.KindUnsupported || !strings.Contains(err.Error(), "ad") {
			t.Errorf("%s: %v (kind %v), want unsupported naming ad", name, err, idsync.KindOf(err))
		}
	}
	if _, set := h.sys["ad"].Password(o.Anchor); set {
		t.Errorf("a password was set although passwordOperations is not declared")
	}
}

// §9.1 passwordOperations: set and change reach the connector for an
// object named by DN or anchor; the passwords never reach an error or a
// log.
func TestSpec9_1_PasswordOperations(t *testing.T) {
	h := newHarness(t, strings.Replace(baseConfig, "settings: {system: ad}", "settings: {system: ad, minPasswordLength: 8}", 1))
	o := provisioned(t, h)
	e, logs := loggedEngine(t, h)
	const first, second, short = "Tr0ub4dor&3", "correct horse battery", "s3cr"
	if err := e.SetPassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: o.DN, New: connector.NewSecret(first)}); err != nil {
		t.Fatalf("set by DN: %v", err)
	}
	if pw, ok := h.sys["ad"].Password(o.Anchor); !ok || pw != first {
		t.Fatalf("password after set = %q %v", pw, ok)
	}
	err := e.ChangePassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: string(o.Anchor), Old: connector.NewSecret("wrong-one!"), New: connector.NewSecret(second)})
	if err == nil || strings.Contains(err.Error(), "wrong-one!") || strings.Contains(err.Error(), second) {
		t.Errorf("change with a wrong old password: %v", err)
	}
	if err := e.ChangePassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: string(o.Anchor), Old: connector.NewSecret(first), New: connector.NewSecret(second)}); err != nil {
		t.Fatalf("change by anchor: %v", err)
	}
	if pw, _ := h.sys["ad"].Password(o.Anchor); pw != second {
		t.Errorf("password after change = %q", pw)
	}
	err = e.SetPassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: o.DN, New: connector.NewSecret(short)})
	if idsync.KindOf(err) != idsync.KindInvalid || strings.Contains(err.Error(), short) || !strings.Contains(err.Error(), o.DN) {
		t.Errorf("set violating the policy: %v (kind %v), want invalid naming the object and not the password", err, idsync.KindOf(err))
	}
	err = e.SetPassword(h.ctx, engine.PasswordRequest{Connector: "ad", Object: "CN=Nobody,DC=x", New: connector.NewSecret(first)})
	if idsync.KindOf(err) != idsync.KindNotFound {
		t.Errorf("set of an unknown object: %v (kind %v), want not-found", err, idsync.KindOf(err))
	}
	for _, s := range []string{first, second, short, "wrong-one!"} {
		if strings.Contains(logs.String(), s) {
			t.Errorf("log holds the password %q:\n%s", s, logs)
		}
	}
	if !strings.Contains(logs.String(), "password operation") || !strings.Contains(logs.String(), "change password") {
		t.Errorf("log does not record the operations:\n%s", logs)
	}
}
