package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func TestStartSetsTheSessionCookie(t *testing.T) {
	const month = 30 * 24 * time.Hour
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name         string
			https        bool
			remember     bool
			rememberMe   time.Duration
			wantName     string
			wantMaxAge   int
			wantRemember bool
		}{
			{"http", false, false, month, "sid", 0, false},
			{"http, remembered", false, true, month, "sid", int(month.Seconds()), true},
			{"https", true, false, month, "__Host-sid", 0, false},
			{"https, remembered", true, true, month, "__Host-sid", int(month.Seconds()), true},
			{"remember asked where it is off", false, true, 0, "sid", 0, false},
		} {
			t.Run(tc.name, func(t *testing.T) {
				store, accounts := b.open(t)
				clock := newFakeClock()
				cfg := testConfig(clock)
				cfg.RememberMe = tc.rememberMe
				m := newManager(t, cfg, store, accounts)
				scheme := "http"
				if tc.https {
					scheme = "https"
				}
				r := httptest.NewRequest(http.MethodPost, scheme+"://example.com/auth/login", nil)
				w := httptest.NewRecorder()
				if _, err := m.Start(w, r, createAccount(t, accounts, "alice"), tc.remember, FactorPassword); err != nil {
					t.Fatal(err)
				}
				c := sessionCookie(t, w, tc.wantName)
				if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Domain != "" || c.Secure != tc.https {
					t.Errorf("cookie %+v; want HttpOnly, SameSite=Lax, Path=/, no Domain, Secure=%v", c, tc.https)
				}
				if c.MaxAge != tc.wantMaxAge {
					t.Errorf("cookie Max-Age %d; want %d", c.MaxAge, tc.wantMaxAge)
				}
				line := w.Header().Get("Set-Cookie")
				if strings.Contains(line, "Max-Age") != (tc.wantMaxAge != 0) || strings.Contains(line, "Expires") {
					t.Errorf("Set-Cookie %q: want Max-Age only when remembered, and no Expires", line)
				}

				r = httptest.NewRequest(http.MethodGet, scheme+"://example.com/members/", nil)
				r.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
				s, err := m.Current(r)
				if err != nil || s.User != "alice" {
					t.Fatalf("Current with the new cookie = %q, %v", s.User, err)
				}
				if strings.Contains(c.Value, s.ID) {
					t.Error("the cookie carries the session id in clear")
				}
				lifetime := cfg.Lifetime
				if tc.wantRemember {
					lifetime = cfg.RememberMe
				}
				if s.Remember != tc.wantRemember || !s.Created.Equal(clock.Now()) || !s.Expires.Equal(clock.Now().Add(lifetime)) {
					t.Errorf("session record %+v; want Remember=%v, expiring %v after login", s.Record, tc.wantRemember, lifetime)
				}
				if _, err := store.Load(context.Background(), s.ID); err != nil {
					t.Errorf("the session's record is not in the store: %v", err)
				}
			})
		}
	})
}

func TestNoCookieIsNoSessionAndNoError(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		if s, err := m.Current(get(nil)); s.LoggedIn() || err != nil {
			t.Fatalf("Current without a cookie = %q, %v", s.User, err)
		}
		w := httptest.NewRecorder()
		if ended, err := m.End(w, get(nil)); ended || err != nil || w.Header().Get("Set-Cookie") != "" {
			t.Fatalf("End without a cookie = %v, %v, Set-Cookie %q; want nothing", ended, err, w.Header().Get("Set-Cookie"))
		}
	})
}

// TestStartGivesAFreshIDAndEndsTheOldSession: no fixation. An id that
// existed before login (the user's own older session, or one an attacker
// planted) never carries the new login, and is dead afterwards.
func TestStartGivesAFreshIDAndEndsTheOldSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		alice := createAccount(t, accounts, "alice")
		planted := login(t, m, createAccount(t, accounts, "mallory"), false, nil)
		before := wantUser(t, m, planted, "mallory")

		first := login(t, m, alice, false, planted)
		s1 := wantUser(t, m, first, "alice")
		if first.Value == planted.Value || s1.ID == before.ID {
			t.Fatal("login kept the session id the browser came with")
		}
		wantNoSession(t, m, planted, "the planted cookie after the victim's login")
		wantGone(t, store, before.ID)

		second := login(t, m, alice, false, first)
		s2 := wantUser(t, m, second, "alice")
		if second.Value == first.Value || s2.ID == s1.ID {
			t.Fatal("a second login kept the first login's session id")
		}
		wantNoSession(t, m, first, "the cookie of the login before")
		wantGone(t, store, s1.ID)

		// A cookie that is no session at all does not stop a login.
		forged := &http.Cookie{Name: testCookie, Value: "garbage"}
		wantUser(t, m, login(t, m, alice, false, forged), "alice")
	})
}

