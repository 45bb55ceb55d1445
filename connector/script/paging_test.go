package script_test

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/idsync/idsync"
)

// callLog reads the documents the recording wrapper saved: one input and
// one output line per call, in order.
type call struct {
	Op  string
	In  map[string]any
	Out map[string]any
}

func readCalls(t *testing.T, dir string) []call {
	t.Helper()
	read := func(name string) []map[string]any {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		var out []map[string]any
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 64<<20)
		for sc.Scan() {
			var m map[string]any
			if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			out = append(out, m)
		}
		return out
	}
	ins, outs := read("inputs.jsonl"), read("outputs.jsonl")
	if len(ins) != len(outs) {
		t.Fatalf("%d inputs, %d outputs recorded", len(ins), len(outs))
	}
	calls := make([]call, len(ins))
	for i := range ins {
		calls[i] = call{Op: ins[i]["operation"].(string), In: ins[i], Out: outs[i]}
	}
	return calls
}

func customData(m map[string]any, where string) (string, bool) {
	if where == "in" {
		rs, _ := m["runStep"].(map[string]any)
		s, ok := rs["customData"].(string)
		return s, ok
	}
	s, ok := m["customData"].(string)
	return s, ok
}

// recorder is an interpreter wrapper that saves each call's input and
// output documents (the connector's interpreter: setting is an argv prefix).
const recorder = `#!/bin/sh
in=$(cat)
printf '%s\n' "$in" >>"$REC/inputs.jsonl"
out=$(printf '%s' "$in" | "$INTERP_BIN" "$@") || exit $?
printf '%s\n' "$out" >>"$REC/outputs.jsonl"
printf '%s\n' "$out"
`

// §10 / issue 7 item 4: import pages of pageSize entries; importData is
// called until moreToImport is false, each call getting the CustomData
// the previous one returned; the last one (through importEnd) is saved as
// the watermark, and the next delta import starts from it.
func TestSpec10_PagingWatermarkThenDelta(t *testing.T) {
	needTool(t, "python3")
	yamlText := strings.Replace(exampleYAML(pythonExample, 3), "interpreter: [PYTHON3]", "interpreter: [sh, DIR/rec.sh]\n      environment: {REC: DIR, INTERP_BIN: PYTHON3}", 1)
	w := newWorld(t, yamlText)
	if err := os.WriteFile(filepath.Join(w.dir, "rec.sh"), []byte(recorder), 0o700); err != nil {
		t.Fatal(err)
	}
	src := filepath.Join(w.dir, "src.json")
	seedSystem(t, src, people(10, 0))

	res := w.runOK("src", idsync.StepFullImport)
	if res.Counters.ImportAdds != 10 {
		t.Fatalf("full import: %d adds, want 10", res.Counters.ImportAdds)
	}
	calls := readCalls(t, w.dir)
	checkPaging(t, w, calls, "full", 4)

	// Change 5 objects (two pages of 3), then a delta import.
	cs := w.cs("src")
	var changes []idsync.Change
	for i, k := range []string{"paa", "pab", "pac", "pad", "pae"} {
		o := cs[idsync.Anchor(k)]
		changes = append(changes, idsync.Change{ID: k, Op: idsync.OpUpdate, ObjectType: "person", Anchor: o.Anchor, DN: o.DN,
			Mods: []idsync.AttrMod{{Name: "displayName", Op: idsync.AttrReplace, Values: []idsync.Value{idsync.String("changed " + string(rune('0'+i)))}}}})
	}
	exportDirect(t, pythonExample, src, changes...)
	os.Remove(filepath.Join(w.dir, "inputs.jsonl"))
	os.Remove(filepath.Join(w.dir, "outputs.jsonl"))
	stored := w.watermark("src")

	res = w.runOK("src", idsync.StepDeltaImport)
	if res.Counters.ImportUpdates != 5 || res.Counters.ImportAdds != 0 {
		t.Fatalf("delta import: counters %+v, want 5 updates", res.Counters)
	}
	calls = readCalls(t, w.dir)
	// The schema script runs first (the session's schema), then importBegin.
	if len(calls) < 2 || calls[0].Op != "schema" || calls[1].Op != "importBegin" {
		t.Fatalf("calls start with %v, want schema, importBegin", calls[:min(2, len(calls))])
	}
	if got, _ := customData(calls[1].In, "in"); "idsync-script/1\n"+got != stored {
		t.Errorf("delta importBegin got customData %q; the stored watermark is %q", got, stored)
	}
	checkPaging(t, w, calls, "delta", 2)
	if w.wmSeq("src") != 5 {
		t.Errorf("watermark after the delta: seq %d, want 5", w.wmSeq("src"))
	}
}

// checkPaging checks one import run's calls: importBegin, pages
// importData calls chained by customData, importEnd, and the watermark.
func checkPaging(t *testing.T, w *world, calls []call, typ string, pages int) {
	t.Helper()
	var data []call
	var end *call
	for i, c := range calls {
		switch c.Op {
		case "importData":
			data = append(data, c)
		case "importEnd":
			end = &calls[i]
		}
	}
	if len(data) != pages {
		t.Fatalf("%s import: importData called %d times, want %d", typ, len(data), pages)
	}
	for i, c := range data {
		rs := c.In["runStep"].(map[string]any)
		if rs["type"] != typ || rs["pageSize"] != float64(3) || rs["pageNumber"] != float64(i+1) {
			t.Errorf("page %d: runStep %v", i+1, rs)
		}
		if n := len(c.Out["entries"].([]any)); n > 3 {
			t.Errorf("page %d: %d entries", i+1, n)
		}
		more := c.Out["moreToImport"].(bool)
		if more != (i < pages-1) {
			t.Errorf("page %d: moreToImport %v", i+1, more)
		}
		if i > 0 {
			prev, _ := customData(data[i-1].Out, "out")
			got, _ := customData(c.In, "in")
			if got != prev {
				t.Errorf("page %d got customData %q, page %d returned %q", i+1, got, i, prev)
			}
		}
	}
	if end == nil {
		t.Fatal("importEnd not called")
	}
	last, _ := customData(data[len(data)-1].Out, "out")
	if got, _ := customData(end.In, "in"); got != last {
		t.Errorf("importEnd got customData %q, the last page returned %q", got, last)
	}
	if rs := end.In["runStep"].(map[string]any); rs["reason"] != "success" {
		t.Errorf("importEnd reason %v", rs["reason"])
	}
	final, _ := customData(end.Out, "out")
	if wm := w.watermark("src"); wm != "idsync-script/1\n"+final {
		t.Errorf("stored watermark %q, importEnd returned %q", wm, final)
	}
}
