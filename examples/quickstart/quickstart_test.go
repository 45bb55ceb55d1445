package quickstart_test

import (
	"encoding/csv"
	"os"
	"path/filepath"
	"testing"

	"github.com/idsync/idsync/examples/quickstart"
)

// TestFacts checks the constants the quickstart's output relies on
// against the committed hr.csv.
func TestFacts(t *testing.T) {
	f, err := quickstart.FS.Open("hr.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	leavers := 0
	for i, r := range rows[1:] {
		line := i + 2
		if first, dup := seen[r[0]]; dup {
			if r[0] != quickstart.DuplicateID || line != quickstart.DuplicateLine {
				t.Errorf("line %d repeats %s (first at line %d); want only %s at line %d", line, r[0], first, quickstart.DuplicateID, quickstart.DuplicateLine)
			}
			continue
		}
		seen[r[0]] = line
		if r[8] == "leaver" {
			leavers++
		}
	}
	if len(seen) != quickstart.People || leavers != quickstart.Leavers {
		t.Errorf("hr.csv: %d people, %d leavers; want %d, %d", len(seen), leavers, quickstart.People, quickstart.Leavers)
	}
}

func TestApplyChanges(t *testing.T) {
	dir := t.TempDir()
	b, _ := quickstart.FS.ReadFile("hr.csv")
	if err := os.WriteFile(filepath.Join(dir, "hr.csv"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	changes, err := quickstart.ApplyChanges(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(changes) != 4 {
		t.Errorf("ApplyChanges made %d changes, want 4: %q", len(changes), changes)
	}
}
