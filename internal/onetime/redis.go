package onetime

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// Redis keeps each token's grant under prefix+"token:"+its hash, expiring
// a while after the grant does, and each spent value under
// prefix+"spent:"+its hash, expiring spentMargin after its time is over.
type Redis struct {
	pool   *redis.Pool
	prefix string
	spent  string
}

// NewRedis returns the tokens under keyPrefix (a realm's prefix).
func NewRedis(pool *redis.Pool, keyPrefix string) *Redis {
	return &Redis{pool: pool, prefix: keyPrefix + "token:", spent: keyPrefix + "spent:"}
}

// Spend sets the value's key only if it is absent (SET NX), which one
// caller, on any instance, does.
func (s *Redis) Spend(ctx context.Context, value string, now, until time.Time) (bool, error) {
	if !now.Before(until) {
		return false, nil // its time is over: it serves no more
	}
	ttl := until.Add(spentMargin).Sub(now).Milliseconds()
	conn, err := redisutil.Conn(ctx, s.pool)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	reply, err := redis.DoContext(conn, ctx, "SET", s.spent+hash(value), "1", "NX", "PX", ttl)
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	return reply != nil, nil
}

func (s *Redis) Issue(ctx context.Context, g Grant) (string, error) {
	token := newToken()
	return token, s.put(ctx, token, g, "NX")
}

func (s *Redis) Restore(ctx context.Context, token string, g Grant) error {
	if !validToken(token) {
		return ErrInvalid
	}
	return s.put(ctx, token, g, "NX")
}

func (s *Redis) put(ctx context.Context, token string, g Grant, mode string) error {
	data, err := encode(g)
	if err != nil {
		return err
	}
	ttl := time.Until(keepUntil(g))
	if ttl <= 0 {
		return nil // expired long ago: nothing to keep
	}
	conn, err := redisutil.Conn(ctx, s.pool)
	if err != nil {
		return err
	}
	defer conn.Close()
	reply, err := redis.DoContext(conn, ctx, "SET", s.prefix+hash(token), data, mode, "PX", ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if reply == nil {
		return errors.New("redis: a fresh token was taken")
	}
	return nil
}

func (s *Redis) Peek(ctx context.Context, token string, now time.Time) (Grant, error) {
	return s.read(ctx, token, now, "GET")
}

// useScript reads and deletes in one step, so that only one caller gets
// the grant (GETDEL, which needs Redis 6.2).
var useScript = redis.NewScript(1, `
local v = redis.call('GET', KEYS[1])
if v then redis.call('DEL', KEYS[1]) end
return v
`)

func (s *Redis) Use(ctx context.Context, token string, now time.Time) (Grant, error) {
	return s.read(ctx, token, now, "")
}

func (s *Redis) read(ctx context.Context, token string, now time.Time, cmd string) (Grant, error) {
	if !validToken(token) {
		return Grant{}, ErrInvalid
	}
	conn, err := redisutil.Conn(ctx, s.pool)
	if err != nil {
		return Grant{}, err
	}
	defer conn.Close()
	var data []byte
	if cmd == "GET" {
		data, err = redis.Bytes(redis.DoContext(conn, ctx, "GET", s.prefix+hash(token)))
	} else {
		data, err = redis.Bytes(useScript.DoContext(ctx, conn, s.prefix+hash(token)))
	}
	if errors.Is(err, redis.ErrNil) {
		return Grant{}, ErrInvalid
	}
	if err != nil {
		return Grant{}, fmt.Errorf("redis: %w", err)
	}
	g, err := decode(data)
	if err != nil {
		return Grant{}, err
	}
	if cmd != "GET" && !now.Before(g.Expires) {
		// An expired token, used: put it back, so that the link goes on
		// saying it expired.
		if err := s.put(ctx, token, g, "NX"); err != nil {
			return Grant{}, err
		}
	}
	return live(g, now)
}
