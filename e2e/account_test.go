package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Agents the tests give their second browser or client, so the account
// page has something to tell the sessions apart by.
const (
	firefoxOnMac   = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0"
	safariOnIPhone = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// Selectors of the account page's buttons, by the action each form sends.
const (
	changePasswordButton = `form:has(input[name=action][value=password]) button[type=submit]`
	endOthersButton      = `form:has(input[name=action][value=end-others]) button[type=submit]`
	endThatSessionButton = `ul.sessions > li:not(:has(.tag)) form:has(input[name=action][value=end]) button[type=submit]`
)

// userAgent makes the browser send (and show pages) ua instead of its own.
func (b *browser) userAgent(ua string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
		b.t.Fatalf("setting the user agent: %v", err)
	}
}

// logInWith fills the login form the browser shows and sends it.
func (b *browser) logInWith(user, password string) {
	b.t.Helper()
	b.fill("#username", user)
	b.fill("#password", password)
	b.click(`button[type=submit]`)
}

// clickStatus clicks an element that sends a form and returns the HTTP
// status of the page it leads to.
func (b *browser) clickStatus(sel string) int64 {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	resp, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
	if err != nil || resp == nil {
		b.t.Fatalf("clicking %s: %v (the page is at %s)", sel, err, b.location())
	}
	return resp.Status
}

// listedSession is one entry of the account page's list of sessions.
type listedSession struct {
	Text    string `json:"text"`
	Current bool   `json:"current"`
}

// sessionsListed reads the sessions the account page lists.
func (b *browser) sessionsListed() []listedSession {
	b.t.Helper()
	return browserValue(b, "reading the sessions listed", chromedp.Evaluate[[]listedSession](
		`[...document.querySelectorAll("ul.sessions > li")].map(li => ({
			text: li.innerText.replace(/\s+/g, " ").trim(),
			current: [...li.querySelectorAll(".tag")].some(t => t.innerText.trim() === "This device"),
		}))`))
}

// wantSessions asserts that the account page lists n sessions, exactly
// one of them marked as this device, which the browser with agent summary
// this names; others names what each of the others must show.
func (b *browser) wantSessions(what, this string, others ...string) {
	b.t.Helper()
	list := b.sessionsListed()
	if len(list) != 1+len(others) {
		b.t.Fatalf("%s: the account page lists %d sessions, want %d: %+v", what, len(list), 1+len(others), list)
	}
	current := 0
	for _, s := range list {
		if s.Current {
			current++
			if !strings.HasPrefix(s.Text, this+" This device") {
				b.t.Fatalf("%s: the session marked \"This device\" is %q, want this browser's (%s)", what, s.Text, this)
			}
		}
	}
	if current != 1 {
		b.t.Fatalf("%s: %d sessions are marked \"This device\", want exactly one: %+v", what, current, list)
	}
	for _, want := range others {
		found := false
		for _, s := range list {
			found = found || (!s.Current && strings.HasPrefix(s.Text, want+" ") && strings.Contains(s.Text, "Log out this session"))
		}
		if !found {
			b.t.Fatalf("%s: no other session of %s with its own logout button is listed: %+v", what, want, list)
		}
	}
	if many := len(list) > 1; b.visible(endOthersButton) != many {
		b.t.Fatalf("%s: \"Log out everywhere else\" shown = %v, want %v", what, !many, many)
	}
}

// wantNotice asserts that the page shows notice.
func (b *browser) wantNotice(notice, what string) {
	b.t.Helper()
	if text := strings.Join(strings.Fields(b.text()), " "); !strings.Contains(text, notice) {
		b.t.Fatalf("%s: the page should say %q: %q", what, notice, clip(text))
	}
}

// wantLoggedOut asserts that the browser, reloading the protected page it
// shows, is sent to log in and never sees the content.
func (b *browser) wantLoggedOut(what string) {
	b.t.Helper()
	b.open("/members/x")
	b.wantSecret(false, what)
	b.wantAt("/auth/login?next=%2Fmembers%2Fx", what)
}

// changePassword fills the account page's password form and sends it.
func (b *browser) changePassword(current, password, confirm string) {
	b.t.Helper()
	b.fill("#current_password", current)
	b.fill("#password", password)
	b.fill("#password_confirm", confirm)
	b.click(changePasswordButton)
}

