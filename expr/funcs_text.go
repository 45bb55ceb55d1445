package expr

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/idsync/idsync"
)

// Text functions count characters (Unicode code points), 1-based as in
// VBA. Left, Right, Mid and Len count bytes of binary values, which the
// default device rules rely on.

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// runeSlice returns the characters [from, to) of s (0-based, clamped).
func runeSlice(s string, from, to int) string {
	if isASCII(s) {
		from, to = min(max(from, 0), len(s)), min(max(to, 0), len(s))
		if from >= to {
			return ""
		}
		return s[from:to]
	}
	r := []rune(s)
	from, to = min(max(from, 0), len(r)), min(max(to, 0), len(r))
	if from >= to {
		return ""
	}
	return string(r[from:to])
}

func charLen(s string) int {
	if isASCII(s) {
		return len(s)
	}
	return utf8.RuneCountInString(s)
}

// sliceable is text or binary, for Left, Right, Mid and Len.
func sliceable(fn string, v idsync.Value) (s string, b []byte, isBin bool, err error) {
	if v.Type == typeBinary {
		return "", v.Bin, true, nil
	}
	s, err = text(fn, v)
	return s, nil, false, err
}

func cut(r *idsync.Value, s string, b []byte, isBin bool, from, to int) {
	if isBin {
		from, to = min(max(from, 0), len(b)), min(max(to, 0), len(b))
		r.Type = typeBinary
		if from >= to {
			r.Bin = []byte{}
			return
		}
		r.Bin = b[from:to]
		return
	}
	r.Type, r.Str = typeString, runeSlice(s, from, to)
}

func left(_ *frame, a []idsync.Value, r *idsync.Value) error {
	s, b, isBin, err := sliceable("Left", a[0])
	if err != nil {
		return err
	}
	n, err := argNum("Left", a, 1)
	if err != nil {
		return err
	}
	if n < 0 { // the reference: NumChars < 0 returns the input
		*r = a[0]
		return nil
	}
	cut(r, s, b, isBin, 0, int(min(n, 1<<31)))
	return nil
}

func right(_ *frame, a []idsync.Value, r *idsync.Value) error {
	s, b, isBin, err := sliceable("Right", a[0])
	if err != nil {
		return err
	}
	n, err := argNum("Right", a, 1)
	if err != nil {
		return err
	}
	if n < 0 {
		*r = a[0]
		return nil
	}
	size := len(b)
	if !isBin {
		size = charLen(s)
	}
	cut(r, s, b, isBin, size-int(min(n, int64(size))), size)
	return nil
}

// mid follows the reference's remarks: NumChars 0 gives "", a negative
// NumChars, a start past the end or a start below 1 give the input. The
// reference documents only the three-argument form, but its own Item
// example calls Mid(x, 6); two arguments return the rest of the text.
func mid(_ *frame, a []idsync.Value, r *idsync.Value) error {
	s, b, isBin, err := sliceable("Mid", a[0])
	if err != nil {
		return err
	}
	start, err := argNum("Mid", a, 1)
	if err != nil {
		return err
	}
	size := len(b)
	if !isBin {
		size = charLen(s)
	}
	n := int64(size)
	if len(a) > 2 {
		if n, err = argNum("Mid", a, 2); err != nil {
			return err
		}
	}
	switch {
	case n == 0:
		cut(r, s, b, isBin, 0, 0)
		return nil
	case n < 0, start < 1, start > int64(size):
		*r = a[0]
		return nil
	}
	from := int(start - 1)
	cut(r, s, b, isBin, from, from+int(min(n, int64(size))))
	return nil
}

func length(_ *frame, a []idsync.Value, r *idsync.Value) error {
	s, b, isBin, err := sliceable("Len", a[0])
	if err != nil {
		return err
	}
	r.Type, r.Int = typeInteger, int64(len(b))
	if !isBin {
		r.Int = int64(charLen(s))
	}
	return nil
}

func stringFunc(name string, f func(string) string) func(*frame, []idsync.Value, *idsync.Value) error {
	return func(_ *frame, a []idsync.Value, r *idsync.Value) error {
		if a[0].Type == typeString {
			r.Type, r.Str = typeString, f(a[0].Str)
			return nil
		}
		s, err := text(name, a[0])
		if err != nil {
			return err
		}
		r.Type, r.Str = typeString, f(s)
		return nil
	}
}

