package ldap

import (
	"bytes"
	"errors"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	goldap "github.com/go-ldap/ldap/v3"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/connector"
)

func TestNormDNAndScope(t *testing.T) {
	for _, tc := range []struct {
		in, want string
	}{
		{"CN=Alice Smith, OU=People ,DC=Example,DC=com", "cn=alice smith,ou=people,dc=example,dc=com"},
		{"cn=Smith\\, Alice,ou=x", "cn=smith\\, alice,ou=x"},
		{"uid=a+cn=b,dc=x", "uid=a+cn=b,dc=x"},
		{"", ""},
	} {
		got, err := normDN(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("normDN(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if _, err := normDN("not a dn"); err == nil {
		t.Errorf("normDN accepted garbage")
	}
	s := []scope{{partition: "dc=x", bases: []string{"ou=in,dc=x"}, exclude: []string{"ou=out,ou=in,dc=x"}}}
	for dn, want := range map[string]bool{
		"uid=a,ou=in,dc=x":        true,
		"UID=A,OU=In,DC=X":        true,
		"ou=in,dc=x":              true,
		"uid=a,ou=out,ou=in,dc=x": false,
		"uid=a,ou=notin,dc=x":     false,
		"uid=a,ou=xin,dc=x":       false,
	} {
		if got := inScope(s, dn); got != want {
			t.Errorf("inScope(%q) = %v, want %v", dn, got, want)
		}
	}
	if r, p := splitDN(`cn=a\,b,ou=c,dc=d`); r != `cn=a\,b` || p != "ou=c,dc=d" {
		t.Errorf("splitDN = %q, %q", r, p)
	}
}

func TestGUID(t *testing.T) {
	raw := []byte{0x8d, 0xe4, 0xc7, 0xcc, 0xa0, 0x78, 0x63, 0x4d, 0x8c, 0xa6, 0x0d, 0x5c, 0xde, 0x55, 0xc9, 0x40}
	s, err := formatGUID(raw)
	if err != nil || s != "ccc7e48d-78a0-4d63-8ca6-0d5cde55c940" {
		t.Fatalf("formatGUID = %q, %v", s, err)
	}
	back, err := parseGUID(s)
	if err != nil || !bytes.Equal(back, raw) {
		t.Fatalf("parseGUID = %x, %v", back, err)
	}
	if _, err := formatGUID(raw[:3]); err == nil {
		t.Errorf("formatGUID accepted 3 bytes")
	}
	if got := escapeFilterBytes([]byte{0, 0xff}); got != `\00\ff` {
		t.Errorf("escapeFilterBytes = %q", got)
	}
}

func TestUnicodePwd(t *testing.T) {
	got := []byte(encodeUnicodePwd("ab"))
	want := []byte{'"', 0, 'a', 0, 'b', 0, '"', 0}
	if !bytes.Equal(got, want) {
		t.Errorf("encodeUnicodePwd = %x, want %x", got, want)
	}
}

func TestParseSchemaDescriptions(t *testing.T) {
	si, warns := parseSchema([]string{
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) DESC 'RFC4519: common name' SUP name )",
		"( 2.5.4.41 NAME 'name' EQUALITY caseIgnoreMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} )",
		"( 1.2.840.113556.1.4.2 NAME 'objectGUID' SYNTAX '1.3.6.1.4.1.1466.115.121.1.40' SINGLE-VALUE NO-USER-MODIFICATION )",
		"( 2.5.4.31 NAME 'member' SUP distinguishedName )",
		"( 2.5.4.49 NAME 'distinguishedName' EQUALITY distinguishedNameMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.12 )",
		"( 1.2 NAME 'broken' SYNTAX 'unterminated )",
	}, []string{
		"( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword $ telephoneNumber ) )",
		"( 2.5.6.9 NAME 'groupOfNames' SUP top STRUCTURAL MUST ( member $ cn ) )",
		"( 2.5.6.0 NAME 'top' ABSTRACT MUST objectClass )",
	})
	if len(warns) != 1 {
		t.Errorf("warnings = %v, want one for the broken description", warns)
	}
	c := &conn{schema: si}
	for name, want := range map[string]idsync.AttrType{"cn": idsync.TypeString, "commonName": idsync.TypeString, "objectGUID": idsync.TypeBinary, "member": idsync.TypeReference, "unknown": idsync.TypeString} {
		if got, _ := c.typeOf(name); got != want {
			t.Errorf("typeOf(%s) = %s, want %s", name, got, want)
		}
	}
	if _, multi := c.typeOf("objectGUID"); multi {
		t.Errorf("objectGUID multi-valued")
	}
	attrs := si.classAttrs("groupOfNames")
	if len(attrs) != 3 { // member, cn, objectClass
		t.Errorf("classAttrs(groupOfNames) = %v", attrs)
	}
}

