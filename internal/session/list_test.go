package session

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// loginFrom is login from a browser with the given User-Agent.
func loginFrom(t *testing.T, m *Manager, acct users.Account, agent string) *http.Cookie {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, "http://example.com/auth/login", nil)
	r.Header.Set("User-Agent", agent)
	w := httptest.NewRecorder()
	if _, err := m.Start(w, r, acct, false, FactorPassword); err != nil {
		t.Fatalf("Start for %s: %v", acct.Username, err)
	}
	return sessionCookie(t, w, testCookie)
}

func list(t *testing.T, m *Manager, acct users.Account, cur Session) []Listed {
	t.Helper()
	l, err := m.List(context.Background(), acct, cur)
	if err != nil {
		t.Fatalf("List(%s): %v", acct.Username, err)
	}
	return l
}

const (
	firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	iphone  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// TestListShowsTheUsersOwnLiveSessions: the list holds the user's live
// sessions and nobody else's, the asking one first and marked, each with
// where it came from, and a Ref that is not the id.
func TestListShowsTheUsersOwnLiveSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		cfg := testConfig(newFakeClock())
		cfg.ClientIP = func(*http.Request) string { return "192.0.2.7" }
		m := newManager(t, cfg, store, accounts)
		alice, bob := createAccount(t, accounts, "alice"), createAccount(t, accounts, "bob")
		phone := loginFrom(t, m, alice, iphone)
		laptop := loginFrom(t, m, alice, firefox)
		loginFrom(t, m, bob, firefox)
		cur := wantUser(t, m, laptop, "alice")

		l := list(t, m, alice, cur)
		if len(l) != 2 {
			t.Fatalf("List(alice) has %d sessions; want her 2", len(l))
		}
		if !l[0].Current || l[1].Current || l[0].Agent != "Firefox on Linux" || l[1].Agent != "Safari on iPhone" {
			t.Fatalf("List(alice) = %+v; want this Firefox first and marked, then the iPhone", l)
		}
		for _, s := range l {
			if s.IP != "192.0.2.7" || s.User != "alice" || s.Ref == cur.ID || len(s.Ref) != 24 {
				t.Fatalf("listed %+v; want alice's, from 192.0.2.7, with a 24-digit Ref that is not the id", s)
			}
		}
		phoneSession := wantUser(t, m, phone, "alice")
		if l[1].Ref != Ref(phoneSession.ID) {
			t.Fatalf("the phone's Ref %q; want Ref of its id", l[1].Ref)
		}
	})
}

// TestListEndsWhatHasExpiredOrOutlivedThePassword: sessions past a
// deadline or made with an older password are not listed, and are ended.
func TestListEndsWhatHasExpiredOrOutlivedThePassword(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		m := newManager(t, testConfig(clock), store, accounts)
		alice := createAccount(t, accounts, "alice")
		old := login(t, m, alice, false, nil)
		clock.Add(90 * time.Minute)
		kept := login(t, m, alice, false, nil)
		clock.Add(40 * time.Minute) // the first is idle for 130 min: past the 2h idle limit
		l := list(t, m, alice, Session{})
		if len(l) != 1 {
			t.Fatalf("List after the first session idled out = %+v; want only the second", l)
		}
		if stored, _ := store.Sessions(context.Background(), "alice"); len(stored) != 1 {
			t.Fatalf("store still lists %d sessions; want the expired one ended", len(stored))
		}
		wantNoSession(t, m, old, "idled out")

		if err := users.SetPassword(context.Background(), accounts, "alice", []byte("new hash")); err != nil {
			t.Fatal(err)
		}
		changed, err := accounts.Get(context.Background(), "alice")
		if err != nil {
			t.Fatal(err)
		}
		if l := list(t, m, changed, Session{}); len(l) != 0 {
			t.Fatalf("List after a password change = %+v; want none", l)
		}
		wantNoSession(t, m, kept, "password changed")
	})
}

