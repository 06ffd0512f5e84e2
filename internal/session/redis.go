package session

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// Redis keeps each session as one string key, prefix+id, that expires with
// the session, so any number of Caddy instances share the sessions. Every
// end of a session, and every change to an account, is published on the
// realm's channel; each instance's Listener drops what it names from
// memory and confirms, and the publisher waits for those confirmations
// (see announce), so that when a logout returns, no instance serves the
// session from memory any more.
type Redis struct {
	pool     *redis.Pool
	prefix   string // of session keys
	channel  string // where ends and account changes are published
	acks     string // prefix of the lists that confirmations go to
	listener *Listener
}

// NewRedis returns the store of the sessions under keyPrefix (a realm's
// prefix, such as "session_auth:example.com:"), on a pool the caller owns,
// announcing on channel (see Channel). listener may be nil where nothing
// is remembered (the CLI).
func NewRedis(pool *redis.Pool, keyPrefix, channel string, listener *Listener) *Redis {
	return &Redis{
		pool:     pool,
		prefix:   keyPrefix + "session:",
		channel:  channel,
		acks:     keyPrefix + "ack:",
		listener: listener,
	}
}

// Channel is where the store under keyPrefix in database db publishes what
// ended. PUBLISH reaches subscribers on every database of a server, while
// the sessions and the confirmation lists belong to one, so the database
// is part of the name: one realm on two databases is two deployments,
// which must not wake each other, nor wait for each other's confirmations.
func Channel(keyPrefix string, db int) string {
	return keyPrefix + "revoked:" + strconv.Itoa(db)
}

// maxRecordBytes bounds what one session may store; a record is ~90 bytes.
const maxRecordBytes = 512

func (s *Redis) conn(ctx context.Context) (redis.Conn, error) {
	return redisutil.Conn(ctx, s.pool)
}

// Create stores rec under a fresh id with SET NX, so that even a repeated
// id could never take over another session.
func (s *Redis) Create(ctx context.Context, rec Record, ttl time.Duration) (string, error) {
	data := encodeRecord(nil, rec)
	if len(data) > maxRecordBytes {
		return "", errors.New("session record is too large")
	}
	conn, err := s.conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	id := NewID()
	reply, err := redis.DoContext(conn, ctx, "SET", s.prefix+id, data, "NX", "PX", ttl.Milliseconds())
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	if reply == nil {
		return "", errors.New("redis: a fresh session id was taken")
	}
	return id, nil
}

// Load reads the record of id.
func (s *Redis) Load(ctx context.Context, id string) (Record, error) {
	if !validID(id) {
		return Record{}, ErrCorrupt
	}
	conn, err := s.conn(ctx)
	if err != nil {
		return Record{}, err
	}
	defer conn.Close()
	data, err := redis.String(redis.DoContext(conn, ctx, "GET", s.prefix+id))
	if errors.Is(err, redis.ErrNil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("redis: %w", err)
	}
	return parseRecord(data)
}

