package sessionauth

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/gomodule/redigo/redis"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/throttle"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// keyPrefix is where a realm's keys live in Redis: its accounts, sessions,
// counters, generated cookie key and announcement channel all start so.
func keyPrefix(realm string) string { return "session_auth:" + realm + ":" }

// dataDir is the file backend's home under Caddy's data directory.
func dataDir() string { return filepath.Join(caddy.AppDataDir(), "session_auth") }

// defaultFilePaths puts the file backend's realm under Caddy's data directory.
func (sa *SessionAuth) defaultFilePaths() {
	base := filepath.Join(dataDir(), sa.Realm)
	if sa.UsersFile == "" {
		sa.UsersFile = filepath.Join(base, "users.json")
	}
	if sa.SessionsDir == "" {
		sa.SessionsDir = filepath.Join(base, "sessions")
	}
}

func (sa *SessionAuth) provisionFiles(secrets [][]byte) (session.Store, error) {
	sa.defaultFilePaths()
	if err := sa.claimFiles(); err != nil {
		return nil, err
	}
	// The folder is made at start, even before any login: it shows the CLI
	// which data directory the server uses.
	if err := os.MkdirAll(sa.SessionsDir, 0o700); err != nil {
		return nil, fmt.Errorf("sessions_dir: %v", err)
	}
	if secrets == nil {
		key, err := session.FileKey(filepath.Join(sa.SessionsDir, "cookie.key"))
		if err != nil {
			return nil, fmt.Errorf("cookie key: %v", err)
		}
		secrets = [][]byte{key}
	}
	sa.keys = session.FixedKeys(secrets).ForRealm(sa.Realm)
	sa.users = users.NewFileStore(sa.UsersFile)
	sa.throttle = memoryThrottle
	sa.scope = fileScope(sa.Realm, sa.UsersFile)
	scope := sa.scope
	if _, _, err := fileRealms.LoadOrNew(scope, func() (caddy.Destructor, error) { return fileRealm(sa.Realm), nil }); err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { _, _ = fileRealms.Delete(scope) })
	store, err := acquireFileSessions(sa.SessionsDir, sa.logger)
	if err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { releaseFileSessions(sa.SessionsDir) })
	sa.tokens = tokenFiles(sa.SessionsDir)
	return store, nil
}

func (sa *SessionAuth) provisionRedis(secrets [][]byte) (session.Store, error) {
	prefix := keyPrefix(sa.Realm)
	pool, err := acquireRedisPool(sa.Redis, sa.logger)
	if err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { releaseRedisPool(sa.Redis) })
	channel := redisChannel(sa.Redis, sa.Realm)
	listener, err := acquireListener(sa.Redis, pool, channel)
	if err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { releaseListener(sa.Redis, channel) })
	if secrets != nil {
		sa.keys = session.FixedKeys(secrets).ForRealm(sa.Realm)
	} else {
		sa.keys = session.RedisKeys(pool, prefix+"cookie_key").ForRealm(sa.Realm)
	}
	sa.users = users.NewRedisStore(pool, prefix)
	sa.throttle = throttle.NewRedisStore(pool, prefix+"throttle:")
	sa.tokens = onetime.NewRedis(pool, prefix)
	return session.NewRedis(pool, prefix, channel, listener), nil
}

// redisChannel is where a realm's session ends and account changes are
// announced on the Redis that rawURL names, its database included: see
// session.Channel.
func redisChannel(rawURL, realm string) string {
	return session.Channel(keyPrefix(realm), redisDatabase(rawURL))
}

