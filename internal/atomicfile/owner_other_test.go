//go:build !unix

package atomicfile

import (
	"os"
	"testing"
)

// owner reports what os.Geteuid and os.Getegid report (-1) where files
// have no Unix owner.
func owner(*testing.T, string) (uid, gid int) { return os.Geteuid(), os.Getegid() }
