package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// fakeClock is the Config.Now that tests move instead of sleeping. (What
// memory remembers runs on the real monotonic clock, see clock.)
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.UnixMilli(time.Now().UnixMilli())}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const testCookie = "sid"

// testConfig is a realm's configuration with the plugin's defaults and a
// clock the test moves.
func testConfig(c *fakeClock) Config {
	return Config{
		CookieName: testCookie,
		Secure:     func(r *http.Request) bool { return r.TLS != nil },
		Idle:       2 * time.Hour,
		Lifetime:   24 * time.Hour,
		RememberMe: 30 * 24 * time.Hour,
		Now:        c.Now,
	}
}

var testSecret = []byte("session test key, 32 bytes long!")

// uniquePrefix keeps a test's Redis keys and channel apart from every other
// test's, so no test needs to flush a Redis that listeners are using.
func uniquePrefix() string { return "test:" + NewID()[:10] + ":" }

func dialer(srv *testredis.Server) func(ctx context.Context) (redis.Conn, error) {
	return func(ctx context.Context) (redis.Conn, error) {
		return redis.DialContext(ctx, "tcp", srv.Addr)
	}
}

func newPool(t *testing.T, srv *testredis.Server) *redis.Pool {
	t.Helper()
	pool := srv.Pool(0)
	pool.MaxIdle = 16
	t.Cleanup(func() { pool.Close() })
	return pool
}

// instance is what one Caddy instance of a Redis realm holds: its own
// pool, Listener and store.
type instance struct {
	pool     *redis.Pool
	listener *Listener
	store    *Redis
	accounts *users.RedisStore
}

// newInstance starts an instance on srv under prefix and waits until its
// Listener is subscribed.
func newInstance(t *testing.T, srv *testredis.Server, prefix string) *instance {
	t.Helper()
	pool := newPool(t, srv)
	l := NewListener(dialer(srv), pool, Channel(prefix, 0))
	t.Cleanup(l.Close)
	waitFor(t, "the Listener to subscribe", l.subscribed)
	return &instance{
		pool:     pool,
		listener: l,
		store:    NewRedis(pool, prefix, Channel(prefix, 0), l),
		accounts: users.NewRedisStore(pool, prefix),
	}
}

// waitFor polls cond until it holds; the deadline is only there to turn a
// hang into a failure, never to measure speed.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 30s for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// untilProved runs attempt until one tells that it proved what the test
// is about (an attempt whose conditions a busy machine upset returns
// false, and is run again); attempts fail the test themselves.
func untilProved(t *testing.T, what string, attempt func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !attempt() {
		if time.Now().After(deadline) {
			t.Fatalf("no attempt in a minute could prove %s", what)
		}
	}
}

// backend is one way to keep a realm's sessions and accounts.
type backend struct {
	name string
	open func(t *testing.T) (Store, users.Store)
}

var backends = []backend{
	{"files", func(t *testing.T) (Store, users.Store) {
		dir := t.TempDir()
		return NewFiles(filepath.Join(dir, "sessions")), users.NewFileStore(filepath.Join(dir, "users.json"))
	}},
	{"redis", func(t *testing.T) (Store, users.Store) {
		in := newInstance(t, testRedis, uniquePrefix())
		return in.store, in.accounts
	}},
}

func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

func newManager(t *testing.T, cfg Config, store Store, accounts Accounts, keys ...[]byte) *Manager {
	t.Helper()
	if len(keys) == 0 {
		keys = [][]byte{testSecret}
	}
	m := NewManager(cfg, store, accounts, FixedKeys(keys))
	t.Cleanup(m.Close)
	return m
}

// createAccount makes an account and returns it as stored (with its stamp).
func createAccount(t *testing.T, s users.Store, name string) users.Account {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, users.Account{Username: name, Hash: []byte("hash of " + name)}); err != nil {
		t.Fatalf("creating %s: %v", name, err)
	}
	a, err := s.Get(ctx, name)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// login runs Start for acct from a browser that sends old (nil: none), and
