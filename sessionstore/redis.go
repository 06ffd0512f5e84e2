package sessionstore

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/boj/redistore"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// Redis keeps sessions in Redis through redistore, on a pool the caller owns.
type Redis struct {
	*redistore.RediStore
	prefix string // redistore keeps its own copy private
	// Cache, when set, serves recent records without a round trip; every
	// Forget publishes on its channel so all instances drop the session.
	Cache *Cache
	// scope keeps this store's entries in the shared Cache apart from other
	// sites' and other configs': a value this store never verified, with
	// its own keys and cookie name, is never taken from the cache.
	scope string
}

// maxRecordBytes bounds what one session may store; a record is ~60 bytes.
const maxRecordBytes = 512

// NewRedis returns a store whose session keys start with prefix. redistore
// pings the server once at construction; an unreachable Redis is not an
// error here, because Caddy must start while Redis is down.
func NewRedis(pool *redis.Pool, prefix string, options sessions.Options, codecs ...securecookie.Codec) *Redis {
	rs, _ := redistore.NewRediStoreWithPool(pool)
	rs.Codecs = codecs
	rs.Options = &options
	rs.SetKeyPrefix(prefix)
	rs.SetSerializer(Serializer{})
	rs.SetMaxLength(maxRecordBytes)
	return &Redis{RediStore: rs, prefix: prefix, scope: NewID()[:16] + "\x00"}
}

// waitForConn bounds how long a request waits for a pooled connection when
// every one is busy, so a saturated Redis turns into 503s, not a pile-up.
const waitForConn = 2 * time.Second

func (s *Redis) conn() (redis.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), waitForConn)
	defer cancel()
	conn, err := s.Pool.GetContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("redis: %w", err)
	}
	return conn, nil
}

// Lookup finds the session a cookie value names: from the cache when it
// was read a moment ago and the cache may be trusted, else by checking the
// signature and reading Redis (always, when fresh is set). This is the path
// every protected request takes.
func (s *Redis) Lookup(name, value string, fresh bool) (string, Record, error) {
	key := s.scope + name + "\x00" + value
	e, ok, gen := s.Cache.get(key)
	if ok && !fresh {
		return e.id, e.rec, nil
	}
	var id string
	if err := securecookie.DecodeMulti(name, value, &id, s.Codecs...); err != nil {
		return "", Record{}, err
	}
	rec, err := s.load(id)
	if err != nil {
		return id, Record{}, err
	}
	s.Cache.put(key, id, rec, gen)
	return id, rec, nil
}

func (s *Redis) load(id string) (Record, error) {
	conn, err := s.conn()
	if err != nil {
		return Record{}, err
	}
	defer conn.Close()
	data, err := redis.String(conn.Do("GET", s.prefix+id))
	if errors.Is(err, redis.ErrNil) {
		return Record{}, ErrNotFound
	}
	if err != nil {
		return Record{}, fmt.Errorf("redis: %w", err)
	}
	return parseRecord(data)
}

// New loads the session named in the request's cookie, as Lookup does,
// for gorilla's Store interface.
func (s *Redis) New(r *http.Request, name string) (*sessions.Session, error) {
	sess := sessions.NewSession(s, name)
	options := *s.Options
	sess.Options = &options
	sess.IsNew = true
	c, err := r.Cookie(name)
	if err != nil {
		return sess, nil
	}
	id, rec, err := s.Lookup(name, c.Value, false)
	sess.ID = id
	if err != nil {
		return sess, err
	}
	Put(sess, rec)
	sess.IsNew = false
	return sess, nil
}

// Get is New without gorilla's per-request registry, which would hide a
// fresh load behind an earlier one in the same request.
func (s *Redis) Get(r *http.Request, name string) (*sessions.Session, error) {
	return s.New(r, name)
}

// Touch rewrites the record with SET ... XX, which only succeeds while the
// key exists: a logout that won the race stays a logout.
func (s *Redis) Touch(sess *sessions.Session, ttl time.Duration) error {
	rec, ok := Get(sess)
	if !ok || sess.ID == "" {
		return ErrNotFound
	}
	conn, err := s.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	reply, err := conn.Do("SET", s.key(sess.ID), appendRecord(nil, rec), "XX", "PX", ttl.Milliseconds())
	if err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	if reply == nil {
		s.Cache.drop(sess.ID)
		return ErrNotFound
	}
	s.Cache.update(sess.ID, rec)
	return nil
}

// Forget deletes one session's record and tells every instance's cache,
// in one round trip. This instance's cache drops it before Forget returns.
func (s *Redis) Forget(id string) error {
	s.Cache.drop(id)
	conn, err := s.conn()
	if err != nil {
		return err
	}
	defer conn.Close()
	err = forget(conn, s.prefix, id)
	s.Cache.drop(id) // whatever was read while the delete was on its way
	return err
}

// RevocationChannel is where deleted session ids are published.
func RevocationChannel(prefix string) string { return prefix + "revoked" }

func forget(conn redis.Conn, prefix, id string) error {
	_ = conn.Send("DEL", prefix+id)
	_ = conn.Send("PUBLISH", RevocationChannel(prefix), id)
	if err := conn.Flush(); err != nil {
		return fmt.Errorf("redis: %w", err)
	}
	for range 2 {
		if _, err := conn.Receive(); err != nil {
			return fmt.Errorf("redis: %w", err)
		}
	}
	return nil
}

// key is where redistore keeps the record of session id.
func (s *Redis) key(id string) string { return s.prefix + id }

// IsBackendError tells a failure of the store itself (Redis unreachable, a
// disk error) from a cookie that does not decode or a record that is gone
// or corrupt, which all simply mean "no session".
func IsBackendError(err error) bool {
	if err == nil || errors.Is(err, ErrCorrupt) || errors.Is(err, ErrNotFound) {
		return false
	}
	// Every securecookie error (bad signature, too long, bad encoding) is
	// about what the client sent.
	var cookieErr securecookie.Error
	return !errors.As(err, &cookieErr)
}
