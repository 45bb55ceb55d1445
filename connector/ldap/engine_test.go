package ldap_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	ldapconn "github.com/idsync/idsync/connector/ldap"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// cutProxy is a TCP proxy between the connector and the real slapd. When
// armed, it cuts every connection once the server has sent limit bytes:
// a real server, a real drop.
type cutProxy struct {
	ln     net.Listener
	target string
	limit  atomic.Int64 // 0: never cut
	from   atomic.Int64 // cut only connections numbered from this on
	conns  atomic.Int64 // connections accepted
	cuts   atomic.Int64
	wg     sync.WaitGroup
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{ln: ln, target: target}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() { ln.Close(); p.wg.Wait() })
	return p
}

func (p *cutProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.pipe(c)
		}()
	}
}

func (p *cutProxy) pipe(client net.Conn) {
	defer client.Close()
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		return
	}
	defer server.Close()
	go func() { io.Copy(server, client); server.Close() }()
	limit := p.limit.Load()
	if p.conns.Add(1) < p.from.Load() {
		limit = 0
	}
	var sent int64
	buf := make([]byte, 4096)
	for {
		n, err := server.Read(buf)
		if n > 0 {
			if limit > 0 && sent+int64(n) > limit {
				p.cuts.Add(1)
				return // both sides close: the connection is gone mid-response
			}
			if _, werr := client.Write(buf[:n]); werr != nil {
				return
			}
			sent += int64(n)
		}
		if err != nil {
			return
		}
	}
}

