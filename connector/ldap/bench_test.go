package ldap_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	ldapconn "github.com/idsync/idsync/connector/ldap"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store/sqlstore"
)

// The benchmarks read their server from the IDSYNC_TEST_LDAP_* variables
// and the seeded container from IDSYNC_BENCH_LDAP_OU; run them with
// connector/ldap/testdata/bench.sh, which seeds 100,000 entries and
// times ldapsearch and ldapadd for comparison.

type benchEnv struct{ url, bindDN, pw, base, ou string }

func benchServer(b *testing.B) benchEnv {
	e := benchEnv{os.Getenv("IDSYNC_TEST_LDAP_URL"), os.Getenv("IDSYNC_TEST_LDAP_BIND_DN"), os.Getenv("IDSYNC_TEST_LDAP_PASSWORD"),
		os.Getenv("IDSYNC_TEST_LDAP_BASE"), os.Getenv("IDSYNC_BENCH_LDAP_OU")}
	if e.url == "" || e.ou == "" {
		b.Skip("IDSYNC_TEST_LDAP_URL / IDSYNC_BENCH_LDAP_OU not set: run connector/ldap/testdata/bench.sh")
	}
	b.Setenv("IDSYNC_BENCH_PW", e.pw)
	return e
}

func (e benchEnv) config(ou string) *ldapconn.Config {
	return &ldapconn.Config{URL: e.url, BindDN: e.bindDN, Password: connector.SecretRef{Env: "IDSYNC_BENCH_PW"},
		Server: ldapconn.ServerOpenLDAP, ObjectClasses: map[string]string{"person": "inetOrgPerson"},
		Containers: []ldapconn.Containers{{Partition: e.base, Include: []string{ou}}}}
}

func benchOpen(b *testing.B, cfg *ldapconn.Config) connector.Connector {
	c, err := cfg.Open(context.Background(), connector.Env{Name: "bench", Now: time.Now, Secret: config.EnvSecrets})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkLDAPFullImport100k: the connector alone reads the 100,000
// seeded entries (paged, 1,000 a page) and converts them to entries.
func BenchmarkLDAPFullImport100k(b *testing.B) {
	e := benchServer(b)
	for b.Loop() {
		c := benchOpen(b, e.config(e.ou))
		n := 0
		_, err := c.(connector.Importer).Import(context.Background(), connector.ImportOptions{PageSize: 1000}, func(en idsync.Entry) error {
			if en.Err != nil {
				return en.Err
			}
			n++
			return nil
		})
		c.Close()
		if err != nil {
			b.Fatal(err)
		}
		if n != 100000 {
			b.Fatalf("imported %d entries, want 100000", n)
		}
	}
}

// BenchmarkLDAPFullImportEngine100k: a full import run through the engine
// into a fresh SQLite store.
func BenchmarkLDAPFullImportEngine100k(b *testing.B) {
	e := benchServer(b)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		yaml := fmt.Sprintf(`metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: mail, type: string}
connectors:
  - name: dir
    type: ldap
    pageSize: 1000
    settings:
      url: %s
      bindDN: %q
      password: {env: IDSYNC_BENCH_PW}
      server: openldap
      objectClasses: {person: inetOrgPerson}
      containers:
        - partition: %q
          include: [%q]
    profiles:
      full-import: [full-import]
`, e.url, e.bindDN, e.base, e.ou)
		if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yaml), 0o644); err != nil {
			b.Fatal(err)
		}
		reg := connector.NewRegistry(ldapconn.Type)
		cfg, err := config.Load(dir, reg)
		if err != nil {
			b.Fatal(err)
		}
		st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		eng, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		res, err := eng.Run(ctx, "dir", "full-import")
		b.StopTimer()
		if err != nil || res.Status != idsync.StatusSuccess {
			b.Fatalf("run: %v %v %s", err, res.Status, res.Message)
		}
		if got := res.Counters.ImportAdds; got != 100000 {
			b.Logf("import adds %d", got)
		}
		st.Close()
		b.StartTimer()
	}
}

// BenchmarkLDAPExport10kAdds exports the 10,000 entries of bench.sh's
// add.ldif as adds, in pages of 1,000 (the engine's default page).
func BenchmarkLDAPExport10kAdds(b *testing.B) {
	e := benchServer(b)
	ctx := context.Background()
	ou := "ou=benchadd," + e.base
	changes := make([]idsync.Change, 0, 10000)
	for i := 1; i <= 10000; i++ {
		attrs := idsync.Attrs{
			"uid": {idsync.String(fmt.Sprintf("a%05d", i))}, "cn": {idsync.String(fmt.Sprintf("Add User %05d", i))},
			"sn": {idsync.String(fmt.Sprintf("User%05d", i))}, "givenName": {idsync.String("Add")},
			"displayName": {idsync.String(fmt.Sprintf("Add User %05d", i))}, "mail": {idsync.String(fmt.Sprintf("a%05d@example.com", i))},
			"telephoneNumber": {idsync.String(fmt.Sprintf("+1 555 %05d", i))}, "employeeNumber": {idsync.String(fmt.Sprint(i))},
			"departmentNumber": {idsync.String(fmt.Sprintf("D%03d", i%1000))}, "title": {idsync.String("Engineer")},
			"description": {idsync.String(fmt.Sprintf("export benchmark entry %d", i))},
		}
		changes = append(changes, idsync.Change{Op: idsync.OpAdd, ObjectType: "person", ID: fmt.Sprint(i),
			DN: fmt.Sprintf("uid=a%05d,%s", i, ou), Mods: idsync.ModsFromAttrs(attrs)})
	}
	l, err := goldap.DialURL(e.url)
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	if err := l.Bind(e.bindDN, e.pw); err != nil {
		b.Fatal(err)
	}
	clean := func() {
		for i := 1; i <= 10000; i++ {
			l.Del(goldap.NewDelRequest(fmt.Sprintf("uid=a%05d,%s", i, ou), nil))
		}
		l.Del(goldap.NewDelRequest(ou, nil))
	}
	for b.Loop() {
		b.StopTimer()
		clean()
		r := goldap.NewAddRequest(ou, nil)
		r.Attribute("objectClass", []string{"organizationalUnit"})
		if err := l.Add(r); err != nil {
			b.Fatal(err)
		}
		c := benchOpen(b, e.config(ou))
		b.StartTimer()
		sess, err := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{PageSize: 1000})
		if err != nil {
			b.Fatal(err)
		}
		for p := 0; p < len(changes); p += 1000 {
			res, err := sess.ExportPage(ctx, changes[p:p+1000])
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatalf("export %s: %v", r.ID, r.Err)
				}
			}
		}
		sess.Close(ctx)
		b.StopTimer()
		c.Close()
		b.StartTimer()
	}
	b.StopTimer()
	clean()
}