// Trim, LTrim and RTrim remove Unicode white space (as .NET's Trim does),
// not only spaces.
var (
	trim  = stringFunc("Trim", strings.TrimSpace)
	ltrim = stringFunc("LTrim", func(s string) string { return strings.TrimLeftFunc(s, unicode.IsSpace) })
	rtrim = stringFunc("RTrim", func(s string) string { return strings.TrimRightFunc(s, unicode.IsSpace) })
	lcase = stringFunc("LCase", toLower)
	ucase = stringFunc("UCase", toUpper)
	pcase = stringFunc("PCase", properCase)
)

// properCase upper-cases the first letter of each space-delimited word and
// lower-cases the rest, so acronyms lose their capitals, as the reference
// warns.
func properCase(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	first := true
	for _, r := range s {
		if unicode.IsSpace(r) {
			first = true
			b.WriteRune(r)
			continue
		}
		if first {
			b.WriteRune(unicode.ToTitle(r))
		} else {
			b.WriteRune(unicode.ToLower(r))
		}
		first = false
	}
	return b.String()
}

func textCompare(fn string, a []idsync.Value, i int) (bool, error) {
	if i >= len(a) {
		return false, nil
	}
	s, err := text(fn, a[i])
	if err != nil {
		return false, err
	}
	switch s {
	case "vbTextCompare":
		return true, nil
	case "vbBinaryCompare":
		return false, nil
	}
	return false, evalErr(fn, "compare must be vbBinaryCompare or vbTextCompare, got %q", s)
}

func runeEq(fold bool) func(a, b rune) bool {
	if !fold {
		return func(a, b rune) bool { return a == b }
	}
	return func(a, b rune) bool { return a == b || unicode.ToLower(a) == unicode.ToLower(b) }
}

// matchAt reports whether m occurs in s at index i.
func matchAt(s, m []rune, i int, eq func(a, b rune) bool) bool {
	if i < 0 || i+len(m) > len(s) {
		return false
	}
	for j, r := range m {
		if !eq(s[i+j], r) {
			return false
		}
	}
	return true
}

func inStrArgs(fn string, a []idsync.Value) (s, m string, start int64, fold bool, err error) {
	if s, err = argText(fn, a, 0); err != nil {
		return
	}
	if m, err = argText(fn, a, 1); err != nil {
		return
	}
	start = -1
	if len(a) > 2 && !a[2].IsZero() {
		if start, err = argNum(fn, a, 2); err != nil {
			return
		}
	}
	fold, err = textCompare(fn, a, 3)
	return
}

// inStr is VBA's InStr: the 1-based position of m in s at or after start,
// 0 if absent; an empty m is found at start.
func inStr(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, m, start, fold, err := inStrArgs("InStr", a)
	if err != nil {
		return idsync.Value{}, err
	}
	if start == -1 {
		start = 1
	}
	if start < 1 {
		return errf("InStr", "start must be 1 or more, got %d", start)
	}
	if !fold && isASCII(s) {
		if start > int64(len(s)) {
			if m == "" && start == int64(len(s))+1 {
				return intVal(start), nil
			}
			return intVal(0), nil
		}
		i := strings.Index(s[start-1:], m)
		if i < 0 {
			return intVal(0), nil
		}
		return intVal(int64(i) + start), nil
	}
	rs, rm := []rune(s), []rune(m)
	eq := runeEq(fold)
	for i := int(start - 1); i+len(rm) <= len(rs); i++ {
		if matchAt(rs, rm, i, eq) {
			return intVal(int64(i + 1)), nil
		}
	}
	return intVal(0), nil
}

// inStrRev is VBA's InStrRev: the 1-based position of the last m in s that
// ends at or before start (-1, the default, is the end of s).
func inStrRev(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, m, start, fold, err := inStrArgs("InStrRev", a)
	if err != nil {
		return idsync.Value{}, err
	}
	rs, rm := []rune(s), []rune(m)
	if start == -1 {
		if len(rs) == 0 {
			return intVal(0), nil
		}
		start = int64(len(rs))
	}
	if start < 1 {
		return errf("InStrRev", "start must be 1 or more (or -1), got %d", start)
	}
	if start > int64(len(rs)) {
		return intVal(0), nil
	}
	eq := runeEq(fold)
	for i := int(start) - len(rm); i >= 0; i-- {
		if matchAt(rs, rm, i, eq) {
			return intVal(int64(i + 1)), nil
		}
	}
	return intVal(0), nil
}

