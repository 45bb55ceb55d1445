package script

// validJSON reports whether doc is one valid JSON value, accepting
// exactly what encoding/json.Valid accepts (FuzzValidJSON checks it),
// including its nesting limit, but in tight loops instead of a state
// machine called per byte: every importData page is validated whole, and
// json.Valid was a fifth of the connector's CPU time. On failure the
// caller asks encoding/json for the error and its offset.
func validJSON[T ~string | ~[]byte](doc T) bool {
	return validJSONExcept(doc, -1, -1)
}

// validJSONExcept is validJSON of doc with doc[from:to] taken as a valid
// value (checked before by validValue) when a value starts at from.
func validJSONExcept[T ~string | ~[]byte](doc T, from, to int) bool {
	v := validator[T]{b: doc, skipFrom: from, skipTo: to}
	v.ws()
	if !v.value() {
		return false
	}
	v.ws()
	return v.i == len(v.b)
}

// validValue checks the one value at doc[i:] (after space), nested depth
// deep in the document, and returns where it ends and, for an object or
// array, the commas directly inside it (its members or elements less one).
func validValue[T ~string | ~[]byte](doc T, i, depth int) (end, commas int, ok bool) {
	v := validator[T]{b: doc, i: i, depth: depth, skipFrom: -1}
	v.ws()
	if !v.value() {
		return 0, 0, false
	}
	return v.i, v.commas, true
}

// maxDepth is encoding/json's nesting limit.
const maxDepth = 10000

type validator[T ~string | ~[]byte] struct {
	b     T
	i     int
	depth int // of the value read, in the document
	// commas counts the commas directly inside the outermost object or array.
	commas int
	// skipFrom and skipTo, when a value starts at skipFrom, are a value
	// already checked.
	skipFrom, skipTo int
}

func (v *validator[T]) ws() {
	if v.i < len(v.b) && v.b[v.i] > ' ' { // no space, the most common case
		return
	}
	for v.i < len(v.b) {
		switch v.b[v.i] {
		case ' ', '\t', '\n', '\r':
			v.i++
		default:
			return
		}
	}
}

// value reads one value: objects and arrays iteratively, with their
// kinds on a stack (true for an object).
func (v *validator[T]) value() bool {
	var stack []bool
	for {
		// A value starts here.
		if v.i >= len(v.b) {
			return false
		}
		switch c := v.b[v.i]; {
		case v.i == v.skipFrom:
			v.i = v.skipTo
		case c == '{' || c == '[':
			if v.depth+len(stack) >= maxDepth { // counted before looking inside, as encoding/json does
				return false
			}
			v.i++
			v.ws()
			if v.i < len(v.b) && v.b[v.i] == c+2 { // '}' is '{'+2, ']' is '['+2
				v.i++
				break
			}
			stack = append(stack, c == '{')
			if c == '{' && !v.key() {
				return false
			}
			v.ws()
			continue
		case c == '"':
			if !v.str() {
				return false
			}
		case c == 't':
			if !v.lit("true") {
				return false
			}
		case c == 'f':
			if !v.lit("false") {
				return false
			}
		case c == 'n':
			if !v.lit("null") {
				return false
			}
		default:
			if !v.num() {
				return false
			}
		}
		// A value ended: close what it ends, or go on to the next one.
		for {
			if len(stack) == 0 {
				return true
			}
			v.ws()
			if v.i >= len(v.b) {
				return false
			}
			obj := stack[len(stack)-1]
			switch c := v.b[v.i]; {
			case c == ',':
				if len(stack) == 1 {
					v.commas++
				}
				v.i++
				v.ws()
				if obj && !v.key() {
					return false
				}
				v.ws()
			case obj && c == '}' || !obj && c == ']':
				v.i++
				stack = stack[:len(stack)-1]
				continue
			default:
				return false
			}
			break
		}
	}
}

// key reads a member name and its colon.
func (v *validator[T]) key() bool {
	if v.i >= len(v.b) || v.b[v.i] != '"' || !v.str() {
		return false
	}
	v.ws()
	if v.i >= len(v.b) || v.b[v.i] != ':' {
		return false
	}
	v.i++
	v.ws()
	return true
}

// str reads a string: no control characters, only JSON's escapes. Like
// encoding/json it does not check UTF-8 (invalid bytes decode as U+FFFD).
func (v *validator[T]) str() bool {
	i := v.i + 1
	b := v.b
	for {
		// Eight bytes at a time while none is a quote, a backslash or a
		// control character, then byte by byte.
		for i+8 <= len(b) {
			w := uint64(b[i]) | uint64(b[i+1])<<8 | uint64(b[i+2])<<16 | uint64(b[i+3])<<24 |
				uint64(b[i+4])<<32 | uint64(b[i+5])<<40 | uint64(b[i+6])<<48 | uint64(b[i+7])<<56
			if hasLess(w, 0x20)|hasZero(w^(ones*'"'))|hasZero(w^(ones*'\\')) != 0 {
				break
			}
			i += 8
		}
		for i < len(b) {
			if c := b[i]; c < 0x20 || c == '"' || c == '\\' {
				break
			}
			i++
		}
		if i >= len(v.b) {
			return false
		}
		switch v.b[i] {
		case '"':
			v.i = i + 1
			return true
		case '\\':
			if i+1 >= len(v.b) {
				return false
			}
			switch v.b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(v.b) {
					return false
				}
				for j := i + 2; j < i+6; j++ {
					if !isHex(v.b[j]) {
						return false
					}
				}
				i += 6
			default:
				return false
			}
		default: // a control character
			return false
		}
	}
}

const ones = 0x0101010101010101

// hasZero reports whether a byte of w is zero; hasLess whether one is
// less than n (n <= 128).
func hasZero(w uint64) uint64    { return (w - ones) &^ w & (ones * 0x80) }
func hasLess(w, n uint64) uint64 { return (w - ones*n) &^ w & (ones * 0x80) }

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func (v *validator[T]) lit(word string) bool {
	if len(v.b)-v.i < len(word) {
		return false
	}
	for j := range len(word) {
		if v.b[v.i+j] != word[j] {
			return false
		}
	}
	v.i += len(word)
	return true
}

// num reads -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
func (v *validator[T]) num() bool {
	i := v.i
	if i < len(v.b) && v.b[i] == '-' {
		i++
	}
	digits := func() bool {
		start := i
		for i < len(v.b) && '0' <= v.b[i] && v.b[i] <= '9' {
			i++
		}
		return i > start
	}
	switch {
	case i < len(v.b) && v.b[i] == '0':
		i++
	case i < len(v.b) && '1' <= v.b[i] && v.b[i] <= '9':
		digits()
	default:
		return false
	}
	if i < len(v.b) && v.b[i] == '.' {
		i++
		if !digits() {
			return false
		}
	}
	if i < len(v.b) && (v.b[i] == 'e' || v.b[i] == 'E') {
		i++
		if i < len(v.b) && (v.b[i] == '+' || v.b[i] == '-') {
			i++
		}
		if !digits() {
			return false
		}
	}
	v.i = i
	return true
}
