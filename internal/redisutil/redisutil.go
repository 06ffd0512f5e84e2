// Package redisutil holds what every Redis store of the plugin does the same
// way: borrow a connection with a bounded wait, and walk keys by prefix.
package redisutil

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// WaitForConn bounds how long a caller waits for a pooled connection when
// every one is busy, so that a saturated Redis turns into quick 503s rather
// than a pile-up of waiting requests.
const WaitForConn = 2 * time.Second

// Conn borrows a connection from pool, waiting at most WaitForConn (or
// until ctx ends, if sooner). The caller closes it.
func Conn(ctx context.Context, pool *redis.Pool) (redis.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, WaitForConn)
	defer cancel()
	c, err := pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return c, nil
}

// Scan calls each with every batch of keys that start with prefix. It uses
// SCAN (never KEYS, which blocks Redis) with the prefix escaped, so that a
// prefix holding a glob character matches only itself. A key may come more
// than once, as SCAN promises no better.
func Scan(ctx context.Context, conn redis.Conn, prefix string, each func(keys []string) error) error {
	pattern := GlobEscape(prefix) + "*"
	cursor := 0
	for {
		reply, err := redis.Values(redis.DoContext(conn, ctx, "SCAN", cursor, "MATCH", pattern, "COUNT", 1000))
		if err != nil {
			return fmt.Errorf("redis: scanning %s*: %w", prefix, err)
		}
		var keys []string
		if _, err := redis.Scan(reply, &cursor, &keys); err != nil {
			return fmt.Errorf("redis: scanning %s*: %w", prefix, err)
		}
		if len(keys) > 0 {
			if err := each(keys); err != nil {
				return err
			}
		}
		if cursor == 0 {
			return nil
		}
	}
}

// GlobEscape quotes the characters that SCAN MATCH reads as a pattern.
func GlobEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Keyspace is what every Redis store of the plugin holds: a pool the caller
// owns, and the prefix all of the store's keys start with.
type Keyspace struct {
	Pool   *redis.Pool
	Prefix string
}

// Conn borrows a connection (see Conn); the caller closes it.
func (k Keyspace) Conn(ctx context.Context) (redis.Conn, error) { return Conn(ctx, k.Pool) }
