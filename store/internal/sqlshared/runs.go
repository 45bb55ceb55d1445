package sqlshared

import (
	"encoding/json"
	"fmt"

	"github.com/idsync/idsync"
)

// EncodeRun returns the stored form of a run record: the run without its
// errors, which are stored one per row.
func EncodeRun(r *idsync.RunResult) ([]byte, error) {
	rec := *r
	rec.Errors = nil
	return json.Marshal(&rec)
}

// DecodeRun decodes a stored run record.
func DecodeRun(data []byte) (*idsync.RunResult, error) {
	var r idsync.RunResult
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("decode run record: %w", err)
	}
	return &r, nil
}
