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
	in.listener.setHeard(func(string) { time.Sleep(100 * time.Millisecond) })
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
// let a Manager serve sessions from memory past MemoryBound, nor at all
// once its Listener has given up on the silence.
//
// The session's key is deleted behind the store's back, so the store
// answers "no session" (or, paused, nothing) and only memory can answer
// with the session. Each phase asserts only on attempts in which memory
// held the entry all through Current and the Listener's trust was what
// the phase needs (no clear moved the memory's generation meanwhile);
// others are tried again, so a slow machine only takes longer:
//
//   - Phase 1: MemoryBound after its read, an entry has aged out, though
//     the Listener is subscribed and heard nothing (the end was never
//     announced, as with a silent Redis). Without the MemoryBound check in
//     memory.get, Current would return the session.
//   - Phase 2: once the Listener has given up on a paused Redis (subscribed
//     false), an entry that is fresh for an hour (as a read racing the loss
//     could leave one) must still not be served. Without m.store.trusted()
//     in Current, it would be. Current runs with a deadline, since the
//     paused store never answers.
func TestSilentRedisStopsMemoryServing(t *testing.T) {
	srv := ownRedis(t)
	in := newInstance(t, srv, uniquePrefix())
	m := newManager(t, testConfig(newFakeClock()), in.store, in.accounts)
	alice := createAccount(t, in.accounts, "alice")

	untilProved(t, "phase 1: an aged entry looked up while subscribed", func() bool {
		c := login(t, m, alice, false, nil)
		s := remember(t, m, c, "alice")
		forgetBehindTheStoresBack(t, in.store, s.ID)
		v, ok := m.mem.values.Load(c.Value)
		if !ok {
			return false
		}
		until := v.(*entry).until
		waitFor(t, "the entry to age out", func() bool { return clock() >= until })
		gen := m.mem.generation()
		if !in.listener.subscribed() {
			return false
		}
		got := current(t, m, c)
		if m.mem.generation() != gen || !in.listener.subscribed() || !inMemory(m, c) {
			return false // the memory was emptied, or trust lost, meanwhile
		}
		if got.LoggedIn() {
			t.Fatal("phase 1: a session was served from memory MemoryBound after its read, with its end never announced")
		}
		return true
	})

	c := login(t, m, alice, false, nil)
	s := remember(t, m, c, "alice")
	forgetBehindTheStoresBack(t, in.store, s.ID)
	must(t, srv.Pause())
	waitFor(t, "the Listener to give up on the silent Redis", func() bool { return !in.listener.subscribed() })
	untilProved(t, "phase 2: a fresh entry looked up while not subscribed", func() bool {
		gen := m.mem.generation()
		m.mem.put(c.Value, entry{name: c.Name, id: s.ID, rec: s.Record, user: s.User}, gen, clock()+int64(time.Hour))
		if !inMemory(m, c) {
			return false // a clear came first
		}
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		got, _ := m.Current(get(c).WithContext(ctx))
		cancel()
		if m.mem.generation() != gen || in.listener.subscribed() {
			return false
		}
		if got.LoggedIn() {
			t.Fatal("phase 2: a session was served from memory while the Listener was not subscribed")
		}
		return true
	})
	must(t, srv.Resume())
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
	waitFor(t, "the Listener to subscribe", l.subscribed)
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
	waitFor(t, "the Listener to notice", func() bool { return !l.subscribed() })
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
	waitFor(t, "the Listener to resubscribe", l.subscribed)
	if inMemory(m, c) {
		t.Fatal("memory did not start empty on the new subscription")
	}
	c2 := login(t, m, createAccount(t, accounts, "bob"), false, nil)
	remember(t, m, c2, "bob")
}
