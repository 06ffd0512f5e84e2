package sessionauth

import (
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
)

var errorParagraph = regexp.MustCompile(`<p class="error"[^>]*>([^<]*)</p>`)

// loginError is the one error message a login page shows ("" for none).
func loginError(r response) string {
	if m := errorParagraph.FindStringSubmatch(r.body); m != nil {
		return m[1]
	}
	return ""
}

// wantGenericFailure asserts the answer every failed login gets.
func wantGenericFailure(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || loginError(r) != loginFailed {
		t.Fatalf("%s: want 401 %q, got %d %q", what, loginFailed, r.status, loginError(r))
	}
}

const lockoutOptions = "registration open\n\t\tbcrypt_cost 10\n\t\taccount_limit 3 15m\n\t\taccount_lockout 10m 30m\n\t\t"

func TestPasswordGuessingLocksTheAccountWithoutSayingSo(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("alice", testPassword, "/")
		attacker := newClient(t)
		for i := range 3 {
			wantGenericFailure(t, attacker.login("alice", "guess number "+string(rune('0'+i)), "/"), "a wrong guess")
		}
		// Locked: even the right password gets the very same failure.
		wantGenericFailure(t, newClient(t).login("alice", testPassword, "/"), "the right password on a locked account")
		advance(9 * time.Minute)
		wantGenericFailure(t, newClient(t).login("alice", testPassword, "/"), "still locked after 9 of 10 minutes")
		advance(2 * time.Minute)
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("after the lock: want 303, got %d", r.status)
		}
		data, _ := os.ReadFile(logFile)
		if !strings.Contains(string(data), "account locked") || !strings.Contains(string(data), `"username":"alice"`) {
			t.Fatal("the lockout must be logged with the username")
		}
	})
}

func TestRepeatedLockoutsGrowLonger(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("bert", testPassword, "/")
		lock := func() {
			for range 3 {
				newClient(t).login("bert", "wrong password here", "/")
			}
		}
		lock()
		advance(11 * time.Minute) // the first lock was 10 minutes
		lock()
		advance(11 * time.Minute)
		wantGenericFailure(t, newClient(t).login("bert", testPassword, "/"), "second lock, 11 of 20 minutes")
		advance(10 * time.Minute)
		if r := newClient(t).login("bert", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("after the second, 20 minute lock: want 303, got %d", r.status)
		}
	})
}

func TestSuccessfulLoginResetsTheFailureCount(t *testing.T) {
	site(t, "session_auth /members/*", lockoutOptions+fileBackend().lines(t))
	newClient(t).register("cleo", testPassword, "/")
	for range 2 {
		newClient(t).login("cleo", "wrong password here", "/")
	}
	newClient(t).login("cleo", testPassword, "/")
	for range 2 {
		newClient(t).login("cleo", "wrong password here", "/")
	}
	if r := newClient(t).login("cleo", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("2 failures after a success must not lock: got %d", r.status)
	}
}

func TestUsernameSpellingsShareOneCounter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("dora", testPassword, "/")
		for _, spelling := range []string{"Dora", "DORA ", " dora"} {
			newClient(t).login(spelling, "wrong password here", "/")
		}
		wantGenericFailure(t, newClient(t).login("dora", testPassword, "/"), "locked through three spellings")
	})
}

func TestUnknownAccountsLockLikeRealOnes(t *testing.T) {
	site(t, "session_auth /members/*", lockoutOptions+fileBackend().lines(t))
	for range 3 {
		wantGenericFailure(t, newClient(t).login("ghost", "wrong password here", "/"), "unknown user")
	}
	wantGenericFailure(t, newClient(t).login("ghost", "wrong password here", "/"), "unknown user, locked")
}

