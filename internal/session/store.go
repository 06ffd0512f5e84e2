package session

import (
	"context"
	"encoding/base32"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/securecookie"
)

// Store keeps session records by id, in Redis or in files. Missing and
// corrupt records read as ErrNotFound or ErrCorrupt; every other error is a
// failure of the store itself (Redis unreachable, a disk error), which the
// gate answers with 503, never with content.
//
// The stores speak to Redis and the disk themselves rather than through
// gorilla/sessions' Store and boj/redistore: redistore ties a record's
// lifetime in Redis to the cookie's Max-Age and deletes the record when
// Max-Age is 0 (a cookie that ends with the browser), borrows connections
// without a deadline, and neither offers a refresh that cannot bring back a
// logged-out session or a delete that tells other instances. The gate needs
// all of those; the cookie is still signed with gorilla/securecookie.
type Store interface {
	// Create stores rec under a fresh id for ttl and returns the id.
	Create(ctx context.Context, rec Record, ttl time.Duration) (string, error)
	// Load reads the record of id.
	Load(ctx context.Context, id string) (Record, error)
	// Refresh rewrites the record of a live session and gives it ttl more;
	// ErrNotFound when it is gone, which it then stays.
	Refresh(ctx context.Context, id string, rec Record, ttl time.Duration) error
	// End deletes the session and, when it existed, has every instance
	// forget it; it tells whether there was one to delete.
	End(ctx context.Context, id string) (bool, error)
	// EndUser deletes every session of user, has every instance forget
	// them, and tells how many it deleted.
	EndUser(ctx context.Context, user string) (int, error)
	// Sessions lists user's stored sessions, expired ones included, from
	// the user's own index: the cost follows that user's sessions, not
	// everyone's.
	Sessions(ctx context.Context, user string) ([]Stored, error)
	// UserChanged has every instance forget what it remembers of user's
	// sessions, so that the next request reads the account again.
	UserChanged(ctx context.Context, user string) error
	// hub is where this process's Managers of the store meet.
	hub() *hub
	// trusted tells whether memories may be served now: for Redis, only
	// while this process is subscribed to the realm's announcements.
	trusted() bool
}

// Stored is a session record with its id, as a store lists it.
type Stored struct {
	ID string
	Record
}

// NewID returns a fresh session id: 256 bits from crypto/rand, in base32.
func NewID() string {
	return strings.TrimRight(base32.StdEncoding.EncodeToString(securecookie.GenerateRandomKey(32)), "=")
}

// validID accepts only what NewID makes, so a forged id names no file and
// no key but a session's.
func validID(id string) bool {
	if len(id) != 52 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return false
		}
	}
	return true
}

// IsBackendError tells a failure of the store itself from an answer that
// simply means "no session".
func IsBackendError(err error) bool {
	return err != nil && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrNotFound)
}

// hub fans what one Manager ends out to every Manager of the same store in
// this process (site blocks that share a realm, the old and new config
// during a reload): each keeps its own memory, because each checks cookies
// with its own keys.
type hub struct {
	mu       sync.Mutex
	memories map[*memory]struct{}
}

func (h *hub) join(m *memory) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.memories == nil {
		h.memories = map[*memory]struct{}{}
	}
	h.memories[m] = struct{}{}
}

func (h *hub) leave(m *memory) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.memories, m)
}

func (h *hub) each(f func(*memory)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range h.memories {
		f(m)
	}
}

func (h *hub) dropSession(id string) { h.each(func(m *memory) { m.dropSession(id) }) }
func (h *hub) dropUser(user string)  { h.each(func(m *memory) { m.dropUser(user) }) }
func (h *hub) clear()                { h.each(func(m *memory) { m.clear() }) }
