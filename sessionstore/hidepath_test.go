package sessionstore

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// Session files are named after session ids; their errors must not carry
// the name into a log.
func TestFileErrorsDoNotNameTheSessionFile(t *testing.T) {
	id := NewID()
	path := filepath.Join(t.TempDir(), fileNamePrefix+id)
	for _, err := range []error{
		&fs.PathError{Op: "open", Path: path, Err: syscall.EMFILE},
		&os.LinkError{Op: "rename", Old: path + ".tmp", New: path, Err: syscall.ENOSPC},
	} {
		hidden := hidePath(err)
		if strings.Contains(hidden.Error(), id) {
			t.Fatalf("%q names the session id", hidden)
		}
		if !errors.Is(hidden, syscall.EMFILE) && !errors.Is(hidden, syscall.ENOSPC) {
			t.Fatalf("%q lost its cause", hidden)
		}
	}
}
