package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// RedisStore keeps each account as one Redis string, the JSON of Account,
// under prefix+"user:"+username. One key per account lets every change be a
// single atomic command, so no reader ever sees half an account.
type RedisStore struct{ redisutil.Keyspace }

// NewRedisStore returns a store using pool, with keys under prefix.
func NewRedisStore(pool *redis.Pool, prefix string) *RedisStore {
	return &RedisStore{redisutil.Keyspace{Pool: pool, Prefix: prefix}}
}

var _ Store = (*RedisStore)(nil)

// updateRetries bounds how often Update retries when the account changes
// between its read and its write.
const updateRetries = 10

// compareAndSet replaces KEYS[1] with ARGV[2] only while it still holds
// ARGV[1]. It returns 1 when set, 0 when the key is gone, -1 when it changed.
// Update uses it so a delete and re-create of the name in between is never
// overwritten with the old account's fields.
var compareAndSet = redis.NewScript(1, `
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
if cur ~= ARGV[1] then return -1 end
redis.call('SET', KEYS[1], ARGV[2])
return 1
`)

func (s *RedisStore) key(username string) string {
	return s.Prefix + "user:" + username
}

// Get returns the account for username, or ErrNotFound.
func (s *RedisStore) Get(ctx context.Context, username string) (Account, error) {
	c, err := s.Conn(ctx)
	if err != nil {
		return Account{}, err
	}
	defer c.Close()
	a, _, err := s.get(ctx, c, username)
	return a, err
}

// get reads and decodes one account, also returning its raw JSON.
func (s *RedisStore) get(ctx context.Context, c redis.Conn, username string) (Account, []byte, error) {
	raw, err := redis.Bytes(redis.DoContext(c, ctx, "GET", s.key(username)))
	if errors.Is(err, redis.ErrNil) {
		return Account{}, nil, ErrNotFound
	}
	if err != nil {
		return Account{}, nil, fmt.Errorf("redis: reading user %q: %w", username, err)
	}
	a, err := s.decode(username, raw)
	return a, raw, err
}

// decode parses a stored account. JSON errors name an offset, never the
// stored bytes, so the hash cannot leak into a log through them.
func (s *RedisStore) decode(username string, raw []byte) (Account, error) {
	var a Account
	if err := json.Unmarshal(raw, &a); err != nil {
		return Account{}, fmt.Errorf("redis: user %q is not a valid account: %w", username, err)
	}
	a.Username = username // the key is what Get looks up, so it wins
	a.Roles = readRoles(a.Roles)
	return a, nil
}

// Create adds a with SET NX: of simultaneous creations exactly one sets the
// key, whole, and the rest get ErrTaken.
func (s *RedisStore) Create(ctx context.Context, a Account) error {
	a, err := prepareNew(a)
	if err != nil {
		return err
	}
	raw, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("redis: encoding user %q: %w", a.Username, err)
	}
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	reply, err := redis.DoContext(c, ctx, "SET", s.key(a.Username), raw, "NX")
	if err != nil {
		return fmt.Errorf("redis: creating user %q: %w", a.Username, err)
	}
	if reply == nil {
		return ErrTaken
	}
	return nil
}

// Update applies change to the account and writes it back with a
// compare-and-set against what was read, retried a few times if the
// account changes in between; ErrNotFound if it is gone.
func (s *RedisStore) Update(ctx context.Context, username string, change func(*Account) error) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	for range updateRetries {
		a, old, err := s.get(ctx, c, username)
		if err != nil {
			return err
		}
		if err := change(&a); err != nil {
			return err
		}
		if err := prepareChanged(&a); err != nil {
			return err
		}
		a.Username = username
		raw, err := json.Marshal(a)
		if err != nil {
			return fmt.Errorf("redis: encoding user %q: %w", username, err)
		}
		n, err := redis.Int(compareAndSet.DoContext(ctx, c, s.key(username), old, raw))
		if err != nil {
			return fmt.Errorf("redis: updating user %q: %w", username, err)
		}
		switch n {
		case 1:
			return nil
		case 0:
			return ErrNotFound
		}
	}
	return fmt.Errorf("redis: updating user %q: the account kept changing; gave up after %d tries", username, updateRetries)
}

// Delete removes the account; ErrNotFound if there was none.
func (s *RedisStore) Delete(ctx context.Context, username string) error {
	c, err := s.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	n, err := redis.Int(redis.DoContext(c, ctx, "DEL", s.key(username)))
	if err != nil {
		return fmt.Errorf("redis: deleting user %q: %w", username, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// List returns every account under the prefix, sorted by username. It walks
// the keys with SCAN and reads them with MGET; an account deleted during the
// walk is left out.
func (s *RedisStore) List(ctx context.Context) ([]Account, error) {
	c, err := s.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	keyPrefix := s.key("")
	seen := map[string]bool{} // SCAN may return a key more than once
	var accounts []Account
	err = redisutil.Scan(ctx, c, keyPrefix, func(keys []string) error {
		var fresh []string
		var args []any
		for _, k := range keys {
			if !seen[k] {
				seen[k] = true
				fresh = append(fresh, k)
				args = append(args, k)
			}
		}
		if len(fresh) == 0 {
			return nil
		}
		values, err := redis.ByteSlices(redis.DoContext(c, ctx, "MGET", args...))
		if err != nil {
			return fmt.Errorf("redis: listing users: %w", err)
		}
		for i, raw := range values {
			if raw == nil || i >= len(fresh) {
				continue
			}
			a, err := s.decode(strings.TrimPrefix(fresh[i], keyPrefix), raw)
			if err != nil {
				return err
			}
			accounts = append(accounts, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(accounts, func(a, b Account) int { return strings.Compare(a.Username, b.Username) })
	return accounts, nil
}
