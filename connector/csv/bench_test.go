package csv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

const benchRows = 100_000

// benchColumns are 20 columns: an anchor, 15 strings, two integers, a
// boolean and a multi-valued column.
var benchColumns = func() []string {
	cols := []string{"id"}
	for i := 1; i <= 15; i++ {
		cols = append(cols, fmt.Sprintf("s%02d", i))
	}
	return append(cols, "n1", "n2", "active", "mail")
}()

func benchConfig() *csv.Config {
	return &csv.Config{
		Path: "bench.csv", Anchor: []string{"id"}, MultiValued: []string{"mail"},
		Types: map[string]string{"n1": "integer", "n2": "integer", "active": "boolean"},
	}
}

func benchRow(i int) []string {
	r := make([]string, 0, len(benchColumns))
	id := "E" + strconv.Itoa(1000000+i)
	r = append(r, id)
	for j := 1; j <= 15; j++ {
		r = append(r, fmt.Sprintf("value-%d-%d", j, i%9973))
	}
	return append(r, strconv.Itoa(i), strconv.Itoa(i*7), "True", id+"@example.com;"+id+"@example.org")
}

func writeBenchFile(b *testing.B, path string, n int) int64 {
	b.Helper()
	rows := make([][]string, 0, n+1)
	rows = append(rows, benchColumns)
	for i := range n {
		rows = append(rows, benchRow(i))
	}
	writeRows(b, path, ",", rows...)
	fi, _ := os.Stat(path)
	return fi.Size()
}

