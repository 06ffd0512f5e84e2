package onetime

import (
	"context"
	"errors"
	"io/fs"
	"path/filepath"
	"strings"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/atomicfile"
)

// Files keeps each token's grant in a file named by its hash, in a folder
// of its own. Use renames the file away before reading it: a rename
// succeeds once, so only one caller, in any process, gets the grant.
type Files struct {
	dir   string
	files atomicfile.FS // the os package's own, or confined (the CLI as root)
}

// NewFiles returns the tokens under dir.
func NewFiles(dir string) *Files { return &Files{dir: dir} }

// NewFilesIn is NewFiles with the folder reached through files: a confined
// FS keeps every operation below its anchor, links included (the CLI run
// as root, see atomicfile.FS).
func NewFilesIn(files atomicfile.FS, dir string) *Files { return &Files{dir: dir, files: files} }

func (s *Files) path(token string) string { return filepath.Join(s.dir, hash(token)) }

func (s *Files) Issue(ctx context.Context, g Grant) (string, error) {
	token := newToken()
	return token, s.Restore(ctx, token, g)
}

func (s *Files) Restore(_ context.Context, token string, g Grant) error {
	if !validToken(token) {
		return ErrInvalid
	}
	data, err := encode(g)
	if err != nil {
		return err
	}
	return hidePath(s.files.Write(s.path(token), data, 0o600))
}

func (s *Files) Peek(_ context.Context, token string, now time.Time) (Grant, error) {
	if !validToken(token) {
		return Grant{}, ErrInvalid
	}
	return s.readFile(s.path(token), now)
}

func (s *Files) Use(_ context.Context, token string, now time.Time) (Grant, error) {
	if !validToken(token) {
		return Grant{}, ErrInvalid
	}
	taken := s.path(token) + ".used-" + newToken()[:16]
	if err := s.files.Rename(s.path(token), taken); errors.Is(err, fs.ErrNotExist) {
		return Grant{}, ErrInvalid
	} else if err != nil {
		return Grant{}, hidePath(err)
	}
	g, err := s.readFile(taken, now)
	if errors.Is(err, ErrExpired) {
		// Kept, so that the link goes on saying it expired.
		return g, errors.Join(err, hidePath(s.files.Rename(taken, s.path(token))))
	}
	s.files.Remove(taken)
	return g, err
}

// spentPath is where Spend records a value: a name no token's file can
// have (those are the bare hash).
func (s *Files) spentPath(value string) string { return filepath.Join(s.dir, spentPrefix+hash(value)) }

const spentPrefix = "spent-"

// Spend creates the value's file exclusively: creation succeeds once, in
// any process. The file holds when Purge may remove it: until, plus
// spentMargin.
func (s *Files) Spend(_ context.Context, value string, now, until time.Time) (bool, error) {
	if !now.Before(until) {
		return false, nil // its time is over: it serves no more
	}
	keep := until.Add(spentMargin)
	err := s.files.CreateNew(s.spentPath(value), []byte(keep.UTC().Format(time.RFC3339Nano)), 0o600)
	if errors.Is(err, fs.ErrExist) {
		return false, nil
	}
	// Written whole or not, a file that was made spends the value; one that
	// could not be made is a failure of the store.
	return err == nil, hidePath(err)
}

func (s *Files) readFile(path string, now time.Time) (Grant, error) {
	data, err := s.files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Grant{}, ErrInvalid
	}
	if err != nil {
		return Grant{}, hidePath(err)
	}
	g, err := decode(data)
	if err != nil {
		return Grant{}, err
	}
	return live(g, now)
}

// Purge removes the tokens that may be forgotten (expired for a while),
// leftovers of a Use that did not finish among them, and the spent values
// whose time is over, and tells how many.
func (s *Files) Purge(now time.Time) (int, error) {
	entries, err := s.files.ReadDir(s.dir)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, hidePath(err)
	}
	n := 0
	for _, e := range entries {
		// A ".used-" file is a Use under way, or one that never finished
		// (a crash): it goes like the others, when its grant may be
		// forgotten; one that cannot be read goes after a day.
		// A spent value's file goes once its time, and the margin after
		// it, are over; one whose time was never written (a crash), after
		// a day.
		p := filepath.Join(s.dir, e.Name())
		data, err := s.files.ReadFile(p)
		if err != nil {
			continue
		}
		var stale bool
		if strings.HasPrefix(e.Name(), spentPrefix) {
			until, terr := time.Parse(time.RFC3339Nano, string(data))
			stale = terr == nil && !now.Before(until)
			err = terr
		} else {
			var g Grant
			g, err = decode(data)
			stale = err == nil && !now.Before(keepUntil(g))
		}
		if err != nil && (strings.Contains(e.Name(), ".used-") || strings.HasPrefix(e.Name(), spentPrefix)) {
			info, ierr := e.Info()
			stale = ierr == nil && now.Sub(info.ModTime()) > 24*time.Hour
		}
		if stale && s.files.Remove(p) == nil {
			n++
		}
	}
	return n, nil
}

// hidePath drops file names from an error (see atomicfile.HidePath).
func hidePath(err error) error { return atomicfile.HidePath(err, "token file") }
