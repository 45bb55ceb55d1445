package expr

import (
	"testing"

	"github.com/idsync/idsync"
)

func BenchmarkInternalEval(b *testing.B) {
	for _, src := range []string{`"x"`, `1=1`, `Trim("x")`} {
		b.Run(src, func(b *testing.B) {
			p := MustCompile(src)
			f := &frame{p: p, env: &MapEnv{Attrs: idsync.Attrs{}}}
			for b.Loop() {
				f.eval(p.root)
			}
		})
	}
}
