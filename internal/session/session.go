// Package session runs the session lifecycle of one realm: it starts a
// session at login, finds the one a request carries, and ends one or all of
// a user's. Records live on the server (Redis or files, behind Store); the
// browser holds only a signed random id.
//
// A Manager remembers the sessions it has just read, so most requests cost
// neither a signature check nor a store read. What it remembers is never
// older than MemoryBound (one second), and a revocation (logout, a password
// change, an account removed) drops the session from every Manager's memory
// before the revoking call returns; see Redis.announce and Files for how
// each store gets the news around.
package session

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/useragent"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Config is how a realm's sessions behave.
type Config struct {
	// CookieName is the session cookie's name. Over HTTPS the cookie is
	// called "__Host-" + CookieName, a name browsers accept only from this
	// very host, over HTTPS, for Path=/, so a sibling subdomain cannot plant
	// one.
	CookieName string
	// Secure tells whether the browser reached this request over HTTPS.
	Secure func(*http.Request) bool
	// Idle ends a session unused for this long; Lifetime ends it this long
	// after login; RememberMe is the lifetime of a session whose user asked
	// to be remembered (0: nobody is), which has no idle limit.
	Idle, Lifetime, RememberMe time.Duration
	// Now is the clock every deadline is measured against (tests move it);
	// memory keeps real time whatever it says.
	Now func() time.Time
	// ClientIP is the request's client address as the site trusts it
	// (Caddy's client_ip), kept with the session for the user to see.
	ClientIP func(*http.Request) string
	// MaxPerUser caps the live sessions of one account: a login past it
	// ends that account's oldest sessions (see capSessions). 0 caps nothing.
	MaxPerUser int
	// Logger hears of what went wrong without failing a call (a cap that
	// could not be applied); nil logs nothing.
	Logger *zap.Logger
	// Hits and Misses count the requests with a cookie that Current
	// answered from memory, and those it had to read from the store (a
	// Prometheus counter fits); nil counts nothing.
	Hits, Misses Counter
}

// Counter is what Manager counts with.
type Counter interface{ Inc() }

// Accounts finds the account behind a session; a missing one is
// users.ErrNotFound.
type Accounts interface {
	Get(ctx context.Context, username string) (users.Account, error)
}

// Manager runs the sessions of one realm for one configuration.
type Manager struct {
	cfg      Config
	hostName string // "__Host-" + CookieName
	store    Store
	accounts Accounts
	keys     *Keyring
	mem      *memory
	codecs   atomic.Pointer[[]securecookie.Codec]
}

// Session is a live session as the gate sees it.
type Session struct {
	ID string
	Record
	user    any // Record.User, boxed once, so that handing it to Caddy's replacer costs nothing
	factors any // Record.Factors, boxed once likewise
	roles   roles
}

// roles are an account's roles as a read found them (never stored in the
// session), in the forms the gate uses, made once per read.
type roles struct {
	list []string // sorted; shared with memory, so never modified
	text string   // joined with commas
	box  any      // text, boxed for Caddy's replacer
}

func newRoles(list []string) roles {
	text := strings.Join(list, ",")
	return roles{list: list, text: text, box: text}
}

// LoggedIn tells whether there is a session at all.
func (s Session) LoggedIn() bool { return s.User != "" }

// UserValue is the username as an interface value, ready for Caddy's replacer.
func (s Session) UserValue() any { return s.user }

// FactorsValue is Record.Factors as an interface value, ready for Caddy's
// replacer.
func (s Session) FactorsValue() any { return s.factors }

// Roles are the account's roles, sorted, as read with the session; the
// caller must not modify them.
func (s Session) Roles() []string { return s.roles.list }

// RolesText is the account's roles joined with commas ("editors,staff"),
// "" for none.
func (s Session) RolesText() string { return s.roles.text }

// RolesValue is RolesText as an interface value, ready for Caddy's replacer.
func (s Session) RolesValue() any { return s.roles.box }

// NewManager returns a Manager of store's sessions. Close releases it.
func NewManager(cfg Config, store Store, accounts Accounts, keys *Keyring) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = zap.NewNop()
	}
	m := &Manager{
		cfg:      cfg,
		hostName: "__Host-" + cfg.CookieName,
		store:    store,
		accounts: accounts,
		keys:     keys,
		mem:      newMemory(),
	}
	store.hub().join(m.mem)
	return m
}

// Close stops the Manager from hearing about revocations.
func (m *Manager) Close() { m.store.hub().leave(m.mem) }

// CookieName is the session cookie's name for this request.
func (m *Manager) CookieName(r *http.Request) string {
	if m.cfg.Secure(r) {
		return m.hostName
	}
	return m.cfg.CookieName
}

