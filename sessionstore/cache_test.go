package sessionstore

import (
	"context"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

func waitTrusted(t *testing.T, c *Cache, want bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for c.trusted() != want {
		if time.Now().After(deadline) {
			t.Fatalf("cache trusted = %v, want %v within 5s", c.trusted(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestCacheServesOnlyWhileSubscribed(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	pool := newPool(srv)
	defer pool.Close()
	c := NewCache(dialer(srv), "test:revoked", time.Minute)
	defer c.Close()
	waitTrusted(t, c, true)

	rec := Record{User: "alice", Created: time.UnixMilli(1), Seen: time.UnixMilli(2), Expires: time.UnixMilli(3)}
	_, _, gen := c.get("value1")
	c.put("value1", "ID1", rec, gen)
	if got, ok, _ := c.get("value1"); !ok || got.rec != rec || got.id != "ID1" {
		t.Fatal("a record put while subscribed must be served")
	}
	srv.Stop()
	waitTrusted(t, c, false)
	if _, ok, _ := c.get("value1"); ok {
		t.Fatal("with the subscription down, nothing may be served from the cache")
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	waitTrusted(t, c, true)
	if _, ok, _ := c.get("value1"); ok {
		t.Fatal("after a reconnect the cache must start empty: revocations may have been missed")
	}
}

func TestCacheDropsPublishedRevocations(t *testing.T) {
	pool := newPool(testRedis)
	defer pool.Close()
	c := NewCache(dialer(testRedis), RevocationChannel("test2:"), time.Minute)
	defer c.Close()
	waitTrusted(t, c, true)
	rec := Record{User: "bob"}
	_, _, gen := c.get("value2")
	c.put("value2", "ID2", rec, gen)
	conn := pool.Get()
	defer conn.Close()
	if err := forget(conn, "test2:", "ID2"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		if _, ok, _ := c.get("value2"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("a published revocation did not reach the cache")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestCacheRefusesAReadThatARevocationOvertook(t *testing.T) {
	pool := newPool(testRedis)
	defer pool.Close()
	c := NewCache(dialer(testRedis), "test:revoked3", time.Minute)
	defer c.Close()
	waitTrusted(t, c, true)
	_, _, gen := c.get("value3") // a read begins ...
	c.drop("ID3")                // ... the session is revoked meanwhile ...
	c.put("value3", "ID3", Record{User: "carl"}, gen)
	if _, ok, _ := c.get("value3"); ok {
		t.Fatal("a read that began before a revocation must not be cached")
	}
}

func newPool(srv *testredis.Server) *redis.Pool {
	return &redis.Pool{
		MaxIdle: 4,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return redis.DialContext(ctx, "tcp", srv.Addr)
		},
	}
}

func dialer(srv *testredis.Server) Dialer {
	return func(ctx context.Context, options ...redis.DialOption) (redis.Conn, error) {
		return redis.DialContext(ctx, "tcp", srv.Addr, options...)
	}
}
