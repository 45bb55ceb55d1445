// Package exprcli implements the "idsync expr" commands (eval and check)
// behind the thin cobra wrapper in cmd/idsync, so that their parsing,
// output and exit status are tested without the binary.
package exprcli

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

// EvalConfig is what "idsync expr eval" was given.
type EvalConfig struct {
	Expression string
	// Attrs are NAME=VALUE (a string) or NAME:TYPE=VALUE, TYPE being one of
	// string, integer, boolean, binary (Base64), reference or datetime
	// (RFC 3339). Repeating a name makes a multi-valued attribute.
	Attrs []string
	// Imported are the same, for ImportedValue; when none are given,
	// ImportedValue reads Attrs.
	Imported []string
	// Params are NAME=VALUE; names beyond the standard seven are declared
	// for the expression by being given.
	Params []string
	JSON   bool
	// Options are passed to expr.Compile (the clock, the random source);
	// Params there are replaced as described above.
	Options expr.Options
}

// ParseAttr parses NAME=VALUE or NAME:TYPE=VALUE.
func ParseAttr(s string) (string, idsync.Value, error) {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return "", idsync.Value{}, fmt.Errorf("attribute %q: want NAME=VALUE or NAME:TYPE=VALUE", s)
	}
	if n, t, typed := strings.Cut(name, ":"); typed {
		at, err := idsync.ParseAttrType(t)
		if err != nil {
			return "", idsync.Value{}, fmt.Errorf("attribute %q: %w", s, err)
		}
		v, err := idsync.String(value).Convert(at)
		if err != nil {
			return "", idsync.Value{}, fmt.Errorf("attribute %q: %w", s, err)
		}
		return n, v, nil
	}
	return name, idsync.String(value), nil
}

func parseAttrs(list []string) (idsync.Attrs, error) {
	attrs := idsync.Attrs{}
	for _, s := range list {
		name, v, err := ParseAttr(s)
		if err != nil {
			return nil, err
		}
		attrs[name] = append(attrs[name], v)
	}
	return attrs, nil
}

// Eval compiles and evaluates c.Expression and writes the result to w. The
// error is the compile error (an *expr.Error, whose Excerpt the caller may
// show), the evaluation error (*expr.UserError or *expr.EvalError) or a
// usage error.
func Eval(w io.Writer, c EvalConfig) error {
	attrs, err := parseAttrs(c.Attrs)
	if err != nil {
		return err
	}
	imported := attrs
	if len(c.Imported) > 0 {
		if imported, err = parseAttrs(c.Imported); err != nil {
			return err
		}
	}
	params := map[string]string{}
	names := slices.Clone(expr.StandardParams)
	for _, p := range c.Params {
		name, value, ok := strings.Cut(p, "=")
		if !ok || name == "" {
			return fmt.Errorf("parameter %q: want NAME=VALUE", p)
		}
		params[name] = value
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	opts := c.Options
	opts.Params = names
	prog, err := expr.Compile(c.Expression, &opts)
	if err != nil {
		return err
	}
	res, err := prog.Eval(&expr.MapEnv{Attrs: attrs, ImportedAttrs: imported, Params: params})
	if err != nil {
		return err
	}
	if c.JSON {
		_, err := w.Write(append(res.AppendJSON(nil), '\n'))
		return err
	}
	for _, line := range res.Lines() {
		if _, err := fmt.Fprintln(w, line); err != nil {
			return err
		}
	}
	return nil
}

// ErrorText renders an error of Eval for the terminal: a compile error
// gets its caret excerpt.
func ErrorText(err error) string {
	var ce *expr.Error
	if errors.As(err, &ce) {
		return ce.Error() + "\n" + ce.Excerpt()
	}
	var ue *expr.UserError
	if errors.As(err, &ue) {
		return "error raised by the expression: " + ue.Msg
	}
	return err.Error()
}

// Check reads one expression per line from r (blank lines and lines
// starting with # are skipped), compiles each with opts, and writes
// "LINE: ok" or "LINE:COL: message" for each. It reports whether all were
// ok; the error is only for reading r or writing w.
func Check(w io.Writer, r io.Reader, opts *expr.Options) (bool, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 16<<20)
	ok := true
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		trimmed := strings.TrimSpace(text)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		var err error
		if _, cerr := expr.Compile(text, opts); cerr != nil {
			ok = false
			var ce *expr.Error
			if errors.As(cerr, &ce) {
				_, err = fmt.Fprintf(w, "%d:%d: %s\n", line, ce.Col, ce.Msg)
			} else {
				_, err = fmt.Fprintf(w, "%d: %s\n", line, cerr)
			}
		} else {
			_, err = fmt.Fprintf(w, "%d: ok\n", line)
		}
		if err != nil {
			return false, err
		}
	}
	if err := sc.Err(); err != nil {
		return false, fmt.Errorf("exprcli: read expressions: %w", err)
	}
	return ok, nil
}
