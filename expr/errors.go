package expr

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Error is a syntax or check error found by Compile. Line and Col are
// 1-based; Col counts characters (runes), not bytes.
type Error struct {
	Line, Col int
	Msg       string
	Src       string // the whole source of the expression
}

// Error returns "line:col: msg".
func (e *Error) Error() string { return fmt.Sprintf("%d:%d: %s", e.Line, e.Col, e.Msg) }

// Excerpt returns the source line holding the error and, under it, a caret
// pointing at the column:
//
//	IIF(IsPresent([givenName],Trim([givenName]),NULL
//	                                                ^
func (e *Error) Excerpt() string {
	lines := strings.Split(e.Src, "\n")
	if e.Line < 1 || e.Line > len(lines) {
		return ""
	}
	line := strings.TrimRight(lines[e.Line-1], "\r")
	var b strings.Builder
	b.WriteString(strings.ReplaceAll(line, "\t", " "))
	b.WriteByte('\n')
	b.WriteString(strings.Repeat(" ", max(e.Col-1, 0)))
	b.WriteByte('^')
	return b.String()
}

// newError returns an *Error at byte offset off of src.
func newError(src string, off int, format string, args ...any) *Error {
	line, col := position(src, off)
	return &Error{Line: line, Col: col, Msg: fmt.Sprintf(format, args...), Src: src}
}

// position converts a byte offset into a 1-based line and rune column.
func position(src string, off int) (line, col int) {
	off = min(max(off, 0), len(src))
	line = 1 + strings.Count(src[:off], "\n")
	start := strings.LastIndexByte(src[:off], '\n') + 1
	return line, utf8.RuneCountInString(src[start:off]) + 1
}

// UserError is raised by Error("msg") during evaluation. The engine turns
// it into a per-object sync error carrying Msg.
type UserError struct {
	Msg string
}

func (e *UserError) Error() string { return e.Msg }

// EvalError is any other failure during evaluation, such as a value that
// can't be converted to the type a function needs or an Item index out of
// range. Func names the function or operator that failed.
type EvalError struct {
	Func string
	Msg  string
}

func (e *EvalError) Error() string {
	if e.Func == "" {
		return "expr: " + e.Msg
	}
	return "expr: " + e.Func + ": " + e.Msg
}

func evalErr(fn, format string, args ...any) error {
	return &EvalError{Func: fn, Msg: fmt.Sprintf(format, args...)}
}