// TestSpec9_2_ConnectionDroppedMidImport runs a full import through the
// engine into the SQLite store while the TCP connection to the real slapd
// is cut in the middle: the run stops as stopped-connectivity, the pages
// committed before the drop stay in the connector space, and the next run
// completes with every object.
func TestSpec9_2_ConnectionDroppedMidImport(t *testing.T) {
	url := os.Getenv("IDSYNC_TEST_LDAP_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IDSYNC_TEST_LDAP_URL must be set under CI")
		}
		t.Skip("IDSYNC_TEST_LDAP_URL not set")
	}
	bindDN, pw, base := os.Getenv("IDSYNC_TEST_LDAP_BIND_DN"), os.Getenv("IDSYNC_TEST_LDAP_PASSWORD"), os.Getenv("IDSYNC_TEST_LDAP_BASE")
	t.Setenv("IDSYNC_TEST_DROP_PW", pw)
	ctx := context.Background()

	l, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	// Closed by a cleanup registered before the one deleting the test's
	// entries with it (cleanups run last-registered first; a deferred
	// Close would run before them and leave the entries behind).
	t.Cleanup(func() { l.Close() })
	if err := l.Bind(bindDN, pw); err != nil {
		t.Fatal(err)
	}
	ou := fmt.Sprintf("ou=drop-%d,%s", time.Now().UnixNano(), base)
	req := goldap.NewAddRequest(ou, nil)
	req.Attribute("objectClass", []string{"organizationalUnit"})
	if err := l.Add(req); err != nil {
		t.Fatal(err)
	}
	const n = 1500
	t.Cleanup(func() {
		for i := 0; i < n; i++ {
			l.Del(goldap.NewDelRequest(fmt.Sprintf("uid=d%04d,%s", i, ou), nil))
		}
		l.Del(goldap.NewDelRequest(ou, nil))
	})
	for i := 0; i < n; i++ {
		r := goldap.NewAddRequest(fmt.Sprintf("uid=d%04d,%s", i, ou), nil)
		r.Attribute("objectClass", []string{"inetOrgPerson"})
		r.Attribute("uid", []string{fmt.Sprintf("d%04d", i)})
		r.Attribute("cn", []string{fmt.Sprintf("Drop %04d", i)})
		r.Attribute("sn", []string{"Drop"})
		r.Attribute("mail", []string{fmt.Sprintf("d%04d@example.com", i)})
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	target := url[len("ldap://"):]
	proxy := newCutProxy(t, target)

	dir := t.TempDir()
	yaml := fmt.Sprintf(`metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: mail, type: string}
connectors:
  - name: dir
    type: ldap
    pageSize: 100
    settings:
      url: ldap://%s
      bindDN: %q
      password: {env: IDSYNC_TEST_DROP_PW}
      server: openldap
      objectClasses: {person: inetOrgPerson}
      containers:
        - partition: %q
          include: [%q]
    profiles:
      full-import: [full-import]
`, proxy.ln.Addr(), bindDN, base, ou)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(ldapconn.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	count := func() int {
		tx, err := st.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		staging := idsync.KindStaging
		k, err := tx.CountCS(ctx, store.CSFilter{Connector: "dir", Kind: &staging})
		if err != nil {
			t.Fatal(err)
		}
		return k
	}

	// The run opens the connector (one connection: root DSE, subschema)
	// and reads the entries on a second one: cut that one 60 KB into the
	// entries (about 150 KB in all).
	proxy.from.Store(proxy.conns.Load() + 2)
	proxy.limit.Store(60_000)
	res, err := e.Run(ctx, "dir", "full-import")
	if err != nil {
		t.Fatalf("run: %v", err)
	}
	if proxy.cuts.Load() == 0 {
		t.Fatalf("the proxy never cut the connection")
	}
	if res.Status != idsync.StatusStoppedConnectivity {
		t.Errorf("run with a dropped connection: status %s (%s), want %s", res.Status, res.Message, idsync.StatusStoppedConnectivity)
	}
	kept := count()
	if kept == 0 || kept >= n {
		t.Errorf("after the drop the connector space holds %d objects, want the finished pages (0 < k < %d)", kept, n)
	}

	proxy.limit.Store(0)
	res, err = e.Run(ctx, "dir", "full-import")
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	if res.Status != idsync.StatusSuccess {
		t.Errorf("second run: status %s (%s), want success", res.Status, res.Message)
	}
	if got := count(); got != n {
		t.Errorf("after the second run the connector space holds %d objects, want %d", got, n)
	}
}

// TestSpec9_2_DeltaThroughEngine runs syncrepl delta imports through the
// engine: a delta brings an added entry and a deletion into the connector
// space, and a watermark the server no longer honours makes the engine
// fall back to a full import with a warning in the run.
func TestSpec9_2_DeltaThroughEngine(t *testing.T) {
	url := os.Getenv("IDSYNC_TEST_LDAP_URL")
	if url == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("IDSYNC_TEST_LDAP_URL must be set under CI")
		}
		t.Skip("IDSYNC_TEST_LDAP_URL not set")
	}
	bindDN, pw, base := os.Getenv("IDSYNC_TEST_LDAP_BIND_DN"), os.Getenv("IDSYNC_TEST_LDAP_PASSWORD"), os.Getenv("IDSYNC_TEST_LDAP_BASE")
	t.Setenv("IDSYNC_TEST_DELTA_PW", pw)
	ctx := context.Background()
	l, err := goldap.DialURL(url)
	if err != nil {
		t.Fatal(err)
	}
	// Closed by a cleanup registered before the one deleting the test's
	// entries with it (cleanups run last-registered first; a deferred
	// Close would run before them and leave the entries behind).
	t.Cleanup(func() { l.Close() })
	if err := l.Bind(bindDN, pw); err != nil {
		t.Fatal(err)
	}
	ou := fmt.Sprintf("ou=engdelta-%d,%s", time.Now().UnixNano(), base)
	addEntry := func(dn string, attrs map[string]string) {
		t.Helper()
		r := goldap.NewAddRequest(dn, nil)
		for k, v := range attrs {
			r.Attribute(k, []string{v})
		}
		if err := l.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	addEntry(ou, map[string]string{"objectClass": "organizationalUnit"})
	person := func(uid string) {
		addEntry("uid="+uid+","+ou, map[string]string{"objectClass": "inetOrgPerson", "uid": uid, "cn": uid, "sn": uid, "mail": uid + "@example.com"})
	}
	t.Cleanup(func() {
		for _, u := range []string{"e1", "e2", "e3"} {
			l.Del(goldap.NewDelRequest("uid="+u+","+ou, nil))
		}
		l.Del(goldap.NewDelRequest(ou, nil))
	})
	person("e1")
	person("e2")
	dir := t.TempDir()
	yaml := fmt.Sprintf(`metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: mail, type: string}
connectors:
  - name: dir
    type: ldap
    settings:
      url: %s
      bindDN: %q
      password: {env: IDSYNC_TEST_DELTA_PW}
      server: openldap
      delta: syncrepl
      objectClasses: {person: inetOrgPerson}
      containers:
        - partition: %q
          include: [%q]
    profiles:
      full-import: [full-import]
      delta-import: [delta-import]
`, url, bindDN, base, ou)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	reg := connector.NewRegistry(ldapconn.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	uids := func() map[string]bool {
		tx, err := st.Begin(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		staging := idsync.KindStaging
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: "dir", Kind: &staging})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]bool{}
		for _, o := range objs {
			if o.PendingImport != idsync.ImportDelete {
				out[o.Attrs.Get("uid").String()] = true
			}
		}
		return out
	}
	run := func(profile string) *idsync.RunResult {
		t.Helper()
		res, err := e.Run(ctx, "dir", profile)
		if err != nil {
			t.Fatalf("run %s: %v", profile, err)
		}
		return res
	}
	if res := run("full-import"); res.Status != idsync.StatusSuccess {
		t.Fatalf("full import: %s %s", res.Status, res.Message)
	}
	person("e3")
	if err := l.Del(goldap.NewDelRequest("uid=e1,"+ou, nil)); err != nil {
		t.Fatal(err)
	}
	res := run("delta-import")
	if res.Status != idsync.StatusSuccess {
		t.Errorf("delta import: %s %s %v", res.Status, res.Message, res.Steps)
	}
	if got := uids(); !got["e2"] || !got["e3"] || got["e1"] {
		t.Errorf("after delta import the connector space holds %v, want e2 and e3", got)
	}
	// A watermark the server cannot honour: an ancient cookie.
	tx, err := st.Begin(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	k := strings.ToLower(base)
	old := fmt.Sprintf(`{"v":1,"mech":"syncrepl","parts":{%q:%q}}`, k, base64.StdEncoding.EncodeToString([]byte("rid=000,csn=19900101000000.000000Z#000000#000#000000")))
	if err := tx.PutWatermark(ctx, "dir", "", []byte(old)); err != nil {
		t.Fatal(err)
	}
	if err := tx.Commit(); err != nil {
		t.Fatal(err)
	}
	res = run("delta-import")
	if res.Status != idsync.StatusCompletedWithWarnings {
		t.Errorf("delta import from an expired watermark: status %s, want %s", res.Status, idsync.StatusCompletedWithWarnings)
	}
	warned := false
	for _, st := range res.Steps {
		for _, w := range st.Warnings {
			if strings.Contains(w, "full import") {
				warned = true
			}
		}
	}
	if !warned {
		t.Errorf("no warning about the fallback to a full import: %+v", res.Steps)
	}
	if got := uids(); !got["e2"] || !got["e3"] || got["e1"] || len(got) != 2 {
		t.Errorf("after the fallback full import the connector space holds %v, want e2 and e3", got)
	}
}
