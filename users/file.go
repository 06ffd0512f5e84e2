package users

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/caddy-session-auth/caddy-session-auth/internal/atomicfile"
)

// FileStore keeps every account in one JSON file: an array of Account sorted
// by username, so the file diffs cleanly and the operator's CLI can edit it
// while the server runs. It suits a single server; for several, use Redis.
//
// Within one process, all FileStores on one path share a lock and a cache.
// Writes from another process (the CLI) are picked up when the file's size,
// modification time or identity changes. Between processes, every change
// holds the lock of the file's folder (atomicfile.FS.LockFolder, a flock)
// from its read to its rename, so a change the CLI makes while the server
// writes (a login's last-login time) is never undone by the server's
// rename of a file it read before. (Where there is no flock, Windows, two
// processes writing at the same moment are not coordinated: the later
// rename wins.)
type FileStore struct {
	path  string
	files atomicfile.FS
	state *fileState
}

// fileState is shared by every FileStore on one path in this process.
type fileState struct {
	mu       sync.Mutex // serialises reads of the cache and read-modify-write
	accounts map[string]Account
	info     fs.FileInfo // of the file the cache was read from; nil: none yet
}

var (
	fileStatesMu sync.Mutex
	fileStates   = map[string]*fileState{}
)

// NewFileStore returns a store kept in the file at path. The file and its
// parent directories are created on the first write; until then the store
// is empty.
func NewFileStore(path string) *FileStore { return NewFileStoreIn(atomicfile.FS{}, path) }

// NewFileStoreIn is NewFileStore with its file reached through files: a
// confined FS keeps every read and write of it below its anchor, links
// included (the CLI run as root, see atomicfile.FS).
func NewFileStoreIn(files atomicfile.FS, path string) *FileStore {
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	path = filepath.Clean(path)
	fileStatesMu.Lock()
	defer fileStatesMu.Unlock()
	st, ok := fileStates[path]
	if !ok {
		st = &fileState{}
		fileStates[path] = st
	}
	return &FileStore{path: path, files: files, state: st}
}

var _ Store = (*FileStore)(nil)

