package session

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

func TestFileKeyGeneratesOnceAndKeepsIt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sessions", "cookie.key")
	first, err := FileKey(path)
	if err != nil {
		t.Fatalf("FileKey on a fresh path: %v", err)
	}
	if len(first) != keyBytes {
		t.Fatalf("generated key is %d bytes; want %d", len(first), keyBytes)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatalf("FileKey did not write %s: %v", path, err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("%s has mode %o; want 600", path, info.Mode().Perm())
	}
	second, err := FileKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("a second FileKey returned a different key")
	}
	onDisk, _ := os.ReadFile(path)
	if !bytes.Equal(first, onDisk) {
		t.Fatal("the returned key is not the one on disk")
	}
	wantOnlyKeyFile(t, filepath.Dir(path))
}

func TestFileKeyOnTwoFreshPathsDiffers(t *testing.T) {
	a, errA := FileKey(filepath.Join(t.TempDir(), "a.key"))
	b, errB := FileKey(filepath.Join(t.TempDir(), "b.key"))
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two fresh key files got the same key")
	}
}

func TestFileKeyRacersAgreeOnOneKey(t *testing.T) {
	for round := range 20 {
		path := filepath.Join(t.TempDir(), "cookie.key")
		const racers = 8
		keys := make([][]byte, racers)
		errs := make([]error, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[i], errs[i] = FileKey(path)
			}()
		}
		close(start)
		wg.Wait()
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: racers got different keys", round)
			}
		}
		onDisk, _ := os.ReadFile(path)
		if !bytes.Equal(onDisk, keys[0]) {
			t.Fatalf("round %d: the racers' key is not the one on disk", round)
		}
		wantOnlyKeyFile(t, filepath.Dir(path))
	}
}

func TestFileKeyRefusesShortKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "cookie.key")
	if err := os.WriteFile(path, []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FileKey(path); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("FileKey of a 5-byte key file = %v; want a too-short error", err)
	}
}

// wantOnlyKeyFile checks that key generation left no temporary files.
func wantOnlyKeyFile(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != "cookie.key" {
			t.Fatalf("key generation left %s in %s", e.Name(), dir)
		}
	}
}

func newKeyPool(t *testing.T) *redis.Pool {
	t.Helper()
	if err := testRedis.FlushAll(); err != nil {
		t.Fatalf("flushing redis: %v", err)
	}
	pool := testRedis.Pool(0)
	pool.MaxIdle = 16
	t.Cleanup(func() { pool.Close() })
	return pool
}

func TestRedisKeyGeneratesOnceAndKeepsIt(t *testing.T) {
	pool := newKeyPool(t)
	ctx := context.Background()
	first, err := RedisKey(ctx, pool, "test:cookie_key")
	if err != nil {
		t.Fatalf("RedisKey on an empty Redis: %v", err)
	}
	if len(first) != keyBytes {
		t.Fatalf("generated key is %d bytes; want %d", len(first), keyBytes)
	}
	second, err := RedisKey(ctx, pool, "test:cookie_key")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(first, second) {
		t.Fatal("a second RedisKey returned a different key")
	}
	conn := pool.Get()
	defer conn.Close()
	stored, err := redis.Bytes(conn.Do("GET", "test:cookie_key"))
	if err != nil || !bytes.Equal(stored, first) {
		t.Fatalf("the key in Redis is %x, %v; want the returned one", stored, err)
	}
	if ttl, _ := redis.Int(conn.Do("TTL", "test:cookie_key")); ttl != -1 {
		t.Fatalf("the key has TTL %d; it must never expire", ttl)
	}
	other, err := RedisKey(ctx, pool, "test:other_key")
	if err != nil || bytes.Equal(other, first) {
		t.Fatalf("a key under another name: %v, same=%v; want a different key", err, bytes.Equal(other, first))
	}
}

func TestRedisKeyRacersAgreeOnOneKey(t *testing.T) {
	pool := newKeyPool(t)
	for round := range 20 {
		key := "test:race_key:" + NewID()
		const racers = 8
		keys := make([][]byte, racers)
		errs := make([]error, racers)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range racers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				keys[i], errs[i] = RedisKey(context.Background(), pool, key)
			}()
		}
		close(start)
		wg.Wait()
		for i := range racers {
			if errs[i] != nil {
				t.Fatalf("round %d, racer %d: %v", round, i, errs[i])
			}
			if !bytes.Equal(keys[i], keys[0]) {
				t.Fatalf("round %d: racers got different keys", round)
			}
		}
	}
}

func TestRedisKeyRefusesShortKey(t *testing.T) {
	pool := newKeyPool(t)
	conn := pool.Get()
	defer conn.Close()
	if _, err := conn.Do("SET", "test:cookie_key", "short"); err != nil {
		t.Fatal(err)
	}
	if _, err := RedisKey(context.Background(), pool, "test:cookie_key"); err == nil || !strings.Contains(err.Error(), "too short") {
		t.Fatalf("RedisKey of a 5-byte key = %v; want a too-short error", err)
	}
}

func TestRedisKeyWithRedisDownIsAnError(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	srv.Close()
	pool := srv.Pool(0)
	defer pool.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if k, err := RedisKey(ctx, pool, "test:cookie_key"); err == nil || k != nil {
		t.Fatalf("RedisKey with Redis down = %x, %v; want an error", k, err)
	}
}

// TestRedisKeysResumeWhenRedisReturns: Caddy starts with Redis down; the
// key cannot be had (requests get 503), and once Redis answers, it is
// fetched without a reload, and kept.
func TestRedisKeysResumeWhenRedisReturns(t *testing.T) {
	srv := ownRedis(t)
	pool := newPool(t, srv)
	srv.Stop()
	k := RedisKeys(pool, "test:cookie_key")
	if keys, err := k.Keys(); err == nil || keys != nil {
		t.Fatalf("Keys with Redis down = %x, %v; want an error", keys, err)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	var keys [][]byte
	waitFor(t, "the key after Redis came back", func() bool {
		var err error
		keys, err = k.Keys()
		return err == nil
	})
	if len(keys) != 1 || len(keys[0]) != keyBytes {
		t.Fatalf("Keys = %d keys; want the one generated key", len(keys))
	}
	srv.Stop()
	again, err := k.Keys()
	if err != nil || !bytes.Equal(again[0], keys[0]) {
		t.Fatalf("Keys after a fetch, with Redis down again = %v; want the kept key", err)
	}
}

func TestFixedKeysAreTheConfiguredOnesInOrder(t *testing.T) {
	want := [][]byte{[]byte("newest"), []byte("older")}
	got, err := FixedKeys(want).Keys()
	if err != nil || len(got) != 2 || !bytes.Equal(got[0], want[0]) || !bytes.Equal(got[1], want[1]) {
		t.Fatalf("Keys = %q, %v; want %q", got, err, want)
	}
}
