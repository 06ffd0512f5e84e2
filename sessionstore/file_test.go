package sessionstore

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

const testCookieName = "sid"

func testCodec() securecookie.Codec {
	return securecookie.New(securecookie.GenerateRandomKey(32), nil)
}

func testOptions() *sessions.Options {
	return &sessions.Options{Path: "/", MaxAge: 3600, HttpOnly: true, SameSite: http.SameSiteLaxMode}
}

// newTestFiles is a Files store in a folder that does not exist yet, whose
// records live an hour unless ttl says otherwise.
func newTestFiles(t *testing.T, ttl func(*sessions.Session) time.Duration) *Files {
	t.Helper()
	if ttl == nil {
		ttl = func(*sessions.Session) time.Duration { return time.Hour }
	}
	return &Files{
		Dir:     filepath.Join(t.TempDir(), "sessions"),
		Codecs:  []securecookie.Codec{testCodec()},
		Options: testOptions(),
		TTL:     ttl,
	}
}

func testRecord(user string) Record {
	now := time.Now().Truncate(time.Millisecond)
	return Record{User: user, Created: now, Seen: now, Expires: now.Add(24 * time.Hour)}
}

// saveSession creates a session holding rec in store and returns it with
// the cookie Save set.
func saveSession(t *testing.T, store sessions.Store, rec Record) (*sessions.Session, *http.Cookie) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	sess, err := store.New(req, testCookieName)
	if err != nil {
		t.Fatalf("New without a cookie: %v", err)
	}
	if !sess.IsNew || sess.ID != "" {
		t.Fatalf("New without a cookie gave IsNew=%v ID=%q", sess.IsNew, sess.ID)
	}
	Put(sess, rec)
	w := httptest.NewRecorder()
	if err := store.Save(req, w, sess); err != nil {
		t.Fatalf("Save: %v", err)
	}
	return sess, responseCookie(t, w)
}

func responseCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == testCookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in the response: %v", testCookieName, w.Header())
	return nil
}

func requestWithCookie(c *http.Cookie) *http.Request {
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	return req
}

func wantSameRecord(t *testing.T, sess *sessions.Session, want Record) {
	t.Helper()
	got, ok := Get(sess)
	if !ok {
		t.Fatal("the loaded session has no record")
	}
	if got.User != want.User || got.Remember != want.Remember || !got.Created.Equal(want.Created) ||
		!got.Seen.Equal(want.Seen) || !got.Expires.Equal(want.Expires) {
		t.Fatalf("loaded record %+v; want %+v", got, want)
	}
}

func wantNoFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s exists (stat: %v); want it gone", path, err)
	}
}

// purgeAfter reads the first line of a session file.
func purgeAfter(t *testing.T, path string) time.Time {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(data), "\n")
	sec, err := strconv.ParseInt(head, 10, 64)
	if err != nil {
		t.Fatalf("first line of %s is %q: %v", path, head, err)
	}
	return time.Unix(sec, 0)
}

