package session

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
//
// Ends are told to the other Managers of the folder in this process at
// once. Another process (the CLI) cannot tell the server anything; it
// changes the accounts file and then waits MemoryBound, after which no
// server serves a session from before the change. (A refresh by the server
// may write back a file the CLI has just removed; the session is still
// over, because its stamp no longer matches the account.)
type Files struct {
	dir string
	// mu keeps a refresh from writing back a session that an end removed
	// while the refresh was under way.
	mu   sync.Mutex
	subs hub
}

// NewFiles returns the store of the sessions under dir. Stores on one
// folder must be shared (see the caller's caddy.UsagePool), so that they
// serialise their writes and hear each other's ends.
func NewFiles(dir string) *Files { return &Files{dir: dir} }

// fileNamePrefix marks session files, so the purge never touches anything else.
const fileNamePrefix = "s_"

func (s *Files) path(id string) string { return filepath.Join(s.dir, fileNamePrefix+id) }

// Create writes rec under a fresh id.
func (s *Files) Create(_ context.Context, rec Record, ttl time.Duration) (string, error) {
	id := NewID()
	return id, s.write(id, rec, ttl)
}

// Load reads the record of id.
func (s *Files) Load(_ context.Context, id string) (Record, error) {
	if !validID(id) {
		return Record{}, ErrCorrupt
	}
	f, err := os.Open(s.path(id))
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
	if _, err := os.Stat(s.path(id)); errors.Is(err, fs.ErrNotExist) {
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
	s.mu.Lock()
	err := os.Remove(s.path(id))
	s.mu.Unlock()
	s.subs.dropSession(id)
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, hidePath(err)
	}
	return true, nil
}

// EndUser deletes every session file of user and has this process forget
// that user's sessions. It walks the folder: ending all of a user's
// sessions is an operator's rare action.
func (s *Files) EndUser(ctx context.Context, user string) (int, error) {
	n, err := s.removeEach(func(_, record string) bool {
		rec, err := parseRecord(record)
		return err == nil && rec.User == user
	})
	s.subs.dropUser(user)
	if errors.Is(err, fs.ErrNotExist) {
		return n, nil
	}
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
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return 0, hidePath(err)
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
	return hidePath(atomicfile.Write(s.path(id), encodeRecord(data, rec), 0o600))
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
