package sqlconn

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/go-sql-driver/mysql"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// testDB is an isolated database for one test: a SQLite file, a
// PostgreSQL schema or a MariaDB database, dropped when the test ends.
type testDB struct {
	t      testing.TB
	kind   string // sqlite, postgres, mysql
	d      dialect
	dsn    string  // the connector's DSN (the test's schema or database)
	db     *sql.DB // for the test's own statements
	name   string  // schema or database name
	server string  // host:port of the real server (postgres, mysql)
}

// dsnEnv is the environment variable of each server.
var dsnEnv = map[string]string{"postgres": "IDSYNC_TEST_POSTGRES_DSN", "mysql": "IDSYNC_TEST_MYSQL_DSN"}

// eachDB runs f as a subtest on SQLite and on every server configured
// by IDSYNC_TEST_* (skipped when unset, failed when unset under CI=true).
func eachDB(t *testing.T, f func(t *testing.T, db *testDB)) {
	for _, kind := range []string{"sqlite", "postgres", "mysql"} {
		t.Run(kind, func(t *testing.T) {
			f(t, newTestDB(t, kind))
		})
	}
}

func serverDSN(t testing.TB, kind string) string {
	v := os.Getenv(dsnEnv[kind])
	if v == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set (required under CI=true)", dsnEnv[kind])
		}
		t.Skipf("%s is not set", dsnEnv[kind])
	}
	return v
}

func randName() string {
	b := make([]byte, 6)
	rand.Read(b)
	return "idsync_t_" + hex.EncodeToString(b)
}

func newTestDB(t testing.TB, kind string) *testDB {
	t.Helper()
	d, _ := dialectFor(kind)
	tdb := &testDB{t: t, kind: kind, d: d, name: randName()}
	ctx := context.Background()
	switch kind {
	case "sqlite":
		tdb.dsn = filepath.Join(t.TempDir(), "test.db")
		db, err := sql.Open("sqlite", tdb.dsn+"?_pragma=busy_timeout(10000)&_time_format=sqlite")
		if err != nil {
			t.Fatal(err)
		}
		db.SetMaxOpenConns(1)
		tdb.db = db
		t.Cleanup(func() { db.Close() })
	case "postgres":
		base := serverDSN(t, kind)
		admin := pgOpen(t, base)
		if _, err := admin.ExecContext(ctx, "CREATE SCHEMA "+tdb.name); err != nil {
			t.Fatalf("create schema: %v", err)
		}
		sep := "?"
		if strings.Contains(base, "?") {
			sep = "&"
		}
		tdb.dsn = base + sep + "search_path=" + tdb.name
		tdb.db = pgOpen(t, tdb.dsn)
		cfg, _ := pgx.ParseConfig(base)
		tdb.server = fmt.Sprintf("%s:%d", cfg.Host, cfg.Port)
		t.Cleanup(func() {
			tdb.db.Close()
			if _, err := admin.ExecContext(ctx, "DROP SCHEMA "+tdb.name+" CASCADE"); err != nil {
				t.Errorf("drop schema: %v", err)
			}
			admin.Close()
		})
	case "mysql":
		base := serverDSN(t, kind)
		mc, err := mysql.ParseDSN(base)
		if err != nil {
			t.Fatal(err)
		}
		admin := myOpen(t, mc)
		if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+tdb.name); err != nil {
			t.Fatalf("create database: %v", err)
		}
		mc.DBName = tdb.name
		tdb.dsn = mc.FormatDSN()
		tdb.db = myOpen(t, mc)
		tdb.server = mc.Addr
		t.Cleanup(func() {
			tdb.db.Close()
			if _, err := admin.ExecContext(ctx, "DROP DATABASE "+tdb.name); err != nil {
				t.Errorf("drop database: %v", err)
			}
			admin.Close()
		})
	}
	return tdb
}

func pgOpen(t testing.TB, dsn string) *sql.DB {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	db := stdlib.OpenDB(*cfg)
	if err := db.Ping(); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return db
}

func myOpen(t testing.TB, mc *mysql.Config) *sql.DB {
	mc = mc.Clone()
	mc.ParseTime = true
	mc.MultiStatements = true
	c, err := mysql.NewConnector(mc)
	if err != nil {
		t.Fatal(err)
	}
	db := sql.OpenDB(c)
	if err := db.Ping(); err != nil {
		t.Fatalf("mysql: %v", err)
	}
	return db
}

