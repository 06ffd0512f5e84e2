package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func newTestFiles(t *testing.T) *Files {
	return NewFiles(filepath.Join(t.TempDir(), "sessions"))
}

// purgeDeadline reads the first line of a session file.
func purgeDeadline(t *testing.T, s *Files, id string) int64 {
	t.Helper()
	data, err := os.ReadFile(s.path(id))
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(data), "\n")
	sec, err := strconv.ParseInt(head, 10, 64)
	if err != nil {
		t.Fatalf("first line of the session file is %q: %v", head, err)
	}
	return sec
}

func fileNames(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (stat: %v); want it gone", filepath.Base(path), err)
	}
}

func TestFilesArePrivateAndNamedByID(t *testing.T) {
	s := newTestFiles(t)
	rec := testRecord("alice")
	before := time.Now()
	id, err := s.Create(context.Background(), rec, 90*time.Minute)
	after := time.Now()
	if err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(filepath.Join(s.dir, "s_"+id))
	if err != nil {
		t.Fatalf("no file s_<id>: %v", err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("session file mode %o; want 600", mode)
	}
	if info, err := os.Stat(s.dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("sessions folder: %v, %v; want mode 700", info.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(s.path(id))
	head, record, _ := strings.Cut(string(data), "\n")
	if record != string(encodeRecord(nil, rec)) {
		t.Errorf("second line %q; want the record %q", record, encodeRecord(nil, rec))
	}
	deadline, err := strconv.ParseInt(head, 10, 64)
	if err != nil || deadline < before.Add(90*time.Minute).Unix() || deadline > after.Add(90*time.Minute).Unix() {
		t.Errorf("first line %q; want the purge deadline, Unix seconds ttl from now", head)
	}
	if names := fileNames(t, s.dir); !slices.Equal(names, []string{"s_" + id, "u_616c696365"}) {
		t.Errorf("folder holds %q; want only the session file and alice's index", names)
	}
	if names := fileNames(t, s.userDir("alice")); !slices.Equal(names, []string{id}) {
		t.Errorf("alice's index holds %q; want only the session's id", names)
	}
}

func TestFilesRefreshMovesThePurgeDeadline(t *testing.T) {
	s := newTestFiles(t)
	rec := testRecord("alice")
	id := mustCreate(t, s, rec)
	before := time.Now()
	if err := s.Refresh(context.Background(), id, rec, 5*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := purgeDeadline(t, s, id); got < before.Add(5*time.Hour).Unix() {
		t.Fatalf("purge deadline after Refresh(5h) is %v", time.Unix(got, 0))
	}
}

func TestFilesWithoutANewlineAreCorrupt(t *testing.T) {
	s := newTestFiles(t)
	id := mustCreate(t, s, testRecord("alice"))
	for _, data := range []string{"", "no newline at all", string(encodeRecord(nil, testRecord("alice")))} {
		if err := os.WriteFile(s.path(id), []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Load(context.Background(), id); !errors.Is(err, ErrCorrupt) || IsBackendError(err) {
			t.Fatalf("Load of file %q = %v; want ErrCorrupt", data, err)
		}
	}
}

func TestFilesPurgeRemovesOnlyExpiredSessionFiles(t *testing.T) {
	s := newTestFiles(t)
	ctx := context.Background()
	brief, err := s.Create(ctx, testRecord("brief"), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	long, err := s.Create(ctx, testRecord("long"), 2*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	unreadable := NewID()
	others := map[string]string{
		"cookie.key":             "a generated key",
		"random.txt":             "1\nsomeone else's file",
		"s_notanid":              "1\nlooks like a session but is not named by an id",
		"s_" + NewID() + ".bak":  "1\nbackup",
		".s_" + NewID() + ".tmp": "1\na temporary file",
	}
	for name, body := range others {
		if err := os.WriteFile(filepath.Join(s.dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(s.path(unreadable), []byte("not a deadline\n"+string(encodeRecord(nil, testRecord("x")))), 0o600); err != nil {
		t.Fatal(err)
	}

	// The first line is the deadline: up to and at it the file stays,
	// the second after it is gone.
	at := time.Unix(purgeDeadline(t, s, brief), 0)
	if n, err := s.Purge(at); n != 1 || err != nil {
		t.Fatalf("Purge at brief's deadline = %d, %v; want 1 (only the file whose deadline is unreadable)", n, err)
	}
	wantNoFile(t, s.path(unreadable))
	testRecordLike(t, s, brief)
	if n, err := s.Purge(at.Add(time.Second)); n != 1 || err != nil {
		t.Fatalf("Purge after brief's deadline = %d, %v; want 1", n, err)
	}
	wantNoFile(t, s.path(brief))
	testRecordLike(t, s, long)
	if n, err := s.Purge(time.Unix(purgeDeadline(t, s, long), 0).Add(time.Second)); n != 1 || err != nil {
		t.Fatalf("Purge after long's deadline = %d, %v; want 1", n, err)
	}
	wantNoFile(t, s.path(long))
	for name, body := range others {
		data, err := os.ReadFile(filepath.Join(s.dir, name))
		if err != nil || string(data) != body {
			t.Errorf("Purge touched %s: %q, %v", name, data, err)
		}
	}
}

func TestFilesPurgeEndsSessionsInMemoryToo(t *testing.T) {
	s := newTestFiles(t)
	clock := newFakeClock()
	us := users.NewFileStore(filepath.Join(t.TempDir(), "users.json"))
	m := newManager(t, testConfig(clock), s, us)
	cookie := login(t, m, createAccount(t, us, "alice"), false, nil)
	wantUser(t, m, cookie, "alice")
	if n, err := s.Purge(time.Now().Add(400 * 24 * time.Hour)); n != 1 || err != nil {
		t.Fatalf("Purge = %d, %v", n, err)
	}
	wantNoSession(t, m, cookie, "after its file was purged")
}

func TestFilesLeaveNoTemporaryFiles(t *testing.T) {
	s := newTestFiles(t)
	ctx := context.Background()
	rec := testRecord("alice")
	id := mustCreate(t, s, rec)
	kept := mustCreate(t, s, rec)
	for range 10 {
		if err := s.Refresh(ctx, id, rec, time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.End(ctx, id); err != nil {
		t.Fatal(err)
	}
	_ = s.Refresh(ctx, id, rec, time.Hour)
	if _, err := s.Purge(time.Now()); err != nil {
		t.Fatal(err)
	}
	if names := fileNames(t, s.dir); !slices.Equal(names, []string{"s_" + kept, "u_616c696365"}) {
		t.Fatalf("folder holds %q; want only s_<kept id> and alice's index", names)
	}
	if names := fileNames(t, s.userDir("alice")); !slices.Equal(names, []string{kept}) {
		t.Fatalf("alice's index holds %q; want only the kept id", names)
	}
}

func TestFilesEndUserOfAMissingFolderIsNothing(t *testing.T) {
	s := newTestFiles(t)
	if n, err := s.EndUser(context.Background(), "alice"); n != 0 || err != nil {
		t.Fatalf("EndUser before any session = %d, %v; want 0, nil", n, err)
	}
}

func TestFilesForgedIDsTouchNoOtherFile(t *testing.T) {
	s := newTestFiles(t)
	ctx := context.Background()
	id := mustCreate(t, s, testRecord("alice"))
	victim := filepath.Join(s.dir, "cookie.key")
	if err := os.WriteFile(victim, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, forged := range []string{"../sessions/cookie.key", "/" + victim, "", "cookie.key", "../" + filepath.Base(s.dir) + "/s_" + id} {
		if ended, err := s.End(ctx, forged); ended || err != nil {
			t.Errorf("End(%q) = %v, %v", forged, ended, err)
		}
		if err := s.Refresh(ctx, forged, testRecord("mallory"), time.Hour); !errors.Is(err, ErrNotFound) {
			t.Errorf("Refresh(%q) = %v; want ErrNotFound", forged, err)
		}
	}
	if data, err := os.ReadFile(victim); err != nil || string(data) != "k" {
		t.Fatalf("a forged id reached %s: %q, %v", victim, data, err)
	}
	testRecordLike(t, s, id)
}
