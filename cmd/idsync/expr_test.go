package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runExpr runs "idsync expr ARGS" and returns its standard output, the
// message main would print on stderr (the error's text) and the exit code.
func runExpr(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := newExprCmd()
	var out, errb bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SilenceErrors = true
	err := cmd.Execute()
	var ee interface{ ExitCode() int }
	switch {
	case err == nil:
	case errors.As(err, &ee):
		code = ee.ExitCode()
		errb.WriteString(err.Error() + "\n")
	default:
		code = -1
		t.Logf("error without an exit code: %v", err)
	}
	return out.String(), errb.String(), code
}

func TestExprEvalCmd(t *testing.T) {
	for _, c := range []struct {
		args      []string
		out, errs string
		code      int
	}{
		{[]string{"eval", "--attr", "givenName= Jane ", "--attr", "sn=doe", `Trim([givenName]) & " " & UCase(Left([sn],1))`}, "Jane D\n", "", 0},
		{[]string{"eval", "--attr", "p=SMTP:a@x", "--attr", "p=SIP:a@x", "--attr", "p=smtp:b@x", `IIF(InStr([p],"SIP:")=1,NULL,[p])`}, "SMTP:a@x\nsmtp:b@x\n", "", 0},
		{[]string{"eval", "--json", "--attr", "p=SMTP:a@x", "--attr", "p=SIP:a@x", `IIF(InStr([p],"SIP:")=1,NULL,[p])`}, "\"SMTP:a@x\"\n", "", 0},
		{[]string{"eval", "--json", "--attr", "n:integer=514", `BitAnd([n],2)=2`}, "true\n", "", 0},
		{[]string{"eval", "--json", `CDate("2013-01-10 4:00 PM -8")`}, "\"2013-01-11T00:00:00Z\"\n", "", 0},
		{[]string{"eval", "--json", `IgnoreThisFlow`}, "\"IgnoreThisFlow\"\n", "", 0},
		{[]string{"eval", "--json", `NULL`}, "null\n", "", 0},
		{[]string{"eval", "--param", "Domain.FQDN=contoso.com", `"a@" & %Domain.FQDN%`}, "a@contoso.com\n", "", 0},
		{[]string{"eval", `Error("no account")`}, "", "error raised by the expression: no account\n", 1},
		{[]string{"eval", `Trim([a]`}, "", "1:5: unbalanced parentheses: ( of Trim is never closed\nTrim([a]\n    ^\n", 1},
		{[]string{"eval", "--attr", "bad", `1`}, "", "want NAME=VALUE", 1},
	} {
		out, errs, code := runExpr(t, c.args...)
		if out != c.out || !strings.Contains(errs, c.errs) || code != c.code {
			t.Errorf("idsync expr %q = %q, %q, exit %d; want %q, %q, exit %d", c.args, out, errs, code, c.out, c.errs, c.code)
		}
	}
}

func TestExprCheckCmd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "rules.txt")
	os.WriteFile(file, []byte("# comment\nTrim([sn])\n\nTrimm([sn])\n"), 0o644)
	out, _, code := runExpr(t, "check", file)
	if want := "2: ok\n4:1: unknown function Trimm\n"; out != want || code != 1 {
		t.Errorf("check = %q, exit %d; want %q, exit 1", out, code, want)
	}
	os.WriteFile(file, []byte("Trim([sn])\n"), 0o644)
	if out, _, code := runExpr(t, "check", file); out != "1: ok\n" || code != 0 {
		t.Errorf("check = %q, exit %d; want \"1: ok\\n\", exit 0", out, code)
	}
	if _, errs, code := runExpr(t, "check", filepath.Join(t.TempDir(), "missing")); code != 1 || errs == "" {
		t.Errorf("check of a missing file: exit %d, stderr %q; want exit 1 and a message", code, errs)
	}
}
