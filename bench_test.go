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

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
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
	sa := &SessionAuth{Realm: "bench", Registration: "open", BcryptCost: 10, Secrets: []string{testSecret}}
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

// benchWriter is a ResponseWriter that keeps only its header.
type benchWriter struct{ h http.Header }

func (w *benchWriter) Header() http.Header         { return w.h }
func (w *benchWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *benchWriter) WriteHeader(int)             {}

var countNext = caddyhttp.HandlerFunc(func(w http.ResponseWriter, r *http.Request) error {
	served.Add(1)
	return nil
})

// benchSession registers an account and returns its session cookie.
func benchSession(b *testing.B, sa *SessionAuth, user string) *http.Cookie {
	b.Helper()
	ctx := context.Background()
	hash, err := users.Hash(testPassword, bcryptfloor.Cost)
	if err != nil {
		b.Fatal(err)
	}
	if err := sa.users.Create(ctx, users.Account{Username: user, Hash: hash}); err != nil {
		b.Fatal(err)
	}
	acct, err := sa.users.Get(ctx, user)
	if err != nil {
		b.Fatal(err)
	}
	rec := httptest.NewRecorder()
	if _, err := sa.sessions.Start(rec, benchRequest("POST", "/auth/login", ""), acct, false, session.FactorPassword); err != nil {
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
			served.Store(0)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				// One request and writer per goroutine, as Caddy reuses
				// neither but makes them anyway: what is counted is the
				// gate's own work.
				r := benchRequest("GET", "/members/x", "", cookie)
				w := &benchWriter{h: http.Header{}}
				// The gate cuts its cookies before the next handler: each
				// round puts the browser's line back, without allocating.
				sent := r.Header["Cookie"]
				line := sent[0]
				for pb.Next() {
					clear(w.h)
					sent[0] = line
					r.Header["Cookie"] = sent
					if err := sa.ServeHTTP(w, r, countNext); err != nil {
						b.Fatal(err)
					}
				}
			})
			if n := served.Swap(0); n != int64(b.N) {
				b.Fatalf("%d of %d requests reached the next handler", n, b.N)
			}
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
