package csv_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/connector/csv"
)

// TestSpec13_ResumeAfterCommittedRows: a full import resumed from the
// position reported after row k emits only the rows after it, reports
// the same watermark as a whole import, and still finds a duplicate of a
// row before the position; a changed file or an unreadable position is
// ErrResumeInvalid before anything is emitted.
func TestSpec13_ResumeAfterCommittedRows(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hr.csv")
	content := "id,name\n1,Ada\n2,Bob\n\"3\",\"Cy\nwith a newline\"\n4,Dee\n2,Twice\n5,Eve\n"
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	c := mustOpen(t, &csv.Config{Path: "hr.csv", Anchor: []string{"id"}}, dir)
	ri := c.(connector.ResumableImporter)
	ctx := context.Background()

	// A whole import, keeping the position after each row.
	var positions [][]byte
	var all []idsync.Entry
	whole, err := ri.Import(ctx, connector.ImportOptions{}, func(e idsync.Entry) error {
		all = append(all, e)
		positions = append(positions, ri.ImportPosition())
		return nil
	})
	if err != nil || len(all) != 6 {
		t.Fatalf("Import: %d entries, %v", len(all), err)
	}

	for k := range all {
		var got []idsync.Entry
		wm, err := ri.Import(ctx, connector.ImportOptions{Resume: positions[k]}, func(e idsync.Entry) error {
			got = append(got, e)
			return nil
		})
		if err != nil {
			t.Fatalf("resume after row %d: %v", k+1, err)
		}
		if len(got) != len(all)-k-1 {
			t.Fatalf("resume after row %d emitted %d entries, want %d", k+1, len(got), len(all)-k-1)
		}
		for i, e := range got {
			w := all[k+1+i]
			if e.Source != w.Source || e.Anchor != w.Anchor || (e.Err == nil) != (w.Err == nil) || !e.Attrs.Equal(w.Attrs) {
				t.Errorf("resume after row %d: entry %d = %s %q (err %v), want %s %q (err %v)", k+1, i, e.Source, e.Anchor, e.Err, w.Source, w.Anchor, w.Err)
			}
		}
		if !bytes.Equal(wm, whole) {
			t.Errorf("resume after row %d: the watermark differs from a whole import's", k+1)
		}
	}
	if all[4].Err == nil {
		t.Fatalf("the duplicate row 2 was not reported: %+v", all[4])
	}

	// The file changes: the position no longer applies.
	later := time.Now().Add(time.Hour)
	if err := os.Chtimes(path, later, later); err != nil {
		t.Fatal(err)
	}
	for name, pos := range map[string][]byte{"changed file": positions[2], "unreadable position": []byte("{nonsense")} {
		emitted := 0
		_, err := ri.Import(ctx, connector.ImportOptions{Resume: pos}, func(idsync.Entry) error { emitted++; return nil })
		if !errors.Is(err, connector.ErrResumeInvalid) || emitted != 0 {
			t.Errorf("%s: Import = %v after %d entries, want ErrResumeInvalid before any", name, err, emitted)
		}
	}
}
