package session

import (
	"fmt"
	"net/http"
	"testing"
	"time"
)

// Rule 19: live sessions per account are capped; a login past the cap
// ends that account's oldest sessions, never the new one, never another
// account's.

func TestStartPastMaxSessionsEndsTheOldestFirst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		cfg := testConfig(clock)
		cfg.MaxPerUser = 3
		m := newManager(t, cfg, store, accounts)
		alice, bob := createAccount(t, accounts, "alice"), createAccount(t, accounts, "bob")
		bobs := login(t, m, bob, false, nil)
		var cookies []*http.Cookie
		for range 5 {
			cookies = append(cookies, login(t, m, alice, false, nil))
			clock.Add(time.Second)
		}
		for i, c := range cookies {
			if i < 2 {
				wantNoSession(t, m, c, fmt.Sprintf("alice's login %d of 5, with at most 3", i+1))
			} else {
				wantUser(t, m, c, "alice")
			}
		}
		if n := len(list(t, m, alice, Session{})); n != 3 {
			t.Fatalf("alice has %d live sessions; want 3", n)
		}
		wantUser(t, m, bobs, "bob")
	})
}

// A session that ended by itself does not count: the cap is on live ones.
func TestMaxSessionsCountsOnlyLiveSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		cfg := testConfig(clock)
		cfg.MaxPerUser = 2
		m := newManager(t, cfg, store, accounts)
		alice := createAccount(t, accounts, "alice")
		login(t, m, alice, false, nil)
		clock.Add(time.Minute)
		kept := login(t, m, alice, true, nil) // remembered: no idle limit
		clock.Add(3 * time.Hour)              // the first has been idle too long
		newest := login(t, m, alice, false, nil)
		wantUser(t, m, kept, "alice")
		wantUser(t, m, newest, "alice")
	})
}

// Logins in the same millisecond (a frozen clock) still end exactly the
// excess, and never the session just made.
func TestMaxSessionsWithinOneMillisecond(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		cfg := testConfig(newFakeClock())
		cfg.MaxPerUser = 1
		m := newManager(t, cfg, store, accounts)
		alice := createAccount(t, accounts, "alice")
		var last *http.Cookie
		for range 4 {
			last = login(t, m, alice, false, nil)
			wantUser(t, m, last, "alice")
			if n := len(list(t, m, alice, Session{})); n != 1 {
				t.Fatalf("alice has %d live sessions; want 1", n)
			}
		}
	})
}
