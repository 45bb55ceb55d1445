package engine

import (
	"errors"
	"syscall"

	"github.com/idsync/idsync"
)

// runOwnerGone reports whether the process that ran r is known to be
// dead: it ran on this host and its PID no longer exists (or is this very
// process, which is not running it).
func (e *Engine) runOwnerGone(r *idsync.RunResult) bool {
	if r.Host != e.host || r.PID == 0 {
		return false
	}
	if r.PID == e.pid {
		return false
	}
	err := syscall.Kill(r.PID, 0)
	return errors.Is(err, syscall.ESRCH)
}
