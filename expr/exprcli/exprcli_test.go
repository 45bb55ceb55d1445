package exprcli_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
	"github.com/idsync/idsync/expr/exprcli"
)

func TestParseAttr(t *testing.T) {
	for _, c := range []struct {
		in   string
		name string
		want idsync.Value
		err  string
	}{
		{"givenName=Jane", "givenName", idsync.String("Jane"), ""},
		{"note=a=b", "note", idsync.String("a=b"), ""},
		{"empty=", "empty", idsync.String(""), ""},
		{"mS-DS-ConsistencyGuid:binary=AQID", "mS-DS-ConsistencyGuid", idsync.Binary([]byte{1, 2, 3}), ""},
		{"uac:integer=514", "uac", idsync.Int(514), ""},
		{"ok:boolean=true", "ok", idsync.Bool(true), ""},
		{"manager:reference=CN=Boss,DC=x", "manager", idsync.Ref("CN=Boss,DC=x"), ""},
		{"when:datetime=2024-01-02T03:04:05Z", "when", idsync.Time(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)), ""},
		{"uac:integer=x", "", idsync.Value{}, "is not an integer"},
		{"x:color=red", "", idsync.Value{}, "unknown attribute type"},
		{"novalue", "", idsync.Value{}, "want NAME=VALUE"},
		{"=v", "", idsync.Value{}, "want NAME=VALUE"},
	} {
		name, v, err := exprcli.ParseAttr(c.in)
		if c.err != "" {
			if err == nil || !strings.Contains(err.Error(), c.err) {
				t.Errorf("ParseAttr(%q) = error %v, want %q", c.in, err, c.err)
			}
			continue
		}
		if err != nil || name != c.name || !v.Equal(c.want) {
			t.Errorf("ParseAttr(%q) = %q, %v, %v; want %q, %v", c.in, name, v, err, c.name, c.want)
		}
	}
}