// axeClean fails the test on any axe-core violation on the page, of
// whatever impact.
func (b *browser) axeClean(src, page string) {
	b.t.Helper()
	found := b.runAxe(src, page)
	for _, v := range found {
		out, _ := json.MarshalIndent(v, "", "  ")
		b.t.Errorf("axe-core, %s: %s", page, out)
	}
	b.t.Logf("axe-core, %s: %d violations", page, len(found))
}

// agentTransport sends every request with a browser's User-Agent.
type agentTransport struct{ agent string }

func (a agentTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("User-Agent", a.agent)
	return http.DefaultTransport.RoundTrip(r)
}

// newClientAs is a client that says it is the browser agent names, so the
// account page lists its session as that browser's.
func newClientAs(t *testing.T, agent string) *client {
	c := newClient(t)
	c.hc.Transport = agentTransport{agent}
	return c
}

// logIn logs the client in and fails the test unless it worked.
func (c *client) logIn(user, password string) {
	c.t.Helper()
	if r := c.post("/auth/login", url.Values{"username": {user}, "password": {password}}); r.status != http.StatusSeeOther {
		c.t.Fatalf("logging %s in: want 303, got %d %q", user, r.status, clip(r.body))
	}
}

// accountStore opens the accounts that a backend's Caddyfile lines keep,
// as `caddy session-auth` does: the users file, or the realm's keys in
// Redis (the plugin's keyPrefix: "session_auth:" + realm + ":").
func accountStore(t *testing.T, lines, realm string) users.Store {
	t.Helper()
	if m := regexp.MustCompile(`users_file (\S+)`).FindStringSubmatch(lines); m != nil {
		return users.NewFileStore(m[1])
	}
	if strings.HasPrefix(lines, "redis ") {
		pool := testRedis.Pool(0)
		t.Cleanup(func() { pool.Close() })
		return users.NewRedisStore(pool, "session_auth:"+realm+":")
	}
	t.Fatalf("no accounts in the backend lines %q", lines)
	return nil
}

// approve lets a pending account log in, as `caddy session-auth approve`
// does, after checking that registration stored it pending.
func approve(t *testing.T, store users.Store, user string) {
	t.Helper()
	ctx := context.Background()
	acct, err := store.Get(ctx, user)
	if err != nil {
		t.Fatalf("reading %s from the store: %v", user, err)
	}
	if !acct.Pending || acct.CanLogIn() {
		t.Fatalf("registration under approval stored %s able to log in: %+v", user, acct)
	}
	if err := store.Update(ctx, user, func(a *users.Account) error { a.Pending = false; return nil }); err != nil {
		t.Fatalf("approving %s: %v", user, err)
	}
}

