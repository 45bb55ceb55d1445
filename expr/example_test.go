package expr_test

import (
	"errors"
	"fmt"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

func Example() {
	p := expr.MustCompile(`IIF(IsPresent([givenName]),Trim([givenName]) & " " & UCase(Left([sn],1)),NULL)`)
	res, err := p.Eval(&expr.MapEnv{Attrs: idsync.Attrs{
		"givenName": {idsync.String(" Jane ")},
		"sn":        {idsync.String("doe")},
	}})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Values[0].Str)
	fmt.Println(p.Attrs())
	// Output:
	// Jane D
	// [givenName sn]
}

// A function of a multi-valued attribute applies to each value, and a
// NULL result drops the value.
func Example_multiValued() {
	p := expr.MustCompile(`IIF(InStr([proxyAddresses],"SIP:")=1,NULL,LCase([proxyAddresses]))`)
	res, _ := p.Eval(&expr.MapEnv{Attrs: idsync.Attrs{"proxyAddresses": {
		idsync.String("SMTP:Jane@contoso.com"),
		idsync.String("SIP:jane@contoso.com"),
		idsync.String("smtp:jd@contoso.com"),
	}}})
	for _, v := range res.Values {
		fmt.Println(v.Str)
	}
	// Output:
	// smtp:jane@contoso.com
	// smtp:jd@contoso.com
}

// Operators have one priority and are evaluated from left to right.
func Example_leftToRight() {
	for _, src := range []string{`2+5*3`, `2*(5+3)`} {
		res, _ := expr.MustCompile(src).Eval(&expr.MapEnv{})
		fmt.Println(src, "=", res.Values[0].Int)
	}
	// Output:
	// 2+5*3 = 21
	// 2*(5+3) = 16
}

func ExampleCompile_error() {
	_, err := expr.Compile(`IIF(IsPresent([mail]),Lcase([mail]),NULL)`, nil)
	var ce *expr.Error
	if errors.As(err, &ce) {
		fmt.Println(ce)
		fmt.Println(ce.Excerpt())
	}
	// Output:
	// 1:23: unknown function Lcase (names are case-sensitive: did you mean LCase?)
	// IIF(IsPresent([mail]),Lcase([mail]),NULL)
	//                       ^
}

// Error("msg") becomes a *UserError, which the engine reports as a sync
// error on the object.
func ExampleUserError() {
	p := expr.MustCompile(`IIF(IsPresent([accountName]),[accountName],Error("AccountName is required"))`)
	_, err := p.Eval(&expr.MapEnv{})
	var ue *expr.UserError
	fmt.Println(errors.As(err, &ue), ue.Msg)
	// Output: true AccountName is required
}

func ExampleProgram_Eval_flag() {
	p := expr.MustCompile(`IIF(IsNullOrEmpty([usageLocation]),IgnoreThisFlow,[usageLocation])`)
	res, _ := p.Eval(&expr.MapEnv{})
	fmt.Println(res.Flag, res.IsNull())
	// Output: IgnoreThisFlow false
}

func ExampleOptions_params() {
	p, err := expr.Compile(`ReplaceChars("Räksmörgås",%ReplaceString%)`, &expr.Options{Params: []string{"ReplaceString"}})
	if err != nil {
		panic(err)
	}
	res, _ := p.Eval(&expr.MapEnv{Params: map[string]string{"ReplaceString": "å:a,ä:a,ö:o"}})
	fmt.Println(res.Values[0].Str)
	// Output: Raksmorgas
}
