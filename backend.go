package sessionauth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/sessionstore"
	"github.com/caddy-session-auth/caddy-session-auth/webform"
)

// Every key the plugin writes in Redis starts with redisKeyPrefix.
const (
	redisKeyPrefix     = "session_auth:"
	redisSessionPrefix = redisKeyPrefix + "session:"
	redisCookieKey     = redisKeyPrefix + "cookie_key"
)

// errBackendDown is what a request learns when the store cannot answer.
var errBackendDown = errors.New("session backend unavailable")

// keyed is what needs the signing keys: the session store, whose cookies
// they sign, and the form tokens.
type keyed struct {
	store  sessionstore.Store
	tokens *webform.Tokens
}

// sessionBackend hands out the keyed parts. With Redis and no configured
// secret, they can only be built once Redis has given us the shared key,
// which may be long after Caddy started; until then every call tries
// again, so service resumes by itself when Redis returns.
type sessionBackend struct {
	ready  atomic.Pointer[keyed]
	failed atomic.Pointer[keyFailure] // the last failed fetch
	mu     sync.Mutex                 // one key fetch at a time
	keys   func() ([][]byte, error)
	store  func(keys [][]byte) sessionstore.Store
}

// keyFailure is remembered for a second, so that while Redis is out of
// reach requests fail at once instead of queueing behind fetches that
// each wait for a time-out.
type keyFailure struct {
	err error
	at  time.Time
}

func (b *sessionBackend) recentFailure() error {
	if f := b.failed.Load(); f != nil && time.Since(f.at) < time.Second {
		return f.err
	}
	return nil
}

func (b *sessionBackend) get() (*keyed, error) {
	if k := b.ready.Load(); k != nil {
		return k, nil
	}
	if err := b.recentFailure(); err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if k := b.ready.Load(); k != nil {
		return k, nil
	}
	if err := b.recentFailure(); err != nil {
		return nil, err
	}
	keys, err := b.keys()
	if err != nil {
		b.failed.Store(&keyFailure{err, time.Now()})
		return nil, err
	}
	k := &keyed{store: b.store(keys), tokens: webform.NewTokens(keys[0], formTokenMaxAge)}
	b.ready.Store(k)
	return k, nil
}

// formTokenMaxAge is how long a form may sit open before it must be reloaded.
const formTokenMaxAge = 4 * time.Hour

func newFileBackend(sa *SessionAuth, files *sessionstore.Files, keys [][]byte) *sessionBackend {
	return &sessionBackend{
		keys: func() ([][]byte, error) { return keys, nil },
		store: func(keys [][]byte) sessionstore.Store {
			store := &sessionstore.Files{
				Dir:     files.Dir,
				Codecs:  sa.codecs(keys),
				Options: sa.cookieDefaults(),
				TTL:     sa.initialTTL,
			}
			store.Remember(sessionCacheTTL)
			return store
		},
	}
}

func newRedisBackend(sa *SessionAuth, pool *redis.Pool, cache *sessionstore.Cache, keys [][]byte) *sessionBackend {
	return &sessionBackend{
		keys: func() ([][]byte, error) {
			if keys != nil {
				return keys, nil
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			key, err := sessionstore.RedisKey(ctx, pool, redisCookieKey)
			if err != nil {
				return nil, err
			}
			return [][]byte{key}, nil
		},
		store: func(keys [][]byte) sessionstore.Store {
			store := sessionstore.NewRedis(pool, redisSessionPrefix, *sa.cookieDefaults(), sa.codecs(keys)...)
			store.Cache = cache
			return store
		},
	}
}

// codecs signs cookies with a key derived from each secret, the first one
// signing and all verifying. Cookies are signed, not encrypted: they carry
// only a random session id.
func (sa *SessionAuth) codecs(keys [][]byte) []securecookie.Codec {
	maxAge := int((sa.longestLifetime() + time.Hour).Seconds())
	codecs := make([]securecookie.Codec, len(keys))
	for i, k := range keys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte("caddy-session-auth cookie signing"))
		codecs[i] = sessionstore.NewIDCodec(mac.Sum(nil), maxAge)
	}
	return codecs
}

func (sa *SessionAuth) longestLifetime() time.Duration {
	return max(time.Duration(sa.Lifetime), time.Duration(*sa.RememberMe))
}

// cookieDefaults are the attributes every session cookie has; Secure is
// added per request, when it came over HTTPS.
func (sa *SessionAuth) cookieDefaults() *sessions.Options {
	return &sessions.Options{
		Path:     "/",
		MaxAge:   int(time.Duration(sa.Lifetime).Seconds()),
		HttpOnly: true,
		SameSite: http.SameSiteLaxMode,
	}
}

// initialTTL is how long a new record may sit unused in the store.
func (sa *SessionAuth) initialTTL(s *sessions.Session) time.Duration {
	rec, _ := sessionstore.Get(s)
	return sa.recordTTL(rec, now())
}

// recordTTL lets a record live until its idle or absolute deadline, whichever
// is first, plus a minute so the store never drops a session the server
// still counts as alive.
func (sa *SessionAuth) recordTTL(rec sessionstore.Record, at time.Time) time.Duration {
	ttl := rec.Expires.Sub(at)
	if !rec.Remember {
		ttl = min(time.Duration(sa.IdleTimeout), ttl)
	}
	return max(ttl, 0) + time.Minute
}

// fileKey returns the generated cookie key of the file backend.
func fileKey(sessionsDir string) ([]byte, error) {
	return sessionstore.FileKey(filepath.Join(sessionsDir, "cookie.key"))
}

