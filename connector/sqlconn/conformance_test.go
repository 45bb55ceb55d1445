package sqlconn

import (
	"context"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/connectortest"
)

const personDDL = `CREATE TABLE person (uid {key} PRIMARY KEY, cn {text}, age {int}, active {bool}, photo {blob}, born {time}, manager {key});
CREATE TABLE person_mail (uid {key} NOT NULL, mail {text});
CREATE TABLE person_member (uid {key} NOT NULL, member {key})`

func (tdb *testDB) createPerson() {
	for _, stmt := range splitStmts(personDDL) {
		tdb.exec(stmt)
	}
}

func splitStmts(s string) []string {
	var out []string
	for _, p := range splitOn(s, ';') {
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

func splitOn(s string, sep byte) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == sep {
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func personType() ObjectType {
	return ObjectType{
		Name: "person", Table: "person", Anchor: []string{"uid"}, References: []string{"manager"},
		MultiValued: []MultiValued{
			{Attribute: "mail", Table: "person_mail", ParentColumns: []string{"uid"}, ValueColumn: "mail"},
			{Attribute: "member", Table: "person_member", ParentColumns: []string{"uid"}, ValueColumn: "member", Type: "reference"},
		},
		Delta: &Delta{Mode: DeltaSnapshot},
	}
}

// seedPeople writes objs into person and its child tables with plain SQL.
func (tdb *testDB) seedPeople(objs []idsync.Entry) {
	tdb.t.Helper()
	tdb.exec(`DELETE FROM person_mail`)
	tdb.exec(`DELETE FROM person_member`)
	tdb.exec(`DELETE FROM person`)
	for _, e := range objs {
		args := []any{}
		for _, col := range []string{"uid", "cn", "age", "active", "photo", "born", "manager"} {
			v := e.Attrs.Get(col)
			if v.IsZero() {
				args = append(args, nil)
				continue
			}
			x, err := toDB(v, 0)
			if err != nil {
				tdb.t.Fatal(err)
			}
			args = append(args, x)
		}
		tdb.exec(`INSERT INTO person (uid, cn, age, active, photo, born, manager) VALUES (?, ?, ?, ?, ?, ?, ?)`, args...)
		for _, v := range e.Attrs["mail"] {
			tdb.exec(`INSERT INTO person_mail (uid, mail) VALUES (?, ?)`, e.Attrs.Get("uid").Str, v.Str)
		}
		for _, v := range e.Attrs["member"] {
			tdb.exec(`INSERT INTO person_member (uid, member) VALUES (?, ?)`, e.Attrs.Get("uid").Str, v.Str)
		}
	}
}

// TestConformance runs the connector conformance suite on SQLite and on
// each real server.
func TestConformance(t *testing.T) {
	eachDB(t, func(t *testing.T, tdb *testDB) {
		tdb.createPerson()
		cfg := tdb.config(personType())
		connectortest.Run(t, connectortest.Harness{
			Seed: func(t *testing.T, objs []idsync.Entry) { tdb.t = t; tdb.seedPeople(objs) },
			Open: func(t *testing.T) connector.Connector {
				c, err := cfg.Open(context.Background(), testEnv())
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				return c
			},
			ObjectType: "person",
			Key:        "uid",
			Attributes: []idsync.AttrDef{
				{Name: "cn", Type: idsync.TypeString},
				{Name: "age", Type: idsync.TypeInteger},
				{Name: "active", Type: idsync.TypeBoolean},
				{Name: "photo", Type: idsync.TypeBinary},
				{Name: "born", Type: idsync.TypeDateTime},
				{Name: "manager", Type: idsync.TypeReference},
				{Name: "mail", Type: idsync.TypeString, MultiValued: true},
				{Name: "member", Type: idsync.TypeReference, MultiValued: true},
			},
			Capabilities: cfg.Capabilities(),
		})
	})
}
