//go:build unix

package testredis

import (
	"errors"
	"syscall"
)

// Pause stops the server process (SIGSTOP) without closing a connection:
// Redis goes silent, as on a frozen host or a network that drops packets.
// Resume must follow; Close also works on a paused server.
func (s *Server) Pause() error { return s.signal(syscall.SIGSTOP) }

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume() error { return s.signal(syscall.SIGCONT) }

func (s *Server) signal(sig syscall.Signal) error {
	if s.cmd == nil || s.cmd.Process == nil {
		return errors.New("redis-server is not running")
	}
	return s.cmd.Process.Signal(sig)
}
