// Package atomicfile replaces files so that readers see the old content or
// the new, never a mix, and a crash leaves one of the two.
//
// It is written here rather than taken from a library because it must also
// keep the owner and mode of the file it replaces: an operator who runs the
// CLI as root must not leave the server (running as another user) unable to
// read its own accounts. renameio does neither that nor Windows. For the
// same operator it also offers a confined FS (see fs.go), whose operations
// never leave a folder, whatever links someone planted in it.
package atomicfile

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
)

// Write replaces path with data: a temporary file in the same folder,
// fsync, rename, then a best-effort fsync of the folder. A new file gets
// mode perm and its folder's owner and group; a replaced one keeps its mode,
// owner and group (owners change only where this process may change them,
// that is as root). Missing folders are made with mode 0700 and the owner
// and group of the nearest folder that exists, so that a file the root CLI
// writes in a new folder of the server's data directory stays readable by
// the server.
func Write(path string, data []byte, perm fs.FileMode) error {
	_, err := WriteInfo(path, data, perm)
	return err
}

// WriteInfo is Write that also returns the new file's FileInfo, taken
// before the rename, so that a write by another process just after this
// one is never mistaken for it.
func WriteInfo(path string, data []byte, perm fs.FileMode) (fs.FileInfo, error) {
	return writeInfo(osFiles{}, path, data, perm)
}

// writeInfo is WriteInfo on files, for a name that files understands.
func writeInfo(files files, path string, data []byte, perm fs.FileMode) (info fs.FileInfo, err error) {
	dir := filepath.Dir(path)
	if err := makeFolders(files, dir); err != nil {
		return nil, err
	}
	tmp, err := createTemp(files, dir, filepath.Base(path))
	if err != nil {
		return nil, err
	}
	tmpName := filepath.Join(dir, filepath.Base(tmp.Name()))
	defer func() {
		if err != nil {
			tmp.Close()
			files.Remove(tmpName)
		}
	}()
	old, statErr := files.Stat(path)
	switch {
	case statErr == nil:
		perm = old.Mode().Perm()
		keepOwner(tmp, old)
	case !errors.Is(statErr, fs.ErrNotExist):
		// Not replaced blindly: within a confined FS, a link that leads
		// outside it is an error here, and the link stays as it is.
		return nil, statErr
	default:
		if folder, err := files.Stat(dir); err == nil {
			keepOwner(tmp, folder) // a new file belongs to whoever owns its folder
		}
	}
	if err := tmp.Chmod(perm); err != nil {
		return nil, err
	}
	if _, err := tmp.Write(data); err != nil {
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		return nil, err
	}
	if info, err = tmp.Stat(); err != nil {
		return nil, err
	}
	if err := tmp.Close(); err != nil {
		return nil, err
	}
	if err := files.Rename(tmpName, path); err != nil {
		return nil, err
	}
	if d, err := files.Open(dir); err == nil {
		_ = d.Sync() // some systems cannot sync a folder; the data is on disk
		d.Close()
	}
	return info, nil
}

// createTemp makes a new, empty file in dir named after base, as
// os.CreateTemp(dir, "."+base+".*.tmp") would.
func createTemp(files files, dir, base string) (*os.File, error) {
	for {
		name := filepath.Join(dir, "."+base+"."+rand.Text()[:12]+".tmp")
		f, err := files.OpenFile(name, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			continue // 60 random bits met another: try again
		}
		return f, err
	}
}

// makeFolders makes dir and its missing parents with mode 0700, each with
// the owner and group of the nearest folder that existed. A folder that
// another process makes meanwhile is left as that process made it.
func makeFolders(files files, dir string) error {
	var missing []string
	var like fs.FileInfo
	for d := filepath.Clean(dir); ; {
		info, err := files.Stat(d)
		if err == nil {
			like = info
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
		parent := filepath.Dir(d)
		if parent == d {
			break
		}
		d = parent
	}
	for i := len(missing) - 1; i >= 0; i-- {
		err := files.Mkdir(missing[i], 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if like != nil {
			if err := giveFolder(files, missing[i], like); err != nil {
				return err
			}
		}
	}
	return nil
}
