package idsync

import (
	"errors"
	"strings"
)

// Kind classifies an error. The set is small and stable.
type Kind uint8

// Error kinds.
const (
	KindOther       Kind = iota
	KindInvalid          // bad input or configuration
	KindNotFound         // no such object, connector, profile
	KindConflict         // an ambiguous join, a duplicate anchor, a busy lock
	KindPermission       // access denied
	KindTransient        // a dead server, a timeout: try again later
	KindUnsupported      // the connector lacks the capability
	KindInternal         // a bug
)

var kindNames = [...]string{"other", "invalid", "not-found", "conflict", "permission", "transient", "unsupported", "internal"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "unknown"
}

// Error is the root error type: an operation on a connector and object
// that failed for a reason of some kind.
type Error struct {
	Op        string // "import", "sync", "export", "config", ...
	Kind      Kind
	Connector string
	Object    string // a DN, anchor or ID
	Err       error
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
	}
	if e.Connector != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString(e.Connector)
	}
	if e.Object != "" {
		if b.Len() > 0 {
			b.WriteString(" ")
		}
		b.WriteString("\"" + e.Object + "\"")
	}
	if e.Err != nil {
		if b.Len() > 0 {
			b.WriteString(": ")
		}
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf returns the Kind of the first *Error in err's chain with a Kind
// other than KindOther, or KindOther.
func KindOf(err error) Kind {
	for err != nil {
		var e *Error
		if !errors.As(err, &e) {
			return KindOther
		}
		if e.Kind != KindOther {
			return e.Kind
		}
		err = e.Err
	}
	return KindOther
}

// E builds an *Error.
func E(op string, kind Kind, err error) error { return &Error{Op: op, Kind: kind, Err: err} }