func TestWatermarkDecode(t *testing.T) {
	w := watermark{V: wmVersion, Mech: DeltaSyncrepl, Parts: map[string][]byte{"dc=x": []byte("rid=000,csn=1")}}
	got, err := decodeWatermark(w.encode(), DeltaSyncrepl)
	if err != nil || string(got.Parts["dc=x"]) != "rid=000,csn=1" {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, []byte("garbage"), []byte(`{"v":2,"mech":"syncrepl","parts":{"a":""}}`), []byte(`{"v":1,"mech":"dirsync","parts":{"a":""}}`), []byte(`{"v":1,"mech":"syncrepl"}`)} {
		if _, err := decodeWatermark(bad, DeltaSyncrepl); !errors.Is(err, connector.ErrWatermarkExpired) {
			t.Errorf("decodeWatermark(%q) = %v, want ErrWatermarkExpired", bad, err)
		}
	}
}

func TestLDAPTime(t *testing.T) {
	for in, want := range map[string]time.Time{
		"20240506070809Z":     time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		"20240506070809.5Z":   time.Date(2024, 5, 6, 7, 8, 9, 5e8, time.UTC),
		"20240506090809+0200": time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		"20240506070809.0Z":   time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
	} {
		got, err := parseLDAPTime(in)
		if err != nil || !got.Equal(want) {
			t.Errorf("parseLDAPTime(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	if got, err := parseUTCTime("240506070809Z"); err != nil || !got.Equal(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)) {
		t.Errorf("parseUTCTime = %v, %v", got, err)
	}
	if _, err := parseLDAPTime("yesterday"); err == nil {
		t.Errorf("parseLDAPTime accepted garbage")
	}
	if s := formatLDAPTime(time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)); s != "20240506070809Z" {
		t.Errorf("formatLDAPTime = %q", s)
	}
}

func TestConfigValidate(t *testing.T) {
	ok := func() *Config {
		return &Config{URL: "ldap://127.0.0.1:389", BindDN: "cn=x", Password: connector.SecretRef{Env: "P"}}
	}
	for name, tc := range map[string]struct {
		mut     func(*Config)
		wantErr bool
	}{
		"minimal":                 {func(*Config) {}, false},
		"no url":                  {func(c *Config) { c.URL = "" }, true},
		"bad scheme":              {func(c *Config) { c.URL = "http://x" }, true},
		"ldaps with starttls":     {func(c *Config) { c.URL = "ldaps://x"; c.StartTLS = true }, true},
		"dirsync on openldap":     {func(c *Config) { c.Server = "openldap"; c.Delta = "dirsync" }, true},
		"syncrepl on ad":          {func(c *Config) { c.Server = "ad"; c.Delta = "syncrepl" }, true},
		"syncrepl named anchor":   {func(c *Config) { c.Server = "openldap"; c.Anchor = "uid" }, true},
		"ad defaults":             {func(c *Config) { c.Server = "ad" }, false},
		"unknown server":          {func(c *Config) { c.Server = "novell" }, true},
		"bad filter":              {func(c *Config) { c.Filter = "(&(a=b)" }, true},
		"container outside":       {func(c *Config) { c.Containers = []Containers{{Partition: "dc=x", Include: []string{"ou=a,dc=y"}}} }, true},
		"container ok":            {func(c *Config) { c.Containers = []Containers{{Partition: "dc=x", Include: []string{"ou=a,dc=x"}}} }, false},
		"password without bindDN": {func(c *Config) { c.BindDN = "" }, true},
		"bad export type":         {func(c *Config) { c.ExportType = "whatever" }, true},
	} {
		c := ok()
		tc.mut(c)
		if err := c.Validate(); (err != nil) != tc.wantErr {
			t.Errorf("%s: Validate() = %v, wantErr %v", name, err, tc.wantErr)
		}
	}
	ad := &Config{Server: "ad"}
	if ad.delta() != DeltaDirSync || ad.anchor() != "objectGUID" {
		t.Errorf("ad defaults: delta %s anchor %s", ad.delta(), ad.anchor())
	}
	ol := &Config{Server: "openldap"}
	if ol.delta() != DeltaSyncrepl || ol.anchor() != "entryUUID" {
		t.Errorf("openldap defaults: delta %s anchor %s", ol.delta(), ol.anchor())
	}
}

func FuzzParseDescription(f *testing.F) {
	for _, s := range []string{
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name )",
		"( 2.5.6.6 NAME 'person' SUP top STRUCTURAL MUST ( sn $ cn ) MAY ( userPassword ) )",
		"( 1 NAME 'x' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32} SINGLE-VALUE )",
		"(", "", "( ' )", "( 1 ( ( )",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		parseDescription(s)
		parseAttrType(s)
		parseObjClass(s)
	})
}