// Get returns the account for username, or ErrNotFound.
func (s *FileStore) Get(ctx context.Context, username string) (Account, error) {
	if err := ctx.Err(); err != nil {
		return Account{}, err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	if err := s.refresh(); err != nil {
		return Account{}, err
	}
	a, ok := s.state.accounts[username]
	if !ok {
		return Account{}, ErrNotFound
	}
	return cloneAccount(a), nil
}

// List returns every account, sorted by username.
func (s *FileStore) List(ctx context.Context) ([]Account, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	if err := s.refresh(); err != nil {
		return nil, err
	}
	return sortedAccounts(s.state.accounts), nil
}

// Create adds a; ErrTaken if the username exists.
func (s *FileStore) Create(ctx context.Context, a Account) error {
	a, err := prepareNew(a)
	if err != nil {
		return err
	}
	return s.modify(ctx, func(m map[string]Account) error {
		if _, ok := m[a.Username]; ok {
			return ErrTaken
		}
		m[a.Username] = cloneAccount(a)
		return nil
	})
}

// Update applies change to an existing account.
func (s *FileStore) Update(ctx context.Context, username string, change func(*Account) error) error {
	return s.modify(ctx, func(m map[string]Account) error {
		a, ok := m[username]
		if !ok {
			return ErrNotFound
		}
		a = cloneAccount(a)
		if err := change(&a); err != nil {
			return err
		}
		if err := prepareChanged(&a); err != nil {
			return err
		}
		a.Username = username
		m[username] = a
		return nil
	})
}

// Delete removes an account; ErrNotFound if there was none.
func (s *FileStore) Delete(ctx context.Context, username string) error {
	return s.modify(ctx, func(m map[string]Account) error {
		if _, ok := m[username]; !ok {
			return ErrNotFound
		}
		delete(m, username)
		return nil
	})
}

// modify re-reads the file under the locks, whatever the cache holds (the
// CLI may have written within the same clock tick), applies change, and
// writes the result atomically. If change fails, nothing is written. It
// holds this process's lock, then the folder's, shared with every process
// that writes the file (made first, if missing, to be locked).
func (s *FileStore) modify(ctx context.Context, change func(map[string]Account) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	s.state.mu.Lock()
	defer s.state.mu.Unlock()
	unlock, err := s.files.LockFolder(ctx, filepath.Dir(s.path))
	if err != nil {
		return fmt.Errorf("users file %s: %w", s.path, err)
	}
	defer unlock()
	s.state.info = nil // force a fresh read
	if err := s.refresh(); err != nil {
		return err
	}
	m := make(map[string]Account, len(s.state.accounts)+1)
	for k, v := range s.state.accounts {
		m[k] = v
	}
	if err := change(m); err != nil {
		return err
	}
	info, err := s.write(m)
	if err != nil {
		return err
	}
	s.state.accounts, s.state.info = m, info
	return nil
}

// refresh re-reads the file into the cache if it changed since the last
// read. A missing file is an empty store; an unreadable or corrupt one is an
// error, never an empty store, because the next write would erase it.
func (s *FileStore) refresh() error {
	info, err := s.files.Stat(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		s.state.accounts, s.state.info = map[string]Account{}, nil
		return nil
	}
	if err != nil {
		return fmt.Errorf("users file %s: %w", s.path, err)
	}
	if old := s.state.info; old != nil && os.SameFile(old, info) &&
		old.Size() == info.Size() && old.ModTime().Equal(info.ModTime()) {
		return nil
	}
	data, err := s.files.ReadFile(s.path)
	if err != nil {
		return fmt.Errorf("users file %s: %w", s.path, err)
	}
	m, err := parseUsersFile(data)
	if err != nil {
		return fmt.Errorf("users file %s is corrupt (fix or remove it): %w", s.path, err)
	}
	s.state.accounts, s.state.info = m, info
	return nil
}

// parseUsersFile decodes the file. An empty file (say, made by touch) is an
// empty store; duplicate or empty usernames are refused as corruption.
func parseUsersFile(data []byte) (map[string]Account, error) {
	m := map[string]Account{}
	if len(bytes.TrimSpace(data)) == 0 {
		return m, nil
	}
	var list []Account
	if err := json.Unmarshal(data, &list); err != nil {
		return nil, err
	}
	for i, a := range list {
		if a.Username == "" {
			return nil, fmt.Errorf("entry %d has no username", i+1)
		}
		if _, dup := m[a.Username]; dup {
			return nil, fmt.Errorf("username %q appears twice", a.Username)
		}
		a.Roles = readRoles(a.Roles)
		m[a.Username] = a
	}
	return m, nil
}

// write replaces the file atomically (see atomicfile: a crash leaves the
// old file or the new one, and a replaced file keeps its owner and mode).
// It returns the new file's FileInfo, so that a later write by another
// process is told from ours.
func (s *FileStore) write(m map[string]Account) (fs.FileInfo, error) {
	data, err := json.MarshalIndent(sortedAccounts(m), "", "  ")
	if err != nil {
		return nil, fmt.Errorf("users file %s: encoding: %w", s.path, err)
	}
	info, err := s.files.WriteInfo(s.path, append(data, '\n'), 0o600)
	if err != nil {
		return nil, fmt.Errorf("users file %s: %w", s.path, err)
	}
	return info, nil
}

func sortedAccounts(m map[string]Account) []Account {
	list := make([]Account, 0, len(m))
	for _, a := range m {
		list = append(list, cloneAccount(a))
	}
	slices.SortFunc(list, func(a, b Account) int { return strings.Compare(a.Username, b.Username) })
	return list
}

// cloneAccount copies the hash, the roles and the second factors, so callers cannot change the
// cache.
func cloneAccount(a Account) Account {
	a.Hash = bytes.Clone(a.Hash)
	a.Roles = slices.Clone(a.Roles)
	a.Recovery = slices.Clone(a.Recovery)
	a.Passkeys = slices.Clone(a.Passkeys)
	a.PasskeyHandle = bytes.Clone(a.PasskeyHandle)
	a.PasskeyEnrolment = bytes.Clone(a.PasskeyEnrolment)
	if a.TOTP != nil {
		t := *a.TOTP
		a.TOTP = &t
	}
	return a
}
