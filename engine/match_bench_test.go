package engine_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/config"
	"github.com/idsync/idsync/connector"
	csvconn "github.com/idsync/idsync/connector/csv"
	"github.com/idsync/idsync/connector/inmem"
	"github.com/idsync/idsync/engine"
	"github.com/idsync/idsync/store/sqlstore"
)

// BenchmarkSpec12_MatchInto100kCS measures synchronizing new source users
// into a target connector space of 100,000 cloud-only users (§12): each
// iteration adds 1,000 source users — a quarter hard-match, a quarter
// soft-match on the UPN, a quarter on the primary SMTP address, a quarter
// new — and runs a full import (untimed) and a delta sync (timed) of the source. The
// matching lookups are batched per page and served by the store's value
// indexes, so the cost per object does not depend on the size of the
// target connector space. matching=off is the same sync without a
// matching block (every user provisioned), for comparison.
//
//	go test ./engine -run '^$' -bench Spec12_MatchInto100kCS -benchtime 1x -timeout 30m
//
// (IDSYNC_BENCH_CLOUD sets another target size.)
func BenchmarkSpec12_MatchInto100kCS(b *testing.B) {
	for _, on := range []bool{true, false} {
		n := 100000
		if v := os.Getenv("IDSYNC_BENCH_CLOUD"); v != "" {
			fmt.Sscan(v, &n)
		}
		b.Run(fmt.Sprintf("matching=%v", on), func(b *testing.B) { benchMatch(b, on, n) })
	}
}

func benchMatch(b *testing.B, matching bool, cloudUsers int) {
	ctx := context.Background()
	dir := b.TempDir()
	block := ""
	if matching {
		block = defaultMatching
	}
	cfgText := strings.Replace(matchConfig, "MATCHING\n", block, 1)
	// the target is a CSV file: the in-memory system checks DNs by a scan
	// on every add, which makes a 100,000-object set-up quadratic.
	cfgText = strings.Replace(cfgText, "    settings: {system: aad}\n",
		"    settings: {path: aad.csv, objectType: user, anchor: [id], dn: \"CN={id},OU=Cloud\", multiValued: [proxyAddresses]}\n", 1)
	cfgText = strings.Replace(cfgText, "  - name: aad\n    type: inmem\n", "  - name: aad\n    type: csv\n", 1)
	if err := os.WriteFile(filepath.Join(dir, "idsync.yaml"), []byte(cfgText), 0o644); err != nil {
		b.Fatal(err)
	}
	sys := map[string]*inmem.System{"ad": inmem.NewSystem()}
	reg := connector.NewRegistry(inmem.NewType("inmem", sys), csvconn.Type)
	cfg, err := config.Load(dir, reg)
	if err != nil {
		b.Fatal(err)
	}
	st, err := sqlstore.Open(ctx, filepath.Join(dir, "idsync.db"), sqlstore.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	e, err := engine.New(ctx, engine.Options{Store: st, Registry: reg, Config: cfg})
	if err != nil {
		b.Fatal(err)
	}
	run := func(conn string, steps ...idsync.StepType) *idsync.RunResult {
		var ss []idsync.RunStep
		for _, s := range steps {
			ss = append(ss, idsync.RunStep{Type: s})
		}
		res, err := e.RunSteps(ctx, conn, "bench", ss)
		if err != nil {
			b.Fatal(err)
		}
		if res.Status != idsync.StatusSuccess {
			b.Fatalf("%s %v: %s %s %v", conn, steps, res.Status, res.Message, res.Errors)
		}
		return res
	}
	s := func(v string) []idsync.Value { return []idsync.Value{idsync.String(v)} }
	var buf strings.Builder
	buf.WriteString("id,immutableId,userPrincipalName,proxyAddresses,displayName\n")
	for i := range cloudUsers {
		imm, upn := "", fmt.Sprintf("u%06d@contoso.onmicrosoft.com", i)
		switch i % 4 {
		case 0:
			imm = fmt.Sprintf("G%06d", i)
		case 1:
			upn = fmt.Sprintf("u%06d@contoso.com", i)
		}
		fmt.Fprintf(&buf, "c%06d,%s,%s,SMTP:u%06d@contoso.com;smtp:x%06d@contoso.com,Cloud %d\n", i, imm, upn, i, i, i)
	}
	if err := os.WriteFile(filepath.Join(dir, "aad.csv"), []byte(buf.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	run("aad", idsync.StepFullImport)
	b.Logf("set-up: %d cloud users imported in %v", cloudUsers, time.Since(t0).Round(time.Millisecond))
	const batch = 1000
	var total time.Duration
	var hard, soft, prov int
	b.ResetTimer()
	for it := 0; it < b.N; it++ {
		b.StopTimer()
		for j := range batch {
			i := (it*batch + j) % cloudUsers
			a := idsync.Attrs{
				"consistencyGuid":   s(fmt.Sprintf("G%06d", i)),
				"userPrincipalName": s(fmt.Sprintf("u%06d@contoso.com", i)),
				"displayName":       s(fmt.Sprintf("AD %d", i)),
			}
			switch i % 4 {
			case 2: // soft match on the primary SMTP address
				a["proxyAddresses"] = s(fmt.Sprintf("SMTP:u%06d@contoso.com", i))
			case 3: // new: nothing in the cloud has its UPN or address
				a["userPrincipalName"] = s(fmt.Sprintf("new%06d@contoso.com", i))
				a["consistencyGuid"] = s(fmt.Sprintf("N%06d", i))
			}
			if _, err := sys["ad"].Add(idsync.Entry{ObjectType: "user", Anchor: idsync.Anchor(fmt.Sprintf("ad-%d-%d", it, j)), DN: fmt.Sprintf("CN=%d-%d,OU=Users", it, j), Attrs: a}); err != nil {
				b.Fatal(err)
			}
		}
		run("ad", idsync.StepFullImport)
		b.StartTimer()
		t0 := time.Now()
		res := run("ad", idsync.StepDeltaSync)
		total += time.Since(t0)
		hard += res.Counters.HardMatches
		soft += res.Counters.SoftMatches
		prov += res.Counters.ProvisionedAdds
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N*batch)/total.Seconds(), "sync-obj/s")
	b.ReportMetric(float64(hard)/float64(b.N), "hard/op")
	b.ReportMetric(float64(soft)/float64(b.N), "soft/op")
	b.ReportMetric(float64(prov)/float64(b.N), "provisioned/op")
}