func pad(fn string, a []idsync.Value, leftSide bool) (idsync.Value, error) {
	s, err := argText(fn, a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	n, err := argNum(fn, a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	p, err := argText(fn, a, 2)
	if err != nil {
		return idsync.Value{}, err
	}
	if p == "" {
		return errf(fn, "padCharacter must be one character, got an empty string")
	}
	r, _ := utf8.DecodeRuneInString(p)
	have := charLen(s)
	if n > 1<<20 {
		return errf(fn, "length %d is too large", n)
	}
	if int64(have) >= n {
		return strVal(s), nil
	}
	fill := strings.Repeat(string(r), int(n)-have)
	if leftSide {
		return strVal(fill + s), nil
	}
	return strVal(s + fill), nil
}

func padLeft(_ *frame, a []idsync.Value) (idsync.Value, error)  { return pad("PadLeft", a, true) }
func padRight(_ *frame, a []idsync.Value) (idsync.Value, error) { return pad("PadRight", a, false) }

var monikers = strings.NewReplacer(`\n`, "\n", `\r`, "\r", `\t`, "\t")

// replace understands the \n, \r and \t monikers in OldValue and NewValue
// (string constants already decode them; values from attributes and
// parameters may still hold them).
func replace(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := argText("Replace", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	old, err := argText("Replace", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	repl, err := argText("Replace", a, 2)
	if err != nil {
		return idsync.Value{}, err
	}
	old, repl = monikers.Replace(old), monikers.Replace(repl)
	if old == "" {
		return strVal(s), nil
	}
	return strVal(strings.ReplaceAll(s, old, repl)), nil
}

// replaceChars applies a "c:target,c:target" pattern: each source is one
// character (case-sensitive), a target may be empty or several characters,
// and white space in the pattern is ignored. A pair without a colon is an
// error. (The reference page's own example pattern has a typo, "ö,o" for
// "ö:o".)
func replaceChars(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := argText("ReplaceChars", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	pat, err := argText("ReplaceChars", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	pat = strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return r
	}, pat)
	m := make(map[rune]string)
	if pat != "" {
		for _, pair := range strings.Split(pat, ",") {
			src, dst, ok := strings.Cut(pair, ":")
			if !ok || utf8.RuneCountInString(src) != 1 {
				return errf("ReplaceChars", "malformed pair %q in the pattern (want c:replacement)", pair)
			}
			r, _ := utf8.DecodeRuneInString(src)
			m[r] = dst
		}
	}
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		if dst, ok := m[r]; ok {
			b.WriteString(dst)
		} else {
			b.WriteRune(r)
		}
	}
	return strVal(b.String()), nil
}

// word returns the Nth word; words are the non-empty runs between
// delimiter characters. WordNumber < 1 or too few words give "".
func word(_ *frame, a []idsync.Value) (idsync.Value, error) {
	s, err := argText("Word", a, 0)
	if err != nil {
		return idsync.Value{}, err
	}
	n, err := argNum("Word", a, 1)
	if err != nil {
		return idsync.Value{}, err
	}
	d, err := argText("Word", a, 2)
	if err != nil {
		return idsync.Value{}, err
	}
	if n < 1 {
		return strVal(""), nil
	}
	i := int64(0)
	for w := range strings.FieldsFuncSeq(s, func(r rune) bool { return strings.ContainsRune(d, r) }) {
		i++
		if i == n {
			return strVal(w), nil
		}
	}
	return strVal(""), nil
}

func newGuid(f *frame, _ []idsync.Value) (idsync.Value, error) {
	var b [16]byte
	x, y := f.rand(), f.rand()
	for i := range 8 {
		b[i] = byte(x >> (8 * i))
		b[8+i] = byte(y >> (8 * i))
	}
	b[6] = b[6]&0x0f | 0x40 // version 4
	b[8] = b[8]&0x3f | 0x80 // RFC 4122 variant
	return strVal(formatGuidBE(b[:])), nil
}

// toUpper and toLower avoid allocating for short ASCII text: a one-byte
// result comes from the runtime's static table and an unchanged text is
// returned as it is.
func toUpper(s string) string { return asciiCase(s, 'a', 'z', strings.ToUpper) }
func toLower(s string) string { return asciiCase(s, 'A', 'Z', strings.ToLower) }

func asciiCase(s string, lo, hi byte, slow func(string) string) string {
	if len(s) > 64 || !isASCII(s) {
		return slow(s)
	}
	var buf [64]byte
	changed := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= lo && c <= hi {
			c ^= 0x20
			changed = true
		}
		buf[i] = c
	}
	if !changed {
		return s
	}
	return string(buf[:len(s)])
}
