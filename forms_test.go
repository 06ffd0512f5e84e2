package sessionauth

// Rule 8: state-changing posts refuse cross-origin requests, and every
// form carries a token tied to the browser it was served to.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// crossOriginHeaders are the headers of posts from other origins (a
// function: baseURL is known only once the tests pick their ports).
func crossOriginHeaders() []struct {
	name string
	hdr  http.Header
} {
	return []struct {
		name string
		hdr  http.Header
	}{
		{"foreign Origin", http.Header{"Origin": {"http://evil.example"}}},
		{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
		{"Origin null", http.Header{"Origin": {"null"}}},
		{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}},
		{"Origin on another port", http.Header{"Origin": {"http://localhost:9081"}}},
		{"Origin with our host as a prefix", http.Header{"Origin": {baseURL + ".evil.example"}}},
		{"cross-site despite a matching Origin", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {baseURL}}},
	}
}

// setsCookie tells whether a response sets (or expires) any cookie.
func setsCookie(r response) bool { return len(r.header.Values("Set-Cookie")) > 0 }

func wantRefusedCrossOrigin(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusForbidden {
		t.Fatalf("%s: want 403, got %d", what, r.status)
	}
	if setsCookie(r) {
		t.Fatalf("%s: a refused post set a cookie: %q", what, r.header.Values("Set-Cookie"))
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		newClient(t).register("victim", testPassword, "/")

		for i, tc := range crossOriginHeaders() {
			t.Run(tc.name, func(t *testing.T) {
				// login
				c := newClient(t)
				r := c.postWith("/auth/login", url.Values{"username": {"victim"}, "password": {testPassword}, "next": {"/"}}, tc.hdr)
				wantRefusedCrossOrigin(t, r, "login")
				if c.cookie() != "" {
					t.Fatal("login: a refused post left a session cookie")
				}
				wantDenied(t, c.get("/members/x"), "after a refused login")

				// register
				user := fmt.Sprintf("csrf%d", i)
				r = newClient(t).postWith("/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}, tc.hdr)
				wantRefusedCrossOrigin(t, r, "register")
				if r := newClient(t).login(user, testPassword, "/"); r.status != http.StatusUnauthorized {
					t.Fatalf("register: a refused post created the account (login got %d)", r.status)
				}

				// logout
				v := newClient(t)
				if r := v.login("victim", testPassword, "/"); r.status != http.StatusSeeOther {
					t.Fatalf("victim login: %d", r.status)
				}
				r = v.postWith("/auth/logout", url.Values{}, tc.hdr)
				wantRefusedCrossOrigin(t, r, "logout")
				wantGranted(t, v.get("/members/x"), "the session after a refused logout")
			})
		}

		t.Run("same-origin controls", func(t *testing.T) {
			for _, ctl := range []struct {
				name string
				hdr  http.Header
			}{
				{"matching Origin", http.Header{"Origin": {baseURL}}},
				{"Sec-Fetch-Site same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}},
				{"Sec-Fetch-Site none", http.Header{"Sec-Fetch-Site": {"none"}}},
				{"neither header (not a browser)", http.Header{}},
			} {
				c := newClient(t)
				r := c.postWith("/auth/login", url.Values{"username": {"victim"}, "password": {testPassword}}, ctl.hdr)
				if r.status != http.StatusSeeOther || c.cookie() == "" {
					t.Fatalf("%s: login want 303 with a cookie, got %d", ctl.name, r.status)
				}
				wantGranted(t, c.get("/members/x"), ctl.name)
				if r := c.postWith("/auth/logout", url.Values{}, ctl.hdr); r.status != http.StatusSeeOther {
					t.Fatalf("%s: logout want 303, got %d", ctl.name, r.status)
				}
				wantDenied(t, c.get("/members/x"), ctl.name+": after logout")
			}
			user := "sameorigin-" + b.name
			r := newClient(t).postWith("/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}, http.Header{"Origin": {baseURL}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("register with a matching Origin: want 303, got %d", r.status)
			}
		})
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

// TestHumanDuration: the remember-me checkbox says its duration in whole
// days from two days up, in whole hours from two hours up, and as Go
// writes it otherwise, so it never reads "1 days" or rounds anything away.
func TestHumanDuration(t *testing.T) {
	for _, tc := range []struct {
		d    time.Duration
		want string
	}{
		{30 * 24 * time.Hour, "30 days"},
		{48 * time.Hour, "2 days"},
		{72 * time.Hour, "3 days"},
		{47 * time.Hour, "47 hours"},
		{36 * time.Hour, "36 hours"},
		{24 * time.Hour, "24 hours"},
		{2 * time.Hour, "2 hours"},
		{49 * time.Hour, "49 hours"},
		{48*time.Hour + 30*time.Minute, "48h30m0s"},
		{2*time.Hour + 30*time.Minute, "2h30m0s"},
		{time.Hour, "1h0m0s"},
		{90 * time.Minute, "1h30m0s"},
		{30 * time.Minute, "30m0s"},
		{time.Second, "1s"},
	} {
		t.Run(tc.d.String(), func(t *testing.T) {
			if got := humanDuration(tc.d); got != tc.want {
				t.Fatalf("humanDuration(%v) = %q, want %q", tc.d, got, tc.want)
			}
		})
	}
}
