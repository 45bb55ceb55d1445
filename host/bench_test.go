package host_test

import (
	"bufio"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// BenchmarkHostFilterLookup measures the host answering
// GET /Users?filter=userName eq "…" over loopback from a connector space
// of 100,000 objects (testdata/csvhost's CSV connector, fully imported), with
// parallel clients. It reports requests per second and the 99th
// percentile latency.
//
//	go test ./host -run '^$' -bench HostFilterLookup -benchtime 20000x
func BenchmarkHostFilterLookup(b *testing.B) {
	const n = 100_000
	dir := b.TempDir()
	for _, f := range []string{"host.yaml", "config/idsync.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "csvhost", f))
		if err != nil {
			b.Fatal(err)
		}
		os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755)
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	fh, err := os.Create(filepath.Join(dir, "config", "app-users.csv"))
	if err != nil {
		b.Fatal(err)
	}
	w := bufio.NewWriter(fh)
	fmt.Fprintln(w, "userName,employeeId,givenName,sn,displayName,mail,title,department,active")
	for i := range n {
		fmt.Fprintf(w, "user%06d@example.com,%d,Given%d,Family%d,User %d,user%06d@example.com,Title,Dept %d,True\n", i, 100000+i, i, i, i, i, i%50)
	}
	w.Flush()
	fh.Close()
	start := time.Now()
	base, _, _ := csvHostB(b, dir)
	b.Logf("connector space of %d objects imported in %s", n, time.Since(start).Round(time.Millisecond))

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	var next atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.ResetTimer()
	cpu0 := cpuTime()
	began := time.Now()
	b.SetParallelism(4)
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := next.Add(7919) % n
			q := url.Values{"filter": {fmt.Sprintf(`userName eq "user%06d@example.com"`, i)}}.Encode()
			req, _ := http.NewRequest("GET", base+"/Users?"+q, nil)
			req.Header.Set("Authorization", "Bearer entra-token")
			t0 := time.Now()
			resp, err := client.Do(req)
			if err != nil {
				b.Error(err)
				return
			}
			var buf [4096]byte
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
			mine = append(mine, time.Since(t0))
			if resp.StatusCode != 200 {
				b.Errorf("status %d", resp.StatusCode)
				return
			}
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	el := time.Since(began)
	cpu := cpuTime() - cpu0
	b.StopTimer()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/el.Seconds(), "req/s")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
		// CPU time of the process (server and clients) per request: what
		// the figures above become on an idle machine does not depend on
		// how loaded this one is.
		b.ReportMetric(float64(cpu.Microseconds())/float64(len(lat)), "cpu-µs/req")
	}
}

// cpuTime is the CPU time (user and system) the process used so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
