package expr

import (
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

type tokKind uint8

const (
	tEOF    tokKind = iota
	tAttr           // [name]
	tParam          // %Name.Part%
	tString         // "text"
	tNumber         // 42, &HFF
	tIdent          // IIF, True, vbTextCompare
	tVar            // $item
	tLParen
	tRParen
	tComma
	// Operators. They all share one priority unless Options.Precedence says otherwise.
	tEq    // =
	tNe    // <>
	tLt    // <
	tLe    // <=
	tGt    // >
	tGe    // >=
	tPlus  // +
	tMinus // -
	tStar  // *
	tSlash // /
	tAmp   // &
	tAnd   // &&
	tOr    // ||
)

var tokText = [...]string{
	tEOF: "end of expression", tAttr: "attribute", tParam: "parameter", tString: "string",
	tNumber: "number", tIdent: "identifier", tVar: "variable", tLParen: "(", tRParen: ")",
	tComma: ",", tEq: "=", tNe: "<>", tLt: "<", tLe: "<=", tGt: ">", tGe: ">=", tPlus: "+",
	tMinus: "-", tStar: "*", tSlash: "/", tAmp: "&", tAnd: "&&", tOr: "||",
}

func (k tokKind) String() string { return tokText[k] }

func (k tokKind) isOperator() bool { return k >= tEq }

type token struct {
	kind tokKind
	off  int    // byte offset of the first character
	text string // name for tAttr, tParam, tIdent, tVar; decoded text for tString
	num  int64  // value for tNumber
}

// scanner splits an expression into tokens. Whitespace, including
// newlines, may appear between any two tokens.
type scanner struct {
	src  string
	off  int
	prev tokKind // kind of the previous token, to tell "&H1F" from "& H"
}

func (s *scanner) errorf(off int, format string, args ...any) *Error {
	return newError(s.src, off, format, args...)
}

// operandEnd reports whether k can end an operand, so that a following
// "&" is the concatenation operator rather than the start of a hex number.
func operandEnd(k tokKind) bool {
	switch k {
	case tAttr, tParam, tString, tNumber, tIdent, tVar, tRParen:
		return true
	}
	return false
}

func (s *scanner) next() (token, *Error) {
	t, err := s.scan()
	if err == nil {
		s.prev = t.kind
	}
	return t, err
}

func (s *scanner) scan() (token, *Error) {
	src := s.src
	for s.off < len(src) {
		c := src[s.off]
		if c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v' {
			s.off++
			continue
		}
		if c >= utf8.RuneSelf {
			r, n := utf8.DecodeRuneInString(src[s.off:])
			if unicode.IsSpace(r) {
				s.off += n
				continue
			}
		}
		break
	}
	start := s.off
	if s.off >= len(src) {
		return token{kind: tEOF, off: start}, nil
	}
	c := src[s.off]
	one := func(k tokKind) (token, *Error) { s.off++; return token{kind: k, off: start}, nil }
	two := func(k tokKind) (token, *Error) { s.off += 2; return token{kind: k, off: start}, nil }
	peek := byte(0)
	if s.off+1 < len(src) {
		peek = src[s.off+1]
	}
	switch c {
	case '(':
		return one(tLParen)
	case ')':
		return one(tRParen)
	case ',':
		return one(tComma)
	case '=':
		return one(tEq)
	case '+':
		return one(tPlus)
	case '-':
		return one(tMinus)
	case '*':
		return one(tStar)
	case '/':
		return one(tSlash)
	case '<':
		switch peek {
		case '>':
			return two(tNe)
		case '=':
			return two(tLe)
		}
		return one(tLt)
	case '>':
		if peek == '=' {
			return two(tGe)
		}
		return one(tGt)
	case '|':
		if peek == '|' {
			return two(tOr)
		}
		return token{}, s.errorf(start, "unexpected %q (the or operator is ||)", "|")
	case '&':
		if peek == '&' {
			return two(tAnd)
		}
		if (peek == 'H' || peek == 'h') && !operandEnd(s.prev) {
			return s.hex()
		}
		return one(tAmp)
	case '[':
		end := strings.IndexAny(src[s.off+1:], "]\n")
		if end < 0 || src[s.off+1+end] != ']' {
			return token{}, s.errorf(start, "unterminated attribute name (missing ])")
		}
		name := src[s.off+1 : s.off+1+end]
		if strings.TrimSpace(name) == "" {
			return token{}, s.errorf(start, "empty attribute name")
		}
		s.off += end + 2
		return token{kind: tAttr, off: start, text: name}, nil
	case '%':
		i := s.off + 1
		for i < len(src) && isParamChar(src[i]) {
			i++
		}
		if i >= len(src) || src[i] != '%' {
			return token{}, s.errorf(start, "unterminated parameter (want %%Name%%)")
		}
		if i == s.off+1 {
			return token{}, s.errorf(start, "empty parameter name")
		}
		s.off = i + 1
		return token{kind: tParam, off: start, text: src[start+1 : i]}, nil
	case '"':
		return s.str()
	case '$':
		i := s.off + 1
		for i < len(src) && isIdentChar(src[i]) {
			i++
		}
		if i == s.off+1 {
			return token{}, s.errorf(start, "missing variable name after $")
		}
		s.off = i
		return token{kind: tVar, off: start, text: src[start+1 : i]}, nil
	}
	if c >= '0' && c <= '9' {
		i := s.off
		for i < len(src) && src[i] >= '0' && src[i] <= '9' {
			i++
		}
		if i < len(src) && src[i] == '.' && i+1 < len(src) && src[i+1] >= '0' && src[i+1] <= '9' {
			return token{}, s.errorf(start, "fractional numbers are not supported (numbers are 64-bit integers)")
		}
		if i < len(src) && isIdentChar(src[i]) {
			return token{}, s.errorf(start, "malformed number %q", src[start:i+1])
		}
		n, err := strconv.ParseInt(src[start:i], 10, 64)
		if err != nil {
			return token{}, s.errorf(start, "number %s is out of range", src[start:i])
		}
		s.off = i
		return token{kind: tNumber, off: start, num: n}, nil
	}
	if isIdentStart(c) {
		i := s.off
		for i < len(src) && isIdentChar(src[i]) {
			i++
		}
		s.off = i
		return token{kind: tIdent, off: start, text: src[start:i]}, nil
	}
	r, _ := utf8.DecodeRuneInString(src[s.off:])
	switch r {
	case '“', '”', '„', '‟', '″':
		return token{}, s.errorf(start, "smart quote %q is not allowed: use straight double quotes", r)
	}
	return token{}, s.errorf(start, "unexpected character %q", r)
}

