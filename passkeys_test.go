package sessionauth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey/passkeytest"
)

// Passkeys over HTTP, with a software authenticator (passkeytest) in
// place of the browser's: registration on the account page, the second
// step, and the login without a password.

// passkeyOptions posts to an options address with the form token of the
// page whose script would call it, and returns the options JSON.
func (c *client) passkeyOptions(optionsPath, page string, form url.Values) string {
	c.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	form.Set(formTokenField, c.formToken(page))
	r := c.post(optionsPath, form)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" || r.header.Get("Cache-Control") != "no-store" {
		c.t.Fatalf("POST %s: %d %s %q", optionsPath, r.status, r.header.Get("Content-Type"), clip(r.body))
	}
	return r.body
}

// addPasskey registers a passkey of auth on the account page.
func (c *client) addPasskey(auth *passkeytest.Authenticator, name string, passwordless bool) response {
	c.t.Helper()
	form := url.Values{}
	if passwordless {
		form.Set("passwordless", "1")
	}
	options := c.passkeyOptions("/auth/account/passkey", "/auth/account", form)
	answer, err := auth.Create([]byte(options))
	if err != nil {
		c.t.Fatalf("the authenticator refused the registration: %v", err)
	}
	return c.post("/auth/account", url.Values{"action": {"passkey-add"}, "credential": {string(answer)}, "passkey_name": {name}, "current_password": {testPassword}})
}

// wantRecoveryCodes asserts the page that shows an account's first
// recovery codes, and returns them.
func wantRecoveryCodes(t *testing.T, r response, what string) []string {
	t.Helper()
	var codes []string
	for _, m := range recoveryCodeItem.FindAllStringSubmatch(r.body, -1) {
		codes = append(codes, m[1])
	}
	if r.status != http.StatusOK || len(codes) != 10 {
		t.Fatalf("%s: %d with %d recovery codes; want 200 and 10 (%q)", what, r.status, len(codes), clip(r.body))
	}
	return codes
}

var recoveryCodeItem = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)