// TestEndKillsACopiedCookie: logout deletes the session on the server, so
// a copy of the cookie taken before is dead, even where the session was
// just served from memory.
func TestEndKillsACopiedCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, https := range []bool{false, true} {
			store, accounts := b.open(t)
			m := newManager(t, testConfig(newFakeClock()), store, accounts)
			scheme, name := "http", testCookie
			if https {
				scheme, name = "https", "__Host-"+testCookie
			}
			r := httptest.NewRequest(http.MethodPost, scheme+"://example.com/auth/login", nil)
			w := httptest.NewRecorder()
			if _, err := m.Start(w, r, createAccount(t, accounts, "alice"), true, FactorPassword); err != nil {
				t.Fatal(err)
			}
			c := sessionCookie(t, w, name)
			copied := *c
			request := func() *http.Request {
				r := httptest.NewRequest(http.MethodPost, scheme+"://example.com/auth/logout", nil)
				r.AddCookie(&http.Cookie{Name: copied.Name, Value: copied.Value})
				return r
			}
			if s, err := m.Current(request()); err != nil || s.User != "alice" || !inMemory(m, c) {
				t.Fatalf("before logout: %q, %v, in memory %v", s.User, err, inMemory(m, c))
			}

			w = httptest.NewRecorder()
			ended, err := m.End(w, request())
			if !ended || err != nil {
				t.Fatalf("End = %v, %v; want true", ended, err)
			}
			gone := sessionCookie(t, w, name)
			if gone.Value != "" || gone.MaxAge >= 0 || gone.Path != "/" || !gone.HttpOnly || gone.SameSite != http.SameSiteLaxMode || gone.Secure != https {
				t.Errorf("logout sets %+v; want the cookie expired with the attributes it was set with", gone)
			}
			if s, err := m.Current(request()); s.LoggedIn() || err != nil {
				t.Fatalf("the copied cookie after logout: %q, %v; want no session", s.User, err)
			}

			w = httptest.NewRecorder()
			if ended, err := m.End(w, request()); ended || err != nil {
				t.Fatalf("a second End = %v, %v; want false", ended, err)
			}
			if sessionCookie(t, w, name).MaxAge >= 0 {
				t.Error("a second End does not expire the cookie")
			}
		}
	})
}

func TestEndAllForEndsEveryOneOfAUsersSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		alice, bob := createAccount(t, accounts, "alice"), createAccount(t, accounts, "bob")
		var alices []*http.Cookie
		for _, remember := range []bool{false, true, false} {
			c := login(t, m, alice, remember, nil)
			wantUser(t, m, c, "alice")
			alices = append(alices, c)
		}
		bobs := login(t, m, bob, false, nil)
		wantUser(t, m, bobs, "bob")

		n, err := m.EndAllFor(context.Background(), "alice")
		if n != 3 || err != nil {
			t.Fatalf("EndAllFor(alice) = %d, %v; want 3", n, err)
		}
		for i, c := range alices {
			wantNoSession(t, m, c, "alice's session "+string(rune('1'+i))+" after EndAllFor")
		}
		wantUser(t, m, bobs, "bob")
	})
}

// TestIdleAndAbsoluteExpiry moves the clock and checks, after each move,
// whether the session is still alive. Every case starts with a request, so
// that the session is in memory: deadlines hold there too.
func TestIdleAndAbsoluteExpiry(t *testing.T) {
	const (
		idle     = 2 * time.Hour
		lifetime = 24 * time.Hour
		month    = 30 * 24 * time.Hour
	)
	type step struct {
		advance time.Duration
		alive   bool
	}
	hourly := make([]step, 0, 26)
	for range 23 {
		hourly = append(hourly, step{time.Hour, true})
	}
	hourly = append(hourly, step{time.Hour - 30*time.Second, true}, step{30 * time.Second, false})
	for _, tc := range []struct {
		name       string
		remember   bool
		rememberMe time.Duration
		steps      []step
	}{
		{"unused for the idle timeout", false, month, []step{{idle, false}}},
		{"unused for just under the idle timeout", false, month, []step{{idle - time.Second, true}, {idle - time.Second, true}, {idle, false}}},
		{"in use, alive until the lifetime, even in memory", false, month, hourly},
		{"remembered: no idle timeout", true, month, []step{{3 * idle, true}, {29 * 24 * time.Hour, true}, {18 * time.Hour, false}}},
		{"remembered: the lifetime, even in memory", true, month, []step{{month - 30*time.Second, true}, {30 * time.Second, false}}},
		{"remember asked where it is off: the idle timeout", true, 0, []step{{idle, false}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				store, accounts := b.open(t)
				clock := newFakeClock()
				cfg := testConfig(clock)
				cfg.Idle, cfg.Lifetime, cfg.RememberMe = idle, lifetime, tc.rememberMe
				m := newManager(t, cfg, store, accounts)
				c := login(t, m, createAccount(t, accounts, "alice"), tc.remember, nil)
				wantUser(t, m, c, "alice")
				var elapsed time.Duration
				for _, st := range tc.steps {
					clock.Add(st.advance)
					elapsed += st.advance
					s := current(t, m, c)
					if s.LoggedIn() != st.alive {
						t.Fatalf("%v after login: alive = %v; want %v", elapsed, s.LoggedIn(), st.alive)
					}
				}
			})
		})
	}
}

