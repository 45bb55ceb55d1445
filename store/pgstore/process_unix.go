//go:build unix

package pgstore

import (
	"errors"
	"syscall"
)

// processAlive reports whether a process with the given PID exists on
// this host. A process we may not signal exists.
func processAlive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}
