package expr_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/expr"
)

// FuzzCompile: compiling never panics or hangs, errors are *expr.Error
// with a position inside the source, and what compiles evaluates without
// panicking.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{
		benchExpr, `IIF(InStr([proxyAddresses],"SIP:")=1,NULL,[proxyAddresses])`, `&HFF+-3*(2)`,
		`Select($i,Split("a,b",","),Switch($i="a",1,True,Error("x")))`, `"a""b\\n" & CRLF`, `%Domain.FQDN%`,
		`With($x,[a],Where($y,$x,$y<>""))`, `DNComponentRev(CRef([dn]),1,"DC")`, `FormatDateTime(Now(),"yyyy'x'")`,
		`ConvertFromBase64("SGk=",UTF8)`, `IIF (Count(Where($item,[userCertificate],CertNotAfter($item)>Now()))>0,1,2)`,
		`((((1))))`, `[a`, `"`, `&H`, `$`, `Trim(`, `1.`, `-`, `||`,
	} {
		f.Add(s)
	}
	if b, err := os.ReadFile(filepath.Join(sharedDir(f), "testdata", "aadc", "expressions.txt")); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			f.Add(line)
		}
	}
	env := testEnv(f)
	f.Fuzz(func(t *testing.T, src string) {
		p, err := expr.Compile(src, nil)
		if err != nil {
			var ce *expr.Error
			if !errors.As(err, &ce) {
				t.Fatalf("Compile(%q) error %T, want *expr.Error", src, err)
			}
			if ce.Line < 1 || ce.Col < 1 || ce.Line > strings.Count(src, "\n")+1 {
				t.Fatalf("Compile(%q) error at %d:%d, outside the source", src, ce.Line, ce.Col)
			}
			_ = ce.Excerpt()
			return
		}
		if p.String() != src {
			t.Fatalf("String() = %q, want %q", p.String(), src)
		}
		_, _ = p.Eval(env)
	})
}
