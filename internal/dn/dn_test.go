package dn

import "testing"

func TestParent(t *testing.T) {
	for _, tc := range []struct{ in, parent, rdn string }{
		{"CN=A,OU=People,DC=x", "OU=People,DC=x", "CN=A"},
		{`CN=Smith\, John,OU=People,DC=x`, "OU=People,DC=x", `CN=Smith\, John`},
		{`CN="a,b",DC=x`, "DC=x", `CN="a,b"`},
		{"DC=x", "", "DC=x"},
		{"", "", ""},
	} {
		if got := Parent(tc.in); got != tc.parent {
			t.Errorf("Parent(%q) = %q, want %q", tc.in, got, tc.parent)
		}
		if got := RDN(tc.in); got != tc.rdn {
			t.Errorf("RDN(%q) = %q, want %q", tc.in, got, tc.rdn)
		}
	}
	if got := Fold("CN=A , OU=People,DC=X"); got != "cn=a,ou=people,dc=x" {
		t.Errorf("Fold = %q", got)
	}
}

func FuzzParent(f *testing.F) {
	f.Add(`CN=a\,b,DC=x`)
	f.Fuzz(func(t *testing.T, s string) {
		p := Parent(s)
		if len(p) > len(s) {
			t.Fatalf("Parent(%q) = %q longer than input", s, p)
		}
		_ = Fold(s)
	})
}