// Current returns the request's live session, or a zero one when there is
// none (no cookie, a bad signature, logged out, expired, the account gone
// or its password changed since). The error is only for a backend that
// cannot answer, which must never be read as "logged in".
func (m *Manager) Current(r *http.Request) (Session, error) {
	name := m.CookieName(r)
	value := CookieValue(r, name)
	if value == "" {
		return Session{}, nil
	}
	now := m.cfg.Now()
	if e, ok := m.mem.get(value, clock()); ok && e.name == name && m.store.trusted() && !m.expired(e.rec, now) && !m.refreshDue(e.rec, now) {
		if m.cfg.Hits != nil {
			m.cfg.Hits.Inc()
		}
		return Session{ID: e.id, Record: e.rec, user: e.user, factors: e.factors, roles: e.roles}, nil
	}
	if m.cfg.Misses != nil {
		m.cfg.Misses.Inc()
	}
	return m.read(r.Context(), name, value, now)
}

// read is Current's way past memory: the signature, the record, the
// account, and a refresh of the idle deadline when it is due.
func (m *Manager) read(ctx context.Context, name, value string, now time.Time) (Session, error) {
	gen := m.mem.generation()
	started := clock()
	id, err := m.decode(name, value)
	if err != nil || id == "" {
		return Session{}, err
	}
	rec, err := m.store.Load(ctx, id)
	if err != nil {
		if IsBackendError(err) {
			return Session{}, err
		}
		return Session{}, nil
	}
	if m.expired(rec, now) {
		// Ended for good: a clock set back must not revive it.
		_, err := m.store.End(ctx, id)
		return Session{}, err
	}
	acct, err := m.accounts.Get(ctx, rec.User)
	if errors.Is(err, users.ErrNotFound) {
		return Session{}, nil
	}
	if err != nil {
		return Session{}, err
	}
	if acct.Stamp != rec.Stamp || !acct.CanLogIn() {
		// The password changed, or the account was removed and made
		// again, after this login: the session ends here. A disabled
		// account's sessions are refused as long as it stays disabled.
		return Session{}, nil
	}
	if m.refreshDue(rec, now) {
		rec.Seen = now
		switch err := m.store.Refresh(ctx, id, rec, m.ttl(rec, now)); {
		case errors.Is(err, ErrNotFound):
			return Session{}, nil // ended meanwhile
		case err != nil:
			return Session{}, err
		}
	}
	// The roles come from the account as read now, not from the session:
	// a role granted or taken since login counts from the next read, and
	// UserChanged makes every instance's next request such a read.
	s := Session{ID: id, Record: rec, user: rec.User, factors: rec.Factors, roles: newRoles(acct.Roles)}
	if m.store.trusted() {
		m.mem.put(value, entry{name: name, id: id, rec: rec, user: s.user, factors: s.factors, roles: s.roles}, gen, started)
	}
	return s, nil
}

// decode checks a cookie value's signature and returns the id it carries,
// or "" for a value that does not verify. The error is for keys that
// cannot be had (Redis down, no secret configured).
func (m *Manager) decode(name, value string) (string, error) {
	codecs, err := m.Codecs()
	if err != nil {
		return "", err
	}
	var id string
	if securecookie.DecodeMulti(name, value, &id, codecs...) != nil {
		return "", nil
	}
	return id, nil
}

// Codecs are the cookie codecs of the current keys, made once.
func (m *Manager) Codecs() ([]securecookie.Codec, error) {
	if c := m.codecs.Load(); c != nil {
		return *c, nil
	}
	keys, err := m.keys.Keys()
	if err != nil {
		return nil, err
	}
	maxAge := int((max(m.cfg.Lifetime, m.cfg.RememberMe) + time.Hour).Seconds())
	cs := codecs(keys, maxAge)
	m.codecs.Store(&cs)
	return cs, nil
}

// expired enforces the idle and absolute deadlines from the stored times:
// the cookie's age proves nothing. A remembered session ends only at its
// (long) lifetime: "remember me for 30 days" must not mean "until two idle
// hours pass".
func (m *Manager) expired(rec Record, at time.Time) bool {
	return !at.Before(rec.Expires) || !rec.Remember && at.Sub(rec.Seen) >= m.cfg.Idle
}

// refreshEvery is how stale the stored idle deadline may get before a
// request pushes it back: most requests then cost no write, and the idle
// timeout is still kept to within this much.
func (m *Manager) refreshEvery() time.Duration {
	return min(m.cfg.Idle/10, time.Minute)
}

func (m *Manager) refreshDue(rec Record, at time.Time) bool {
	return at.Sub(rec.Seen) >= m.refreshEvery()
}

