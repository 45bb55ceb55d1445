// Package pgtest gives tests a private schema of the PostgreSQL database
// named by IDSYNC_TEST_POSTGRES_DSN. Tests of several packages share that
// database at once: each gets its own uniquely named schema, dropped when
// the test ends.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// EnvDSN is the environment variable naming the test database.
const EnvDSN = "IDSYNC_TEST_POSTGRES_DSN"

// DSN returns the test database's DSN. It skips the test when the
// variable is unset, and fails it instead under CI=true.
func DSN(tb testing.TB) string {
	tb.Helper()
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatalf("%s is not set (CI=true: PostgreSQL tests must run)", EnvDSN)
		}
		tb.Skipf("%s is not set", EnvDSN)
	}
	return dsn
}

// Schema creates a new, empty schema in the test database and returns a
// DSN whose connections use it (search_path). The schema and everything
// in it is dropped when the test ends.
func Schema(tb testing.TB) string {
	tb.Helper()
	base := DSN(tb)
	var b [6]byte
	rand.Read(b[:])
	name := "idsync_t_" + strings.ToLower(hex.EncodeToString(b[:]))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to %s: %v", EnvDSN, err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+name); err != nil {
		tb.Fatalf("pgtest: create schema %s: %v", name, err)
	}
	tb.Cleanup(func() { Drop(tb, base, name) })
	return WithSchema(tb, base, name)
}

// WithSchema returns dsn with its connections' search_path set to schema.
func WithSchema(tb testing.TB, dsn, schema string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatalf("pgtest: %s: %v", EnvDSN, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Drop drops schema and everything in it.
func Drop(tb testing.TB, dsn, schema string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		tb.Errorf("pgtest: drop schema %s: %v", schema, err)
		return
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+schema+" CASCADE"); err != nil {
		tb.Errorf("pgtest: drop schema %s: %v", schema, err)
	}
}