// returns the session cookie it set.
func login(t *testing.T, m *Manager, acct users.Account, remember bool, old *http.Cookie) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://example.com/auth/login", nil)
	if old != nil {
		r.AddCookie(old)
	}
	w := httptest.NewRecorder()
	if _, err := m.Start(w, r, acct, remember, FactorPassword); err != nil {
		t.Fatalf("Start for %s: %v", acct.Username, err)
	}
	return sessionCookie(t, w, testCookie)
}

// sessionCookie is the cookie called name that a response set.
func sessionCookie(t *testing.T, w *httptest.ResponseRecorder, name string) *http.Cookie {
	t.Helper()
	var found *http.Cookie
	for _, c := range w.Result().Cookies() {
		if c.Name == name {
			if found != nil {
				t.Fatalf("the response sets %s twice: %q", name, w.Header().Values("Set-Cookie"))
			}
			found = c
		}
	}
	if found == nil {
		t.Fatalf("the response sets no %s cookie: %q", name, w.Header().Values("Set-Cookie"))
	}
	return found
}

// get is a browser's request carrying cookie (nil: none).
func get(cookie *http.Cookie) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "http://example.com/members/", nil)
	if cookie != nil {
		r.AddCookie(&http.Cookie{Name: cookie.Name, Value: cookie.Value})
	}
	return r
}

// current is Current for a request carrying cookie; a backend error fails
// the test.
func current(t *testing.T, m *Manager, cookie *http.Cookie) Session {
	t.Helper()
	s, err := m.Current(get(cookie))
	if err != nil {
		t.Fatalf("Current: %v", err)
	}
	return s
}

func wantUser(t *testing.T, m *Manager, cookie *http.Cookie, user string) Session {
	t.Helper()
	s := current(t, m, cookie)
	if s.User != user || s.UserValue() != any(user) {
		t.Fatalf("Current finds user %q (value %v); want %q", s.User, s.UserValue(), user)
	}
	return s
}

func wantNoSession(t *testing.T, m *Manager, cookie *http.Cookie, why string) {
	t.Helper()
	if s := current(t, m, cookie); s.LoggedIn() {
		t.Fatalf("%s: Current still finds %q's session", why, s.User)
	}
}

// remember has m read the session behind cookie until it is in memory,
// which only a drop or a lost subscription racing the read can delay: tests
// that prove something about memory must first have it there.
func remember(t *testing.T, m *Manager, cookie *http.Cookie, user string) Session {
	t.Helper()
	var s Session
	waitFor(t, "the session to go into memory", func() bool {
		s = wantUser(t, m, cookie, user)
		return inMemory(m, cookie)
	})
	return s
}

// inMemory tells whether m remembers the cookie value at all, fresh or
// not: how tests check that memory was filled, without timing.
func inMemory(m *Manager, cookie *http.Cookie) bool {
	_, ok := m.mem.values.Load(cookie.Value)
	return ok
}

func sameRecord(a, b Record) bool {
	return a.User == b.User && a.Stamp == b.Stamp && a.Remember == b.Remember &&
		a.Created.Equal(b.Created) && a.Seen.Equal(b.Seen) && a.Expires.Equal(b.Expires) && a.Factors == b.Factors &&
		a.AuthenticatedAt.Equal(b.AuthenticatedAt)
}

// atMs is t as a store keeps it.
func atMs(t time.Time) time.Time { return time.UnixMilli(t.UnixMilli()) }

// stored is rec as a store gives it back: times in whole milliseconds.
func stored(rec Record) Record {
	rec.Created, rec.Seen, rec.Expires, rec.AuthenticatedAt = atMs(rec.Created), atMs(rec.Seen), atMs(rec.Expires), atMs(rec.AuthenticatedAt)
	return rec
}

func isNoSession(err error) bool {
	return errors.Is(err, ErrNotFound) || errors.Is(err, ErrCorrupt)
}
