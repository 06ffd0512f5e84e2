package throttle

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/gomodule/redigo/redis"
)

// testServer is a private redis-server for this package's tests; without it
// the tests fail, never skip.
var testServer *testredis.Server

func TestMain(m *testing.M) { testredis.Main(m, &testServer) }

// base is the fake clock's zero; tests add durations to it.
var base = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func at(d time.Duration) time.Time { return base.Add(d) }

// storeKind makes a fresh store and can read a key's count, which the Store
// interface does not expose.
type storeKind struct {
	name  string
	new   func(t *testing.T) Store
	count func(t *testing.T, s Store, key string) int64
}

var storeKinds = []storeKind{
	{
		name: "redis",
		new: func(t *testing.T) Store {
			return NewRedisStore(newTestPool(t), testPrefix)
		},
		count: func(t *testing.T, s Store, key string) int64 {
			c := s.(*RedisStore).Pool.Get()
			defer c.Close()
			n, err := redis.Int64(c.Do("HGET", testPrefix+key, "count"))
			if err != nil {
				t.Fatalf("reading count of %q: %v", key, err)
			}
			return n
		},
	},
	{
		name: "memory",
		new:  func(*testing.T) Store { return NewMemoryStore() },
		count: func(t *testing.T, s Store, key string) int64 {
			m := s.(*MemoryStore)
			m.mu.Lock()
			defer m.mu.Unlock()
			r := m.records[key]
			if r == nil {
				t.Fatalf("no record for %q", key)
			}
			return r.count
		},
	},
}

const testPrefix = "test:throttle:"

// newTestPool empties the shared test server (the Redis tests do not run in
// parallel) and returns a pool on it.
func newTestPool(t *testing.T) *redis.Pool {
	t.Helper()
	if err := testServer.FlushAll(); err != nil {
		t.Fatalf("emptying test redis: %v", err)
	}
	pool := testServer.Pool(0)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// eachStore runs one contract test against every store, so both keep the
// same contract by construction.
func eachStore(t *testing.T, test func(t *testing.T, s Store, kind storeKind)) {
	for _, kind := range storeKinds {
		t.Run(kind.name, func(t *testing.T) { test(t, kind.new(t), kind) })
	}
}

// lock is the usual login rule of these tests.
var lock = Rule{Limit: 5, Window: 15 * time.Minute, Lockout: time.Minute, MaxLockout: 3 * time.Minute}

func hit(t *testing.T, s Store, key string, rule Rule, now time.Time) time.Time {
	t.Helper()
	until, err := s.Hit(context.Background(), key, rule, now)
	if err != nil {
		t.Fatalf("Hit(%q) at %v: %v", key, now.Sub(base), err)
	}
	return until
}

func blocked(t *testing.T, s Store, key string, now time.Time) time.Time {
	t.Helper()
	until, err := s.Blocked(context.Background(), key, now)
	if err != nil {
		t.Fatalf("Blocked(%q) at %v: %v", key, now.Sub(base), err)
	}
	return until
}

// wantUntil fails unless got is want; zero want means "not blocked".
func wantUntil(t *testing.T, what string, got, want time.Time) {
	t.Helper()
	if !got.Equal(want) {
		t.Fatalf("%s = %s; want %s", what, show(got), show(want))
	}
}

func show(u time.Time) string {
	if u.IsZero() {
		return "not blocked"
	}
	return "blocked until base+" + u.Sub(base).String()
}

// lockKey hits key until rule blocks it at now and returns until.
func lockKey(t *testing.T, s Store, key string, rule Rule, now time.Time) time.Time {
	t.Helper()
	for i := 1; i <= rule.Limit; i++ {
		until := hit(t, s, key, rule, now)
		if i < rule.Limit && !until.IsZero() {
			t.Fatalf("hit %d of %d on %q: %s", i, rule.Limit, key, show(until))
		}
		if i == rule.Limit {
			if until.IsZero() {
				t.Fatalf("hit %d of %d on %q did not block", i, rule.Limit, key)
			}
			return until
		}
	}
	return time.Time{}
}

func TestFifthFailureLocksTheKey(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		wantUntil(t, "Blocked on an unknown key", blocked(t, s, "alice", at(0)), time.Time{})
		for i := range 4 {
			now := at(time.Duration(i) * time.Second)
			wantUntil(t, fmt.Sprintf("hit %d", i+1), hit(t, s, "alice", lock, now), time.Time{})
			wantUntil(t, fmt.Sprintf("Blocked after hit %d", i+1), blocked(t, s, "alice", now), time.Time{})
		}
		fifth := at(10 * time.Second)
		want := fifth.Add(lock.Lockout)
		wantUntil(t, "hit 5", hit(t, s, "alice", lock, fifth), want)
		wantUntil(t, "Blocked right after", blocked(t, s, "alice", fifth), want)
		wantUntil(t, "Blocked 1ms before the end", blocked(t, s, "alice", want.Add(-time.Millisecond)), want)
		wantUntil(t, "Blocked when the lock ends", blocked(t, s, "alice", want), time.Time{})
		// The count starts again from 0 after the lock.
		wantUntil(t, "first hit after the lock", hit(t, s, "alice", lock, want), time.Time{})
	})
}