// TestRefreshIsWrittenBack: a request that pushes the idle deadline back
// stores it, so another instance (or a restart) sees the session alive.
func TestRefreshIsWrittenBack(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		m := newManager(t, testConfig(clock), store, accounts)
		c := login(t, m, createAccount(t, accounts, "alice"), false, nil)
		clock.Add(90 * time.Minute)
		s := wantUser(t, m, c, "alice")
		rec, err := store.Load(context.Background(), s.ID)
		if err != nil || !rec.Seen.Equal(clock.Now()) {
			t.Fatalf("stored Seen = %v, %v; want the request's %v", rec.Seen, err, clock.Now())
		}
		other := newManager(t, testConfig(clock), store, accounts)
		clock.Add(90 * time.Minute)
		wantUser(t, other, c, "alice")
	})
}

// TestChangedCredentialsEndTheSession: a session carries the stamp of the
// account it logged in; a password set anew, an account removed or made
// again ends it: on the next request where the instances were told
// (UserChanged, EndAllFor), even while the session is in memory, and
// otherwise on the first read of the store.
func TestChangedCredentialsEndTheSession(t *testing.T) {
	ctx := context.Background()
	type env struct {
		store    Store
		accounts users.Store
		m        *Manager
	}
	for _, tc := range []struct {
		name     string
		inMemory bool // a request before the change put the session in memory
		change   func(t *testing.T, e env)
		alive    bool
	}{
		{"password changed, instances told", true, func(t *testing.T, e env) {
			must(t, users.SetPassword(ctx, e.accounts, "alice", []byte("new hash")))
			must(t, e.store.UserChanged(ctx, "alice"))
		}, false},
		{"password changed, all sessions ended", true, func(t *testing.T, e env) {
			must(t, users.SetPassword(ctx, e.accounts, "alice", []byte("new hash")))
			_, err := e.m.EndAllFor(ctx, "alice")
			must(t, err)
		}, false},
		{"password changed, nobody told: the first read", false, func(t *testing.T, e env) {
			must(t, users.SetPassword(ctx, e.accounts, "alice", []byte("new hash")))
		}, false},
		{"password changed, nobody told: once memory ages out", true, func(t *testing.T, e env) {
			must(t, users.SetPassword(ctx, e.accounts, "alice", []byte("new hash")))
			time.Sleep(MemoryBound + 50*time.Millisecond)
		}, false},
		{"account removed, instances told", true, func(t *testing.T, e env) {
			must(t, e.accounts.Delete(ctx, "alice"))
			must(t, e.store.UserChanged(ctx, "alice"))
		}, false},
		{"account removed, nobody told: the first read", false, func(t *testing.T, e env) {
			must(t, e.accounts.Delete(ctx, "alice"))
		}, false},
		{"account removed and made again under the same name", false, func(t *testing.T, e env) {
			must(t, e.accounts.Delete(ctx, "alice"))
			createAccount(t, e.accounts, "alice")
		}, false},
		{"hash redone at a new cost: the password is the same", true, func(t *testing.T, e env) {
			a, err := e.accounts.Get(ctx, "alice")
			must(t, err)
			must(t, users.Rehash(ctx, e.accounts, "alice", a.Hash, []byte("dearer hash")))
			must(t, e.store.UserChanged(ctx, "alice"))
			time.Sleep(MemoryBound + 50*time.Millisecond) // and read again
		}, true},
		{"account disabled, instances told, sessions not ended", true, func(t *testing.T, e env) {
			must(t, e.accounts.Update(ctx, "alice", func(a *users.Account) error { a.Disabled = true; return nil }))
			must(t, e.store.UserChanged(ctx, "alice"))
		}, false},
		{"account disabled, nobody told: the first read", false, func(t *testing.T, e env) {
			must(t, e.accounts.Update(ctx, "alice", func(a *users.Account) error { a.Disabled = true; return nil }))
		}, false},
		{"account pending again", false, func(t *testing.T, e env) {
			must(t, e.accounts.Update(ctx, "alice", func(a *users.Account) error { a.Pending = true; return nil }))
		}, false},
		{"another user's password changed", true, func(t *testing.T, e env) {
			must(t, users.SetPassword(ctx, e.accounts, "bob", []byte("new hash")))
			must(t, e.store.UserChanged(ctx, "bob"))
		}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forEachBackend(t, func(t *testing.T, b backend) {
				store, accounts := b.open(t)
				m := newManager(t, testConfig(newFakeClock()), store, accounts)
				createAccount(t, accounts, "bob")
				c := login(t, m, createAccount(t, accounts, "alice"), false, nil)
				if tc.inMemory {
					remember(t, m, c, "alice")
				}
				tc.change(t, env{store, accounts, m})
				if s := current(t, m, c); s.LoggedIn() != tc.alive {
					t.Fatalf("after the change: alive = %v; want %v", s.LoggedIn(), tc.alive)
				}
			})
		})
	}
}

