package atomicfile

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// FS does the file operations of a store. The zero FS is the os package's
// own. A confined FS (Confined) reaches every path through an os.Root
// opened at its anchor: no path, and no symlink met on the way (a file or
// a folder replaced by a symlink, even while the operation runs), leads
// outside the anchor. The CLI run as root works so in the server's data
// folder, which the server's user may write: a symlink planted there must
// not make root read, write, give away or delete a file elsewhere.
//
// The anchor itself is opened once, at the first operation that needs it,
// and kept until Close: the server's user may also write the folder that
// holds the anchor, and a swap of the anchor for a symlink after that
// changes nothing. Copies of an FS share that one root.
type FS struct {
	anchor string      // "" for the os package's own operations
	root   *anchorRoot // nil for the os package's own operations
}

// anchorRoot is the os.Root of a confined FS's anchor, opened once.
type anchorRoot struct {
	mu     sync.Mutex
	root   *os.Root // nil until opened
	closed bool
}

// Confined is an FS that never leaves the folder anchor. The anchor must
// not be a symlink, nor lie behind one that someone other than root (or
// this process's user) made or may replace (see refuseSymlinks): the
// server's user may write the folders around its data folder. Paths handed
// to the FS must lie below the anchor. Close the FS when done with it.
func Confined(anchor string) FS {
	if abs, err := filepath.Abs(anchor); err == nil {
		anchor = abs
	}
	return FS{anchor: filepath.Clean(anchor), root: &anchorRoot{}}
}

// Close closes a confined FS's root; later operations fail. It does
// nothing for the zero FS.
func (c FS) Close() error {
	if c.root == nil {
		return nil
	}
	c.root.mu.Lock()
	defer c.root.mu.Unlock()
	c.root.closed = true
	if c.root.root == nil {
		return nil
	}
	err := c.root.root.Close()
	c.root.root = nil
	return err
}

// ErrSymlinkedAnchor is the error (in an fs.PathError naming the symlink)
// for a confined FS's anchor that is a symlink or lies behind an untrusted
// one.
var ErrSymlinkedAnchor = errors.New("the folder the command may use is reached through a symlink")

// open returns the root of the anchor, opened at the first call. With
// create, a missing anchor is made first (as Write makes folders: mode
// 0700, the owner of the nearest folder that exists); without, a missing
// anchor is an error that wraps fs.ErrNotExist. The anchor is checked for
// symlinks before it is made and again once it is open, and the folder
// opened must be the one then at its path: a symlink put in its place
// while it was opened, and taken away again, is refused too.
func (c FS) open(create bool) (*os.Root, error) {
	r := c.root
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, &fs.PathError{Op: "confine", Path: c.anchor, Err: fs.ErrClosed}
	}
	if r.root != nil {
		return r.root, nil
	}
	if err := refuseSymlinks(c.anchor); err != nil {
		return nil, err
	}
	if create {
		if err := makeFolders(osFiles{}, c.anchor); err != nil {
			return nil, err
		}
	}
	root, err := os.OpenRoot(c.anchor)
	if err != nil {
		return nil, err
	}
	if err := sameAnchor(root, c.anchor); err != nil {
		root.Close()
		return nil, err
	}
	r.root = root
	return root, nil
}

// sameAnchor checks that root is the folder now at anchor, reached
// through no symlink that refuseSymlinks refuses.
func sameAnchor(root *os.Root, anchor string) error {
	if err := refuseSymlinks(anchor); err != nil {
		return err
	}
	opened, err := root.Stat(".")
	if err != nil {
		return err
	}
	now, err := os.Lstat(anchor)
	if err != nil {
		return err
	}
	if !os.SameFile(opened, now) {
		return &fs.PathError{Op: "confine", Path: anchor, Err: errors.New("the folder was replaced while it was opened")}
	}
	return nil
}