func TestPasskeysRegisterProveTheSecondStepAndLogInAlone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("alice", testPassword, "/")
		auth := passkeytest.New(baseURL)

		// A borrowed session cannot add one without the password.
		options := c.passkeyOptions("/auth/account/passkey", "/auth/account", url.Values{"passwordless": {"1"}})
		stolen, err := passkeytest.New(baseURL).Create([]byte(options))
		if err != nil {
			t.Fatal(err)
		}
		if r := c.post("/auth/account", url.Values{"action": {"passkey-add"}, "credential": {string(stolen)}, "current_password": {"not the password"}}); r.status != http.StatusUnauthorized {
			t.Fatalf("adding a passkey with a wrong password: %d; want 401", r.status)
		}
		elsewhere := newClient(t)
		elsewhere.login("alice", testPassword, "/")
		wantRecoveryCodes(t, c.addPasskey(auth, "laptop\x00 with  a long\tname", true), "the first passkey")
		wantDenied(t, elsewhere.get("/members/x"), "another session of alice once her first passkey was added")
		if page := c.account(); !strings.Contains(page.body, "laptop with a long name") || !strings.Contains(page.body, "Logs in without a password") {
			t.Fatalf("the account page does not list the passkey: %q", clip(page.body))
		}
		if got := c.factors(); got != "password,passkey" {
			t.Fatalf("after registering a passkey the session's factors are %q; want password,passkey", got)
		}
		// A registration answers once: the same answer again adds nothing.
		options = c.passkeyOptions("/auth/account/passkey", "/auth/account", nil)
		other := passkeytest.New(baseURL)
		answer, err := other.Create([]byte(options))
		if err != nil {
			t.Fatal(err)
		}
		wantSeeOther(t, c.post("/auth/account", url.Values{"action": {"passkey-add"}, "credential": {string(answer)}, "current_password": {testPassword}}), "/auth/account?done=passkey", "a second passkey")
		if r := c.post("/auth/account", url.Values{"action": {"passkey-add"}, "credential": {string(answer)}, "current_password": {testPassword}}); r.status != http.StatusBadRequest {
			t.Fatalf("the same registration answer twice: %d; want 400", r.status)
		}

		// The second step with a passkey.
		c.logout()
		wantSeeOther(t, c.login("alice", testPassword, "/members/x"), "/auth/second-factor", "the password of an account with passkeys")
		wantDenied(t, c.get("/members/x"), "during the second step")
		options = c.passkeyOptions("/auth/second-factor/passkey", "/auth/second-factor", nil)
		answer, err = auth.Get([]byte(options))
		if err != nil {
			t.Fatal(err)
		}
		wantSeeOther(t, c.post("/auth/second-factor", url.Values{"credential": {string(answer)}}), "/members/x", "a passkey at the second step")
		if got := c.factors(); got != "password,passkey" {
			t.Fatalf("factors after the second step: %q", got)
		}
		// The answer was for that challenge only.
		c.logout()
		c.login("alice", testPassword, "/")
		c.passkeyOptions("/auth/second-factor/passkey", "/auth/second-factor", nil)
		if r := c.post("/auth/second-factor", url.Values{"credential": {string(answer)}}); r.status != http.StatusUnauthorized || c.cookie() != "" {
			t.Fatalf("a replayed passkey answer: %d, session %v; want 401 and none", r.status, c.cookie() != "")
		}

		// Without a password.
		c = newClient(t)
		options = c.passkeyOptions("/auth/login/passkey", "/auth/login", url.Values{"next": {"/members/secret.txt"}})
		answer, err = auth.Get([]byte(options))
		if err != nil {
			t.Fatal(err)
		}
		wantSeeOther(t, c.post("/auth/login", url.Values{"credential": {string(answer)}}), "/members/secret.txt", "a passkey at the login page")
		if got := c.factors(); got != "passkey" {
			t.Fatalf("factors of a passwordless login: %q", got)
		}
		// Replayed, the answer logs nobody in.
		d := newClient(t)
		d.passkeyOptions("/auth/login/passkey", "/auth/login", nil)
		if r := d.post("/auth/login", url.Values{"credential": {string(answer)}}); r.status != http.StatusUnauthorized || d.cookie() != "" {
			t.Fatalf("a replayed passwordless answer: %d; want 401 and no session", r.status)
		}
		// A passkey registered for the second step only does not log in alone.
		other.Use = other.IDs()[0]
		d = newClient(t)
		options = d.passkeyOptions("/auth/login/passkey", "/auth/login", nil)
		if answer, err = other.Get([]byte(options)); err != nil {
			t.Fatal(err)
		}
		if r := d.post("/auth/login", url.Values{"credential": {string(answer)}}); r.status != http.StatusUnauthorized || d.cookie() != "" {
			t.Fatalf("a second-step passkey at the login page: %d; want 401 and no session", r.status)
		}
		// A copied authenticator (its count gone back) is refused.
		auth.SetSignCount(auth.IDs()[0], 0)
		d = newClient(t)
		options = d.passkeyOptions("/auth/login/passkey", "/auth/login", nil)
		if answer, err = auth.Get([]byte(options)); err != nil {
			t.Fatal(err)
		}
		if r := d.post("/auth/login", url.Values{"credential": {string(answer)}}); r.status != http.StatusUnauthorized || d.cookie() != "" {
			t.Fatalf("a passkey whose sign count went back: %d; want 401 and no session", r.status)
		}
	})
}

