package sessionstore

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Files keeps each session in its own file under Dir: the first line is the
// time after which the file may be purged, the second the record. Files are
// replaced atomically, so a crash never leaves half a record.
type Files struct {
	Dir     string
	Codecs  []securecookie.Codec
	Options *sessions.Options
	// TTL tells how long a newly created record may live before it is purged.
	TTL func(*sessions.Session) time.Duration
}

// fileNamePrefix marks session files, so the purge never touches anything else.
const fileNamePrefix = "s_"

// dirLocks serialises Touch against delete for each folder, so a refresh
// cannot write back a session that a logout just removed.
var dirLocks sync.Map // cleaned dir → *sync.Mutex

func (s *Files) lock() *sync.Mutex {
	mu, _ := dirLocks.LoadOrStore(filepath.Clean(s.Dir), new(sync.Mutex))
	return mu.(*sync.Mutex)
}

// NewID returns a fresh session id: 256 bits from crypto/rand, in base32,
// as redistore makes them.
func NewID() string {
	return strings.TrimRight(base32.StdEncoding.EncodeToString(securecookie.GenerateRandomKey(32)), "=")
}

// validID accepts only what NewID makes, so a forged id cannot name a path.
func validID(id string) bool {
	if len(id) != 52 {
		return false
	}
	for _, c := range id {
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

func (s *Files) path(id string) string { return filepath.Join(s.Dir, fileNamePrefix+id) }

// Get loads the session named in the request's cookie.
func (s *Files) Get(r *http.Request, name string) (*sessions.Session, error) {
	return s.New(r, name)
}

// New loads the session named in the request's cookie; without a valid
// cookie and record it returns a new, empty session and why.
func (s *Files) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	options := *s.Options
	sess.Options = &options
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	if err := securecookie.DecodeMulti(name, c.Value, &sess.ID, s.Codecs...); err != nil {
		return sess, err
	}
	if !validID(sess.ID) {
		return sess, ErrCorrupt
	}
	data, err := os.ReadFile(s.path(sess.ID))
	if errors.Is(err, fs.ErrNotExist) {
		return sess, ErrNotFound
	}
	if err != nil {
		return sess, err
	}
	_, rec, ok := strings.Cut(string(data), "\n")
	if !ok {
		return sess, ErrCorrupt
	}
	if err := (Serializer{}).Deserialize([]byte(rec), sess); err != nil {
		return sess, err
	}
	sess.IsNew = false
	return sess, nil
}

// Save writes the session and its cookie; a negative MaxAge deletes both.
// A session without an id gets a fresh one, which is how logins get theirs.
func (s *Files) Save(r *http.Request, w http.ResponseWriter, sess *sessions.Session) error {
	if sess.Options.MaxAge < 0 {
		if sess.ID != "" {
			if err := s.Forget(sess.ID); err != nil {
				return err
			}
		}
		http.SetCookie(w, sessions.NewCookie(sess.Name(), "", sess.Options))
		return nil
	}
	if sess.ID == "" {
		sess.ID = NewID()
	}
	if err := s.write(sess, s.TTL(sess)); err != nil {
		return err
	}
	encoded, err := securecookie.EncodeMulti(sess.Name(), sess.ID, s.Codecs...)
	if err != nil {
		return err
	}
	http.SetCookie(w, sessions.NewCookie(sess.Name(), encoded, sess.Options))
	return nil
}

// Touch rewrites an existing record; ErrNotFound when it is gone.
func (s *Files) Touch(sess *sessions.Session, ttl time.Duration) error {
	if !validID(sess.ID) {
		return ErrNotFound
	}
	mu := s.lock()
	mu.Lock()
	defer mu.Unlock()
	if _, err := os.Stat(s.path(sess.ID)); errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return s.write(sess, ttl)
}

// Forget deletes one session's record; a missing one is not an error.
func (s *Files) Forget(id string) error {
	if !validID(id) {
		return nil
	}
	mu := s.lock()
	mu.Lock()
	defer mu.Unlock()
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (s *Files) write(sess *sessions.Session, ttl time.Duration) error {
	rec, err := (Serializer{}).Serialize(sess)
	if err != nil {
		return err
	}
	purgeAfter := time.Now().Add(ttl).Unix()
	data := append(strconv.AppendInt(nil, purgeAfter, 10), '\n')
	return WriteFileAtomic(s.path(sess.ID), append(data, rec...))
}

// Purge removes the session files whose time ran out before now, so the
// folder does not grow for ever. It returns how many it removed.
func (s *Files) Purge(now time.Time) (int, error) {
	entries, err := os.ReadDir(s.Dir)
	if err != nil {
		return 0, err
	}
	removed := 0
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), fileNamePrefix)
		if !ok || !validID(id) {
			continue
		}
		data, err := os.ReadFile(s.path(id))
		if err != nil {
			continue
		}
		head, _, _ := strings.Cut(string(data), "\n")
		purgeAfter, err := strconv.ParseInt(head, 10, 64)
		if err == nil && now.Unix() <= purgeAfter {
			continue
		}
		if s.Forget(id) == nil {
			removed++
		}
	}
	return removed, nil
}

// WriteFileAtomic replaces path with data: a temporary file in the same
// folder, fsync, rename, then fsync of the folder. Readers see the old file
// or the new one, never a mix; mode 0600, folders 0700.
func WriteFileAtomic(path string, data []byte) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("replacing %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
