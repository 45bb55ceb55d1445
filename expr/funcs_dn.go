package expr

import (
	"strings"

	"github.com/idsync/idsync"
)

// rdns splits a DN into its RDNs as written (escapes kept, surrounding
// spaces removed), following RFC 4514: commas (and, from RFC 2253's
// compatibility rules, semicolons) separate RDNs unless escaped with a
// backslash or inside a quoted value.
func rdns(dn string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',', ';':
			if !quoted {
				out = append(out, trimRDN(dn[start:i]))
				start = i + 1
			}
		}
	}
	if last := trimRDN(dn[start:]); last != "" || len(out) > 0 {
		out = append(out, last)
	}
	return out
}

// trimRDN removes spaces around an RDN but keeps an escaped trailing space.
func trimRDN(s string) string {
	s = strings.TrimLeft(s, " ")
	for strings.HasSuffix(s, " ") && !strings.HasSuffix(s, "\\ ") {
		s = s[:len(s)-1]
	}
	return s
}

// rdnParts splits "type=value" at the first unescaped "=".
func rdnParts(rdn string) (typ, value string) {
	for i := 0; i < len(rdn); i++ {
		switch rdn[i] {
		case '\\':
			i++
		case '=':
			return strings.TrimSpace(rdn[:i]), trimRDN(rdn[i+1:])
		}
	}
	return "", rdn
}

// dnComponent returns the value of the Nth RDN from the left as written in
// the DN, escapes included, so it can be put back into a DN; the default
// rules rely on this when they look for "\0ACNF:" (the escaped line feed
// of a conflict object's name). Out of range gives NULL.
func dnComponent(_ *frame, a []idsync.Value) (idsync.Value, error) {
	dn, err := argText("DNComponent", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	n, err := argNum("DNComponent", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	r := rdns(dn)
	if n < 1 || n > int64(len(r)) {
		return idsync.Value{}, nil
	}
	_, v := rdnParts(r[n-1])
	return strVal(v), nil
}

// dnComponentRev counts from the right; with the DC option, dc=
// components are skipped.
func dnComponentRev(_ *frame, a []idsync.Value) (idsync.Value, error) {
	dn, err := argText("DNComponentRev", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	n, err := argNum("DNComponentRev", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	skipDC := false
	if len(a) > 2 {
		opt, err := argText("DNComponentRev", a, 2)
		if err != nil {
			return idsync.Value{}, err
		}
		if !strings.EqualFold(opt, "DC") {
			return errf("DNComponentRev", "unknown option %q (want DC)", opt)
		}
		skipDC = true
	}
	var vals []string
	for _, r := range rdns(dn) {
		t, v := rdnParts(r)
		if skipDC && strings.EqualFold(t, "dc") {
			continue
		}
		vals = append(vals, v)
	}
	if n < 1 || n > int64(len(vals)) {
		return idsync.Value{}, nil
	}
	return strVal(vals[len(vals)-int(n)]), nil
}

// escapeDNComponent escapes an RDN by RFC 4514. Given "type=value" (as in
// EscapeDNComponent("CN=" & [displayName])) it escapes the value only;
// given text with no attribute type it escapes all of it.
func escapeDNComponent(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := argText("EscapeDNComponent", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	if i := strings.IndexByte(s, '='); i > 0 && isAttrType(s[:i]) {
		return strVal(s[:i+1] + escapeDNValue(s[i+1:])), nil
	}
	return strVal(escapeDNValue(s)), nil
}

func isAttrType(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(isIdentChar(c) || c == '-' || c == '.') || c == '_' {
			return false
		}
	}
	return true
}

const hexDigits = "0123456789ABCDEF"

func escapeDNValue(v string) string {
	var b strings.Builder
	b.Grow(len(v) + 8)
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' || c == '\\' || c == '=':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '#' && i == 0, c == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < 0x20 || c == 0x7f:
			b.WriteByte('\\')
			b.WriteByte(hexDigits[c>>4])
			b.WriteByte(hexDigits[c&15])
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}
