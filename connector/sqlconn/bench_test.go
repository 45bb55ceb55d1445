package sqlconn

import (
	"context"
	"fmt"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

// benchRows is the size of the import benchmarks' table.
const benchRows = 1_000_000

// fillBench creates bench (id, 15 strings, two integers, a boolean) with
// n rows on the server side.
func fillBench(b *testing.B, tdb *testDB, n int) {
	b.Helper()
	cols := "id {key} PRIMARY KEY"
	sel := "'e' || lpad(g::text, 8, '0')"
	for i := 1; i <= 15; i++ {
		cols += fmt.Sprintf(", s%02d {text}", i)
		sel += fmt.Sprintf(", 'value-%d-' || (g %% 9973)", i)
	}
	cols += ", n1 {int}, n2 {int}, active {bool}"
	sel += ", g, g * 7, true"
	tdb.exec("CREATE TABLE bench (" + cols + ")")
	tdb.exec(fmt.Sprintf("INSERT INTO bench SELECT %s FROM generate_series(1, %d) g", sel, n))
	tdb.exec("ANALYZE bench")
}

// BenchmarkImportPostgres measures a full import of 1,000,000 rows of 19
// columns from PostgreSQL by the connector alone (rows handed to a
// function that drops them).
func BenchmarkImportPostgres(b *testing.B) {
	tdb := newTestDB(b, "postgres")
	fillBench(b, tdb, benchRows)
	c := mustOpen(b, tdb.config(ObjectType{Name: "person", Table: "bench", Anchor: []string{"id"}}))
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		_, err := c.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
			if e.Err != nil {
				return e.Err
			}
			n++
			return nil
		})
		if err != nil || n != benchRows {
			b.Fatalf("Import: %d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// BenchmarkImportPostgresEngine measures the same import through the
// engine into the connector space of a fresh SQLite store (each
// iteration imports into an empty store).
func BenchmarkImportPostgresEngine(b *testing.B) {
	tdb := newTestDB(b, "postgres")
	fillBench(b, tdb, benchRows)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		e, _ := engineForYAML(b, fmt.Sprintf(`metaverse:
  objectTypes:
    - {name: person, attributes: [{name: s01, type: string}]}
connectors:
  - name: hr
    type: sql
    settings:
      driver: postgres
      dsn: %q
      pageSize: 10000
      objectTypes:
        - {name: person, table: bench, anchor: [id]}
`, tdb.dsn), nil)
		b.StartTimer()
		res, err := e.RunSteps(context.Background(), "hr", "full-import", []idsync.RunStep{{Type: idsync.StepFullImport}})
		if err != nil || res.Status != idsync.StatusSuccess || res.Counters.ImportAdds != benchRows {
			b.Fatalf("import: %v %+v", err, res)
		}
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
}

// benchExport exports 100,000 inserts of 19 columns in pages of 1,000
// (the engine's default export page) by the connector alone. With
// generated, the database assigns the anchor (a serial id) and the
// inserts carry the 18 other columns.
func benchExport(b *testing.B, kind string, generated bool) {
	const n, page = 100_000, 1000
	tdb := newTestDB(b, kind)
	cols := "id {key} PRIMARY KEY"
	if generated {
		cols = "id {serial}"
	}
	for i := 1; i <= 15; i++ {
		cols += fmt.Sprintf(", s%02d {text}", i)
	}
	tdb.exec("CREATE TABLE bench (" + cols + ", n1 {int}, n2 {int}, active {bool})")
	c := mustOpen(b, tdb.config(ObjectType{Name: "person", Table: "bench", Anchor: []string{"id"}, Generated: generated}))
	changes := make([]idsync.Change, n)
	for i := range changes {
		a := idsync.Attrs{"id": {idsync.String(fmt.Sprintf("e%08d", i))}, "n1": {idsync.Int(int64(i))}, "n2": {idsync.Int(int64(i * 7))}, "active": {idsync.Bool(true)}}
		if generated {
			delete(a, "id")
		}
		for j := 1; j <= 15; j++ {
			a[fmt.Sprintf("s%02d", j)] = []idsync.Value{idsync.String(fmt.Sprintf("value-%d-%d", j, i%9973))}
		}
		changes[i] = idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "person", Mods: idsync.ModsFromAttrs(a)}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		tdb.exec("DELETE FROM bench")
		b.StartTimer()
		s, err := c.OpenExport(ctx, connector.ExportOptions{PageSize: page})
		if err != nil {
			b.Fatal(err)
		}
		for start := 0; start < n; start += page {
			res, err := s.ExportPage(ctx, changes[start:start+page])
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatalf("%s: %v", r.ID, r.Err)
				}
			}
		}
		s.Close(ctx)
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	if got := tdb.count("SELECT COUNT(*) FROM bench"); got != n {
		b.Fatalf("bench holds %d rows, want %d", got, n)
	}
}

// BenchmarkExportPostgres: 100,000 inserts into PostgreSQL.
func BenchmarkExportPostgres(b *testing.B) { benchExport(b, "postgres", false) }

// BenchmarkExportPostgresGenerated: 100,000 inserts into PostgreSQL of
// rows whose anchor the database assigns.
func BenchmarkExportPostgresGenerated(b *testing.B) { benchExport(b, "postgres", true) }

// BenchmarkExportMySQL: 100,000 inserts into MariaDB.
func BenchmarkExportMySQL(b *testing.B) { benchExport(b, "mysql", false) }

// BenchmarkExportMySQLGenerated: 100,000 inserts into MariaDB of rows
// whose anchor the database assigns (AUTO_INCREMENT).
func BenchmarkExportMySQLGenerated(b *testing.B) { benchExport(b, "mysql", true) }

// BenchmarkExportSQLite: 100,000 inserts into SQLite.
func BenchmarkExportSQLite(b *testing.B) { benchExport(b, "sqlite", false) }
