package sessionauth

import (
	"context"
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The gate's own cost, without HTTP or file serving around it: what
// protecting a request adds. Run with
//
//	go test -run '^$' -bench . -benchmem
//
// Redis benchmarks use the private redis-server the tests start.

// benchHandler provisions a handler as Caddy would, on one backend.
func benchHandler(b *testing.B, backendName string, options func(*SessionAuth)) *SessionAuth {
	b.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	b.Cleanup(cancel)
	sa := &SessionAuth{Registration: "open", BcryptCost: 10, Secrets: []string{testSecret}}
	big := &RateLimit{Limit: 1 << 30, Window: caddy.Duration(1 << 40)}
	sa.IPLimit, sa.AccountLimit = big, big
	if backendName == "redis" {
		if err := testRedis.FlushAll(); err != nil {
			b.Fatal(err)
		}
		sa.Redis = testRedis.URL(0)
	} else {
		dir := b.TempDir()
		sa.UsersFile, sa.SessionsDir = filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions")
	}
	if options != nil {
		options(sa)
	}
	if err := sa.Provision(ctx); err != nil {
		b.Fatal(err)
	}
	if err := sa.Validate(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sa.Cleanup() })
	sa.logger = zap.NewNop()
	return sa
}

// benchRequest is a request as Caddy hands it to a handler.
func benchRequest(method, target, body string, cookies ...*http.Cookie) *http.Request {
	var r *http.Request
	if body == "" {
		r = httptest.NewRequest(method, target, nil)
	} else {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	r.Header.Set("Accept", "text/html")
	for _, c := range cookies {
		r.AddCookie(c)
	}
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	ctx = context.WithValue(ctx, caddyhttp.VarsCtxKey, map[string]any{caddyhttp.ClientIPVarKey: "127.0.0.1"})
	return r.WithContext(ctx)
}

var served atomic.Int64

var countNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	served.Add(1)
	return nil
})

// benchSession registers an account and returns its session cookie.
func benchSession(b *testing.B, sa *SessionAuth, user string) *http.Cookie {
	b.Helper()
	rec := httptest.NewRecorder()
	if err := sa.startSession(rec, benchRequest("POST", "/auth/login", ""), user, false); err != nil {
		b.Fatal(err)
	}
	for _, c := range rec.Result().Cookies() {
		if c.Name == defaultCookieName {
			return c
		}
	}
	b.Fatal("no session cookie")
	return nil
}

func BenchmarkGate(b *testing.B) {
	for _, backendName := range []string{"files", "redis"} {
		b.Run(backendName+"/valid-session", func(b *testing.B) {
			sa := benchHandler(b, backendName, nil)
			cookie := benchSession(b, sa, "bench")
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					if err := sa.ServeHTTP(w, benchRequest("GET", "/members/x", "", cookie), countNext); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run(backendName+"/no-cookie", func(b *testing.B) {
			sa := benchHandler(b, backendName, nil)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					_ = sa.ServeHTTP(w, benchRequest("GET", "/members/x", ""), countNext)
					if w.Code != http.StatusSeeOther {
						b.Fatalf("want 303, got %d", w.Code)
					}
				}
			})
		})
		b.Run(backendName+"/bad-cookie", func(b *testing.B) {
			sa := benchHandler(b, backendName, nil)
			bad := &http.Cookie{Name: defaultCookieName, Value: strings.Repeat("A", 180)}
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					_ = sa.ServeHTTP(w, benchRequest("GET", "/members/x", "", bad), countNext)
					if w.Code != http.StatusSeeOther {
						b.Fatalf("want 303, got %d", w.Code)
					}
				}
			})
		})
	}
}

// benchForm opens a form page and returns its token and the cookie it is
// tied to.
func benchForm(b *testing.B, sa *SessionAuth, path string) (string, *http.Cookie) {
	b.Helper()
	w := httptest.NewRecorder()
	if err := sa.ServeHTTP(w, benchRequest("GET", path, ""), countNext); err != nil {
		b.Fatal(err)
	}
	m := tokenField.FindStringSubmatch(w.Body.String())
	if m == nil {
		b.Fatalf("no token at %s", path)
	}
	return html.UnescapeString(m[1]), w.Result().Cookies()[0]
}

// BenchmarkLogin runs whole logins at the default bcrypt cost, on every
// core; compare its rate with BenchmarkBcryptCompare's: cores divided by one
// compare is the ceiling.
func BenchmarkLogin(b *testing.B) {
	for _, backendName := range []string{"files", "redis"} {
		b.Run(backendName, func(b *testing.B) {
			sa := benchHandler(b, backendName, func(sa *SessionAuth) { sa.BcryptCost = users.DefaultBcryptCost })
			benchSession(b, sa, "nobody") // warm the key and the store
			token, browser := benchForm(b, sa, "/auth/register")
			body := url.Values{"username": {"bench"}, "password": {testPassword}, formTokenField: {token}}.Encode()
			w := httptest.NewRecorder()
			_ = sa.ServeHTTP(w, benchRequest("POST", "/auth/register", body, browser), countNext)
			if w.Code != http.StatusSeeOther {
				b.Fatalf("register: %d", w.Code)
			}
			token, browser = benchForm(b, sa, "/auth/login")
			body = url.Values{"username": {"bench"}, "password": {testPassword}, formTokenField: {token}}.Encode()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					w := httptest.NewRecorder()
					_ = sa.ServeHTTP(w, benchRequest("POST", "/auth/login", body, browser), countNext)
					if w.Code != http.StatusSeeOther && w.Code != http.StatusServiceUnavailable {
						b.Fatalf("login: %d", w.Code)
					}
				}
			})
		})
	}
}

