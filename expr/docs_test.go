package expr_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync/expr"
)

const (
	docsBegin = "<!-- functions:begin -->\n"
	docsEnd   = "<!-- functions:end -->"
)

// functionDocs renders the function reference of docs/expressions.md from
// the function table.
func functionDocs() string {
	var b strings.Builder
	category := ""
	for _, f := range expr.Functions() {
		if f.Category != category {
			category = f.Category
			fmt.Fprintf(&b, "\n### %s\n", category)
		}
		fmt.Fprintf(&b, "\n#### %s\n\n", f.Name)
		for _, s := range f.Signatures {
			fmt.Fprintf(&b, "    %s\n", s)
		}
		fmt.Fprintf(&b, "\n%s\n\nExample: `%s`\n", f.Doc, f.Example)
	}
	return b.String()
}

// TestDocs keeps docs/expressions.md's function list in step with the
// table (go test -update rewrites it), and checks every example compiles.
func TestDocs(t *testing.T) {
	for _, f := range expr.Functions() {
		if _, err := expr.Compile(f.Example, nil); err != nil {
			t.Errorf("example of %s: Compile(%q): %v", f.Name, f.Example, err)
		}
	}
	path := filepath.Join("..", "docs", "expressions.md")
	doc, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	i, j := bytes.Index(doc, []byte(docsBegin)), bytes.Index(doc, []byte(docsEnd))
	if i < 0 || j < i {
		t.Fatalf("%s lacks the %q and %q markers", path, docsBegin, docsEnd)
	}
	want := functionDocs()
	if got := string(doc[i+len(docsBegin) : j]); got != want {
		if !*update {
			t.Fatalf("%s is out of date; run go test ./expr -run TestDocs -update", path)
		}
		out := append(append(append([]byte{}, doc[:i+len(docsBegin)]...), want...), doc[j:]...)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
