package sessionauth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// The account page: a user's own sessions (listed, ended one by one or all
// but this one) and the password change (DESIGN.md rule 16).

const (
	firefoxAgent = "Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0"
	iphoneAgent  = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"
)

// sessionRefs are the refs in the page's "log out this session" forms.
var sessionRefField = regexp.MustCompile(`name="session" value="([^"]*)"`)

func sessionRefs(body string) []string {
	var refs []string
	for _, m := range sessionRefField.FindAllStringSubmatch(body, -1) {
		refs = append(refs, m[1])
	}
	return refs
}

// account opens the account page, which must be there.
func (c *client) account() response {
	c.t.Helper()
	r := c.get("/auth/account")
	if r.status != http.StatusOK {
		c.t.Fatalf("GET /auth/account: %d %q", r.status, clip(r.body))
	}
	return r
}

// accountAction posts one of the account page's forms.
func (c *client) accountAction(form url.Values) response {
	c.t.Helper()
	return c.post("/auth/account", form)
}

// wantSessionNotFound asserts the answer to ending a session that is not
// the user's (any longer): 404, saying so, with the way back to the page.
func wantSessionNotFound(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusNotFound || !strings.Contains(r.body, "None of your sessions has that reference") || !strings.Contains(r.body, `href="/auth/account"`) {
		t.Fatalf("%s: %d; want 404 saying the session was not found, with a link to the account page:\n%s", what, r.status, clip(r.body))
	}
}

func wantSeeOther(t *testing.T, r response, location, what string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != location {
		t.Fatalf("%s: %d to %q; want 303 to %q (%q)", what, r.status, r.header.Get("Location"), location, clip(r.body))
	}
}

func TestAccountPageNeedsALogin(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	wantSeeOther(t, c.get("/auth/account"), "/auth/login?next=%2Fauth%2Faccount", "a browser without a session")
	if r := c.getAPI("/auth/account"); r.status != http.StatusUnauthorized {
		t.Fatalf("a script without a session: %d; want 401", r.status)
	}
	// A post from a browser that never had the page has no token for it.
	r := c.postWith("/auth/account", url.Values{"action": {"end-others"}, formTokenField: {"x"}}, formHeader())
	if r.status != http.StatusForbidden {
		t.Fatalf("an account post without the page's token: %d; want 403", r.status)
	}
	// A session that ended meanwhile: the post goes to the login page.
	c.register("alice", testPassword, "/")
	token := c.formToken("/auth/account")
	c.logout()
	r = c.post("/auth/account", url.Values{"action": {"end-others"}, formTokenField: {token}})
	wantSeeOther(t, r, "/auth/login?next=%2Fauth%2Faccount", "an account post after logout")
}

