package atomicfile

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// TestConfinedFSNeverLeavesItsAnchor: a link planted below a confined
// FS's anchor, in place of the file or of a folder on the way, pointing
// elsewhere, is refused by every operation, and nothing elsewhere is read,
// written or removed; FindSymlink names it.
func TestConfinedFSNeverLeavesItsAnchor(t *testing.T) {
	for _, tc := range []struct {
		name string
		link string // below the anchor, made a link to the outside folder
		path string // what is used, below the anchor
	}{
		{"the file itself", "realm/users.json", "realm/users.json"},
		{"its folder", "realm", "realm/users.json"},
		{"a folder further down", "realm/sessions", "realm/sessions/s_x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			anchor := t.TempDir()
			outside := t.TempDir()
			victim := filepath.Join(outside, "users.json")
			if err := os.WriteFile(victim, []byte("outside"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(filepath.Join(anchor, "realm"), 0o700); err != nil {
				t.Fatal(err)
			}
			target := outside
			if filepath.Base(tc.link) == "users.json" {
				target = victim
			}
			link := filepath.Join(anchor, tc.link)
			os.RemoveAll(link)
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			c := Confined(anchor)
			path := filepath.Join(anchor, tc.path)
			if got, err := c.FindSymlink(path); err != nil || got != link {
				t.Errorf("FindSymlink(%s) = %q, %v; want %q", path, got, err, link)
			}
			if _, err := c.ReadFile(path); err == nil {
				t.Error("ReadFile followed the link")
			}
			if _, err := c.Stat(path); err == nil {
				t.Error("Stat followed the link")
			}
			if err := c.Write(path, []byte("inside"), 0o600); err == nil {
				t.Error("Write followed the link")
			}
			if err := c.Write(filepath.Join(filepath.Dir(path), "other"), []byte("inside"), 0o600); err == nil && filepath.Dir(path) != filepath.Dir(link) {
				t.Error("Write went through a linked folder")
			}
			_ = c.Remove(filepath.Join(filepath.Dir(path), "users.json"))
			if data, err := os.ReadFile(victim); err != nil || string(data) != "outside" {
				t.Errorf("the file outside changed: %q, %v", data, err)
			}
			entries, _ := os.ReadDir(outside)
			if len(entries) != 1 {
				t.Errorf("the folder outside holds %d entries, want only its file", len(entries))
			}
		})
	}
}

// TestConfinedFSRefusesPathsOutsideItsAnchor: a path that does not lie
// below the anchor is refused before anything is opened.
func TestConfinedFSRefusesPathsOutsideItsAnchor(t *testing.T) {
	anchor := t.TempDir()
	c := Confined(anchor)
	for _, p := range []string{filepath.Join(anchor, "..", "x"), "/etc/passwd"} {
		if _, err := c.ReadFile(p); !errors.Is(err, ErrOutside) {
			t.Errorf("ReadFile(%s) = %v; want ErrOutside", p, err)
		}
	}
	// Below it, everything works as the os package's own operations.
	p := filepath.Join(anchor, "a", "b", "f")
	if err := c.Write(p, []byte("one"), 0o640); err != nil {
		t.Fatal(err)
	}
	if data, err := c.ReadFile(p); err != nil || string(data) != "one" {
		t.Fatalf("ReadFile: %q, %v", data, err)
	}
	if info, err := os.Stat(p); err != nil || info.Mode().Perm() != 0o640 {
		t.Fatalf("the written file: %v, %v", info, err)
	}
	if err := c.Rename(p, p+".2"); err != nil {
		t.Fatal(err)
	}
	if entries, err := c.ReadDir(filepath.Dir(p)); err != nil || len(entries) != 1 || entries[0].Name() != "f.2" {
		t.Fatalf("ReadDir: %v, %v", entries, err)
	}
	if err := c.Remove(p + ".2"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(p + ".2"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Remove left the file: %v", err)
	}
}

// TestConfinedFSRefusesAnAnchorThatIsASymlink: the server's user may
// write the folder that holds the anchor, and so put a symlink to anywhere
// in its place. Every operation refuses such an anchor, naming it, and
// nothing is written where it points; FindSymlink names it too.
func TestConfinedFSRefusesAnAnchorThatIsASymlink(t *testing.T) {
	outside := t.TempDir()
	anchor := filepath.Join(t.TempDir(), "data")
	if err := os.Symlink(outside, anchor); err != nil {
		t.Fatal(err)
	}
	c := Confined(anchor)
	defer c.Close()
	path := filepath.Join(anchor, "users.json")
	err := c.Write(path, []byte("inside"), 0o600)
	var pathErr *fs.PathError
	if !errors.Is(err, ErrSymlinkedAnchor) || !errors.As(err, &pathErr) || pathErr.Path != anchor {
		t.Fatalf("Write through a symlinked anchor: %v; want ErrSymlinkedAnchor naming %s", err, anchor)
	}
	if _, err := c.ReadFile(path); !errors.Is(err, ErrSymlinkedAnchor) {
		t.Errorf("ReadFile through a symlinked anchor: %v; want ErrSymlinkedAnchor", err)
	}
	if got, err := c.FindSymlink(path); err != nil || got != anchor {
		t.Errorf("FindSymlink(%s) = %q, %v; want the anchor %q", path, got, err, anchor)
	}
	if entries, _ := os.ReadDir(outside); len(entries) != 0 {
		t.Errorf("the folder the symlink points to holds %v; want nothing", entries)
	}
}

// TestConfinedFSKeepsTheAnchorItOpened: once a confined FS has opened its
// anchor, replacing the anchor with a symlink elsewhere (as the server's
// user, who may write the folder that holds it, could between two
// operations of the command) changes nothing: the next write lands in the
// folder first opened, not where the symlink points.
func TestConfinedFSKeepsTheAnchorItOpened(t *testing.T) {
	base := t.TempDir()
	anchor := filepath.Join(base, "data")
	outside := t.TempDir()
	c := Confined(anchor) // missing yet: the first write makes it
	defer c.Close()
	if err := c.Write(filepath.Join(anchor, "realm", "users.json"), []byte("one"), 0o600); err != nil {
		t.Fatal(err)
	}
	moved := filepath.Join(base, "moved")
	if err := os.Rename(anchor, moved); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(outside, "realm"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, anchor); err != nil {
		t.Fatal(err)
	}
	if err := c.Write(filepath.Join(anchor, "realm", "users.json"), []byte("two"), 0o600); err != nil {
		t.Fatalf("a write after the anchor was swapped: %v; want it written in the folder first opened", err)
	}
	if data, err := os.ReadFile(filepath.Join(moved, "realm", "users.json")); err != nil || string(data) != "two" {
		t.Errorf("the folder first opened holds %q, %v; want the second write", data, err)
	}
	if entries, _ := os.ReadDir(filepath.Join(outside, "realm")); len(entries) != 0 {
		t.Errorf("the write went where the symlink points: %v", entries)
	}
	// Closed, the FS does nothing more.
	c.Close()
	if err := c.Write(filepath.Join(anchor, "realm", "users.json"), []byte("three"), 0o600); !errors.Is(err, fs.ErrClosed) {
		t.Errorf("a write after Close: %v; want fs.ErrClosed", err)
	}
}

// TestLockFolderExcludesOtherHolders: a folder's lock is held by one
// holder at a time, whether each reaches the folder through the os
// package or a confined FS (the server and the CLI run as root); a second
// holder waits, giving up when its context ends, and gets the lock once
// the first lets go.
func TestLockFolderExcludesOtherHolders(t *testing.T) {
	anchor := filepath.Join(t.TempDir(), "realm") // missing: LockFolder makes it
	confined := Confined(anchor)
	defer confined.Close()
	for _, tc := range []struct {
		name          string
		first, second FS
	}{
		{"os then confined", FS{}, confined},
		{"confined then os", confined, FS{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			unlock, err := tc.first.LockFolder(context.Background(), anchor)
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			if again, err := tc.second.LockFolder(ctx, anchor); !errors.Is(err, context.DeadlineExceeded) {
				if err == nil {
					again()
				}
				t.Fatalf("a second holder got the lock while the first held it: %v", err)
			}
			unlock()
			again, err := tc.second.LockFolder(context.Background(), anchor)
			if err != nil {
				t.Fatalf("the lock after the first let go: %v", err)
			}
			again()
		})
	}
	wantOnly(t, filepath.Dir(anchor), "realm")
	if entries, _ := os.ReadDir(anchor); len(entries) != 0 {
		t.Fatalf("locking left files in the folder: %v", entries)
	}
}