// Ends is when a session ends unless it is used again before: at its
// lifetime's end, or sooner when it sits idle.
func (m *Manager) Ends(rec Record) time.Time {
	if rec.Remember {
		return rec.Expires
	}
	return minTime(rec.Expires, rec.Seen.Add(m.cfg.Idle))
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// ttl lets a record live until its idle or absolute deadline, whichever is
// first, plus a minute, so the store never drops a session the server still
// counts as alive.
func (m *Manager) ttl(rec Record, at time.Time) time.Duration {
	ttl := rec.Expires.Sub(at)
	if !rec.Remember {
		ttl = min(m.cfg.Idle, ttl)
	}
	return max(ttl, 0) + time.Minute
}

// Start logs the account's user in with a brand-new session, after ending
// the one the browser's cookie named, if any: an id that existed before
// login is never the one that carries it. A login is new in every way (its
// Created, Expires and AuthenticatedAt are now); Reissue is the same login
// under a new id. remember is honoured only where
// remembering is on (Config.RememberMe > 0); otherwise the cookie ends with
// the browser. factors say how the user proved who they are (see
// Record.Factors). It returns the new session.
func (m *Manager) Start(w http.ResponseWriter, r *http.Request, acct users.Account, remember bool, factors string) (Session, error) {
	name := m.CookieName(r)
	codecs, err := m.Codecs()
	if err != nil {
		return Session{}, err
	}
	if _, err := m.endCookie(r.Context(), name, CookieValue(r, name)); err != nil {
		return Session{}, err
	}
	remember = remember && m.cfg.RememberMe > 0
	lifetime, maxAge := m.cfg.Lifetime, 0
	if remember {
		lifetime = m.cfg.RememberMe
		maxAge = int(lifetime.Seconds())
	}
	now := m.cfg.Now()
	rec := Record{
		User:     acct.Username,
		Stamp:    acct.Stamp,
		Created:  now,
		Seen:     now,
		Expires:  now.Add(lifetime),
		Remember: remember,
		Agent:    useragent.Summary(r.UserAgent()),
		Factors:  clean(factors),
		// A login is a proof of its credentials.
		AuthenticatedAt: now,
	}
	if m.cfg.ClientIP != nil {
		rec.IP = m.cfg.ClientIP(r)
	}
	id, err := m.store.Create(r.Context(), rec, m.ttl(rec, now))
	if err != nil {
		return Session{}, err
	}
	if err := m.capSessions(r.Context(), acct, Stored{ID: id, Record: rec}); err != nil {
		// The login stands: its record exists, and failing it here would
		// leave that record behind with no cookie to end it. The cap is a
		// bound, not a check of this login: the account's next login
		// trims again.
		m.cfg.Logger.Warn("the sessions cap could not be applied at this login; the next login applies it", zap.String("username", acct.Username), zap.Error(err))
	}
	value, err := securecookie.EncodeMulti(name, id, codecs...)
	if err != nil {
		return Session{}, err
	}
	http.SetCookie(w, m.cookie(r, name, value, maxAge))
	return Session{ID: id, Record: rec, user: rec.User, factors: rec.Factors, roles: newRoles(acct.Roles)}, nil
}

// Owner tells whose session the request's cookie names, for a log line
// before it ends: from memory, or from the store's record alone (one
// read; the account is not read, the idle deadline not pushed back). The
// cookie's signature is checked; a session that cannot be found gives
// "", "".
func (m *Manager) Owner(r *http.Request) (id, user string) {
	name := m.CookieName(r)
	value := CookieValue(r, name)
	if value == "" {
		return "", ""
	}
	if e, ok := m.mem.get(value, clock()); ok && e.name == name {
		return e.id, e.rec.User
	}
	id, err := m.decode(name, value)
	if err != nil || id == "" {
		return "", ""
	}
	rec, err := m.store.Load(r.Context(), id)
	if err != nil {
		return "", ""
	}
	return id, rec.User
}

// End deletes the request's session on the server and expires its cookie
// with the same name, path and attributes it was set with. It tells
// whether there was a live session to end.
func (m *Manager) End(w http.ResponseWriter, r *http.Request) (bool, error) {
	name := m.CookieName(r)
	value := CookieValue(r, name)
	if value == "" {
		return false, nil
	}
	ended, err := m.endCookie(r.Context(), name, value)
	if err != nil {
		return false, err
	}
	http.SetCookie(w, m.cookie(r, name, "", -1))
	return ended, nil
}

func (m *Manager) endCookie(ctx context.Context, name, value string) (bool, error) {
	if value == "" {
		return false, nil
	}
	id, err := m.decode(name, value)
	if err != nil || id == "" {
		return false, err
	}
	return m.store.End(ctx, id)
}

// UserChanged has every instance forget what it remembers of user's
// sessions, so that the next request reads the account again (after a
// change made directly in the accounts store).
func (m *Manager) UserChanged(ctx context.Context, user string) error {
	return m.store.UserChanged(ctx, user)
}

// EndAllFor ends every session of user, on every instance, and tells how
// many records it deleted.
func (m *Manager) EndAllFor(ctx context.Context, user string) (int, error) {
	return m.store.EndUser(ctx, user)
}

// cookie is the session cookie with every attribute it is set with;
// maxAge 0 ends it with the browser, -1 expires it now.
func (m *Manager) cookie(r *http.Request, name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   m.cfg.Secure(r),
		SameSite: http.SameSiteLaxMode,
	}
}
