//go:build unix

package atomicfile

import (
	"fmt"
	"io/fs"
	"os"
	"syscall"
)

// keepOwner gives f the owner and group of like. Only root may give a file
// away; for anyone else the new file is theirs already, as old was.
func keepOwner(f *os.File, like fs.FileInfo) {
	if st, ok := like.Sys().(*syscall.Stat_t); ok {
		_ = f.Chown(int(st.Uid), int(st.Gid))
	}
}

// giveFolder gives the folder at path the owner and group of like, where
// this process may (as root); elsewhere the folder is the caller's already.
// It changes the owner through a handle opened without following a link,
// so a folder swapped for a link to another file (by whoever may write in
// its parent) is refused, never given away. (Within a confined FS the
// root may follow a link instead, but only to a folder below its anchor.)
func giveFolder(files files, path string, like fs.FileInfo) error {
	st, ok := like.Sys().(*syscall.Stat_t)
	if !ok {
		return nil
	}
	f, err := files.OpenFile(path, os.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return fmt.Errorf("the new folder %s changed while it was made: %w", path, err)
	}
	defer f.Close()
	_ = f.Chown(int(st.Uid), int(st.Gid))
	return nil
}

// trusted tells a file owned by root or by this process's user, which
// nobody else may have made or changed.
func trusted(info fs.FileInfo) bool {
	st, ok := info.Sys().(*syscall.Stat_t)
	return ok && (st.Uid == 0 || int(st.Uid) == os.Geteuid())
}
