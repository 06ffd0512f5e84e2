package sessionauth

import (
	"crypto/sha256"
	"encoding/hex"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// One-time links (DESIGN.md rule 17): invitations and password resets are
// random, stored hashed (internal/onetime's tests), single use, expiring,
// and never logged.

// linkSite loads the test site with an access log of its own, and returns
// the server's log and the access log, to search for tokens.
func linkSite(t *testing.T, options string) (serverLog, accessLog string) {
	t.Helper()
	clockSkew.Store(0)
	t.Cleanup(func() { clockSkew.Store(0) })
	dir := t.TempDir()
	serverLog, accessLog = filepath.Join(dir, "caddy.log"), filepath.Join(dir, "access.log")
	config := strings.Replace(siteConfig(serverLog, "session_auth /members/*", options),
		"http://localhost:9080 {\n", "http://localhost:9080 {\n\tlog {\n\t\toutput file "+accessLog+"\n\t}\n", 1)
	loadCaddyfile(t, config)
	return serverLog, accessLog
}

var linkLine = regexp.MustCompile(`(?m)^(/auth/(?:register\?invite|reset\?token)=([A-Za-z0-9_-]+))$`)

// linkFrom finds the link a link command printed: its path and token.
func linkFrom(t *testing.T, out string) (path, token string) {
	t.Helper()
	m := linkLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no link in the command's answer %q", out)
	}
	return m[1], m[2]
}

// pageToken is the form token of a page already fetched.
func pageToken(t *testing.T, r response) string {
	t.Helper()
	m := tokenField.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no form token in the page (%d)", r.status)
	}
	return html.UnescapeString(m[1])
}

// wantTokenNowhere checks that neither the token nor its hash reached a log.
func wantTokenNowhere(t *testing.T, token string, logs ...string) {
	t.Helper()
	sum := sha256.Sum256([]byte(token))
	for _, file := range logs {
		data, err := os.ReadFile(file)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if strings.Contains(string(data), token) || strings.Contains(string(data), hex.EncodeToString(sum[:])) {
			t.Fatalf("%s holds the link's token", filepath.Base(file))
		}
	}
}

func TestInviteLinkRegistersOnceWithItsRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := "registration invite\n\t\t" + b.lines(t)
		serverLog, accessLog := linkSite(t, unthrottled+"\n\t\t"+lines)
		cli := cliFor(t, lines)
		c := newClient(t)
		if r := c.get("/auth/register"); r.status != http.StatusNotFound || !strings.Contains(r.body, "needs an invitation") {
			t.Fatalf("register without an invitation: %d; want 404 saying it needs one:\n%s", r.status, r.body)
		}
		if r := c.get("/auth/login"); strings.Contains(r.body, "/auth/register") {
			t.Fatalf("the login page offers registration under invite:\n%s", r.body)
		}
		path, token := linkFrom(t, cli("invite", "--role", "staff"))
		r := c.get(path)
		if r.status != http.StatusOK || !strings.Contains(r.body, `name="invite" value="`+token+`"`) || r.header.Get("Referrer-Policy") != "origin" {
			t.Fatalf("the invitation page: %d, Referrer-Policy %q; want the form carrying the token, and only the origin as Referer:\n%s", r.status, r.header.Get("Referrer-Policy"), r.body)
		}
		c.get("/auth/style.css") // as the page would, Referer and all

		form := url.Values{"username": {"dora"}, "password": {testPassword}, "password_confirm": {testPassword}, "next": {"/members/x"}, "invite": {token}, formTokenField: {pageToken(t, r)}}
		if r := c.post("/auth/register", form); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" {
			t.Fatalf("registering with the invitation: %d %q; want 303 to /members/x:\n%s", r.status, r.header.Get("Location"), r.body)
		}
		wantGranted(t, c.get("/members/x"), "dora after registering with the invitation")
		if out := cli("list"); !strings.Contains(out, "dora\t") || !strings.Contains(out, "\tstaff") {
			t.Fatalf("list: %q; want dora with the role staff", out)
		}
		again := newClient(t)
		if r := again.get(path); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
			t.Fatalf("the invitation a second time: %d; want 404 not valid:\n%s", r.status, r.body)
		}
		form.Set("username", "erin")
		if r := c.post("/auth/register", form); r.status != http.StatusNotFound {
			t.Fatalf("registering with a used invitation: %d; want 404", r.status)
		}
		wantTokenNowhere(t, token, serverLog, accessLog)
	})
}

