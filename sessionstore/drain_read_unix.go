//go:build unix

package sessionstore

import (
	"io"
	"syscall"
)

// Read takes bytes from the socket itself, so that reading turns false
// before a byte leaves the kernel and true only when the socket is empty
// and the listener is about to wait: there is no moment in which a
// revocation has been read but not yet applied while reading says "idle".
func (c *watchedConn) Read(p []byte) (int, error) {
	sc, ok := c.Conn.(syscall.Conn)
	if !ok {
		return c.Conn.Read(p)
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var readErr error
	err = raw.Read(func(fd uintptr) bool {
		c.reading.Store(false)
		n, readErr = syscall.Read(int(fd), p)
		if readErr == syscall.EAGAIN {
			c.reading.Store(true)
			return false // wait until the socket is readable
		}
		return true
	})
	c.reading.Store(false)
	switch {
	case err != nil:
		return 0, err
	case readErr != nil:
		return 0, readErr
	case n == 0 && len(p) > 0:
		return 0, io.EOF
	}
	return n, nil
}
