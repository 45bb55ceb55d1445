package script

import (
	"bytes"
	"encoding/json"

	"github.com/idsync/idsync"
)

// EncodeValues exposes the contract's value encoding to the tests.
var EncodeValues func(vs []idsync.Value, multi bool) json.RawMessage = encodeValues

// EncodeWatermark exposes the watermark encoding to the tests.
var EncodeWatermark = encodeWatermark

// ConvertResult decodes one importData result the way a call does and
// converts its page, for benchmarks of the connector's own cost.
func ConvertResult(cfg *Config, schemaYAML string, out []byte) (int, error) {
	d, err := parseSchemaDoc([]byte(schemaYAML))
	if err != nil {
		return 0, err
	}
	c := &conn{cfg: cfg}
	var res result
	doc := string(bytes.TrimSpace(out)) // call's copy of the output
	if err := parseResult(doc, &res, false); err != nil {
		return 0, err
	}
	res.raw = doc
	p, err := c.convertPage(&res, false, newSchema(d), 1)
	if err != nil {
		return 0, err
	}
	return len(p.entries), nil
}
