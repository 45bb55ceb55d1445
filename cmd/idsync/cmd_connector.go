package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
)

// connectorCmd groups the operations a connector offers outside runs.
func (a *app) connectorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "connector",
		Short: "Validate a connector and discover its schema, partitions and hierarchy",
	}
	cmd.AddCommand(a.connPingCmd(), a.connSchemaCmd(), a.connPartitionsCmd(), a.connHierarchyCmd())
	return cmd
}

// withEngine loads the configuration, opens the store and an engine.
func (a *app) withEngine(ctx context.Context, f func(e *engine.Engine) error) error {
	cfg, st, err := a.openStore(ctx)
	if err != nil {
		return err
	}
	e, err := a.newEngine(ctx, cfg, st, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	return f(e)
}

func (a *app) connPingCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "ping NAME",
		Short:   "Check that a connector's system answers and its configuration works",
		Example: `  idsync connector ping directory`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				if err := e.Ping(cmd.Context(), as[0]); err != nil {
					return err
				}
				if a.jsonOut {
					return printJSON(a.stdout, map[string]any{"connector": as[0], "ok": true})
				}
				fmt.Fprintf(a.stdout, "%s: ok\n", as[0])
				return nil
			})
		},
	}
}

func (a *app) connSchemaCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "schema NAME",
		Short:   "Discover a connector's object types and attributes",
		Example: "  idsync connector schema directory\n  idsync connector schema hr --json",
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				sc, err := e.DiscoverSchema(cmd.Context(), as[0])
				if err != nil {
					return err
				}
				if sc == nil {
					sc = &idsync.Schema{}
				}
				if a.jsonOut {
					return printJSON(a.stdout, schemaJSON(sc))
				}
				t := newTable(a.stdout, "OBJECT TYPE", "ATTRIBUTE", "TYPE", "MULTI")
				for _, c := range sc.Classes {
					if len(c.Attrs) == 0 {
						t.row(c.Name, "-", "-", "-")
					}
					for _, at := range c.Attrs {
						multi := "no"
						if at.MultiValued {
							multi = "yes"
						}
						t.row(c.Name, at.Name, at.Type.String(), multi)
					}
				}
				t.flush()
				return nil
			})
		},
	}
}

type attrJSON struct {
	Name        string `json:"name"`
	Type        string `json:"type"`
	MultiValued bool   `json:"multiValued"`
}

type classJSON struct {
	Name       string     `json:"name"`
	Attributes []attrJSON `json:"attributes"`
}

// schemaJSON is a discovered schema with its types by name.
func schemaJSON(sc *idsync.Schema) map[string]any {
	classes := []classJSON{}
	for _, c := range sc.Classes {
		cj := classJSON{Name: c.Name, Attributes: []attrJSON{}}
		for _, at := range c.Attrs {
			cj.Attributes = append(cj.Attributes, attrJSON{Name: at.Name, Type: at.Type.String(), MultiValued: at.MultiValued})
		}
		classes = append(classes, cj)
	}
	return map[string]any{"objectTypes": classes}
}

func (a *app) connPartitionsCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "partitions NAME",
		Short: "Discover a connector's partitions",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, as []string) error {
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				ps, err := e.Partitions(cmd.Context(), as[0])
				if err != nil {
					return err
				}
				if a.jsonOut {
					if ps == nil {
						ps = []connector.Partition{}
					}
					return printJSON(a.stdout, ps)
				}
				t := newTable(a.stdout, "PARTITION", "DN")
				for _, p := range ps {
					t.row(p.Name, orDash(p.DN))
				}
				t.flush()
				return nil
			})
		},
	}
}

func (a *app) connHierarchyCmd() *cobra.Command {
	return &cobra.Command{
		Use:     "hierarchy NAME [DN]",
		Short:   "List the containers under DN (the top of the hierarchy without DN)",
		Example: `  idsync connector hierarchy directory "DC=example,DC=com"`,
		Args:    args(cobra.RangeArgs(1, 2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			parent := ""
			if len(as) == 2 {
				parent = as[1]
			}
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				ns, err := e.Hierarchy(cmd.Context(), as[0], parent)
				if err != nil {
					return err
				}
				if a.jsonOut {
					if ns == nil {
						ns = []connector.HierarchyNode{}
					}
					return printJSON(a.stdout, ns)
				}
				t := newTable(a.stdout, "NAME", "DN")
				for _, n := range ns {
					t.row(n.Name, n.DN)
				}
				t.flush()
				return nil
			})
		},
	}
}