// Refresh rewrites the record with SET ... XX, which only succeeds while
// the key exists: a logout that won the race stays a logout.
func (s *Redis) Refresh(ctx context.Context, id string, rec Record, ttl time.Duration) error {
	conn, err := s.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	reply, err := redis.DoContext(conn, ctx, "SET", s.prefix+id, encodeRecord(nil, rec), "XX", "PX", ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if reply == nil {
		return ErrNotFound
	}
	return nil
}

// End deletes the session and, only when there was one, announces it:
// a dead cookie sent again and again costs one DEL, and wakes no instance.
func (s *Redis) End(ctx context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	conn, err := s.conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	n, err := redis.Int(redis.DoContext(conn, ctx, "DEL", s.prefix+id))
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	s.hub().dropSession(id) // after the delete: see Files.End
	if n == 0 {
		return false, nil
	}
	return true, s.announce(ctx, conn, "s", id)
}

// EndUser deletes every session of user, then announces the user, so that
// a read that raced the deletes is dropped too. It walks the realm's
// sessions (ending all of a user's sessions is an operator's rare action),
// reading each SCAN batch with one MGET, so a realm of a million sessions
// costs about a thousand round trips, not a million. It announces even
// when the walk fails part-way: the caller has changed the account, whose
// new stamp ends the sessions left behind at their next read anyway, and
// the announcement has every instance forget them now.
func (s *Redis) EndUser(ctx context.Context, user string) (int, error) {
	conn, err := s.conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ended := 0
	walkErr := redisutil.Scan(ctx, conn, s.prefix, func(keys []string) error {
		args := make([]any, len(keys))
		for i, k := range keys {
			args[i] = k
		}
		values, err := redis.ByteSlices(redis.DoContext(conn, ctx, "MGET", args...))
		if err != nil {
			return fmt.Errorf("redis: reading sessions: %w", err)
		}
		var mine []any
		for i, data := range values {
			if data == nil || i >= len(keys) {
				continue // gone meanwhile
			}
			if rec, err := parseRecord(string(data)); err == nil && rec.User == user {
				mine = append(mine, keys[i])
			}
		}
		if len(mine) == 0 {
			return nil
		}
		n, err := redis.Int(redis.DoContext(conn, ctx, "DEL", mine...))
		if err != nil {
			return fmt.Errorf("redis: ending sessions: %w", err)
		}
		ended += n
		return nil
	})
	s.hub().dropUser(user)
	if walkErr == nil {
		return ended, s.announce(ctx, conn, "u", user)
	}
	// The walk may have failed because ctx ran out, or on a connection
	// left unusable: announce on a fresh one, with time of its own.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisutil.WaitForConn+2*MemoryBound)
	defer cancel()
	fresh, err := s.conn(actx)
	if err != nil {
		return ended, errors.Join(walkErr, err)
	}
	defer fresh.Close()
	return ended, errors.Join(walkErr, s.announce(actx, fresh, "u", user))
}

// UserChanged has this process forget the user's sessions, and announces
// the user.
func (s *Redis) UserChanged(ctx context.Context, user string) error {
	s.hub().dropUser(user)
	conn, err := s.conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return s.announce(ctx, conn, "u", user)
}

// announce publishes "<kind> <key> <ack list>" and waits until every
// subscriber that Redis delivered it to has confirmed, or MemoryBound has
// passed. Either way, when it returns, no instance that was subscribed when
// it was published serves what it names from memory: each has dropped it,
// or (its confirmation lost, or Redis slow to deliver) every entry it read
// before the announcement has aged out, since entries live MemoryBound from
// the start of their read. The one case outside that is an instance whose
// subscription Redis had just dropped (a restart, a cut connection), which
// Redis does not count: it serves what it remembers until it notices the
// break (at once when the connection closes; its memory is emptied then),
// and never anything read more than MemoryBound earlier.
func (s *Redis) announce(ctx context.Context, conn redis.Conn, kind, key string) error {
	deadline := time.Now().Add(MemoryBound)
	ack := s.acks + NewID()[:26]
	n, err := redis.Int(redis.DoContext(conn, ctx, "PUBLISH", s.channel, kind+" "+key+" "+ack))
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	for confirmed := 0; confirmed < n; confirmed++ {
		wait := time.Until(deadline)
		if wait <= 0 {
			return nil
		}
		reply, err := redis.DoContext(conn, ctx, "BLPOP", ack, blpopTimeout(wait))
		if err != nil {
			return fmt.Errorf("redis: %w", err)
		}
		if reply == nil {
			return nil // timed out: MemoryBound has passed
		}
	}
	return nil
}

// blpopTimeout is wait as BLPOP's timeout, seconds as a decimal, rounded
// up to a millisecond: BLPOP reads 0 as "block for ever", and a wait of
// under half a millisecond would otherwise be written as 0.000.
func blpopTimeout(wait time.Duration) string {
	ms := max((wait+time.Millisecond-1)/time.Millisecond, 1)
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

func (s *Redis) hub() *hub {
	if s.listener == nil {
		return &hub{}
	}
	return &s.listener.hub
}

func (s *Redis) trusted() bool { return s.listener != nil && s.listener.alive.Load() }

// parseAnnouncement splits "<kind> <key> <ack list>".
func parseAnnouncement(msg string) (kind, key, ack string, ok bool) {
	kind, rest, ok1 := strings.Cut(msg, " ")
	key, ack, ok2 := strings.Cut(rest, " ")
	return kind, key, ack, ok1 && ok2 && key != ""
}