// TestBrowserChangesPasswordAndEndsAnotherSession walks two real browsers
// logged in as one user through the account page: it lists both sessions
// and marks the one it is looking from; logging the other one out there
// sends that browser to the login page at its next request. A password
// change made with the form ends every other session (rule 16), keeps the
// browser that made it logged in with a new session, and from then on
// only the new password logs in. "Log out everywhere else" ends the
// others and keeps this one.
func TestBrowserChangesPasswordAndEndsAnotherSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const user = "traveller"
		const newPassword = "a new and longer one"
		site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example Members\"\n\t\t"+be.lines(t))
		a := newBrowser(t, true)
		b := newBrowser(t, true)
		b.userAgent(firefoxOnMac)

		a.open("/auth/register?next=%2Fmembers%2Fx")
		a.fill("#username", user)
		a.fill("#password", testPassword)
		a.fill("#password_confirm", testPassword)
		a.click(`button[type=submit]`)
		a.wantAt("/members/x", "A, after registering")
		a.wantSecret(true, "A, after registering")

		b.open("/members/x")
		b.logInWith(user, testPassword)
		b.wantAt("/members/x", "B, after logging in")
		b.wantSecret(true, "B, after logging in")

		// Ending B's session from A's account page.
		a.open("/auth/account")
		a.wantAt("/auth/account", "A, the account page")
		a.wantSessions("A's account page with B logged in", "Chrome on Linux", "Firefox on macOS")
		a.click(endThatSessionButton) // the only other session: B's, as wantSessions found
		a.wantAt("/auth/account?done=ended", "A, after logging B's session out")
		a.wantNotice("That session is logged out.", "A, after logging B's session out")
		a.wantSessions("A's account page after logging B out", "Chrome on Linux")
		b.reload()
		b.wantSecret(false, "B reloading the protected page after A logged its session out")
		b.wantAt("/auth/login?next=%2Fmembers%2Fx", "B reloading the protected page after A logged its session out")
		a.open("/members/x")
		a.wantSecret(true, "A, after logging B's session out")

		// The password changed in A's form ends B's session and A's old one.
		b.logInWith(user, testPassword)
		b.wantAt("/members/x", "B, logging in again")
		b.wantSecret(true, "B, logging in again")
		a.open("/auth/account")
		a.wantSessions("A's account page with B logged in again", "Chrome on Linux", "Firefox on macOS")
		before := a.sessionCookie()
		if before == nil {
			t.Fatal("A has no session cookie before changing the password")
		}
		a.changePassword(testPassword, newPassword, newPassword)
		a.wantAt("/auth/account?done=password", "A, after changing the password")
		a.wantNotice("Your password is changed.", "A, after changing the password")
		a.wantSessions("A's account page after changing the password", "Chrome on Linux")
		if after := a.sessionCookie(); after == nil || after.Value == before.Value {
			t.Fatalf("changing the password must give A a new session: before %q, after %+v", before.Value, after)
		}
		old := newClient(t)
		old.hc.Jar.SetCookies(&url.URL{Scheme: "http", Host: strings.TrimPrefix(baseURL, "http://")},
			[]*http.Cookie{{Name: before.Name, Value: before.Value, Path: "/"}})
		if r := old.get("/members/x"); strings.Contains(r.body, "SECRET") || r.status != http.StatusSeeOther {
			t.Fatalf("A's cookie from before the password change still opens the protected page: %d %q", r.status, clip(r.body))
		}
		a.open("/members/x")
		a.wantSecret(true, "A, after changing the password")
		b.wantLoggedOut("B, after A changed the password")

		b.logInWith(user, testPassword)
		b.wantSecret(false, "B logging in with the old password")
		b.wantNotice(loginFailed, "B logging in with the old password")
		b.wantLoggedOut("B, after the old password was refused")
		b.logInWith(user, newPassword)
		b.wantAt("/members/x", "B logging in with the new password")
		b.wantSecret(true, "B logging in with the new password")

		// "Log out everywhere else" ends B's session and keeps A's.
		a.open("/auth/account")
		a.wantSessions("A's account page with B logged in with the new password", "Chrome on Linux", "Firefox on macOS")
		a.click(endOthersButton)
		a.wantAt("/auth/account?done=others", "A, after logging out everywhere else")
		a.wantNotice("Your other sessions are logged out.", "A, after logging out everywhere else")
		a.wantSessions("A's account page after logging out everywhere else", "Chrome on Linux")
		b.wantLoggedOut("B, after A logged out everywhere else")
		a.open("/members/x")
		a.wantSecret(true, "A, after logging out everywhere else")
	})
}

// TestBrowserApprovalFlow walks a real browser through registration that
// waits for approval: registering says so and logs nobody in; the right
// password says so too (a wrong one gets the usual failure, so nothing is
// learnt without the password); once the account is approved in the
// store, as the CLI does it, the same login opens the protected page.
func TestBrowserApprovalFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const realm, user = "approval-e2e", "newcomer"
		lines := be.lines(t)
		site(t, "session_auth /members/*", "registration approval\n\t\trealm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
		b := newBrowser(t, true)

		b.open("/members/x")
		b.wantAt("/auth/login?next=%2Fmembers%2Fx", "a protected page without a session")
		b.click(`a[href^="/auth/register"]`)
		b.wantAt("/auth/register?next=%2Fmembers%2Fx", "the link to registration")
		b.fill("#username", user)
		b.fill("#password", testPassword)
		b.fill("#password_confirm", testPassword)
		if status := b.clickStatus(`button[type=submit]`); status != http.StatusAccepted {
			t.Fatalf("registering under approval: status %d, want 202", status)
		}
		b.wantNotice("Your account is created and waits for approval.", "after registering")
		b.wantSecret(false, "after registering")
		if c := b.sessionCookie(); c != nil {
			t.Fatalf("registering under approval must not log in: session cookie %+v", c)
		}
		b.wantLoggedOut("the protected page after registering")

		b.fill("#username", user)
		b.fill("#password", "not the password")
		b.click(`button[type=submit]`)
		b.wantNotice(loginFailed, "a wrong password for a pending account")
		if strings.Contains(b.text(), "approval") {
			t.Fatalf("a wrong password must not learn that the account waits for approval: %q", clip(b.text()))
		}

		b.wantLoggedOut("before logging in while pending")
		b.fill("#username", user)
		b.fill("#password", testPassword)
		if status := b.clickStatus(`button[type=submit]`); status != http.StatusForbidden {
			t.Fatalf("logging in to a pending account: status %d, want 403", status)
		}
		b.wantNotice("Your account waits for approval.", "logging in while pending")
		b.wantSecret(false, "logging in while pending")
		if c := b.sessionCookie(); c != nil {
			t.Fatalf("logging in to a pending account must not make a session: cookie %+v", c)
		}
		b.wantLoggedOut("the protected page after logging in while pending")

		approve(t, accountStore(t, lines, realm), user)
		b.logInWith(user, testPassword)
		b.wantAt("/members/x", "logging in once approved")
		b.wantSecret(true, "logging in once approved")
	})
}

