package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// FS does the file operations of a store. The zero FS is the os package's
// own. A confined FS (Confined) reaches every path through an os.Root
// opened at its anchor: no path, and no link met on the way (a file or a
// folder replaced by a link, even while the operation runs), leads outside
// the anchor. The CLI run as root works so in the server's data folder,
// which the server's user may write: a link planted there must not make
// root read, write, give away or delete a file elsewhere.
type FS struct {
	anchor string // "" for the os package's own operations
}

// Confined is an FS that never leaves the folder anchor. anchor itself is
// taken as given (links in its path are followed: it is the operator's
// word); paths handed to the FS must lie below it.
func Confined(anchor string) FS {
	if abs, err := filepath.Abs(anchor); err == nil {
		anchor = abs
	}
	return FS{anchor: filepath.Clean(anchor)}
}

// Anchor is the folder a confined FS never leaves, or "" for the zero FS.
func (c FS) Anchor() string { return c.anchor }

// files is what writeInfo and makeFolders need of a file system; both
// *os.Root and osFiles have it.
type files interface {
	Stat(name string) (fs.FileInfo, error)
	Lstat(name string) (fs.FileInfo, error)
	Mkdir(name string, perm fs.FileMode) error
	Open(name string) (*os.File, error)
	OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error)
	ReadFile(name string) ([]byte, error)
	Remove(name string) error
	Rename(oldname, newname string) error
	Link(oldname, newname string) error
}

// osFiles is the os package's operations, on paths.
type osFiles struct{}

func (osFiles) Stat(name string) (fs.FileInfo, error)     { return os.Stat(name) }
func (osFiles) Lstat(name string) (fs.FileInfo, error)    { return os.Lstat(name) }
func (osFiles) Mkdir(name string, perm fs.FileMode) error { return os.Mkdir(name, perm) }
func (osFiles) Open(name string) (*os.File, error)        { return os.Open(name) }
func (osFiles) ReadFile(name string) ([]byte, error)      { return os.ReadFile(name) }
func (osFiles) Remove(name string) error                  { return os.Remove(name) }
func (osFiles) Rename(oldname, newname string) error      { return os.Rename(oldname, newname) }
func (osFiles) Link(oldname, newname string) error        { return os.Link(oldname, newname) }
func (osFiles) OpenFile(name string, flag int, perm fs.FileMode) (*os.File, error) {
	return os.OpenFile(name, flag, perm)
}

// ErrOutside is the error for a path that does not lie below a confined
// FS's anchor.
var ErrOutside = errors.New("the path is outside the folder the command may use")