// redisDatabase is the database number of a URL that checkRedisURL
// accepted: its path, as the dial reads it, or 0.
func redisDatabase(rawURL string) int {
	u, err := url.Parse(rawURL)
	if err != nil {
		return 0
	}
	db, _ := strconv.Atoi(strings.TrimPrefix(u.Path, "/"))
	return db
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

// memoryThrottle serves every file-backend realm of this process, so a
// reload does not reset a counter.
var memoryThrottle = throttle.NewMemoryStore()

// fileScope keeps one file-backend realm's counters apart from another's
// in memoryThrottle.
func fileScope(realm, usersFile string) string { return realm + "\x00" + usersFile + "\x00" }

// fileRealms lists the file-backend realms of the loaded configs, by the
// scope of their counters in memoryThrottle (one realm may have several,
// one per users file), so that the admin route unlocks in each scope of
// the realm it is asked about, and says so when no loaded handler has it.
var fileRealms = caddy.NewUsagePool()

type fileRealm string // the realm

func (fileRealm) Destruct() error { return nil }

// fileRealmScopes are the counters' scopes of a realm that a loaded
// handler keeps in files; none when no handler does.
func fileRealmScopes(realm string) []string {
	var scopes []string
	fileRealms.Range(func(key, val any) bool {
		if string(val.(fileRealm)) == realm {
			scopes = append(scopes, key.(string))
		}
		return true
	})
	return scopes
}

// Redis pools outlive config reloads: each URL keeps one pool for as long
// as any loaded config uses it, and each realm on it one listener.
var (
	redisPools     = caddy.NewUsagePool()
	redisListeners = caddy.NewUsagePool()
)

type redisPool struct{ *redis.Pool }

func (p redisPool) Destruct() error { return p.Close() }

type redisListener struct{ *session.Listener }

func (l redisListener) Destruct() error {
	l.Close()
	return nil
}

func acquireRedisPool(rawURL string, logger *zap.Logger) (*redis.Pool, error) {
	if err := checkRedisURL(rawURL); err != nil {
		return nil, err
	}
	val, loaded, err := redisPools.LoadOrNew(rawURL, func() (caddy.Destructor, error) {
		return redisPool{newRedisPool(rawURL)}, nil
	})
	if err != nil {
		return nil, err
	}
	p := val.(redisPool)
	if !loaded {
		go warnIfNotPersistent(p.Pool, logger)
	}
	return p.Pool, nil
}

func releaseRedisPool(rawURL string) { _, _ = redisPools.Delete(rawURL) }

func acquireListener(rawURL string, pool *redis.Pool, channel string) (*session.Listener, error) {
	val, _, err := redisListeners.LoadOrNew(rawURL+"\x00"+channel, func() (caddy.Destructor, error) {
		dial := func(ctx context.Context) (redis.Conn, error) { return dialRedis(ctx, rawURL) }
		return redisListener{session.NewListener(dial, pool, channel)}, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(redisListener).Listener, nil
}

func releaseListener(rawURL, channel string) { _, _ = redisListeners.Delete(rawURL + "\x00" + channel) }

// newRedisPool bounds everything: dial and I/O timeouts, the number of
// connections, and (in redisutil) the wait for one. It checks a pooled
// connection with PING only after it sat idle a while, not on every borrow,
// which would cost a round trip per request.
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
func dialRedis(ctx context.Context, rawURL string) (redis.Conn, error) {
	return redis.DialURLContext(ctx, rawURL,
		redis.DialConnectTimeout(2*time.Second),
		redis.DialReadTimeout(2*time.Second),
		redis.DialWriteTimeout(2*time.Second),
	)
}

// checkRedisURL refuses, at config load, every URL that the dial would
// refuse or misread later, and says how to write it. Its errors never echo
// the URL, which may hold a password.
func checkRedisURL(raw string) error {
	const form = "redis://[user:password@]host[:port][/db] or rediss://..."
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("redis: the URL does not parse; write it as %s", form)
	}
	if u.Scheme != "redis" && u.Scheme != "rediss" {
		if u.Opaque != "" || u.Scheme != "" && u.Host == "" {
			// "localhost:6379" parses as scheme "localhost".
			return fmt.Errorf("redis: the URL needs a scheme: redis://%s", hostHint(raw))
		}
		return fmt.Errorf("redis: the URL must start with redis:// or rediss://, not %q", u.Scheme+"://")
	}
	if u.Hostname() == "" {
		return fmt.Errorf("redis: the URL has no host; write it as %s", form)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return fmt.Errorf("redis: the port must be a number from 1 to 65535; write the URL as %s", form)
		}
	}
	if db := strings.TrimPrefix(u.Path, "/"); db != "" {
		if n, err := strconv.Atoi(db); err != nil || n < 0 {
			return fmt.Errorf("redis: the path must be a database number, such as /0; write the URL as %s", form)
		}
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("redis: the URL takes no query or fragment; write it as %s", form)
	}
	return nil
}

// hostHint is what a URL without a scheme looked like, minus any password.
func hostHint(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		raw = raw[at+1:]
	}
	return raw
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

// fileClaims remembers which realm uses each users file and sessions folder
// of this process, so that two realms never share one by a typo: they would
// share accounts, or (with one secret) sessions.
var fileClaims = caddy.NewUsagePool()

type fileClaim string // the realm

func (fileClaim) Destruct() error { return nil }

// claimFiles records this realm's files, or refuses files another realm
// of this process uses.
func (sa *SessionAuth) claimFiles() error {
	for _, path := range []string{sa.UsersFile, sa.SessionsDir} {
		key := filepath.Clean(path)
		val, _, err := fileClaims.LoadOrNew(key, func() (caddy.Destructor, error) { return fileClaim(sa.Realm), nil })
		if err != nil {
			return err
		}
		sa.release = append(sa.release, func() { _, _ = fileClaims.Delete(key) })
		if owner := string(val.(fileClaim)); owner != sa.Realm {
			return fmt.Errorf("%s belongs to realm %s already; give realm %s files of its own", path, owner, sa.Realm)
		}
	}
	return nil
}

// File session folders also outlive reloads, each with one store (so that
// every Manager on it hears the others' logouts) and one purge loop.
var fileSessionDirs = caddy.NewUsagePool()

type fileSessions struct {
	store *session.Files
	stop  chan struct{}
}

func (f fileSessions) Destruct() error {
	close(f.stop)
	return nil
}

// purgeEvery is how often expired session files are removed.
const purgeEvery = 10 * time.Minute

func acquireFileSessions(dir string, logger *zap.Logger) (*session.Files, error) {
	val, _, err := fileSessionDirs.LoadOrNew(filepath.Clean(dir), func() (caddy.Destructor, error) {
		f := fileSessions{store: session.NewFiles(dir), stop: make(chan struct{})}
		go func() {
			t := time.NewTicker(purgeEvery)
			defer t.Stop()
			for {
				select {
				case <-f.stop:
					return
				case <-t.C:
					n, err := f.store.Purge(time.Now())
					if err != nil && !errors.Is(err, os.ErrNotExist) {
						logger.Warn("purging expired session files", zap.Error(err))
					} else if n > 0 {
						logger.Debug("purged expired session files", zap.Int("count", n))
					}
					if n, err := tokenFiles(dir).Purge(time.Now()); err != nil {
						logger.Warn("purging expired one-time links", zap.Error(err))
					} else if n > 0 {
						logger.Debug("purged expired one-time links", zap.Int("count", n))
					}
				}
			}
		}()
		return f, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(fileSessions).store, nil
}

// tokenFiles keeps the invite and reset links of the realm whose sessions
// are in sessionsDir.
func tokenFiles(sessionsDir string) *onetime.Files {
	return onetime.NewFiles(filepath.Join(sessionsDir, "links"))
}

func releaseFileSessions(dir string) { _, _ = fileSessionDirs.Delete(filepath.Clean(dir)) }

// redactURL hides the password in a Redis URL, for logs.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(a Redis URL that does not parse)"
	}
	return u.Redacted()
}
