package session

import (
	"context"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/atomicfile"
)

// Files keeps each session in its own file under a folder: the first line
// is the time after which the file may be purged, the second the record.
// Files are replaced atomically, so a crash never leaves half a record.
// Each user's sessions are also listed as empty files named by id in a
// folder of the user's (see userDir), so listing or ending one user's
// sessions reads that folder, not everyone's sessions.
//
// Ends are told to the other Managers of the folder in this process at
// once. Another process (the CLI) cannot tell the server anything; it
// changes the accounts file and then waits MemoryBound, after which no
// server serves a session from before the change. (A refresh by the server
// may write back a file the CLI has just removed; the session is still
// over, because its stamp no longer matches the account.)
type Files struct {
	dir   string
	files atomicfile.FS // the os package's own, or confined (the CLI as root)
	// mu keeps a refresh from writing back a session that an end removed
	// while the refresh was under way.
	mu   sync.Mutex
	subs hub
}

// NewFiles returns the store of the sessions under dir. Stores on one
// folder must be shared (see the caller's caddy.UsagePool), so that they
// serialise their writes and hear each other's ends.
func NewFiles(dir string) *Files { return &Files{dir: dir} }

// NewFilesIn is NewFiles with the folder reached through files: a confined
// FS keeps every operation below its anchor, links included (the CLI run
// as root, see atomicfile.FS).
func NewFilesIn(files atomicfile.FS, dir string) *Files { return &Files{dir: dir, files: files} }

// fileNamePrefix marks session files, so the purge never touches anything else.
const fileNamePrefix = "s_"

func (s *Files) path(id string) string { return filepath.Join(s.dir, fileNamePrefix+id) }

// userDirPrefix marks the per-user index folders, named "u_" and the
// username in hex, so that no username ("..", say) names another folder.
const userDirPrefix = "u_"

func (s *Files) userDir(user string) string {
	return filepath.Join(s.dir, userDirPrefix+hex.EncodeToString([]byte(user)))
}

// Create lists a fresh id in the user's index, then writes rec under it:
// in that order, every session file is in its user's index (an entry whose
// file never came is dropped when the index is next read).
func (s *Files) Create(_ context.Context, rec Record, ttl time.Duration) (string, error) {
	id := NewID()
	if err := s.files.Write(filepath.Join(s.userDir(rec.User), id), nil, 0o600); err != nil {
		return "", hidePath(err)
	}
	return id, s.write(id, rec, ttl)
}

// justListed tells an index entry made in the last minute, whose session
// file may not be written yet.
func justListed(e fs.DirEntry) bool {
	info, err := e.Info()
	return err == nil && time.Since(info.ModTime()) < time.Minute
}

// Sessions lists the sessions in user's index, dropping the entries whose
// session file is gone (but for ones just made, see justListed).
func (s *Files) Sessions(_ context.Context, user string) ([]Stored, error) {
	dir := s.userDir(user)
	entries, err := s.files.ReadDir(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, hidePath(err)
	}
	var list []Stored
	for _, e := range entries {
		id := e.Name()
		if !validID(id) {
			continue
		}
		rec, err := s.Load(context.Background(), id)
		switch {
		case err == nil && rec.User == user:
			list = append(list, Stored{ID: id, Record: rec})
		case errors.Is(err, ErrNotFound) && justListed(e):
			// Create lists the id before it writes the session: this one
			// may be on its way.
		case err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt):
			_ = s.files.Remove(filepath.Join(dir, id))
		default:
			return nil, err
		}
	}
	return list, nil
}

// Load reads the record of id.
func (s *Files) Load(_ context.Context, id string) (Record, error) {
	if !validID(id) {
		return Record{}, ErrCorrupt
	}
	f, err := s.files.Open(s.path(id))
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

// Refresh rewrites the record of a session whose file still exists.
func (s *Files) Refresh(_ context.Context, id string, rec Record, ttl time.Duration) error {
	if !validID(id) {
		return ErrNotFound
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.files.Stat(s.path(id)); errors.Is(err, fs.ErrNotExist) {
		return ErrNotFound
	}
	return s.write(id, rec, ttl)
}

// End deletes the session's file, then has this process forget it: in
// that order, a read that begins after the drop finds no file, and one
// that began before cannot keep what it read (see memory.put).
func (s *Files) End(_ context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	rec, recErr := s.Load(context.Background(), id)
	s.mu.Lock()
	err := s.files.Remove(s.path(id))
	s.mu.Unlock()
	s.subs.dropSession(id)
	if recErr == nil {
		_ = s.files.Remove(filepath.Join(s.userDir(rec.User), id))
	}
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, hidePath(err)
	}
	return true, nil
}

// EndUser deletes every session in user's index and has this process
// forget that user's sessions. (Sessions made by releases without the
// index are not in it; they end by the account's change alone.)
func (s *Files) EndUser(ctx context.Context, user string) (int, error) {
	list, err := s.Sessions(ctx, user)
	n := 0
	for _, st := range list {
		ended, endErr := s.End(ctx, st.ID)
		if endErr != nil {
			err = errors.Join(err, endErr)
		} else if ended {
			n++
		}
	}
	s.subs.dropUser(user)
	return n, err
}

// UserChanged has this process forget user's sessions.
func (s *Files) UserChanged(_ context.Context, user string) error {
	s.subs.dropUser(user)
	return nil
}

func (s *Files) hub() *hub     { return &s.subs }
func (s *Files) trusted() bool { return true }

// Purge removes the session files whose time ran out before now, so the
// folder does not grow for ever, and tells how many it removed.
func (s *Files) Purge(now time.Time) (int, error) {
	return s.removeEach(func(head, _ string) bool {
		purgeAfter, err := strconv.ParseInt(head, 10, 64)
		return err != nil || now.Unix() > purgeAfter
	})
}

// removeEach reads every session file and removes those that doomed,
// given the file's two lines, picks.
func (s *Files) removeEach(doomed func(head, record string) bool) (int, error) {
	entries, err := s.files.ReadDir(s.dir)
	if err != nil {
		return 0, hidePath(err)
	}
	removed := 0
	for _, e := range entries {
		id, ok := strings.CutPrefix(e.Name(), fileNamePrefix)
		if !ok || !validID(id) {
			continue
		}
		data, err := s.files.ReadFile(s.path(id))
		if err != nil {
			continue // gone meanwhile
		}
		head, record, _ := strings.Cut(string(data), "\n")
		if !doomed(head, record) {
			continue
		}
		if ended, err := s.End(context.Background(), id); err != nil {
			return removed, err
		} else if ended {
			removed++
		}
	}
	return removed, nil
}

func (s *Files) write(id string, rec Record, ttl time.Duration) error {
	purgeAfter := time.Now().Add(ttl).Unix()
	data := append(strconv.AppendInt(nil, purgeAfter, 10), '\n')
	return hidePath(s.files.Write(s.path(id), encodeRecord(data, rec), 0o600))
}

// hidePath drops file names from an error (see atomicfile.HidePath).
func hidePath(err error) error { return atomicfile.HidePath(err, "session file") }