// resolveSecrets expands {env.*} and {file.*} placeholders and checks that
// each secret is long enough to be a key; nil means none were configured.
func resolveSecrets(secrets []string) ([][]byte, error) {
	if len(secrets) == 0 {
		return nil, nil
	}
	repl := caddy.NewReplacer()
	keys := make([][]byte, 0, len(secrets))
	for i, s := range secrets {
		v := repl.ReplaceKnown(s, "")
		if len(v) < 32 {
			return nil, fmt.Errorf("secret %d is shorter than 32 characters (after resolving placeholders)", i+1)
		}
		keys = append(keys, []byte(v))
	}
	return keys, nil
}

// Redis pools outlive config reloads: each URL keeps one pool, and one
// session cache listening for revocations, for as long as any loaded config
// uses it.
var redisPools = caddy.NewUsagePool()

type redisPool struct {
	pool  *redis.Pool
	cache *sessionstore.Cache
}

func (p redisPool) Destruct() error {
	p.cache.Close()
	return p.pool.Close()
}

// sessionCacheTTL is how long a record read from the store may be served
// from memory; revocations reach the memory at once (Redis: published;
// files: a stat of the file on every hit), so this only bounds how stale
// the idle deadline seen by one instance can be.
const sessionCacheTTL = 5 * time.Second

func acquireRedisPool(rawURL string, logger *zap.Logger) (*redis.Pool, *sessionstore.Cache, error) {
	if err := checkRedisURL(rawURL); err != nil {
		return nil, nil, err
	}
	val, loaded, err := redisPools.LoadOrNew(rawURL, func() (caddy.Destructor, error) {
		pool := newRedisPool(rawURL)
		dial := func(ctx context.Context, options ...redis.DialOption) (redis.Conn, error) {
			return dialRedis(ctx, rawURL, options...)
		}
		cache := sessionstore.NewCache(dial, sessionstore.RevocationChannel(redisSessionPrefix), sessionCacheTTL)
		return redisPool{pool, cache}, nil
	})
	if err != nil {
		return nil, nil, err
	}
	p := val.(redisPool)
	if !loaded {
		go warnIfNotPersistent(p.pool, logger)
	}
	return p.pool, p.cache, nil
}

func releaseRedisPool(rawURL string) {
	_, _ = redisPools.Delete(rawURL)
}

// newRedisPool bounds everything: dial and I/O timeouts, the number of
// connections, and (in sessionstore) the wait for one. It checks a pooled
// connection with PING only after it sat idle a while, instead of on every
// borrow as redistore's own pool does, which costs a round trip per request.
func newRedisPool(rawURL string) *redis.Pool {
	return &redis.Pool{
		MaxIdle:     32,
		MaxActive:   128,
		Wait:        true,
		IdleTimeout: 4 * time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			return dialRedis(ctx, rawURL)
		},
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if time.Since(lastUsed) < 30*time.Second {
				return nil
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// dialRedis connects to the server rawURL names, with bounded connect, read
// and write times.
func dialRedis(ctx context.Context, rawURL string, options ...redis.DialOption) (redis.Conn, error) {
	return redis.DialURLContext(ctx, rawURL, append([]redis.DialOption{
		redis.DialConnectTimeout(2 * time.Second),
		redis.DialReadTimeout(2 * time.Second),
		redis.DialWriteTimeout(2 * time.Second),
	}, options...)...)
}

// warnIfNotPersistent tells the operator when Redis would lose accounts on a
// restart. A Redis that refuses CONFIG (managed services) is not reported.
func warnIfNotPersistent(pool *redis.Pool, logger *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	conn, err := pool.GetContext(ctx)
	if err != nil {
		logger.Warn("redis is unreachable; protected requests get 503 until it answers", zap.Error(err))
		return
	}
	defer conn.Close()
	save, err1 := redis.StringMap(conn.Do("CONFIG", "GET", "save"))
	aof, err2 := redis.StringMap(conn.Do("CONFIG", "GET", "appendonly"))
	if err1 != nil || err2 != nil {
		return
	}
	if save["save"] == "" && aof["appendonly"] != "yes" {
		logger.Warn("redis has persistence turned off (no RDB snapshots, no AOF): accounts kept in it are lost when it restarts")
	}
}

// File session folders also outlive reloads, with one purge loop each.
var fileSessionDirs = caddy.NewUsagePool()

type purgeLoop struct {
	files *sessionstore.Files
	stop  chan struct{}
}

func (p purgeLoop) Destruct() error {
	close(p.stop)
	return nil
}

// purgeEvery is how often expired session files are removed.
const purgeEvery = 10 * time.Minute

func acquireFileSessions(dir string, logger *zap.Logger) (*sessionstore.Files, error) {
	val, _, err := fileSessionDirs.LoadOrNew(dir, func() (caddy.Destructor, error) {
		p := purgeLoop{files: &sessionstore.Files{Dir: dir}, stop: make(chan struct{})}
		go func() {
			t := time.NewTicker(purgeEvery)
			defer t.Stop()
			for {
				select {
				case <-p.stop:
					return
				case <-t.C:
					if n, err := p.files.Purge(time.Now()); err != nil {
						logger.Warn("purging expired session files", zap.Error(err))
					} else if n > 0 {
						logger.Debug("purged expired session files", zap.Int("count", n))
					}
				}
			}
		}()
		return p, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(purgeLoop).files, nil
}

func releaseFileSessions(dir string) {
	_, _ = fileSessionDirs.Delete(dir)
}
