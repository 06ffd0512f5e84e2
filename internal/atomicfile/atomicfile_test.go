package atomicfile

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// names lists a folder, so a test can say what it holds.
func names(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var list []string
	for _, e := range entries {
		list = append(list, e.Name())
	}
	return list
}

func wantOnly(t *testing.T, dir string, want ...string) {
	t.Helper()
	if got := names(t, dir); !slices.Equal(got, want) {
		t.Fatalf("%s holds %q; want only %q (no temporary files)", dir, got, want)
	}
}

func TestWriteNewFileGetsPermAndPrivateFolders(t *testing.T) {
	for _, perm := range []fs.FileMode{0o600, 0o640, 0o644} {
		t.Run(perm.String(), func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "a", "b")
			path := filepath.Join(dir, "f")
			if err := Write(path, []byte("one"), perm); err != nil {
				t.Fatal(err)
			}
			info, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if info.Mode().Perm() != perm {
				t.Errorf("new file mode %v; want %v", info.Mode().Perm(), perm)
			}
			for _, d := range []string{dir, filepath.Dir(dir)} {
				if info, err := os.Stat(d); err != nil || info.Mode().Perm() != 0o700 {
					t.Errorf("made folder %s: %v, %v; want mode 0700", d, info.Mode().Perm(), err)
				}
			}
			if data, _ := os.ReadFile(path); string(data) != "one" {
				t.Errorf("file holds %q", data)
			}
			wantOnly(t, dir, "f")
		})
	}
}

func TestWriteKeepsTheModeOfAReplacedFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	// The operator let the server's group read the file.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o640 {
		t.Fatalf("replaced file mode %v; want the 0640 it had", info.Mode().Perm())
	}
	if data, _ := os.ReadFile(path); string(data) != "new" {
		t.Fatalf("file holds %q; want the new content", data)
	}
}

// TestWriteKeepsTheOwnerOfAReplacedFile: an operator who runs the CLI as
// root must not leave the server, running as another user, unable to read
// its own accounts. Only root can give files away, so only root can show
// it; anyone else checks that the file stays theirs.
func TestWriteKeepsTheOwnerOfAReplacedFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "users.json")
	if err := os.WriteFile(path, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantUID, wantGID := os.Geteuid(), os.Getegid()
	if os.Geteuid() == 0 {
		wantUID, wantGID = 65534, 65534 // nobody, as the server might run
		if err := os.Chown(path, wantUID, wantGID); err != nil {
			t.Fatal(err)
		}
	}
	if err := Write(path, []byte("new"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(t, path); uid != wantUID || gid != wantGID {
		t.Fatalf("replaced file is owned by %d:%d; want %d:%d", uid, gid, wantUID, wantGID)
	}
}

// TestWriteGivesANewFileItsFoldersOwner: a file the root CLI makes in the
// server's data folder belongs to the server, like the folder.
func TestWriteGivesANewFileItsFoldersOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	wantUID, wantGID := os.Geteuid(), os.Getegid()
	if os.Geteuid() == 0 {
		wantUID, wantGID = 65534, 65534
		if err := os.Chown(dir, wantUID, wantGID); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "cookie.key")
	if err := Write(path, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(t, path); uid != wantUID || gid != wantGID {
		t.Fatalf("new file is owned by %d:%d; want its folder's %d:%d", uid, gid, wantUID, wantGID)
	}
}

// TestWriteGivesNewFoldersTheOwnerOfTheNearestExistingOne: the root CLI
// that makes a realm's folder inside the server's data directory must
// leave the folders, not only the file, to the server: a folder of root's
// with mode 0700 would shut the server out of the file inside it. Only
// root can give folders away, so the test needs root.
func TestWriteGivesNewFoldersTheOwnerOfTheNearestExistingOne(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it checks that folders made as root go to the owner of the folder they are made in")
	}
	const service = 65534 // nobody, as the server might run
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, service, service); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(data, "session_auth", "realm", "users.json")
	if err := Write(path, []byte("[]"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{filepath.Join(data, "session_auth"), filepath.Dir(path), path} {
		if uid, gid := owner(t, p); uid != service || gid != service {
			t.Errorf("%s is owned by %d:%d; want the data folder's %d:%d", p, uid, gid, service, service)
		}
	}
	if info, err := os.Stat(filepath.Dir(path)); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("the new folder: %v, %v; want mode 0700", info.Mode().Perm(), err)
	}
	// A folder that existed keeps its owner: root's stays root's.
	mine := filepath.Join(t.TempDir(), "mine")
	if err := Write(filepath.Join(mine, "f"), []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if uid, gid := owner(t, mine); uid != 0 || gid != 0 {
		t.Errorf("a folder made in root's folder is owned by %d:%d; want root's", uid, gid)
	}
}

func TestWriteInfoDescribesTheWrittenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	info, err := WriteInfo(path, []byte("12345"), 0o600)
	if err != nil {
		t.Fatal(err)
	}
	now, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(info, now) || info.Size() != 5 {
		t.Fatalf("WriteInfo returned %v (size %d); want the file now at the path", info.Name(), info.Size())
	}
}

func TestWriteLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	for i := range 20 {
		if err := Write(path, []byte("version "+strconv.Itoa(i)), 0o600); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	wantOnly(t, dir, "f")
	if data, _ := os.ReadFile(path); string(data) != "version 19" {
		t.Fatalf("file holds %q; want the last write", data)
	}
}

func TestFailedWriteLeavesNoTemporaryFiles(t *testing.T) {
	dir := t.TempDir()
	// A non-empty folder in the way makes the final rename fail, after the
	// temporary file was written.
	path := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Write(path, []byte("x"), 0o600); err == nil {
		t.Fatal("Write over a non-empty folder succeeded")
	}
	wantOnly(t, dir, "target")
	wantOnly(t, path, "inside")
}

func TestWriteIntoAFileInsteadOfAFolderFails(t *testing.T) {
	dir := t.TempDir()
	blocker := filepath.Join(dir, "not-a-folder")
	if err := os.WriteFile(blocker, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Write(filepath.Join(blocker, "f"), []byte("y"), 0o600); err == nil {
		t.Fatal("Write under a regular file succeeded")
	}
	wantOnly(t, dir, "not-a-folder")
}

func TestConcurrentWritersLeaveOneWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	bodies := make([]string, 16)
	for i := range bodies {
		bodies[i] = strings.Repeat(strconv.Itoa(i%10), 64<<10)
	}
	for round := range 5 {
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range bodies {
			wg.Go(func() {
				<-start
				if err := Write(path, []byte(bodies[i]), 0o600); err != nil {
					t.Error(err)
				}
			})
		}
		// A reader meanwhile sees one whole version, never a mix.
		wg.Go(func() {
			<-start
			for range 50 {
				data, err := os.ReadFile(path)
				if err != nil {
					continue // the first write has not landed yet
				}
				if !slices.Contains(bodies, string(data)) {
					t.Errorf("round %d: a reader saw a mix of writes (%d bytes)", round, len(data))
					return
				}
			}
		})
		close(start)
		wg.Wait()
		data, _ := os.ReadFile(path)
		if !slices.Contains(bodies, string(data)) {
			t.Fatalf("round %d: the file holds a mix of writes (%d bytes)", round, len(data))
		}
		wantOnly(t, dir, "f")
	}
}