// TestLoginInFlightDuringAPasswordChangeIsEnded: a login that checked the
// old password while it changed carries the old stamp, and so ends.
func TestLoginInFlightDuringAPasswordChangeIsEnded(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		checked := createAccount(t, accounts, "alice") // the login read this account ...
		must(t, users.SetPassword(context.Background(), accounts, "alice", []byte("new hash")))
		c := login(t, m, checked, false, nil) // ... and starts its session after the change
		wantNoSession(t, m, c, "a login that checked the old password")
	})
}

// TestForgedCookiesReadAsNoSession: whatever a client sends, it finds no
// session and causes no backend error (which would be a 503, not a login
// page).
func TestForgedCookiesReadAsNoSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		real := login(t, m, createAccount(t, accounts, "alice"), false, nil)
		id := wantUser(t, m, real, "alice").ID
		codec := NewIDCodec(testSecret, 3600)
		sign := func(name, id string) string {
			v, err := securecookie.EncodeMulti(name, id, codec)
			must(t, err)
			return v
		}
		otherKey, err := securecookie.EncodeMulti(testCookie, id, NewIDCodec([]byte("someone else's key, 32 bytes ..."), 3600))
		must(t, err)
		flipped := []byte(real.Value)
		flipped[len(flipped)/2] ^= 1
		for _, tc := range []struct{ name, value string }{
			{"one bit flipped", string(flipped)},
			{"truncated", real.Value[:len(real.Value)-4]},
			{"the real value twice", real.Value + real.Value},
			{"signed with another key", otherKey},
			{"signed for another cookie name", sign("other", id)},
			{"signed path instead of an id", sign(testCookie, "../../../../etc/passwd")},
			{"signed id in the wrong alphabet", sign(testCookie, strings.ToLower(id))},
			{"signed id of no session", sign(testCookie, NewID())},
			{"signed empty id", sign(testCookie, "")},
			{"garbage", "not-a-cookie"},
			{"long garbage", strings.Repeat("A", 5000)},
			{"base64 of nothing", "MTc5NTczMDE0MnxOd3dB"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				s, err := m.Current(get(&http.Cookie{Name: testCookie, Value: tc.value}))
				if s.LoggedIn() || err != nil {
					t.Fatalf("cookie %q: %q, %v; want no session and no error", tc.name, s.User, err)
				}
				w := httptest.NewRecorder()
				if ended, err := m.End(w, get(&http.Cookie{Name: testCookie, Value: tc.value})); ended || err != nil {
					t.Fatalf("End with cookie %q = %v, %v", tc.name, ended, err)
				}
			})
		}
		wantUser(t, m, real, "alice") // none of that touched the real session
	})
}

// TestOlderKeysStillVerify: after a key rotation (new key first), cookies
// signed with the old key still work, and new ones are signed with the new.
func TestOlderKeysStillVerify(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		newKey := []byte("the rotated-in key, 32 bytes ...")
		before := newManager(t, testConfig(clock), store, accounts, testSecret)
		after := newManager(t, testConfig(clock), store, accounts, newKey, testSecret)
		alice := createAccount(t, accounts, "alice")
		old := login(t, before, alice, false, nil)
		wantUser(t, after, old, "alice")
		fresh := login(t, after, alice, false, nil)
		wantUser(t, after, fresh, "alice")
		wantNoSession(t, before, fresh, "a cookie signed with a key the old config never had")
	})
}

