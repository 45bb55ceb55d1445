package main

import (
	"fmt"
	"sort"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store"
)

func (a *app) mvCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mv",
		Short: "Search and show metaverse objects",
	}
	cmd.AddCommand(a.mvSearchCmd(), a.mvShowCmd())
	return cmd
}

func (a *app) mvSearchCmd() *cobra.Command {
	var f store.MVFilter
	cmd := &cobra.Command{
		Use:   "search",
		Short: "Search the metaverse by object type and attribute",
		Example: `  idsync mv search --type person --attr sn --value Rossi
  idsync mv search --attr department --value Legal --json`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			if f.Value != "" && f.Attr == "" {
				return usagef("--value needs --attr")
			}
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				objs, err := tx.ListMV(ctx, f)
				if err != nil {
					return err
				}
				if a.jsonOut {
					if objs == nil {
						objs = []*idsync.MVObject{}
					}
					return printJSON(a.stdout, objs)
				}
				t := newTable(a.stdout, "ID", "TYPE", "DISPLAY", "ATTRIBUTES", "UPDATED")
				for _, o := range objs {
					t.row(o.ID, o.ObjectType, display(o.Attrs), len(o.Attrs), shortTime(o.Updated))
				}
				t.flush()
				if f.Limit > 0 && len(objs) == f.Limit {
					if n, err := tx.CountMV(ctx, f); err == nil && n > len(objs) {
						fmt.Fprintf(a.stdout, "(%d of %d shown; use --limit 0 for all)\n", len(objs), n)
					}
				} else if len(objs) == 0 {
					fmt.Fprintln(a.stdout, "(no objects)")
				}
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.ObjectType, "type", "", "metaverse object type")
	fl.StringVar(&f.Attr, "attr", "", "attribute to match")
	fl.StringVar(&f.Value, "value", "", "value of --attr (case-insensitive); empty: objects that have --attr")
	fl.IntVar(&f.Limit, "limit", 100, "at most N objects (0: all)")
	return cmd
}

// display picks a human name for an object from its attributes.
func display(attrs idsync.Attrs) string {
	for _, n := range []string{"displayName", "cn", "name", "userPrincipalName", "mail", "sAMAccountName", "employeeId"} {
		if v := attrs.Get(n); !v.IsZero() {
			return v.String()
		}
	}
	return "-"
}

// mvLink is a CS object linked to an MV object, as mv show prints it.
type mvLink struct {
	Connector string          `json:"connector"`
	CSID      string          `json:"csId"`
	DN        string          `json:"dn"`
	Anchor    idsync.Anchor   `json:"anchor,omitempty"`
	Rule      string          `json:"rule,omitempty"`
	LinkType  idsync.LinkType `json:"linkType"`
	Pending   string          `json:"pending,omitempty"`
}

func (a *app) mvShowCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "show ID",
		Short: "Show a metaverse object with the lineage of every attribute",
		Long: `Show a metaverse object: each attribute with its values and lineage (the rule,
connector, connector space object and run that contributed it), and its links.`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				o, err := tx.GetMV(ctx, as[0])
				if err != nil {
					return notFound("no metaverse object %s", as[0])
				}
				byMV, err := tx.CSByMV(ctx, []string{o.ID})
				if err != nil {
					return err
				}
				links := []mvLink{}
				for _, c := range byMV[o.ID] {
					p := csPending(c)
					if p == "-" {
						p = ""
					}
					links = append(links, mvLink{c.Connector, c.ID, c.DN, c.Anchor, c.LinkRule, c.LinkType, p})
				}
				sort.Slice(links, func(i, j int) bool { return links[i].Connector < links[j].Connector })
				if a.jsonOut {
					return printJSON(a.stdout, struct {
						*idsync.MVObject
						Links []mvLink `json:"links"`
					}{o, links})
				}
				// Name the CS objects of the lineage by connector and DN.
				ids := []string{}
				for _, l := range o.Lineage {
					if l.CSID != "" {
						ids = append(ids, l.CSID)
					}
				}
				cs, _ := tx.CSByIDs(ctx, ids)
				// Name referenced MV objects.
				var refs []string
				for _, vs := range o.Attrs {
					for _, v := range vs {
						if v.Type == idsync.TypeReference {
							refs = append(refs, v.Str)
						}
					}
				}
				refObjs, _ := tx.MVByIDs(ctx, refs)
				show := func(vs []idsync.Value) string {
					if len(refObjs) == 0 {
						return values(vs)
					}
					out := make([]idsync.Value, len(vs))
					for i, v := range vs {
						out[i] = v
						if r := refObjs[v.Str]; v.Type == idsync.TypeReference && r != nil {
							out[i] = idsync.String(v.Str + " (" + display(r.Attrs) + ")")
						}
					}
					return values(out)
				}
				t := newTable(a.stdout)
				t.row("id", o.ID)
				t.row("object type", o.ObjectType)
				t.row("created", shortTime(o.Created))
				t.row("updated", shortTime(o.Updated))
				if o.RetryProvisioning {
					t.row("retry provisioning", "yes")
				}
				t.flush()
				fmt.Fprintln(a.stdout, "\nattributes:")
				t = newTable(a.stdout, "  NAME", "VALUE", "RULE", "CONNECTOR", "CS OBJECT", "FLOW", "RUN")
				for _, n := range idsync.SortedNames(o.Attrs) {
					l, ok := o.Lineage[n]
					if !ok {
						t.row("  "+n, show(o.Attrs[n]), "-", "-", "-", "-", "-")
						continue
					}
					obj := orDash(l.CSID)
					if c := cs[l.CSID]; c != nil {
						obj = c.DN
					}
					t.row("  "+n, show(o.Attrs[n]), orDash(l.Rule), orDash(l.Connector), obj, orDash(l.Flow), orDash(l.RunID))
				}
				t.flush()
				fmt.Fprintln(a.stdout, "\nlinks:")
				t = newTable(a.stdout, "  CONNECTOR", "DN", "ANCHOR", "RULE", "LINK", "CS ID", "PENDING")
				for _, l := range links {
					t.row("  "+l.Connector, l.DN, orDash(string(l.Anchor)), orDash(l.Rule), l.LinkType, l.CSID, orDash(l.Pending))
				}
				t.flush()
				return nil
			})
		},
	}
}
