package csv

import (
	"bufio"
	"encoding/csv"
	"io"
)

// rowWriter writes CSV records through a large buffer and keeps the
// first error.
type rowWriter struct {
	bw  *bufio.Writer
	w   *csv.Writer
	err error
}

func newRowWriter(w io.Writer, delim rune) *rowWriter {
	bw := bufio.NewWriterSize(w, 256<<10)
	cw := csv.NewWriter(bw)
	cw.Comma = delim
	return &rowWriter{bw: bw, w: cw}
}

func (w *rowWriter) write(rec []string) {
	if w.err == nil {
		w.err = w.w.Write(rec)
	}
}

func (w *rowWriter) flush() error {
	if w.err != nil {
		return w.err
	}
	w.w.Flush()
	if err := w.w.Error(); err != nil {
		return err
	}
	return w.bw.Flush()
}
