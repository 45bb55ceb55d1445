package main

import (
	"fmt"
	"golang.org/x/sys/unix"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/engine"
)

// isTerminal reports whether w is a terminal (a character device).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	// A character device is not enough (/dev/null is one): ask the
	// terminal driver.
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// progress shows the advance of run steps on w (stderr): a bar with
// objects/s on a terminal, otherwise one line per committed page. It is
// safe for concurrent use.
type progress struct {
	w        io.Writer
	tty      bool
	expected func(connector string, step idsync.StepType) int

	mu   sync.Mutex
	p    *mpb.Progress
	bars map[string]*stepBar
}

type stepBar struct {
	bar     *mpb.Bar
	total   int // the estimate, computed once per step
	objects atomic.Int64
	elapsed atomic.Int64 // nanoseconds
}

func newProgress(w io.Writer, expected func(string, idsync.StepType) int) *progress {
	return &progress{w: w, tty: isTerminal(w), expected: expected, bars: map[string]*stepBar{}}
}

// verb names a step for progress output.
func verb(s idsync.StepType) string {
	switch s {
	case idsync.StepFullImport, idsync.StepDeltaImport, idsync.StepFullImportDeltaSync:
		return "import"
	case idsync.StepFullSync, idsync.StepDeltaSync:
		return "sync"
	case idsync.StepExport:
		return "export"
	}
	return string(s)
}

func rate(objects int, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(objects) / elapsed.Seconds()
}

// report is the engine's Progress callback.
func (p *progress) report(ev engine.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.tty {
		if !ev.Done && ev.Page > 0 {
			fmt.Fprintf(p.w, "%s %s: page %d, %d objects, %.0f obj/s\n", verb(ev.Step), ev.Connector, ev.Page, ev.Objects, rate(ev.Objects, ev.Elapsed))
		}
		return
	}
	key := ev.RunID + "/" + string(ev.Step)
	sb := p.bars[key]
	if sb == nil {
		if ev.Done && ev.Objects == 0 {
			return
		}
		if p.p == nil {
			p.p = mpb.New(mpb.WithOutput(p.w), mpb.WithWidth(40), mpb.WithRefreshRate(150*time.Millisecond))
		}
		total := 0
		if p.expected != nil {
			total = p.expected(ev.Connector, ev.Step)
		}
		sb = &stepBar{total: total}
		name := fmt.Sprintf("%s %s", verb(ev.Step), ev.Connector)
		sb.bar = p.p.AddBar(int64(total),
			mpb.PrependDecorators(decor.Name(name, decor.WC{C: decor.DindentRight | decor.DextraSpace})),
			mpb.AppendDecorators(decor.Any(func(decor.Statistics) string {
				n := int(sb.objects.Load())
				return fmt.Sprintf("%d objects, %.0f obj/s", n, rate(n, time.Duration(sb.elapsed.Load())))
			})),
		)
		p.bars[key] = sb
	}
	sb.objects.Store(int64(ev.Objects))
	sb.elapsed.Store(int64(ev.Elapsed))
	if ev.Done {
		sb.bar.SetCurrent(int64(ev.Objects))
		sb.bar.SetTotal(-1, true)
		delete(p.bars, key)
		return
	}
	if t := int64(ev.Objects); sb.bar.Current() < t {
		// Grow an unknown or underestimated total so the bar never overflows.
		sb.bar.SetTotal(max(t+1, int64(sb.total)), false)
		sb.bar.SetCurrent(t)
	}
}

// wait finishes the bars before a summary is printed.
func (p *progress) wait() {
	p.mu.Lock()
	pp := p.p
	for k, sb := range p.bars {
		sb.bar.Abort(false)
		delete(p.bars, k)
	}
	p.p = nil
	p.mu.Unlock()
	if pp != nil {
		pp.Wait()
	}
}
