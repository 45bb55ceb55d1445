package expr_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// TestLeftToRight: every operator has the same priority and chains are
// evaluated from the left.
func TestLeftToRight(t *testing.T) {
	env := testEnv(t)
	for _, c := range []evalCase{
		{`2*5+3`, `13`},
		{`2+5*3`, `21`}, // (2+5)*3, not 2+(5*3)
		{`2*(5+3)`, `16`},
		{`10-4-3`, `3`},
		{`20/2/5`, `2`},
		{`1+1=2`, `true`},
		{`2=1+1`, `1`}, // (2=1)+1: False is 0
		{`"a" & 1+1`, `eval: string "a1" is not a number`},
		{`1+1 & "a"`, `"2a"`},
		{`True || False && False`, `false`}, // (True || False) && False
		{`True || (False && False)`, `true`},
		{`[num] > 4 = True`, `true`},
		{`-[num] * 2`, `-10`},
		{`7/0`, `eval: division by zero`},
	} {
		c.run(t, env, nil)
	}
}

func TestConventionalPrecedence(t *testing.T) {
	env := testEnv(t)
	opts := &expr.Options{Precedence: expr.Conventional}
	for _, c := range []evalCase{
		{`2+5*3`, `17`},
		{`2=1+1`, `true`},
		{`True || False && False`, `true`},
		{`[num] = 5 || [str] = "x"`, `true`},
		{`"a" & 1+1`, `"a2"`},
	} {
		c.run(t, env, opts)
	}
}

// TestMultiValued: a function of a multi-valued attribute applies to each
// value, and a NULL result drops that value.
func TestMultiValued(t *testing.T) {
	env := testEnv(t)
	for _, c := range []evalCase{
		{`Trim([mv])`, `["a","b","c"]`},
		{`Word([proxy],2,":") & "@contoso.com"`, `["jane@contoso.com@contoso.com","jd@contoso.com@contoso.com","jane@contoso.com@contoso.com","jd@contoso.com@contoso.com"]`},
		{`IIF(InStr([proxy],"SIP:")=1,NULL,[proxy])`, `["SMTP:jane@contoso.com","smtp:jd@contoso.com","smtp:jd@contoso.com"]`},
		{`RemoveDuplicates(IIF(InStr([proxy],"SIP:")=1,NULL,LCase([proxy])))`, `["smtp:jane@contoso.com","smtp:jd@contoso.com"]`},
		{`IIF(Left([proxy],5)="SMTP:",Mid([proxy],6),NULL)`, `"jane@contoso.com"`},
		{`[mv2] & "-" & [mv2]`, `["x-x","y-y"]`},
		{`[mv2] & [proxy]`, `eval: multi-valued operands have different numbers of values (2 and 4)`},
		{`[mv2] = "x"`, `[true,false]`},
		{`Count(Where($p,[proxy],Left($p,5)="smtp:"))`, `2`},
		{`Join(Select($p,Split("a,b",","),UCase($p)),"+")`, `"A+B"`},
		{`Item(Split("a,b,c",","),Count(Split("a,b,c",",")))`, `"c"`},
		{`ItemOrNull(Trim([mv]),2)`, `"b"`},
		{`Contains([members],"cn=a,dc=x",CaseInsensitive)`, `1`},
		{`Trim([missing]) & "x"`, `"x"`},
		{`[missing] & [missing]`, `null`},
		{`[missing] = "x"`, `null`},
		{`IIF([missing] <> "x","yes","no")`, `"no"`},
		{`IsNull([missing] + 1)`, `true`},
	} {
		c.run(t, env, nil)
	}
}

