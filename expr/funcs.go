package expr

import (
	"strings"

	"github.com/idsync/idsync"
)

// special marks the functions the evaluator handles itself because they
// don't simply evaluate all their arguments first.
type special uint8

const (
	spNone       special = iota
	spIIF                // evaluates one branch
	spSwitch             // evaluates the conditions, then one value
	spSelect             // binds $var to each value
	spWhere              // binds $var to each value
	spWith               // binds $var once
	spImported           // ImportedValue("attr")
	spValueCount         // ValueCount("attr")
)

// nullPolicy says what a per-value function does when an argument is NULL.
type nullPolicy uint8

const (
	nullNull  nullPolicy = iota // the result is NULL
	nullFalse                   // the result is False (IsDate, IsNumeric, ...)
	nullEmpty                   // a NULL first argument gives "" (Left, Mid, Right, Word, PadLeft, PadRight)
	nullPass                    // the function gets the zero Value and decides
)

type param struct {
	name  string
	t     typ
	enums []string // for tyEnum
}

// funcDef describes a function. Exactly one of scalar (applied to each
// value, see frame.mapScalar), list (given whole lists) or special is set.
type funcDef struct {
	name     string
	category string
	sigs     []string // the signatures as documented, for errors and docs
	params   []param
	min, max int // argument counts; max < 0: any number
	ret      typ
	special  special
	null     nullPolicy
	scalar   func(f *frame, a []idsync.Value, r *idsync.Value) error // writes the result (zero: NULL) to r
	list     func(f *frame, a []val) (val, error)
	pred     func(v val) bool // a test of one whole list (IsNull, IsPresent, ...)
	doc      string           // one line
	example  string
}

func (fn *funcDef) param(i int) param {
	if i < len(fn.params) {
		return fn.params[i]
	}
	return fn.params[len(fn.params)-1]
}

// Functions documents every function, grouped by the reference's categories.
func Functions() []FuncInfo {
	out := make([]FuncInfo, 0, len(funcs))
	for _, fn := range funcList {
		out = append(out, FuncInfo{Name: fn.name, Category: fn.category, Signatures: fn.sigs, Doc: fn.doc, Example: fn.example})
	}
	return out
}

// FuncInfo documents one function.
type FuncInfo struct {
	Name       string
	Category   string
	Signatures []string
	Doc        string
	Example    string
}

var typeWords = map[string]typ{
	"str": tyStr, "num": tyNum, "bool": tyBool, "bin": tyBin, "ref": tyRef, "dt": tyDT,
	"var": tyAny, "void": tyVoid, "mvstr": tyStr, "mvbin": tyBin, "mvref": tyRef, "mv": tyAny,
	"cert": tyBin, "exp": tyBool, "variable": tyAny, "enum": tyEnum,
}

// def builds a funcDef from a signature such as
//
//	num InStr(str stringcheck, str stringmatch, [num start], [enum(vbBinaryCompare|vbTextCompare) compare])
//
// Bracketed parameters are optional; "..." after the last one repeats it.
func def(category, sig string, doc, example string) *funcDef {
	open := strings.IndexByte(sig, '(')
	head := strings.Fields(sig[:open])
	fn := &funcDef{category: category, name: head[len(head)-1], sigs: []string{sig}, doc: doc, example: example}
	fn.ret = typeWords[head[0]]
	body := strings.TrimSuffix(sig[open+1:], ")")
	if strings.TrimSpace(body) == "" {
		return fn
	}
	for _, ps := range strings.Split(body, ", ") {
		if ps == "..." {
			fn.max = -1
			continue
		}
		opt := strings.HasPrefix(ps, "[")
		ps = strings.Trim(ps, "[]")
		tw, name, _ := strings.Cut(ps, " ")
		p := param{name: name}
		if e, ok := strings.CutPrefix(tw, "enum("); ok {
			p.t = tyEnum
			p.enums = strings.Split(strings.TrimSuffix(e, ")"), "|")
		} else {
			t, ok := typeWords[tw]
			if !ok {
				panic("expr: bad type " + tw + " in " + sig)
			}
			p.t = t
		}
		fn.params = append(fn.params, p)
		if !opt {
			fn.min = len(fn.params)
		}
		if fn.max >= 0 {
			fn.max = len(fn.params)
		}
	}
	return fn
}