func FuzzDecodeWatermark(f *testing.F) {
	f.Add([]byte(`{"v":1,"mech":"syncrepl","parts":{"dc=x":"cmlk"}}`))
	f.Add([]byte("garbage"))
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := decodeWatermark(b, DeltaSyncrepl); err != nil && !errors.Is(err, connector.ErrWatermarkExpired) {
			t.Errorf("decodeWatermark error %v is not ErrWatermarkExpired", err)
		}
	})
}

func FuzzNormDN(f *testing.F) {
	for _, s := range []string{"cn=a,dc=b", `cn=a\,b+uid=c, dc=d`, "", "=", `cn=\`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n, err := normDN(s)
		if err != nil {
			return
		}
		n2, err := normDN(n)
		if err != nil || n2 != n {
			t.Errorf("normDN not idempotent: %q -> %q -> %q (%v)", s, n, n2, err)
		}
		_ = fastNorm(s)
		if r, p := splitDN(s); len(r)+len(p) > len(s) {
			t.Errorf("splitDN(%q) = %q, %q: longer than the input", s, r, p)
		}
	})
}

func FuzzParseGUID(f *testing.F) {
	f.Add("ccc7e48d-78a0-4d63-8ca6-0d5cde55c940")
	f.Add("{x}")
	f.Fuzz(func(t *testing.T, s string) {
		b, err := parseGUID(s)
		if err != nil {
			return
		}
		if _, err := formatGUID(b); err != nil {
			t.Errorf("formatGUID(parseGUID(%q)): %v", s, err)
		}
	})
}

func TestParseURL(t *testing.T) {
	for in, want := range map[string]string{
		"ldapi://%2Frun%2Fslapd%2Fldapi": "/run/slapd/ldapi",
		"ldapi:///tmp/sock":              "/tmp/sock",
		"ldapi://":                       "/var/run/slapd/ldapi",
		"ldap://127.0.0.1:389":           "127.0.0.1:389",
	} {
		u, err := parseURL(in)
		if err != nil || u.Host != want {
			t.Errorf("parseURL(%q) = %v, %v; want host %q", in, u, err, want)
		}
	}
	if err := (&Config{URL: "ldapi://%2Frun%2Fslapd%2Fldapi", SASLExternal: true}).Validate(); err != nil {
		t.Errorf("ldapi with SASL EXTERNAL: %v", err)
	}
}

// berEntry encodes a SearchResultEntry body as a server would.
func berEntry(dn string, attrs map[string][]string) []byte {
	op := ber.Encode(ber.ClassApplication, ber.TypeConstructed, 4, nil, "Entry")
	op.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, dn, "DN"))
	list := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attributes")
	for _, name := range sortedKeysOf(attrs) {
		one := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSequence, nil, "Attribute")
		one.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, name, "Type"))
		set := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "Values")
		for _, v := range attrs[name] {
			set.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, "Value"))
		}
		one.AppendChild(set)
		list.AppendChild(one)
	}
	op.AppendChild(list)
	_, body, _, _ := tlv(op.Bytes())
	return body
}

func sortedKeysOf(m map[string][]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestParseEntry(t *testing.T) {
	long := strings.Repeat("x", 300) // a long-form BER length
	e, err := parseEntry(berEntry("uid=a,dc=x", map[string][]string{"mail": {"a@x", "b@x"}, "cn": {long}}))
	if err != nil {
		t.Fatal(err)
	}
	if e.DN != "uid=a,dc=x" || len(e.GetAttributeValues("mail")) != 2 || e.GetAttributeValue("cn") != long {
		t.Errorf("parseEntry = %+v", e)
	}
	want := map[string][]string{"a": {"1"}, "bb": {strings.Repeat("y", 200), "", "z"}, "c": {long, "w"}, "d": {}}
	e, err = parseEntry(berEntry("cn=x", want))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string][]string{}
	for _, a := range e.Attributes {
		got[a.Name] = append([]string{}, a.Values...)
		for i := range a.Values {
			if string(a.ByteValues[i]) != a.Values[i] {
				t.Errorf("%s: ByteValues[%d] = %q, Values[%d] = %q", a.Name, i, a.ByteValues[i], i, a.Values[i])
			}
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("parseEntry = %v, want %v", got, want)
	}
	if _, err := parseEntry([]byte{0x04, 0x05, 'a'}); err == nil {
		t.Errorf("parseEntry accepted a truncated entry")
	}
	// The paging cookie from a SearchResultDone's controls.
	pc := goldap.NewControlPaging(10)
	pc.SetCookie([]byte("next"))
	cs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 0, nil, "Controls")
	cs.AppendChild(pc.Encode())
	_, body, _, _ := tlv(cs.Bytes())
	if got := pagingCookie(body); string(got) != "next" {
		t.Errorf("pagingCookie = %q, want next", got)
	}
}

func FuzzParseEntry(f *testing.F) {
	f.Add(berEntry("uid=a,dc=x", map[string][]string{"mail": {"a@x"}}))
	f.Add([]byte{0x04, 0x00, 0x30, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		if e, err := parseEntry(b); err == nil {
			for _, a := range e.Attributes {
				for i := range a.Values {
					if string(a.ByteValues[i]) != a.Values[i] {
						t.Fatalf("ByteValues and Values differ: %q %q", a.ByteValues[i], a.Values[i])
					}
				}
			}
		}
		pagingCookie(b)
		parseResult(b)
	})
}

func TestFilters(t *testing.T) {
	c := &conn{cfg: Config{ObjectClasses: map[string]string{"user": "user", "group": "group", "person": "user"}, Filter: "!(cn=x*)", Anchor: "objectGUID"}}
	if got, want := c.classFilter(), "(&(|(objectClass=group)(objectClass=user))(!(cn=x*)))"; got != want {
		t.Errorf("classFilter = %q, want %q", got, want)
	}
	if _, err := goldap.CompileFilter(c.classFilter()); err != nil {
		t.Errorf("classFilter does not compile: %v", err)
	}
	f, err := c.anchorFilter("ccc7e48d-78a0-4d63-8ca6-0d5cde55c940")
	if err != nil || f != `(objectGUID=\8d\e4\c7\cc\a0\78\63\4d\8c\a6\0d\5c\de\55\c9\40)` {
		t.Errorf("anchorFilter(GUID) = %q, %v", f, err)
	}
	if _, err := c.anchorFilter("not-a-guid"); err == nil {
		t.Errorf("anchorFilter accepted a bad GUID")
	}
	c.cfg.Anchor = "employeeNumber"
	if f, _ := c.anchorFilter("a*(b)"); f != `(employeeNumber=a\2a\28b\29)` {
		t.Errorf("anchorFilter escapes = %q", f)
	}
	if got := (&conn{}).classFilter(); got != "(objectClass=*)" {
		t.Errorf("classFilter without mapping = %q", got)
	}
}

func TestPostReadControlEncoding(t *testing.T) {
	b := postReadControl{attrs: []string{"entryUUID"}}.Encode().Bytes()
	// SEQUENCE { OID, OCTET STRING { SEQUENCE { "entryUUID" } } }
	tag, body, _, err := tlv(b)
	if err != nil || tag != 0x30 {
		t.Fatalf("control: %x %v", b, err)
	}
	tag, oid, rest, _ := tlv(body)
	if tag != 0x04 || string(oid) != controlPostRead {
		t.Errorf("control type %q", oid)
	}
	tag, val, _, _ := tlv(rest)
	if tag != 0x04 {
		t.Fatalf("control value tag %#x", tag)
	}
	tag, sel, _, _ := tlv(val)
	if tag != 0x30 {
		t.Fatalf("attribute selection tag %#x", tag)
	}
	if _, a, _, _ := tlv(sel); string(a) != "entryUUID" {
		t.Errorf("selected attribute %q", a)
	}
}
