//go:build unix

package script

import (
	"os/exec"
	"syscall"
)

// setProcessGroup runs the script in a process group of its own, so that
// a time limit or a cancellation kills everything it started.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error {
		if cmd.Process == nil {
			return nil
		}
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}
