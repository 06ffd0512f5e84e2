package session

import (
	"context"
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
