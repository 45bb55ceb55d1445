package main

import (
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/store/storemigrate"
	"github.com/idsync/idsync/store/storeopen"
)

func (a *app) storeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "store",
		Short: "Manage the store: move an installation between SQLite and PostgreSQL",
	}
	cmd.AddCommand(a.storeMigrateCmd())
	return cmd
}

func (a *app) storeMigrateCmd() *cobra.Command {
	var from, to string
	var replace bool
	cmd := &cobra.Command{
		Use:   "migrate --from DSN --to DSN",
		Short: "Copy everything from one store to another and verify the copy",
		Long: `Copy a whole installation from one store to another: connector spaces (IDs,
links, versions, pending imports and exports, export status), the metaverse
with its lineage, watermarks, counters, the index declaration and the run
history with every run's errors. Then read both stores back and compare counts
and SHA-256 checksums over all of it; any difference fails the command.

The target must be empty unless --replace is given, which deletes its content
first. Stop every idsync process using the source while migrating: the source
is read as one consistent snapshot, and later writes would be missing.
DSNs: sqlite:/path/file.db (or a plain path) and postgres://user@host:5432/db
(add ?search_path=SCHEMA for a schema; give the password in PGPASSWORD or
~/.pgpass rather than in the DSN).`,
		Example: "  idsync store migrate --from sqlite:/var/lib/idsync/idsync.db --to postgres://idsync@db:5432/idsync\n" +
			"  idsync store migrate --from postgres://idsync@db/idsync --to sqlite:/tmp/copy.db",
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			if from == "" || to == "" {
				return usagef("store migrate needs --from DSN and --to DSN")
			}
			if from == to {
				return usagef("--from and --to name the same store")
			}
			ctx := cmd.Context()
			src, err := storeopen.Open(ctx, from, storeopen.Options{Logger: a.log()})
			if err != nil {
				return fmt.Errorf("open source store %s: %w", storeopen.Redact(from), err)
			}
			defer src.Close()
			dst, err := storeopen.Open(ctx, to, storeopen.Options{Logger: a.log()})
			if err != nil {
				return fmt.Errorf("open target store %s: %w", storeopen.Redact(to), err)
			}
			defer dst.Close()
			start := time.Now()
			last := time.Now()
			res, err := storemigrate.Copy(ctx, src, dst, storemigrate.Options{
				Replace: replace,
				Progress: func(what string, n int) {
					if !a.jsonOut && time.Since(last) > 2*time.Second {
						last = time.Now()
						fmt.Fprintf(a.stderr, "migrate: %d %s copied\n", n, what)
					}
				},
			})
			if errors.Is(err, storemigrate.ErrTargetNotEmpty) {
				return &usageError{err: err, hint: "Use --replace to delete the target's content first."}
			}
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.stdout, map[string]any{
					"from": storeopen.Redact(from), "to": storeopen.Redact(to),
					"seconds": time.Since(start).Seconds(), "source": res.Source, "target": res.Target, "verified": true,
				})
			}
			s := res.Source
			fmt.Fprintf(a.stdout, "migrated %s -> %s in %s\n", storeopen.Redact(from), storeopen.Redact(to), time.Since(start).Round(time.Millisecond))
			t := newTable(a.stdout, "WHAT", "COUNT", "SHA-256 (source = target)")
			t.row("cs objects", s.CSObjects, s.CSSum)
			t.row("mv objects", s.MVObjects, s.MVSum)
			t.row("runs", fmt.Sprintf("%d (%d errors)", s.Runs, s.RunErrors), s.RunsSum)
			t.row("watermarks", s.Watermarks, s.StateSum)
			t.row("sequences", s.Sequences, "")
			t.flush()
			fmt.Fprintln(a.stdout, "verified: counts and checksums of source and target are equal")
			return nil
		},
	}
	cmd.Flags().StringVar(&from, "from", "", "DSN of the store to copy")
	cmd.Flags().StringVar(&to, "to", "", "DSN of the store to write")
	cmd.Flags().BoolVar(&replace, "replace", false, "delete the target's content first when it is not empty")
	return cmd
}
