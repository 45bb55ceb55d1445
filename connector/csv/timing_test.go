package csv_test
import ("testing";"time";"context";"strconv";"github.com/idsync/idsync";"github.com/idsync/idsync/connector")
func TestTiming(t *testing.T){
	dir := t.TempDir()
	c := mustOpen(t, benchConfig(), dir)
	ctx := context.Background()
	st := time.Now()
	s, _ := c.(connector.Exporter).OpenExport(ctx, connector.ExportOptions{})
	t.Log("open", time.Since(st))
	var pageT time.Duration
	for p := 0; p < 100; p++ {
		page := make([]idsync.Change, 1000)
		for i := range page { n := p*1000+i; page[i] = idsync.Change{Op: idsync.OpAdd, ID: strconv.Itoa(n), Mods: idsync.ModsFromAttrs(benchAttrs(n))} }
		st := time.Now()
		s.ExportPage(ctx, page)
		pageT += time.Since(st)
	}
	t.Log("pages", pageT)
	st = time.Now()
	s.Close(ctx)
	t.Log("close", time.Since(st))
}
