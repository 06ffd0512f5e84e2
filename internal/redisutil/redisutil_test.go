package redisutil

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

var testServer *testredis.Server

func TestMain(m *testing.M) { testredis.Main(m, &testServer) }

func newConn(t *testing.T) redis.Conn {
	t.Helper()
	if err := testServer.FlushAll(); err != nil {
		t.Fatal(err)
	}
	c, err := testServer.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// scanAll collects what Scan finds under prefix, once each.
func scanAll(t *testing.T, c redis.Conn, prefix string) []string {
	t.Helper()
	var found []string
	err := Scan(context.Background(), c, prefix, func(keys []string) error {
		found = append(found, keys...)
		return nil
	})
	if err != nil {
		t.Fatalf("Scan(%q): %v", prefix, err)
	}
	slices.Sort(found)
	return slices.Compact(found)
}

// TestScanPrefixWithGlobCharactersMatchesOnlyItself: realm names end up in
// prefixes, and a realm called "a*" must never reach the keys of realm
// "ab". Each decoy is a key the prefix would match if read as a pattern.
func TestScanPrefixWithGlobCharactersMatchesOnlyItself(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		decoys []string
	}{
		{"realm*:", []string{"realmX:k", "realm:k", "realmlong:k"}},
		{"realm?:", []string{"realmX:k", "realm1:k"}},
		{"realm[ab]:", []string{"realma:k", "realmb:k"}},
		{"realm[^a]:", []string{"realmb:k"}},
		{`realm\a:`, []string{"realma:k"}},
		{"realm]:", []string{"realm:k"}},
		{"^realm:", []string{"realm:k"}},
		{"*", []string{"anything", "k"}},
		{`a*b?c[d]e\f^g:`, []string{"aXXbYcdef^g:k", `aXbYcdef^g:k`}},
	} {
		t.Run(tc.prefix, func(t *testing.T) {
			c := newConn(t)
			own := []string{tc.prefix + "1", tc.prefix + "2", tc.prefix}
			for _, k := range append(slices.Clone(own), tc.decoys...) {
				if _, err := c.Do("SET", k, "v"); err != nil {
					t.Fatal(err)
				}
			}
			slices.Sort(own)
			if got := scanAll(t, c, tc.prefix); !slices.Equal(got, own) {
				t.Fatalf("Scan(%q) found %q; want only %q", tc.prefix, got, own)
			}
		})
	}
}

func TestScanWalksEveryBatch(t *testing.T) {
	c := newConn(t)
	const n = 2500 // more than one SCAN COUNT
	var want []string
	for i := range n {
		k := fmt.Sprintf("p:%05d", i)
		want = append(want, k)
		if err := c.Send("SET", k, "v"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := c.Do("SET", "q:other", "v"); err != nil {
		t.Fatal(err)
	}
	if got := scanAll(t, c, "p:"); !slices.Equal(got, want) {
		t.Fatalf("Scan found %d keys; want all %d", len(got), n)
	}
}

func TestScanStopsAtTheFirstError(t *testing.T) {
	c := newConn(t)
	for i := range 10 {
		if _, err := c.Do("SET", fmt.Sprintf("p:%d", i), "v"); err != nil {
			t.Fatal(err)
		}
	}
	stop := errors.New("stop")
	calls := 0
	err := Scan(context.Background(), c, "p:", func([]string) error {
		calls++
		return stop
	})
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Scan = %v after %d calls; want each's error after one call", err, calls)
	}
}

// TestConnGivesUpWhenThePoolIsExhausted: with every connection busy, a
// caller waits at most WaitForConn, so a saturated Redis turns into quick
// failures instead of a pile of waiting requests.
func TestConnGivesUpWhenThePoolIsExhausted(t *testing.T) {
	pool := &redis.Pool{
		MaxActive: 1,
		Wait:      true,
		Dial:      func() (redis.Conn, error) { return testServer.Dial(0) },
	}
	defer pool.Close()
	busy, err := Conn(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()

	start := time.Now()
	done := make(chan error, 1)
	go func() {
		c, err := Conn(context.Background(), pool)
		if c != nil {
			c.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, context.DeadlineExceeded) || !strings.HasPrefix(err.Error(), "redis: ") {
			t.Fatalf("Conn on an exhausted pool = %v; want a redis: deadline error", err)
		}
		if waited := time.Since(start); waited < WaitForConn {
			t.Fatalf("Conn gave up after %v; it should wait up to WaitForConn (%v) for a connection", waited, WaitForConn)
		}
	case <-time.After(WaitForConn + 30*time.Second):
		t.Fatal("Conn on an exhausted pool did not give up")
	}
}

func TestConnGetsAConnectionReleasedWhileWaiting(t *testing.T) {
	pool := &redis.Pool{
		MaxActive: 1,
		Wait:      true,
		Dial:      func() (redis.Conn, error) { return testServer.Dial(0) },
	}
	defer pool.Close()
	busy, err := Conn(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		c, err := Conn(context.Background(), pool)
		if err == nil {
			_, err = c.Do("PING")
			c.Close()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	busy.Close()
	if err := <-done; err != nil {
		t.Fatalf("Conn after a connection came back: %v", err)
	}
}

func TestConnHonoursAShorterContext(t *testing.T) {
	pool := &redis.Pool{
		MaxActive: 1,
		Wait:      true,
		Dial:      func() (redis.Conn, error) { return testServer.Dial(0) },
	}
	defer pool.Close()
	busy, err := Conn(context.Background(), pool)
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := Conn(ctx, pool); !errors.Is(err, context.Canceled) {
		t.Fatalf("Conn with a cancelled context = %v; want context.Canceled", err)
	}
}