// ddl replaces type placeholders with each engine's types.
func (tdb *testDB) ddl(s string) string {
	var r *strings.Replacer
	switch tdb.kind {
	case "postgres":
		r = strings.NewReplacer("{key}", "VARCHAR(64)", "{text}", "TEXT", "{int}", "BIGINT", "{bool}", "BOOLEAN",
			"{blob}", "BYTEA", "{time}", "TIMESTAMPTZ", "{serial}", "SERIAL PRIMARY KEY")
	case "mysql":
		r = strings.NewReplacer("{key}", "VARCHAR(64)", "{text}", "VARCHAR(500)", "{int}", "BIGINT", "{bool}", "BOOLEAN",
			"{blob}", "LONGBLOB", "{time}", "DATETIME(6)", "{serial}", "INT AUTO_INCREMENT PRIMARY KEY")
	default:
		r = strings.NewReplacer("{key}", "TEXT", "{text}", "TEXT", "{int}", "INTEGER", "{bool}", "BOOLEAN",
			"{blob}", "BLOB", "{time}", "TIMESTAMP", "{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT")
	}
	return r.Replace(s)
}

// exec runs statements (placeholders written as ?; each engine's own are
// substituted), failing the test on error.
func (tdb *testDB) exec(q string, args ...any) {
	tdb.t.Helper()
	q = tdb.ddl(q)
	if tdb.kind == "postgres" {
		n := 0
		var b strings.Builder
		for _, r := range q {
			if r == '?' {
				n++
				fmt.Fprintf(&b, "$%d", n)
				continue
			}
			b.WriteRune(r)
		}
		q = b.String()
	}
	if tdb.kind == "mysql" {
		q = strings.ReplaceAll(q, `"`, "`")
	}
	if _, err := tdb.db.ExecContext(context.Background(), q, args...); err != nil {
		tdb.t.Fatalf("%s: %v", q, err)
	}
}

// count returns SELECT COUNT(*) … .
func (tdb *testDB) count(q string, args ...any) int {
	tdb.t.Helper()
	if tdb.kind == "postgres" {
		q = strings.Replace(q, "?", "$1", 1)
	}
	if tdb.kind == "mysql" {
		q = strings.ReplaceAll(q, `"`, "`")
	}
	var n int
	if err := tdb.db.QueryRow(q, args...).Scan(&n); err != nil {
		tdb.t.Fatalf("%s: %v", q, err)
	}
	return n
}

// config returns a connector Config on this database.
func (tdb *testDB) config(types ...ObjectType) *Config {
	return &Config{Driver: tdb.kind, DSN: tdb.dsn, ObjectTypes: types}
}

func testEnv() connector.Env {
	return connector.Env{Name: "test", Logger: slog.New(slog.DiscardHandler), Secret: func(string) (string, error) { return "", fmt.Errorf("no secrets in tests") }}
}

func mustOpen(t testing.TB, cfg *Config) *conn {
	t.Helper()
	if err := cfg.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	c, err := cfg.Open(context.Background(), testEnv())
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*conn)
}

// importAll runs a full import and returns the entries by anchor.
func importAll(t testing.TB, c *conn) (map[idsync.Anchor]idsync.Entry, connector.Watermark) {
	t.Helper()
	out := map[idsync.Anchor]idsync.Entry{}
	wm, err := c.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
		if e.Err != nil {
			t.Errorf("import %s: %v", e.Anchor, e.Err)
		}
		if _, dup := out[e.Anchor]; dup {
			t.Errorf("anchor %s imported twice", e.Anchor)
		}
		out[e.Anchor] = e
		return nil
	})
	if err != nil {
		t.Fatalf("Import: %v", err)
	}
	return out, wm
}

// delta runs a delta import and returns the changes by anchor (the last
// one of each anchor).
func delta(t testing.TB, c *conn, wm connector.Watermark) (map[idsync.Anchor]idsync.Change, connector.Watermark) {
	t.Helper()
	out := map[idsync.Anchor]idsync.Change{}
	next, err := c.ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(ch idsync.Change) error {
		if ch.Err != nil {
			t.Errorf("delta %s: %v", ch.Anchor, ch.Err)
		}
		out[ch.Anchor] = ch
		return nil
	})
	if err != nil {
		t.Fatalf("ImportChanges: %v", err)
	}
	return out, next
}

// proxy is a TCP proxy to a real server that a test can cut, so that the
// database goes away in the middle of a run.
type proxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	cut    bool
}

func newProxy(t testing.TB, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln, target: target}
	go p.serve()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

func (p *proxy) serve() {
	for {
		in, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			in.Close()
			continue
		}
		p.conns = append(p.conns, in, out)
		p.mu.Unlock()
		go func() { io.Copy(out, in); out.Close() }()
		go func() { io.Copy(in, out); in.Close() }()
	}
}

// cutAll closes every proxied connection and refuses new ones until
// restore.
func (p *proxy) cutAll() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for _, c := range p.conns {
		c.Close()
	}
	p.conns = nil
}

func (p *proxy) restore() {
	p.mu.Lock()
	p.cut = false
	p.mu.Unlock()
}

func (p *proxy) stop() {
	p.ln.Close()
	p.cutAll()
}
