package main

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/aadc"
)

func (a *app) rulesCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "Work with sync rules from other products",
	}
	cmd.AddCommand(a.rulesImportAADCCmd())
	return cmd
}

func (a *app) rulesImportAADCCmd() *cobra.Command {
	var out string
	var maps []string
	cmd := &cobra.Command{
		Use:   "import-aadc [--out DIR] [--connector-map OLD=NEW]... PATH...",
		Short: "Convert Entra Connect (Azure AD Connect) sync rules into idsync rule files",
		Long: `Read Entra Connect sync rules — the XML of Get-ADSyncServerConfiguration
(one <synchronizationRule> per file, and MV.xml for the metaverse schema), the
AADConnectDsc YAML model, or the PowerShell exported by the Synchronization
Rules Editor — from the files and directories named, and write idsync rule
files to DIR/rules/ and the metaverse schema to DIR/metaverse.yaml.

--connector-map maps a connector as the rules name it (GUID or name) to an
idsync connector; repeat it per connector.

Every rule that cannot be carried faithfully is listed as a problem with its
file and element and is not written; the others are. The exit code is 1 when
there is any problem. See docs/entra-connect.md.`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, paths []string) error {
			opts := aadc.Options{ConnectorMap: map[string]string{}}
			for _, m := range maps {
				from, to, ok := strings.Cut(m, "=")
				if !ok || strings.TrimSpace(from) == "" || strings.TrimSpace(to) == "" {
					return usagef("--connector-map %q: want OLD=NEW (a connector GUID or name = an idsync connector name)", m)
				}
				opts.ConnectorMap[strings.TrimSpace(from)] = strings.TrimSpace(to)
			}
			files, err := aadc.ReadPaths(paths)
			if err != nil {
				return err
			}
			res := aadc.Import(files, opts)
			written, err := res.Write(out)
			if err != nil {
				return err
			}
			if a.jsonOut {
				f, s, j := res.Counts()
				var probs []string
				for _, p := range res.Problems {
					probs = append(probs, p.String())
				}
				if err := printJSON(a.stdout, map[string]any{
					"rules": len(res.Rules), "flows": f, "scopeConditions": s, "joinConditions": j,
					"problems": probs, "unmappedConnectors": res.Unmapped, "written": written,
				}); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(a.stdout, res.Summary())
				for _, p := range res.Problems {
					fmt.Fprintf(a.stdout, "  problem: %s\n", p)
				}
				for _, c := range res.Unmapped {
					fmt.Fprintf(a.stdout, "  note: connector %s is not mapped (--connector-map %s=NAME); the rules name it as is\n", c, c)
				}
				fmt.Fprintf(a.stdout, "wrote %d file(s) to %s\n", len(written), out)
			}
			if len(res.Problems) > 0 {
				return &silentError{code: exitFailed}
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&out, "out", "aadc-import", "directory to write rules/ and metaverse.yaml to")
	cmd.Flags().StringArrayVar(&maps, "connector-map", nil, "OLD=NEW: map a connector (GUID or name) to an idsync connector; repeatable")
	return cmd
}
