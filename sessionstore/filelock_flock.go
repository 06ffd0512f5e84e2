//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sessionstore

import (
	"os"
	"path/filepath"
	"syscall"
)

// lockAcrossProcesses takes an exclusive flock on dir/.lock, so that the
// server's refresh and the CLI's revocation (another process) never
// interleave: a refresh cannot write back a session the CLI just removed.
func lockAcrossProcesses(dir string) (unlock func()) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return func() {} // no folder yet: nothing to race with
	}
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX) != nil {
		f.Close()
		return func() {}
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}
}