func TestFlags(t *testing.T) {
	env := testEnv(t)
	for _, c := range []evalCase{
		{`IgnoreThisFlow`, `"IgnoreThisFlow"`},
		{`AuthoritativeNull`, `"AuthoritativeNull"`},
		{`IIF(IsNullOrEmpty([missing]),IgnoreThisFlow,[missing])`, `"IgnoreThisFlow"`},
		{`IIF(IsPresent([str]),IgnoreThisFlow,AuthoritativeNull)`, `"IgnoreThisFlow"`},
		{`Trim(IgnoreThisFlow)`, `compile: 1:6: IgnoreThisFlow can only be the result`},
		{`"x" & AuthoritativeNull`, `compile: 1:7: AuthoritativeNull can only be the result`},
		{`Trim(IIF(True,IgnoreThisFlow,"x"))`, `compile: 1:15: IgnoreThisFlow can only be the result`},
		{`IIF(True,IgnoreThisFlow,"x") & "y"`, `compile: 1:10: IgnoreThisFlow can only be the result`},
		{`With($x,IgnoreThisFlow,$x)`, `compile: 1:9: IgnoreThisFlow can only be the result`},
		{`With($x,1,Switch($x=1,IgnoreThisFlow))`, `"IgnoreThisFlow"`},
	} {
		c.run(t, env, nil)
	}
	p := expr.MustCompile(`IIF(IsPresent([missing]),[missing],AuthoritativeNull)`)
	res, err := p.Eval(env)
	if err != nil || res.Flag != expr.AuthoritativeNull || res.IsNull() {
		t.Errorf("Eval = %+v, %v, want the AuthoritativeNull flag", res, err)
	}
	res, _ = expr.MustCompile(`NULL`).Eval(env)
	if !res.IsNull() {
		t.Errorf("NULL: IsNull() = false, want true")
	}
}

// TestError: Error("msg") becomes a *UserError carrying msg, wherever it
// is raised; other failures are *EvalError naming the function.
func TestError(t *testing.T) {
	env := testEnv(t)
	for _, src := range []string{
		`Error("Maximum Group member count exceeded")`,
		`IIF([num] > 4,Error("Maximum Group member count exceeded"),IgnoreThisFlow)`,
		`Trim(Left(Error("Maximum Group member count exceeded"),3))`,
		`Switch(False,1,True,Error("Maximum Group member count exceeded"))`,
		`Select($x,[mv],Error("Maximum Group member count exceeded"))`,
		`With($x,Error("Maximum Group member count exceeded"),1)`,
		`"a" & Error("Maximum Group member count exceeded")`,
	} {
		_, err := expr.MustCompile(src).Eval(env)
		var ue *expr.UserError
		if !errors.As(err, &ue) || ue.Msg != "Maximum Group member count exceeded" {
			t.Errorf("%s = error %v, want *UserError with the message", src, err)
		}
	}
	_, err := expr.MustCompile(`Item([mv],9)`).Eval(env)
	var ee *expr.EvalError
	if !errors.As(err, &ee) || ee.Func != "Item" {
		t.Errorf("Item([mv],9) = error %#v, want *EvalError from Item", err)
	}
	// Only the chosen branch runs.
	if _, err := expr.MustCompile(`IIF(True,"ok",Error("no"))`).Eval(env); err != nil {
		t.Errorf("IIF evaluated the branch it didn't choose: %v", err)
	}
}

func TestParameters(t *testing.T) {
	env := testEnv(t)
	for _, c := range []evalCase{
		{`%Domain.FQDN%`, `"contoso.com"`},
		{`[str] & "@" & %Domain.FQDN%`, `"Hello World@contoso.com"`},
		{`%Domain.Netbios% & "\" & [str]`, `"CONTOSO\\Hello World"`},
		{`%Forest.FQDN%`, `null`}, // declared but not given
		{`%Custom.Thing%`, `compile: 1:1: unknown parameter %Custom.Thing% (known: %Domain.FQDN%`},
		{`%domain.fqdn%`, `compile: did you mean %Domain.FQDN%?`},
	} {
		c.run(t, env, nil)
	}
	opts := &expr.Options{Params: []string{"ReplaceString"}}
	evalCase{`%ReplaceString%`, `null`}.run(t, env, opts)
	evalCase{`%Domain.FQDN%`, `compile: unknown parameter %Domain.FQDN% (known: %ReplaceString%)`}.run(t, env, opts)
}

