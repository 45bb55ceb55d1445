// Package dn has the few RFC 4514 distinguished-name operations the
// engine needs: splitting off the first RDN to find a parent container.
package dn

import "strings"

// Parent returns the DN of dn's parent ("OU=People,DC=x" for
// "CN=A\,B,OU=People,DC=x"), or "" when dn has a single RDN. Escaped
// commas (\,) and commas inside quoted values do not split.
func Parent(dn string) string {
	i := firstSep(dn)
	if i < 0 {
		return ""
	}
	return strings.TrimSpace(dn[i+1:])
}

// RDN returns the first RDN of dn.
func RDN(dn string) string {
	i := firstSep(dn)
	if i < 0 {
		return strings.TrimSpace(dn)
	}
	return strings.TrimSpace(dn[:i])
}

func firstSep(dn string) int {
	quoted := false
	for i := 0; i < len(dn); i++ {
		switch dn[i] {
		case '\\':
			i++
		case '"':
			quoted = !quoted
		case ',', ';':
			if !quoted {
				return i
			}
		}
	}
	return -1
}

// Fold returns the form of dn used to compare DNs: lower case, no spaces
// around separators.
func Fold(dn string) string {
	if dn == "" {
		return ""
	}
	var b strings.Builder
	b.Grow(len(dn))
	for _, part := range splitAll(dn) {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strings.ToLower(strings.TrimSpace(part)))
	}
	return b.String()
}

func splitAll(dn string) []string {
	var parts []string
	for {
		i := firstSep(dn)
		if i < 0 {
			return append(parts, dn)
		}
		parts = append(parts, dn[:i])
		dn = dn[i+1:]
	}
}