func TestInviteLinkSurvivesATakenNameAndExpires(t *testing.T) {
	lines := "registration invite\n\t\t" + fileBackend().lines(t)
	linkSite(t, unthrottled+"\n\t\t"+lines)
	cli := cliFor(t, lines)
	firstPath, first := linkFrom(t, cli("invite"))
	c := newClient(t)
	csrf := pageToken(t, c.get(firstPath)) // this browser's register form token serves every post below
	register := func(name, token string) response {
		return c.post("/auth/register", url.Values{"username": {name}, "password": {testPassword}, "password_confirm": {testPassword}, "invite": {token}, formTokenField: {csrf}})
	}
	if r := register("fay", first); r.status != http.StatusSeeOther {
		t.Fatalf("first registration: %d", r.status)
	}
	_, second := linkFrom(t, cli("invite"))
	if r := register("fay", second); r.status != http.StatusConflict || !strings.Contains(r.body, `name="invite" value="`+second+`"`) {
		t.Fatalf("a taken name with an invitation: %d; want 409 with the form, still carrying the invitation:\n%s", r.status, r.body)
	}
	if r := register("gus", second); r.status != http.StatusSeeOther {
		t.Fatalf("the same invitation after the taken name: %d; want it still usable (303)", r.status)
	}
	path, third := linkFrom(t, cli("invite", "--expires", "5m"))
	advance(6 * time.Minute)
	if r := newClient(t).get(path); r.status != http.StatusGone || !strings.Contains(r.body, "expired") {
		t.Fatalf("an expired invitation: %d; want 410 saying it expired:\n%s", r.status, r.body)
	}
	if r := register("hal", third); r.status != http.StatusGone {
		t.Fatalf("registering with an expired invitation: %d; want 410", r.status)
	}
	if _, code, err := runCLI(t, "", "--config", roleCLIConfig(t, "registration open\n\t\t"+fileBackend().lines(t)), "invite"); code == 0 || err == nil || !strings.Contains(err.Error(), "registration invite") {
		t.Fatalf("invite where registration is open: exit %d, %v; want a refusal naming registration invite", code, err)
	}
}

func TestResetLinkSetsThePasswordOnceEndsSessionsAndUnlocks(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := "registration open\n\t\taccount_limit 3 15m\n\t\tip_limit 100000 15m\n\t\t" + b.lines(t)
		serverLog, accessLog := linkSite(t, "bcrypt_cost 10\n\t\t"+lines)
		cli := cliFor(t, lines)
		here, there := newClient(t), newClient(t)
		here.register("alice", testPassword, "/")
		there.login("alice", testPassword, "/")
		for range 3 {
			newClient(t).login("alice", "wrong guess", "/") // a stranger locks the account
		}
		path, token := linkFrom(t, cli("reset-link", "alice"))
		r := here.get(path)
		if r.status != http.StatusOK || !strings.Contains(r.body, "<strong>alice</strong>") || r.header.Get("Referrer-Policy") != "origin" {
			t.Fatalf("the reset page: %d, Referrer-Policy %q:\n%s", r.status, r.header.Get("Referrer-Policy"), r.body)
		}
		const newPassword = "a brand new passphrase"
		form := url.Values{"token": {token}, "password": {newPassword}, "password_confirm": {newPassword + "!"}, formTokenField: {pageToken(t, r)}}
		if r := here.post("/auth/reset", form); r.status != http.StatusBadRequest {
			t.Fatalf("reset with passwords that differ: %d; want 400", r.status)
		}
		form.Set("password_confirm", newPassword)
		wantSeeOther(t, here.post("/auth/reset", form), "/auth/login?reset=1", "the reset")
		wantDenied(t, here.get("/members/x"), "a session from before the reset")
		wantDenied(t, there.get("/members/x"), "another session from before the reset")
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("the old password after the reset: %d", r.status)
		}
		fresh := newClient(t)
		if r := fresh.login("alice", newPassword, "/members/x"); r.status != http.StatusSeeOther {
			t.Fatalf("the new password from a fresh browser (the lock must be lifted): %d", r.status)
		}
		if r := newClient(t).get(path); r.status != http.StatusNotFound {
			t.Fatalf("the reset link a second time: %d; want 404", r.status)
		}
		if r := here.post("/auth/reset", form); r.status != http.StatusNotFound {
			t.Fatalf("posting a used reset link: %d; want 404", r.status)
		}
		// A link dies with any password change made before it is used.
		path2, _ := linkFrom(t, cli("reset-link", "alice"))
		if out, code, err := runCLI(t, "a third passphrase here\n", "--config", roleCLIConfig(t, lines), "password", "alice"); code != 0 || err != nil {
			t.Fatalf("password: %q, %d, %v", out, code, err)
		}
		if r := newClient(t).get(path2); r.status != http.StatusNotFound {
			t.Fatalf("a reset link after a password change: %d; want 404", r.status)
		}
		wantTokenNowhere(t, token, serverLog, accessLog)
	})
}
