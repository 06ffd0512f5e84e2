package sessionstore

import (
	"net"
	"sync/atomic"
)

// watchedConn is the subscription's connection. It knows whether every
// revocation Redis has sent has been handled: the listener is blocked in
// Read (so nothing waits in its buffers) and the socket holds no unread
// bytes. Redis writes a published message to subscribers before it answers
// the publisher, so once a logout elsewhere has been answered, a cache whose
// connection is drained has already dropped that session.
type watchedConn struct {
	net.Conn
	// reading is true only while the listener waits for the socket with
	// nothing left to handle: it turns false before any byte is taken in.
	reading atomic.Bool
}

// drained tells whether nothing received is waiting to be handled.
func (c *watchedConn) drained() bool {
	return c.reading.Load() && unreadBytes(c.Conn) == 0
}
