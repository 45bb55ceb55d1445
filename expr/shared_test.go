package expr_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// sharedDir finds the shared, read-only test data: the "shared" directory
// beside the repository root, found by walking up from the working
// directory. It is read in place, never copied.
func sharedDir(tb testing.TB) string {
	tb.Helper()
	dir, err := os.Getwd()
	if err != nil {
		tb.Fatal(err)
	}
	for {
		cand := filepath.Join(dir, "shared")
		if _, err := os.Stat(filepath.Join(cand, "SPEC.md")); err == nil {
			return cand
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			tb.Fatalf("no shared/SPEC.md above the working directory")
		}
		dir = parent
	}
}

type docExample struct {
	Expression     string `json:"expression"`
	ExpectedResult any    `json:"expected_result"`
	Notes          string `json:"notes"`
}

type docFunction struct {
	Name       string       `json:"name"`
	Category   string       `json:"category"`
	Signatures []string     `json:"signatures"`
	Examples   []docExample `json:"examples"`
	DocIssues  *string      `json:"doc_issues"`
}

func loadFunctions(tb testing.TB) []docFunction {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(sharedDir(tb), "testdata", "expressions", "functions.json"))
	if err != nil {
		tb.Fatal(err)
	}
	var fs []docFunction
	if err := json.Unmarshal(b, &fs); err != nil {
		tb.Fatal(err)
	}
	return fs
}

// fileTime returns the Windows FILETIME of t.
func fileTime(t time.Time) int64 {
	return (t.Unix()+11644473600)*10_000_000 + int64(t.Nanosecond()/100)
}

// docFixture is what an attribute-dependent documented example needs: the
// attribute values the page describes, and corrections of the page's
// mistakes (doc_issues).
type docFixture struct {
	attrs  idsync.Attrs
	params map[string]string
	src    string // corrected expression, if the page's is wrong
	rand   uint64 // for RandomNum
}

var docFixtures = map[string]docFixture{
	`CStr([dn])`: {attrs: idsync.Attrs{"dn": {idsync.Ref("cn=Joe,dc=contoso,dc=com")}}},
	`FormatDateTime(DateFromNum([pwdLastSet]),"yyyyMMddHHmmss.0Z")`: {attrs: idsync.Attrs{
		"pwdLastSet": {idsync.Int(fileTime(time.Date(2014, 9, 5, 8, 14, 53, 0, time.UTC)))}}},
	// The page's context: "If dn is "cn=Joe,ou=…," it returns Joe".
	`DNComponent(CRef([dn]),1)`: {attrs: idsync.Attrs{"dn": {idsync.String("cn=Joe,ou=…,")}}},
	`DNComponentRev(CRef([dn]),3)`: {attrs: idsync.Attrs{
		"dn": {idsync.String("cn=Joe,ou=Atlanta,ou=GA,ou=US, dc=contoso,dc=com")}}},
	`Join([proxyAddresses],",")`: {attrs: idsync.Attrs{
		"proxyAddresses": {idsync.String("SMTP:john.doe@contoso.com"), idsync.String("smtp:jd@contoso.com")}}},
	// doc_issues: the pattern's last pair is written "ö,o" for "ö:o".
	`ReplaceChars("Räksmörgås",%ReplaceString%)`: {params: map[string]string{"ReplaceString": "’:,Å:A,Ä:A,Ö:O,å:a,ä:a,ö:o"}},
	// doc_issues: the example calls Random; the function is RandomNum.
	`Random(100,999)`: {src: `RandomNum(100,999)`, rand: 734 - 100},
	// The page's example has an extra ) and writes %ForestLDAP% for %Forest.LDAP%.
	`EscapeDNComponent("cn=" & [displayName]) & "," & %ForestLDAP%)`: {src: `EscapeDNComponent("cn=" & [displayName]) & "," & %Forest.LDAP%`},
}

// paramNames returns the %names% an expression uses, so that examples
// with non-standard parameters can declare them.
func paramNames(src string) []string {
	names := slices.Clone(expr.StandardParams)
	for {
		i := strings.IndexByte(src, '%')
		if i < 0 {
			return names
		}
		j := strings.IndexByte(src[i+1:], '%')
		if j < 0 {
			return names
		}
		names = append(names, src[i+1:i+1+j])
		src = src[i+2+j:]
	}
}

