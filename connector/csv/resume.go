package csv

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/idsync/idsync/connector"
)

// importPosition is where a full import stands (connector.ResumableImporter):
// the rows read (malformed ones included) and the byte offset after the
// last, in the file of the given size and modification time.
type importPosition struct {
	V       int   `json:"v"`
	Records int64 `json:"records"`
	Offset  int64 `json:"offset"`
	Size    int64 `json:"size"`
	ModTime int64 `json:"mtime"` // Unix nanoseconds
}

// startPosition is the position before the first row of f.
func startPosition(f *os.File) (importPosition, error) {
	fi, err := f.Stat()
	if err != nil {
		return importPosition{}, err
	}
	return importPosition{V: 1, Size: fi.Size(), ModTime: fi.ModTime().UnixNano()}, nil
}

// ImportPosition implements connector.ResumableImporter: the position
// after the row emitted last.
func (c *conn) ImportPosition() []byte {
	b, _ := json.Marshal(c.pos)
	return b
}

// resumeAt decodes a position and checks that it applies to the file the
// import has just opened (c.pos holds its start): the same size and
// modification time, so the same rows up to it.
func (c *conn) resumeAt(data []byte) (*importPosition, error) {
	var p importPosition
	if err := json.Unmarshal(data, &p); err != nil || p.V != 1 {
		return nil, fmt.Errorf("csv: import %s: unreadable resume position: %w", c.name, connector.ErrResumeInvalid)
	}
	if p.Size != c.pos.Size || p.ModTime != c.pos.ModTime {
		return nil, fmt.Errorf("csv: import %s: the file changed since the interrupted import: %w", c.name, connector.ErrResumeInvalid)
	}
	return &p, nil
}
