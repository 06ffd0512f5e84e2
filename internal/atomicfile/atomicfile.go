// Package atomicfile replaces files so that readers see the old content or
// the new, never a mix, and a crash leaves one of the two.
//
// It is written here rather than taken from a library because it must also
// keep the owner and mode of the file it replaces: an operator who runs the
// CLI as root must not leave the server (running as another user) unable to
// read its own accounts. renameio does neither that nor Windows.
package atomicfile

import (
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
func WriteInfo(path string, data []byte, perm fs.FileMode) (info fs.FileInfo, err error) {
	dir := filepath.Dir(path)
	if err := makeFolders(dir); err != nil {
		return nil, err
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if old, statErr := os.Stat(path); statErr == nil {
		perm = old.Mode().Perm()
		keepOwner(tmp, old)
	} else if folder, statErr := os.Stat(dir); statErr == nil {
		keepOwner(tmp, folder) // a new file belongs to whoever owns its folder
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
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // some systems cannot sync a folder; the data is on disk
		d.Close()
	}
	return info, nil
}

// makeFolders makes dir and its missing parents with mode 0700, each with
// the owner and group of the nearest folder that existed. A folder that
// another process makes meanwhile is left as that process made it.
func makeFolders(dir string) error {
	var missing []string
	var like fs.FileInfo
	for d := filepath.Clean(dir); ; {
		info, err := os.Stat(d)
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
		err := os.Mkdir(missing[i], 0o700)
		if errors.Is(err, fs.ErrExist) {
			continue
		}
		if err != nil {
			return err
		}
		if like != nil {
			if err := giveFolder(missing[i], like); err != nil {
				return err
			}
		}
	}
	return nil
}
