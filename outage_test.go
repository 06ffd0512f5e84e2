package sessionauth

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// wantUnavailable asserts a 503 that serves none of the protected content.
func wantUnavailable(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable || strings.Contains(r.body, "SECRET") {
		t.Fatalf("%s: want 503 without the content, got %d %q", what, r.status, r.body)
	}
}

func startPersistentRedis(t *testing.T) *testredis.Server {
	t.Helper()
	srv, err := testredis.StartPersistent()
	if err != nil {
		t.Fatalf("the test needs a real redis-server: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

func TestRedisDownMidRunRefusesProtectedContentAndRecovers(t *testing.T) {
	srv := startPersistentRedis(t)
	site(t, "session_auth /members/*", "registration open\n\t\tredis "+srv.URL(0))
	c := newClient(t)
	c.register("kate", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "before the outage")

	srv.Stop()
	// The memory serves a session at most session.MemoryBound from the
	// start of the read that filled it, and every such read began before
	// Redis stopped: until then a request may still be answered from
	// memory, and from then on every one must reach Redis and get 503,
	// however slowly a loaded machine notices the dead subscription.
	stopped := time.Now()
	for time.Since(stopped) <= session.MemoryBound {
		if r := c.getAPI("/members/x"); r.status != http.StatusOK && r.status != http.StatusServiceUnavailable {
			t.Fatalf("right after Redis stopped: want 200 from memory or 503, got %d", r.status)
		}
		time.Sleep(50 * time.Millisecond)
	}
	wantUnavailable(t, c.getAPI("/members/x"), "script, one MemoryBound after Redis stopped")
	wantUnavailable(t, c.get("/members/x"), "browser, Redis down")
	wantUnavailable(t, c.getAPI("/members/x"), "script, Redis down")
	// Without a cookie there is nothing to check: the login page, as ever.
	wantDenied(t, newClient(t).get("/members/x"), "no cookie, Redis down")
	if r := c.get("/public.txt"); r.status != 200 || r.body != "public text" {
		t.Fatalf("public page with Redis down: %d %q", r.status, r.body)
	}
	r := newClient(t).login("kate", testPassword, "/")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Try again later") {
		t.Fatalf("login with Redis down: want the try-again-later page (503), got %d %q", r.status, r.body)
	}
	r = newClient(t).register("lena", testPassword, "/")
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Try again later") {
		t.Fatalf("registration with Redis down: want the try-again-later page (503), got %d", r.status)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the same session works again once Redis is back", func() bool {
		return c.get("/members/x").status == http.StatusOK
	})
	wantGranted(t, c.get("/members/x"), "after the outage")
	if r := newClient(t).login("kate", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("login after the outage: %d", r.status)
	}
}

func TestCaddyStartsWithRedisDownAndServesOnceItIsUp(t *testing.T) {
	srv := startPersistentRedis(t)
	url := srv.URL(0)
	srv.Stop()
	// No secret: the cookie key itself must wait for Redis.
	site(t, "session_auth /members/*", "registration open\n\t\tredis "+url)
	c := newClient(t)
	if r := c.get("/public.txt"); r.status != 200 {
		t.Fatalf("public page while Redis never answered: %d", r.status)
	}
	wantDenied(t, c.get("/members/x"), "no cookie, Redis down")
	// The form itself needs the key from Redis, for its token.
	if r := c.get("/auth/register"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Try again later") {
		t.Fatalf("registration form while Redis is down: want the try-again-later page (503), got %d", r.status)
	}
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the registration form once Redis is up", func() bool {
		return c.get("/auth/register").status == http.StatusOK
	})
	if r := c.register("mia", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("registration once Redis is up: %d", r.status)
	}
	wantGranted(t, c.get("/members/x"), "after Redis came up")
}