// refuseSymlinks refuses an anchor that is a symlink, or whose path goes
// through a symlink that neither root nor this process's user owns, or
// that sits in a folder someone else owns (who could replace it): the
// operator names the anchor, but the server's user may write the folders
// around it. A system's own symlinks (/var/run, say) pass. Parts of the
// path that do not exist yet are made later, as folders, by open.
func refuseSymlinks(anchor string) error {
	var parts []string
	for p := anchor; ; {
		parent := filepath.Dir(p)
		if parent == p {
			break
		}
		parts = append(parts, p)
		p = parent
	}
	for i := len(parts) - 1; i >= 0; i-- {
		p := parts[i]
		info, err := os.Lstat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		if info.Mode()&fs.ModeSymlink == 0 {
			continue
		}
		if p == anchor || !trusted(info) {
			return &fs.PathError{Op: "confine", Path: p, Err: ErrSymlinkedAnchor}
		}
		if folder, err := os.Stat(filepath.Dir(p)); err != nil || !trusted(folder) {
			return &fs.PathError{Op: "confine", Path: p, Err: ErrSymlinkedAnchor}
		}
	}
	return nil
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
// A confined FS's anchor must exist (see inMade).
func (c FS) in(op func(files files, names []string) error, paths ...string) error {
	return c.run(false, op, paths...)
}

// inMade is in, for an operation that writes: a confined FS's missing
// anchor is made first.
func (c FS) inMade(op func(files files, names []string) error, paths ...string) error {
	return c.run(true, op, paths...)
}

func (c FS) run(create bool, op func(files files, names []string) error, paths ...string) error {
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
	root, err := c.open(create)
	if err != nil {
		return err
	}
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

// Open is os.Open. The file stays open after the FS is closed.
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
	err = c.inMade(func(f files, n []string) error {
		info, err = writeInfo(f, n[0], data, perm)
		return err
	}, path)
	return info, err
}

// FindSymlink returns the first symlink on the way from the anchor to
// path, the path itself included, or "" when there is none (or for the
// zero FS). An anchor that is itself a symlink, or lies behind one that
// refuseSymlinks refuses, is that symlink. It tells the operator, in
// words, what the confinement would refuse anyway; parts of the way that
// do not exist yet are no symlink.
func (c FS) FindSymlink(path string) (string, error) {
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
	var anchored *fs.PathError
	if errors.As(err, &anchored) && errors.Is(err, ErrSymlinkedAnchor) {
		return anchored.Path, nil
	}
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil // not even the anchor exists: no symlink yet
	}
	if err != nil {
		return "", fmt.Errorf("checking %s for symlinks: %w", path, err)
	}
	return link, nil
}

// LockFolder takes the exclusive lock of the folder dir (made first if
// missing, as Write makes folders), waiting for another process, or
// another caller in this one, that holds it, until ctx ends; it returns
// the function that releases it. The folder is opened read-only: a lock
// needs no file of its own, which the CLI run as root would leave behind,
// owned by root, where the server's user could not open it. Every process
// that locks the folder so waits for the others; nothing else does.
func (c FS) LockFolder(ctx context.Context, dir string) (unlock func(), err error) {
	var folder *os.File
	err = c.inMade(func(f files, n []string) error {
		if err := makeFolders(f, n[0]); err != nil {
			return err
		}
		folder, err = f.Open(n[0])
		return err
	}, dir)
	if err != nil {
		return nil, err
	}
	if err := lockFile(ctx, folder); err != nil {
		return nil, fmt.Errorf("locking %s: %w", dir, err)
	}
	return func() { folder.Close() }, nil // closing it releases the lock
}

// CreateNew writes data, synced, to a new file at path made with perm
// (folders on the way made as Write makes them), and fails with an error
// that wraps fs.ErrExist when the file is there already: creation succeeds
// once, in any process. A file that fails to write whole still exists.
func (c FS) CreateNew(path string, data []byte, perm fs.FileMode) error {
	return c.inMade(func(f files, n []string) error {
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
