package main

import (
	"fmt"
	"runtime"
	"runtime/debug"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store"
)

func (a *app) runsCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "runs",
		Short: "List and show the run history",
	}
	cmd.AddCommand(a.runsListCmd(), a.runsShowCmd())
	return cmd
}

func (a *app) runsListCmd() *cobra.Command {
	var f store.RunFilter
	cmd := &cobra.Command{
		Use:     "list",
		Short:   "List runs, newest first",
		Example: "  idsync runs list --connector hr --limit 5",
		Args:    args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				runs, err := tx.ListRuns(ctx, f)
				if err != nil {
					return err
				}
				if a.jsonOut {
					if runs == nil {
						runs = []*idsync.RunResult{}
					}
					return printJSON(a.stdout, runs)
				}
				t := newTable(a.stdout, "ID", "CONNECTOR", "PROFILE", "STATUS", "STARTED", "DURATION", "ERRORS", "COUNTERS")
				for _, r := range runs {
					t.row(r.ID, r.Connector, r.Profile, r.Status, shortTime(r.Started), roundDur(duration(r)), r.ErrorCount, truncate(formatCounters(r.Counters), 100))
				}
				t.flush()
				if len(runs) == 0 {
					fmt.Fprintln(a.stdout, "(no runs)")
				}
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&f.Connector, "connector", "", "only runs of this connector")
	cmd.Flags().IntVar(&f.Limit, "limit", 20, "at most N runs (0: all)")
	return cmd
}

func (a *app) runsShowCmd() *cobra.Command {
	var maxErrors int
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show a run: steps, counters and per-object errors",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				r, err := tx.GetRun(ctx, as[0], maxErrors)
				if err != nil {
					return notFound("no run %s", as[0])
				}
				if a.jsonOut {
					return printJSON(a.stdout, r)
				}
				t := newTable(a.stdout)
				t.row("id", r.ID)
				t.row("connector", r.Connector)
				t.row("profile", r.Profile)
				t.row("status", r.Status)
				t.row("started", shortTime(r.Started))
				t.row("ended", shortTime(r.Ended))
				t.row("duration", roundDur(duration(r)))
				if r.Host != "" {
					t.row("host", fmt.Sprintf("%s (pid %d)", r.Host, r.PID))
				}
				if r.Message != "" {
					t.row("message", r.Message)
				}
				t.flush()
				fmt.Fprintln(a.stdout, "\nsteps:")
				t = newTable(a.stdout, "  STEP", "PARTITION", "STATUS", "DURATION", "PAGES", "COUNTERS")
				for _, s := range r.Steps {
					t.row("  "+string(s.Type), orDash(s.Partition), s.Status, roundDur(stepDur(s)), s.Pages, formatCounters(s.Counters))
				}
				t.flush()
				for _, s := range r.Steps {
					for _, w := range s.Warnings {
						fmt.Fprintf(a.stdout, "  warning (%s): %s\n", s.Type, w)
					}
					if s.Message != "" {
						fmt.Fprintf(a.stdout, "  %s: %s\n", s.Type, s.Message)
					}
				}
				if cs := nonZeroCounters(r.Counters); len(cs) > 0 {
					fmt.Fprintln(a.stdout, "\ncounters:")
					t = newTable(a.stdout)
					for _, c := range cs {
						t.row("  "+c.Name, c.Value)
					}
					t.flush()
				}
				fmt.Fprintf(a.stdout, "\nerrors: %d\n", r.ErrorCount)
				if len(r.Errors) > 0 {
					t = newTable(a.stdout, "  STEP", "OBJECT", "RULE", "TYPE", "MESSAGE")
					for _, e := range r.Errors {
						obj := e.DN
						if obj == "" {
							obj = string(e.Anchor)
						}
						t.row("  "+string(e.Step), orDash(obj), orDash(e.Rule), e.Type, e.Message)
					}
					t.flush()
					if len(r.Errors) < r.ErrorCount {
						fmt.Fprintf(a.stdout, "(%d of %d shown; use --max-errors 0 for all)\n", len(r.Errors), r.ErrorCount)
					}
				}
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&maxErrors, "max-errors", 100, "at most N object errors (0: all)")
	return cmd
}

// version is set at build time: go build -ldflags "-X main.version=v1.2.3".
var version = "dev"

func (a *app) versionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version, Go version and VCS revision",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			info := struct {
				Version  string `json:"version"`
				Go       string `json:"go"`
				Revision string `json:"revision,omitempty"`
				Time     string `json:"time,omitempty"`
				Modified bool   `json:"modified,omitempty"`
			}{Version: version, Go: runtime.Version()}
			if bi, ok := debug.ReadBuildInfo(); ok {
				for _, s := range bi.Settings {
					switch s.Key {
					case "vcs.revision":
						info.Revision = s.Value
					case "vcs.time":
						info.Time = s.Value
					case "vcs.modified":
						info.Modified = s.Value == "true"
					}
				}
				if info.Version == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
					info.Version = bi.Main.Version
				}
			}
			if a.jsonOut {
				return printJSON(a.stdout, info)
			}
			rev := info.Revision
			if rev == "" {
				rev = "unknown"
			} else if info.Modified {
				rev += " (modified)"
			}
			fmt.Fprintf(a.stdout, "idsync %s\n%s %s/%s\nrevision %s\n", info.Version, info.Go, runtime.GOOS, runtime.GOARCH, rev)
			return nil
		},
	}
}