// TestDocumentedExamples evaluates every example of functions.json that
// documents its result, and compiles every other example.
func TestDocumentedExamples(t *testing.T) {
	passed, total := 0, 0
	for _, fn := range loadFunctions(t) {
		for _, ex := range fn.Examples {
			fx := docFixtures[ex.Expression]
			src := ex.Expression
			if fx.src != "" {
				// The verbatim text must fail to compile, with a position.
				if _, err := expr.Compile(src, nil); err == nil {
					t.Errorf("Compile(%q) succeeded; the page's text is wrong and should not", src)
				} else if ce := (*expr.Error)(nil); !errors.As(err, &ce) {
					t.Errorf("Compile(%q) = %v, want an *expr.Error", src, err)
				}
				src = fx.src
			}
			opts := &expr.Options{
				Params: paramNames(src),
				Now:    func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) },
				Rand:   func() uint64 { return fx.rand },
			}
			prog, err := expr.Compile(src, opts)
			if err != nil {
				t.Errorf("%s example: Compile(%q): %v", fn.Name, src, err)
				continue
			}
			if ex.ExpectedResult == nil {
				continue
			}
			total++
			res, err := prog.Eval(&expr.MapEnv{Attrs: fx.attrs, Params: fx.params})
			if err != nil {
				t.Errorf("%s = error %v, want %v", src, err, ex.ExpectedResult)
				continue
			}
			if !matchesDoc(t, res, ex.ExpectedResult) {
				t.Errorf("%s = %v, want %v", src, res.Lines(), ex.ExpectedResult)
				continue
			}
			passed++
		}
	}
	t.Logf("%d of %d documented results pass", passed, total)
	if total != 26 {
		t.Errorf("found %d examples with a documented result, want 26", total)
	}
}

// matchesDoc compares a result with the page's text: dates by instant
// (the page writes "2013-01-11 12:00 AM"), other values by their text.
func matchesDoc(t *testing.T, res expr.Result, want any) bool {
	var wants []string
	switch w := want.(type) {
	case string:
		wants = []string{w}
	case []any:
		for _, x := range w {
			wants = append(wants, x.(string))
		}
	default:
		t.Fatalf("unexpected expected_result %T", want)
	}
	if len(res.Values) != len(wants) {
		return false
	}
	for i, v := range res.Values {
		if v.Type == idsync.TypeDateTime {
			wt, err := time.Parse("2006-01-02 3:04 PM", wants[i])
			if err != nil || !wt.Equal(v.Time()) {
				return false
			}
			continue
		}
		if v.String() != wants[i] {
			return false
		}
	}
	return true
}

// TestEveryDocumentedFunction checks that all 85 functions of the
// reference exist, plus the four undocumented ones.
func TestEveryDocumentedFunction(t *testing.T) {
	have := map[string]bool{}
	for _, f := range expr.Functions() {
		have[f.Name] = true
	}
	docs := loadFunctions(t)
	if len(docs) != 85 {
		t.Errorf("functions.json has %d functions, want 85", len(docs))
	}
	for _, f := range docs {
		if !have[f.Name] {
			t.Errorf("function %s (%s) is missing", f.Name, f.Category)
		}
	}
	for _, name := range []string{"ImportedValue", "ValueCount", "CBin", "Thumbprint"} {
		if !have[name] {
			t.Errorf("undocumented function %s is missing", name)
		}
	}
	if got := len(expr.Functions()); got != 89 {
		t.Errorf("len(Functions()) = %d, want 89", got)
	}
}

// TestRealRules compiles every expression of the real rule corpus.
func TestRealRules(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(sharedDir(t), "testdata", "aadc", "expressions.txt"))
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for i, line := range strings.Split(strings.TrimRight(string(b), "\n"), "\n") {
		src := line
		// One rule came from YAML and was stored still quoted and escaped,
		// with its newlines as \n; the expression is the unquoted text.
		if strings.HasPrefix(line, `"\n`) {
			u, err := strconv.Unquote(line)
			if err != nil {
				t.Fatalf("line %d: unquote: %v", i+1, err)
			}
			src = u
		}
		n++
		p, err := expr.Compile(src, nil)
		if err != nil {
			var ce *expr.Error
			if errors.As(err, &ce) {
				t.Errorf("line %d: %v\n%s", i+1, err, ce.Excerpt())
			} else {
				t.Errorf("line %d: %v", i+1, err)
			}
			continue
		}
		if p.String() != src {
			t.Errorf("line %d: String() = %q, want the source", i+1, p.String())
		}
	}
	if n != 91 {
		t.Errorf("read %d expressions, want 91", n)
	}
}