func TestNewIDIs256BitsOfBase32(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 52 || !validID(id) {
			t.Fatalf("NewID() = %q (%d chars); want 52 base32 characters", id, len(id))
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}

func TestFilesSaveWritesPrivateFileNamedByID(t *testing.T) {
	store := newTestFiles(t, nil)
	sess, cookie := saveSession(t, store, testRecord("alice"))
	if len(sess.ID) != 52 || !validID(sess.ID) {
		t.Fatalf("session id %q is not 52 base32 characters", sess.ID)
	}
	path := filepath.Join(store.Dir, "s_"+sess.ID)
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("Save did not create %s: %v", path, err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Fatalf("%s has mode %o; want 600", path, mode)
	}
	dirInfo, err := os.Stat(store.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := dirInfo.Mode().Perm(); mode != 0o700 {
		t.Fatalf("%s has mode %o; want 700", store.Dir, mode)
	}
	if strings.Contains(cookie.Value, sess.ID) {
		t.Fatal("the cookie carries the session id in clear instead of signed")
	}
	if !cookie.HttpOnly || cookie.Path != "/" || cookie.MaxAge != 3600 {
		t.Fatalf("cookie attributes %+v do not follow the store's options", cookie)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasSuffix(string(data), "|alice") || strings.Count(string(data), "\n") != 1 {
		t.Fatalf("%s holds %q; want a purge time line and the record", path, data)
	}
	if at := purgeAfter(t, path); at.Before(time.Now().Add(59*time.Minute)) || at.After(time.Now().Add(61*time.Minute)) {
		t.Fatalf("purge time %v is not about an hour from now (the TTL)", at)
	}
}

func TestFilesNewLoadsSavedSession(t *testing.T) {
	store := newTestFiles(t, nil)
	rec := testRecord("alice")
	rec.Remember = true
	saved, cookie := saveSession(t, store, rec)
	loaded, err := store.New(requestWithCookie(cookie), testCookieName)
	if err != nil {
		t.Fatalf("New with the saved cookie: %v", err)
	}
	if loaded.IsNew || loaded.ID != saved.ID {
		t.Fatalf("loaded IsNew=%v ID=%q; want the saved session %q", loaded.IsNew, loaded.ID, saved.ID)
	}
	wantSameRecord(t, loaded, rec)
	if loaded.Options == store.Options {
		t.Fatal("the loaded session shares the store's Options; a change to one session would change them all")
	}
}

func TestFilesNewWithoutCookieIsNewAndNoError(t *testing.T) {
	store := newTestFiles(t, nil)
	sess, err := store.New(httptest.NewRequest(http.MethodGet, "/", nil), testCookieName)
	if err != nil || !sess.IsNew {
		t.Fatalf("New without a cookie: IsNew=%v, %v", sess.IsNew, err)
	}
}

func TestFilesNewWithTamperedCookieIsNoSession(t *testing.T) {
	store := newTestFiles(t, nil)
	saved, cookie := saveSession(t, store, testRecord("alice"))
	otherKey, _ := securecookie.EncodeMulti(testCookieName, saved.ID, testCodec())
	pathLike, _ := securecookie.EncodeMulti(testCookieName, "../../../../etc/passwd", store.Codecs...)
	lowerID, _ := securecookie.EncodeMulti(testCookieName, strings.ToLower(saved.ID), store.Codecs...)
	flipped := []byte(cookie.Value)
	flipped[len(flipped)/2] ^= 1
	for _, tc := range []struct{ name, value string }{
		{"one bit flipped", string(flipped)},
		{"truncated", cookie.Value[:len(cookie.Value)-4]},
		{"signed with another key", otherKey},
		{"signed path instead of an id", pathLike},
		{"signed id of the wrong alphabet", lowerID},
		{"garbage", "not-a-cookie"},
		{"empty", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sess, err := store.New(requestWithCookie(&http.Cookie{Name: testCookieName, Value: tc.value}), testCookieName)
			if err == nil {
				t.Fatal("New accepted a tampered cookie")
			}
			if IsBackendError(err) {
				t.Fatalf("IsBackendError(%v) = true; a bad cookie means no session", err)
			}
			if !sess.IsNew {
				t.Fatal("New returned IsNew=false for a tampered cookie")
			}
			if _, ok := Get(sess); ok {
				t.Fatal("New put a record in the session of a tampered cookie")
			}
		})
	}
}

func TestFilesNewForDeletedSessionIsNotFound(t *testing.T) {
	store := newTestFiles(t, nil)
	saved, cookie := saveSession(t, store, testRecord("alice"))
	if err := store.Forget(saved.ID); err != nil {
		t.Fatal(err)
	}
	sess, err := store.New(requestWithCookie(cookie), testCookieName)
	if !errors.Is(err, ErrNotFound) || IsBackendError(err) || !sess.IsNew {
		t.Fatalf("New after Forget: IsNew=%v, %v; want ErrNotFound", sess.IsNew, err)
	}
}

func TestFilesNewWithCorruptFileIsCorrupt(t *testing.T) {
	store := newTestFiles(t, nil)
	saved, cookie := saveSession(t, store, testRecord("alice"))
	path := filepath.Join(store.Dir, "s_"+saved.ID)
	for _, data := range []string{"no newline at all", "123\ngarbage"} {
		if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := store.New(requestWithCookie(cookie), testCookieName)
		if !errors.Is(err, ErrCorrupt) || IsBackendError(err) {
			t.Fatalf("New with file %q: %v; want ErrCorrupt", data, err)
		}
	}
}

func TestFilesTouchRewritesLiveSession(t *testing.T) {
	store := newTestFiles(t, nil)
	rec := testRecord("alice")
	sess, cookie := saveSession(t, store, rec)
	rec.Seen = rec.Seen.Add(5 * time.Minute)
	Put(sess, rec)
	if err := store.Touch(sess, 3*time.Hour); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	path := filepath.Join(store.Dir, "s_"+sess.ID)
	if at := purgeAfter(t, path); at.Before(time.Now().Add(179*time.Minute)) || at.After(time.Now().Add(181*time.Minute)) {
		t.Fatalf("after Touch(3h) the purge time is %v; want about 3h from now", at)
	}
	loaded, err := store.New(requestWithCookie(cookie), testCookieName)
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, loaded, rec)
}

func TestFilesTouchNeverResurrectsDeletedSession(t *testing.T) {
	store := newTestFiles(t, nil)
	sess, cookie := saveSession(t, store, testRecord("alice"))
	if err := store.Forget(sess.ID); err != nil {
		t.Fatal(err)
	}
	if err := store.Touch(sess, time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch after Forget = %v; want ErrNotFound", err)
	}
	wantNoFile(t, filepath.Join(store.Dir, "s_"+sess.ID))
	if _, err := store.New(requestWithCookie(cookie), testCookieName); !errors.Is(err, ErrNotFound) {
		t.Fatalf("New after Forget and Touch = %v; want ErrNotFound", err)
	}
}

func TestFilesTouchOfForgedIDIsNotFound(t *testing.T) {
	store := newTestFiles(t, nil)
	for _, id := range []string{"", "../x", "short"} {
		sess := sessions.NewSession(store, testCookieName)
		sess.ID = id
		Put(sess, testRecord("alice"))
		if err := store.Touch(sess, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Touch with id %q = %v; want ErrNotFound", id, err)
		}
	}
	if entries, _ := os.ReadDir(store.Dir); len(entries) != 0 {
		t.Fatalf("Touch with forged ids wrote %d files", len(entries))
	}
}

// TestFilesTouchRacingForgetNeverResurrects runs logouts against refreshes:
// whichever wins, a forgotten session never comes back.
func TestFilesTouchRacingForgetNeverResurrects(t *testing.T) {
	store := newTestFiles(t, nil)
	for range 50 {
		sess, _ := saveSession(t, store, testRecord("alice"))
		var wg sync.WaitGroup
		wg.Add(2)
		go func() { defer wg.Done(); _ = store.Touch(sess, time.Hour) }()
		go func() { defer wg.Done(); _ = store.Forget(sess.ID) }()
		wg.Wait()
		wantNoFile(t, filepath.Join(store.Dir, "s_"+sess.ID))
	}
}

func TestFilesForgetRemoves(t *testing.T) {
	store := newTestFiles(t, nil)
	sess, _ := saveSession(t, store, testRecord("alice"))
	other, _ := saveSession(t, store, testRecord("bob"))
	if err := store.Forget(sess.ID); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	wantNoFile(t, filepath.Join(store.Dir, "s_"+sess.ID))
	if err := store.Forget(sess.ID); err != nil {
		t.Fatalf("Forget of a missing session = %v; want nil", err)
	}
	if _, err := os.Stat(filepath.Join(store.Dir, "s_"+other.ID)); err != nil {
		t.Fatalf("Forget removed another session: %v", err)
	}
}

func TestFilesForgetIgnoresForgedIDs(t *testing.T) {
	store := newTestFiles(t, nil)
	saveSession(t, store, testRecord("alice"))
	victim := filepath.Join(store.Dir, "cookie.key")
	if err := os.WriteFile(victim, []byte("k"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"../sessions/cookie.key", "/" + victim, ""} {
		if err := store.Forget(id); err != nil {
			t.Fatalf("Forget(%q) = %v", id, err)
		}
	}
	if _, err := os.Stat(victim); err != nil {
		t.Fatalf("Forget with a forged id removed %s", victim)
	}
}

func TestFilesSaveWithNegativeMaxAgeDeletes(t *testing.T) {
	store := newTestFiles(t, nil)
	sess, _ := saveSession(t, store, testRecord("alice"))
	sess.Options.MaxAge = -1
	w := httptest.NewRecorder()
	if err := store.Save(httptest.NewRequest(http.MethodPost, "/", nil), w, sess); err != nil {
		t.Fatalf("Save with MaxAge -1: %v", err)
	}
	wantNoFile(t, filepath.Join(store.Dir, "s_"+sess.ID))
	if c := responseCookie(t, w); c.Value != "" || c.MaxAge >= 0 {
		t.Fatalf("the deleting Save set cookie %+v; want an expired, empty one", c)
	}
}

func TestFilesPurgeRemovesOnlyExpiredSessionFiles(t *testing.T) {
	store := newTestFiles(t, func(s *sessions.Session) time.Duration {
		if rec, _ := Get(s); rec.User == "brief" {
			return time.Minute
		}
		return 2 * time.Hour
	})
	brief, _ := saveSession(t, store, testRecord("brief"))
	long, _ := saveSession(t, store, testRecord("long"))
	others := map[string]string{
		"cookie.key":            "a generated key",
		"random.txt":            "someone else's file",
		"s_notanid":             "1\nlooks like a session but is not named by an id",
		"s_" + NewID() + ".bak": "1\nbackup",
		".tmp-123":              "1\ntemporary",
	}
	for name, body := range others {
		if err := os.WriteFile(filepath.Join(store.Dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	n, err := store.Purge(time.Now())
	if err != nil || n != 0 {
		t.Fatalf("Purge(now) = %d, %v; want 0 removed", n, err)
	}
	n, err = store.Purge(time.Now().Add(10 * time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("Purge(now+10m) = %d, %v; want 1 removed", n, err)
	}
	wantNoFile(t, filepath.Join(store.Dir, "s_"+brief.ID))
	if _, err := os.Stat(filepath.Join(store.Dir, "s_"+long.ID)); err != nil {
		t.Fatalf("Purge(now+10m) removed the 2h session: %v", err)
	}
	n, err = store.Purge(time.Now().Add(3 * time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("Purge(now+3h) = %d, %v; want 1 removed", n, err)
	}
	wantNoFile(t, filepath.Join(store.Dir, "s_"+long.ID))
	for name, body := range others {
		data, err := os.ReadFile(filepath.Join(store.Dir, name))
		if err != nil || string(data) != body {
			t.Fatalf("Purge touched %s: %q, %v", name, data, err)
		}
	}
}

func TestFilesPurgeOfMissingFolderIsAnError(t *testing.T) {
	store := newTestFiles(t, nil)
	if _, err := store.Purge(time.Now()); err == nil {
		t.Fatal("Purge of a folder that does not exist succeeded")
	}
}

func TestWriteFileAtomicLeavesNoTempFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	path := filepath.Join(dir, "f")
	for i := range 20 {
		if err := WriteFileAtomic(path, []byte("version "+strconv.Itoa(i))); err != nil {
			t.Fatalf("write %d: %v", i, err)
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "f" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Fatalf("folder holds %v; want only f", names)
	}
	if data, _ := os.ReadFile(path); string(data) != "version 19" {
		t.Fatalf("file holds %q; want the last write", data)
	}
	info, _ := os.Stat(path)
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("mode %o; want 600", info.Mode().Perm())
	}
	dinfo, _ := os.Stat(dir)
	if dinfo.Mode().Perm() != 0o700 {
		t.Fatalf("folder mode %o; want 700", dinfo.Mode().Perm())
	}
}

func TestWriteFileAtomicFailureLeavesNoTempFiles(t *testing.T) {
	dir := t.TempDir()
	// A non-empty folder in the way makes the final rename fail.
	path := filepath.Join(dir, "target")
	if err := os.MkdirAll(filepath.Join(path, "inside"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := WriteFileAtomic(path, []byte("x")); err == nil {
		t.Fatal("WriteFileAtomic over a non-empty folder succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "target" {
			t.Fatalf("a failed write left %s behind", e.Name())
		}
	}
}

func TestWriteFileAtomicConcurrentWritersLeaveOneWholeFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "f")
	bodies := make([]string, 16)
	var wg sync.WaitGroup
	for i := range bodies {
		bodies[i] = strings.Repeat(strconv.Itoa(i%10), 4096)
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := WriteFileAtomic(path, []byte(bodies[i])); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	data, _ := os.ReadFile(path)
	whole := false
	for _, b := range bodies {
		whole = whole || string(data) == b
	}
	if !whole {
		t.Fatalf("the file holds a mix of writes (%d bytes)", len(data))
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("concurrent writes left %d files; want 1", len(entries))
	}
}