func TestLockoutDoublesAndIsCapped(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		// 1m, 2m, then 4m capped to 3m, and 3m from then on.
		now := at(0)
		for i, d := range []time.Duration{time.Minute, 2 * time.Minute, 3 * time.Minute, 3 * time.Minute} {
			until := lockKey(t, s, "alice", lock, now)
			wantUntil(t, fmt.Sprintf("lock %d", i+1), until, now.Add(d))
			now = until // the next attempts come as soon as the lock ends
		}
	})
}

func TestLockoutWithoutMaxDoesNotDouble(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		rule := Rule{Limit: 2, Window: time.Minute, Lockout: time.Minute}
		now := at(0)
		for i := range 3 {
			until := lockKey(t, s, "alice", rule, now)
			wantUntil(t, fmt.Sprintf("lock %d", i+1), until, now.Add(time.Minute))
			now = until
		}
	})
}

func TestWindowResetsCount(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		// Four hits in the window that starts at 0...
		for _, d := range []time.Duration{0, time.Minute, 10 * time.Minute, 15*time.Minute - time.Millisecond} {
			wantUntil(t, "hit at "+d.String(), hit(t, s, "alice", lock, at(d)), time.Time{})
		}
		// ...do not count in the next one, which starts at its first hit (16m),
		// not at a multiple of the window.
		start := 16 * time.Minute
		for i := range 4 {
			d := start + time.Duration(i)*4*time.Minute
			wantUntil(t, "hit at "+d.String(), hit(t, s, "alice", lock, at(d)), time.Time{})
		}
		// 16m+15m is past that window: a fresh count again.
		wantUntil(t, "hit at 31m", hit(t, s, "alice", lock, at(start+lock.Window)), time.Time{})
		// The window ending is not a lock: the first lock is still Lockout.
		now := at(32 * time.Minute)
		for range 3 {
			hit(t, s, "alice", lock, now)
		}
		wantUntil(t, "fifth hit within the window", hit(t, s, "alice", lock, now), now.Add(lock.Lockout))
	})
}

func TestResetForgetsLevel(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		ctx := context.Background()
		first := lockKey(t, s, "alice", lock, at(0))
		second := lockKey(t, s, "alice", lock, first)
		wantUntil(t, "second lock", second, first.Add(2*lock.Lockout))
		if err := s.Reset(ctx, "alice"); err != nil {
			t.Fatalf("Reset: %v", err)
		}
		wantUntil(t, "Blocked after Reset", blocked(t, s, "alice", first), time.Time{})
		third := lockKey(t, s, "alice", lock, first.Add(time.Second))
		wantUntil(t, "lock after Reset", third, first.Add(time.Second+lock.Lockout))
		if err := s.Reset(ctx, "nobody"); err != nil {
			t.Fatalf("Reset of an unknown key: %v", err)
		}
	})
}

func TestHitsWhileBlockedDoNotExtend(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		until := lockKey(t, s, "alice", lock, at(0))
		for _, d := range []time.Duration{0, time.Second, lock.Lockout - time.Millisecond} {
			wantUntil(t, "hit while blocked at "+d.String(), hit(t, s, "alice", lock, at(d)), until)
		}
		wantUntil(t, "Blocked", blocked(t, s, "alice", at(time.Second)), until)
		// Nor did they escalate: the next lock is the second, twice Lockout.
		next := lockKey(t, s, "alice", lock, until)
		wantUntil(t, "next lock", next, until.Add(2*lock.Lockout))
	})
}

func TestKeysAreIndependent(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		ctx := context.Background()
		one := Rule{Limit: 1, Window: time.Minute, Lockout: time.Minute, MaxLockout: time.Hour}
		// Usernames and IPv6 addresses carry any bytes; none may alias another.
		keys := []string{"alice", "al", "alice ", "user:alice", "ip:2001:db8::1", "ip:2001:db8::1%eth0",
			"ip:127.0.0.1", "\x00\xff\n*?[", "ünïcødé", ""}
		for i, k := range keys {
			wantUntil(t, fmt.Sprintf("Blocked(%q) after locking %d others", k, i), blocked(t, s, k, at(0)), time.Time{})
			wantUntil(t, fmt.Sprintf("Hit(%q)", k), hit(t, s, k, one, at(0)), at(time.Minute))
		}
		for _, k := range keys {
			wantUntil(t, fmt.Sprintf("Blocked(%q)", k), blocked(t, s, k, at(time.Second)), at(time.Minute))
		}
		if err := s.Reset(ctx, "al"); err != nil {
			t.Fatal(err)
		}
		wantUntil(t, `Blocked("al") after its Reset`, blocked(t, s, "al", at(time.Second)), time.Time{})
		wantUntil(t, `Blocked("alice") after Reset("al")`, blocked(t, s, "alice", at(time.Second)), at(time.Minute))
	})
}

