package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/examples/quickstart"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/sqlstore"
)

// step is one run of a scripted sequence.
type step struct{ connector, profile string }

// The quickstart's cycles: HR in, sync, export to the directory, then
// import the directory back to confirm the exports.
var (
	quickstartInitial = []step{
		{"hr", "full-import"}, {"hr", "full-sync"},
		{"directory", "export"}, {"directory", "full-import"}, {"directory", "delta-sync"},
	}
	quickstartDelta = []step{
		{"hr", "full-import"}, {"hr", "delta-sync"},
		{"directory", "export"}, {"directory", "full-import"}, {"directory", "delta-sync"},
	}
)

func (a *app) quickstartCmd() *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "quickstart",
		Short: "Run the HR → directory example end to end",
		Long: `Copy the quickstart example (an HR CSV of 1,000 people, a directory CSV and
their configuration) into a working folder (default: a new temporary folder),
run a full cycle, change a few HR rows (a rename, a leaver, a new title, a new
hire), run a delta cycle, and print every run summary and what to try next.

The HR file contains one duplicated row on purpose: every HR import reports
it as an import error naming hr.csv and its line. The command exits 0 unless
a run stops.`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			return a.quickstart(cmd.Context(), dir)
		},
	}
	cmd.Flags().StringVar(&dir, "dir", "", "working folder (default: a new temporary folder)")
	return cmd
}

func (a *app) quickstart(ctx context.Context, dir string) error {
	start := time.Now()
	var err error
	if dir == "" {
		if dir, err = os.MkdirTemp("", "idsync-quickstart-"); err != nil {
			return err
		}
	} else if err := prepareQuickstartDir(dir); err != nil {
		return err
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return err
	}
	if err := copyFS(dir, quickstart.FS); err != nil {
		return err
	}
	out := a.stdout
	if a.jsonOut {
		out = discard{}
	}
	fmt.Fprintf(out, "quickstart folder: %s\n", dir)

	cfg, err := config.Load(dir, registry())
	if err != nil {
		return err
	}
	dsn := a.storeDSN
	if dsn == "" {
		dsn = cfg.Store
	}
	st, err := sqlstore.Open(ctx, dsn, sqlstore.Options{})
	if err != nil {
		return fmt.Errorf("open store: %w", err)
	}
	defer st.Close()
	pr := a.newRunProgress(ctx, cfg, st)
	e, err := a.newEngine(ctx, cfg, st, pr.report)
	if err != nil {
		return err
	}

	var all []*idsync.RunResult
	runAll := func(title string, steps []step) error {
		fmt.Fprintf(out, "\n== %s ==\n", title)
		for _, s := range steps {
			res, err := e.Run(ctx, s.connector, s.profile)
			pr.wait()
			if err != nil {
				return err
			}
			all = append(all, res)
			printSummary(out, res)
			if isStoppedStatus(res.Status) {
				return fmt.Errorf("quickstart: run %s %s stopped: %s", s.connector, s.profile, res.Status)
			}
		}
		return nil
	}
	if err := runAll("full cycle: import HR, project, provision, export, confirm", quickstartInitial); err != nil {
		return err
	}
	changes, err := quickstart.ApplyChanges(dir)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "\n== HR changes %s/hr.csv ==\n", dir)
	for _, c := range changes {
		fmt.Fprintf(out, "  %s\n", c)
	}
	if err := runAll("delta cycle: import HR again, delta sync, export, confirm", quickstartDelta); err != nil {
		return err
	}
	if a.jsonOut {
		return printJSON(a.stdout, map[string]any{"dir": dir, "runs": all})
	}
	fmt.Fprintf(out, "\ndone in %v.\n", roundDur(time.Since(start)))
	a.quickstartNext(ctx, st, dir, all)
	return nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

func isStoppedStatus(s idsync.RunStatus) bool {
	return strings.HasPrefix(string(s), "stopped")
}

// prepareQuickstartDir accepts a missing or empty folder, or one holding
// an earlier quickstart (whose store it removes, to start afresh).
func prepareQuickstartDir(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return os.MkdirAll(dir, 0o755)
	}
	if err != nil {
		return err
	}
	if len(entries) == 0 {
		return nil
	}
	if _, err := os.Stat(filepath.Join(dir, "idsync.yaml")); err != nil {
		return usagef("%s is not empty and holds no earlier quickstart; choose another --dir", dir)
	}
	for _, n := range []string{"idsync.db", "idsync.db-wal", "idsync.db-shm", "idsync.db-journal"} {
		if err := os.Remove(filepath.Join(dir, n)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}

// copyFS writes the files of fsys into dir.
func copyFS(dir string, fsys fs.FS) error {
	return fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
}

// quickstartNext prints commands to explore the result.
func (a *app) quickstartNext(ctx context.Context, st store.Store, dir string, runs []*idsync.RunResult) {
	mvID := "<id>"
	readTx(ctx, st, func(tx store.Tx) error {
		objs, err := tx.ListMV(ctx, store.MVFilter{ObjectType: "person", Attr: "employeeId", Value: quickstart.RenamedID, Limit: 1})
		if err == nil && len(objs) == 1 {
			mvID = objs[0].ID
		}
		return nil
	})
	firstImport := "<run id>"
	if len(runs) > 0 {
		firstImport = runs[0].ID
	}
	c := "idsync --config " + shellQuote(dir)
	fmt.Fprintf(a.stdout, `
where to look next:
  %[1]s mv search --type person --attr sn --value %[2]s
  %[1]s mv show %[3]s          # values and their lineage
  %[1]s preview hr %[4]s                  # what a sync of that HR row does
  %[1]s cs show directory --dn %[4]s
  %[1]s runs list
  %[1]s runs show %[5]s   # the duplicate-row import error
  %[1]s pending-exports directory
  grep %[4]s %[6]s
(from the source tree, 'go run ./cmd/idsync' works wherever 'idsync' is written)
`, c, quickstart.RenamedSN, mvID, quickstart.RenamedID, firstImport, shellQuote(filepath.Join(dir, "directory.csv")))
}

func shellQuote(s string) string {
	if strings.ContainsAny(s, " \t'\"$`\\!*?[]{}();&|<>") {
		return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
	}
	return s
}