// TestAccountPagesPassAxe checks the account page (two sessions listed, a
// notice, each error of the password form) and the "waits for approval"
// pages with axe-core, light and dark: none may have any violation.
func TestAccountPagesPassAxe(t *testing.T) {
	src := axeSource(t)
	const realm, user = "axe-account", "checker"
	lines := fileBackend().lines(t)
	site(t, "session_auth /members/*", "registration approval\n\t\trealm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
	b := newBrowser(t, true)
	for _, name := range []string{user, "waiting"} {
		b.open("/auth/register")
		b.fill("#username", name)
		b.fill("#password", testPassword)
		b.fill("#password_confirm", testPassword)
		if status := b.clickStatus(`button[type=submit]`); status != http.StatusAccepted {
			t.Fatalf("registering %s under approval: status %d, want 202", name, status)
		}
	}
	approve(t, accountStore(t, lines, realm), user)
	newClientAs(t, safariOnIPhone).logIn(user, testPassword)

	tooLong := strings.Repeat("x", users.MaxPasswordBytes+1)
	registered := 0
	pages := []struct {
		name string
		load func()
	}{
		{"registered, waits for approval", func() {
			registered++
			b.open("/auth/register")
			b.fill("#username", fmt.Sprintf("waiting%d", registered))
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword)
			b.click(`button[type=submit]`)
			b.wantNotice("waits for approval", "registering")
		}},
		{"login, waits for approval", func() {
			b.open("/auth/login")
			b.logInWith("waiting", testPassword)
			b.wantNotice("Your account waits for approval.", "logging in while pending")
		}},
		{"account, two sessions", func() {
			if b.sessionCookie() == nil {
				b.open("/auth/login")
				b.logInWith(user, testPassword)
			}
			b.open("/auth/account")
			b.wantSessions("the account page", "Chrome on Linux", "Safari on iPhone")
		}},
		{"account, with a notice", func() {
			b.open("/auth/account?done=ended")
			b.wantNotice("That session is logged out.", "the account page with a notice")
		}},
		{"account, new password too long", func() {
			b.open("/auth/account")
			b.changePassword(testPassword, tooLong, tooLong)
			if v, _ := b.attr("#password", "aria-invalid"); v != "true" {
				t.Fatalf("a password over 72 bytes must mark the new password field invalid: %q", clip(b.text()))
			}
		}},
		{"account, new passwords differ", func() {
			b.open("/auth/account")
			b.changePassword(testPassword, testPassword+"!", testPassword+"?")
			if v, _ := b.attr("#password_confirm", "aria-invalid"); v != "true" {
				t.Fatalf("differing new passwords must mark the repeat field invalid: %q", clip(b.text()))
			}
		}},
		{"account, wrong current password", func() {
			b.open("/auth/account")
			b.changePassword("not the password", testPassword+"!", testPassword+"!")
			if v, _ := b.attr("#current_password", "aria-invalid"); v != "true" {
				t.Fatalf("a wrong current password must mark its field invalid: %q", clip(b.text()))
			}
			b.wantNotice("Your current password is wrong.", "a wrong current password")
		}},
	}
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		for _, p := range pages {
			p.load()
			b.axeClean(src, p.name+", "+scheme)
		}
	}
}
