package throttle

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// RedisStore keeps each key as one Redis hash at prefix+key with the fields
// count, start, until and level (times in unix ms), so every Caddy instance
// on the same Redis shares the counters. One hash per key lets a Hit be one
// script, atomic across instances, and lets the record expire by itself.
type RedisStore struct{ redisutil.Keyspace }

// NewRedisStore returns a store using pool, with keys under prefix.
func NewRedisStore(pool *redis.Pool, prefix string) *RedisStore {
	return &RedisStore{redisutil.Keyspace{Pool: pool, Prefix: prefix}}
}

var _ Store = (*RedisStore)(nil)

// hitScript is record.hit (memory.go) in Lua; keep them in step. Decisions
// use only the stored times and ARGV[1], the caller's now, never Redis's
// clock. PEXPIRE is for clean-up alone: its TTL, from params.ttl, is a
// duration that Redis counts on its own clock, which is fine since a record
// that outlives its use by a clock skew changes nothing.
//
// KEYS[1]: the hash. ARGV: now_ms, window_ms, limit, lockout_ms,
// max_lockout_ms (never below lockout_ms). Returns until (0: not blocked).
var hitScript = redis.NewScript(1, `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local lockout = tonumber(ARGV[4])
local maxlock = tonumber(ARGV[5])
local f = redis.call('HMGET', KEYS[1], 'count', 'start', 'until', 'level')
local count = tonumber(f[1]) or 0
local start = tonumber(f[2]) or 0
local untl = tonumber(f[3]) or 0
local level = tonumber(f[4]) or 0
if untl > now then
	count = count + 1
else
	if untl ~= 0 then
		count, start, untl = 0, 0, 0
	end
	if count == 0 or now >= start + window then
		count, start = 0, now
	end
	count = count + 1
	if count >= limit then
		if lockout == 0 then
			untl = start + window
		else
			level = level + 1
			local d = lockout
			local i = 1
			while i < level and d < maxlock do
				d = d * 2
				i = i + 1
			end
			if d > maxlock then d = maxlock end
			untl = now + d
		end
	end
end
-- %d, not tostring: Lua prints numbers past 14 digits in exponent form.
redis.call('HSET', KEYS[1],
	'count', string.format('%d', count),
	'start', string.format('%d', start),
	'until', string.format('%d', untl),
	'level', string.format('%d', level))
local ttl = window
if untl - now > ttl then ttl = untl - now end
redis.call('PEXPIRE', KEYS[1], string.format('%d', ttl + maxlock))
return untl
`)

// Blocked tells until when key is blocked at now.
func (s *RedisStore) Blocked(ctx context.Context, key string, now time.Time) (time.Time, error) {
	c, err := s.Conn(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	until, err := redis.Int64(redis.DoContext(c, ctx, "HGET", s.Prefix+key, "until"))
	if errors.Is(err, redis.ErrNil) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: reading throttle %q: %w", key, err)
	}
	return blockedAt(until, now.UnixMilli()), nil
}

// Hit records one event for key at now under rule; see Store.
func (s *RedisStore) Hit(ctx context.Context, key string, rule Rule, now time.Time) (time.Time, error) {
	p, err := rule.params()
	if err != nil {
		return time.Time{}, err
	}
	c, err := s.Conn(ctx)
	if err != nil {
		return time.Time{}, err
	}
	defer c.Close()
	until, err := redis.Int64(hitScript.DoContext(ctx, c, s.Prefix+key,
		now.UnixMilli(), p.window, p.limit, p.lockout, p.maxLockout))
	if err != nil {
		return time.Time{}, fmt.Errorf("redis: counting throttle %q: %w", key, err)
	}
	return fromMillis(until), nil
}

// Reset forgets key entirely.
func (s *RedisStore) Reset(ctx context.Context, key string) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := redis.DoContext(c, ctx, "DEL", s.Prefix+key); err != nil {
		return fmt.Errorf("redis: resetting throttle %q: %w", key, err)
	}
	return nil
}

// ResetPrefix forgets every key that starts with prefix: it walks them
// with SCAN (the prefix escaped, so that it matches only itself) and
// deletes each batch.
func (s *RedisStore) ResetPrefix(ctx context.Context, prefix string) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	return redisutil.Scan(ctx, c, s.Prefix+prefix, func(keys []string) error {
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		if _, err := redis.DoContext(c, ctx, "DEL", args...); err != nil {
			return fmt.Errorf("redis: resetting throttles %q*: %w", prefix, err)
		}
		return nil
	})
}