func (fn *funcDef) scalarFn(null nullPolicy, f func(*frame, []idsync.Value) (idsync.Value, error)) *funcDef {
	fn.null = null
	fn.scalar = func(fr *frame, a []idsync.Value, r *idsync.Value) error {
		v, err := f(fr, a)
		*r = v
		return err
	}
	return fn
}

// fastFn sets a per-value function that writes its result in place, for
// the functions rules use most.
func (fn *funcDef) fastFn(null nullPolicy, f func(*frame, []idsync.Value, *idsync.Value) error) *funcDef {
	fn.null, fn.scalar = null, f
	return fn
}

func (fn *funcDef) predFn(f func(val) bool) *funcDef {
	fn.pred = f
	return fn
}

func (fn *funcDef) listFn(f func(*frame, []val) (val, error)) *funcDef {
	fn.list = f
	return fn
}

func (fn *funcDef) specialFn(s special) *funcDef {
	fn.special = s
	return fn
}

// sig adds a documented signature (for functions whose page lists several).
func (fn *funcDef) sig(s ...string) *funcDef {
	fn.sigs = append(fn.sigs, s...)
	return fn
}

var (
	funcList []*funcDef
	funcs    map[string]*funcDef
	enumSet  map[string]bool
)

func isEnumName(s string) bool { return enumSet[s] }

func init() {
	funcList = builtins()
	funcs = make(map[string]*funcDef, len(funcList))
	enumSet = make(map[string]bool)
	for _, fn := range funcList {
		if funcs[fn.name] != nil {
			panic("expr: duplicate function " + fn.name)
		}
		if fn.scalar == nil && fn.list == nil && fn.pred == nil && fn.special == spNone {
			panic("expr: function " + fn.name + " has no implementation")
		}
		funcs[fn.name] = fn
		for _, p := range fn.params {
			for _, e := range p.enums {
				enumSet[e] = true
			}
		}
	}
}

