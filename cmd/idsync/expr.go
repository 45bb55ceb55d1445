package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/idsync/idsync/expr"
	"github.com/idsync/idsync/expr/exprcli"
)

// exitError carries the process exit status of a failed command; main
// prints the error on stderr and exits with ExitCode(). msg, when set, is
// the text to show (a compile error with its caret excerpt).
type exitError struct {
	code int
	err  error
	msg  string
}

func (e *exitError) Error() string {
	if e.msg != "" {
		return e.msg
	}
	return e.err.Error()
}

func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

// newExprCmd builds "idsync expr": eval and check.
func newExprCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "expr",
		Short: "Evaluate and check sync-rule expressions",
		Long: "Evaluate and check expressions in the Entra Connect Sync rule language.\n" +
			"See docs/expressions.md for the functions.",
	}
	cmd.AddCommand(newExprEvalCmd(), newExprCheckCmd())
	return cmd
}

func newExprEvalCmd() *cobra.Command {
	var c exprcli.EvalConfig
	cmd := &cobra.Command{
		Use:   "eval [--attr NAME=VALUE]... [--param NAME=VALUE]... [--json] EXPRESSION",
		Short: "Evaluate an expression against attribute values",
		Long: `Evaluate an expression and print the result, one value per line (nothing for NULL).

--attr NAME=VALUE gives a string value; NAME:TYPE=VALUE gives a typed one, TYPE being
string, integer, boolean, binary (Base64), reference or datetime (RFC 3339). Repeat a
name for a multi-valued attribute. --imported gives the values ImportedValue reads
(by default the --attr values). --param NAME=VALUE gives a rule parameter.

With --json the result is a JSON string, number, boolean, null, or an array for several
values; dates are RFC 3339 UTC strings, binary values "base64:…", and the flags the
strings "IgnoreThisFlow" and "AuthoritativeNull".

Exit status 0 on success, 1 when the expression doesn't compile or its evaluation
fails (including Error("…")); the message goes to stderr.`,
		Example: `  idsync expr eval --attr givenName=" Jane " --attr sn=doe 'Trim([givenName]) & " " & UCase(Left([sn],1))'
  idsync expr eval --json --attr proxyAddresses=SMTP:a@x.com --attr proxyAddresses=SIP:a@x.com \
      'IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses])'
  idsync expr eval --attr pwdLastSet:integer=130543784930000000 'FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")'`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			c.Expression = args[0]
			if err := exprcli.Eval(cmd.OutOrStdout(), c); err != nil {
				return &exitError{code: 1, err: err, msg: exprcli.ErrorText(err)}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&c.Attrs, "attr", nil, "attribute value NAME=VALUE or NAME:TYPE=VALUE (repeat for several values)")
	f.StringArrayVar(&c.Imported, "imported", nil, "imported attribute value for ImportedValue, as --attr")
	f.StringArrayVar(&c.Params, "param", nil, "rule parameter NAME=VALUE")
	f.BoolVar(&c.JSON, "json", false, "print the result as JSON")
	return cmd
}

func newExprCheckCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "check FILE",
		Short: "Check a file of expressions, one per line",
		Long: `Compile every expression of FILE (one per line; blank lines and lines starting
with # are skipped; - reads standard input) and print "LINE: ok" or
"LINE:COL: message" for each. Exit status 0 only when all are ok.`,
		Args:         cobra.ExactArgs(1),
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			in := cmd.InOrStdin()
			if args[0] != "-" {
				f, err := os.Open(args[0])
				if err != nil {
					return &exitError{code: 1, err: fmt.Errorf("expr check: %w", err)}
				}
				defer f.Close()
				in = f
			}
			ok, err := exprcli.Check(cmd.OutOrStdout(), in, &expr.Options{})
			if err != nil {
				return &exitError{code: 1, err: err}
			}
			if !ok {
				return &exitError{code: 1, err: fmt.Errorf("expr check: %s has expressions with errors", args[0])}
			}
			return nil
		},
	}
}
