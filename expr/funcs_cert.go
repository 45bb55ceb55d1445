package expr

import (
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"strings"

	"github.com/idsync/idsync"
)

// Certificate functions take the DER bytes of an X.509 certificate, or
// Base64 text of them (as userCertificate values sometimes arrive). They
// mirror the .NET X509Certificate2 properties the reference is built on.

type certInfo struct {
	c *x509.Certificate
}

func parseCert(fn string, v idsync.Value) (*certInfo, error) {
	var der []byte
	switch v.Type {
	case typeBinary:
		der = v.Bin
	case typeString:
		b, err := decodeBase64(strings.Join(strings.Fields(v.Str), ""))
		if err != nil {
			return nil, evalErr(fn, "the value is neither a DER certificate nor Base64 text")
		}
		der = b
	default:
		return nil, evalErr(fn, "%s is not a certificate", describeValue(v))
	}
	c, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, evalErr(fn, "not an X.509 certificate: %v", err)
	}
	return &certInfo{c: c}, nil
}

func certFunc(name string, get func(*certInfo) (idsync.Value, error)) func(*frame, []idsync.Value) (idsync.Value, error) {
	return func(_ *frame, a []idsync.Value) (idsync.Value, error) {
		ci, err := parseCert(name, a[0])
		if err != nil {
			return idsync.Value{}, err
		}
		return get(ci)
	}
}

func isCert(_ *frame, a []idsync.Value) (idsync.Value, error) {
	_, err := parseCert("IsCert", a[0])
	return boolVal(err == nil), nil
}

func (ci *certInfo) format() (idsync.Value, error)       { return strVal("X509"), nil }
func (ci *certInfo) friendlyName() (idsync.Value, error) { return strVal(""), nil }

// noOid: .NET's X500DistinguishedName.Oid is empty for names decoded from
// a certificate, so CertIssuerOid and CertSubjectNameOid give NULL.
func (ci *certInfo) noOid() (idsync.Value, error) { return idsync.Value{}, nil }

func (ci *certInfo) thumbprint() (idsync.Value, error) {
	h := sha1.Sum(ci.c.Raw)
	return strVal(strings.ToUpper(hex.EncodeToString(h[:]))), nil
}

func (ci *certInfo) issuer() (idsync.Value, error) {
	return strVal(netName(ci.c.RawIssuer)), nil
}

func (ci *certInfo) subject() (idsync.Value, error) {
	return strVal(netName(ci.c.RawSubject)), nil
}

func (ci *certInfo) notAfter() (idsync.Value, error)  { return timeVal(ci.c.NotAfter), nil }
func (ci *certInfo) notBefore() (idsync.Value, error) { return timeVal(ci.c.NotBefore), nil }
func (ci *certInfo) version() (idsync.Value, error)   { return intVal(int64(ci.c.Version)), nil }

// serial is .NET's SerialNumber: the big-endian bytes in upper-case hex.
func (ci *certInfo) serial() (idsync.Value, error) {
	var tbs struct {
		Raw     asn1.RawContent
		Version int `asn1:"optional,explicit,default:0,tag:0"`
		Serial  asn1.RawValue
	}
	if _, err := asn1.Unmarshal(ci.c.RawTBSCertificate, &tbs); err == nil {
		return strVal(strings.ToUpper(hex.EncodeToString(tbs.Serial.Bytes))), nil
	}
	return strVal(strings.ToUpper(ci.c.SerialNumber.Text(16))), nil
}

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

func (ci *certInfo) spki() (algorithmIdentifier, error) {
	var spki struct {
		Algorithm algorithmIdentifier
		PublicKey asn1.BitString
	}
	if _, err := asn1.Unmarshal(ci.c.RawSubjectPublicKeyInfo, &spki); err != nil {
		return algorithmIdentifier{}, evalErr("Cert", "malformed public key info: %v", err)
	}
	return spki.Algorithm, nil
}

func (ci *certInfo) keyAlgorithm() (idsync.Value, error) {
	alg, err := ci.spki()
	if err != nil {
		return idsync.Value{}, err
	}
	return strVal(alg.Algorithm.String()), nil
}

// keyAlgorithmParams is .NET's GetKeyAlgorithmParametersString: the DER of
// the algorithm parameters in upper-case hex ("0500" for RSA).
func (ci *certInfo) keyAlgorithmParams() (idsync.Value, error) {
	alg, err := ci.spki()
	if err != nil {
		return idsync.Value{}, err
	}
	return strVal(strings.ToUpper(hex.EncodeToString(alg.Parameters.FullBytes))), nil
}

// keyParamsOid is the named curve of an EC key, else the key algorithm.
func (ci *certInfo) keyParamsOid() (idsync.Value, error) {
	alg, err := ci.spki()
	if err != nil {
		return idsync.Value{}, err
	}
	var curve asn1.ObjectIdentifier
	if len(alg.Parameters.FullBytes) > 0 {
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &curve); err == nil {
			return strVal(curve.String()), nil
		}
	}
	return strVal(alg.Algorithm.String()), nil
}

func (ci *certInfo) sigAlgOid() (idsync.Value, error) {
	var cert struct {
		TBS       asn1.RawValue
		Algorithm algorithmIdentifier
	}
	if _, err := asn1.Unmarshal(ci.c.Raw, &cert); err != nil {
		return errf("CertSignatureAlgorithmOid", "malformed certificate: %v", err)
	}
	return strVal(cert.Algorithm.Algorithm.String()), nil
}

