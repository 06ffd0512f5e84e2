package sessionauth

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
)

// The second-factor policy (second_factor off|optional|required [role...]),
// access rules that want a second factor, the JSON API's second step, the
// command that resets a lost device, and the audit lines of it all.

// enrolAtStep sets up an app on the setup page of a login step (the policy
// requires one) and returns its secret and the page the right code got.
func enrolAtStep(t *testing.T, c *client) (string, response) {
	t.Helper()
	secret := secretOf(t, c.get("/auth/second-factor"))
	freshStep()
	r := c.sendCode(codeAt(t, secret, 0))
	if r.status != http.StatusOK || len(recoveryCodesOf(r.body)) != factor.RecoveryCodes || sessionCookie(r) == nil {
		t.Fatalf("confirming the app at login: %d (session cookie %v); want 200 with the recovery codes and a session\n%s", r.status, sessionCookie(r) != nil, clip(r.body))
	}
	return secret, r
}

// addUser makes an account with the command line, as an operator would.
func addUser(t *testing.T, lines, user string, roles ...string) {
	t.Helper()
	args := []string{"--config", roleCLIConfig(t, lines), "add"}
	for _, role := range roles {
		args = append(args, "--role", role)
	}
	mustRunCLI(t, testPassword+"\n", append(args, user)...)
}

// TestRequiredSecondFactorIsSetUpBeforeAnythingElse: with second_factor
// required, a new account, and an account without a factor at its login,
// go from the password straight to the setup, and reach nothing else
// until the app is confirmed; the confirmation logs in and shows the
// recovery codes, with the way on to where the login was going.
func TestRequiredSecondFactorIsSetUpBeforeAnythingElse(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\tsecond_factor required\n\t\t"+unthrottled+"\n\t\t"+lines)
		c := newClient(t)
		r := c.register("alice", testPassword, "/members/x")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/second-factor" || sessionCookie(r) != nil || c.stepCookie() == "" {
			t.Fatalf("registration: %d to %q (session cookie %v); want 303 to the setup with a step, no session", r.status, r.header.Get("Location"), sessionCookie(r) != nil)
		}
		setup := c.get("/auth/second-factor")
		secret := secretOf(t, setup)
		if setup.status != http.StatusOK || !strings.Contains(setup.body, `<img class="qr" src="/auth/second-factor/qr.png"`) || !strings.Contains(setup.body, "This account needs a second factor") {
			t.Fatalf("the setup at login:\n%s", setup.body)
		}
		qr := c.get("/auth/second-factor/qr.png")
		if img, err := png.Decode(bytes.NewReader([]byte(qr.body))); qr.status != http.StatusOK || qr.header.Get("Content-Type") != "image/png" || qr.header.Get("Cache-Control") != "no-store" || err != nil || img.Bounds().Dx() != 200 {
			t.Fatalf("the setup's QR code: %d %q %v", qr.status, qr.header.Get("Content-Type"), err)
		}
		for _, path := range []string{"/members/x", "/members/factors.html"} {
			wantDenied(t, c.get(path), "before the setup, "+path)
			wantDenied(t, c.getAPI(path), "before the setup, by script, "+path)
		}
		for _, path := range []string{"/auth/account", "/auth/account/qr.png", "/auth/admin"} {
			if r := c.get(path); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login") {
				t.Fatalf("%s before the setup: %d %q; want 303 to the login page", path, r.status, r.header.Get("Location"))
			}
		}
		freshStep()
		r = c.sendCode(codeAt(t, secret, 60e9))
		if r.status != http.StatusUnauthorized || sessionCookie(r) != nil || secretOf(t, r) != secret {
			t.Fatalf("a wrong code at the setup: %d (session %v); want 401 and the same setup again", r.status, sessionCookie(r) != nil)
		}
		r = c.sendCode(codeAt(t, secret, 0))
		codes := recoveryCodesOf(r.body)
		if r.status != http.StatusOK || len(codes) != 10 || sessionCookie(r) == nil || !strings.Contains(r.body, `href="/members/x"`) {
			t.Fatalf("the right code at the setup: %d with %d codes (session %v); want 200, 10 recovery codes, a session and a link to /members/x\n%s", r.status, len(codes), sessionCookie(r) != nil, clip(r.body))
		}
		if got := c.factors(); got != "password,totp" || c.stepCookie() != "" {
			t.Fatalf("after the setup: factors %q, step cookie %q; want password,totp and no step", got, c.stepCookie())
		}
		if r := c.get("/auth/second-factor/qr.png"); r.status == http.StatusOK {
			t.Fatalf("the setup's QR code after the step: 200")
		}

		// The next login asks for a code; it does not set up again.
		d := newClient(t)
		d.passwordStep("alice", "/")
		if r := d.get("/auth/second-factor"); strings.Contains(r.body, `class="secret"`) || !strings.Contains(r.body, "Code from your authenticator app") {
			t.Fatalf("the next login's step shows a setup:\n%s", clip(r.body))
		}
		if r := d.get("/auth/second-factor/qr.png"); r.status != http.StatusNotFound {
			t.Fatalf("a QR code during a step that asks for a code: %d; want 404", r.status)
		}

		// An account made without a factor is sent to the setup at login.
		addUser(t, lines, "bob")
		e := newClient(t)
		e.passwordStep("bob", "/members/x")
		if r := e.get("/auth/second-factor"); r.status != http.StatusOK || !strings.Contains(r.body, `class="secret"`) {
			t.Fatalf("bob's login: %d; want the setup\n%s", r.status, clip(r.body))
		}
		wantDenied(t, e.get("/members/x"), "bob before the setup")
		enrolAtStep(t, e)
		wantGranted(t, e.get("/members/x"), "bob after the setup")
	})
}

