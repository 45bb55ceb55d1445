// Package quickstart is the example `idsync quickstart` runs: an HR CSV
// export of about 1,000 people (hr.csv), a directory CSV that idsync
// provisions (directory.csv), and the configuration that connects them
// (idsync.yaml). FS holds those files; Changes describes the edits the
// quickstart makes to hr.csv before its delta cycle.
package quickstart

//go:generate go run ./internal/gen -o hr.csv

import (
	"embed"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
)

// FS holds idsync.yaml, hr.csv and directory.csv.
//
//go:embed idsync.yaml hr.csv directory.csv
var FS embed.FS

// Facts about hr.csv that the quickstart's output (and its tests) rely on.
const (
	People      = 1000 // distinct employeeIds
	Leavers     = 30   // status leaver: out of the "active employees" scope
	Active      = People - Leavers
	DuplicateID = "E0500" // appears twice
	// DuplicateLine is the line of the second E0500 row (line 1 is the header).
	DuplicateLine = 502

	RenamedID    = "E0321" // Felix Rossi marries: sn and displayName change
	RenamedSN    = "Lindqvist"
	LeaverID     = "E0654" // becomes a leaver: deprovisioned from the directory
	ChangedID    = "E0777" // gets a new title
	ChangedTitle = "Lead Coordinator"
	HireID       = "E1001" // a new hire
)

// ApplyChanges edits dir/hr.csv as HR would between two runs: one rename,
// one leaver, one title change and one new hire. It returns a line per
// change, for display.
func ApplyChanges(dir string) ([]string, error) {
	path := filepath.Join(dir, "hr.csv")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("quickstart: read %s: %w", path, err)
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("quickstart: %s has no rows", path)
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	var done []string
	for _, r := range rows[1:] {
		switch r[col["employeeId"]] {
		case RenamedID:
			old := r[col["displayName"]]
			r[col["sn"]] = RenamedSN
			r[col["displayName"]] = r[col["givenName"]] + " " + RenamedSN
			done = append(done, fmt.Sprintf("rename      %s  %q → %q", RenamedID, old, r[col["displayName"]]))
		case LeaverID:
			r[col["status"]] = "leaver"
			done = append(done, fmt.Sprintf("leaver      %s  %s leaves (status active → leaver)", LeaverID, r[col["displayName"]]))
		case ChangedID:
			old := r[col["title"]]
			r[col["title"]] = ChangedTitle
			done = append(done, fmt.Sprintf("new title   %s  %q → %q", ChangedID, old, ChangedTitle))
		}
	}
	hire := make([]string, len(rows[0]))
	set := func(name, v string) { hire[col[name]] = v }
	set("employeeId", HireID)
	set("givenName", "Ines")
	set("sn", "Ortiz")
	set("displayName", "Ines Ortiz")
	set("mail", "ines.ortiz@example.com")
	set("department", "Engineering")
	set("title", "Engineer")
	set("manager", "E0007")
	set("status", "active")
	set("hireDate", "2026-01-05")
	rows = append(rows, hire)
	done = append(done, fmt.Sprintf("new hire    %s  Ines Ortiz, Engineer, reports to E0007", HireID))

	tmp := path + ".tmp"
	out, err := os.Create(tmp)
	if err != nil {
		return nil, err
	}
	w := csv.NewWriter(out)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		out.Close()
		return nil, err
	}
	if err := out.Close(); err != nil {
		return nil, err
	}
	return done, os.Rename(tmp, path)
}
