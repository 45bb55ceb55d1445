package ldap

import (
	"fmt"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// normDN returns the canonical form of dn for comparisons: attribute types
// and values lower-cased, no spaces around separators, values escaped as
// RFC 4514 says. Multi-valued RDNs keep their order.
func normDN(dn string) (string, error) {
	if strings.TrimSpace(dn) == "" {
		return "", nil
	}
	d, err := goldap.ParseDN(dn)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	for i, rdn := range d.RDNs {
		if i > 0 {
			b.WriteByte(',')
		}
		for j, av := range rdn.Attributes {
			if !validType(strings.TrimSpace(av.Type)) {
				return "", fmt.Errorf("DN %q: %q is not an attribute type", dn, av.Type)
			}
			if j > 0 {
				b.WriteByte('+')
			}
			b.WriteString(strings.ToLower(strings.TrimSpace(av.Type)))
			b.WriteByte('=')
			b.WriteString(escapeValue(strings.ToLower(av.Value)))
		}
	}
	return b.String(), nil
}

// fastNorm normalizes a DN as servers send it: when it holds no escapes or
// spaces after separators, lower-casing is enough; otherwise it parses.
func fastNorm(dn string) string {
	if !strings.ContainsAny(dn, "\\+\" ") || !needsParse(dn) {
		return strings.ToLower(dn)
	}
	n, err := normDN(dn)
	if err != nil {
		return strings.ToLower(dn)
	}
	return n
}

func needsParse(dn string) bool {
	return strings.Contains(dn, "\\") || strings.Contains(dn, ", ") || strings.Contains(dn, " ,") ||
		strings.Contains(dn, "= ") || strings.Contains(dn, " =") || strings.Contains(dn, "+") || strings.Contains(dn, "\"")
}

// underDN reports whether the normalized DN n is base or below it.
func underDN(n, base string) bool {
	if base == "" {
		return true
	}
	if n == base {
		return true
	}
	return len(n) > len(base) && strings.HasSuffix(n, base) && n[len(n)-len(base)-1] == ','
}

// escapeValue escapes an attribute value for a DN (RFC 4514 §2.4).
func escapeValue(v string) string {
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		ch := v[i]
		switch {
		case ch == ',' || ch == '+' || ch == '"' || ch == '\\' || ch == '<' || ch == '>' || ch == ';' || ch == '=':
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == '#' && i == 0, ch == ' ' && (i == 0 || i == len(v)-1):
			b.WriteByte('\\')
			b.WriteByte(ch)
		case ch == 0:
			b.WriteString("\\00")
		default:
			b.WriteByte(ch)
		}
	}
	return b.String()
}

// splitDN returns the first RDN of dn (as written) and the parent DN.
func splitDN(dn string) (rdn, parent string) {
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case ',':
			return strings.TrimSpace(dn[:i]), strings.TrimSpace(dn[i+1:])
		}
	}
	return strings.TrimSpace(dn), ""
}

// rdnValue returns the value of the first RDN of dn, unescaped.
func rdnValue(dn string) string {
	d, err := goldap.ParseDN(dn)
	if err != nil || len(d.RDNs) == 0 || len(d.RDNs[0].Attributes) == 0 {
		r, _ := splitDN(dn)
		if i := strings.IndexByte(r, '='); i >= 0 {
			return r[i+1:]
		}
		return r
	}
	return d.RDNs[0].Attributes[0].Value
}

// validType reports whether t is an attribute description: a keystring
// (letter, then letters, digits, hyphens) or a numeric OID (RFC 4512 §1.4).
func validType(t string) bool {
	if t == "" {
		return false
	}
	if t[0] >= '0' && t[0] <= '9' {
		for i := 0; i < len(t); i++ {
			if !(t[i] >= '0' && t[i] <= '9' || t[i] == '.') {
				return false
			}
		}
		return true
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && (c >= '0' && c <= '9' || c == '-')) {
			return false
		}
	}
	return true
}