// TestSecondFactorRequiredOnlyForTheNamedRoles: second_factor required ops
// asks a factor of ops only, whether the role came with the account
// (default_roles) or later (role add); a session whose login had the
// password alone stops counting as soon as its user gets the role.
func TestSecondFactorRequiredOnlyForTheNamedRoles(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\tsecond_factor required ops\n\t\t"+unthrottled+"\n\t\t"+lines)
		alice, bob := newClient(t), newClient(t)
		for name, c := range map[string]*client{"alice": alice, "bob": bob} {
			if r := c.register(name, testPassword, "/members/x"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" || c.factors() != "password" {
				t.Fatalf("%s without the role: registration %d to %q; want a session with the password alone", name, r.status, r.header.Get("Location"))
			}
		}
		if out := cliFor(t, lines)("role", "add", "alice", "ops"); !strings.Contains(out, "alice") {
			t.Fatalf("role add printed %q", out)
		}
		wantDenied(t, alice.get("/members/x"), "alice's password-only session once she is ops")
		if r, v := alice.api(http.MethodGet, "/auth/session", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("who is alice's session, once she is ops: %d %v; want 401", r.status, v)
		}
		if r := alice.get("/auth/account"); r.status != http.StatusSeeOther {
			t.Fatalf("alice's account page, once she is ops: %d; want 303 to the login page", r.status)
		}
		wantGranted(t, bob.get("/members/x"), "bob, without the role")
		c := newClient(t)
		c.passwordStep("alice", "/members/x")
		if r := c.get("/auth/second-factor"); !strings.Contains(r.body, `class="secret"`) {
			t.Fatalf("alice's login as ops: no setup\n%s", clip(r.body))
		}
		if r := newClient(t).login("bob", testPassword, "/members/x"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" || sessionCookie(r) == nil {
			t.Fatalf("bob's login: %d to %q; want a session with the password alone", r.status, r.header.Get("Location"))
		}

		site(t, "session_auth /members/*", "registration open\n\t\tdefault_roles ops\n\t\tsecond_factor required ops\n\t\t"+unthrottled+"\n\t\t"+lines)
		carol := newClient(t)
		if r := carol.register("carol", testPassword, "/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/second-factor" || sessionCookie(r) != nil {
			t.Fatalf("carol, ops by default_roles: registration %d to %q; want the setup first", r.status, r.header.Get("Location"))
		}
	})
}