// TestAccountPageListsAndEndsOwnSessions: the page lists the user's own
// sessions, where each came from, this one marked and first, and never a
// session id; one can be ended by its ref, or all but this one; another
// user's ref ends nothing.
func TestAccountPageListsAndEndsOwnSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		here := newClient(t)
		here.agent = firefoxAgent
		if r := here.register("alice", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		phone := newClient(t)
		phone.agent = iphoneAgent
		phone.login("alice", testPassword, "/")
		bob, bobToo := newClient(t), newClient(t)
		bob.register("bob", testPassword, "/")
		bobToo.login("bob", testPassword, "/")

		r := here.account()
		if !strings.Contains(r.header.Get("Cache-Control"), "no-store") {
			t.Fatalf("account page Cache-Control %q; want no-store", r.header.Get("Cache-Control"))
		}
		if n := strings.Count(r.body, "<li>"); n != 2 {
			t.Fatalf("account page lists %d sessions; want alice's 2:\n%s", n, r.body)
		}
		first, second := strings.Index(r.body, "Firefox on Linux"), strings.Index(r.body, "Safari on iPhone")
		if first < 0 || second < first || !strings.Contains(r.body[first:second], "This device") {
			t.Fatalf("want this Firefox first and marked, then the iPhone:\n%s", r.body)
		}
		if !strings.Contains(r.body, "From 127.0.0.1") {
			t.Fatalf("want the client IP:\n%s", r.body)
		}
		for _, c := range []*client{here, phone, bob, bobToo} {
			if v := c.cookie(); strings.Contains(r.body, v) || strings.Contains(r.body, v[:20]) {
				t.Fatalf("the account page shows a session cookie")
			}
		}
		refs := sessionRefs(r.body)
		if len(refs) != 1 {
			t.Fatalf("want one form to end the other session, found refs %q", refs)
		}

		// Bob's other session, by its ref, is not alice's to end.
		bobsRefs := sessionRefs(bob.account().body)
		if len(bobsRefs) != 1 {
			t.Fatalf("bob's page: refs %q", bobsRefs)
		}
		for what, ref := range map[string]string{"alice ending bob's session": bobsRefs[0], "a made-up ref": "nonsense", "no ref": ""} {
			wantSessionNotFound(t, here.accountAction(url.Values{"action": {"end"}, "session": {ref}}), what)
		}
		wantGranted(t, bobToo.get("/members/x"), "bob's session after alice tried to end it")
		wantGranted(t, phone.get("/members/x"), "alice's phone after made-up refs")

		wantSeeOther(t, here.accountAction(url.Values{"action": {"end"}, "session": {refs[0]}}), "/auth/account?done=ended", "ending the phone's session")
		wantDenied(t, phone.get("/members/x"), "the phone after it was logged out from the account page")
		wantGranted(t, here.get("/members/x"), "this browser after ending the phone")
		if r := here.get("/auth/account?done=ended"); !strings.Contains(r.body, "That session is logged out.") || strings.Count(r.body, "<li>") != 1 {
			t.Fatalf("the page after ending: want the notice and one session:\n%s", r.body)
		}

		others := []*client{newClient(t), newClient(t)}
		for _, c := range others {
			c.login("alice", testPassword, "/")
		}
		wantSeeOther(t, here.accountAction(url.Values{"action": {"end-others"}}), "/auth/account?done=others", "log out everywhere else")
		for i, c := range others {
			wantDenied(t, c.get("/members/x"), "another session after log out everywhere else #"+string(rune('1'+i)))
		}
		wantGranted(t, here.get("/members/x"), "this browser after log out everywhere else")
		wantGranted(t, bob.get("/members/x"), "bob after alice logged out everywhere else")
		if r := here.account(); strings.Count(r.body, "<li>") != 1 {
			t.Fatalf("after log out everywhere else, want one session listed:\n%s", r.body)
		}
	})
}

