package main

import (
	"encoding/json"
	"fmt"
	"io"
	"reflect"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/idsync/idsync"
)

// printJSON writes v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// table writes aligned columns.
type table struct{ tw *tabwriter.Writer }

func newTable(w io.Writer, header ...string) *table {
	t := &table{tw: tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)}
	if len(header) > 0 {
		t.row(toAny(header)...)
	}
	return t
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (t *table) row(cols ...any) {
	for i, c := range cols {
		if i > 0 {
			fmt.Fprint(t.tw, "\t")
		}
		fmt.Fprint(t.tw, cell(fmt.Sprint(c)))
	}
	fmt.Fprint(t.tw, "\n")
}

func (t *table) flush() { t.tw.Flush() }

// cell keeps a table cell on one line.
func cell(s string) string {
	return strings.NewReplacer("\t", " ", "\n", " ", "\r", " ").Replace(s)
}

// truncate shortens s to at most n characters.
func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-3]) + "..."
	}
	return s
}

// values renders attribute values for a table cell.
func values(vs []idsync.Value) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.String()
	}
	if len(parts) == 1 {
		return parts[0]
	}
	return "[" + strings.Join(parts, "; ") + "]"
}

// counter is one named run counter.
type counter struct {
	Name  string
	Value int
}

// nonZeroCounters lists the counters of c that are not zero, named as in JSON.
func nonZeroCounters(c idsync.Counters) []counter {
	var out []counter
	v := reflect.ValueOf(c)
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		n := int(v.Field(i).Int())
		if n == 0 {
			continue
		}
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name == "" {
			name = t.Field(i).Name
		}
		out = append(out, counter{name, n})
	}
	return out
}

func formatCounters(c idsync.Counters) string {
	var parts []string
	for _, x := range nonZeroCounters(c) {
		if x.Name == "objects" {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %d", x.Name, x.Value))
	}
	if len(parts) == 0 {
		return "no changes"
	}
	return strings.Join(parts, ", ")
}

func duration(r *idsync.RunResult) time.Duration {
	if r.Ended.IsZero() {
		return 0
	}
	return r.Ended.Sub(r.Started)
}

func roundDur(d time.Duration) time.Duration {
	switch {
	case d > 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d > time.Second:
		return d.Round(10 * time.Millisecond)
	}
	return d.Round(time.Millisecond)
}

// runFailed reports whether a run finished with errors (exit code 1).
func runFailed(r *idsync.RunResult) bool {
	if r == nil {
		return true
	}
	if r.ErrorCount > 0 {
		return true
	}
	return r.Status != idsync.StatusSuccess && r.Status != idsync.StatusCompletedWithWarnings
}

// maxSummaryErrors is how many object errors a run summary shows.
const maxSummaryErrors = 5

// printSummary prints the summary of a run: status, duration, every
// non-zero counter, and its first errors.
func printSummary(w io.Writer, r *idsync.RunResult) {
	fmt.Fprintf(w, "run %s %s: %s in %v (run %s)\n", r.Connector, r.Profile, r.Status, roundDur(duration(r)), r.ID)
	if len(r.Steps) > 1 {
		for _, s := range r.Steps {
			fmt.Fprintf(w, "  %-22s %s in %v: %s\n", s.Type, s.Status, roundDur(stepDur(s)), formatCounters(s.Counters))
		}
	} else {
		fmt.Fprintf(w, "  %s\n", formatCounters(r.Counters))
	}
	if r.Message != "" {
		fmt.Fprintf(w, "  message: %s\n", r.Message)
	}
	for _, s := range r.Steps {
		for _, warn := range s.Warnings {
			fmt.Fprintf(w, "  warning: %s\n", warn)
		}
	}
	if r.ErrorCount > 0 {
		fmt.Fprintf(w, "  errors: %d\n", r.ErrorCount)
		for i, e := range r.Errors {
			if i == maxSummaryErrors {
				fmt.Fprintf(w, "    ... see: idsync runs show %s\n", r.ID)
				break
			}
			fmt.Fprintf(w, "    %s\n", objectError(e))
		}
	}
}

func stepDur(s idsync.StepResult) time.Duration {
	if s.Ended.IsZero() {
		return 0
	}
	return s.Ended.Sub(s.Started)
}

// objectError renders an object error on one line.
func objectError(e idsync.ObjectError) string {
	obj := e.DN
	if obj == "" {
		obj = string(e.Anchor)
	}
	if obj == "" {
		obj = e.CSID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s", e.Step, e.Connector)
	if obj != "" {
		fmt.Fprintf(&b, " %q", obj)
	}
	if e.Rule != "" {
		fmt.Fprintf(&b, " (rule %q)", e.Rule)
	}
	fmt.Fprintf(&b, ": %s: %s", e.Type, e.Message)
	return b.String()
}

func shortTime(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04:05")
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
