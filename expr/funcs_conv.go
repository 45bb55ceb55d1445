package expr

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/idsync/idsync"
)

func cbool(_ *frame, a []idsync.Value) (idsync.Value, error) {
	b, err := toBool("CBool", a[0])
	return boolVal(b), err
}

func cnum(_ *frame, a []idsync.Value) (idsync.Value, error) {
	n, err := toNum("CNum", a[0])
	return intVal(n), err
}

func cdate(_ *frame, a []idsync.Value) (idsync.Value, error) {
	t, err := toTime("CDate", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	return timeVal(t), nil
}

func cref(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := text("CRef", a[0])
	return refVal(s), err
}

func cstr(_ *frame, a []idsync.Value, r *idsync.Value) error {
	if a[0].Type == typeString {
		*r = a[0]
		return nil
	}
	s, err := text("CStr", a[0])
	if err != nil {
		return err
	}
	r.Type, r.Str = typeString, s
	return nil
}

// decodeBase64 accepts standard Base64 with or without padding.
func decodeBase64(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := base64.StdEncoding.DecodeString(s); err == nil {
		return b, nil
	}
	return base64.RawStdEncoding.DecodeString(strings.TrimRight(s, "="))
}

func encodeUTF16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func decodeUTF16LE(b []byte) (string, bool) {
	if len(b)%2 != 0 {
		return "", false
	}
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u)), true
}

// convertFromBase64 decodes with Unicode (UTF-16LE, the default as in the
// reference), ASCII or UTF8. A binary argument is taken as the decoded
// bytes already.
func convertFromBase64(_ *frame, a []idsync.Value) (idsync.Value, error) {
	var b []byte
	if a[0].Type == typeBinary {
		b = a[0].Bin
	} else {
		s, err := text("ConvertFromBase64", a[0])
		if err != nil {
			return idsync.Value{}, err
		}
		if b, err = decodeBase64(s); err != nil {
			return errf("ConvertFromBase64", "%q is not Base64", truncate(s))
		}
	}
	enc := "Unicode"
	if len(a) > 1 {
		var err error
		if enc, err = text("ConvertFromBase64", a[1]); err != nil {
			return idsync.Value{}, err
		}
	}
	switch enc {
	case "Unicode":
		s, ok := decodeUTF16LE(b)
		if !ok {
			return errf("ConvertFromBase64", "the decoded bytes are not UTF-16 (odd length %d)", len(b))
		}
		return strVal(s), nil
	case "UTF8":
		return strVal(strings.ToValidUTF8(string(b), "\uFFFD")), nil
	case "ASCII":
		r := make([]byte, len(b))
		for i, c := range b {
			if c >= 0x80 {
				c = '?' // as .NET's ASCIIEncoding does
			}
			r[i] = c
		}
		return strVal(string(r)), nil
	}
	return errf("ConvertFromBase64", "unknown encoding %q (want Unicode, ASCII or UTF8)", enc)
}

// convertToBase64 encodes text as UTF-16LE (the reference's Unicode) and
// binary values as they are, which is what the default rules do with
// objectGUID.
func convertToBase64(_ *frame, a []idsync.Value) (idsync.Value, error) {
	if a[0].Type == typeBinary {
		return strVal(base64.StdEncoding.EncodeToString(a[0].Bin)), nil
	}
	s, err := text("ConvertToBase64", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	return strVal(base64.StdEncoding.EncodeToString(encodeUTF16LE(s))), nil
}

func convertToUTF8Hex(_ *frame, a []idsync.Value) (idsync.Value, error) {
	if a[0].Type == typeBinary {
		return strVal(strings.ToUpper(hex.EncodeToString(a[0].Bin))), nil
	}
	s, err := text("ConvertToUTF8Hex", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	return strVal(strings.ToUpper(hex.EncodeToString([]byte(s)))), nil
}

func convertFromUTF8Hex(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := text("ConvertFromUTF8Hex", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return errf("ConvertFromUTF8Hex", "%q is not hex digits", truncate(s))
	}
	if !utf8.Valid(b) {
		return errf("ConvertFromUTF8Hex", "the bytes of %q are not UTF-8", truncate(s))
	}
	return strVal(string(b)), nil
}

// parseGuid reads xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx, optionally in
// braces, into its 16 bytes in Windows (Microsoft GUID) byte order: the
// first three groups little-endian, as objectGUID holds them.
func parseGuid(s string) ([]byte, bool) {
	s = strings.TrimSpace(s)
	if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
		s = s[1 : len(s)-1]
	}
	if len(s) != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-' {
		return nil, false
	}
	h, err := hex.DecodeString(s[0:8] + s[9:13] + s[14:18] + s[19:23] + s[24:])
	if err != nil {
		return nil, false
	}
	b := make([]byte, 16)
	b[0], b[1], b[2], b[3] = h[3], h[2], h[1], h[0]
	b[4], b[5] = h[5], h[4]
	b[6], b[7] = h[7], h[6]
	copy(b[8:], h[8:])
	return b, true
}

