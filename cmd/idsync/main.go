// Command idsync is the identity synchronization engine's command line:
// it validates configuration, runs run profiles and cycles, and searches
// and explains the connector spaces, the metaverse and the run history.
//
// This package only wires: it registers the connector types, opens the
// store and the engine, and prints. Exit codes: 0 success, 1 a run
// finished with errors (or failed), 2 a usage or configuration error.
// See docs/cli.md.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"runtime/pprof"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	ldapconn "github.com/idsync/idsync/connector/ldap"
	scimconn "github.com/idsync/idsync/connector/scim"
	"github.com/idsync/idsync/connector/script"
	"github.com/idsync/idsync/connector/sqlconn"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store"
	"github.com/idsync/idsync/store/storeopen"
)

// Exit codes.
const (
	exitOK     = 0
	exitFailed = 1 // a run finished with errors, or an operation failed
	exitUsage  = 2 // bad arguments, unknown connector or profile, invalid configuration
)

func main() {
	// A sync engine holds a bounded working set (one page, caches) but
	// allocates a lot: a soft memory limit keeps the heap near that set
	// on large runs. GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(defaultMemoryLimit)
	}
	if os.Getenv("GOGC") == "" {
		// Collect less often; the memory limit above still bounds the heap.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// defaultMemoryLimit is the soft limit of the Go heap (see main).
const defaultMemoryLimit = 1 << 30

// run executes the command line args and returns the exit code.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	a := &app{stdout: stdout, stderr: stderr}
	root := a.rootCmd()
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	return report(stderr, err)
}

// report prints err and returns its exit code.
func report(w io.Writer, err error) int {
	var silent *silentError
	if errors.As(err, &silent) {
		return silent.code
	}
	var cerrs *config.Errors
	if errors.As(err, &cerrs) {
		for _, e := range cerrs.List {
			fmt.Fprintln(w, e.Error())
		}
		fmt.Fprintf(w, "idsync: configuration has %d error(s)\n", len(cerrs.List))
		return exitUsage
	}
	var usage *usageError
	if errors.As(err, &usage) {
		fmt.Fprintf(w, "idsync: %v\n", err)
		if usage.hint != "" {
			fmt.Fprintln(w, usage.hint)
		}
		return exitUsage
	}
	var coder interface{ ExitCode() int }
	if errors.As(err, &coder) {
		// Such errors carry their own text (the expr command's caret
		// excerpts): print it as is.
		fmt.Fprintln(w, err.Error())
		return coder.ExitCode()
	}
	fmt.Fprintf(w, "idsync: %v\n", err)
	var cerr *config.Error
	if errors.As(err, &cerr) {
		return exitUsage
	}
	switch idsync.KindOf(err) {
	case idsync.KindNotFound, idsync.KindInvalid:
		return exitUsage
	}
	if strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		return exitUsage
	}
	return exitFailed
}

// usageError is a bad command line: exit code 2.
type usageError struct {
	err  error
	hint string
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }
func (e *usageError) ExitCode() int { return exitUsage }

func usagef(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// silentError carries an exit code for a failure already reported (a
// run that finished with errors, after its summary was printed).
type silentError struct{ code int }

func (e *silentError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
func (e *silentError) ExitCode() int { return e.code }

// app holds the global flags and what commands open.
type app struct {
	stdout, stderr io.Writer

	configDir   string
	storeDSN    string
	jsonOut     bool
	cpuProfile  string
	stopProfile func()
	// benchMemProfile is bench's --memprofile prefix.
	benchMemProfile string
	logLevel        string

	logger *slog.Logger
}

// registry returns the connector types this binary ships.
func registry() *connector.Registry {
	return connector.NewRegistry(csvconn.Type, ldapconn.Type, scimconn.Type, script.Type, sqlconn.Type)
}

func (a *app) rootCmd() *cobra.Command {
	def := os.Getenv("IDSYNC_CONFIG")
	if def == "" {
		def = "."
	}
	root := &cobra.Command{
		Use:   "idsync",
		Short: "idsync keeps identities consistent across connected systems",
		Long: `idsync reads connected systems through connectors, builds one integrated view
of every identity (the metaverse), decides by declarative sync rules what every
system should hold, and writes the differences back.

Start with: idsync quickstart`,
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			if a.cpuProfile != "" {
				f, err := os.Create(a.cpuProfile)
				if err != nil {
					return err
				}
				if err := pprof.StartCPUProfile(f); err != nil {
					return err
				}
				a.stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
			}
			return a.setupLogging()
		},
		PersistentPostRun: func(cmd *cobra.Command, args []string) {
			if a.stopProfile != nil {
				a.stopProfile()
			}
		},
	}
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, hint: fmt.Sprintf("Run '%s --help' for usage.", cmd.CommandPath())}
	})
	pf := root.PersistentFlags()
	pf.StringVar(&a.configDir, "config", def, "configuration directory ($IDSYNC_CONFIG)")
	pf.StringVar(&a.storeDSN, "store", "", "store DSN, overriding the configuration's (sqlite:/path/file.db, postgres://user@host/db)")
	pf.BoolVar(&a.jsonOut, "json", false, "print JSON instead of tables")
	pf.StringVar(&a.logLevel, "log-level", "warn", "log level: debug, info, warn or error")
	pf.StringVar(&a.cpuProfile, "cpuprofile", "", "write a CPU profile of the command to this file")
	pf.MarkHidden("cpuprofile")

	root.AddCommand(
		a.initCmd(),
		a.validateCmd(),
		a.runCmd(),
		a.cycleCmd(),
		a.csCmd(),
		a.mvCmd(),
		a.previewCmd(),
		a.pendingExportsCmd(),
		a.runsCmd(),
		a.versionCmd(),
		a.quickstartCmd(),
		a.benchCmd(),
		a.storeCmd(),
		a.workerCmd(),
		a.queueCmd(),
		a.hostCmd(),
		newExprCmd(),
		a.rulesCmd(),
		a.configCmd(),
		a.connectorCmd(), a.passwordCmd(),
	)
	return root
}

