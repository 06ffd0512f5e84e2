package onetime_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
			fresh, err := s.Spend(ctx, value, time.Now(), until)
			if err != nil || fresh != want {
				t.Fatalf("Spend %d = %v, %v; want %v", i+1, fresh, err, want)
			}
		}
		if fresh, err := s.Spend(ctx, other, time.Now(), until); err != nil || !fresh {
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
				ok, err := s.Spend(context.Background(), value, time.Now(), until)
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

// TestASpentValueIsForgottenAMarginAfterItsTimeIsOver: a value whose
// time is over is never fresh (it serves no more), and its record goes a
// margin after its time (Redis expires it, Purge removes its file), not
// before: an instance whose clock is behind still takes the value as
// live, and must find it spent.
func TestASpentValueIsForgottenAMarginAfterItsTimeIsOver(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		now := time.Now()
		if fresh, err := s.Spend(context.Background(), randomToken(t), now, now.Add(-time.Second)); err != nil || fresh {
			t.Fatalf("Spend of a value whose time is over = %v, %v; want not fresh", fresh, err)
		}
		if fresh, err := s.Spend(context.Background(), randomToken(t), now, now); err != nil || fresh {
			t.Fatalf("Spend of a value whose time is now = %v, %v; want not fresh", fresh, err)
		}
		if all := s.contents(t); len(all) != 0 {
			t.Fatalf("a value whose time is over was recorded: %v", all)
		}
	})

	ctx := context.Background()
	pool := testRedis.Pool(0)
	defer pool.Close()
	r := onetime.NewRedis(pool, "test:spent-ttl:"+randomToken(t)[:8]+":")
	value := randomToken(t)
	now := time.Now()
	until := now.Add(50 * time.Millisecond)
	if fresh, err := r.Spend(ctx, value, now, until); err != nil || !fresh {
		t.Fatalf("Spend = %v, %v", fresh, err)
	}
	for time.Now().Before(until.Add(100 * time.Millisecond)) {
		time.Sleep(10 * time.Millisecond) // until the value's time is well over, by this clock
	}
	behind := until.Add(-time.Millisecond) // a clock that says its time is not over yet
	if fresh, err := r.Spend(ctx, value, behind, until); err != nil || fresh {
		t.Fatalf("Spend from a clock behind, after the value's time = %v, %v; want it still spent", fresh, err)
	}

	dir := filepath.Join(t.TempDir(), "links")
	f := onetime.NewFiles(dir)
	until = time.Now().Add(time.Minute)
	if fresh, err := f.Spend(ctx, value, time.Now(), until); err != nil || !fresh {
		t.Fatalf("Spend = %v, %v", fresh, err)
	}
	if n, err := f.Purge(until.Add(30 * time.Second)); err != nil || n != 0 {
		t.Fatalf("Purge within the margin after the value's time removed %d (%v)", n, err)
	}
	if fresh, _ := f.Spend(ctx, value, until.Add(-time.Millisecond), until); fresh {
		t.Fatal("the value is fresh again, to a clock behind, within the margin")
	}
	if n, err := f.Purge(until.Add(2 * time.Minute)); err != nil || n != 1 {
		t.Fatalf("Purge once the margin is over removed %d (%v); want 1", n, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("left after Purge: %v", entries)
	}
}
