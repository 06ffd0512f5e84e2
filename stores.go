package sessionauth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/gomodule/redigo/redis"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/redisconn"
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
	target, err := sa.redisTarget()
	if err != nil {
		return nil, err
	}
	pool, err := acquireRedisPool(target, sa.logger)
	if err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { releaseRedisPool(target) })
	channel := redisChannel(target, sa.Realm)
	listener, err := acquireListener(target, pool, channel)
	if err != nil {
		return nil, err
	}
	sa.release = append(sa.release, func() { releaseListener(target, channel) })
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
// announced on the Redis that target names, its database included: see
// session.Channel.
func redisChannel(target redisconn.Target, realm string) string {
	return session.Channel(keyPrefix(realm), target.DB())
}

// RedisTLS are the files of a TLS connection to Redis (rediss:// and
// rediss+sentinel://), for the data servers and the sentinels alike. Each
// file is read when the config loads, so a missing or malformed one stops
// the config there (`caddy validate` too).
type RedisTLS struct {
	// CAFile is a PEM file of the certificate authorities that may sign
	// the server's certificate. Default: the system's roots.
	CAFile string `json:"ca_file,omitempty"`

	// CertFile is the client certificate (PEM) shown to a Redis that asks
	// for one (tls-auth-clients); it needs KeyFile. Default: none.
	CertFile string `json:"cert_file,omitempty"`

	// KeyFile is the private key (PEM) of CertFile. Default: none.
	KeyFile string `json:"key_file,omitempty"`

	// ServerName is the name the server's certificate must carry.
	// Default: the host dialled, as the URL or the sentinels give it.
	ServerName string `json:"server_name,omitempty"`
}

// redisTarget is where the config says Redis is, its options included,
// with {env.*} and {file.*} placeholders in the sentinels' credentials
// resolved; its errors say how to write what is wrong.
func (sa *SessionAuth) redisTarget() (redisconn.Target, error) {
	repl := caddy.NewReplacer()
	// {env.*} and {file.*} in the URL too, for its password. The target
	// never shows the resolved URL but with the password hidden.
	rawURL := repl.ReplaceKnown(sa.Redis, "")
	opts := redisconn.Options{
		SentinelUsername: repl.ReplaceKnown(sa.RedisSentinelUsername, ""),
		SentinelPassword: repl.ReplaceKnown(sa.RedisSentinelPassword, ""),
	}
	if sa.RedisTLS != nil {
		opts.TLS = redisconn.TLS(*sa.RedisTLS)
	}
	return redisconn.Parse(rawURL, opts)
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

func acquireRedisPool(target redisconn.Target, logger *zap.Logger) (*redis.Pool, error) {
	val, loaded, err := redisPools.LoadOrNew(target.Key(), func() (caddy.Destructor, error) {
		return redisPool{newRedisPool(target)}, nil
	})
	if err != nil {
		return nil, err
	}
	p := val.(redisPool)
	if !loaded {
		if target.Sentinel() && !target.SentinelAuthenticated() {
			logger.Warn("the sentinels are reached without a password: whoever can reconfigure them can point this server at a Redis of their own; set sentinel_password (see the README, Redis Sentinel)",
				zap.String("redis", target.String()))
		}
		go warnIfNotPersistent(p.Pool, target, logger)
	}
	return p.Pool, nil
}

func releaseRedisPool(target redisconn.Target) { _, _ = redisPools.Delete(target.Key()) }

// acquireListener subscribes through the target's own dial, so that after
// a failover it subscribes on the new master.
func acquireListener(target redisconn.Target, pool *redis.Pool, channel string) (*session.Listener, error) {
	val, _, err := redisListeners.LoadOrNew(target.Key()+"\x00"+channel, func() (caddy.Destructor, error) {
		return redisListener{session.NewListener(target.Dial, pool, channel)}, nil
	})
	if err != nil {
		return nil, err
	}
	return val.(redisListener).Listener, nil
}

func releaseListener(target redisconn.Target, channel string) {
	_, _ = redisListeners.Delete(target.Key() + "\x00" + channel)
}

// newRedisPool is the target's pool (see redisconn.NewPool): bounded, and
// following a Sentinel failover.
func newRedisPool(target redisconn.Target) *redis.Pool { return redisconn.NewPool(target) }

// warnIfNotPersistent tells the operator when Redis would lose accounts on a
// restart. A Redis that refuses CONFIG (managed services) is not reported.
// When Redis cannot be reached its line says why: the dial's error names
// what failed (TLS verification, WRONGPASS, no sentinel answered, an
// unknown master name) and holds no password.
func warnIfNotPersistent(pool *redis.Pool, target redisconn.Target, logger *zap.Logger) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pool.GetContext(ctx)
	if err != nil {
		logger.Warn("redis is unreachable; protected requests get 503 until it answers",
			zap.String("redis", target.String()), zap.Error(err))
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
	return onetime.NewFiles(linksDir(sessionsDir))
}

// linksDir is where tokenFiles keeps them.
func linksDir(sessionsDir string) string { return filepath.Join(sessionsDir, "links") }

func releaseFileSessions(dir string) { _, _ = fileSessionDirs.Delete(filepath.Clean(dir)) }
