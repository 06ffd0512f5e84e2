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
//
// Each user's sessions are also listed in a sorted set (see indexKey), so
// that listing or ending one user's sessions costs in proportion to that
// user's sessions, never a walk through everyone's.
type Redis struct {
	pool     *redis.Pool
	prefix   string // of session keys
	index    string // prefix of the per-user sorted sets
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
		index:    keyPrefix + "sessions-of:",
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

// indexKey is the sorted set of user's session ids, each scored with the
// Unix millisecond after which its session key is certainly gone; the set
// itself expires with the last of them.
func (s *Redis) indexKey(user string) string { return s.index + user }

// createScript stores a session with SET NX, so that even a repeated id
// could never take over another session, and lists it in its user's index,
// which sheds what has expired on the way. KEYS: session, index; ARGV:
// record, ttl ms, id, the id's score, now in Unix ms.
var createScript = redis.NewScript(2, `
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', ARGV[5])
local keep = tonumber(ARGV[4]) - tonumber(ARGV[5])
if redis.call('PTTL', KEYS[2]) < keep then redis.call('PEXPIRE', KEYS[2], keep) end
return 1
`)

// Create stores rec under a fresh id and lists it in its user's index.
// The index entry outlives the key by nothing: it is scored with the
// longest the session could last (its lifetime from now, plus the minute
// the caller adds), whatever clock the record's times come from.
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
	now := time.Now()
	last := now.Add(max(ttl, rec.Expires.Sub(rec.Created)+time.Minute))
	created, err := redis.Int(createScript.DoContext(ctx, conn, s.prefix+id, s.indexKey(rec.User),
		data, ttl.Milliseconds(), id, last.UnixMilli(), now.UnixMilli()))
	if err != nil {
		return "", fmt.Errorf("redis: %w", err)
	}
	if created == 0 {
		return "", errors.New("redis: a fresh session id was taken")
	}
	return id, nil
}

// Sessions lists user's sessions from the user's index, dropping from it
// the ids whose session is gone.
func (s *Redis) Sessions(ctx context.Context, user string) ([]Stored, error) {
	conn, err := s.conn(ctx)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	index := s.indexKey(user)
	if _, err := redis.DoContext(conn, ctx, "ZREMRANGEBYSCORE", index, "-inf", time.Now().UnixMilli()); err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	ids, err := redis.Strings(redis.DoContext(conn, ctx, "ZRANGE", index, 0, -1))
	if err != nil || len(ids) == 0 {
		return nil, redisErr(err)
	}
	keys := make([]any, len(ids))
	for i, id := range ids {
		keys[i] = s.prefix + id
	}
	values, err := redis.ByteSlices(redis.DoContext(conn, ctx, "MGET", keys...))
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	var list []Stored
	gone := []any{index}
	for i, data := range values {
		if i >= len(ids) {
			break
		}
		rec, err := parseRecord(string(data))
		if data == nil || err != nil || rec.User != user {
			gone = append(gone, ids[i])
			continue
		}
		list = append(list, Stored{ID: ids[i], Record: rec})
	}
	if len(gone) > 1 {
		if _, err := redis.DoContext(conn, ctx, "ZREM", gone...); err != nil {
			return nil, fmt.Errorf("redis: %w", err)
		}
	}
	return list, nil
}

func redisErr(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("redis: %w", err)
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

// endScript deletes a session and takes it off its user's index, which it
// names from the record's last field. KEYS: session; ARGV: index prefix,
// id. It returns 1 when there was a session.
var endScript = redis.NewScript(1, `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
redis.call('DEL', KEYS[1])
local user = string.match(v, '|([^|]+)$')
if user then redis.call('ZREM', ARGV[1] .. user, ARGV[2]) end
return 1
`)

// End deletes the session and, only when there was one, announces it:
// a dead cookie sent again and again costs one script call, and wakes no
// instance.
func (s *Redis) End(ctx context.Context, id string) (bool, error) {
	if !validID(id) {
		return false, nil
	}
	conn, err := s.conn(ctx)
	if err != nil {
		return false, err
	}
	defer conn.Close()
	n, err := redis.Int(endScript.DoContext(ctx, conn, s.prefix+id, s.index, id))
	if err != nil {
		return false, fmt.Errorf("redis: %w", err)
	}
	s.hub().dropSession(id) // after the delete: see Files.End
	if n == 0 {
		return false, nil
	}
	return true, s.announce(ctx, conn, "s", id)
}

// endUserScript deletes every session in a user's index, and the index.
// KEYS: index; ARGV: session key prefix.
var endUserScript = redis.NewScript(1, `
local n = 0
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
	n = n + redis.call('DEL', ARGV[1] .. id)
end
redis.call('DEL', KEYS[1])
return n
`)

// EndUser deletes every session in user's index, then announces the user,
// so that a read that raced the deletes is dropped too. It announces even
// when the deletes fail: the caller has changed the account (a new stamp,
// disabled, removed), which ends the sessions left behind at their next
// read anyway, and the announcement has every instance forget them now.
// (Sessions made by releases without the index are not in it; they end by
// the account's change alone.)
func (s *Redis) EndUser(ctx context.Context, user string) (int, error) {
	conn, err := s.conn(ctx)
	if err != nil {
		return 0, err
	}
	defer conn.Close()
	ended, endErr := redis.Int(endUserScript.DoContext(ctx, conn, s.indexKey(user), s.prefix))
	s.hub().dropUser(user)
	if endErr == nil {
		return ended, s.announce(ctx, conn, "u", user)
	}
	endErr = fmt.Errorf("redis: ending sessions: %w", endErr)
	// The call may have failed because ctx ran out, or on a connection
	// left unusable: announce on a fresh one, with time of its own.
	actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), redisutil.WaitForConn+2*MemoryBound)
	defer cancel()
	fresh, err := s.conn(actx)
	if err != nil {
		return 0, errors.Join(endErr, err)
	}
	defer fresh.Close()
	return 0, errors.Join(endErr, s.announce(actx, fresh, "u", user))
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
