package session

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// ownRedis is a redis-server for one test that stops, pauses or kills
// clients of its Redis, so no other test is disturbed.
func ownRedis(t *testing.T) *testredis.Server {
	t.Helper()
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a redis-server: %v", err)
	}
	t.Cleanup(func() {
		_ = srv.Resume() // Close works on a paused server, but be plain
		srv.Close()
	})
	return srv
}

// holdBack makes an instance slow to apply what it hears, so that a
// publisher that did not wait for it would return while it still serves
// the session from memory.
func holdBack(in *instance) {
	in.listener.SetHeard(func(string) { time.Sleep(100 * time.Millisecond) })
}

// TestEndOnOneInstanceIsFinalOnAnother: two Caddy instances share a
// Redis, each with its own pool and Listener. A logout through A returns
// only once B has dropped the session, so B refuses the cookie on the very
// next request, even though B had it in memory and is slow to hear.
func TestEndOnOneInstanceIsFinalOnAnother(t *testing.T) {
	prefix := uniquePrefix()
	a, b := newInstance(t, testRedis, prefix), newInstance(t, testRedis, prefix)
	clock := newFakeClock()
	ma := newManager(t, testConfig(clock), a.store, a.accounts)
	mb := newManager(t, testConfig(clock), b.store, b.accounts)
	alice := createAccount(t, a.accounts, "alice")
	holdBack(b)
	for round := range 30 {
		c := login(t, ma, alice, false, nil)
		remember(t, mb, c, "alice")
		w := httptest.NewRecorder()
		if ended, err := ma.End(w, get(c)); !ended || err != nil {
			t.Fatalf("round %d: End through A = %v, %v", round, ended, err)
		}
		wantNoSession(t, mb, c, "B, right after a logout through A")
	}
}

// TestUserWideEndsReachEveryInstance: EndAllFor and UserChanged (after a
// password change or a removal) through A are final on B when they return.
func TestUserWideEndsReachEveryInstance(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, a *instance, ma *Manager)
	}{
		{"all sessions ended", func(t *testing.T, a *instance, ma *Manager) {
			if n, err := ma.EndAllFor(ctx, "alice"); n != 2 || err != nil {
				t.Fatalf("EndAllFor = %d, %v; want 2", n, err)
			}
		}},
		{"password changed", func(t *testing.T, a *instance, _ *Manager) {
			must(t, users.SetPassword(ctx, a.accounts, "alice", []byte("new hash")))
			must(t, a.store.UserChanged(ctx, "alice"))
		}},
		{"account removed", func(t *testing.T, a *instance, _ *Manager) {
			must(t, a.accounts.Delete(ctx, "alice"))
			must(t, a.store.UserChanged(ctx, "alice"))
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := uniquePrefix()
			a, b := newInstance(t, testRedis, prefix), newInstance(t, testRedis, prefix)
			clock := newFakeClock()
			ma := newManager(t, testConfig(clock), a.store, a.accounts)
			mb := newManager(t, testConfig(clock), b.store, b.accounts)
			alice := createAccount(t, a.accounts, "alice")
			holdBack(b)
			cookies := []*http.Cookie{login(t, ma, alice, false, nil), login(t, ma, alice, true, nil)}
			for _, c := range cookies {
				remember(t, mb, c, "alice")
			}
			tc.change(t, a, ma)
			for _, c := range cookies {
				wantNoSession(t, mb, c, "B, right after the change through A")
			}
		})
	}
}