// passwordCmd sets and changes passwords of connector-space objects.
func (a *app) passwordCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "password",
		Short: "Set or change the password of an object in a connected system",
		Long: `Set (an administrator's reset) or change (proving the old one) the password of
an object of a connector space, named by DN or anchor, in its system. The
connector must declare the passwordOperations capability.

Passwords are never taken from the command line: they are read from standard
input (the new password on the first line; for change, the old password on the
first line and the new one on the second), or from the environment variables
named by --password-env (and --old-password-env for change).`,
	}
	cmd.AddCommand(a.passwordSetCmd(), a.passwordChangeCmd())
	return cmd
}

func (a *app) passwordSetCmd() *cobra.Command {
	var (
		env  string
		opts connector.PasswordOptions
	)
	cmd := &cobra.Command{
		Use:   "set CONNECTOR OBJECT",
		Short: "Set the password of an object (administrator reset)",
		Example: `  printf '%s\n' "$NEWPW" | idsync password set directory "CN=Ada,OU=People,DC=x"
  idsync password set directory 4f1c... --password-env NEWPW --force-change`,
		Args: args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			pw, err := readSecrets(cmd.InOrStdin(), []string{env}, []string{"new password"})
			if err != nil {
				return err
			}
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				err := e.SetPassword(cmd.Context(), engine.PasswordRequest{Connector: as[0], Object: as[1], New: pw[0], Options: opts})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "password of %s in %s set\n", as[1], as[0])
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&env, "password-env", "", "read the new password from this environment variable instead of standard input")
	fl.BoolVar(&opts.ForceChangeAtLogOn, "force-change", false, "require the user to change the password at next logon")
	fl.BoolVar(&opts.UnlockAccount, "unlock", false, "unlock the account")
	fl.BoolVar(&opts.ValidatePassword, "validate", false, "ask the system to check the password against its policy")
	return cmd
}

func (a *app) passwordChangeCmd() *cobra.Command {
	var newEnv, oldEnv string
	cmd := &cobra.Command{
		Use:     "change CONNECTOR OBJECT",
		Short:   "Change the password of an object, proving the old one",
		Example: `  OLDPW=... NEWPW=... idsync password change directory "CN=Ada,OU=People,DC=x" --old-password-env OLDPW --password-env NEWPW`,
		Args:    args(cobra.ExactArgs(2)),
		RunE: func(cmd *cobra.Command, as []string) error {
			if (newEnv == "") != (oldEnv == "") {
				return usagef("--password-env and --old-password-env go together (or read both from standard input)")
			}
			pw, err := readSecrets(cmd.InOrStdin(), []string{oldEnv, newEnv}, []string{"old password", "new password"})
			if err != nil {
				return err
			}
			return a.withEngine(cmd.Context(), func(e *engine.Engine) error {
				err := e.ChangePassword(cmd.Context(), engine.PasswordRequest{Connector: as[0], Object: as[1], Old: pw[0], New: pw[1]})
				if err != nil {
					return err
				}
				fmt.Fprintf(a.stdout, "password of %s in %s changed\n", as[1], as[0])
				return nil
			})
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&newEnv, "password-env", "", "read the new password from this environment variable")
	fl.StringVar(&oldEnv, "old-password-env", "", "read the old password from this environment variable")
	return cmd
}

// readSecrets reads secrets from the named environment variables, or,
// when the names are empty, one a line from r. The errors never hold a
// secret.
func readSecrets(r io.Reader, envs, what []string) ([]connector.Secret, error) {
	out := make([]connector.Secret, len(envs))
	if envs[0] != "" {
		for i, name := range envs {
			v, ok := os.LookupEnv(name)
			if !ok || v == "" {
				return nil, usagef("environment variable %s (the %s) is not set or empty", name, what[i])
			}
			out[i] = connector.NewSecret(v)
		}
		return out, nil
	}
	br := bufio.NewReader(r)
	for i := range out {
		line, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("read the %s from standard input: %w", what[i], err)
		}
		line = strings.TrimRight(line, "\r\n")
		if line == "" {
			return nil, usagef("no %s on standard input (line %d); give it there or with --password-env", what[i], i+1)
		}
		out[i] = connector.NewSecret(line)
	}
	return out, nil
}
