package sessionauth

import (
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestIdleTimeoutSlidesAndThenEndsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 30m\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("gina", testPassword, "/")
		for i := range 4 { // 80 minutes of activity, 20 minutes apart
			advance(20 * time.Minute)
			wantGranted(t, c.get("/members/x"), "active session, step "+string(rune('1'+i)))
		}
		advance(31 * time.Minute)
		wantDenied(t, c.get("/members/x"), "31 minutes idle with a 30 minute idle_timeout")
		advance(-31 * time.Minute)
		wantDenied(t, c.get("/members/x"), "an idle-expired session does not come back")
	})
}

func TestLifetimeEndsEvenAnActiveSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 30m\n\t\tlifetime 1h\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("hank", testPassword, "/")
		for range 3 {
			advance(19 * time.Minute)
			wantGranted(t, c.get("/members/x"), "within the lifetime")
		}
		advance(5 * time.Minute) // 62 minutes after login, 5 after the last use
		wantDenied(t, c.get("/members/x"), "past the absolute lifetime")
	})
}

func TestRememberMeLengthensLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 30m\n\t\tlifetime 1h\n\t\tremember_me 48h\n\t\t"+b.lines(t))
		newClient(t).register("ivy", testPassword, "/")

		remembered, plain := newClient(t), newClient(t)
		r := remembered.post("/auth/login", url.Values{"username": {"ivy"}, "password": {testPassword}, "remember": {"1"}})
		if ck := sessionCookie(r); ck == nil || ck.MaxAge != 48*3600 {
			t.Fatalf("remember me: want a session cookie with Max-Age %d, got %v", 48*3600, r.header.Values("Set-Cookie"))
		}
		r = plain.login("ivy", testPassword, "/")
		if ck := sessionCookie(r); ck == nil || ck.MaxAge != 0 || !ck.Expires.IsZero() {
			t.Fatalf("without remember me: want a session cookie that ends with the browser (no Max-Age, no Expires), got %v", r.header.Values("Set-Cookie"))
		}
		for range 6 { // two hours, used every 20 minutes
			advance(20 * time.Minute)
			wantGranted(t, remembered.get("/members/x"), "remembered session after more than the plain lifetime")
			plain.get("/members/x")
		}
		wantDenied(t, plain.get("/members/x"), "plain session after more than its lifetime")
		advance(5 * time.Hour) // far past idle_timeout: remembering means no idle limit
		wantGranted(t, remembered.get("/members/x"), "remembered session after 5 idle hours")
		advance(42 * time.Hour)
		wantDenied(t, remembered.get("/members/x"), "remembered session past remember_me")
	})
}

func TestRememberMeZeroHidesTheCheckbox(t *testing.T) {
	site(t, "session_auth /members/*", "remember_me 0\n\t\t"+fileBackend().lines(t))
	if r := newClient(t).get("/auth/login"); strings.Contains(r.body, `name="remember"`) {
		t.Fatal("remember_me 0 must hide the checkbox")
	}
	site(t, "session_auth /members/*", fileBackend().lines(t))
	if r := newClient(t).get("/auth/login"); !strings.Contains(r.body, `name="remember"`) {
		t.Fatal("the checkbox is there by default")
	}
}

func TestRefreshNeverResurrectsLoggedOutSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 30m\n\t\t"+lines)
		c := newClient(t)
		c.register("jack", testPassword, "/")
		copied := withCookie(t, c.cookie())
		// The copy's next request is due a refresh of the idle deadline.
		advance(10 * time.Minute)
		c.logout()
		wantDenied(t, copied.get("/members/x"), "copied cookie due a refresh, after logout")
		wantDenied(t, copied.get("/members/x"), "and again")
		if n := storedSessions(t, b.name, lines); n != 0 {
			t.Fatalf("%d session records are stored after logout, want 0", n)
		}
	})
}

// storedSessions counts the session records a backend holds.
func storedSessions(t *testing.T, backendName, lines string) int {
	t.Helper()
	if backendName == "redis" {
		conn, err := testRedis.Dial(0)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		keys, err := conn.Do("KEYS", keyPrefix(testRealm)+"session:*")
		if err != nil {
			t.Fatal(err)
		}
		return len(keys.([]any))
	}
	i := strings.Index(lines, "sessions_dir ")
	dir := strings.TrimSpace(lines[i+len("sessions_dir "):])
	matches, err := filepath.Glob(filepath.Join(dir, "s_*"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); err != nil {
		t.Fatal(err)
	}
	return len(matches)
}
