package expr_test

import (
	"testing"

	"github.com/idsync/idsync/expr"
)

func BenchmarkMicro(b *testing.B) {
	for _, src := range []string{`"x"`, `[givenName]`, `Trim([givenName])`, `IsPresent([givenName])`, `Left([sn],1)`, `[sn] & "x"`, `IIF(True,"a","b")`, `1=1`} {
		b.Run(src, func(b *testing.B) {
			p := expr.MustCompile(src)
			env := benchEnv()
			b.ReportAllocs()
			for b.Loop() {
				p.Eval(env)
			}
		})
	}
}
