package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store/sqlstore"
)

// importBenchObjects is the size of the import benchmarks' system.
const importBenchObjects = 200_000

// genConfig configures the benchmarks' connector type "gen": a system of
// N objects of 19 attributes (like connector/sqlconn's bench table), made
// as they are read.
type genConfig struct {
	N int `yaml:"n"`
}

func (c *genConfig) Validate() error { return nil }

func (c *genConfig) Open(ctx context.Context, env connector.Env) (connector.Connector, error) {
	return &genConn{n: c.N}, nil
}

type genConn struct{ n int }

func (c *genConn) Close() error { return nil }

func (c *genConn) Import(ctx context.Context, opts connector.ImportOptions, emit func(idsync.Entry) error) (connector.Watermark, error) {
	for i := range c.n {
		id := fmt.Sprintf("e%08d", i)
		a := make(idsync.Attrs, 19)
		a["id"] = []idsync.Value{idsync.String(id)}
		for j := 1; j <= 15; j++ {
			a[genNames[j]] = []idsync.Value{idsync.String(fmt.Sprintf("value-%d-%d", j, i%9973))}
		}
		a["n1"] = []idsync.Value{idsync.Int(int64(i))}
		a["n2"] = []idsync.Value{idsync.Int(int64(i * 7))}
		a["active"] = []idsync.Value{idsync.Bool(true)}
		if err := emit(idsync.Entry{ObjectType: "person", Anchor: idsync.Anchor(id), Attrs: a}); err != nil {
			return nil, err
		}
	}
	return nil, nil
}

var genNames = func() []string {
	s := make([]string, 16)
	for j := 1; j <= 15; j++ {
		s[j] = fmt.Sprintf("s%02d", j)
	}
	return s
}()

// importBench returns an engine on a fresh SQLite store whose connector
// hr (pages of 10,000) reads n generated objects.
func importBench(b *testing.B, n int) *engine.Engine {
	b.Helper()
	dir := b.TempDir()
	yml := fmt.Sprintf(`metaverse:
  objectTypes:
    - {name: person, attributes: [{name: s01, type: string}]}
connectors:
  - name: hr
    type: gen
    pageSize: 10000
    settings: {n: %d}
`, n)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(yml), 0o644); err != nil {
		b.Fatal(err)
	}
	reg := connector.NewRegistry(connector.Type{Name: "gen", NewConfig: func() connector.Config { return &genConfig{} },
		Capabilities: connector.Capabilities{Import: true}})
	cfg, err := config.Load(dir, reg)
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	return e
}

// cpuTime returns the CPU time the process has used: the benchmarks
// report it besides the wall time, which a busy machine inflates.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func runImport(b *testing.B, e *engine.Engine, wantAdds int) {
	b.Helper()
	res, err := e.RunSteps(context.Background(), "hr", "full-import", []idsync.RunStep{{Type: idsync.StepFullImport}})
	if err != nil || res.Status != idsync.StatusSuccess || res.Counters.ImportAdds != wantAdds {
		b.Fatalf("import: %v %+v", err, res)
	}
}

// BenchmarkFullImportEmpty measures a full import of 200,000 objects into
// the empty connector space of a fresh SQLite store.
func BenchmarkFullImportEmpty(b *testing.B) {
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		e := importBench(b, importBenchObjects)
		b.StartTimer()
		t0 := cpuTime()
		runImport(b, e, importBenchObjects)
		cpu += cpuTime() - t0
	}
	b.ReportMetric(float64(importBenchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}

// BenchmarkFullImportUnchanged measures a second full import of the same
// 200,000 objects: every object is looked up and found unchanged.
func BenchmarkFullImportUnchanged(b *testing.B) {
	var cpu time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		b.StopTimer()
		e := importBench(b, importBenchObjects)
		runImport(b, e, importBenchObjects)
		b.StartTimer()
		t0 := cpuTime()
		runImport(b, e, 0)
		cpu += cpuTime() - t0
	}
	b.ReportMetric(float64(importBenchObjects)*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/op")
}
