package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
)

const starterConfig = `# idsync configuration (starter). Reference: docs/configuration.md
#
# Every *.yaml file of this directory is read. Check it with:
#   idsync validate
# then import and synchronize the sample HR file:
#   idsync run hr full-import
#   idsync run hr full-sync
#   idsync mv search --type person

# Where idsync keeps connector spaces, the metaverse and run history.
# Relative to this directory; override with --store.
store: sqlite:idsync.db

# The metaverse schema: one object type per kind of identity.
metaverse:
  objectTypes:
    - name: person
      deletion:
        when: last-link           # delete a person when its last link goes
      attributes:
        - {name: employeeId, type: string}
        - {name: givenName, type: string}
        - {name: sn, type: string}
        - {name: displayName, type: string}
        - {name: manager, type: reference}

# Connected systems. A csv connector reads (and can write) one CSV file.
connectors:
  - name: hr
    type: csv
    settings:
      path: hr.csv
      objectType: person
      anchor: [employeeId]        # immutable, unique per row
      types:
        manager: reference        # the manager's employeeId
    profiles:                     # run with: idsync run hr <profile>
      full-import: [full-import]
      full-sync: [full-sync]
      delta-sync: [delta-sync]

# Sync rules: inbound (connector space → metaverse), outbound (metaverse →
# connector space). Lower precedence numbers win.
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision           # project a person when no join matches
    precedence: 100
    join:
      - - {source: employeeId, target: employeeId}
    flows:
      - {target: employeeId, source: employeeId}
      - {target: givenName, source: givenName}
      - {target: sn, source: sn}
      - {target: displayName, expression: '[givenName] & " " & [sn]'}
      - {target: manager, source: manager}
`

const starterCSV = `employeeId,givenName,sn,manager
1001,Ada,Lovelace,
1002,Alan,Turing,1001
1003,Grace,Hopper,1001
`

func (a *app) initCmd() *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "init [DIR]",
		Short: "Write a small commented starter configuration",
		Long: `Write a starter configuration (idsync.yaml) and a sample hr.csv into DIR
(default: the --config directory), ready for 'idsync validate'.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			dir := a.configDir
			if len(as) == 1 {
				dir = as[0]
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			files := []struct{ name, text string }{{"idsync.yaml", starterConfig}, {"hr.csv", starterCSV}}
			if !force {
				for _, f := range files {
					if _, err := os.Stat(filepath.Join(dir, f.name)); err == nil {
						return usagef("%s already exists (use --force to overwrite)", filepath.Join(dir, f.name))
					} else if !errors.Is(err, fs.ErrNotExist) {
						return err
					}
				}
			}
			for _, f := range files {
				if err := os.WriteFile(filepath.Join(dir, f.name), []byte(f.text), 0o644); err != nil {
					return err
				}
			}
			fmt.Fprintf(a.stdout, "wrote %s and %s\nnext: idsync --config %s validate\n",
				filepath.Join(dir, "idsync.yaml"), filepath.Join(dir, "hr.csv"), dir)
			return nil
		},
	}
	cmd.Flags().BoolVar(&force, "force", false, "overwrite existing files")
	return cmd
}

func (a *app) validateCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "validate [DIR]",
		Short: "Check a configuration directory (offline)",
		Long: `Load and check the configuration in DIR (default: the --config directory)
without connecting to anything. Errors are printed as file:line:col: message;
the exit code is 2 when there is any.`,
		Args: args(cobra.MaximumNArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			dir := ""
			if len(as) == 1 {
				dir = as[0]
			}
			cfg, err := a.loadConfig(dir)
			if err != nil {
				return err
			}
			types := 0
			if cfg.Metaverse != nil {
				types = len(cfg.Metaverse.Classes)
			}
			if a.jsonOut {
				return printJSON(a.stdout, map[string]any{"ok": true, "dir": cfg.Dir, "objectTypes": types, "connectors": len(cfg.Connectors), "rules": len(cfg.Rules)})
			}
			fmt.Fprintf(a.stdout, "ok: %s: %d metaverse object type(s), %d connector(s), %d rule(s)\n", cfg.Dir, types, len(cfg.Connectors), len(cfg.Rules))
			return nil
		},
	}
}
