//go:build !unix

package atomicfile

import (
	"io/fs"
	"os"
)

// keepOwner does nothing where files have no Unix owner.
func keepOwner(*os.File, fs.FileInfo) {}

// giveFolder does nothing where files have no Unix owner.
func giveFolder(files, string, fs.FileInfo) error { return nil }

// trusted tells nothing where files have no Unix owner: no symlink on the
// way to a confined FS's anchor is trusted there.
func trusted(fs.FileInfo) bool { return false }
