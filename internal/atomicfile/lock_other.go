//go:build !unix

package atomicfile

import (
	"context"
	"os"
)

// lockFile does nothing where there is no flock (Windows): there, only a
// process's own locks hold (a FileStore's mutex), and two processes that
// write one file at the same moment are not coordinated: the later rename
// wins.
func lockFile(context.Context, *os.File) error { return nil }
