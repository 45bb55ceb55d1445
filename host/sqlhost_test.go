package host_test

import (
	"context"
	"database/sql"
	"errors"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"

	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/connector/sqlconn"
	"github.com/idsync/idsync/engine"
	connectorhost "github.com/idsync/idsync/examples/connector-host"
	"github.com/idsync/idsync/host"
	"github.com/idsync/idsync/store/pgstore/pgtest"
	"github.com/idsync/idsync/store/sqlstore"
)

// startHost starts the host of dir/host.yaml over the idsync
// configuration dir/config (sql and csv connectors) and a SQLite store
// there, refreshed once; it stops when t ends.
func startHost(t testing.TB, dir string) (*httptest.Server, *host.Server) {
	t.Helper()
	ctx := context.Background()
	reg := connector.NewRegistry(sqlconn.Type, csvconn.Type)
	cfg, err := config.Load(filepath.Join(dir, "config"), reg)
	if err != nil {
		t.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "config", "idsync.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		t.Fatal(err)
	}
	hc, err := host.LoadConfig(filepath.Join(dir, "host.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	srv, err := host.New(ctx, host.Options{Config: hc, Engine: e, Store: st, Secret: func(string) (string, error) { return "entra-token", nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	t.Cleanup(func() { hs.Close(); srv.Close(ctx); st.Close() })
	return hs, srv
}

// copySQLExample copies the configuration of examples/connector-host to
// a temporary directory and creates its database there, as the example's
// setup command does; it returns the directory and the database, open
// for the test's own reads and out-of-band writes.
func copySQLExample(t *testing.T) (string, *appDB) {
	t.Helper()
	dir := t.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml"} {
		b, err := os.ReadFile(filepath.Join("..", "examples", "connector-host", f))
		if err != nil {
			t.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config", "app.db")
	if err := connectorhost.CreateDatabase(context.Background(), path); err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return dir, &appDB{db: db}
}

// appDB is the users table of the example's schema (config/app.sql) in
// the database behind the host.
type appDB struct {
	db *sql.DB
	pg bool // PostgreSQL: $n placeholders
}

func (a *appDB) bind(q string) string {
	if !a.pg {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

func (a *appDB) exec(t *testing.T, q string, args ...any) {
	t.Helper()
	if _, err := a.db.Exec(a.bind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

// row returns the row with id as its columns joined by commas (NULL as
// nothing), "" when there is none.
func (a *appDB) row(t *testing.T, id string) string {
	t.Helper()
	var cols [8]sql.NullString
	var active bool
	ptrs := []any{}
	for i := range cols {
		ptrs = append(ptrs, &cols[i])
	}
	err := a.db.QueryRow(a.bind(`SELECT user_name, employee_id, given_name, family_name, display_name, mail, title, department, active
		FROM users WHERE id = ?`), id).Scan(append(ptrs, &active)...)
	if errors.Is(err, sql.ErrNoRows) {
		return ""
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range cols {
		out = append(out, c.String)
	}
	return strings.Join(out, ",") + "," + strconv.FormatBool(active)
}

// count counts the rows of the users table.
func (a *appDB) count(t *testing.T) int {
	t.Helper()
	var n int
	if err := a.db.QueryRow(`SELECT count(*) FROM users`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// idOf returns the id the database gave the row of userName.
func (a *appDB) idOf(t *testing.T, userName string) string {
	t.Helper()
	var id int64
	if err := a.db.QueryRow(a.bind(`SELECT id FROM users WHERE user_name = ?`), userName).Scan(&id); err != nil {
		t.Fatalf("the id of %s in the database: %v", userName, err)
	}
	return strconv.FormatInt(id, 10)
}

// TestSpec11_CloudClientEndToEnd drives `idsync host` over the example
// of examples/connector-host — the sql connector on a SQLite database —
// as the Entra provisioning service does, and checks every write in the
// database: the SCIM id of a created user is the id the database
// assigned its row (INTEGER PRIMARY KEY), and reads, PATCH, PUT and
// DELETE by that id reach that row.
func TestSpec11_CloudClientEndToEnd(t *testing.T) {
	dir, db := copySQLExample(t)
	hs, srv := startHost(t, dir)
	// A row added behind the host's back with a high id: the id of the
	// next row, and of the user the client creates, is 42.
	db.exec(t, `INSERT INTO users (id, user_name, active) VALUES (41, 'gap@example.com', FALSE)`)
	cloudClientScenario(t, hs.URL+"/scim/app", srv, db, "1", "42")
}

// TestSpec11_CloudClientEndToEndPostgres is the same scenario over the
// sql connector on PostgreSQL (IDSYNC_TEST_POSTGRES_DSN; a private
// schema), the users table's id an identity column starting at 1000.
func TestSpec11_CloudClientEndToEndPostgres(t *testing.T) {
	dsn := pgtest.Schema(t)
	pdb, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pdb.Close() })
	db := &appDB{db: pdb, pg: true}
	db.exec(t, `CREATE TABLE users (
		id           bigint GENERATED ALWAYS AS IDENTITY (START WITH 1000) PRIMARY KEY,
		user_name    text NOT NULL,
		employee_id  text,
		given_name   text,
		family_name  text,
		display_name text,
		mail         text,
		title        text,
		department   text,
		active       boolean NOT NULL DEFAULT true)`)
	db.exec(t, `CREATE UNIQUE INDEX users_user_name ON users (lower(user_name))`)
	db.exec(t, `INSERT INTO users (user_name, employee_id, given_name, family_name, display_name, mail, title, department, active)
		VALUES ('ada@example.com', '1001', 'Ada', 'Lovelace', 'Ada Lovelace', 'ada@example.com', 'Analyst', 'Research', true)`)

	// The example's configuration, pointed at PostgreSQL.
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "config"), 0o755)
	hy, err := os.ReadFile(filepath.Join("..", "examples", "connector-host", "host.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "host.yaml"), hy, 0o644)
	iy, err := os.ReadFile(filepath.Join("..", "examples", "connector-host", "config", "idsync.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	conf := strings.Replace(string(iy), "driver: sqlite", "driver: postgres", 1)
	conf = strings.Replace(conf, "dsn: app.db", "dsn: "+strconv.Quote(dsn), 1)
	if conf == string(iy) || !strings.Contains(conf, dsn) {
		t.Fatal("the example's idsync.yaml no longer has driver: sqlite and dsn: app.db")
	}
	os.WriteFile(filepath.Join(dir, "config", "idsync.yaml"), []byte(conf), 0o644)

	hs, srv := startHost(t, dir)
	cloudClientScenario(t, hs.URL+"/scim/app", srv, db, "1000", "1001")
}

// cloudClientScenario is the Entra provisioning service's life with a
// user — look up by userName, create, read, PATCH (capitalised ops,
// "False" as a string, a value-filtered e-mail path), PUT, disable,
// delete — against a host over the example's users table in db, where
// ada@example.com has id adaID and the next row gets wantID.
func cloudClientScenario(t *testing.T, base string, srv *host.Server, db *appDB, adaID, wantID string) {
	filter := func(f string) string { return base + "/Users?" + url.Values{"filter": {f}}.Encode() }

	// 1. Entra looks the user up before creating it.
	st, lr := entra(t, "GET", filter(`userName eq "alan@example.com"`), "")
	if st != 200 || lr["totalResults"] != float64(0) {
		t.Fatalf("lookup of a new user: %d %v", st, lr)
	}
	// 2. Create: the SCIM id is the key the database assigned.
	st, u := entra(t, "POST", base+"/Users", `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],
		"externalId":"1003","userName":"alan@example.com","active":true,"displayName":"Alan Turing",
		"emails":[{"primary":true,"type":"work","value":"alan@example.com"}],
		"meta":{"resourceType":"User"},"name":{"formatted":"Alan Turing","familyName":"Turing","givenName":"Alan"},
		"title":"Mathematician","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"Hut 8"}}`)
	if st != 201 {
		t.Fatalf("create: %d %v", st, u)
	}
	id, _ := u["id"].(string)
	if got := db.idOf(t, "alan@example.com"); id != got || id != wantID {
		t.Fatalf("create returned id %q; the database gave the row id %s; want %s", id, got, wantID)
	}
	if loc := u["meta"].(map[string]any)["location"]; loc != base+"/Users/"+id {
		t.Errorf("meta.location = %v", loc)
	}
	if row := db.row(t, id); row != "alan@example.com,1003,Alan,Turing,Alan Turing,alan@example.com,Mathematician,Hut 8,true" {
		t.Errorf("row %s after create: %q", id, row)
	}
	// 3. Read back by id and by externalId.
	if st, got := entra(t, "GET", base+"/Users/"+id, ""); st != 200 || got["displayName"] != "Alan Turing" || got["id"] != id {
		t.Errorf("get: %d %v", st, got)
	}
	if st, lr := entra(t, "GET", filter(`externalId eq "1003"`), ""); st != 200 || lr["totalResults"] != float64(1) ||
		lr["Resources"].([]any)[0].(map[string]any)["id"] != id {
		t.Errorf("lookup by externalId: %d %v", st, lr)
	}
	// 4. Entra's PATCH.
	st, got := entra(t, "PATCH", base+"/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[
		{"op":"Replace","path":"displayName","value":"Alan M. Turing"},
		{"op":"Replace","path":"emails[type eq \"work\"].value","value":"turing@example.com"},
		{"op":"Add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"Bletchley Park"},
		{"op":"Remove","path":"title"}]}`)
	if st != 200 || got["displayName"] != "Alan M. Turing" || got["id"] != id {
		t.Fatalf("patch: %d %v", st, got)
	}
	if row := db.row(t, id); row != "alan@example.com,1003,Alan,Turing,Alan M. Turing,turing@example.com,,Bletchley Park,true" {
		t.Errorf("row after PATCH: %q", row)
	}
	// 5. PUT: the resource replaced as a whole (department dropped).
	st, got = entra(t, "PUT", base+"/Users/"+id, `{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"id":"`+id+`",
		"userName":"alan@example.com","externalId":"1003","active":true,"displayName":"Alan Turing",
		"name":{"givenName":"Alan","familyName":"Turing"},"emails":[{"type":"work","value":"alan@example.com"}],"title":"Cryptanalyst"}`)
	if st != 200 || got["title"] != "Cryptanalyst" {
		t.Fatalf("put: %d %v", st, got)
	}
	if row := db.row(t, id); row != "alan@example.com,1003,Alan,Turing,Alan Turing,alan@example.com,Cryptanalyst,,true" {
		t.Errorf("row after PUT: %q", row)
	}
	// 6. Disable, as Entra sends it (a string).
	st, got = entra(t, "PATCH", base+"/Users/"+id, `{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"active","value":"False"}]}`)
	if st != 200 || got["active"] != false {
		t.Fatalf("disable: %d %v", st, got)
	}
	if row := db.row(t, id); !strings.HasSuffix(row, ",false") {
		t.Errorf("row after disable: %q", row)
	}
	// 7. Changes made in the database out of band reach the host with a
	// refresh, under the ids the database gave.
	db.exec(t, `UPDATE users SET title = 'Countess' WHERE user_name = 'ada@example.com'`)
	db.exec(t, `INSERT INTO users (user_name, display_name, active) VALUES ('joan@example.com', 'Joan Clarke', TRUE)`)
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, got := entra(t, "GET", base+"/Users/"+adaID, ""); got["title"] != "Countess" || got["userName"] != "ada@example.com" {
		t.Errorf("after an out-of-band change and a refresh, user %s = %v", adaID, got)
	}
	joan := db.idOf(t, "joan@example.com")
	if _, lr := entra(t, "GET", filter(`userName eq "joan@example.com"`), ""); lr["totalResults"] != float64(1) ||
		lr["Resources"].([]any)[0].(map[string]any)["id"] != joan {
		t.Errorf("a row added out of band, found by userName: %v, want id %s", lr, joan)
	}
	// 8. Delete.
	if st, _ := entra(t, "DELETE", base+"/Users/"+id, ""); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if row := db.row(t, id); row != "" {
		t.Errorf("the database still has %q after delete", row)
	}
	if st, _ := entra(t, "GET", base+"/Users/"+id, ""); st != 404 {
		t.Errorf("get after delete: %d, want 404", st)
	}
	if row := db.row(t, adaID); !strings.HasPrefix(row, "ada@example.com,") {
		t.Errorf("ada's row after another user's delete: %q", row)
	}
	// The next refresh agrees: the deleted user stays gone, the others stay.
	if err := srv.Refresh(context.Background()); err != nil {
		t.Fatalf("refresh after the delete: %v", err)
	}
	if st, _ := entra(t, "GET", base+"/Users/"+id, ""); st != 404 {
		t.Errorf("get after delete and refresh: %d, want 404", st)
	}
	if st, lr := entra(t, "GET", base+"/Users", ""); st != 200 || lr["totalResults"] != float64(db.count(t)) {
		t.Errorf("list after delete and refresh: %d %v, want the %d rows of the table", st, lr["totalResults"], db.count(t))
	}
}
