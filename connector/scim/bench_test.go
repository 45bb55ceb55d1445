package scim

import (
	"context"
	"flag"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
	"github.com/idsync/idsync/host/hosttest"
)

// BenchmarkClientExportToHost measures the client exporting 10,000 new
// users to idsync's connector host (over an inmem system, on loopback)
// in pages of 100, and reports users per second.
//
//	go test ./connector/scim -run '^$' -bench ClientExportToHost -benchtime 1x [-scim.concurrency 4]
func BenchmarkClientExportToHost(b *testing.B) {
	const n = 10_000
	for range b.N {
		b.StopTimer()
		env := hosttest.Start(b)
		cfg := &Config{URL: env.URL, Auth: Auth{Type: "bearer", Token: connector.SecretRef{Env: "SCIM_SECRET"}}, Concurrency: *benchConcurrency}
		c, err := cfg.Open(context.Background(), testEnv(env.Token))
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		sess, err := c.(*conn).OpenExport(ctx, connector.ExportOptions{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		cpu0 := cpuTime()
		start := time.Now()
		for p := 0; p < n; p += 100 {
			page := make([]idsync.Change, 0, 100)
			for i := p; i < p+100; i++ {
				page = append(page, idsync.Change{ID: fmt.Sprint(i), Op: idsync.OpAdd, ObjectType: "User", Mods: idsync.ModsFromAttrs(idsync.Attrs{
					"userName":        {idsync.String(fmt.Sprintf("bench%05d@example.com", i))},
					"displayName":     {idsync.String(fmt.Sprintf("Bench User %d", i))},
					"name.givenName":  {idsync.String("Bench")},
					"name.familyName": {idsync.String(fmt.Sprint("User", i))},
					"emails":          {idsync.String(fmt.Sprintf("bench%05d@example.com", i))},
					"active":          {idsync.Bool(true)},
				})})
			}
			res, err := sess.ExportPage(ctx, page)
			if err != nil {
				b.Fatal(err)
			}
			for _, r := range res {
				if r.Err != nil {
					b.Fatalf("export %s: %v", r.ID, r.Err)
				}
			}
		}
		el := time.Since(start)
		cpu := cpuTime() - cpu0
		b.StopTimer()
		sess.Close(ctx)
		c.Close()
		b.ReportMetric(float64(n)/el.Seconds(), "users/s")
		// CPU of the process (client, host, store and the inmem system)
		// per user: independent of how loaded the machine is.
		b.ReportMetric(float64(cpu.Microseconds())/n, "cpu-µs/user")
	}
}

// benchConcurrency is the client's Concurrency in the benchmark.
var benchConcurrency = flag.Int("scim.concurrency", 1, "export requests in flight in BenchmarkClientExportToHost")

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