// TestEndReachesEveryManagerInTheProcess: Managers of one store in one
// process (site blocks sharing a realm, the old and new config during a
// reload) each keep their own memory; an end through one is final on the
// others when it returns.
func TestEndReachesEveryManagerInTheProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		m1 := newManager(t, testConfig(clock), store, accounts)
		m2 := newManager(t, testConfig(clock), store, accounts)
		c := login(t, m1, createAccount(t, accounts, "alice"), false, nil)
		remember(t, m2, c, "alice")
		if ended, err := m1.End(httptest.NewRecorder(), get(c)); !ended || err != nil {
			t.Fatalf("End = %v, %v", ended, err)
		}
		wantNoSession(t, m2, c, "the other Manager, right after the logout")

		c = login(t, m1, createAccount(t, accounts, "bob"), false, nil)
		wantUser(t, m2, c, "bob")
		if n, err := store.EndUser(context.Background(), "bob"); n != 1 || err != nil {
			t.Fatalf("EndUser = %d, %v", n, err)
		}
		wantNoSession(t, m2, c, "the other Manager, right after EndUser")
	})
}

// TestUnknownAnnouncementsEmptyMemory: an announcement of a kind this
// version does not know (from a newer instance) is answered by forgetting
// everything, which is always safe, and is still confirmed.
func TestUnknownAnnouncementsEmptyMemory(t *testing.T) {
	prefix := uniquePrefix()
	in := newInstance(t, testRedis, prefix)
	m := newManager(t, testConfig(newFakeClock()), in.store, in.accounts)
	c := login(t, m, createAccount(t, in.accounts, "alice"), false, nil)
	remember(t, m, c, "alice")
	conn := in.pool.Get()
	defer conn.Close()
	ack := prefix + "ack:test"
	if _, err := conn.Do("PUBLISH", Channel(prefix, 0), "r something "+ack); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.Do("BLPOP", ack, 30); reply == nil || err != nil {
		t.Fatalf("no confirmation of an unknown announcement: %v, %v", reply, err)
	}
	if inMemory(m, c) {
		t.Fatal("an unknown announcement left memory as it was")
	}
}

// result is what a Current running in the background returned.
type result struct {
	s   Session
	err error
}

func currentInBackground(m *Manager, c *http.Cookie) <-chan result {
	done := make(chan result, 1)
	go func() {
		s, err := m.Current(get(c))
		done <- result{s, err}
	}()
	return done
}

func wait(t *testing.T, done <-chan result) result {
	t.Helper()
	select {
	case r := <-done:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("Current did not return within 60s of Redis resuming")
		return result{}
	}
}

// forgetBehindTheStoresBack deletes a session's key without announcing
// it: from then on only a memory can still find the session, so any test
// that gets the session back proves it was served from memory.
func forgetBehindTheStoresBack(t *testing.T, s *Redis, id string) {
	t.Helper()
	conn := s.pool.Get()
	defer conn.Close()
	if n, err := redis.Int(conn.Do("DEL", s.prefix+id)); n != 1 || err != nil {
		t.Fatalf("DEL = %d, %v", n, err)
	}
}

// TestSilentRedisStopsMemoryServing: a Redis that goes silent (SIGSTOP: no
// connection closes, nothing errors, announcements simply stop) must not
// let a Manager serve sessions from memory past MemoryBound.
//
// The session's key is deleted behind the store's back first, so the
// store would answer "no session" and only memory can answer with the
// session; and Current runs while Redis is paused, so a memory answer is
// immediate while a store answer waits for Redis to resume. Both phases
// are deterministic:
//
//   - Phase 1: MemoryBound after filling, the entry has aged out while the
//     Listener still believes it is subscribed (it gives up on a silent
//     connection only after missing pongs for 3 s). Without the
//     MemoryBound check in memory.get, Current would return the session.
//   - Phase 2: once the Listener has given up (Subscribed false), an entry
//     that is fresh (as a read racing the loss could leave) must still not
//     be served. Without m.store.trusted() in Current, it would be.
func TestSilentRedisStopsMemoryServing(t *testing.T) {
	srv := ownRedis(t)
	in := newInstance(t, srv, uniquePrefix())
	m := newManager(t, testConfig(newFakeClock()), in.store, in.accounts)
	c := login(t, m, createAccount(t, in.accounts, "alice"), false, nil)
	s := remember(t, m, c, "alice")
	forgetBehindTheStoresBack(t, in.store, s.ID)

	// Phase 1: memory ages out.
	must(t, srv.Pause())
	time.Sleep(MemoryBound + 200*time.Millisecond)
	done := currentInBackground(m, c)
	time.Sleep(300 * time.Millisecond)
	must(t, srv.Resume())
	if r := wait(t, done); r.s.LoggedIn() {
		t.Fatal("phase 1: a session was served from memory MemoryBound after its read, with Redis silent")
	}

	// Phase 2: an untrusted memory serves nothing, however fresh.
	waitFor(t, "the Listener to resubscribe", in.listener.Subscribed)
	must(t, srv.Pause())
	waitFor(t, "the Listener to give up on the silent Redis", func() bool { return !in.listener.Subscribed() })
	m.mem.put(c.Value, entry{name: c.Name, id: s.ID, rec: s.Record, user: s.User}, m.mem.generation(), clock())
	done = currentInBackground(m, c)
	time.Sleep(300 * time.Millisecond)
	must(t, srv.Resume())
	if r := wait(t, done); r.s.LoggedIn() {
		t.Fatal("phase 2: a session was served from memory while the Listener was not subscribed")
	}
}

