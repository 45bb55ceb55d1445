package sqlstore_test

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

const benchPage = 1000

// benchID returns object IDs as the engine would make them: random (v4)
// or time-ordered (v7) UUIDs.
func benchID(v7 bool) string {
	if v7 {
		return uuid.Must(uuid.NewV7()).String()
	}
	return uuid.NewString()
}

// benchAttrs are the 20 string attributes every benchmark object shares:
// the codec does not care, and building them per object would dominate
// the profile.
var benchAttrs = func() idsync.Attrs {
	a := make(idsync.Attrs, 20)
	for j := range 20 {
		a[fmt.Sprintf("attribute%02d", j)] = []idsync.Value{idsync.String(fmt.Sprintf("value %d of a typical object", j))}
	}
	return a
}()

func benchObject(i int, v7 bool) *idsync.CSObject {
	n := strconv.Itoa(i)
	return &idsync.CSObject{
		ID:            benchID(v7),
		Connector:     "hr",
		ObjectType:    "person",
		Anchor:        idsync.Anchor("E" + n),
		DN:            "CN=Person " + n + ",OU=People,DC=example,DC=com",
		Attrs:         benchAttrs,
		PendingImport: idsync.ImportAdd,
		ImportGen:     1,
		Updated:       time.Unix(1700000000, 0),
	}
}

// putPages writes pages of new objects, one transaction each.
func putPages(b *testing.B, db *sqlstore.DB, pages int, next *int, v7 bool) {
	ctx := context.Background()
	for range pages {
		objs := make([]*idsync.CSObject, benchPage)
		for i := range objs {
			objs[i] = benchObject(*next, v7)
			*next++
		}
		tx, err := db.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.PutCS(ctx, objs); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func benchDB(b *testing.B) *sqlstore.DB {
	return MustOpen(b, filepath.Join(b.TempDir(), "bench.db"), sqlstore.Options{})
}

func reportRows(b *testing.B, rows int) {
	b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkPutCS writes pages of 1,000 new CS objects with 20 string
// attributes each, one write transaction per page, on a growing file.
func BenchmarkPutCS(b *testing.B) {
	for _, v7 := range []bool{false, true} {
		b.Run(map[bool]string{false: "uuid4", true: "uuid7"}[v7], func(b *testing.B) {
			db := benchDB(b)
			next := 0
			b.ResetTimer()
			for b.Loop() {
				putPages(b, db, 1, &next, v7)
			}
			reportRows(b, next)
		})
	}
}

// BenchmarkPutCSIndexed is BenchmarkPutCS with two CS attributes indexed.
func BenchmarkPutCSIndexed(b *testing.B) {
	db := benchDB(b)
	if err := db.SetIndexes(context.Background(), store.Indexes{CS: map[string][]string{"hr": {"attribute00", "attribute01"}}}); err != nil {
		b.Fatal(err)
	}
	next := 0
	for b.Loop() {
		putPages(b, db, 1, &next, true)
	}
	reportRows(b, next)
}

// BenchmarkCSByAnchors looks up pages of 1,000 anchors among 100,000
// objects: the first query of a full import page.
func BenchmarkCSByAnchors(b *testing.B) {
	db := benchDB(b)
	const total = 100_000
	next := 0
	putPages(b, db, total/benchPage, &next, false)
	ctx := context.Background()
	tx, err := db.Begin(ctx, false)
	if err != nil {
		b.Fatal(err)
	}
	defer tx.Rollback()
	anchors := make([]idsync.Anchor, benchPage)
	rows, start := 0, 0
	for b.Loop() {
		for i := range anchors {
			anchors[i] = idsync.Anchor("E" + strconv.Itoa((start+i*97)%total))
		}
		start += 7
		m, err := tx.CSByAnchors(ctx, "hr", anchors)
		if err != nil {
			b.Fatal(err)
		}
		if len(m) != benchPage {
			b.Fatalf("found %d, want %d", len(m), benchPage)
		}
		rows += len(m)
	}
	reportRows(b, rows)
}

// BenchmarkListCS reads a connector space in pages of 1,000: the scan of
// a full sync.
func BenchmarkListCS(b *testing.B) {
	db := benchDB(b)
	const total = 100_000
	next := 0
	putPages(b, db, total/benchPage, &next, false)
	ctx := context.Background()
	rows := 0
	after := ""
	for b.Loop() {
		tx, err := db.Begin(ctx, false)
		if err != nil {
			b.Fatal(err)
		}
		objs, err := tx.ListCS(ctx, store.CSFilter{Connector: "hr", After: after, Limit: benchPage})
		tx.Rollback()
		if err != nil {
			b.Fatal(err)
		}
		if len(objs) < benchPage {
			after = ""
		} else {
			after = objs[len(objs)-1].ID
		}
		rows += len(objs)
	}
	reportRows(b, rows)
}

// BenchmarkTouchCS marks pages of 1,000 unchanged objects seen.
func BenchmarkTouchCS(b *testing.B) {
	db := benchDB(b)
	const total = 100_000
	next := 0
	putPages(b, db, total/benchPage, &next, false)
	ctx := context.Background()
	tx, _ := db.Begin(ctx, false)
	all, err := tx.ListCS(ctx, store.CSFilter{Connector: "hr"})
	tx.Rollback()
	if err != nil {
		b.Fatal(err)
	}
	rows, off := 0, 0
	for b.Loop() {
		ids := make([]string, benchPage)
		for i := range ids {
			ids[i] = all[(off+i*31)%total].ID
		}
		off += benchPage
		tx, err := db.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.TouchCS(ctx, ids, 2); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
		rows += benchPage
	}
	reportRows(b, rows)
}

// BenchmarkPutMV writes pages of 1,000 new MV objects with 10 attributes,
// 2 of them indexed, and their lineage.
func BenchmarkPutMV(b *testing.B) {
	db := benchDB(b)
	ctx := context.Background()
	if err := db.SetIndexes(ctx, store.Indexes{MV: []string{"mail", "employeeID"}}); err != nil {
		b.Fatal(err)
	}
	at := time.Unix(1700000000, 0)
	n := 0
	for b.Loop() {
		objs := make([]*idsync.MVObject, benchPage)
		for i := range objs {
			a := idsync.Attrs{
				"mail":       {idsync.String(fmt.Sprintf("person%d@example.com", n))},
				"employeeID": {idsync.String(fmt.Sprintf("E%09d", n))},
			}
			lin := map[string]idsync.Lineage{}
			for j := range 8 {
				name := fmt.Sprintf("attribute%02d", j)
				a[name] = []idsync.Value{idsync.String(fmt.Sprintf("value %d of %d", j, n))}
				lin[name] = idsync.Lineage{Rule: "in-hr", Connector: "hr", CSID: "cs", RunID: "run", At: at, Flow: "Direct " + name}
			}
			objs[i] = &idsync.MVObject{ID: benchID(true), ObjectType: "person", Attrs: a, Lineage: lin, Created: at, Updated: at}
			n++
		}
		tx, err := db.Begin(ctx, true)
		if err != nil {
			b.Fatal(err)
		}
		if err := tx.PutMV(ctx, objs); err != nil {
			b.Fatal(err)
		}
		if err := tx.Commit(); err != nil {
			b.Fatal(err)
		}
	}
	reportRows(b, n)
}
