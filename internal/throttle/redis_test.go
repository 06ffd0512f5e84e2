package throttle

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/gomodule/redigo/redis"
)

func TestRedisKeepsOneHashPerKey(t *testing.T) {
	pool := newTestPool(t)
	s := NewRedisStore(pool, testPrefix)
	until := lockKey(t, s, "ip:2001:db8::1", lock, at(time.Second))
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", "*"))
	if err != nil || len(keys) != 1 || keys[0] != testPrefix+"ip:2001:db8::1" {
		t.Fatalf("keys = %q, %v; want only %q", keys, err, testPrefix+"ip:2001:db8::1")
	}
	fields, err := redis.Int64Map(c.Do("HGETALL", keys[0]))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]int64{
		"count": 5,
		"start": at(time.Second).UnixMilli(),
		"until": until.UnixMilli(),
		"level": 1,
	}
	if len(fields) != len(want) {
		t.Fatalf("fields = %v; want %v", fields, want)
	}
	for k, v := range want {
		if fields[k] != v {
			t.Fatalf("field %s = %d; want %d (all: %v)", k, fields[k], v, fields)
		}
	}
}

func TestRedisRecordExpiresByItself(t *testing.T) {
	pool := newTestPool(t)
	s := NewRedisStore(pool, testPrefix)
	// A lock longer than the window, so the bound after it is set by the lock.
	rule := Rule{Limit: 2, Window: time.Minute, Lockout: 10 * time.Minute, MaxLockout: time.Hour}
	c := pool.Get()
	defer c.Close()
	checkPTTL := func(what string, bound time.Duration) {
		t.Helper()
		ms, err := redis.Int64(c.Do("PTTL", testPrefix+"alice"))
		if err != nil {
			t.Fatal(err)
		}
		ttl := time.Duration(ms) * time.Millisecond
		// Redis counts down on its own clock; a minute of slack covers a slow run.
		if ttl <= bound-time.Minute || ttl > bound {
			t.Fatalf("PTTL %s = %v; want at most %v and close to it", what, ttl, bound)
		}
	}
	hit(t, s, "alice", rule, at(0))
	checkPTTL("after one hit", rule.Window+rule.MaxLockout)
	hit(t, s, "alice", rule, at(0))
	checkPTTL("after the lock", rule.Lockout+rule.MaxLockout)
	// Hits while blocked renew the record from their own now.
	hit(t, s, "alice", rule, at(9*time.Minute))
	checkPTTL("after a hit while blocked", rule.Window+rule.MaxLockout)
}

func TestRedisDownIsAnError(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	t.Cleanup(srv.Close)
	pool := srv.Pool(0)
	t.Cleanup(func() { pool.Close() })
	s := NewRedisStore(pool, testPrefix)
	ctx := context.Background()
	lockKey(t, s, "alice", lock, at(0))

	// The pool keeps an idle connection to the server that now dies: the
	// first call finds it broken, later ones cannot dial.
	srv.Stop()

	check := func(what string, err error) {
		t.Helper()
		if err == nil || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Fatalf("%s with Redis down: %v; want a redis error", what, err)
		}
	}
	until, err := s.Blocked(ctx, "alice", at(time.Second))
	check("Blocked", err)
	if !until.IsZero() {
		t.Fatalf("Blocked with Redis down returned %s alongside its error", show(until))
	}
	_, err = s.Hit(ctx, "alice", lock, at(time.Second))
	check("Hit", err)
	check("Reset", s.Reset(ctx, "alice"))
	_, err = s.Blocked(ctx, "alice", at(time.Second))
	check("Blocked again", err)
}
