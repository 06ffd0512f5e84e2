package sessionstore

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

const testRedisPrefix = "test:session:"

// newTestRedisStore is a Redis store on a freshly flushed database 0 of
// testRedis, and a connection for checking what it wrote.
func newTestRedisStore(t *testing.T) (*Redis, redis.Conn) {
	t.Helper()
	if err := testRedis.FlushAll(); err != nil {
		t.Fatalf("flushing redis: %v", err)
	}
	pool := testRedis.Pool(0)
	t.Cleanup(func() { pool.Close() })
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatalf("dialing redis: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	return NewRedis(pool, testRedisPrefix, *testOptions(), testCodec()), conn
}

func keyExists(t *testing.T, conn redis.Conn, key string) bool {
	t.Helper()
	n, err := redis.Int(conn.Do("EXISTS", key))
	if err != nil {
		t.Fatalf("EXISTS %s: %v", key, err)
	}
	return n == 1
}

func TestRedisSaveAndNewRoundTrip(t *testing.T) {
	store, conn := newTestRedisStore(t)
	rec := testRecord("alice")
	rec.Remember = true
	saved, cookie := saveSession(t, store, rec)
	if len(saved.ID) != 52 || !validID(saved.ID) {
		t.Fatalf("session id %q is not 52 base32 characters", saved.ID)
	}
	if !keyExists(t, conn, testRedisPrefix+saved.ID) {
		t.Fatalf("Save did not write %s", testRedisPrefix+saved.ID)
	}
	stored, err := redis.String(conn.Do("GET", testRedisPrefix+saved.ID))
	if err != nil || len(stored) > 100 {
		t.Fatalf("stored record %q, %v; want one short line", stored, err)
	}
	ttl, err := redis.Int64(conn.Do("PTTL", testRedisPrefix+saved.ID))
	if err != nil || ttl <= 0 || ttl > 3600_000 {
		t.Fatalf("PTTL after Save = %d, %v; want the cookie's 1h at most", ttl, err)
	}

	loaded, err := store.New(requestWithCookie(cookie), testCookieName)
	if err != nil {
		t.Fatalf("New with the saved cookie: %v", err)
	}
	if loaded.IsNew || loaded.ID != saved.ID {
		t.Fatalf("loaded IsNew=%v ID=%q; want the saved session %q", loaded.IsNew, loaded.ID, saved.ID)
	}
	wantSameRecord(t, loaded, rec)
	again, err := store.Get(requestWithCookie(cookie), testCookieName)
	if err != nil {
		t.Fatalf("Get with the saved cookie: %v", err)
	}
	wantSameRecord(t, again, rec)
}

func TestRedisNewWithoutCookieIsNewAndNoError(t *testing.T) {
	store, _ := newTestRedisStore(t)
	sess, err := store.New(httptest.NewRequest(http.MethodGet, "/", nil), testCookieName)
	if err != nil || !sess.IsNew {
		t.Fatalf("New without a cookie: IsNew=%v, %v", sess.IsNew, err)
	}
}

func TestRedisTouchAfterForgetIsNotFoundAndStaysDeleted(t *testing.T) {
	store, conn := newTestRedisStore(t)
	sess, cookie := saveSession(t, store, testRecord("alice"))
	key := testRedisPrefix + sess.ID
	if err := store.Forget(sess.ID); err != nil {
		t.Fatalf("Forget: %v", err)
	}
	if keyExists(t, conn, key) {
		t.Fatal("Forget left the key")
	}
	if err := store.Touch(sess, time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch after Forget = %v; want ErrNotFound", err)
	}
	if keyExists(t, conn, key) {
		t.Fatal("Touch after Forget brought the session back")
	}
	_, err := store.New(requestWithCookie(cookie), testCookieName)
	if !errors.Is(err, ErrNotFound) || IsBackendError(err) {
		t.Fatalf("New after Forget = %v; want ErrNotFound, not a backend error", err)
	}
}

func TestRedisTouchSetsTTLAndRecord(t *testing.T) {
	store, conn := newTestRedisStore(t)
	rec := testRecord("alice")
	sess, cookie := saveSession(t, store, rec)
	rec.Seen = rec.Seen.Add(7 * time.Minute)
	Put(sess, rec)
	const ttl = 90 * time.Second
	if err := store.Touch(sess, ttl); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	pttl, err := redis.Int64(conn.Do("PTTL", testRedisPrefix+sess.ID))
	if err != nil {
		t.Fatal(err)
	}
	if got := time.Duration(pttl) * time.Millisecond; got > ttl || got < ttl-5*time.Second {
		t.Fatalf("PTTL after Touch(%v) = %v", ttl, got)
	}
	loaded, err := store.New(requestWithCookie(cookie), testCookieName)
	if err != nil {
		t.Fatal(err)
	}
	wantSameRecord(t, loaded, rec)
}

func TestRedisTouchWithoutRecordOrIDIsNotFound(t *testing.T) {
	store, conn := newTestRedisStore(t)
	sess, _ := saveSession(t, store, testRecord("alice"))
	delete(sess.Values, recordKey)
	if err := store.Touch(sess, time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch of a session without a record = %v; want ErrNotFound", err)
	}
	Put(sess, testRecord("alice"))
	sess.ID = ""
	if err := store.Touch(sess, time.Hour); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch of a session without an id = %v; want ErrNotFound", err)
	}
	if keyExists(t, conn, testRedisPrefix) {
		t.Fatal("Touch without an id wrote the bare prefix key")
	}
}