// formatGuidBE formats 16 bytes in the order they are written.
func formatGuidBE(b []byte) string {
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// formatGuid formats 16 bytes in Windows byte order as .NET's
// Guid.ToString() does: lower case, no braces.
func formatGuid(b []byte) string {
	var w [16]byte
	w[0], w[1], w[2], w[3] = b[3], b[2], b[1], b[0]
	w[4], w[5] = b[5], b[4]
	w[6], w[7] = b[7], b[6]
	copy(w[8:], b[8:16])
	return formatGuidBE(w[:])
}

func cguid(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := text("CGuid", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	b, ok := parseGuid(s)
	if !ok {
		return errf("CGuid", "%q is not a GUID", truncate(s))
	}
	return binVal(b), nil
}

func stringFromGuid(_ *frame, a []idsync.Value) (idsync.Value, error) {
	b, err := guidBytes("StringFromGuid", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	return strVal(formatGuid(b)), nil
}

// guidBytes returns the 16 bytes of a binary GUID; text that is already a
// GUID is accepted too.
func guidBytes(fn string, v idsync.Value) ([]byte, error) {
	switch v.Type {
	case typeBinary:
		if len(v.Bin) != 16 {
			return nil, evalErr(fn, "a GUID has 16 bytes, got %d", len(v.Bin))
		}
		return v.Bin, nil
	case typeString:
		if b, ok := parseGuid(v.Str); ok {
			return b, nil
		}
		if b, err := decodeBase64(v.Str); err == nil && len(b) == 16 {
			return b, nil
		}
	}
	return nil, evalErr(fn, "%s is not a GUID", describeValue(v))
}

// stringFromSid formats a binary SID: revision, sub-authority count,
// 48-bit big-endian identifier authority, then 32-bit little-endian
// sub-authorities. Text already in S-1-... form is returned as it is.
func stringFromSid(_ *frame, a []idsync.Value) (idsync.Value, error) {
	v := a[0]
	if v.Type == typeString && strings.HasPrefix(strings.ToUpper(v.Str), "S-1-") {
		return v, nil
	}
	b, err := toBin("StringFromSid", v)
	if err != nil {
		return idsync.Value{}, err
	}
	if len(b) < 8 || len(b) != 8+4*int(b[1]) {
		return errf("StringFromSid", "%d bytes are not a SID", len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-")
	sb.WriteString(strconv.Itoa(int(b[0])))
	sb.WriteByte('-')
	if auth >= 1<<32 {
		sb.WriteString("0x" + strings.ToUpper(hex.EncodeToString(b[2:8])))
	} else {
		sb.WriteString(strconv.FormatUint(auth, 10))
	}
	for i := range int(b[1]) {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return strVal(sb.String()), nil
}

// cbin is undocumented; the default device rules use CBin(n, bytes) to
// write lengths and entry types of a key credential, which are
// little-endian. The number must fit the bytes (signed or unsigned).
func cbin(_ *frame, a []idsync.Value) (idsync.Value, error) {
	n, err := argNum("CBin", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	size, err := argNum("CBin", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	if size < 1 || size > 8 {
		return errf("CBin", "the number of bytes must be 1 to 8, got %d", size)
	}
	if size < 8 {
		bits := uint(8 * size)
		if n >= 1<<bits || n < -(1<<(bits-1)) {
			return errf("CBin", "%d does not fit in %d bytes", n, size)
		}
	}
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(n))
	return binVal(append([]byte(nil), b[:size]...)), nil
}

// thumbprint is undocumented; the default device rules use it to build
// the KeyHash entry of a key credential, which is the SHA-256 hash of the
// entries that follow, as binary.
func thumbprint(_ *frame, a []idsync.Value) (idsync.Value, error) {
	b, err := toBin("Thumbprint", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	h := sha256.Sum256(b)
	return binVal(h[:]), nil
}