// TestSecondFactorOffIgnoresAppsSetUp: with second_factor off, an account
// with an app logs in with the password alone, and the account page
// offers no second factor; the app is kept for when the policy returns.
func TestSecondFactorOffIgnoresAppsSetUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		registerEnrolled(t, "alice")

		site(t, "session_auth /members/*", "registration open\n\t\tsecond_factor off\n\t\t"+unthrottled+"\n\t\t"+lines)
		c := newClient(t)
		if r := c.login("alice", testPassword, "/members/x"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" || sessionCookie(r) == nil {
			t.Fatalf("login under second_factor off: %d to %q; want a session with the password alone", r.status, r.header.Get("Location"))
		}
		if got := c.factors(); got != "password" {
			t.Fatalf("factors under second_factor off: %q", got)
		}
		if r := c.get("/auth/account?setup=totp"); r.status != http.StatusOK || strings.Contains(r.body, "factors-heading") || strings.Contains(r.body, "authenticator") || strings.Contains(r.body, `class="secret"`) {
			t.Fatalf("the account page under second_factor off shows second factors:\n%s", clip(r.body))
		}
		if r := c.get("/auth/account/qr.png"); r.status != http.StatusNotFound {
			t.Fatalf("qr.png under second_factor off: %d; want 404", r.status)
		}
		if r := c.post("/auth/account", url.Values{"action": {"recovery-new"}}); r.status != http.StatusNotFound || len(recoveryCodesOf(r.body)) != 0 {
			t.Fatalf("new recovery codes under second_factor off: %d; want 404", r.status)
		}

		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		newClient(t).passwordStep("alice", "/")
	})
}

// TestRemovingTheAppNeedsThePasswordAndIsRefusedWhereRequired: a required
// factor cannot be removed; an optional one only with the right password,
// and wrong ones count toward the lock like any wrong password.
func TestRemovingTheAppNeedsThePasswordAndIsRefusedWhereRequired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "second_factor required\n\t\t"+lockOptions+"\n\t\t"+lines)
		c := newClient(t)
		c.register("alice", testPassword, "/")
		secret, _ := enrolAtStep(t, c)
		if r := c.get("/auth/account"); !strings.Contains(r.body, "so the last one cannot be removed") || strings.Contains(r.body, `value="totp-remove"`) {
			t.Fatalf("the account page where a factor is required:\n%s", clip(r.body))
		}
		r := c.post("/auth/account", url.Values{"action": {"totp-remove"}, "current_password": {testPassword}})
		if r.status != http.StatusConflict || !strings.Contains(errorText(r.body), "requires a second factor") {
			t.Fatalf("removing a required app: %d %q; want 409", r.status, errorText(r.body))
		}
		newClient(t).passwordStep("alice", "/")

		site(t, "session_auth /members/*", strings.Replace(lockOptions, "registration open", "registration closed", 1)+"\n\t\t"+lines)
		c = newClient(t)
		c.passwordStep("alice", "/")
		freshStep() // site set the clock back: three steps past the one used at the setup
		freshStep()
		freshStep()
		wantLoggedInWith(t, c, c.sendCode(codeAt(t, secret, 0)), "/", "password,totp", "alice's login")
		if r := c.get("/auth/account"); !strings.Contains(r.body, `value="totp-remove"`) {
			t.Fatalf("the account page where a factor is optional offers no removal:\n%s", clip(r.body))
		}
		for i := range 3 {
			r := c.post("/auth/account", url.Values{"action": {"totp-remove"}, "current_password": {"a wrong password"}})
			if r.status != http.StatusUnauthorized || errorText(r.body) == "" {
				t.Fatalf("removal with wrong password %d: %d %q; want 401 with an error", i+1, r.status, errorText(r.body))
			}
		}
		r = c.post("/auth/account", url.Values{"action": {"totp-remove"}, "current_password": {testPassword}})
		if r.status != http.StatusTooManyRequests {
			t.Fatalf("removal with the right password after three wrong ones: %d; want 429 (locked)", r.status)
		}
		newClient(t).passwordStep("alice", "/")

		advance(16 * 60e9) // past the lock
		r = c.post("/auth/account", url.Values{"action": {"totp-remove"}, "current_password": {testPassword}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/account?done=totp-removed" {
			t.Fatalf("removal with the right password: %d to %q", r.status, r.header.Get("Location"))
		}
		d := newClient(t)
		if r := d.login("alice", testPassword, "/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/" || d.factors() != "password" {
			t.Fatalf("login after the removal: %d to %q; want a session with the password alone", r.status, r.header.Get("Location"))
		}
	})
}