// hex scans &Hxxxx. Up to 16 hex digits; the digits are the two's
// complement bits of a 64-bit integer.
func (s *scanner) hex() (token, *Error) {
	start := s.off
	i := s.off + 2
	for i < len(s.src) && isHexDigit(s.src[i]) {
		i++
	}
	if i == s.off+2 {
		return token{}, s.errorf(start, "missing hex digits after &H")
	}
	if i < len(s.src) && isIdentChar(s.src[i]) {
		return token{}, s.errorf(start, "malformed hex number %q", s.src[start:i+1])
	}
	u, err := strconv.ParseUint(s.src[start+2:i], 16, 64)
	if err != nil {
		return token{}, s.errorf(start, "hex number %s is out of range", s.src[start:i])
	}
	s.off = i
	return token{kind: tNumber, off: start, num: int64(u)}, nil
}

// str scans a double-quoted string. Inside it, "" stands for one quote
// (as in VBA) and the backslash sequences \\, \n, \r and \t stand for a
// backslash, LF, CR and tab; any other backslash is kept as written, so
// DN text such as "CN=a\,b" needs no doubling.
func (s *scanner) str() (token, *Error) {
	start := s.off
	src := s.src
	i := s.off + 1
	var b []byte // nil until the text needs decoding
	from := i
	for {
		if i >= len(src) {
			return token{}, s.errorf(start, "unterminated string (missing closing \")")
		}
		c := src[i]
		if c == '"' {
			if i+1 < len(src) && src[i+1] == '"' {
				b = append(append(b, src[from:i]...), '"')
				i += 2
				from = i
				continue
			}
			break
		}
		if c == '\\' && i+1 < len(src) {
			var r byte
			switch src[i+1] {
			case '\\':
				r = '\\'
			case 'n':
				r = '\n'
			case 'r':
				r = '\r'
			case 't':
				r = '\t'
			}
			if r != 0 {
				b = append(append(b, src[from:i]...), r)
				i += 2
				from = i
				continue
			}
		}
		i++
	}
	text := src[from:i]
	if b != nil {
		text = string(append(b, text...))
	}
	s.off = i + 1
	return token{kind: tString, off: start, text: text}, nil
}

func isIdentStart(c byte) bool { return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }
func isIdentChar(c byte) bool  { return isIdentStart(c) || c >= '0' && c <= '9' }
func isParamChar(c byte) bool  { return isIdentChar(c) || c == '.' || c == '-' }
func isHexDigit(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