func TestForgedForwardedForDoesNotEscapeTheClientLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\tip_limit 4 1m\n\t\t"+b.lines(t))
		c := newClient(t)
		attempt := func(xff string) response {
			form := url.Values{"username": {"someone"}, "password": {"wrong password here"}, formTokenField: {c.formToken("/auth/login")}}
			req, _ := http.NewRequest(http.MethodPost, baseURL+"/auth/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", xff)
			req.Header.Set("X-Real-IP", xff)
			return c.do(req)
		}
		for i := range 4 {
			if r := attempt("198.51.100." + string(rune('1'+i))); r.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: want 401, got %d", i+1, r.status)
			}
		}
		r := attempt("198.51.100.99")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("fifth attempt with a new X-Forwarded-For: want 429 with Retry-After, got %d %q", r.status, r.header.Get("Retry-After"))
		}
		// Registration counts against the same limit.
		if r := c.register("newbie", testPassword, "/"); r.status != http.StatusTooManyRequests {
			t.Fatalf("registration over the limit: want 429, got %d", r.status)
		}
		advance(61 * time.Second)
		if r := attempt("198.51.100.1"); r.status != http.StatusUnauthorized {
			t.Fatalf("after the window: want 401 again, got %d", r.status)
		}
	})
}

func TestFormsRefuseMissingForeignAndExpiredTokens(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\t"+fileBackend().lines(t))
	newClient(t).register("eve", testPassword, "/")
	victim, attacker := newClient(t), newClient(t)
	attackersToken := attacker.formToken("/auth/login")
	victim.formToken("/auth/login") // the victim's browser has its own cookie

	cases := []struct {
		name  string
		token string
	}{
		{"missing", ""},
		{"another browser's", attackersToken},
		{"altered", attackersToken[:len(attackersToken)-2] + "xx"},
		{"from the register form", victim.formToken("/auth/register")},
	}
	for _, tc := range cases {
		r := victim.post("/auth/login", url.Values{"username": {"eve"}, "password": {testPassword}, formTokenField: {tc.token}})
		if r.status != http.StatusForbidden || len(r.header.Values("Set-Cookie")) != 0 && strings.Contains(r.header.Get("Set-Cookie"), defaultCookieName+"=") {
			t.Fatalf("%s token: want 403 and no session, got %d", tc.name, r.status)
		}
		if !strings.Contains(r.body, `href="/auth/login"`) {
			t.Fatalf("%s token: the 403 page must offer the form again", tc.name)
		}
	}
	old := victim.formToken("/auth/login")
	advance(5 * time.Hour)
	if r := victim.post("/auth/login", url.Values{"username": {"eve"}, "password": {testPassword}, formTokenField: {old}}); r.status != http.StatusForbidden {
		t.Fatalf("a 5 hour old token: want 403, got %d", r.status)
	}
	if r := victim.login("eve", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("a fresh token: want 303, got %d", r.status)
	}
	// Logout needs the token too, or a forged post could log people out.
	if r := victim.post("/auth/logout", url.Values{formTokenField: {""}}); r.status != http.StatusForbidden {
		t.Fatalf("logout without a token: want 403, got %d", r.status)
	}
	wantGranted(t, victim.get("/members/x"), "still logged in after the refused logout")
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	for _, path := range []string{"/auth/login", "/auth/register", "/auth/logout", "/auth/nowhere"} {
		r := c.get(path)
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "form-action 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || inlineScript(r.body) || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s: the page must need no inline script or style", path)
		}
		if !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q must allow this site's own script and nothing else", path, csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s is %q, want %q", path, h, got, want)
			}
		}
	}
	for _, r := range []response{c.register("fred", testPassword, "/"), c.login("fred", testPassword, "/"), c.logout()} {
		if len(r.header.Values("Set-Cookie")) > 0 && r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a response that sets the session cookie must be no-store: %d %q", r.status, r.header.Get("Cache-Control"))
		}
	}
}

var scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)

// inlineScript tells whether a page carries script in its markup: a script
// element with a body or without src, or an on* event handler attribute.
func inlineScript(body string) bool {
	for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			return true
		}
	}
	return regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(body) || strings.Contains(strings.ToLower(body), "javascript:")
}
