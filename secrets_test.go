package sessionauth

// Rule 13: no secret, password or session id in logs or pages.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestSecretsNeverLoggedOrShown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		const (
			regPassword   = "Reg1stration-PW-henry"
			wrongPassword = "Wr0ng-PW-for-henry"
		)
		var pages []response
		keep := func(r response) response { pages = append(pages, r); return r }
		var cookies []string

		c := newClient(t)
		if r := keep(c.register("henry", regPassword, "/")); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		// Refused registrations (mismatch, taken name) with passwords in them.
		keep(newClient(t).post("/auth/register", url.Values{"username": {"henry2"}, "password": {wrongPassword}, "password_confirm": {regPassword}}))
		keep(newClient(t).register("henry", wrongPassword, "/"))

		if r := keep(newClient(t).login("henry", wrongPassword, "/")); r.status != http.StatusUnauthorized {
			t.Fatalf("failed login: %d", r.status)
		}
		if r := keep(newClient(t).login("nosuchuser", regPassword, "/")); r.status != http.StatusUnauthorized {
			t.Fatalf("unknown user: %d", r.status)
		}
		if r := keep(c.login("henry", regPassword, "/members/x")); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		wantGranted(t, keep(c.get("/members/x")), "logged in")
		keep(c.get("/auth/logout"))
		tampered := flip(c.cookie())
		wantDenied(t, keep(withCookie(t, tampered).get("/members/x")), "tampered cookie")
		wantDenied(t, keep(withCookie(t, tampered).getAPI("/members/x")), "tampered cookie, script")
		wantDenied(t, keep(withCookie(t, cookies[0]).getAPI("/members/x")), "retired cookie")
		if r := keep(c.logout()); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		wantDenied(t, keep(withCookie(t, cookies[1]).getAPI("/members/x")), "logged-out cookie")

		// An expired session.
		if r := keep(c.login("henry", regPassword, "/")); r.status != http.StatusSeeOther {
			t.Fatalf("login again: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		clockSkew.Store(int64(25 * time.Hour))
		wantDenied(t, keep(c.getAPI("/members/x")), "expired session")
		wantDenied(t, keep(c.get("/members/x")), "expired session, browser")
		clockSkew.Store(0)

		for _, p := range pages {
			for _, pw := range []string{regPassword, wrongPassword} {
				if containsSecretText(p.body, pw) {
					t.Fatalf("a page (%d) shows a password: %q", p.status, clip(p.body))
				}
			}
			if strings.Contains(p.body, testSecret) {
				t.Fatal("a page shows the secret")
			}
		}

		logText := readLog(t, logFile, "login failed")
		if !strings.Contains(logText, "login failed") {
			t.Fatal("the log never got the failed login; is it being written?")
		}
		secrets := map[string]string{
			"the secret":              testSecret,
			"the registered password": regPassword,
			"the wrong password":      wrongPassword,
			"a tampered cookie":       tampered,
		}
		for i, ck := range cookies {
			secrets[fmt.Sprintf("cookie %d", i)] = ck
			secrets[fmt.Sprintf("session id %d", i)] = sessionID(t, ck)
		}
		for what, s := range secrets {
			if s == "" {
				t.Fatalf("fixture: %s is empty", what)
			}
			if strings.Contains(logText, s) {
				for _, line := range strings.Split(logText, "\n") {
					if strings.Contains(line, s) {
						t.Errorf("the log contains %s:\n%s", what, line)
						break
					}
				}
			}
			// Also a URL- or JSON-escaped copy.
			if e := url.QueryEscape(s); e != s && strings.Contains(logText, e) {
				t.Errorf("the log contains %s, URL-escaped", what)
			}
		}
	})
}
