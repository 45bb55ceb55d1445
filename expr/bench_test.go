package expr_test

import (
	"fmt"
	"testing"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// benchEnv is an object with 20 attributes.
func benchEnv() *expr.MapEnv {
	attrs := idsync.Attrs{
		"givenName": {idsync.String("  Jane ")},
		"sn":        {idsync.String("doe")},
	}
	for i := len(attrs); i < 20; i++ {
		attrs[fmt.Sprintf("extensionAttribute%d", i)] = []idsync.Value{idsync.String(fmt.Sprintf("value %d", i))}
	}
	return &expr.MapEnv{Attrs: attrs}
}

const benchExpr = `IIF(IsPresent([givenName]),Trim([givenName]) & " " & UCase(Left([sn],1)),NULL)`

// BenchmarkEval measures the evaluation of a typical flow; the target is
// 2,000,000 evaluations per second on one core (500 ns/op).
func BenchmarkEval(b *testing.B) {
	p := expr.MustCompile(benchExpr)
	env := benchEnv()
	if r, err := p.Eval(env); err != nil || r.Values[0].Str != "Jane D" {
		b.Fatalf("Eval = %v, %v; want Jane D", r, err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := p.Eval(env); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "evals/s")
}

func BenchmarkEvalParallel(b *testing.B) {
	p := expr.MustCompile(benchExpr)
	env := benchEnv()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := p.Eval(env); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCompile(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := expr.Compile(benchExpr, nil); err != nil {
			b.Fatal(err)
		}
	}
}