// BenchmarkBcryptCompare is one bcrypt check at the default cost on every
// core: the ceiling for logins per second.
func BenchmarkBcryptCompare(b *testing.B) {
	hash, err := users.Hash(testPassword, users.DefaultBcryptCost)
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			users.Verify(hash, testPassword)
		}
	})
}

func BenchmarkRegister(b *testing.B) {
	for _, backendName := range []string{"files", "redis"} {
		b.Run(backendName, func(b *testing.B) {
			sa := benchHandler(b, backendName, nil)
			token, browser := benchForm(b, sa, "/auth/register")
			var n atomic.Int64
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					body := url.Values{"username": {"user" + strconv.FormatInt(n.Add(1), 10)}, "password": {testPassword}, formTokenField: {token}}.Encode()
					w := httptest.NewRecorder()
					_ = sa.ServeHTTP(w, benchRequest("POST", "/auth/register", body, browser), countNext)
					if w.Code != http.StatusSeeOther && w.Code != http.StatusServiceUnavailable {
						b.Fatalf("register: %d %s", w.Code, w.Body.String())
					}
				}
			})
		})
	}
}

// BenchmarkGateRedisScale measures the gate's Redis path (the cache turned
// off, every request a round trip) with 1,000 and with 1,000,000 live
// sessions, and reports Redis's own memory per session. The million is
// loaded with pipelined writes; run it alone:
//
//	go test -run '^$' -bench GateRedisScale -benchtime 20000x
func BenchmarkGateRedisScale(b *testing.B) {
	for _, n := range []int{1_000, 1_000_000} {
		b.Run(strconv.Itoa(n)+"-sessions", func(b *testing.B) {
			sa := benchHandler(b, "redis", nil)
			k, err := sa.sessions.get()
			if err != nil {
				b.Fatal(err)
			}
			store := k.store.(*session.Redis)
			store.Cache = nil // measure Redis itself
			cookies, bytesPerSession := loadSessions(b, sa, store, n)
			b.ReportAllocs()
			b.ResetTimer()
			var i atomic.Int64
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					c := cookies[int(i.Add(1))%len(cookies)]
					w := httptest.NewRecorder()
					if err := sa.ServeHTTP(w, benchRequest("GET", "/members/x", "", c), countNext); err != nil || w.Code != http.StatusOK {
						b.Fatalf("gate: %d %v", w.Code, err)
					}
				}
			})
			b.ReportMetric(float64(bytesPerSession), "redis-B/session")
		})
	}
}

// loadSessions writes n session records straight into Redis, pipelined,
// and returns signed cookies for 1,000 of them and the memory one session
// takes in Redis (MEMORY USAGE of its key).
func loadSessions(b *testing.B, sa *SessionAuth, store *session.Redis, n int) ([]*http.Cookie, int) {
	b.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	at := now()
	sess := sessions.NewSession(store, defaultCookieName)
	session.Put(sess, session.Record{User: "bench-user", Created: at, Seen: at, Expires: at.Add(24 * time.Hour)})
	value, err := session.Serializer{}.Serialize(sess)
	if err != nil {
		b.Fatal(err)
	}
	var cookies []*http.Cookie
	step := max(n/1000, 1)
	for i := range n {
		id := session.NewID()
		_ = conn.Send("SET", redisSessionPrefix+id, value, "PX", int64(2*time.Hour/time.Millisecond))
		if i%step == 0 {
			v, err := securecookie.EncodeMulti(defaultCookieName, id, store.Codecs...)
			if err != nil {
				b.Fatal(err)
			}
			cookies = append(cookies, &http.Cookie{Name: defaultCookieName, Value: v})
		}
		if i%10_000 == 9_999 || i == n-1 {
			if err := conn.Flush(); err != nil {
				b.Fatal(err)
			}
			for range i%10_000 + 1 {
				if _, err := conn.Receive(); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	id := session.NewID()
	if _, err := conn.Do("SET", redisSessionPrefix+id, value, "PX", int64(2*time.Hour/time.Millisecond)); err != nil {
		b.Fatal(err)
	}
	usage, err := redis.Int(conn.Do("MEMORY", "USAGE", redisSessionPrefix+id))
	if err != nil {
		b.Fatal(err)
	}
	return cookies, usage
}