// TestCompileErrors: problems are found at compile time, with the
// position and a caret excerpt.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct {
		src     string
		line    int
		col     int
		msg     string
		excerpt string
	}{
		{`Trim([givenName]`, 1, 5, "unbalanced parentheses: ( of Trim is never closed", "Trim([givenName]\n    ^"},
		{`Trim([givenName]))`, 1, 18, "unbalanced parentheses: unexpected )", ""},
		{`(1+2`, 1, 1, "unbalanced parentheses: ( is never closed", ""},
		{`Trimm([sn])`, 1, 1, "unknown function Trimm", ""},
		{`IIF(IsPresent([a]),` + "\n  " + `Lcase([a]),NULL)`, 2, 3, "unknown function Lcase (names are case-sensitive: did you mean LCase?)", "  Lcase([a]),NULL)\n  ^"},
		{`Left("abc")`, 1, 1, "Left takes 2 arguments, got 1", ""},
		{`Mid("abc",1,2,3)`, 1, 1, "Mid takes 2 to 3 arguments, got 4", ""},
		{`Left("abc","two")`, 1, 12, `argument 2 (NumChars) of Left must be a number: got string "two" (str)`, ""},
		{`BitAnd(Now(),1)`, 1, 8, "argument 1 (value1) of BitAnd must be a number: got Now(...) (dt)", ""},
		{`1 + "x"`, 1, 5, `operator + needs a number: got string "x" (str)`, ""},
		{`[a] &&`, 1, 7, "unexpected end of expression: missing operand", ""},
		{`"abc`, 1, 1, "unterminated string (missing closing \")", ""},
		{`[abc`, 1, 1, "unterminated attribute name (missing ])", ""},
		{`%Domain.FQDN`, 1, 1, "unterminated parameter (want %Name%)", ""},
		{`“quoted”`, 1, 1, "smart quote", ""},
		{`1.5`, 1, 1, "fractional numbers are not supported", ""},
		{`&HZZ`, 1, 1, "missing hex digits after &H", ""},
		{`[a] [b]`, 1, 5, "unexpected attribute [b]: missing operator?", ""},
		{`Foo`, 1, 1, "unknown identifier Foo", ""},
		{`true`, 1, 1, "unknown identifier true (names are case-sensitive: did you mean True?)", ""},
		{`Random(1,2)`, 1, 1, "unknown function Random (did you mean RandomNum?)", ""},
		{`$x`, 1, 1, "variable $x is not bound", ""},
		{``, 1, 1, "empty expression", ""},
		{`F(,)`, 1, 3, "missing argument 1 of F", ""},
		{`a | b`, 1, 3, `unexpected "|" (the or operator is ||)`, ""},
		{`ImportedValue([x])`, 1, 15, "ImportedValue takes the attribute name as a string constant", ""},
		{strings.Repeat("(", 300) + "1" + strings.Repeat(")", 300), 1, 201, "nested too deeply", ""},
	} {
		_, err := expr.Compile(c.src, nil)
		var ce *expr.Error
		if !errors.As(err, &ce) {
			t.Errorf("Compile(%q) = %v, want *expr.Error", c.src, err)
			continue
		}
		if ce.Line != c.line || ce.Col != c.col || !strings.Contains(ce.Msg, c.msg) {
			t.Errorf("Compile(%q) = %d:%d: %s, want %d:%d: %s", c.src, ce.Line, ce.Col, ce.Msg, c.line, c.col, c.msg)
		}
		if want := fmt.Sprintf("%d:%d: %s", ce.Line, ce.Col, ce.Msg); ce.Error() != want {
			t.Errorf("Error() = %q, want %q", ce.Error(), want)
		}
		if c.excerpt != "" && ce.Excerpt() != c.excerpt {
			t.Errorf("Compile(%q).Excerpt() = %q, want %q", c.src, ce.Excerpt(), c.excerpt)
		}
	}
}

