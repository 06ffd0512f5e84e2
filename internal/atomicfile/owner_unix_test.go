//go:build unix

package atomicfile

import (
	"os"
	"syscall"
	"testing"
)

func owner(t *testing.T, path string) (uid, gid int) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	return int(st.Uid), int(st.Gid)
}

// TestGiveFolderNeverFollowsALink: a new folder that someone swapped for a
// link before its owner was set is refused, and the link's target keeps
// its owner (as root, giving it away would hand over any file).
func TestGiveFolderNeverFollowsALink(t *testing.T) {
	dir := t.TempDir()
	target := dir + "/target" // a folder: the hardest case to tell apart
	if err := os.Mkdir(target, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(target, 4242, 4242); err != nil && os.Geteuid() == 0 {
		t.Fatal(err)
	}
	uid, gid := owner(t, target)
	link := dir + "/folder"
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	like, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := giveFolder(osFiles{}, link, like); err == nil {
		t.Fatal("giveFolder accepted a link in place of the folder")
	}
	if u, g := owner(t, target); u != uid || g != gid {
		t.Fatalf("the link's target changed owner: %d:%d, was %d:%d", u, g, uid, gid)
	}
}
