package expr_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/tools/txtar"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.txtar")

// goldenEnv is env.json: attribute values are JSON strings, numbers or
// booleans; strings prefixed "base64:", "ref:" or "dt:" are binary,
// reference and datetime (RFC 3339) values.
type goldenEnv struct {
	Attrs    map[string][]any  `json:"attrs"`
	Imported map[string][]any  `json:"imported"`
	Params   map[string]string `json:"params"`
}

func goldenValue(x any) (idsync.Value, error) {
	switch x := x.(type) {
	case string:
		switch {
		case strings.HasPrefix(x, "base64:"):
			b, err := base64.StdEncoding.DecodeString(x[7:])
			return idsync.Binary(b), err
		case strings.HasPrefix(x, "ref:"):
			return idsync.Ref(x[4:]), nil
		case strings.HasPrefix(x, "dt:"):
			t, err := time.Parse(time.RFC3339, x[3:])
			return idsync.Time(t), err
		}
		return idsync.String(x), nil
	case float64:
		return idsync.Int(int64(x)), nil
	case bool:
		return idsync.Bool(x), nil
	}
	return idsync.Value{}, fmt.Errorf("unsupported value %v", x)
}

func goldenAttrs(m map[string][]any) (idsync.Attrs, error) {
	attrs := idsync.Attrs{}
	for name, xs := range m {
		for _, x := range xs {
			v, err := goldenValue(x)
			if err != nil {
				return nil, fmt.Errorf("attribute %s: %w", name, err)
			}
			attrs[name] = append(attrs[name], v)
		}
	}
	return attrs, nil
}

// TestGolden runs testdata/*.txtar: each holds an expression ("expr"), its
// inputs ("env.json") and the result ("want": the JSON of the result, or
// "compile error: …", "user error: …", "eval error: …").
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txtar")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			sections := map[string]*txtar.File{}
			for i := range ar.Files {
				sections[ar.Files[i].Name] = &ar.Files[i]
			}
			src := strings.TrimSpace(string(sections["expr"].Data))
			var ge goldenEnv
			if f := sections["env.json"]; f != nil {
				if err := json.Unmarshal(f.Data, &ge); err != nil {
					t.Fatalf("env.json: %v", err)
				}
			}
			env := &expr.MapEnv{Params: ge.Params}
			if env.Attrs, err = goldenAttrs(ge.Attrs); err != nil {
				t.Fatal(err)
			}
			if env.ImportedAttrs, err = goldenAttrs(ge.Imported); err != nil {
				t.Fatal(err)
			}
			got := goldenOutcome(src, env) + "\n"
			want := sections["want"]
			if *update {
				if want == nil {
					ar.Files = append(ar.Files, txtar.File{Name: "want"})
					want = &ar.Files[len(ar.Files)-1]
				}
				want.Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if want == nil || string(want.Data) != got {
				t.Errorf("%s\ngot:\n%swant:\n%s", src, got, want.Data)
			}
		})
	}
}

func goldenOutcome(src string, env expr.Env) string {
	p, err := expr.Compile(src, &expr.Options{Now: func() time.Time { return testNow }})
	if err != nil {
		var ce *expr.Error
		errors.As(err, &ce)
		return "compile error: " + ce.Error() + "\n" + ce.Excerpt()
	}
	res, err := p.Eval(env)
	var ue *expr.UserError
	switch {
	case errors.As(err, &ue):
		return "user error: " + ue.Msg
	case err != nil:
		return "eval error: " + err.Error()
	}
	return string(res.AppendJSON(nil))
}