// in runs op on the files of c, with path (and more paths) as names they
// understand: as given for the zero FS, relative to the anchor otherwise.
func (c FS) in(op func(files files, names []string) error, paths ...string) error {
	if c.anchor == "" {
		return op(osFiles{}, paths)
	}
	names := make([]string, len(paths))
	for i, p := range paths {
		abs, err := filepath.Abs(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(c.anchor, abs)
		if err != nil || !filepath.IsLocal(rel) {
			return &fs.PathError{Op: "confine", Path: p, Err: ErrOutside}
		}
		names[i] = rel
	}
	root, err := os.OpenRoot(c.anchor)
	if err != nil {
		return err
	}
	defer root.Close()
	return op(root, names)
}

// Stat is os.Stat.
func (c FS) Stat(path string) (info fs.FileInfo, err error) {
	err = c.in(func(f files, n []string) error { info, err = f.Stat(n[0]); return err }, path)
	return info, err
}

// Lstat is os.Lstat.
func (c FS) Lstat(path string) (info fs.FileInfo, err error) {
	err = c.in(func(f files, n []string) error { info, err = f.Lstat(n[0]); return err }, path)
	return info, err
}

// ReadFile is os.ReadFile.
func (c FS) ReadFile(path string) (data []byte, err error) {
	err = c.in(func(f files, n []string) error { data, err = f.ReadFile(n[0]); return err }, path)
	return data, err
}

// Open is os.Open. The file stays open after the FS's root is closed.
func (c FS) Open(path string) (file *os.File, err error) {
	err = c.in(func(f files, n []string) error { file, err = f.Open(n[0]); return err }, path)
	return file, err
}

// ReadDir is os.ReadDir: the folder's entries, sorted by name.
func (c FS) ReadDir(path string) (entries []fs.DirEntry, err error) {
	err = c.in(func(f files, n []string) error {
		dir, err := f.Open(n[0])
		if err != nil {
			return err
		}
		defer dir.Close()
		entries, err = dir.ReadDir(-1)
		slices.SortFunc(entries, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
		return err
	}, path)
	return entries, err
}

// Remove is os.Remove.
func (c FS) Remove(path string) error {
	return c.in(func(f files, n []string) error { return f.Remove(n[0]) }, path)
}

// Rename is os.Rename; both paths must lie below the anchor.
func (c FS) Rename(oldpath, newpath string) error {
	return c.in(func(f files, n []string) error { return f.Rename(n[0], n[1]) }, oldpath, newpath)
}

// Link is os.Link; both paths must lie below the anchor.
func (c FS) Link(oldpath, newpath string) error {
	return c.in(func(f files, n []string) error { return f.Link(n[0], n[1]) }, oldpath, newpath)
}

// Write is the package's Write, within c.
func (c FS) Write(path string, data []byte, perm fs.FileMode) error {
	_, err := c.WriteInfo(path, data, perm)
	return err
}

// WriteInfo is the package's WriteInfo, within c. The anchor is made
// first if it is missing (as Write makes folders: mode 0700, the owner of
// the nearest folder that exists); below it, only through the root.
func (c FS) WriteInfo(path string, data []byte, perm fs.FileMode) (info fs.FileInfo, err error) {
	if c.anchor != "" {
		if err := makeFolders(osFiles{}, c.anchor); err != nil {
			return nil, err
		}
	}
	err = c.in(func(f files, n []string) error {
		info, err = writeInfo(f, n[0], data, perm)
		return err
	}, path)
	return info, err
}

// FindLink returns the first link on the way from the anchor to path, the
// path itself included, or "" when there is none (or for the zero FS).
// It tells the operator, in words, what the confinement would refuse
// anyway; parts of the way that do not exist yet are no link.
func (c FS) FindLink(path string) (string, error) {
	if c.anchor == "" {
		return "", nil
	}
	var link string
	err := c.in(func(f files, n []string) error {
		var walked string
		for part := range strings.SplitSeq(filepath.ToSlash(n[0]), "/") {
			walked = filepath.Join(walked, part)
			info, err := f.Lstat(walked)
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			if err != nil {
				return err
			}
			if info.Mode()&fs.ModeSymlink != 0 {
				link = filepath.Join(c.anchor, walked)
				return nil
			}
		}
		return nil
	}, path)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // not even the anchor exists: no link yet
	}
	if err != nil {
		return "", fmt.Errorf("checking %s for links: %w", path, err)
	}
	return link, nil
}

// CreateNew writes data, synced, to a new file at path made with perm
// (folders on the way made as Write makes them), and fails with an error
// that wraps fs.ErrExist when the file is there already: creation succeeds
// once, in any process. A file that fails to write whole still exists.
func (c FS) CreateNew(path string, data []byte, perm fs.FileMode) error {
	if c.anchor != "" {
		if err := makeFolders(osFiles{}, c.anchor); err != nil {
			return err
		}
	}
	return c.in(func(f files, n []string) error {
		if err := makeFolders(f, filepath.Dir(n[0])); err != nil {
			return err
		}
		file, err := f.OpenFile(n[0], os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
		if err != nil {
			return err
		}
		_, err = file.Write(data)
		if err == nil {
			err = file.Sync()
		}
		if cerr := file.Close(); err == nil {
			err = cerr
		}
		return err
	}, path)
}