// TestPasswordChangeEndsOtherSessionsAndRenewsThisOne (rule 16): the
// current password is required and the registration rules apply; a change
// ends every other session and gives this browser a new session id.
func TestPasswordChangeEndsOtherSessionsAndRenewsThisOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		here, other := newClient(t), newClient(t)
		here.register("alice", testPassword, "/")
		other.login("alice", testPassword, "/")
		const newPassword = "a brand new passphrase"
		change := func(current, password, confirm string) response {
			return here.accountAction(url.Values{"action": {"password"}, "current_password": {current}, "password": {password}, "password_confirm": {confirm}})
		}
		for _, tc := range []struct {
			name, current, password, confirm string
			status                           int
			says                             string
		}{
			{"wrong current password", "not the password", newPassword, newPassword, http.StatusUnauthorized, "Your current password is wrong."},
			{"too short", testPassword, "short", "short", http.StatusBadRequest, "at least 8"},
			{"repeated differently", testPassword, newPassword, newPassword + "!", http.StatusBadRequest, "The two new passwords are not the same."},
			{"over 72 bytes", testPassword, strings.Repeat("é", 40), strings.Repeat("é", 40), http.StatusBadRequest, "72"},
		} {
			r := change(tc.current, tc.password, tc.confirm)
			if r.status != tc.status || !strings.Contains(r.body, tc.says) {
				t.Fatalf("%s: %d; want %d saying %q:\n%s", tc.name, r.status, tc.status, tc.says, r.body)
			}
			if strings.Contains(r.body, tc.password) || strings.Contains(r.body, tc.current) {
				t.Fatalf("%s: the page sends a password back", tc.name)
			}
			wantGranted(t, other.get("/members/x"), tc.name+": the other session")
		}
		before := here.cookie()
		wantSeeOther(t, change(testPassword, newPassword, newPassword), "/auth/account?done=password", "the password change")
		after := here.cookie()
		if after == "" || after == before {
			t.Fatalf("this browser's session cookie after the change: %q; want a new one", after)
		}
		wantGranted(t, here.get("/members/x"), "this browser after the change")
		wantDenied(t, other.get("/members/x"), "the other session after the change")
		wantDenied(t, withCookie(t, before).get("/members/x"), "this browser's old cookie after the change")
		if r := here.get("/auth/account?done=password"); !strings.Contains(r.body, "Your password is changed.") {
			t.Fatalf("want the notice after the change:\n%s", r.body)
		}
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("login with the old password: %d; want 401", r.status)
		}
		if r := newClient(t).login("alice", newPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login with the new password: %d; want 303", r.status)
		}
	})
}

// TestWrongCurrentPasswordsLockTheAccount: whoever holds a session gets no
// more guesses at the password than a login form gives.
func TestWrongCurrentPasswordsLockTheAccount(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\taccount_limit 3 15m\n\t\tip_limit 100000 15m\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("alice", testPassword, "/")
	guess := func(current string) response {
		return c.accountAction(url.Values{"action": {"password"}, "current_password": {current}, "password": {"a brand new passphrase"}, "password_confirm": {"a brand new passphrase"}})
	}
	for i := range 3 {
		if r := guess("wrong guess"); r.status != http.StatusUnauthorized {
			t.Fatalf("guess %d: %d; want 401", i+1, r.status)
		}
	}
	r := guess(testPassword)
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "too many wrong passwords") {
		t.Fatalf("the right password after 3 wrong ones: %d; want 429 saying too many wrong passwords:\n%s", r.status, r.body)
	}
	if r := newClient(t).login("alice", "a brand new passphrase", "/"); r.status != http.StatusUnauthorized {
		t.Fatalf("the password must not have changed: login with the new one: %d", r.status)
	}
}

// TestCrossOriginPostsToAccountAndAdminPagesAreRefused (rule 8): the new
// state-changing forms refuse another origin like login does, even with
// the victim's valid form token and session.
func TestCrossOriginPostsToAccountAndAdminPagesAreRefused(t *testing.T) {
	ada, carl, cli, _ := adminSetup(t, fileBackend(), "closed")
	other := loggedIn(t, "ada")
	accountToken, adminToken := pageToken(t, ada.get("/auth/account")), pageToken(t, ada.get("/auth/admin"))
	for _, tc := range crossOriginHeaders() {
		r := ada.postWith("/auth/account", url.Values{"action": {"end-others"}, formTokenField: {accountToken}}, tc.hdr)
		wantRefusedCrossOrigin(t, r, tc.name+": account")
		wantGranted(t, other.get("/members/x"), tc.name+": ada's other session after a refused account post")
		r = ada.postWith("/auth/admin", url.Values{"action": {"disable"}, "user": {"carl"}, formTokenField: {adminToken}}, tc.hdr)
		wantRefusedCrossOrigin(t, r, tc.name+": admin")
		wantGranted(t, carl.get("/members/x"), tc.name+": carl after a refused admin post")
	}
	if out := cli("list"); strings.Contains(out, "disabled") {
		t.Fatalf("a refused admin post disabled an account: %q", out)
	}
}
