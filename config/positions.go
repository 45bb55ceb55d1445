package config

import (
	"bytes"
	"strconv"
	"unicode/utf8"

	"gopkg.in/yaml.v3"
)

// positions remembers where each part of a loaded configuration was
// written, so that Validate (which works on the decoded values and may run
// again after a change) can still name file:line:column. Keys are the
// decoded object (a *Connector, an *idsync.SyncRule, the metaverse
// *idsync.Schema, the *Config) and a dotted path inside it
// ("flows.2.target"); "" is the object's own mapping.
type positions struct {
	at    map[posKey]Pos
	exprs map[exprKey]exprSource
}

type posKey struct {
	obj  any
	path string
}

type exprKey struct {
	rule any
	flow int
}

// exprSource maps each character of an expression scalar to its place in
// the file: pos[i] is where rune i is written, pos[len] just after the last.
type exprSource struct {
	text string
	pos  []Pos
}

func newPositions() *positions {
	return &positions{at: map[posKey]Pos{}, exprs: map[exprKey]exprSource{}}
}

func (p *positions) set(obj any, path string, pos Pos) {
	if p != nil && !pos.IsZero() {
		p.at[posKey{obj, path}] = pos
	}
}

func (p *positions) get(obj any, path string) (Pos, bool) {
	if p == nil {
		return Pos{}, false
	}
	pos, ok := p.at[posKey{obj, path}]
	return pos, ok
}

func (p *positions) setExpr(rule any, flow int, text string, pos []Pos) {
	if p != nil && pos != nil {
		p.exprs[exprKey{rule, flow}] = exprSource{text: text, pos: pos}
	}
}

// exprPos returns where line:col (1-based, in characters) of the
// expression of a flow is in the file, or false.
func (p *positions) exprPos(rule any, flow int, text string, line, col int) (Pos, bool) {
	if p == nil {
		return Pos{}, false
	}
	es, ok := p.exprs[exprKey{rule, flow}]
	if !ok || es.text != text || len(es.pos) == 0 {
		return Pos{}, false
	}
	// Find the rune index of line:col in text.
	idx, l := 0, 1
	for _, r := range text {
		if l == line {
			break
		}
		idx++
		if r == '\n' {
			l++
		}
	}
	idx += max(col-1, 0)
	if idx >= len(es.pos) {
		idx = len(es.pos) - 1
	}
	return es.pos[idx], true
}

// exprPositions maps every character of scalar n's value to its position
// in the file by walking the source text alongside the value: quotes,
// escapes, folded line breaks and indentation are skipped. It returns nil
// when the node cannot be located.
func exprPositions(s *source, n *yaml.Node) []Pos {
	data := s.data
	if n.Line < 1 || n.Column < 1 {
		return nil
	}
	// Byte offset of the node's line.
	off := 0
	for l := 1; l < n.Line; l++ {
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return nil
		}
		off += i + 1
	}
	line, col := n.Line, 1
	for col < n.Column && off < len(data) && data[off] != '\n' {
		_, w := utf8.DecodeRune(data[off:])
		off += w
		col++
	}
	dq := false
	switch {
	case n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0:
		// Content starts on the line after the indicator.
		i := bytes.IndexByte(data[off:], '\n')
		if i < 0 {
			return nil
		}
		off += i + 1
		line, col = line+1, 1
	case n.Style&yaml.DoubleQuotedStyle != 0:
		off++
		col++
		dq = true
	case n.Style&yaml.SingleQuotedStyle != 0:
		off++
		col++
	}
	value := n.Value
	out := make([]Pos, 0, utf8.RuneCountInString(value)+1)
	last := Pos{File: s.name, Line: line, Col: col - 1}
	advance := func(r rune, w int) {
		off += w
		if r == '\n' {
			line, col = line+1, 1
		} else {
			col++
		}
	}
	for _, v := range value {
		matched := false
		for off < len(data) && !matched {
			r, w := utf8.DecodeRune(data[off:])
			here := Pos{File: s.name, Line: line, Col: col}
			if dq && r == '\\' {
				dec, n, fold := unescape(data[off:])
				if fold {
					// An escaped line break: skip it; it stands for nothing.
					for k := 0; k < n; {
						r2, w2 := utf8.DecodeRune(data[off:])
						advance(r2, w2)
						k += w2
					}
					continue
				}
				for k := 0; k < n; {
					r2, w2 := utf8.DecodeRune(data[off:])
					advance(r2, w2)
					k += w2
				}
				if dec == v {
					out = append(out, here)
					last, matched = here, true
				}
				continue
			}
			advance(r, w)
			if r == v {
				out = append(out, here)
				last, matched = here, true
			}
		}
		if !matched {
			out = append(out, Pos{File: s.name, Line: last.Line, Col: last.Col + 1})
		}
	}
	out = append(out, Pos{File: s.name, Line: last.Line, Col: last.Col + 1})
	return out
}

// unescape decodes the double-quoted escape at the start of b (b[0] is
// '\\'), returning the rune it stands for and its length in bytes; fold
// reports an escaped line break.
func unescape(b []byte) (r rune, n int, fold bool) {
	if len(b) < 2 {
		return '\\', 1, false
	}
	simple := map[byte]rune{
		'0': 0, 'a': 7, 'b': 8, 't': 9, '\t': 9, 'n': 10, 'v': 11, 'f': 12, 'r': 13, 'e': 0x1b,
		' ': ' ', '"': '"', '/': '/', '\\': '\\', 'N': 0x85, '_': 0xA0, 'L': 0x2028, 'P': 0x2029,
	}
	if x, ok := simple[b[1]]; ok {
		return x, 2, false
	}
	hex := map[byte]int{'x': 2, 'u': 4, 'U': 8}
	if k, ok := hex[b[1]]; ok && len(b) >= 2+k {
		v, err := strconv.ParseUint(string(b[2:2+k]), 16, 32)
		if err == nil {
			return rune(v), 2 + k, false
		}
	}
	if b[1] == '\n' || b[1] == '\r' {
		n := 2
		if b[1] == '\r' && len(b) > 2 && b[2] == '\n' {
			n = 3
		}
		// The indentation of the next line goes too.
		for n < len(b) && (b[n] == ' ' || b[n] == '\t') {
			n++
		}
		return 0, n, true
	}
	return '\\', 1, false
}