// TestAccessRuleWantsASecondFactor: allow ... second_factor refuses a
// session whose login used the password alone, with a page that says why,
// and lets it in once the app is set up on the account page.
func TestAccessRuleWantsASecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tdefault_roles staff\n\t\tallow /members/* role staff second_factor\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("alice", testPassword, "/")
		before := c.cookie()
		r := c.get("/members/x")
		if r.status != http.StatusForbidden || !strings.Contains(r.body, "A second factor is needed") || strings.Contains(r.body, "SECRET") {
			t.Fatalf("a password-only session on a page that wants a second factor: %d\n%s", r.status, clip(r.body))
		}
		if r := c.getAPI("/members/x"); r.status != http.StatusForbidden || strings.Contains(r.body, "SECRET") {
			t.Fatalf("the same, by script: %d; want 403", r.status)
		}
		enrol(t, c)
		wantGranted(t, c.get("/members/x"), "after the app was set up on the account page")
		if got := c.factors(); got != "password,totp" {
			t.Fatalf("factors after the setup: %q", got)
		}
		wantDenied(t, withCookie(t, before).get("/members/x"), "the session from before the setup")
	})
}

// TestAPIAsksForTheSecondFactor: the JSON API's login answers 202 with the
// step, and takes the code at /auth/session/second-factor; where a factor
// is required and none is set up, it sends the user to the login page.
func TestAPIAsksForTheSecondFactor(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		secret, _ := registerEnrolled(t, "alice")

		c := newClient(t)
		freshStep()
		r, v := c.api(http.MethodPost, "/auth/session", loginBody("alice", testPassword))
		if r.status != http.StatusAccepted || v["status"] != "second_factor_required" || sessionCookie(r) != nil || c.stepCookie() == "" {
			t.Fatalf("API login: %d %v (session cookie %v); want 202 second_factor_required with the step cookie", r.status, v, sessionCookie(r) != nil)
		}
		if r, _ := c.api(http.MethodGet, "/auth/session", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("who, during the step: %d; want 401", r.status)
		}
		r, v = c.api(http.MethodPost, "/auth/session/second-factor", `{"code":"000000"}`)
		wantAPIError(t, r, v, http.StatusUnauthorized, "invalid_code", "a wrong code")
		r, v = c.api(http.MethodPost, "/auth/session/second-factor", fmt.Sprintf(`{"code":%q}`, codeAt(t, secret, 0)))
		if r.status != http.StatusOK || v["user"] != "alice" || sessionCookie(r) == nil || c.stepCookie() != "" {
			t.Fatalf("the right code: %d %v; want 200 with alice's session", r.status, v)
		}
		if got := c.factors(); got != "password,totp" {
			t.Fatalf("factors: %q", got)
		}
		r, v = c.api(http.MethodPost, "/auth/session/second-factor", fmt.Sprintf(`{"code":%q}`, codeAt(t, secret, 30e9)))
		wantAPIError(t, r, v, http.StatusUnauthorized, "second_factor_expired", "a code without a step")

		site(t, "session_auth /members/*", "registration open\n\t\tsecond_factor required\n\t\t"+unthrottled+"\n\t\t"+lines)
		addUser(t, lines, "bob")
		d := newClient(t)
		r, v = d.api(http.MethodPost, "/auth/session", loginBody("bob", testPassword))
		wantAPIError(t, r, v, http.StatusForbidden, "second_factor_setup_required", "API login of an account that must set up a factor")
		if sessionCookie(r) != nil || d.stepCookie() != "" {
			t.Fatalf("the refused API login set a cookie")
		}
	})
}

// TestSecondFactorResetEndsSessionsAndRemovesTheApp: the command for a
// lost device ends the user's sessions and her login steps, removes the
// app and the recovery codes, and says what it did.
func TestSecondFactorResetEndsSessionsAndRemovesTheApp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		cli := cliFor(t, lines)
		config := roleCLIConfig(t, lines)
		c := newClient(t)
		c.register("alice", testPassword, "/")
		secret, _ := enrol(t, c)
		wantGranted(t, c.get("/members/x"), "before the reset")
		step := newClient(t)
		step.passwordStep("alice", "/")
		stepToken := step.formToken("/auth/second-factor")

		if out := cli("second-factor", "reset", "alice"); out != "Reset the second factors of alice and ended 1 session.\n" {
			t.Fatalf("second-factor reset printed %q", out)
		}
		wantDenied(t, c.get("/members/x"), "alice's session after the reset")
		freshStep()
		wantStepOver(t, step, step.sendCodeWith(stepToken, codeAt(t, secret, 0)), "a step begun before the reset")
		d := newClient(t)
		if r := d.login("alice", testPassword, "/members/x"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" || d.factors() != "password" {
			t.Fatalf("login after the reset: %d to %q; want a session with the password alone", r.status, r.header.Get("Location"))
		}
		if r := d.get("/auth/account"); !strings.Contains(r.body, "Only your password protects this account") {
			t.Fatalf("the account page after the reset shows a factor:\n%s", clip(r.body))
		}
		if out := cli("second-factor", "reset", "Alice"); out != "Nothing to do: alice has no second factor.\n" {
			t.Fatalf("a second reset printed %q", out)
		}
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"second-factor"}, "second-factor takes reset and a username"},
			{[]string{"second-factor", "alice"}, "second-factor takes reset and a username"},
			{[]string{"second-factor", "reset"}, "second-factor takes reset and a username"},
			{[]string{"second-factor", "reset", "alice", "bob"}, "second-factor takes reset and a username"},
			{[]string{"second-factor", "remove", "alice"}, "second-factor takes reset and a username"},
			{[]string{"second-factor", "reset", "nobody"}, "there is no user nobody"},
		} {
			wantCLIFailure(t, "", tc.want, append([]string{"--config", config}, tc.args...)...)
		}
	})
}

// TestSecondFactorAuditLines: the audit log tells of the factor asked,
// set up, a wrong code and each login's factors, and holds neither the
// secret nor a code.
func TestSecondFactorAuditLines(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("alice", testPassword, "/")
		secret, codes := enrol(t, c)
		c.logout()
		c = newClient(t)
		freshStep()
		c.passwordStep("alice", "/")
		wrong := codeAt(t, secret, 90e9)
		wantWrongCode(t, c, c.sendCode(wrong), "a wrong code")
		used := codeAt(t, secret, 0)
		wantLoggedInWith(t, c, c.sendCode(used), "/", "password,totp", "the right code")
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantLoggedInWith(t, c, c.sendCode(codes[0]), "/", "password,recovery", "a recovery code")

		log := readLog(t, logFile, `"factors":"password,recovery"`)
		var got []string
		for _, e := range auditEvents(t, logFile) {
			line := fmt.Sprint(e["event"])
			for _, k := range []string{"factor", "factors", "reason", "recovery_codes_left"} {
				if v, ok := e[k]; ok {
					line += fmt.Sprintf(" %s=%v", k, v)
				}
			}
			if e["event"] != "register" && e["event"] != "logout" {
				got = append(got, line)
			}
		}
		want := []string{
			"second_factor_added factor=totp",
			"second_factor_asked",
			"login_failed reason=wrong_code",
			"login factors=password,totp",
			"second_factor_asked",
			"login factors=password,recovery recovery_codes_left=9",
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for what, s := range map[string]string{
			"the secret": secret, "the secret in groups": groupsOfFour(secret), "the secret in lower case": strings.ToLower(secret),
			"the code used": `"` + used + `"`, "the wrong code": `"` + wrong + `"`,
			"the recovery code used": codes[0], "the recovery code without dashes": strings.ReplaceAll(codes[0], "-", ""),
			"another recovery code": codes[5],
		} {
			if strings.Contains(log, s) {
				t.Errorf("the log holds %s", what)
			}
		}
		for _, e := range auditEvents(t, logFile) {
			for _, k := range []string{"code", "secret", "codes"} {
				if _, ok := e[k]; ok {
					t.Errorf("audit line %v has a %q field", e, k)
				}
			}
		}
	})
}
