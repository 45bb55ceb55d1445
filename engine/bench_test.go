package engine_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/idsync/idsync"
)

const benchConfig = `
metaverse:
  objectTypes:
    - name: person
      attributes:
        - {name: employeeId, type: string}
        - {name: manager, type: reference}
        - {name: source, type: string}
        - {name: active, type: boolean}
%s
connectors:
  - name: hr
    type: csv
    pageSize: %d
    settings: {path: hr.csv, anchor: [employeeId], types: {manager: reference}}
  - name: target
    type: csv
    pageSize: %d
    settings: {path: target.csv, anchor: [employeeId], types: {manager: reference}}
rules:
  - name: In from HR
    direction: inbound
    connector: hr
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 1
    join: [[{source: employeeId, target: employeeId}]]
    flows:
      - {target: employeeId, source: employeeId}
      - {target: manager, source: manager}
      - {target: source, constant: hr}
%s
  - name: Out to target
    direction: outbound
    connector: target
    csObjectType: person
    mvObjectType: person
    linkType: Provision
    precedence: 10
    flows:
      - {target: dn, source: employeeId}
      - {target: employeeId, source: employeeId}
      - {target: manager, source: manager}
%s
`

func benchFiles(b testing.TB, dir string, n int) {
	var attrs, flows, out string
	for i := 1; i <= 18; i++ {
		attrs += fmt.Sprintf("        - {name: a%d, type: string}\n", i)
		flows += fmt.Sprintf("      - {target: a%d, source: a%d}\n", i, i)
		out += fmt.Sprintf("      - {target: a%d, source: a%d}\n", i, i)
	}
	ps := 1000
	if v := os.Getenv("IDSYNC_BENCH_PAGE"); v != "" {
		fmt.Sscan(v, &ps)
	}
	cfg := fmt.Sprintf(benchConfig, attrs, ps, ps, flows, out)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(cfg), 0o644); err != nil {
		b.Fatal(err)
	}
	f, _ := os.Create(filepath.Join(dir, "hr.csv"))
	w := bufio.NewWriter(f)
	w.WriteString("employeeId,manager")
	for i := 1; i <= 18; i++ {
		fmt.Fprintf(w, ",a%d", i)
	}
	w.WriteString("\n")
	for i := 1; i <= n; i++ {
		mgr := ""
		if i > 1 {
			mgr = fmt.Sprintf("E%07d", i/10+1)
		}
		fmt.Fprintf(w, "E%07d,%s", i, mgr)
		for j := 1; j <= 18; j++ {
			fmt.Fprintf(w, ",value %d of attribute %d", i, j)
		}
		w.WriteString("\n")
	}
	w.Flush()
	f.Close()
}

// BenchmarkPipeline measures full import, full sync and export of
// b.N×10,000 objects through CSV connectors on the SQLite store.
// `idsync bench` is the full benchmark; this one is for profiling.
func BenchmarkPipeline(b *testing.B) {
	n := 10000 * b.N
	dir := b.TempDir()
	benchFiles(b, dir, n)
	ctx := context.Background()
	e, st, err := openCrashEngine(ctx, dir, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	b.ResetTimer()
	for _, s := range []struct {
		conn string
		step idsync.StepType
	}{{"hr", idsync.StepFullImport}, {"hr", idsync.StepFullSync}, {"target", idsync.StepExport}} {
		t0 := time.Now()
		res, err := e.RunSteps(ctx, s.conn, "bench", []idsync.RunStep{{Type: s.step}})
		if err != nil {
			b.Fatal(err)
		}
		if res.Status != idsync.StatusSuccess {
			b.Fatalf("%s: %s %s %v", s.step, res.Status, res.Message, res.Errors)
		}
		d := time.Since(t0)
		b.ReportMetric(float64(n)/d.Seconds(), string(s.step)+"-obj/s")
	}
}
