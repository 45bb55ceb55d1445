package config

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Pos is a position in a configuration file. Line and Col are 1-based;
// Col counts characters, as editors do. A zero Line or Col is unknown.
type Pos struct {
	File      string
	Line, Col int
}

// String returns "file:line:col", leaving out what is unknown.
func (p Pos) String() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		if b.Len() > 0 {
			b.WriteByte(':')
		}
		b.WriteString(strconv.Itoa(p.Line))
		if p.Col > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Col))
		}
	}
	return b.String()
}

// IsZero reports whether p locates nothing.
func (p Pos) IsZero() bool { return p == Pos{} }

// Error is one configuration error at a position.
type Error struct {
	Pos Pos
	Msg string
}

// Error returns "file:line:col: message".
func (e *Error) Error() string {
	if p := e.Pos.String(); p != "" {
		return p + ": " + e.Msg
	}
	return e.Msg
}

// Errors is every error found in a configuration, sorted by position.
// Load and Validate return it (as an error) whenever there is at least one.
//
//	var errs *config.Errors
//	if errors.As(err, &errs) {
//		for _, e := range errs.List { ... }
//	}
type Errors struct {
	List []*Error
}

// Error prints one "file:line:col: message" per line.
func (e *Errors) Error() string {
	var b strings.Builder
	for i, x := range e.List {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(x.Error())
	}
	return b.String()
}

// Unwrap returns each *Error, so that errors.As(err, &*config.Error) finds the first.
func (e *Errors) Unwrap() []error {
	errs := make([]error, len(e.List))
	for i, x := range e.List {
		errs[i] = x
	}
	return errs
}

// errorList collects errors while loading or validating.
type errorList struct {
	list []*Error
}

func (l *errorList) add(p Pos, format string, args ...any) {
	l.list = append(l.list, &Error{Pos: p, Msg: fmt.Sprintf(format, args...)})
}

// err returns the collected errors sorted by position with exact
// duplicates removed, or nil.
func (l *errorList) err() error {
	if len(l.list) == 0 {
		return nil
	}
	list := slices.Clone(l.list)
	slices.SortStableFunc(list, func(a, b *Error) int {
		// Errors without a file go last.
		if (a.Pos.File == "") != (b.Pos.File == "") {
			if a.Pos.File == "" {
				return 1
			}
			return -1
		}
		return cmp.Or(
			cmp.Compare(a.Pos.File, b.Pos.File),
			cmp.Compare(a.Pos.Line, b.Pos.Line),
			cmp.Compare(a.Pos.Col, b.Pos.Col),
			cmp.Compare(a.Msg, b.Msg),
		)
	})
	list = slices.CompactFunc(list, func(a, b *Error) bool { return *a == *b })
	return &Errors{List: list}
}
