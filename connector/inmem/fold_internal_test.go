package inmem

import (
	"strings"
	"testing"
)

// foldDN(x) == foldDN(y) exactly when strings.EqualFold(x, y).
func TestFoldDNIsEqualFold(t *testing.T) {
	words := []string{"", "cn=a", "CN=A", "Cn=a,OU=x", "cn=a,ou=X", "k", "K", "\u212a", "s", "S", "\u017f",
		"\u03c3", "\u03c2", "\u03a3", "stra\u00dfe", "STRASSE", "stra\u1e9ee", "\xff", "\xfe", "\ufffd", "\u0130", "i", "I", "\u0131",
		"cn=\u00e9l\u00e8ve", "CN=\u00c9L\u00c8VE", "a\x00b", "A\x00B", "\u01c5", "\u01c4", "\u01c6"}
	for _, x := range words {
		for _, y := range words {
			if got, want := foldDN(x) == foldDN(y), strings.EqualFold(x, y); got != want {
				t.Errorf("foldDN(%q) == foldDN(%q) is %v, strings.EqualFold is %v", x, y, got, want)
			}
		}
	}
}

func FuzzFoldDN(f *testing.F) {
	f.Add("cn=a", "CN=A")
	f.Add("\u212a", "k")
	f.Fuzz(func(t *testing.T, x, y string) {
		if got, want := foldDN(x) == foldDN(y), strings.EqualFold(x, y); got != want {
			t.Errorf("foldDN(%q) == foldDN(%q) is %v, strings.EqualFold is %v", x, y, got, want)
		}
	})
}
