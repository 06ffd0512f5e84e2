package session

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"go.uber.org/zap"
	"go.uber.org/zap/zaptest/observer"
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

// A cap that cannot be applied (the store lists no sessions, here for
// want of ZRANGE in its Redis user's rights, while it still creates them)
// fails no login: the session just stored stands, with its cookie, and
// the failure is logged.
func TestALoginStandsWhenItsCapCannotBeApplied(t *testing.T) {
	in := newInstance(t, testRedis, uniquePrefix())
	admin := in.pool.Get()
	defer admin.Close()
	user := "cap-" + NewID()[:8]
	if _, err := admin.Do("ACL", "SETUSER", user, "on", ">secret", "~*", "&*", "+@all", "-zrange"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c := testRedis.Pool(0).Get(); c.Do("ACL", "DELUSER", user); c.Close() })
	pool := &redis.Pool{DialContext: func(ctx context.Context) (redis.Conn, error) {
		return redis.DialContext(ctx, "tcp", testRedis.Addr, redis.DialUsername(user), redis.DialPassword("secret"))
	}}
	t.Cleanup(func() { pool.Close() })
	prefix := strings.TrimSuffix(in.store.prefix, "session:")
	store := NewRedis(pool, prefix, in.store.channel, in.listener)

	cfg := testConfig(newFakeClock())
	cfg.MaxPerUser = 1
	core, logs := observer.New(zap.WarnLevel)
	cfg.Logger = zap.New(core)
	m := newManager(t, cfg, store, in.accounts)
	alice := createAccount(t, in.accounts, "alice")
	if _, err := store.Sessions(context.Background(), "alice"); err == nil {
		t.Fatal("the store lists sessions; the test needs it not to")
	}
	wantUser(t, m, login(t, m, alice, false, nil), "alice")
	if logs.FilterMessageSnippet("sessions cap").Len() != 1 {
		t.Fatalf("warnings: %v; want one about the cap", logs.All())
	}
}
