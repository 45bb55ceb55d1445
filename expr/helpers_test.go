package expr_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/idsync/idsync"
	"github.com/idsync/idsync/expr"
)

var testNow = time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)

// testCert is a self-signed certificate made once per test binary.
var testCert = sync.OnceValues(func() ([]byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	upn, _ := asn1.Marshal("jdoe@contoso.com")
	other, _ := asn1.MarshalWithParams(struct {
		ID    asn1.ObjectIdentifier
		Value asn1.RawValue
	}{asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}, asn1.RawValue{Class: asn1.ClassContextSpecific, Tag: 0, IsCompound: true, Bytes: upn}}, "tag:0")
	dns, _ := asn1.MarshalWithParams("host.contoso.com", "tag:2,ia5")
	mail, _ := asn1.MarshalWithParams("jdoe@contoso.com", "tag:1,ia5")
	uri, _ := asn1.MarshalWithParams("https://contoso.com/jdoe", "tag:6,ia5")
	san, _ := asn1.Marshal([]asn1.RawValue{{FullBytes: other}, {FullBytes: dns}, {FullBytes: mail}, {FullBytes: uri}})
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(0x0102A3),
		Subject:               pkix.Name{CommonName: "Jane Doe", Organization: []string{"Contoso"}, Country: []string{"US"}},
		Issuer:                pkix.Name{CommonName: "Jane Doe", Organization: []string{"Contoso"}, Country: []string{"US"}},
		NotBefore:             time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:              time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Value: san}},
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
})

func mustCert(tb testing.TB) []byte {
	tb.Helper()
	der, err := testCert()
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// testEnv is the object the function tables evaluate against.
func testEnv(tb testing.TB) *expr.MapEnv {
	s := idsync.String
	return &expr.MapEnv{
		Attrs: idsync.Attrs{
			"str":     {s("Hello World")},
			"padded":  {s("  Hello  ")},
			"empty":   {s("")},
			"mv":      {s(" a "), s("b "), s(" c")},
			"mv2":     {s("x"), s("y")},
			"num":     {idsync.Int(5)},
			"numstr":  {s("42")},
			"neg":     {idsync.Int(-2147483648)},
			"bin":     {idsync.Binary([]byte{1, 2, 3})},
			"guid":    {idsync.Binary([]byte{0x11, 0x11, 0x00, 0x00, 0xaa, 0xaa, 0x22, 0x22, 0xbb, 0xbb, 0x33, 0x33, 0xcc, 0xcc, 0x44, 0x44})},
			"guidstr": {s("{00001111-aaaa-2222-bbbb-3333cccc4444}")},
			"sid":     {idsync.Binary([]byte{1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 0xf4, 1, 0, 0})},
			"dn":      {idsync.Ref(`CN=Doe\, Jane,OU=Sales,DC=contoso,DC=com`)},
			"dt":      {idsync.Time(time.Date(2024, 1, 31, 10, 20, 30, 0, time.UTC))},
			"bool":    {idsync.Bool(true)},
			"boolstr": {s("True")},
			"cert":    {idsync.Binary(mustCert(tb))},
			"proxy":   {s("SMTP:jane@contoso.com"), s("smtp:jd@contoso.com"), s("SIP:jane@contoso.com"), s("smtp:jd@contoso.com")},
			"members": {idsync.Ref("CN=A,DC=x"), idsync.Ref("CN=B,DC=x")},
		},
		ImportedAttrs: idsync.Attrs{"proxy": {s(" smtp:old@contoso.com "), s("smtp:old@contoso.com")}},
		Params:        map[string]string{"Domain.FQDN": "contoso.com", "Domain.Netbios": "CONTOSO", "Forest.LDAP": "DC=contoso,DC=com"},
	}
}

type evalCase struct {
	src  string
	want string // JSON of the result; "compile: …", "eval: …" or "user: …" for errors (substring match)
}

// run compiles and evaluates c against env and checks the outcome.
func (c evalCase) run(t *testing.T, env expr.Env, opts *expr.Options) {
	t.Helper()
	got := outcome(c.src, env, opts)
	if strings.HasPrefix(c.want, "compile: ") || strings.HasPrefix(c.want, "eval: ") || strings.HasPrefix(c.want, "user: ") {
		kind, msg, _ := strings.Cut(c.want, ": ")
		if !strings.HasPrefix(got, kind+": ") || !strings.Contains(got, msg) {
			t.Errorf("%s = %s, want %s", c.src, got, c.want)
		}
		return
	}
	if got != c.want {
		t.Errorf("%s = %s, want %s", c.src, got, c.want)
	}
}

func outcome(src string, env expr.Env, opts *expr.Options) string {
	if opts == nil {
		opts = &expr.Options{Now: func() time.Time { return testNow }, Rand: func() uint64 { return 7 }}
	}
	p, err := expr.Compile(src, opts)
	if err != nil {
		return "compile: " + err.Error()
	}
	res, err := p.Eval(env)
	if err != nil {
		var ue *expr.UserError
		var ee *expr.EvalError
		switch {
		case errors.As(err, &ue):
			return "user: " + ue.Msg
		case errors.As(err, &ee):
			return "eval: " + ee.Error()
		}
		return "unexpected error type: " + err.Error()
	}
	return string(res.AppendJSON(nil))
}
