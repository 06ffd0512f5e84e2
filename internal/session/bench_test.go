package session

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// BenchmarkRedisLoadScale measures the gate's read past memory (one GET of
// a session record) with 1,000 and with 1,000,000 live sessions in Redis,
// and reports the memory Redis spends on one session. The million is
// loaded with pipelined writes; run it alone:
//
//	go test -run '^$' -bench RedisLoadScale -benchtime 20000x ./internal/session
func BenchmarkRedisLoadScale(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(strconv.Itoa(n)+"-sessions", func(b *testing.B) {
			if err := testRedis.FlushAll(); err != nil {
				b.Fatal(err)
			}
			pool := testRedis.Pool(0)
			b.Cleanup(func() { pool.Close() })
			store := NewRedis(pool, "bench:", Channel("bench:", 0), nil)
			ids, perSession := loadSessions(b, store, n)
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if _, err := store.Load(ctx, ids[i%len(ids)]); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(perSession), "redis-B/session")
		})
	}
}

// loadSessions writes n session records straight into Redis, pipelined,
// and returns the ids of 1,000 of them and what one session takes in
// Redis's memory (MEMORY USAGE of its key).
func loadSessions(b *testing.B, store *Redis, n int) ([]string, int) {
	b.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	at := time.Now()
	value := encodeRecord(nil, Record{User: "bench-user", Stamp: "ABCDEFGHIJKLMNOP", Created: at, Seen: at, Expires: at.Add(24 * time.Hour)})
	var ids []string
	step := max(n/1000, 1)
	pending := 0
	for i := range n {
		id := NewID()
		_ = conn.Send("SET", store.prefix+id, value, "PX", (2 * time.Hour).Milliseconds())
		pending++
		if i%step == 0 {
			ids = append(ids, id)
		}
		if pending == 10_000 || i == n-1 {
			if err := conn.Flush(); err != nil {
				b.Fatal(err)
			}
			for ; pending > 0; pending-- {
				if _, err := conn.Receive(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	usage, err := redis.Int(conn.Do("MEMORY", "USAGE", store.prefix+ids[0]))
	if err != nil {
		b.Fatal(err)
	}
	return ids, usage
}

// BenchmarkListUserSessions lists one user's 5 sessions beside 1,000 and
// beside 100,000 other live sessions (1,000 users with 100 each, made with
// their index entries, as Create makes them), on both stores: the cost
// follows the user's own sessions, not the realm's.
//
//	go test -run '^$' -bench ListUserSessions -benchtime 2000x ./internal/session
func BenchmarkListUserSessions(b *testing.B) {
	for _, kind := range []string{"files", "redis"} {
		for _, others := range []int{1_000, 100_000} {
			b.Run(fmt.Sprintf("%s/%d-others", kind, others), func(b *testing.B) {
				var store Store
				if kind == "files" {
					store = NewFiles(filepath.Join(b.TempDir(), "sessions"))
					loadFiles(b, store.(*Files), others)
				} else {
					if err := testRedis.FlushAll(); err != nil {
						b.Fatal(err)
					}
					pool := testRedis.Pool(0)
					b.Cleanup(func() { pool.Close() })
					store = NewRedis(pool, "bench:", Channel("bench:", 0), nil)
					loadIndexedSessions(b, store.(*Redis), others)
				}
				ctx := context.Background()
				for range 5 {
					at := time.Now()
					if _, err := store.Create(ctx, Record{User: "alice", Stamp: "S", Created: at, Seen: at, Expires: at.Add(time.Hour)}, time.Hour); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportAllocs()
				b.ResetTimer()
				for range b.N {
					list, err := store.Sessions(ctx, "alice")
					if err != nil || len(list) != 5 {
						b.Fatalf("Sessions = %d, %v", len(list), err)
					}
				}
			})
		}
	}
}

// benchRecord is the record of one of the other users' sessions.
func benchRecord(user string) []byte {
	at := time.Now()
	return encodeRecord(nil, Record{User: user, Stamp: "ABCDEFGHIJKLMNOP", Created: at, Seen: at, Expires: at.Add(24 * time.Hour), IP: "192.0.2.1", Agent: "Firefox on Linux"})
}

// loadIndexedSessions writes n sessions of n/100 users (100 each) straight
// into Redis, with their index entries, pipelined.
func loadIndexedSessions(b *testing.B, store *Redis, n int) {
	b.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	score := time.Now().Add(25 * time.Hour).UnixMilli()
	for i := range n {
		user := "user" + strconv.Itoa(i/100)
		id := NewID()
		_ = conn.Send("SET", store.prefix+id, benchRecord(user), "PX", (2 * time.Hour).Milliseconds())
		_ = conn.Send("ZADD", store.indexKey(user), score, id)
		if i%500 == 499 || i == n-1 {
			if err := conn.Flush(); err != nil {
				b.Fatal(err)
			}
			for range 2 * (i%500 + 1) {
				if _, err := conn.Receive(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
}

// loadFiles writes n session files of n/100 users (100 each), with their
// index entries, straight to disk.
func loadFiles(b *testing.B, store *Files, n int) {
	b.Helper()
	purge := strconv.FormatInt(time.Now().Add(25*time.Hour).Unix(), 10) + "\n"
	for i := range n {
		user := "user" + strconv.Itoa(i/100)
		dir := store.userDir(user)
		if i%100 == 0 {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				b.Fatal(err)
			}
		}
		id := NewID()
		if err := os.WriteFile(filepath.Join(dir, id), nil, 0o600); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(store.path(id), append([]byte(purge), benchRecord(user)...), 0o600); err != nil {
			b.Fatal(err)
		}
	}
}
