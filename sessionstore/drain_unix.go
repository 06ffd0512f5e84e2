//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package sessionstore

import (
	"net"
	"syscall"

	"golang.org/x/sys/unix"
)

// unreadBytes is how many bytes the kernel holds for conn that no one has
// read yet; -1 when it cannot tell, which counts as not drained.
func unreadBytes(conn net.Conn) int {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return -1
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return -1
	}
	n := -1
	if err := raw.Control(func(fd uintptr) {
		if v, err := unix.IoctlGetInt(int(fd), unreadIoctl); err == nil {
			n = v
		}
	}); err != nil {
		return -1
	}
	return n
}
