package atomicfile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

// TestConfinedFSNeverLeavesItsAnchor: a link planted below a confined
// FS's anchor, in place of the file or of a folder on the way, pointing
// elsewhere, is refused by every operation, and nothing elsewhere is read,
// written or removed; FindLink names it.
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
			if got, err := c.FindLink(path); err != nil || got != link {
				t.Errorf("FindLink(%s) = %q, %v; want %q", path, got, err, link)
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
