package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/mimconfig"
)

// configCmd groups configuration tools.
func (a *app) configCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "config",
		Short: "Configuration tools: import MIM management agents",
	}
	cmd.AddCommand(a.importMIMCmd())
	return cmd
}

func (a *app) importMIMCmd() *cobra.Command {
	var out string
	cmd := &cobra.Command{
		Use:   "import-mim FILE [--out DIR]",
		Short: "Convert a MIM Sync management-agent file into idsync connector configuration",
		Long: `Converts a MIM Sync management-agent file — an Export Management Agent file
(<export-ma>), a server-configuration export (<saved-ma-configuration>), a bare
<ma-data> — or an ECMA Connector Host configuration into idsync connector
configuration: connectivity, object types, anchor, attribute inclusion list,
partitions and containers, deprovisioning and run profiles. SQL Server and
Generic SQL MAs become sql connectors, AD, AD LDS and Generic LDAP MAs ldap
connectors, PowerShell connectors script connectors.

It prints what was carried and what was not (sync rules, extensions,
impersonation, …). Passwords are never written: the configuration refers to
environment variables (password: {env: IDSYNC_<MA>_PASSWORD}), listed at the
end. Without --out the YAML goes to standard output and the report to
standard error; with --out DIR it is written to DIR/<connector>.yaml.

Exit status 1 when nothing usable came out of the file. See docs/import-mim.md.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			data, err := os.ReadFile(as[0])
			if err != nil {
				return &usageError{err: fmt.Errorf("import-mim: %w", err)}
			}
			results, err := mimconfig.Convert(as[0], data)
			if err != nil {
				return err
			}
			usable := 0
			for _, r := range results {
				fmt.Fprint(a.stderr, r.Report())
				if !r.Usable() {
					continue
				}
				usable++
				if out == "" {
					if usable > 1 {
						fmt.Fprintln(a.stdout, "---")
					}
					a.stdout.Write(r.YAML())
					continue
				}
				if err := os.MkdirAll(out, 0o755); err != nil {
					return fmt.Errorf("import-mim: %w", err)
				}
				path := filepath.Join(out, r.Name+".yaml")
				if err := writeNew(path, r.YAML()); err != nil {
					return fmt.Errorf("import-mim: %w", err)
				}
				fmt.Fprintf(a.stdout, "wrote %s\n", path)
			}
			if usable == 0 {
				fmt.Fprintf(a.stderr, "idsync: nothing usable came out of %s\n", as[0])
				return &silentError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "", "write DIR/<connector>.yaml instead of printing the YAML")
	return cmd
}

// writeNew writes data to path through a temporary file and a rename,
// refusing to overwrite an existing file.
func writeNew(path string, data []byte) error {
	if _, err := os.Stat(path); err == nil {
		return fmt.Errorf("%s exists: remove it or choose another --out", path)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".import-mim-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
