package users

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
	"github.com/gomodule/redigo/redis"
)

// newTestPool empties the shared test server (so -count=N starts clean; the
// Redis tests do not run in parallel) and returns a pool on it.
func newTestPool(t *testing.T) *redis.Pool {
	t.Helper()
	if err := testServer.FlushAll(); err != nil {
		t.Fatalf("emptying test redis: %v", err)
	}
	pool := testServer.Pool(0)
	t.Cleanup(func() { pool.Close() })
	return pool
}

// newTestRedisStore returns a store on the shared test server under a prefix
// named after the test.
func newTestRedisStore(t *testing.T) (*RedisStore, *redis.Pool) {
	t.Helper()
	pool := newTestPool(t)
	return NewRedisStore(pool, "test:"+t.Name()+":"), pool
}

func TestRedisStoreKeepsTheContract(t *testing.T) {
	s, _ := newTestRedisStore(t)
	testStore(t, s)
}

func TestRedisStoreKeepsOneKeyPerAccount(t *testing.T) {
	s, pool := newTestRedisStore(t)
	ctx := context.Background()
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", "test:"+t.Name()+":*"))
	if err != nil || len(keys) != 1 || keys[0] != "test:"+t.Name()+":user:alice" {
		t.Fatalf("keys = %v, %v", keys, err)
	}
}

func TestRedisStoreListIgnoresOtherPrefixes(t *testing.T) {
	ctx := context.Background()
	pool := newTestPool(t)
	// A prefix with glob characters must match only itself.
	a := NewRedisStore(pool, "test:glob[*]?:")
	b := NewRedisStore(pool, "test:globX*?:")
	if err := a.Create(ctx, Account{Username: "alice", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(ctx, Account{Username: "bob", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	list, err := a.List(ctx)
	if err != nil || len(list) != 1 || list[0].Username != "alice" {
		t.Fatalf("List = %+v, %v; want only alice", list, err)
	}
}

func TestRedisStoreCorruptAccountIsAnError(t *testing.T) {
	s, pool := newTestRedisStore(t)
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("SET", "test:"+t.Name()+":user:alice", "{not json"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(context.Background(), "alice"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get of corrupt account: %v; want a backend error", err)
	}
}

func TestRedisStoreDownIsNotNotFound(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	defer srv.Close()
	pool := srv.Pool(0)
	defer pool.Close()
	s := NewRedisStore(pool, "test:")
	ctx := context.Background()
	secret := "$2a$10$secrethashsecrethashsecrethashsecrethashsecrethashsecre"
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte(secret)}); err != nil {
		t.Fatal(err)
	}
	srv.Stop()

	checks := map[string]error{}
	_, checks["Get"] = s.Get(ctx, "alice")
	checks["Create"] = s.Create(ctx, Account{Username: "bob", Hash: []byte(secret)})
	checks["Update"] = s.Update(ctx, "alice", func(a *Account) error { return nil })
	checks["SetPassword"] = SetPassword(ctx, s, "alice", []byte(secret))
	checks["Delete"] = s.Delete(ctx, "alice")
	_, checks["List"] = s.List(ctx)
	for op, err := range checks {
		if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrTaken) {
			t.Errorf("%s with Redis down: %v; want a backend error", op, err)
			continue
		}
		if !strings.HasPrefix(err.Error(), "redis: ") {
			t.Errorf("%s error %q does not say it is Redis", op, err)
		}
		if strings.Contains(err.Error(), "secrethash") {
			t.Errorf("%s error %q contains the hash", op, err)
		}
	}
}
