package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/engine"
)

func (a *app) previewCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "preview CONNECTOR DN",
		Short: "Show what a sync of one connector space object would do (commits nothing)",
		Long: `Preview the synchronization of one connector space object without committing
anything: the scoping result of every rule, the join or projection decision,
every attribute flow with its rule and the value before and after, and the
consequences in other connector spaces (provisioning, updates, deprovisioning).`,
		Example: "  idsync preview hr E0321",
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			cfg, st, err := a.openStore(ctx)
			if err != nil {
				return err
			}
			defer st.Close()
			if err := checkConnector(cfg, as[0]); err != nil {
				return err
			}
			e, err := a.newEngine(ctx, cfg, st, nil)
			if err != nil {
				return err
			}
			p, err := e.Preview(ctx, as[0], as[1])
			if err != nil {
				return err
			}
			if a.jsonOut {
				return printJSON(a.stdout, p)
			}
			printPreview(a.stdout, p)
			return nil
		},
	}
}

func printPreview(w io.Writer, p *engine.Preview) {
	o := p.Object
	if o != nil {
		fmt.Fprintf(w, "preview of %s %q (%s, %s, pending %s)\n", p.Connector, o.DN, o.ObjectType, csState(o), csPending(o))
	} else {
		fmt.Fprintf(w, "preview of %s\n", p.Connector)
	}

	fmt.Fprintln(w, "\nscope:")
	t := newTable(w, "  RULE", "DIRECTION", "CONNECTOR", "IN SCOPE", "DETAIL")
	for _, s := range p.Scope {
		in := "no"
		if s.InScope {
			in = "yes"
		}
		t.row("  "+s.Rule, s.Direction, s.Connector, in, orDash(s.Detail))
	}
	t.flush()

	fmt.Fprintf(w, "\ndecision: %s", p.Decision)
	if p.JoinRule != "" {
		fmt.Fprintf(w, " (rule %q)", p.JoinRule)
	}
	if p.MVID != "" {
		fmt.Fprintf(w, " → metaverse object %s", p.MVID)
	}
	if p.MVDeleted {
		fmt.Fprint(w, "; the metaverse object would be deleted")
	}
	fmt.Fprintln(w)

	if len(p.Flows) > 0 {
		fmt.Fprintln(w, "\ninbound flows:")
		t = newTable(w, "  TARGET", "RULE", "PREC", "FLOW", "OUTCOME", "BEFORE", "AFTER", "WON")
		for _, f := range p.Flows {
			won := ""
			if f.Won {
				won = "✓"
			}
			t.row("  "+f.Target, f.Rule, f.Precedence, f.Flow, f.Outcome, values(f.Before), values(f.After), won)
		}
		t.flush()
	}

	fmt.Fprintln(w, "\noutbound:")
	if len(p.Outbound) == 0 {
		fmt.Fprintln(w, "  no consequences in other connector spaces")
	}
	for _, ob := range p.Outbound {
		fmt.Fprintf(w, "  %s: %s", ob.Connector, ob.Action)
		if ob.Rule != "" {
			fmt.Fprintf(w, " (rule %q)", ob.Rule)
		}
		if ob.DN != "" {
			fmt.Fprintf(w, " %s", ob.DN)
		}
		if ob.NewDN != "" {
			fmt.Fprintf(w, " → %s", ob.NewDN)
		}
		fmt.Fprintln(w)
		if ob.Detail != "" {
			fmt.Fprintf(w, "    %s\n", ob.Detail)
		}
		printMods(w, ob.Mods)
	}
	if len(p.Errors) > 0 {
		fmt.Fprintln(w, "\nerrors:")
		for _, e := range p.Errors {
			fmt.Fprintf(w, "  %s\n", objectError(e))
		}
	}
}
