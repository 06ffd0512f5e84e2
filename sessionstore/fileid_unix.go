//go:build unix

package sessionstore

import "syscall"

// fileID is what tells one file from another at the same path: a rename
// over it (a refresh) or a removal (a logout) changes or ends it.
type fileID struct{ dev, ino uint64 }

// identify stats path without allocating: this runs on every remembered hit.
func identify(path string) (fileID, bool) {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return fileID{}, false
	}
	return fileID{uint64(st.Dev), uint64(st.Ino)}, true
}
