package sessionstore

import (
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/gomodule/redigo/redis"
)

// Revoking walks every record instead of keeping a per-user index: it is
// an operator's rare action (an account removed, a password reset), and an
// index would cost every login a write and every expiry a clean-up.

// RevokeUser deletes every session file of user and returns how many.
func (s *Files) RevokeUser(user string) (int, error) {
	n, err := s.forgetEach(func(_, record string) bool {
		rec, err := parseRecord(record)
		return err == nil && rec.User == user
	})
	if os.IsNotExist(err) {
		return 0, nil
	}
	return n, err
}

// RevokeRedisUser deletes every session of user among the keys that start
// with prefix, and returns how many.
func RevokeRedisUser(ctx context.Context, pool *redis.Pool, prefix, user string) (int, error) {
	conn, err := pool.GetContext(ctx)
	if err != nil {
		return 0, fmt.Errorf("redis: %w", err)
	}
	defer conn.Close()
	revoked, cursor := 0, "0"
	for {
		reply, err := redis.Values(conn.Do("SCAN", cursor, "MATCH", prefix+"*", "COUNT", 1000))
		if err != nil {
			return revoked, fmt.Errorf("redis: %w", err)
		}
		cursor, _ = redis.String(reply[0], nil)
		keys, _ := redis.Strings(reply[1], nil)
		for _, key := range keys {
			data, err := redis.String(conn.Do("GET", key))
			if err != nil {
				continue // gone meanwhile
			}
			if rec, err := parseRecord(data); err == nil && rec.User == user {
				if err := forget(conn, prefix, strings.TrimPrefix(key, prefix)); err != nil {
					return revoked, err
				}
				revoked++
			}
		}
		if cursor == "0" {
			return revoked, nil
		}
	}
}
