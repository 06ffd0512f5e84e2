//go:build !unix

package testredis

import "errors"

var errNoSignals = errors.New("pausing redis-server needs Unix signals")

// Pause is only possible on Unix.
func (s *Server) Pause() error { return errNoSignals }

// Resume is only possible on Unix.
func (s *Server) Resume() error { return errNoSignals }
