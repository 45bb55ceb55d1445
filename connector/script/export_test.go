package script

import (
	"encoding/json"

	"github.com/idsync/idsync"
)

// EncodeValues exposes the contract's value encoding to the tests.
var EncodeValues func(vs []idsync.Value, multi bool) json.RawMessage = encodeValues

// EncodeWatermark exposes the watermark encoding to the tests.
var EncodeWatermark = encodeWatermark