func certExtensionOids(_ *frame, a []val) (val, error) {
	var out []idsync.Value
	for i := range a[0].n() {
		ci, err := parseCert("CertExtensionOids", a[0].get(i))
		if err != nil {
			return null, err
		}
		for _, e := range ci.c.Extensions {
			if e.Critical {
				out = append(out, strVal(e.Id.String()))
			}
		}
	}
	return many(out), nil
}

// netAttrNames are the short names .NET's X500DistinguishedName uses.
var netAttrNames = map[string]string{
	"2.5.4.3": "CN", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "S", "2.5.4.9": "STREET",
	"2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "T", "2.5.4.4": "SN", "2.5.4.42": "G",
	"2.5.4.43": "I", "2.5.4.5": "SERIALNUMBER", "1.2.840.113549.1.9.1": "E",
	"0.9.2342.19200300.100.1.25": "DC", "0.9.2342.19200300.100.1.1": "UID",
}

// netName formats a DER name as .NET's X500DistinguishedName.Name does:
// most specific RDN first, ", " between RDNs, " + " inside one, and values
// with special characters in double quotes.
func netName(der []byte) string {
	var seq pkix.RDNSequence
	if _, err := asn1.Unmarshal(der, &seq); err != nil {
		return ""
	}
	var parts []string
	for i := len(seq) - 1; i >= 0; i-- {
		var atvs []string
		for _, atv := range seq[i] {
			name, ok := netAttrNames[atv.Type.String()]
			if !ok {
				name = "OID." + atv.Type.String()
			}
			s, ok := atv.Value.(string)
			if !ok {
				s = "#" + hex.EncodeToString(mustMarshal(atv.Value))
			}
			if strings.ContainsAny(s, ",+=\"\n<>#;") || strings.TrimSpace(s) != s {
				s = `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
			}
			atvs = append(atvs, name+"="+s)
		}
		parts = append(parts, strings.Join(atvs, " + "))
	}
	return strings.Join(parts, ", ")
}

func mustMarshal(v any) []byte {
	b, _ := asn1.Marshal(v)
	return b
}

var oidUPN = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 311, 20, 2, 3}

// certNameInfo is .NET's GetNameInfo(X509NameType, forIssuer).
func certNameInfo(_ *frame, a []idsync.Value) (idsync.Value, error) {
	ci, err := parseCert("CertNameInfo", a[0])
	if err != nil {
		return idsync.Value{}, err
	}
	typ, err := argText("CertNameInfo", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	forIssuer, err := toBool("CertNameInfo", a[2])
	if err != nil {
		return idsync.Value{}, err
	}
	c := ci.c
	name := c.Subject
	rawName := c.RawSubject
	if forIssuer {
		name, rawName = c.Issuer, c.RawIssuer
	}
	first := func(ss []string) idsync.Value {
		if len(ss) == 0 {
			return strVal("")
		}
		return strVal(ss[0])
	}
	switch typ {
	case "SimpleName":
		for _, oid := range []string{"2.5.4.3", "2.5.4.11", "2.5.4.10", "1.2.840.113549.1.9.1"} {
			for _, atv := range name.Names {
				if atv.Type.String() == oid {
					if s, ok := atv.Value.(string); ok {
						return strVal(s), nil
					}
				}
			}
		}
		return strVal(netName(rawName)), nil
	case "EmailName":
		for _, atv := range name.Names {
			if atv.Type.String() == "1.2.840.113549.1.9.1" {
				if s, ok := atv.Value.(string); ok {
					return strVal(s), nil
				}
			}
		}
		if forIssuer {
			return strVal(""), nil
		}
		return first(c.EmailAddresses), nil
	case "UpnName":
		if forIssuer {
			return strVal(""), nil
		}
		return strVal(sanUPN(c)), nil
	case "DnsName", "DnsFromAlternativeName":
		if !forIssuer && len(c.DNSNames) > 0 {
			return strVal(c.DNSNames[0]), nil
		}
		if typ == "DnsName" {
			return strVal(name.CommonName), nil
		}
		return strVal(""), nil
	case "UrlName":
		if forIssuer || len(c.URIs) == 0 {
			return strVal(""), nil
		}
		return strVal(c.URIs[0].String()), nil
	}
	return errf("CertNameInfo", "unknown X509NameType %q", typ)
}

// sanUPN returns the first user principal name (an otherName) in the
// subject alternative names.
func sanUPN(c *x509.Certificate) string {
	for _, e := range c.Extensions {
		if !e.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		var names []asn1.RawValue
		if _, err := asn1.Unmarshal(e.Value, &names); err != nil {
			return ""
		}
		for _, n := range names {
			if n.Tag != 0 || n.Class != asn1.ClassContextSpecific {
				continue
			}
			var other struct {
				ID    asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			if _, err := asn1.UnmarshalWithParams(n.FullBytes, &other, "tag:0"); err != nil || !other.ID.Equal(oidUPN) {
				continue
			}
			v := other.Value
			if v.Class == asn1.ClassContextSpecific && v.Tag == 0 { // the [0] EXPLICIT wrapper
				if _, err := asn1.Unmarshal(v.Bytes, &v); err != nil {
					continue
				}
			}
			var s string
			if _, err := asn1.Unmarshal(v.FullBytes, &s); err == nil {
				return s
			}
		}
	}
	return ""
}