func TestEval(t *testing.T) {
	fixed := expr.Options{Now: func() time.Time { return time.Date(2024, 5, 1, 0, 0, 0, 0, time.UTC) }}
	for _, c := range []struct {
		cfg  exprcli.EvalConfig
		want string
		err  string
	}{
		{exprcli.EvalConfig{Expression: `Trim([a])`, Attrs: []string{"a= x "}}, "x\n", ""},
		{exprcli.EvalConfig{Expression: `Trim([a])`, Attrs: []string{"a= x ", "a=y "}}, "x\ny\n", ""},
		{exprcli.EvalConfig{Expression: `Trim([a])`, Attrs: []string{"a= x ", "a=y "}, JSON: true}, "[\"x\",\"y\"]\n", ""},
		{exprcli.EvalConfig{Expression: `[missing]`}, "", ""},
		{exprcli.EvalConfig{Expression: `[missing]`, JSON: true}, "null\n", ""},
		{exprcli.EvalConfig{Expression: `""`}, "\n", ""},
		{exprcli.EvalConfig{Expression: `Len([a])`, Attrs: []string{"a=abc"}, JSON: true}, "3\n", ""},
		{exprcli.EvalConfig{Expression: `IsPresent([a])`, JSON: true}, "false\n", ""},
		{exprcli.EvalConfig{Expression: `Now()`, JSON: true, Options: fixed}, "\"2024-05-01T00:00:00Z\"\n", ""},
		{exprcli.EvalConfig{Expression: `Now()`, Options: fixed}, "2024-05-01T00:00:00Z\n", ""},
		{exprcli.EvalConfig{Expression: `CGuid("00001111-aaaa-2222-bbbb-3333cccc4444")`, JSON: true}, "\"base64:EREAAKqqIiK7uzMzzMxERA==\"\n", ""},
		{exprcli.EvalConfig{Expression: `CGuid("00001111-aaaa-2222-bbbb-3333cccc4444")`}, "base64:EREAAKqqIiK7uzMzzMxERA==\n", ""},
		{exprcli.EvalConfig{Expression: `IIF(True,AuthoritativeNull,1)`, JSON: true}, "\"AuthoritativeNull\"\n", ""},
		{exprcli.EvalConfig{Expression: `IgnoreThisFlow`}, "IgnoreThisFlow\n", ""},
		{exprcli.EvalConfig{Expression: `CStr([m])`, Attrs: []string{"m:reference=CN=<x>,DC=y"}, JSON: true}, "\"CN=<x>,DC=y\"\n", ""},
		{exprcli.EvalConfig{Expression: `ImportedValue("p")`, Attrs: []string{"p=new"}, Imported: []string{"p=old"}}, "old\n", ""},
		{exprcli.EvalConfig{Expression: `ImportedValue("p")`, Attrs: []string{"p=new"}}, "new\n", ""},
		{exprcli.EvalConfig{Expression: `%Custom.X% & %Domain.FQDN%`, Params: []string{"Custom.X=a", "Domain.FQDN=b"}}, "ab\n", ""},
		{exprcli.EvalConfig{Expression: `%Custom.X%`}, "", "unknown parameter %Custom.X%"},
		{exprcli.EvalConfig{Expression: `1`, Params: []string{"novalue"}}, "", "want NAME=VALUE"},
		{exprcli.EvalConfig{Expression: `1`, Imported: []string{"x"}}, "", "want NAME=VALUE"},
		{exprcli.EvalConfig{Expression: `Error("stop")`}, "", "error raised by the expression: stop"},
		{exprcli.EvalConfig{Expression: `CNum([a])`, Attrs: []string{"a=x"}}, "", `CNum: string "x" is not a number`},
		{exprcli.EvalConfig{Expression: `Trim([a]`}, "", "1:5: unbalanced parentheses: ( of Trim is never closed\nTrim([a]\n    ^"},
	} {
		var out bytes.Buffer
		err := exprcli.Eval(&out, c.cfg)
		if c.err != "" {
			if err == nil || !strings.Contains(exprcli.ErrorText(err), c.err) {
				t.Errorf("Eval(%q) = error %v, want %q", c.cfg.Expression, err, c.err)
			}
			continue
		}
		if err != nil || out.String() != c.want {
			t.Errorf("Eval(%q) = %q, %v; want %q", c.cfg.Expression, out.String(), err, c.want)
		}
	}
}

func TestEvalErrorTypes(t *testing.T) {
	err := exprcli.Eval(&bytes.Buffer{}, exprcli.EvalConfig{Expression: `Error("x")`})
	var ue *expr.UserError
	if !errors.As(err, &ue) {
		t.Errorf("Eval(Error) = %T, want *expr.UserError", err)
	}
	err = exprcli.Eval(&bytes.Buffer{}, exprcli.EvalConfig{Expression: `(`})
	var ce *expr.Error
	if !errors.As(err, &ce) {
		t.Errorf("Eval(\"(\") = %T, want *expr.Error", err)
	}
}

func TestCheck(t *testing.T) {
	in := "# default rules\nTrim([sn])\n\n   \nIIF(IsPresent([a]),1\nLeft(\"x\",\"y\")\n  # indented comment\n%Domain.FQDN%\n"
	var out bytes.Buffer
	ok, err := exprcli.Check(&out, strings.NewReader(in), nil)
	want := "2: ok\n5:4: unbalanced parentheses: ( of IIF is never closed\n6:10: argument 2 (NumChars) of Left must be a number: got string \"y\" (str)\n8: ok\n"
	if err != nil || ok || out.String() != want {
		t.Errorf("Check = %v, %v, output\n%s\nwant false, nil, output\n%s", ok, err, out.String(), want)
	}
	out.Reset()
	ok, err = exprcli.Check(&out, strings.NewReader("Trim([sn])\n"), nil)
	if err != nil || !ok || out.String() != "1: ok\n" {
		t.Errorf("Check = %v, %v, %q; want true, nil, \"1: ok\\n\"", ok, err, out.String())
	}
}