func TestSyntax(t *testing.T) {
	env := testEnv(t)
	for _, c := range []evalCase{
		{"IIF (IsPresent([str]) ,\n\t[str] ,\r\n NULL )", `"Hello World"`}, // white space anywhere, even before (
		{`[mS-DS-ConsistencyGuid]`, `null`},
		{`&HFF + &h10`, `271`},
		{`&H40000000`, `1073741824`},
		{`&HFFFFFFFFFFFFFFFF`, `-1`},
		{`"say ""hi"""`, `"say \"hi\""`},
		{`"a\\b\n"`, `"a\\b\n"`},
		{`"\0ACNF:"`, `"\\0ACNF:"`},
		{`"\\0ACNF:"`, `"\\0ACNF:"`},
		{`"C:\path\x"`, `"C:\\path\\x"`},
		{`"mS-DS-ConsistencyGuid"="mS-DS-ConsistencyGuid"`, `true`},
		{`CRLF`, `"\r\n"`},
		{`-2147483648`, `-2147483648`},
		{`- -3`, `3`},
		{`-"4"`, `-4`},
		{`True = "true"`, `true`},
		{`5 = "5"`, `true`},
		{`"b" > "a"`, `true`},
		{`[dt] < "2025-01-01"`, `true`},
		{`[dn] = "cn=doe\, jane,ou=sales,dc=contoso,dc=com"`, `true`},
		{`[bin] > 1`, `eval: can't compare binary value of 3 bytes with number 1`},
		{`"x" < 1`, `eval: string "x" is not a number`},
	} {
		c.run(t, env, nil)
	}
}

// TestDeepNesting nests list functions and concatenations deeper than the
// evaluator's initial stack.
func TestDeepNesting(t *testing.T) {
	env := testEnv(t)
	src, want := `[mv2]`, `["x","y"]`
	for range 12 {
		src = `Split(Join(` + src + `,","),",")`
	}
	evalCase{src, want}.run(t, env, nil)
	src = `"a"`
	for i := range 40 {
		src = fmt.Sprintf(`Join(Split(%s & "%d" & Trim(" b "),","),"")`, src, i%10)
	}
	got := outcome(src, env, nil)
	if !strings.HasPrefix(got, `"a0b1b2b`) || len(got) != 2+1+80 {
		t.Errorf("deep concatenation = %s", got)
	}
}

func TestAttrs(t *testing.T) {
	p := expr.MustCompile(`IIF(IsPresent([givenName]),Trim([givenName]) & ValueCount("member"),RemoveDuplicates(ImportedValue("proxyAddresses")) & [sn])`)
	want := []string{"givenName", "member", "proxyAddresses", "sn"}
	if got := p.Attrs(); !slices.Equal(got, want) {
		t.Errorf("Attrs() = %q, want %q", got, want)
	}
	if got := expr.MustCompile(`"x"`).Attrs(); len(got) != 0 {
		t.Errorf("Attrs() = %q, want none", got)
	}
}

// TestConcurrentEval runs one Program from many goroutines (go test -race).
func TestConcurrentEval(t *testing.T) {
	p := expr.MustCompile(`With($x,Select($v,[mv],Trim($v) & [n]),Join($x,","))`)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				n := fmt.Sprint(g*1000 + i)
				env := &expr.MapEnv{Attrs: idsync.Attrs{
					"mv": {idsync.String(" a "), idsync.String(" b")},
					"n":  {idsync.String(n)},
				}}
				res, err := p.Eval(env)
				if err != nil || len(res.Values) != 1 || res.Values[0].Str != "a"+n+",b"+n {
					t.Errorf("Eval = %v, %v; want a%s,b%s", res.Values, err, n, n)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestEvalAllocs keeps the common case cheap: a single-valued flow
// allocates its text and the result slice only.
func TestEvalAllocs(t *testing.T) {
	p := expr.MustCompile(benchExpr)
	env := benchEnv()
	p.Eval(env)
	if n := testing.AllocsPerRun(200, func() { p.Eval(env) }); n > 2 {
		t.Errorf("Eval allocates %v times, want at most 2", n)
	}
}

func TestMustCompilePanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil {
			t.Error("MustCompile of a bad expression did not panic")
		}
	}()
	expr.MustCompile(`Trim(`)
}
