package csv_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

func addChanges(from, to int) []idsync.Change {
	var out []idsync.Change
	for i := from; i < to; i++ {
		id := fmt.Sprint(i)
		out = append(out, idsync.Change{Op: idsync.OpAdd, ID: "c" + id, ObjectType: "person",
			Mods: []idsync.AttrMod{{Name: "id", Values: []idsync.Value{idsync.String(id)}}, {Name: "name", Values: []idsync.Value{idsync.String("Person " + id)}}}})
	}
	return out
}

func countRows(t *testing.T, path string) (int, map[string]int) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	for _, l := range lines[1:] {
		id, _, _ := strings.Cut(l, ",")
		seen[id]++
	}
	return len(lines) - 1, seen
}

// TestExportCheckpointBoundsMemory: a long session writes its changes to
// the file every N changed rows, so that memory stays bounded, and the
// result is the same as one write at Close.
func TestExportCheckpointBoundsMemory(t *testing.T) {
	dir := t.TempDir()
	cfg := &csv.Config{Path: "out.csv", Anchor: []string{"id"}, Columns: []string{"id", "name"}}
	csv.SetCheckpoint(cfg, 3)
	c := mustOpen(t, cfg, dir)
	s, err := c.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i += 2 {
		res, err := s.ExportPage(context.Background(), addChanges(i, i+2))
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range res {
			if r.Err != nil {
				t.Fatalf("result %s: %v", r.ID, r.Err)
			}
		}
		if i == 2 {
			// after 4 rows, one checkpoint has written them
			if n, _ := countRows(t, filepath.Join(dir, "out.csv")); n != 4 {
				t.Fatalf("after a checkpoint the file holds %d rows, want 4", n)
			}
		}
	}
	if err := s.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	n, seen := countRows(t, filepath.Join(dir, "out.csv"))
	if n != 10 || len(seen) != 10 {
		t.Fatalf("file holds %d rows (%d distinct), want 10", n, len(seen))
	}
	if _, err := os.Stat(filepath.Join(dir, "out.csv.journal")); !os.IsNotExist(err) {
		t.Fatalf("journal left after Close: %v", err)
	}
}

// TestExportCheckpointThenCrash: a crash after a checkpoint keeps every
// acknowledged row exactly once, and a resent page adds no duplicate.
func TestExportCheckpointThenCrash(t *testing.T) {
	dir := t.TempDir()
	cfg := &csv.Config{Path: "out.csv", Anchor: []string{"id"}, Columns: []string{"id", "name"}}
	csv.SetCheckpoint(cfg, 3)
	c1, err := cfg.Open(context.Background(), testEnv(dir))
	if err != nil {
		t.Fatal(err)
	}
	s, _ := c1.(connector.Exporter).OpenExport(context.Background(), connector.ExportOptions{})
	for i := 0; i < 6; i += 2 {
		if _, err := s.ExportPage(context.Background(), addChanges(i, i+2)); err != nil {
			t.Fatal(err)
		}
	}
	c1.Close() // dies without closing the session: rows 4 and 5 are only in the journal
	c2 := mustOpen(t, cfg, dir)
	exportPages(t, c2, addChanges(4, 6), addChanges(6, 7)) // the engine resends its uncommitted page
	n, seen := countRows(t, filepath.Join(dir, "out.csv"))
	if n != 7 {
		t.Fatalf("file holds %d rows, want 7: %v", n, seen)
	}
	for id, k := range seen {
		if k != 1 {
			t.Fatalf("row %s appears %d times", id, k)
		}
	}
}