func builtins() []*funcDef {
	const (
		cert = "Certificate"
		conv = "Conversion"
		date = "Date / Time"
		dir  = "Directory"
		eval = "Evaluation"
		math = "Math"
		mv   = "Multi-valued"
		flow = "Program Flow"
		txt  = "Text"
		und  = "Undocumented"
	)
	certStr := func(name, doc string, get func(*certInfo) (idsync.Value, error)) *funcDef {
		return def(cert, "str "+name+"(cert certificateRawData)", doc, name+"([userCertificate])").
			scalarFn(nullNull, certFunc(name, get))
	}
	return []*funcDef{
		// Certificate
		def(cert, "mvstr CertExtensionOids(cert certificateRawData)", "The OIDs of the certificate's critical extensions.", "CertExtensionOids([userCertificate])").
			listFn(certExtensionOids),
		certStr("CertFormat", "The format of the certificate: X509.", (*certInfo).format),
		certStr("CertFriendlyName", "The friendly name; a DER certificate carries none, so this is an empty string.", (*certInfo).friendlyName),
		certStr("CertHashString", "The SHA-1 hash of the certificate as upper-case hex.", (*certInfo).thumbprint),
		certStr("CertIssuer", "The issuer's distinguished name (.NET Issuer form: CN=x, O=y, C=z).", (*certInfo).issuer),
		certStr("CertIssuerDN", "The issuer's distinguished name (IssuerName.Name).", (*certInfo).issuer),
		certStr("CertIssuerOid", "The OID of the issuer name; a name decoded from a certificate has none, so NULL.", (*certInfo).noOid),
		certStr("CertKeyAlgorithm", "The OID of the public key algorithm, e.g. 1.2.840.113549.1.1.1 for RSA.", (*certInfo).keyAlgorithm),
		certStr("CertKeyAlgorithmParams", "The public key algorithm parameters as upper-case hex (05 00 for RSA's NULL).", (*certInfo).keyAlgorithmParams),
		def(cert, "str CertNameInfo(cert certificateRawData, enum(SimpleName|EmailName|UpnName|DnsName|DnsFromAlternativeName|UrlName) x509NameType, bool includesIssuerName)",
			"The subject (or, with includesIssuerName True, issuer) name of the given X509NameType.", `CertNameInfo([userCertificate],"SimpleName",False)`).
			scalarFn(nullNull, certNameInfo),
		def(cert, "dt CertNotAfter(cert certificateRawData)", "The date after which the certificate is no longer valid (UTC).", "CertNotAfter([userCertificate])").
			scalarFn(nullNull, certFunc("CertNotAfter", (*certInfo).notAfter)),
		def(cert, "dt CertNotBefore(cert certificateRawData)", "The date from which the certificate is valid (UTC).", "CertNotBefore([userCertificate])").
			scalarFn(nullNull, certFunc("CertNotBefore", (*certInfo).notBefore)),
		certStr("CertPublicKeyOid", "The OID of the public key's algorithm.", (*certInfo).keyAlgorithm),
		certStr("CertPublicKeyParametersOid", "The OID of the public key parameters: the named curve for EC keys, else the key algorithm.", (*certInfo).keyParamsOid),
		certStr("CertSerialNumber", "The serial number as upper-case hex.", (*certInfo).serial),
		certStr("CertSignatureAlgorithmOid", "The OID of the signature algorithm.", (*certInfo).sigAlgOid),
		certStr("CertSubject", "The subject distinguished name (.NET Subject form).", (*certInfo).subject),
		certStr("CertSubjectNameDN", "The subject distinguished name (SubjectName.Name).", (*certInfo).subject),
		certStr("CertSubjectNameOid", "The OID of the subject name; a name decoded from a certificate has none, so NULL.", (*certInfo).noOid),
		certStr("CertThumbprint", "The certificate thumbprint: SHA-1 as upper-case hex.", (*certInfo).thumbprint),
		def(cert, "num CertVersion(cert certificateRawData)", "The X.509 version of the certificate (3 for X.509v3).", "CertVersion([userCertificate])").
			scalarFn(nullNull, certFunc("CertVersion", (*certInfo).version)),
		def(cert, "bool IsCert(cert certificateRawData)", "True if the bytes (DER, or Base64 text) are an X.509 certificate.", "IsCert([userCertificate])").
			scalarFn(nullFalse, isCert),

		// Conversion
		def(conv, "bool CBool(exp Expression)", "Converts to a boolean: numbers are True when non-zero; text True/False.", "CBool([attrib1] = [attrib2])").
			scalarFn(nullNull, cbool),
		def(conv, "dt CDate(str value)", "Parses a date, time and optional time zone into a UTC date.", `CDate("2013-01-10 4:00 PM -8")`).
			scalarFn(nullNull, cdate),
		def(conv, "bin CGuid(str GUID)", "Converts a GUID string, with or without braces, to its 16 bytes in Windows byte order.", `CGuid("{00001111-aaaa-2222-bbbb-3333cccc4444}")`).
			scalarFn(nullNull, cguid),
		def(conv, "num CNum(var value)", "Converts to a number (decimal or &H hex text; binary as little-endian).", `CNum("42")`).
			scalarFn(nullNull, cnum),
		def(conv, "str ConvertFromBase64(str source, [enum(Unicode|ASCII|UTF8) Encoding])", "Decodes Base64 into text using Unicode (UTF-16LE, the default), ASCII or UTF8.", `ConvertFromBase64("SABlAGwAbABvACAAdwBvAHIAbABkACEA")`).
			sig("str ConvertFromBase64(str source, enum Encoding)").
			scalarFn(nullNull, convertFromBase64),
		def(conv, "str ConvertFromUTF8Hex(str source)", "Decodes hex digits of UTF-8 bytes into text.", `ConvertFromUTF8Hex("48656C6C6F20776F726C6421")`).
			scalarFn(nullNull, convertFromUTF8Hex),
		def(conv, "str ConvertToBase64(str source)", "Encodes text as Base64 of its UTF-16LE bytes; binary values are encoded as they are.", `ConvertToBase64("Hello world!")`).
			scalarFn(nullNull, convertToBase64),
		def(conv, "str ConvertToUTF8Hex(str source)", "Encodes text as upper-case hex digits of its UTF-8 bytes.", `ConvertToUTF8Hex("Hello world!")`).
			scalarFn(nullNull, convertToUTF8Hex),
		def(conv, "ref CRef(str value)", "Converts text to a reference (DN).", `CRef("CN=Joe,DC=contoso,DC=com")`).
			scalarFn(nullNull, cref),
		def(conv, "str CStr(var value)", "Converts a number, reference, boolean or date to text.", "CStr([dn])").
			sig("str CStr(num value)", "str CStr(ref value)", "str CStr(bool value)").
			fastFn(nullNull, cstr),
		def(conv, "str StringFromGuid(bin GUID)", "Converts a 16-byte binary GUID (Windows byte order) to its string form, lower-case without braces as .NET writes it.", "StringFromGuid([objectGUID])").
			scalarFn(nullNull, stringFromGuid),
		def(conv, "str StringFromSid(bin ObjectSID)", "Converts a binary security identifier to its S-1-... string form.", "StringFromSid([objectSid])").
			scalarFn(nullNull, stringFromSid),

		// Date / Time
		def(date, "dt DateAdd(str interval, num value, dt date)", "Adds a number of intervals (yyyy q m y d w ww h n s) to a date.", `DateAdd("d",7,CDate("2024-01-30"))`).
			scalarFn(nullNull, dateAdd),
		def(date, "dt DateFromNum(num value)", "Converts an AD integer date (Windows FILETIME: 100 ns ticks since 1601, UTC) to a date.", "DateFromNum([lastLogonTimestamp])").
			scalarFn(nullNull, dateFromNum),
		def(date, "str FormatDateTime(dt value, str format)", "Formats a date with a .NET custom (or standard) format string.", `FormatDateTime(CDate("12/25/2007"),"yyyy-MM-dd")`).
			scalarFn(nullNull, formatDateTime),
		def(date, "dt Now()", "The current date and time (UTC).", "Now()").
			scalarFn(nullNull, now),
		def(date, "num NumFromDate(dt value)", "Converts a date to AD's integer date format (Windows FILETIME).", `NumFromDate(CDate("2014-09-05 08:14:53"))`).
			scalarFn(nullNull, numFromDate),

		// Directory
		def(dir, "str DNComponent(ref dn, num ComponentNumber)", "The value of the Nth RDN of a DN counting from the left (1-based), as written in the DN.", "DNComponent(CRef([dn]),1)").
			scalarFn(nullNull, dnComponent),
		def(dir, "str DNComponentRev(ref dn, num ComponentNumber, [enum(DC) Options])", "The value of the Nth RDN counting from the right; with DC, dc= components are skipped.", "DNComponentRev(CRef([dn]),3)").
			sig("str DNComponentRev(ref dn, num ComponentNumber, enum Options)").
			scalarFn(nullNull, dnComponentRev),
		def(dir, "str EscapeDNComponent(str value)", "Escapes one RDN (type=value, or a bare value) by RFC 4514 so it is valid in a DN.", `EscapeDNComponent("cn=" & [displayName]) & "," & %Forest.LDAP%`).
			scalarFn(nullNull, escapeDNComponent),

		// Evaluation
		def(eval, "bool IsBitSet(num value, num flag)", "True if every bit of flag is set in value.", "IsBitSet(&HF,4)").
			scalarFn(nullNull, isBitSet),
		def(eval, "bool IsDate(var Expression)", "True if the value is a date or text CDate can read.", `IsDate("2013-01-10")`).
			scalarFn(nullFalse, isDate),
		def(eval, "bool IsEmpty(var Expression)", "True if the attribute is present but holds only empty text.", "IsEmpty([displayName])").
			predFn(isEmpty),
		def(eval, "bool IsGuid(str GUID)", "True if the text is a GUID, with or without braces (CGuid would succeed).", "IIF(IsGuid([strAttribute]),CGuid([strAttribute]),NULL)").
			scalarFn(nullFalse, isGuid),
		def(eval, "bool IsNull(var Expression)", "True if the expression is NULL; for an attribute, if it is absent.", "IsNull([displayName])").
			predFn(isNull),
		def(eval, "bool IsNullOrEmpty(var Expression)", "True if the value is NULL or empty text (the inverse of IsPresent).", "IsNullOrEmpty([displayName])").
			predFn(isNullOrEmpty),
		def(eval, "bool IsNumeric(var Expression)", "True if the value is a number or text CNum can read.", `IsNumeric("42")`).
			scalarFn(nullFalse, isNumeric),
		def(eval, "bool IsPresent(var expression)", "True if the value is neither NULL nor empty text (the inverse of IsNullOrEmpty).", "IsPresent([directManager])").
			predFn(isPresent),
		def(eval, "bool IsString(var expression)", "True if CStr would succeed: every type but binary.", "IsString([objectGUID])").
			scalarFn(nullFalse, isString),

		// Math
		def(math, "num BitAnd(num value1, num value2)", "Bitwise AND.", "BitAnd([userAccountControl],2)").
			scalarFn(nullNull, bitAnd),
		def(math, "num BitOr(num value1, num value2)", "Bitwise OR.", "BitOr([userAccountControl],2)").
			scalarFn(nullNull, bitOr),
		def(math, "num RandomNum(num start, num end)", "A random number from start to end inclusive.", "RandomNum(100,999)").
			scalarFn(nullNull, randomNum),

		// Multi-valued
		def(mv, "num Contains(mv attribute, str search, [enum(CaseInsensitive|CaseSensitive) Casetype])", "The 1-based index of the first value containing search (equal to it, for references), or 0.", `Contains([proxyAddresses],"SMTP:")`).
			sig("num Contains(mvstr attribute, str search, enum Casetype)", "num Contains(mvref attribute, str search)").
			listFn(contains),
		def(mv, "num Count(mv attribute)", "The number of values.", "Count([proxyAddresses])").
			listFn(count),
		def(mv, "var Item(mv attribute, num index)", "The value at a 1-based index; an index out of range is an error.", `Item([proxyAddresses],1)`).
			listFn(item),
		def(mv, "var ItemOrNull(mv attribute, num index)", "The value at a 1-based index, or NULL when out of range.", `ItemOrNull([proxyAddresses],2)`).
			listFn(itemOrNull),
		def(mv, "str Join(mv attribute, [str Delimiter])", "Joins the values with a delimiter (default one space; \"\" joins without one).", `Join([proxyAddresses],",")`).
			sig("str Join(mvstr attribute, str Delimiter)").
			listFn(join),
		def(mv, "mvstr RemoveDuplicates(mv attribute)", "Removes repeated values, keeping the first of each.", "RemoveDuplicates([proxyAddresses])").
			listFn(removeDuplicates),
		def(mv, "mvstr Split(str value, str delimiter, [num limit])", "Splits text on a one-character delimiter into values, at most limit of them.", `Split("SMTP:john.doe@contoso.com,smtp:jd@contoso.com",",")`).
			sig("mvstr Split(str value, str delimiter, num limit)").
			listFn(split),

		// Program flow
		def(flow, "void Error(str ErrorMessage)", "Raises a custom error on the object being synchronized.", `IIF(IsPresent([accountName]),[accountName],Error("AccountName is required"))`).
			scalarFn(nullPass, raise),
		def(flow, "var IIF(exp condition, var valueIfTrue, var valueIfFalse)", "valueIfTrue if the condition is true, else valueIfFalse; only the chosen one is evaluated.", `IIF([employeeType]="Intern","t-" & [alias],[alias])`).
			specialFn(spIIF),
		def(flow, "mv Select(variable item, mv attribute, var function)", "Applies an expression to every value, bound to $item; NULL results are dropped.", `Select($item,[otherPhone],Replace($item,"-",""))`).
			specialFn(spSelect),
		def(flow, "var Switch(exp expr1, var value1, ...)", "The value paired with the first true condition, or NULL; every condition is evaluated.", `Switch([city] = "London", "English", [city] = "Rome", "Italian", True, Error("Unknown city"))`).
			specialFn(spSwitch),
		def(flow, "mv Where(variable item, mv attribute, exp condition)", "The values for which the condition, with the value bound to $item, is true.", "Where($item,[userCertificate],CertNotAfter($item)>Now())").
			specialFn(spWhere),
		def(flow, "var With(variable variable, var subExpression, var complexExpression)", "Binds $variable to a sub-expression, evaluated once, for use in a larger expression.",
			"With($unExpiredCerts,Where($item,[userCertificate],CertNotAfter($item)>Now()),IIF(Count($unExpiredCerts)>0,$unExpiredCerts,NULL))").
			specialFn(spWith),

		// Text
		def(txt, "str Guid()", "A new random GUID as text.", "Guid()").
			scalarFn(nullNull, newGuid),
		def(txt, "num InStr(str stringcheck, str stringmatch, [num start], [enum(vbBinaryCompare|vbTextCompare) compare])", "The 1-based position of the first occurrence of stringmatch at or after start, or 0.", `InStr("The quick brown fox","quick")`).
			sig("num InStr(str stringcheck, str stringmatch, num start)", "num InStr(str stringcheck, str stringmatch, num start, enum compare)").
			scalarFn(nullNull, inStr),
		def(txt, "num InStrRev(str stringcheck, str stringmatch, [num start], [enum(vbBinaryCompare|vbTextCompare) compare])", "The 1-based position of the last occurrence of stringmatch ending at or before start, or 0.", `InStrRev("abcabc","c")`).
			sig("num InStrRev(str stringcheck, str stringmatch, num start)", "num InStrRev(str stringcheck, str stringmatch, num start, enum compare)").
			scalarFn(nullNull, inStrRev),
		def(txt, "str LCase(str value)", "Lower case.", `LCase("TeSt")`).
			fastFn(nullNull, lcase),
		def(txt, "str Left(str string, num NumChars)", "The first NumChars characters (bytes, for binary).", `Left("John Doe", 3)`).
			fastFn(nullEmpty, left),
		def(txt, "num Len(str value)", "The number of characters (bytes, for binary).", `Len("John Doe")`).
			fastFn(nullNull, length),
		def(txt, "str LTrim(str value)", "Removes leading white space.", `LTrim(" Test ")`).
			fastFn(nullNull, ltrim),
		def(txt, "str Mid(str string, num start, [num NumChars])", "NumChars characters from the 1-based start (the rest of the text when NumChars is left out).", `Mid("John Doe", 3, 5)`).
			fastFn(nullEmpty, mid),
		def(txt, "str PadLeft(str string, num length, str padCharacter)", "Pads on the left with padCharacter to length characters.", `PadLeft("User", 10, "0")`).
			scalarFn(nullEmpty, padLeft),
		def(txt, "str PadRight(str string, num length, str padCharacter)", "Pads on the right with padCharacter to length characters.", `PadRight("User", 10, "0")`).
			scalarFn(nullEmpty, padRight),
		def(txt, "str PCase(str string)", "Upper-cases the first letter of each space-delimited word and lower-cases the rest.", `PCase("TEsT")`).
			fastFn(nullNull, pcase),
		def(txt, "str Replace(str string, str OldValue, str NewValue)", "Replaces every OldValue with NewValue; \\n, \\r and \\t in them stand for LF, CR and tab.", `Replace([address],"\r\n",", ")`).
			scalarFn(nullNull, replace),
		def(txt, "str ReplaceChars(str string, str ReplacePattern)", "Replaces characters by a \"c:replacement,c:replacement\" pattern.", `ReplaceChars("Räksmörgås","Å:A,Ä:A,Ö:O,å:a,ä:a,ö:o")`).
			scalarFn(nullNull, replaceChars),
		def(txt, "str Right(str string, num NumChars)", "The last NumChars characters (bytes, for binary).", `Right("John Doe", 3)`).
			fastFn(nullEmpty, right),
		def(txt, "str RTrim(str value)", "Removes trailing white space.", `RTrim(" Test ")`).
			fastFn(nullNull, rtrim),
		def(txt, "str Trim(str value)", "Removes leading and trailing white space.", `Trim(" Test ")`).
			fastFn(nullNull, trim),
		def(txt, "str UCase(str string)", "Upper case.", `UCase("TeSt")`).
			fastFn(nullNull, ucase),
		def(txt, "str Word(str string, num WordNumber, str delimiters)", "The Nth word, words being separated by any of the delimiter characters.", `Word("The quick brown fox",3," ")`).
			scalarFn(nullEmpty, word),

		// Undocumented, used by the default rules.
		def(und, "var ImportedValue(str attributeName)", "The attribute's values as last imported from the connected system, not the pending export.", `ImportedValue("proxyAddresses")`).
			specialFn(spImported),
		def(und, "num ValueCount(str attributeName)", "The number of values of the attribute.", `ValueCount("member")`).
			specialFn(spValueCount),
		def(und, "bin CBin(num value, num bytes)", "The number as a binary value of the given number of bytes (1 to 8), little-endian.", "CBin(2,1)").
			scalarFn(nullNull, cbin),
		def(und, "bin Thumbprint(bin value)", "The SHA-256 hash of the bytes, as binary (the KeyHash of a key credential).", "Thumbprint([searchableDeviceKey])").
			scalarFn(nullNull, thumbprint),
	}
}

func argText(fn string, a []idsync.Value, i int) (string, error) {
	return text(fn, a[i])
}

func argNum(fn string, a []idsync.Value, i int) (int64, error) {
	return toNum(fn, a[i])
}

func errf(fn, format string, args ...any) (idsync.Value, error) {
	return idsync.Value{}, evalErr(fn, format, args...)
}
