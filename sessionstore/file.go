package sessionstore

import (
	"encoding/base32"
	"errors"
	"fmt"
	"io"
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

	mem *recent // nil: no memory of recent reads
}

// Remember makes Lookup keep what it read for ttl. A remembered session is
// still checked on every hit with one stat of its file, so a session that a
// logout, an expiry or the CLI (another process) deleted is never served.
func (s *Files) Remember(ttl time.Duration) { s.mem = newRecent(ttl) }

// fileNamePrefix marks session files, so the purge never touches anything else.
const fileNamePrefix = "s_"

// dirLocks serialises Touch against delete for each folder within this
// process, and lockAcrossProcesses against the CLI, so a refresh cannot
// write back a session that a logout or a revocation just removed.
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
	id, rec, err := s.Lookup(name, c.Value, false)
	sess.ID = id
	if err != nil {
		return sess, err
	}
	Put(sess, rec)
	sess.IsNew = false
	return sess, nil
}

// Lookup finds the session a cookie value names: from memory when it was
// read a moment ago and its file is still the one read, else by checking
// the signature and reading the file (always, when fresh is set).
func (s *Files) Lookup(name, value string, fresh bool) (string, Record, error) {
	var gen uint64
	if s.mem != nil {
		var e recentEntry
		var ok bool
		e, ok, gen = s.mem.get(value)
		if ok && !fresh {
			if c, ok := e.check.(fileCheck); ok {
				if id, found := identify(c.path); found && id == c.id {
					return e.id, e.rec, nil
				}
			}
		}
	}
	var id string
	if err := securecookie.DecodeMulti(name, value, &id, s.Codecs...); err != nil {
		return "", Record{}, err
	}
	if !validID(id) {
		return id, Record{}, ErrCorrupt
	}
	path := s.path(id)
	before, _ := identify(path)
	rec, err := s.load(path)
	if err != nil {
		return id, Record{}, err
	}
	if s.mem != nil {
		// Remember only a file that stayed the same file while it was read.
		if after, found := identify(path); found && after == before {
			s.mem.put(value, recentEntry{id: id, rec: rec, check: fileCheck{path, after}}, gen)
		}
	}
	return id, rec, nil
}

// fileCheck is what a remembered hit checks: the file is still there and
// is still the one that was read.
type fileCheck struct {
	path string
	id   fileID
}

func (s *Files) load(path string) (Record, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, hidePath(err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 1024))
	if err != nil {
		return Record{}, hidePath(err)
	}
	_, line, ok := strings.Cut(string(data), "\n")
	if !ok {
		return Record{}, ErrCorrupt
	}
	return parseRecord(line)
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
	defer lockAcrossProcesses(s.Dir)()
	if _, err := os.Stat(s.path(sess.ID)); errors.Is(err, fs.ErrNotExist) {
		if s.mem != nil {
			s.mem.drop(sess.ID)
		}
		return ErrNotFound
	}
	if err := s.write(sess, ttl); err != nil {
		return err
	}
	if s.mem != nil {
		rec, _ := Get(sess)
		path := s.path(sess.ID)
		if id, found := identify(path); found {
			s.mem.update(sess.ID, rec, fileCheck{path, id})
		} else {
			s.mem.drop(sess.ID)
		}
	}
	return nil
}

// Forget deletes one session's record; a missing one is not an error.
func (s *Files) Forget(id string) error {
	if !validID(id) {
		return nil
	}
	if s.mem != nil {
		s.mem.drop(id)
	}
	mu := s.lock()
	mu.Lock()
	defer mu.Unlock()
	defer lockAcrossProcesses(s.Dir)()
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return hidePath(err)
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
	return hidePath(WriteFileAtomic(s.path(sess.ID), append(data, rec...)))
}

// hidePath drops file names from an error: a session file is named after
// its session id, which must never reach a log.
func hidePath(err error) error {
	var pathErr *fs.PathError
	if errors.As(err, &pathErr) {
		return fmt.Errorf("session file: %s: %w", pathErr.Op, pathErr.Err)
	}
	var linkErr *os.LinkError
	if errors.As(err, &linkErr) {
		return fmt.Errorf("session file: %s: %w", linkErr.Op, linkErr.Err)
	}
	return err
}

// Purge removes the session files whose time ran out before now, so the
// folder does not grow for ever. It returns how many it removed.
func (s *Files) Purge(now time.Time) (int, error) {
	return s.forgetEach(func(head, _ string) bool {
		purgeAfter, err := strconv.ParseInt(head, 10, 64)
		return err != nil || now.Unix() > purgeAfter
	})
}

// forgetEach reads every session file and deletes those for which doomed,
// given the file's two lines, says so; it returns how many it deleted.
func (s *Files) forgetEach(doomed func(head, record string) bool) (int, error) {
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
			continue // gone meanwhile
		}
		head, record, _ := strings.Cut(string(data), "\n")
		if !doomed(head, record) {
			continue
		}
		if err := s.Forget(id); err != nil {
			return removed, err
		}
		removed++
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
		return err
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
