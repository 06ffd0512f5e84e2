package onetime_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
)

// TestASpentValueIsFreshOnce: the first Spend of a value says fresh, every
// later one not, in one store; another value is fresh still; the store
// keeps the value's hash, never the value.
func TestASpentValueIsFreshOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		value, other := randomToken(t), randomToken(t)
		until := time.Now().Add(time.Minute)
		for i, want := range []bool{true, false, false} {
			fresh, err := s.Spend(ctx, value, until)
			if err != nil || fresh != want {
				t.Fatalf("Spend %d = %v, %v; want %v", i+1, fresh, err, want)
			}
		}
		if fresh, err := s.Spend(ctx, other, until); err != nil || !fresh {
			t.Fatalf("Spend of another value = %v, %v; want fresh", fresh, err)
		}
		all := s.contents(t)
		if len(all) != 2 {
			t.Fatalf("the store holds %d entries for two spent values: %v", len(all), all)
		}
		for name, data := range all {
			if strings.Contains(name, value) || strings.Contains(string(data), value) {
				t.Fatalf("the store keeps the value in clear: %s", name)
			}
		}
		found := false
		for name := range all {
			found = found || strings.HasSuffix(name, sha256Hex(value))
		}
		if !found {
			t.Fatalf("no entry is named by the value's hash: %v", all)
		}
	})
}

// TestOnlyOneOfSimultaneousSpendsIsFresh: however many callers spend one
// value at once, one of them is told it is fresh.
func TestOnlyOneOfSimultaneousSpendsIsFresh(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		value := randomToken(t)
		until := time.Now().Add(time.Minute)
		var (
			wg    sync.WaitGroup
			mu    sync.Mutex
			fresh int
		)
		for range 20 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				ok, err := s.Spend(context.Background(), value, until)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if fresh != 1 {
			t.Fatalf("%d of 20 simultaneous Spends were fresh; want 1", fresh)
		}
	})
}

// TestASpentValueIsForgottenWhenItsTimeIsOver: a value whose time is over
// is never fresh (it serves no more), and its record goes: Redis expires
// it, Purge removes its file, not before.
func TestASpentValueIsForgottenWhenItsTimeIsOver(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		if fresh, err := s.Spend(context.Background(), randomToken(t), time.Now().Add(-time.Second)); err != nil || fresh {
			t.Fatalf("Spend of a value whose time is over = %v, %v; want not fresh", fresh, err)
		}
		if all := s.contents(t); len(all) != 0 {
			t.Fatalf("a value whose time is over was recorded: %v", all)
		}
	})

	ctx := context.Background()
	pool := testRedis.Pool(0)
	defer pool.Close()
	r := onetime.NewRedis(pool, "test:spent-ttl:")
	value := randomToken(t)
	if fresh, err := r.Spend(ctx, value, time.Now().Add(time.Minute)); err != nil || !fresh {
		t.Fatalf("Spend = %v, %v", fresh, err)
	}
	conn := pool.Get()
	defer conn.Close()
	ttl, err := redis.Int64(conn.Do("PTTL", "test:spent-ttl:spent:"+sha256Hex(value)))
	if err != nil || ttl <= 0 || ttl > time.Minute.Milliseconds() {
		t.Fatalf("PTTL of the spent value = %d, %v; want at most a minute", ttl, err)
	}

	dir := filepath.Join(t.TempDir(), "links")
	f := onetime.NewFiles(dir)
	until := time.Now().Add(time.Minute)
	if fresh, err := f.Spend(ctx, value, until); err != nil || !fresh {
		t.Fatalf("Spend = %v, %v", fresh, err)
	}
	if n, err := f.Purge(until.Add(-time.Millisecond)); err != nil || n != 0 {
		t.Fatalf("Purge before the value's time is over removed %d (%v)", n, err)
	}
	if fresh, _ := f.Spend(ctx, value, until); fresh {
		t.Fatal("the value is fresh again before its time is over")
	}
	if n, err := f.Purge(until); err != nil || n != 1 {
		t.Fatalf("Purge once the value's time is over removed %d (%v); want 1", n, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left after Purge: %v", entries)
	}
}