// TestPasskeyRemovalNeedsThePassword: removing a passkey takes the
// password; once the last factor is gone, the login asks for the password
// only.
func TestPasskeyRemovalNeedsThePassword(t *testing.T) {
	lines := "registration open\n\t\t" + unthrottled + "\n\t\t" + fileBackend().lines(t)
	site(t, "session_auth /members/*", lines)
	c := newClient(t)
	c.register("alice", testPassword, "/")
	auth := passkeytest.New(baseURL)
	wantRecoveryCodes(t, c.addPasskey(auth, "key", false), "the first passkey")
	id := passkeyField.FindStringSubmatch(c.account().body)
	if id == nil {
		t.Fatal("no passkey on the account page")
	}
	// A session opened with the password alone (while the site asked for
	// no second factor) cannot change the factors, even with the password.
	site(t, "session_auth /members/*", lines+"\n\t\tsecond_factor off")
	old := newClient(t)
	wantSeeOther(t, old.login("alice", testPassword, "/"), "/", "a login while second factors are off")
	site(t, "session_auth /members/*", lines)
	for _, form := range []url.Values{
		{"action": {"passkey-remove"}, "passkey": {id[1]}, "current_password": {testPassword}},
		{"action": {"recovery-new"}, "current_password": {testPassword}},
	} {
		if r := old.post("/auth/account", form); r.status != http.StatusForbidden {
			t.Fatalf("%s from a password-only session: %d; want 403", form.Get("action"), r.status)
		}
	}
	if r := old.get("/auth/account?setup=totp"); r.status != http.StatusForbidden {
		t.Fatalf("setting up an app from a password-only session: %d; want 403", r.status)
	}
	if r := c.post("/auth/account", url.Values{"action": {"passkey-remove"}, "passkey": {id[1]}, "current_password": {"wrong password here"}}); r.status != http.StatusUnauthorized {
		t.Fatalf("removing with a wrong password: %d; want 401", r.status)
	}
	if !strings.Contains(c.account().body, id[1]) {
		t.Fatal("the passkey went with a wrong password")
	}
	wantSeeOther(t, c.post("/auth/account", url.Values{"action": {"passkey-remove"}, "passkey": {id[1]}, "current_password": {testPassword}}), "/auth/account?done=passkey-removed", "removing with the password")
	c.logout()
	wantSeeOther(t, c.login("alice", testPassword, "/members/x"), "/members/x", "a login after the last passkey went")
}

var passkeyField = regexp.MustCompile(`name="passkey" value="([^"]+)"`)

// TestCrossOriginPostsToTheSecondFactorAreRefused (rule 8): the second
// step, and the three passkey starts, refuse another origin even with the
// page's valid form token, and the step survives such a post.
func TestCrossOriginPostsToTheSecondFactorAreRefused(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("alice", testPassword, "/")
	accountToken := c.formToken("/auth/account")
	for _, tc := range crossOriginHeaders() {
		wantRefusedCrossOrigin(t, c.postWith("/auth/account/passkey", url.Values{formTokenField: {accountToken}}, tc.hdr), tc.name+": passkey registration start")
	}
	wantRecoveryCodes(t, c.addPasskey(passkeytest.New(baseURL), "key", false), "the first passkey")
	c.logout()
	wantSeeOther(t, c.login("alice", testPassword, "/"), "/auth/second-factor", "the password of an account with a passkey")
	stepToken, loginToken := c.formToken("/auth/second-factor"), c.formToken("/auth/login")
	for _, tc := range crossOriginHeaders() {
		wantRefusedCrossOrigin(t, c.postWith("/auth/second-factor", url.Values{"code": {"123456"}, formTokenField: {stepToken}}, tc.hdr), tc.name+": second step")
		wantRefusedCrossOrigin(t, c.postWith("/auth/second-factor/passkey", url.Values{formTokenField: {stepToken}}, tc.hdr), tc.name+": second step passkey start")
		wantRefusedCrossOrigin(t, c.postWith("/auth/login/passkey", url.Values{formTokenField: {loginToken}}, tc.hdr), tc.name+": passwordless start")
	}
	if r := c.get("/auth/second-factor"); r.status != http.StatusOK {
		t.Fatalf("the step after refused cross-origin posts: %d; want its page", r.status)
	}
}
