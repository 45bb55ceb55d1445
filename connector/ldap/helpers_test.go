package ldap

import (
	"context"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// server is a real directory the tests use, from IDSYNC_TEST_* variables.
type server struct {
	url, ldapsURL, caFile, serverName string
	bindDN, password, base            string
	flavour                           string
}

// need returns the server named by prefix (LDAP or AD), skipping the test
// when it is not configured (failing under CI=true).
func need(t testing.TB, prefix string) server {
	t.Helper()
	get := func(k string) string { return os.Getenv("IDSYNC_TEST_" + prefix + "_" + k) }
	s := server{url: get("URL"), ldapsURL: get("LDAPS_URL"), caFile: get("CA_FILE"), serverName: get("SERVER_NAME"),
		bindDN: get("BIND_DN"), password: get("PASSWORD"), base: get("BASE"), flavour: ServerOpenLDAP}
	if prefix == "AD" {
		s.flavour = ServerAD
	}
	if s.url == "" || s.bindDN == "" || s.base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("IDSYNC_TEST_%s_URL, _BIND_DN, _PASSWORD and _BASE must be set under CI (source .ci/peers/*.sh)", prefix)
		}
		t.Skipf("IDSYNC_TEST_%s_URL not set: no %s server (source .ci/peers/*.sh)", prefix, prefix)
	}
	return s
}

// admin opens a plain go-ldap connection for seeding and checking.
func (s server) admin(t testing.TB) *goldap.Conn {
	t.Helper()
	l, err := goldap.DialURL(s.url)
	if err != nil {
		t.Fatalf("dial %s: %v", s.url, err)
	}
	if err := l.Bind(s.bindDN, s.password); err != nil {
		l.Close()
		t.Fatalf("bind: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

var ouSeq atomic.Int64

// testOU creates an organizational unit (or AD OU) of its own under the
// base and removes it with everything below at the end.
func (s server) testOU(t testing.TB, l *goldap.Conn, name string) string {
	t.Helper()
	ou := fmt.Sprintf("ou=%s-%d-%d,%s", name, time.Now().UnixNano()%1e9, ouSeq.Add(1), s.base)
	req := goldap.NewAddRequest(ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := l.Add(req); err != nil {
		t.Fatalf("add %s: %v", ou, err)
	}
	t.Cleanup(func() { deleteTree(t, l, ou) })
	return ou
}

// deleteTree deletes dn and everything below it, leaves first.
func deleteTree(t testing.TB, l *goldap.Conn, dn string) {
	res, err := l.SearchWithPaging(goldap.NewSearchRequest(dn, goldap.ScopeWholeSubtree, goldap.NeverDerefAliases, 0, 0, false, "(objectClass=*)", []string{"1.1"}, nil), 500)
	if err != nil {
		if !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			t.Logf("cleanup %s: %v", dn, err)
		}
		return
	}
	dns := make([]string, 0, len(res.Entries))
	for _, e := range res.Entries {
		dns = append(dns, e.DN)
	}
	sort.Slice(dns, func(i, j int) bool { return strings.Count(dns[i], ",") > strings.Count(dns[j], ",") })
	for _, d := range dns {
		if err := l.Del(goldap.NewDelRequest(d, nil)); err != nil && !goldap.IsErrorWithCode(err, goldap.LDAPResultNoSuchObject) {
			t.Logf("cleanup delete %s: %v", d, err)
		}
	}
}

// config returns a connector configuration for s scoped to ou.
func (s server) config(ou string) *Config {
	c := &Config{URL: s.url, BindDN: s.bindDN, Password: connector.SecretRef{Env: "TEST_PW"}, Server: s.flavour}
	if ou != "" {
		c.Containers = []Containers{{Partition: s.base, Include: []string{ou}}}
	}
	return c
}

func (s server) env(t testing.TB) connector.Env {
	return connector.Env{Name: "test", Logger: testLogger(t), Now: time.Now,
		Secret: func(ref string) (string, error) {
			if ref != "TEST_PW" {
				return "", fmt.Errorf("unknown secret %s", ref)
			}
			return s.password, nil
		}}
}

func (s server) open(t testing.TB, cfg *Config) *conn {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c, err := cfg.Open(context.Background(), s.env(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*conn)
}

// add adds an entry with string attributes.
func add(t testing.TB, l *goldap.Conn, dn string, attrs map[string][]string) {
	t.Helper()
	req := goldap.NewAddRequest(dn, nil)
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		req.Attribute(k, attrs[k])
	}
	if err := l.Add(req); err != nil {
		t.Fatalf("add %s: %v", dn, err)
	}
}

func modify(t testing.TB, l *goldap.Conn, dn, attr string, values ...string) {
	t.Helper()
	req := goldap.NewModifyRequest(dn, nil)
	req.Replace(attr, values)
	if err := l.Modify(req); err != nil {
		t.Fatalf("modify %s: %v", dn, err)
	}
}

// importAll runs a full import and returns the entries by anchor.
func importAll(t testing.TB, c *conn, opts connector.ImportOptions) (map[idsync.Anchor]idsync.Entry, connector.Watermark) {
	t.Helper()
	out := map[idsync.Anchor]idsync.Entry{}
	wm, err := c.Import(context.Background(), opts, func(e idsync.Entry) error {
		if e.Err != nil {
			t.Errorf("import %s: %v", e.DN, e.Err)
		}
		out[e.Anchor] = e
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return out, wm
}

// deltaAll runs a delta import and returns the changes.
func deltaAll(t testing.TB, c *conn, wm connector.Watermark) ([]idsync.Change, connector.Watermark) {
	t.Helper()
	var out []idsync.Change
	next, err := c.ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(ch idsync.Change) error {
		if ch.Err != nil {
			t.Errorf("delta %s: %v", ch.DN, ch.Err)
		}
		out = append(out, ch)
		return nil
	})
	if err != nil {
		t.Fatalf("ImportChanges: %v", err)
	}
	return out, next
}

// applyChanges applies delta changes to a full-import snapshot, as the
// engine would.
func applyChanges(t testing.TB, snap map[idsync.Anchor]idsync.Entry, changes []idsync.Change) {
	t.Helper()
	for _, ch := range changes {
		switch ch.Op {
		case idsync.OpDelete:
			delete(snap, ch.Anchor)
		case idsync.OpAdd, idsync.OpReplace:
			snap[ch.Anchor] = idsync.Entry{ObjectType: ch.ObjectType, Anchor: ch.Anchor, DN: ch.DN, Attrs: idsync.Attrs{}.Apply(ch.Mods)}
		case idsync.OpUpdate:
			e, ok := snap[ch.Anchor]
			if !ok {
				t.Errorf("delta update of %s (%s), which is not in the snapshot", ch.Anchor, ch.DN)
				continue
			}
			e.Attrs = e.Attrs.Clone().Apply(ch.Mods)
			if ch.NewDN != "" {
				e.DN = ch.NewDN
			}
			snap[ch.Anchor] = e
		}
	}
}

// byKey indexes a snapshot by the value of attribute key.
func byKey(snap map[idsync.Anchor]idsync.Entry, key string) map[string]idsync.Entry {
	out := map[string]idsync.Entry{}
	for _, e := range snap {
		if v := e.Attrs.Get(key); !v.IsZero() {
			out[v.String()] = e
		}
	}
	return out
}