// BenchmarkImport imports a file of 100,000 rows of 20 columns.
func BenchmarkImport(b *testing.B) {
	dir := b.TempDir()
	size := writeBenchFile(b, filepath.Join(dir, "bench.csv"), benchRows)
	c := mustOpen(b, benchConfig(), dir)
	im := c.(connector.Importer)
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		n := 0
		_, err := im.Import(context.Background(), connector.ImportOptions{}, func(e idsync.Entry) error {
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

func benchAttrs(i int) idsync.Attrs {
	r := benchRow(i)
	a := idsync.Attrs{}
	for j, col := range benchColumns {
		switch col {
		case "n1", "n2":
			n, _ := strconv.ParseInt(r[j], 10, 64)
			a[col] = []idsync.Value{idsync.Int(n)}
		case "active":
			a[col] = []idsync.Value{idsync.Bool(true)}
		case "mail":
			a[col] = []idsync.Value{idsync.String(r[0] + "@example.com"), idsync.String(r[0] + "@example.org")}
		default:
			a[col] = []idsync.Value{idsync.String(r[j])}
		}
	}
	return a
}

// BenchmarkExportAdd exports 100,000 new objects of 20 attributes in
// pages of 1,000 into a new file: OpenExport, the pages and Close.
func BenchmarkExportAdd(b *testing.B) {
	pages := make([][]idsync.Change, 0, benchRows/1000)
	for p := 0; p < benchRows/1000; p++ {
		page := make([]idsync.Change, 1000)
		for i := range page {
			n := p*1000 + i
			page[i] = idsync.Change{Op: idsync.OpAdd, ObjectType: "person", ID: strconv.Itoa(n), Mods: idsync.ModsFromAttrs(benchAttrs(n))}
		}
		pages = append(pages, page)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		dir := b.TempDir()
		c := mustOpen(b, benchConfig(), dir)
		b.StartTimer()
		exportBench(b, c, pages)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkExportUpdate exports 100,000 updates (two attributes each) in
// pages of 1,000 to an existing file of 100,000 rows, including Close.
func BenchmarkExportUpdate(b *testing.B) {
	pages := make([][]idsync.Change, 0, benchRows/1000)
	for p := 0; p < benchRows/1000; p++ {
		page := make([]idsync.Change, 1000)
		for i := range page {
			n := p*1000 + i
			page[i] = idsync.Change{Op: idsync.OpUpdate, ID: strconv.Itoa(n), Anchor: idsync.Anchor("E" + strconv.Itoa(1000000+n)), Mods: []idsync.AttrMod{
				{Name: "s01", Values: []idsync.Value{idsync.String("changed")}},
				{Name: "mail", Op: idsync.AttrAdd, Values: []idsync.Value{idsync.String("x@example.net")}},
			}}
		}
		pages = append(pages, page)
	}
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.csv")
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		writeBenchFile(b, path, benchRows)
		c := mustOpen(b, benchConfig(), dir)
		b.StartTimer()
		exportBench(b, c, pages)
	}
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

func exportBench(b *testing.B, c connector.Connector, pages [][]idsync.Change) {
	ctx := context.Background()
	s, err := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{PageSize: 1000})
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pages {
		res, err := s.ExportPage(ctx, p)
		if err != nil {
			b.Fatal(err)
		}
		if res[0].Err != nil {
			b.Fatal(res[0].Err)
		}
	}
	if err := s.Close(ctx); err != nil {
		b.Fatal(err)
	}
}

// deltaBenchRows is benchRows, or IDSYNC_CSV_BENCH_ROWS (to measure a
// million rows: IDSYNC_CSV_BENCH_ROWS=1000000).
func deltaBenchRows(b *testing.B) int {
	if s := os.Getenv("IDSYNC_CSV_BENCH_ROWS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1000 {
			b.Fatalf("IDSYNC_CSV_BENCH_ROWS=%q: want a number of at least 1000", s)
		}
		return n
	}
	return benchRows
}

// BenchmarkDeltaImport runs a delta import of a file of 100,000 rows of
// 20 columns against the snapshot of a full import, after 1% of the rows
// changed (0.8% modified, 0.1% deleted, 0.1% added). rows/s counts the
// rows scanned; heap-MB is the live heap while diffing (at the first
// deletion), beyond the watermark itself.
func BenchmarkDeltaImport(b *testing.B) {
	n := deltaBenchRows(b)
	dir := b.TempDir()
	path := filepath.Join(dir, "bench.csv")
	writeBenchFile(b, path, n)
	c := mustOpen(b, benchConfig(), dir)
	wm, err := c.(connector.Importer).Import(context.Background(), connector.ImportOptions{}, func(idsync.Entry) error { return nil })
	if err != nil {
		b.Fatal(err)
	}
	// Change 1% of the rows.
	rows := make([][]string, 0, n+1)
	rows = append(rows, benchColumns)
	var wantAdd, wantRepl, wantDel int
	for i := range n {
		r := benchRow(i)
		switch {
		case i%1000 == 500: // deleted, and a new row instead
			r = benchRow(n + i)
			wantAdd++
			wantDel++
		case i%100 == 0 || i%1000 == 250: // modified
			r[1] = "changed"
			wantRepl++
		}
		rows = append(rows, r)
	}
	writeRows(b, path, ",", rows...)
	fi, _ := os.Stat(path)
	di := c.(connector.DeltaImporter)
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	base := ms.HeapAlloc
	var heap uint64
	b.SetBytes(fi.Size())
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		var add, repl, del int
		next, err := di.ImportChanges(context.Background(), connector.ImportOptions{}, wm, func(ch idsync.Change) error {
			switch {
			case ch.Err != nil:
				return ch.Err
			case ch.Op == idsync.OpAdd:
				add++
			case ch.Op == idsync.OpReplace:
				repl++
			case ch.Op == idsync.OpDelete:
				if del == 0 && heap == 0 {
					runtime.GC()
					runtime.ReadMemStats(&ms)
					heap = ms.HeapAlloc - base
				}
				del++
			}
			return nil
		})
		if err != nil || next == nil || add != wantAdd || repl != wantRepl || del != wantDel {
			b.Fatalf("ImportChanges: %d adds, %d replaces, %d deletes (want %d, %d, %d), %v", add, repl, del, wantAdd, wantRepl, wantDel, err)
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(heap)/(1<<20), "heap-MB")
	b.ReportMetric(float64(len(wm))/(1<<20), "watermark-MB")
}