func TestRedisNewWithTamperedCookieIsNotABackendError(t *testing.T) {
	store, _ := newTestRedisStore(t)
	saved, cookie := saveSession(t, store, testRecord("alice"))
	otherKey, _ := securecookie.EncodeMulti(testCookieName, saved.ID, testCodec())
	flipped := []byte(cookie.Value)
	flipped[len(flipped)/2] ^= 1
	for _, value := range []string{string(flipped), otherKey, "garbage", cookie.Value[:10]} {
		sess, err := store.New(requestWithCookie(&http.Cookie{Name: testCookieName, Value: value}), testCookieName)
		if err == nil {
			t.Fatalf("New accepted the tampered cookie %q", value)
		}
		if IsBackendError(err) {
			t.Fatalf("IsBackendError(%v) = true for a tampered cookie; want false", err)
		}
		if !sess.IsNew {
			t.Fatal("New returned IsNew=false for a tampered cookie")
		}
	}
}

func TestRedisCorruptRecordIsNotABackendError(t *testing.T) {
	store, conn := newTestRedisStore(t)
	saved, cookie := saveSession(t, store, testRecord("alice"))
	if _, err := conn.Do("SET", testRedisPrefix+saved.ID, "not a record"); err != nil {
		t.Fatal(err)
	}
	_, err := store.New(requestWithCookie(cookie), testCookieName)
	if !errors.Is(err, ErrCorrupt) || IsBackendError(err) {
		t.Fatalf("New of a corrupt record = %v; want ErrCorrupt, not a backend error", err)
	}
}

func TestRedisDownIsABackendError(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	t.Cleanup(srv.Close)
	pool := srv.Pool(0)
	t.Cleanup(func() { pool.Close() })
	store := NewRedis(pool, testRedisPrefix, *testOptions(), testCodec())
	sess, cookie := saveSession(t, store, testRecord("alice"))

	// The pool keeps an idle connection to the server that now dies: the
	// first call finds it broken, later ones cannot dial.
	srv.Stop()

	loaded, err := store.New(requestWithCookie(cookie), testCookieName)
	if err == nil {
		t.Fatal("New with Redis down succeeded")
	}
	if !IsBackendError(err) {
		t.Fatalf("IsBackendError(%v) = false with Redis down; want true", err)
	}
	if _, ok := Get(loaded); ok {
		t.Fatal("New with Redis down returned a record")
	}
	if err := store.Touch(sess, time.Hour); err == nil || !IsBackendError(err) || errors.Is(err, ErrNotFound) {
		t.Fatalf("Touch with Redis down = %v; want a backend error", err)
	}
	if err := store.Forget(sess.ID); err == nil || !IsBackendError(err) {
		t.Fatalf("Forget with Redis down = %v; want a backend error", err)
	}

	// A tampered cookie is still no session, whether or not Redis is up.
	_, err = store.New(requestWithCookie(&http.Cookie{Name: testCookieName, Value: "garbage"}), testCookieName)
	if err == nil || IsBackendError(err) {
		t.Fatalf("New with a tampered cookie and Redis down = %v; want a non-backend error", err)
	}
}

func TestNewRedisWithRedisDownStillReturnsStore(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	srv.Close()
	pool := srv.Pool(0)
	defer pool.Close()
	if store := NewRedis(pool, testRedisPrefix, *testOptions(), testCodec()); store == nil || store.RediStore == nil {
		t.Fatal("NewRedis with Redis down returned no store; Caddy must start while Redis is down")
	}
}

func TestIsBackendError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", ErrNotFound, false},
		{"corrupt", ErrCorrupt, false},
		{"wrapped corrupt", errors.Join(errors.New("x"), ErrCorrupt), false},
		{"cookie decode", securecookie.ErrMacInvalid, false},
		{"disk", errors.New("open /x: permission denied"), true},
		{"redis", errors.New("redis: dial tcp: connection refused"), true},
	} {
		if got := IsBackendError(tc.err); got != tc.want {
			t.Errorf("%s: IsBackendError(%v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}