func TestBlockedUntilWindowEndWithoutLockout(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		ip := Rule{Limit: 3, Window: 10 * time.Minute}
		end := at(ip.Window)
		hit(t, s, "ip:192.0.2.1", ip, at(0))
		hit(t, s, "ip:192.0.2.1", ip, at(time.Minute))
		wantUntil(t, "third hit", hit(t, s, "ip:192.0.2.1", ip, at(2*time.Minute)), end)
		wantUntil(t, "Blocked", blocked(t, s, "ip:192.0.2.1", at(9*time.Minute)), end)
		wantUntil(t, "hit while blocked", hit(t, s, "ip:192.0.2.1", ip, at(5*time.Minute)), end)
		wantUntil(t, "Blocked at the window end", blocked(t, s, "ip:192.0.2.1", end), time.Time{})
		// No escalation: the next block again ends with its window.
		next := lockKey(t, s, "ip:192.0.2.1", ip, end)
		wantUntil(t, "next block", next, end.Add(ip.Window))
	})
}

func TestConcurrentHitsCountOnceAndLockOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, kind storeKind) {
		const n = 100
		now := at(0)
		want := now.Add(lock.Lockout)
		results := make([]time.Time, n)
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				results[i], errs[i] = s.Hit(context.Background(), "alice", lock, now)
			})
		}
		wg.Wait()
		free := 0
		for i := range n {
			if errs[i] != nil {
				t.Fatalf("Hit %d: %v", i, errs[i])
			}
			switch {
			case results[i].IsZero():
				free++
			case !results[i].Equal(want):
				t.Fatalf("Hit %d: %s; want %s", i, show(results[i]), show(want))
			}
		}
		if free != lock.Limit-1 {
			t.Fatalf("%d hits were not blocked; want %d", free, lock.Limit-1)
		}
		if got := kind.count(t, s, "alice"); got != n {
			t.Fatalf("count = %d; want %d", got, n)
		}
		wantUntil(t, "Blocked", blocked(t, s, "alice", now), want)
		// One lock, not many: the next is the second level.
		wantUntil(t, "next lock", lockKey(t, s, "alice", lock, want), want.Add(2*lock.Lockout))
	})
}

func TestInvalidRuleIsAnError(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		for _, rule := range []Rule{
			{Limit: 0, Window: time.Minute},
			{Limit: -1, Window: time.Minute},
			{Limit: 5},
			{Limit: 5, Window: time.Microsecond},
			{Limit: 5, Window: time.Minute, Lockout: -time.Second},
			{Limit: 5, Window: time.Minute, Lockout: time.Microsecond},
			{Limit: 5, Window: time.Minute, Lockout: time.Minute, MaxLockout: -time.Minute},
		} {
			until, err := s.Hit(context.Background(), "alice", rule, at(0))
			if err == nil || !strings.HasPrefix(err.Error(), "throttle: invalid rule") {
				t.Fatalf("Hit with %+v = %s, %v; want an invalid rule error", rule, show(until), err)
			}
		}
		wantUntil(t, "Blocked after refused hits", blocked(t, s, "alice", at(0)), time.Time{})
	})
}

// TestResetPrefixForgetsEveryKeyWithThePrefixAndNoOther: an operator's
// unlock lifts an account's known browsers' locks, whose keys share a
// prefix, however many there are, and no key of another account, even one
// whose name starts alike or holds a glob character.
func TestResetPrefixForgetsEveryKeyWithThePrefixAndNoOther(t *testing.T) {
	eachStore(t, func(t *testing.T, s Store, _ storeKind) {
		ctx := context.Background()
		one := Rule{Limit: 1, Window: time.Minute, Lockout: time.Minute, MaxLockout: time.Hour}
		var gone []string
		for i := range 2500 { // more than one SCAN batch
			gone = append(gone, fmt.Sprintf("device:a*:%d", i))
		}
		kept := []string{"device:a:1", "device:ab:1", "device:a*", "device:a", "account:a*", "xdevice:a*:1", "device:a?:1", "device:b*:1"}
		for _, k := range append(slices.Clone(gone), kept...) {
			hit(t, s, k, one, at(0))
		}
		if err := s.ResetPrefix(ctx, "device:a*:"); err != nil {
			t.Fatalf("ResetPrefix: %v", err)
		}
		for _, k := range gone {
			wantUntil(t, fmt.Sprintf("Blocked(%q) after its prefix was reset", k), blocked(t, s, k, at(time.Second)), time.Time{})
		}
		for _, k := range kept {
			wantUntil(t, fmt.Sprintf("Blocked(%q), another prefix", k), blocked(t, s, k, at(time.Second)), at(time.Minute))
		}
		// Forgotten entirely: the next lock is a first one again.
		wantUntil(t, "the next lock of a reset key", hit(t, s, gone[0], one, at(2*time.Minute)), at(3*time.Minute))
		if err := s.ResetPrefix(ctx, "device:nobody:"); err != nil {
			t.Fatalf("ResetPrefix of a prefix no key has: %v", err)
		}
	})
}
