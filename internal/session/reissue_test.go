package session

import (
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// reissue runs Reissue for the session behind cookie, as of the account
// as it is now, and returns the new cookie and session.
func reissue(t *testing.T, m *Manager, cookie *http.Cookie, user string, proved bool) (*http.Cookie, Session) {
	t.Helper()
	old := wantUser(t, m, cookie, user)
	acct, err := m.accounts.Get(t.Context(), user)
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "http://example.com/auth/account", nil)
	r.AddCookie(cookie)
	w := httptest.NewRecorder()
	s, err := m.Reissue(w, r, old, acct, old.Factors, proved)
	if err != nil {
		t.Fatalf("Reissue: %v", err)
	}
	return sessionCookie(t, w, testCookie), s
}

// TestReissueKeepsTheLoginsDeadlinesAndItsLastProof (DESIGN.md rule 18):
// a re-issued session has a new id, the old id is dead, and it keeps the
// login's Created, absolute Expires and Remember; its AuthenticatedAt
// moves only when the request proved a credential, and the absolute
// deadline never does.
func TestReissueKeepsTheLoginsDeadlinesAndItsLastProof(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, remember := range []bool{false, true} {
			t.Run(map[bool]string{false: "session", true: "remembered"}[remember], func(t *testing.T) {
				store, accounts := b.open(t)
				clock := newFakeClock()
				cfg := testConfig(clock)
				cfg.Lifetime = 3 * time.Hour // so that it, not the idle limit, ends the login below
				m := newManager(t, cfg, store, accounts)
				cookie := login(t, m, createAccount(t, accounts, "alice"), remember, nil)
				login := wantUser(t, m, cookie, "alice")
				if !login.AuthenticatedAt.Equal(login.Created) || !login.Created.Equal(clock.Now()) {
					t.Fatalf("a login's record %+v; want AuthenticatedAt = Created = now", login.Record)
				}
				lifetime := map[bool]time.Duration{false: cfg.Lifetime, true: cfg.RememberMe}[remember]

				clock.Add(time.Hour)
				again, s := reissue(t, m, cookie, "alice", false)
				if again.Value == cookie.Value || s.ID == login.ID {
					t.Fatal("the re-issue kept the session id")
				}
				wantNoSession(t, m, cookie, "the old cookie after the re-issue")
				wantGone(t, store, login.ID)
				got := wantUser(t, m, again, "alice").Record
				if !got.Created.Equal(login.Created) || !got.Expires.Equal(login.Created.Add(lifetime)) || got.Remember != remember ||
					!got.AuthenticatedAt.Equal(login.AuthenticatedAt) || !got.Seen.Equal(clock.Now()) {
					t.Fatalf("re-issued without a proof: %+v; want the login's Created, Expires, Remember and AuthenticatedAt (%+v), seen now", got, login.Record)
				}
				wantMaxAge := 0
				if remember {
					wantMaxAge = int((lifetime - time.Hour).Seconds())
				}
				if again.MaxAge != wantMaxAge {
					t.Fatalf("the re-issued cookie's Max-Age %d; want %d (what is left of the login)", again.MaxAge, wantMaxAge)
				}

				clock.Add(time.Hour)
				proved, _ := reissue(t, m, again, "alice", true)
				got = wantUser(t, m, proved, "alice").Record
				if !got.AuthenticatedAt.Equal(clock.Now()) || !got.Created.Equal(login.Created) || !got.Expires.Equal(login.Expires) {
					t.Fatalf("re-issued after a proof: %+v; want AuthenticatedAt now, the login's Created and Expires", got)
				}

				clock.Add(login.Expires.Sub(clock.Now()) - time.Second)
				wantUser(t, m, proved, "alice")
				clock.Add(time.Second)
				wantNoSession(t, m, proved, "the re-issued session at the login's absolute deadline")
			})
		}
	})
}

// TestReissueKeepsWhereTheLoginCameFrom: the account page shows each
// session's client IP and browser as those of its login; a re-issue, asked
// from wherever (the user's other network, a script), changes neither.
func TestReissueKeepsWhereTheLoginCameFrom(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		cfg := testConfig(newFakeClock())
		cfg.ClientIP = func(r *http.Request) string { return r.RemoteAddr }
		m := newManager(t, cfg, store, accounts)
		alice := createAccount(t, accounts, "alice")
		r := httptest.NewRequest(http.MethodPost, "http://example.com/auth/login", nil)
		r.RemoteAddr = "198.51.100.7"
		r.Header.Set("User-Agent", "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0")
		w := httptest.NewRecorder()
		login, err := m.Start(w, r, alice, false, FactorPassword)
		if err != nil {
			t.Fatal(err)
		}
		if login.IP != "198.51.100.7" || login.Agent == "" {
			t.Fatalf("the login's record: IP %q, Agent %q; want the request's", login.IP, login.Agent)
		}
		r = httptest.NewRequest(http.MethodPost, "http://example.com/auth/account", nil)
		r.RemoteAddr = "203.0.113.9"
		r.Header.Set("User-Agent", "curl/8.5.0")
		r.AddCookie(sessionCookie(t, w, testCookie))
		w = httptest.NewRecorder()
		if _, err := m.Reissue(w, r, login, alice, login.Factors, false); err != nil {
			t.Fatal(err)
		}
		got := wantUser(t, m, sessionCookie(t, w, testCookie), "alice")
		if got.IP != login.IP || got.Agent != login.Agent {
			t.Fatalf("re-issued from elsewhere: IP %q, Agent %q; want the login's %q, %q", got.IP, got.Agent, login.IP, login.Agent)
		}
	})
}