// TestEndRefEndsOnlyTheUsersOwnSession: a Ref ends the session it names
// when it is the user's own; another user's Ref, or a made-up one, ends
// nothing.
func TestEndRefEndsOnlyTheUsersOwnSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		alice, bob := createAccount(t, accounts, "alice"), createAccount(t, accounts, "bob")
		a1, a2 := login(t, m, alice, false, nil), login(t, m, alice, false, nil)
		b1 := login(t, m, bob, false, nil)
		bobs := remember(t, m, b1, "bob")
		a2s := remember(t, m, a2, "alice")
		ctx := context.Background()
		for _, ref := range []string{Ref(bobs.ID), "", "nonsense", bobs.ID} {
			if ended, err := m.EndRef(ctx, "alice", ref); ended || err != nil {
				t.Fatalf("EndRef(alice, %q) = %v, %v; want nothing ended", ref, ended, err)
			}
		}
		wantUser(t, m, b1, "bob")
		if ended, err := m.EndRef(ctx, "alice", Ref(a2s.ID)); !ended || err != nil {
			t.Fatalf("EndRef(alice, her second) = %v, %v; want it ended", ended, err)
		}
		wantNoSession(t, m, a2, "ended by its Ref")
		wantUser(t, m, a1, "alice")
	})
}

// TestIndexForgetsEndedSessions: a logout takes the session off its user's
// index at once, and an index entry whose session vanished (expired in
// Redis, a file removed) is dropped when the index is read, so the index
// cleans itself.
func TestIndexForgetsEndedSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, s Store) {
		ctx := context.Background()
		ended := mustCreate(t, s, testRecord("alice"))
		vanished := mustCreate(t, s, testRecord("alice"))
		kept := mustCreate(t, s, testRecord("alice"))
		if ok, err := s.End(ctx, ended); !ok || err != nil {
			t.Fatalf("End = %v, %v", ok, err)
		}
		k.vanish(t, s, vanished)
		if n := k.indexSize(t, s, "alice"); n != 2 {
			t.Fatalf("alice's index holds %d ids after End; want 2 (the vanished one is not known yet)", n)
		}
		stored, err := s.Sessions(ctx, "alice")
		if err != nil || len(stored) != 1 || stored[0].ID != kept {
			t.Fatalf("Sessions = %+v, %v; want only the kept one", stored, err)
		}
		if n := k.indexSize(t, s, "alice"); n != 1 {
			t.Fatalf("alice's index holds %d ids after a read; want 1", n)
		}
	})
}

// TestRedisIndexExpiresWithItsSessions: entries are scored with their
// session's last possible moment, and the index key itself expires with
// the last of them, so an idle user leaves nothing behind.
func TestRedisIndexExpiresWithItsSessions(t *testing.T) {
	pool := newPool(t, testRedis)
	prefix := uniquePrefix()
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	rec := testRecord("alice")
	mustCreate(t, s, rec)
	c := pool.Get()
	defer c.Close()
	ttl, err := redis.Int64(c.Do("PTTL", prefix+"sessions-of:alice"))
	life := rec.Expires.Sub(rec.Created) + time.Minute
	if err != nil || ttl <= 0 || time.Duration(ttl)*time.Millisecond > life {
		t.Fatalf("index PTTL = %d ms, %v; want positive, at most %v", ttl, err, life)
	}
	// A past score is shed by the next read.
	id := NewID()
	if _, err := c.Do("ZADD", prefix+"sessions-of:alice", time.Now().Add(-time.Second).UnixMilli(), id); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sessions(context.Background(), "alice"); err != nil {
		t.Fatal(err)
	}
	ids, err := redis.Strings(c.Do("ZRANGE", prefix+"sessions-of:alice", 0, -1))
	if err != nil || slices.Contains(ids, id) {
		t.Fatalf("index after a read holds %q, %v; want the expired entry gone", ids, err)
	}
}

// TestFilesIndexKeepsAnEntryWhoseSessionIsOnItsWay: Create lists the id
// before it writes the session file, so a read in between must not drop
// the entry, or the session would be written unlisted, and never ended by
// "log out everywhere" or a disable.
func TestFilesIndexKeepsAnEntryWhoseSessionIsOnItsWay(t *testing.T) {
	s := newTestFiles(t)
	id := NewID()
	entry := filepath.Join(s.userDir("alice"), id)
	if err := os.MkdirAll(filepath.Dir(entry), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(entry, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if list, err := s.Sessions(context.Background(), "alice"); err != nil || len(list) != 0 {
		t.Fatalf("Sessions = %v, %v; want none listed yet", list, err)
	}
	if _, err := os.Stat(entry); err != nil {
		t.Fatalf("the fresh entry was dropped: %v", err)
	}
}
