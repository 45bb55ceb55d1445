package main

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/store"
)

func (a *app) csCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cs",
		Short: "Search and show connector space objects",
	}
	cmd.AddCommand(a.csSearchCmd(), a.csShowCmd())
	return cmd
}

func (a *app) csSearchCmd() *cobra.Command {
	var (
		f     store.CSFilter
		limit int
	)
	cmd := &cobra.Command{
		Use:   "search CONNECTOR",
		Short: "Search a connector space by attribute or pending state",
		Example: `  idsync cs search hr --attr sn --value Rossi
  idsync cs search directory --pending-export
  idsync cs search hr --attr displayName --limit 0 --json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			if f.Value != "" && f.Attr == "" {
				return usagef("--value needs --attr")
			}
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				if err := checkConnector(cfg, as[0]); err != nil {
					return err
				}
				f.Connector = as[0]
				f.Limit = limit
				objs, err := tx.ListCS(ctx, f)
				if err != nil {
					return err
				}
				if a.jsonOut {
					if objs == nil {
						objs = []*idsync.CSObject{}
					}
					return printJSON(a.stdout, objs)
				}
				t := newTable(a.stdout, "ID", "TYPE", "DN", "ANCHOR", "STATE", "PENDING", "MV")
				for _, o := range objs {
					t.row(o.ID, o.ObjectType, o.DN, orDash(string(o.Anchor)), csState(o), csPending(o), orDash(o.MVID))
				}
				t.flush()
				a.moreHint(ctx, tx, len(objs), limit, f)
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.Attr, "attr", "", "attribute to match")
	fl.StringVar(&f.Value, "value", "", "value of --attr (case-insensitive); empty: objects that have --attr")
	fl.BoolVar(&f.PendingImport, "pending-import", false, "only objects with a pending import")
	fl.BoolVar(&f.PendingExport, "pending-export", false, "only objects with a pending export")
	fl.IntVar(&limit, "limit", 100, "at most N objects (0: all)")
	return cmd
}

// moreHint says how many objects a limited listing left out.
func (a *app) moreHint(ctx context.Context, tx store.Tx, shown, limit int, f store.CSFilter) {
	if limit > 0 && shown == limit {
		if n, err := tx.CountCS(ctx, f); err == nil && n > shown {
			fmt.Fprintf(a.stdout, "(%d of %d shown; use --limit 0 for all)\n", shown, n)
		}
	} else if shown == 0 {
		fmt.Fprintln(a.stdout, "(no objects)")
	}
}

func csState(o *idsync.CSObject) string {
	var s []string
	if o.Kind == idsync.KindPlaceholder {
		s = append(s, "placeholder")
	} else if o.Joined() {
		s = append(s, "joined")
	} else {
		s = append(s, "disjoined")
	}
	if o.Provisioned && o.Anchor == "" {
		s = append(s, "unconfirmed")
	}
	if o.Obsolete {
		s = append(s, "obsolete")
	}
	if o.ExportError != nil {
		s = append(s, "export-error")
	}
	if o.ImportError != "" {
		s = append(s, "import-error")
	}
	return strings.Join(s, ",")
}

func csPending(o *idsync.CSObject) string {
	var s []string
	if o.PendingImport != idsync.ImportNone {
		s = append(s, "import-"+o.PendingImport.String())
	}
	if o.PendingExport != nil {
		s = append(s, "export-"+o.PendingExport.Op.String())
	}
	if len(s) == 0 {
		return "-"
	}
	return strings.Join(s, ",")
}

func (a *app) csShowCmd() *cobra.Command {
	var dn, anchor string
	cmd := &cobra.Command{
		Use:   "show CONNECTOR (ID | --dn DN | --anchor ANCHOR)",
		Short: "Show one connector space object",
		Example: `  idsync cs show hr --anchor E0321
  idsync cs show directory --dn E0321`,
		Args: args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			n := 0
			for _, s := range []string{dn, anchor} {
				if s != "" {
					n++
				}
			}
			if len(as) == 2 {
				n++
			}
			if n != 1 {
				return usagef("give exactly one of ID, --dn or --anchor")
			}
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				if err := checkConnector(cfg, as[0]); err != nil {
					return err
				}
				o, err := findCS(ctx, tx, as[0], as[1:], dn, anchor)
				if err != nil {
					return err
				}
				if a.jsonOut {
					return printJSON(a.stdout, o)
				}
				printCS(a.stdout, o)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&dn, "dn", "", "find the object by DN")
	cmd.Flags().StringVar(&anchor, "anchor", "", "find the object by anchor")
	return cmd
}

func notFound(format string, args ...any) error {
	return &idsync.Error{Kind: idsync.KindNotFound, Err: fmt.Errorf(format, args...)}
}

func findCS(ctx context.Context, tx store.Tx, conn string, ids []string, dn, anchor string) (*idsync.CSObject, error) {
	switch {
	case len(ids) == 1:
		o, err := tx.GetCS(ctx, ids[0])
		if err != nil || o.Connector != conn {
			return nil, notFound("no object %s in connector space %s", ids[0], conn)
		}
		return o, nil
	case dn != "":
		m, err := tx.CSByDNs(ctx, conn, []string{dn})
		if err != nil {
			return nil, err
		}
		if o := m[strings.ToLower(dn)]; o != nil {
			return o, nil
		}
		return nil, notFound("no object with DN %q in connector space %s", dn, conn)
	default:
		m, err := tx.CSByAnchors(ctx, conn, []idsync.Anchor{idsync.Anchor(anchor)})
		if err != nil {
			return nil, err
		}
		if o := m[idsync.Anchor(anchor)]; o != nil {
			return o, nil
		}
		return nil, notFound("no object with anchor %q in connector space %s", anchor, conn)
	}
}

func printCS(w interface{ Write([]byte) (int, error) }, o *idsync.CSObject) {
	t := newTable(w)
	t.row("id", o.ID)
	t.row("connector", o.Connector)
	t.row("object type", o.ObjectType)
	t.row("dn", o.DN)
	t.row("anchor", orDash(string(o.Anchor)))
	t.row("state", csState(o))
	t.row("pending", csPending(o))
	if o.Joined() {
		t.row("metaverse", fmt.Sprintf("%s (rule %q, %s, since %s)", o.MVID, o.LinkRule, o.LinkType, shortTime(o.LinkedAt)))
	}
	if o.ImportError != "" {
		t.row("import error", o.ImportError)
	}
	if e := o.ExportError; e != nil {
		t.row("export error", fmt.Sprintf("%s: %s (%d retries, last %s)", e.Type, e.Message, e.Retries, shortTime(e.Last)))
	}
	t.row("updated", shortTime(o.Updated))
	t.flush()

	fmt.Fprintln(w, "\nattributes:")
	t = newTable(w, "  NAME", "VALUE", "UNCONFIRMED EXPORT")
	for _, n := range idsync.SortedNames(o.Attrs) {
		es := "-"
		if vs, ok := o.ExportStatus[n]; ok {
			es = values(vs)
		}
		t.row("  "+n, values(o.Attrs[n]), es)
	}
	t.flush()
	if pe := o.PendingExport; pe != nil {
		fmt.Fprintf(w, "\npending export: %s", pe.Op)
		if pe.NewDN != "" {
			fmt.Fprintf(w, " (rename to %s)", pe.NewDN)
		}
		fmt.Fprintln(w)
		printMods(w, pe.Mods)
	}
}

func printMods(w interface{ Write([]byte) (int, error) }, mods []idsync.AttrMod) {
	if len(mods) == 0 {
		return
	}
	t := newTable(w, "  ATTRIBUTE", "OP", "VALUES")
	for _, m := range mods {
		t.row("  "+m.Name, m.Op, values(m.Values))
	}
	t.flush()
}

func (a *app) pendingExportsCmd() *cobra.Command {
	var limit int
	cmd := &cobra.Command{
		Use:     "pending-exports CONNECTOR",
		Short:   "List what the next export of a connector would send",
		Example: "  idsync pending-exports directory\n  idsync pending-exports directory --json",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			ctx := cmd.Context()
			return a.withStore(ctx, func(cfg *config.Config, tx store.Tx) error {
				if err := checkConnector(cfg, as[0]); err != nil {
					return err
				}
				f := store.CSFilter{Connector: as[0], PendingExport: true, Limit: limit}
				objs, err := tx.ListCS(ctx, f)
				if err != nil {
					return err
				}
				type pending struct {
					ID          string              `json:"id"`
					DN          string              `json:"dn"`
					Anchor      idsync.Anchor       `json:"anchor,omitempty"`
					Op          string              `json:"op"`
					NewDN       string              `json:"newDn,omitempty"`
					Mods        []idsync.AttrMod    `json:"mods,omitempty"`
					ExportError *idsync.ExportError `json:"exportError,omitempty"`
				}
				list := []pending{}
				byOp := map[string]int{}
				for _, o := range objs {
					pe := o.PendingExport
					list = append(list, pending{o.ID, o.DN, o.Anchor, pe.Op.String(), pe.NewDN, pe.Mods, o.ExportError})
					byOp[pe.Op.String()]++
				}
				if a.jsonOut {
					return printJSON(a.stdout, list)
				}
				t := newTable(a.stdout, "OP", "DN", "ATTRIBUTES", "NEW DN", "LAST ERROR")
				for _, p := range list {
					names := make([]string, 0, len(p.Mods))
					for _, m := range p.Mods {
						names = append(names, m.Name)
					}
					errText := "-"
					if p.ExportError != nil {
						errText = fmt.Sprintf("%s (%d retries)", p.ExportError.Type, p.ExportError.Retries)
					}
					t.row(p.Op, p.DN, orDash(strings.Join(names, ",")), orDash(p.NewDN), errText)
				}
				t.flush()
				if len(list) > 0 {
					ops := make([]string, 0, len(byOp))
					for op, n := range byOp {
						ops = append(ops, fmt.Sprintf("%s %d", op, n))
					}
					sort.Strings(ops)
					fmt.Fprintf(a.stdout, "%d pending export(s): %s\n", len(list), strings.Join(ops, ", "))
				}
				a.moreHint(ctx, tx, len(list), limit, f)
				return nil
			})
		},
	}
	cmd.Flags().IntVar(&limit, "limit", 1000, "at most N objects (0: all)")
	return cmd
}