// TestKeysThatCannotBeHadAreABackendError: with the key kept in a Redis that
// is down, a cookie can be neither checked nor made; that is a 503, never
// "no session". A request without a cookie needs no key.
func TestKeysThatCannotBeHadAreABackendError(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatal(err)
	}
	pool := newPool(t, srv)
	srv.Close()
	store, accounts := backends[0].open(t)
	m := NewManager(testConfig(newFakeClock()), store, accounts, RedisKeys(pool, "test:cookie_key"))
	t.Cleanup(m.Close)
	if s, err := m.Current(get(nil)); s.LoggedIn() || err != nil {
		t.Fatalf("Current without a cookie = %q, %v; want nothing", s.User, err)
	}
	if s, err := m.Current(get(&http.Cookie{Name: testCookie, Value: "anything"})); s.LoggedIn() || !IsBackendError(err) {
		t.Fatalf("Current with keys unavailable = %q, %v; want a backend error", s.User, err)
	}
	w := httptest.NewRecorder()
	if _, err := m.Start(w, httptest.NewRequest(http.MethodPost, "/auth/login", nil), createAccount(t, accounts, "alice"), false, FactorPassword); err == nil {
		t.Fatal("Start with keys unavailable succeeded")
	}
	if w.Header().Get("Set-Cookie") != "" {
		t.Fatal("a failed Start set a cookie")
	}
}

// TestRedisDownIsAnErrorNeverASession: when Redis goes away, a session in
// memory is not served, the request fails as a backend error, and service
// resumes by itself when Redis is back.
func TestRedisDownIsAnErrorNeverASession(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	in := newInstance(t, srv, uniquePrefix())
	m := newManager(t, testConfig(newFakeClock()), in.store, in.accounts)
	c := login(t, m, createAccount(t, in.accounts, "alice"), false, nil)
	wantUser(t, m, c, "alice")
	srv.Stop()
	waitFor(t, "the Listener to notice", func() bool { return !in.listener.subscribed() })
	s, err := m.Current(get(c))
	if s.LoggedIn() || !IsBackendError(err) {
		t.Fatalf("Current with Redis down = %q, %v; want a backend error and no session", s.User, err)
	}
	must(t, srv.Restart())
	// That Redis kept nothing: the session is gone, but the answer is
	// "no session" again, not an error.
	waitFor(t, "service to resume", func() bool {
		s, err := m.Current(get(c))
		return err == nil && !s.LoggedIn()
	})
	waitFor(t, "the Listener to subscribe again", in.listener.subscribed)
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestMemoryServesAValueOnlyUnderTheNameItWasVerifiedUnder: over HTTPS the
// session cookie is __Host-<name>, which browsers take only from this very
// host over HTTPS; the plain name may be planted by a sibling subdomain or
// over plain HTTP, and its signature, which covers the name, does not
// verify a value signed for the other. So a value that memory remembers
// from a __Host- cookie is no session when it comes under the plain name,
// even while memory holds it.
func TestMemoryServesAValueOnlyUnderTheNameItWasVerifiedUnder(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		r := httptest.NewRequest(http.MethodPost, "https://example.com/auth/login", nil)
		w := httptest.NewRecorder()
		if _, err := m.Start(w, r, createAccount(t, accounts, "alice"), false, FactorPassword); err != nil {
			t.Fatal(err)
		}
		c := sessionCookie(t, w, "__Host-"+testCookie)
		over := func(scheme, name string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, scheme+"://example.com/members/", nil)
			r.AddCookie(&http.Cookie{Name: name, Value: c.Value})
			return r
		}
		waitFor(t, "the session to go into memory", func() bool {
			s, err := m.Current(over("https", c.Name))
			if err != nil || s.User != "alice" {
				t.Fatalf("the __Host- cookie over HTTPS: %q, %v; want alice", s.User, err)
			}
			return inMemory(m, c)
		})
		s, err := m.Current(over("http", testCookie))
		if s.LoggedIn() || err != nil {
			t.Fatalf("the __Host- cookie's value under the plain name: %q, %v; want no session", s.User, err)
		}
		if !inMemory(m, c) {
			t.Fatal("memory no longer holds the value: the test proved nothing")
		}
	})
}
