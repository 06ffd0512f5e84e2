//go:build !unix

package sessionstore

// Read is the connection's own; without unreadBytes the cache is never
// trusted here, so reading need not be exact.
func (c *watchedConn) Read(p []byte) (int, error) {
	return c.Conn.Read(p)
}