// TestKilledSubscriptionEmptiesMemoryUntilResubscribed: when Redis drops
// the Listener's subscription, announcements made until it resubscribes
// are missed, so memory is emptied, nothing is remembered meanwhile, and
// memory starts empty again on the new subscription.
func TestKilledSubscriptionEmptiesMemoryUntilResubscribed(t *testing.T) {
	srv := ownRedis(t)
	prefix := uniquePrefix()
	pool := newPool(t, srv)
	var refuse atomic.Bool // holds the Listener off Redis while set
	dial := func(ctx context.Context) (redis.Conn, error) {
		if refuse.Load() {
			return nil, errors.New("test: no new subscription yet")
		}
		return dialer(srv)(ctx)
	}
	l := NewListener(dial, pool, Channel(prefix, 0))
	t.Cleanup(l.Close)
	waitFor(t, "the Listener to subscribe", l.Subscribed)
	store := NewRedis(pool, prefix, Channel(prefix, 0), l)
	accounts := users.NewRedisStore(pool, prefix)
	m := newManager(t, testConfig(newFakeClock()), store, accounts)
	c := login(t, m, createAccount(t, accounts, "alice"), false, nil)
	s := remember(t, m, c, "alice")

	refuse.Store(true)
	conn := pool.Get()
	if n, err := redis.Int(conn.Do("CLIENT", "KILL", "TYPE", "pubsub")); n != 1 || err != nil {
		t.Fatalf("CLIENT KILL TYPE pubsub = %d, %v; want the Listener's one connection", n, err)
	}
	conn.Close()
	waitFor(t, "the Listener to notice", func() bool { return !l.Subscribed() })
	if inMemory(m, c) {
		t.Fatal("memory kept a session after the subscription broke")
	}
	wantUser(t, m, c, "alice") // the store still answers ...
	if inMemory(m, c) {
		t.Fatal("a read without a subscription was remembered")
	}
	// ... and an entry that got into memory anyway (a read that raced the
	// loss) is not served: only memory knows this session now.
	forgetBehindTheStoresBack(t, store, s.ID)
	m.mem.put(c.Value, entry{name: c.Name, id: s.ID, rec: s.Record, user: s.User}, m.mem.generation(), clock())
	wantNoSession(t, m, c, "without a subscription")

	m.mem.put(c.Value, entry{name: c.Name, id: s.ID, rec: s.Record, user: s.User}, m.mem.generation(), clock())
	refuse.Store(false)
	waitFor(t, "the Listener to resubscribe", l.Subscribed)
	if inMemory(m, c) {
		t.Fatal("memory did not start empty on the new subscription")
	}
	c2 := login(t, m, createAccount(t, accounts, "bob"), false, nil)
	remember(t, m, c2, "bob")
}