// args wraps a cobra argument validator so that its errors are usage errors.
func args(v cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, as []string) error {
		if err := v(cmd, as); err != nil {
			return &usageError{err: err, hint: fmt.Sprintf("Usage: %s", cmd.UseLine())}
		}
		return nil
	}
}

func (a *app) setupLogging() error {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(a.logLevel)); err != nil {
		return usagef("--log-level: %v", err)
	}
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: lvl}))
	return nil
}

func (a *app) log() *slog.Logger {
	if a.logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.logger
}

// loadConfig loads the configuration directory (dir, or --config).
func (a *app) loadConfig(dir string) (*config.Config, error) {
	if dir == "" {
		dir = a.configDir
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, &usageError{err: fmt.Errorf("configuration directory: %w", err), hint: "Use --config DIR, set IDSYNC_CONFIG, or create one with 'idsync init DIR'."}
	}
	return config.Load(dir, registry())
}

// storeDSN returns the DSN to open: --store, else the configuration's,
// with a relative SQLite path resolved against the configuration directory.
func (a *app) dsn(cfg *config.Config) string {
	if a.storeDSN != "" {
		return a.storeDSN
	}
	return cfg.Store // relative SQLite paths are resolved by config.Load
}

// openStore loads the configuration and opens its store.
func (a *app) openStore(ctx context.Context) (*config.Config, store.Store, error) {
	cfg, err := a.loadConfig("")
	if err != nil {
		return nil, nil, err
	}
	st, err := storeopen.Open(ctx, a.dsn(cfg), storeopen.Options{Logger: a.log()})
	if err != nil {
		return nil, nil, fmt.Errorf("open store %s: %w", storeopen.Redact(a.dsn(cfg)), err)
	}
	return cfg, st, nil
}

func (a *app) newEngine(ctx context.Context, cfg *config.Config, st store.Store, progress func(engine.Progress)) (*engine.Engine, error) {
	e, err := engine.New(ctx, engine.Options{
		Store:    st,
		Registry: registry(),
		Config:   cfg,
		Logger:   a.log(),
		Progress: progress,
	})
	if err != nil {
		st.Close()
		return nil, err
	}
	return e, nil
}

// readTx runs f in a read transaction of st.
func readTx(ctx context.Context, st store.Store, f func(tx store.Tx) error) error {
	tx, err := st.Begin(ctx, false)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return f(tx)
}

// withStore loads the configuration, opens the store, and runs f in a
// read transaction.
func (a *app) withStore(ctx context.Context, f func(cfg *config.Config, tx store.Tx) error) error {
	cfg, st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	defer st.Close()
	return readTx(ctx, st, func(tx store.Tx) error { return f(cfg, tx) })
}

// checkConnector returns a usage-level error for an unknown connector.
func checkConnector(cfg *config.Config, name string) error {
	if cfg.Connector(name) != nil {
		return nil
	}
	names := make([]string, 0, len(cfg.Connectors))
	for _, c := range cfg.Connectors {
		names = append(names, c.Name)
	}
	return &idsync.Error{Op: "connector", Kind: idsync.KindNotFound, Err: fmt.Errorf("unknown connector %q (configured: %s)", name, strings.Join(names, ", "))}
}
