package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The second factor in a real browser: an authenticator app set up from
// the account page and at login, codes that work once, recovery codes,
// passkeys through Chromium's virtual authenticator, and the pages'
// accessibility.

// sfRealm is the realm of these tests' sites, so that the tests can read
// the accounts the site keeps in Redis.
const sfRealm = "second-factor"

// Selectors of the second-factor pages.
const (
	// The code form's button: on the setup page, on the code prompt (beside
	// the passkey form's), and on the account page's setup.
	continueButton     = `form:not([data-passkey]) button[type=submit]`
	setupAppLink       = `a.button[href$="/account?setup=totp"]`
	addPasskeyForm     = `form[data-passkey=register]`
	addPasskeyButton   = `form[data-passkey=register] button[type=submit]`
	usePasskeyForm     = `form[data-passkey=login]`
	usePasskeyButton   = `form[data-passkey=login] button[type=submit]`
	passkeyLoginForm   = `form[data-passkey=discoverable]`
	passkeyLoginButton = `form[data-passkey=discoverable] button[type=submit]`
	newRecoveryButton  = `form:has(input[name=action][value=recovery-new]) button[type=submit]`
	// What the plugin says to a wrong code at the prompt, and to a wrong
	// code while setting an app up.
	wrongCodeText  = "That code is not right, or was used already. Wait for the app's next code, or type a recovery code."
	wrongSetupText = "That code is not right. Type the code the app shows now."
)

// siteShowingFactors is site() with one more protected address,
// /members/factors, that answers with the factors the session's login
// used ({http.auth.user.factors}).
func siteShowingFactors(t *testing.T, directive, options string) {
	t.Helper()
	if !strings.Contains(options, "bcrypt_cost") {
		options = "bcrypt_cost 10\n\t\t" + options
	}
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	loadCaddyfile(t, fmt.Sprintf(`{
	%s
	log {
		output file %s
		level DEBUG
	}
}

%s {
	root * %s
	%s {
		%s
	}
	respond /members/factors "factors: {http.auth.user.factors}"
	file_server
}
`, globalOptions(), logFile, baseURL, siteDir, directive, options))
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if log, err := os.ReadFile(logFile); err == nil {
			const tail = 4000
			t.Logf("the end of Caddy's log:\n%s", log[max(0, len(log)-tail):])
		}
	})
}

// wantFactors opens /members/factors and asserts the factors the
// session's login used.
func (b *browser) wantFactors(want, what string) {
	b.t.Helper()
	b.open("/members/factors")
	b.wantAt("/members/factors", what)
	if got := strings.TrimSpace(b.text()); got != "factors: "+want {
		b.t.Fatalf("%s: the session's factors read %q, want %q", what, got, "factors: "+want)
	}
}

// logOut logs out with the logout page's button.
func (b *browser) logOut() {
	b.t.Helper()
	b.open("/auth/logout")
	b.click(`button[type=submit]`)
	b.wantAt("/auth/login?logged_out=1", "after logging out")
}

// typeCode types a code into the page's code field and sends it; it
// returns the HTTP status of the page it leads to.
func (b *browser) typeCode(code string) int64 {
	b.t.Helper()
	b.fill("#code", code)
	if b.visible("#current_password") {
		// The account page's setup also wants the password.
		b.fill("#current_password", testPassword)
	}
	return b.clickStatus(continueButton)
}

// shownSecret is the authenticator app's secret the setup page shows,
// without its spaces.
func (b *browser) shownSecret() string {
	b.t.Helper()
	s := browserValue(b, "reading the secret", chromedp.Evaluate[string](`(document.querySelector("code.secret") || {}).textContent || ""`))
	s = strings.ReplaceAll(s, " ", "")
	if !regexp.MustCompile(`^[A-Z2-7]{32}$`).MatchString(s) {
		b.t.Fatalf("the setup page should show a 160-bit base32 secret: %q (page: %q)", s, clip(b.text()))
	}
	return s
}

// wantQR asserts that the setup page's QR code image loaded: a PNG of
// 200×200 pixels that the page's own address served.
func (b *browser) wantQR(what string) {
	b.t.Helper()
	width := browserValue(b, "loading the QR code", chromedp.Evaluate[int64](`new Promise(done => {
		const img = document.querySelector("img.qr");
		if (!img) return done(-1);
		const seen = () => done(img.naturalWidth);
		if (img.complete) return seen();
		img.addEventListener("load", seen);
		img.addEventListener("error", seen);
	})`, chromedp.EvalAwaitPromise))
	if width != 200 {
		b.t.Fatalf("%s: the QR code's natural width is %d, want 200 (an image that loaded)", what, width)
	}
}

// codeAt is the authenticator app's code for the time step of at.
func codeAt(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	code, err := factor.Code(secret, at)
	if err != nil {
		t.Fatalf("making a code: %v", err)
	}
	return code
}

// wrongCodeFor is six digits that are none of the codes the app makes
// around now.
func wrongCodeFor(t *testing.T, secret string) string {
	t.Helper()
	var near []string
	for d := -2; d <= 2; d++ {
		near = append(near, codeAt(t, secret, time.Now().Add(time.Duration(d)*30*time.Second)))
	}
	n, _ := strconv.Atoi(near[2])
	for {
		n = (n + 123457) % 1000000
		if c := fmt.Sprintf("%06d", n); !slices.Contains(near, c) {
			return c
		}
	}
}

// recoveryCodes reads the codes the recovery codes page lists.
func (b *browser) recoveryCodes() []string {
	b.t.Helper()
	return browserValue(b, "reading the recovery codes", chromedp.Evaluate[[]string](`[...document.querySelectorAll("ul.codes li")].map(li => li.innerText.trim())`))
}

// setUpApp sets up an authenticator app from the account page of the
// logged-in browser and returns its secret and recovery codes.
func (b *browser) setUpApp() (secret string, codes []string) {
	b.t.Helper()
	b.open("/auth/account")
	b.click(setupAppLink)
	b.wantAt("/auth/account?setup=totp", "the link to set up an app")
	b.wantQR("the account's setup page")
	secret = b.shownSecret()
	if status := b.typeCode(codeAt(b.t, secret, time.Now())); status != http.StatusOK {
		b.t.Fatalf("confirming the app: status %d, want 200: %q", status, clip(b.text()))
	}
	codes = b.recoveryCodes()
	if len(codes) != 10 {
		b.t.Fatalf("the recovery codes page lists %d codes, want 10: %q", len(codes), clip(b.text()))
	}
	b.click(`a.button`)
	b.wantAt("/auth/account?done=totp", "after saving the recovery codes")
	return secret, codes
}

// addAuthenticator gives the browser's tab a virtual platform
// authenticator that holds discoverable credentials, verifies its user
// and needs no touch.
func (b *browser) addAuthenticator() webauthn.AuthenticatorID {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, webauthn.Enable, webauthn.EnableParams{}); err != nil {
		b.t.Fatalf("enabling WebAuthn in the browser: %v", err)
	}
	res, err := chromedp.Call(b.ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
		Protocol:                    webauthn.AuthenticatorProtocolCtap2,
		Ctap2version:                webauthn.Ctap2versionCtap21,
		Transport:                   webauthn.AuthenticatorTransportInternal,
		HasResidentKey:              true,
		HasUserVerification:         true,
		IsUserVerified:              true,
		AutomaticPresenceSimulation: true,
	}})
	if err != nil {
		b.t.Fatalf("adding a virtual authenticator: %v", err)
	}
	return res.AuthenticatorID
}

// credentials are what the virtual authenticator holds.
func (b *browser) credentials(id webauthn.AuthenticatorID) []*webauthn.Credential {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: id})
	if err != nil {
		b.t.Fatalf("reading the authenticator's credentials: %v", err)
	}
	return res.Credentials
}

// addPasskey registers a passkey from the account page of the logged-in
// browser.
func (b *browser) addPasskey(name string, passwordless bool) {
	b.t.Helper()
	b.open("/auth/account")
	if !b.visible(addPasskeyForm) {
		b.t.Fatalf("the account page's passkey form is hidden in a browser with WebAuthn: %q", clip(b.text()))
	}
	b.fill("#passkey_name", name)
	b.fill("#passkey_add_password", testPassword)
	if passwordless {
		b.tick("#passwordless")
	}
	b.click(addPasskeyButton)
	if codes := b.recoveryCodes(); len(codes) > 0 {
		// The account's first second factor comes with recovery codes.
		if len(codes) != 10 {
			b.t.Fatalf("the first passkey's recovery codes: %d listed, want 10", len(codes))
		}
		b.click(`a.button`)
	}
	b.wantAt("/auth/account?done=passkey", "after adding the passkey "+name)
	b.wantNotice("Your passkey is registered.", "after adding the passkey "+name)
}

// passkeysListed reads the passkeys the account page lists: name, and
// whether it is marked as logging in without a password.
func (b *browser) passkeysListed() map[string]bool {
	b.t.Helper()
	list := browserValue(b, "reading the passkeys listed", chromedp.Evaluate[[][2]string](
		`[...document.querySelectorAll("section[aria-labelledby=factors-heading] ul.sessions > li")].map(li => [
			li.querySelector(".what strong").innerText.trim(),
			[...li.querySelectorAll(".tag")].map(t => t.innerText.trim()).join(","),
		])`))
	out := map[string]bool{}
	for _, p := range list {
		out[p[0]] = p[1] == "Logs in without a password"
	}
	return out
}

// account reads an account from the store, as the CLI would.
func account(t *testing.T, store users.Store, user string) users.Account {
	t.Helper()
	acct, err := store.Get(context.Background(), user)
	if err != nil {
		t.Fatalf("reading %s from the store: %v", user, err)
	}
	return acct
}

// wantNoSession asserts that the browser holds no session cookie.
func (b *browser) wantNoSession(what string) {
	b.t.Helper()
	if c := b.sessionCookie(); c != nil {
		b.t.Fatalf("%s: the browser holds a session cookie %+v, want none", what, c)
	}
}

// TestBrowserSetsUpAnAuthenticatorAppAndLogsInWithIt walks a real browser
// through an authenticator app: set up from the account page (the QR code
// loads, the secret is shown; a wrong code sets nothing up; the right one
// does, and shows ten recovery codes once); then a login asks for a code
// after the password, and until it is typed the browser has no session and
// reaches nothing protected; a code works once; a recovery code logs in
// once. The session records which factors its login used.
func TestBrowserSetsUpAnAuthenticatorAppAndLogsInWithIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const user = "appuser"
		lines := be.lines(t)
		siteShowingFactors(t, "session_auth /members/*", "registration open\n\t\trealm "+sfRealm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
		newClient(t).register(user, testPassword, "/")
		store := accountStore(t, lines, sfRealm)
		b := newBrowser(t, true)

		b.open("/members/factors")
		b.logInWith(user, testPassword)
		b.wantFactors("password", "logged in with the password alone")

		// Setting up: a wrong code sets nothing up.
		b.open("/auth/account")
		b.wantNotice("Only your password protects this account.", "the account page without a second factor")
		b.click(setupAppLink)
		b.wantAt("/auth/account?setup=totp", "the link to set up an app")
		b.wantQR("the account's setup page")
		secret := b.shownSecret()
		if status := b.typeCode(wrongCodeFor(t, secret)); status != http.StatusBadRequest {
			t.Fatalf("a wrong code while setting up: status %d, want 400", status)
		}
		b.wantNotice(wrongSetupText, "a wrong code while setting up")
		if v, _ := b.attr("#code", "aria-invalid"); v != "true" {
			t.Fatalf("a wrong code must mark the code field invalid")
		}
		if acct := account(t, store, user); acct.TOTP != nil || acct.HasSecondFactor() || len(acct.Recovery) != 0 {
			t.Fatalf("a wrong code set something up: %+v", acct.TOTP)
		}
		b.open("/auth/account")
		if !b.visible(setupAppLink) {
			t.Fatalf("after a wrong code the account page should still offer to set up an app: %q", clip(b.text()))
		}
		b.open("/members/x")
		b.wantSecret(true, "still logged in after a wrong setup code")

		// The right code sets it up and shows ten recovery codes.
		b.open("/auth/account?setup=totp")
		if again := b.shownSecret(); again != secret {
			t.Fatalf("the setup page showed another secret the second time: %q, then %q", secret, again)
		}
		if status := b.typeCode(codeAt(t, secret, time.Now())); status != http.StatusOK {
			t.Fatalf("the right code while setting up: status %d, want 200", status)
		}
		codes := b.recoveryCodes()
		if len(codes) != 10 || len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
			t.Fatalf("the recovery codes page should list 10 different codes: %q", codes)
		}
		for _, c := range codes {
			if !regexp.MustCompile(`^[a-z2-7]{4}(-[a-z2-7]{4}){3}$`).MatchString(c) {
				t.Fatalf("a recovery code reads %q", c)
			}
		}
		b.click(`a.button`)
		b.wantAt("/auth/account?done=totp", "after saving the recovery codes")
		b.wantNotice("Your authenticator app is set up.", "after setting up the app")
		b.wantNotice("Recovery codes left: 10", "after setting up the app")
		if acct := account(t, store, user); acct.TOTP == nil || acct.TOTPEnrolment != "" || len(acct.Recovery) != 10 {
			t.Fatalf("the app is not set up in the store: %+v", acct)
		}
		b.wantFactors("password,totp", "the session after typing the app's first code")

		// The login asks for the code; until then nothing is reachable.
		b.logOut()
		b.open("/members/x")
		b.logInWith(user, testPassword)
		b.wantAt("/auth/second-factor", "after the password of an account with an app")
		b.wantNotice("Your password is right. Now confirm it is you, "+user+".", "the code prompt")
		b.wantNoSession("at the code prompt")
		if b.visible(usePasskeyForm) {
			t.Fatal("the code prompt offers a passkey to an account that has none")
		}
		for _, path := range []string{"/members/x", "/members/factors"} {
			b.open(path)
			b.wantSecret(false, "a protected page at the code prompt")
			b.wantAt("/auth/login?next="+strings.ReplaceAll(path, "/", "%2F"), "a protected page at the code prompt")
		}
		b.open("/auth/account")
		if !strings.HasPrefix(b.location(), "/auth/login") {
			t.Fatalf("the account page at the code prompt: the browser is at %s, want the login page", b.location())
		}
		b.open("/members/x")
		b.logInWith(user, testPassword)
		b.wantAt("/auth/second-factor", "logging in again")
		// The code of the next time step: the setup used this one's.
		code := codeAt(t, secret, time.Now().Add(30*time.Second))
		b.typeCode(code)
		b.wantAt("/members/x", "after the code")
		b.wantSecret(true, "after the code")
		b.wantFactors("password,totp", "logged in with the app")

		// The same code again is refused.
		b.logOut()
		b.open("/members/x")
		b.logInWith(user, testPassword)
		b.wantAt("/auth/second-factor", "the next login")
		if status := b.typeCode(code); status != http.StatusUnauthorized {
			t.Fatalf("a code used before: status %d, want 401", status)
		}
		b.wantNotice(wrongCodeText, "a code used before")
		b.wantAt("/auth/second-factor", "a code used before")
		b.wantNoSession("after a code used before")
		b.open("/members/x")
		b.wantSecret(false, "after a code used before")

		// A recovery code logs in, once.
		b.open("/auth/second-factor")
		b.typeCode(strings.ToUpper(codes[3]))
		b.wantAt("/members/x", "after a recovery code")
		b.wantSecret(true, "after a recovery code")
		b.wantFactors("password,recovery", "logged in with a recovery code")
		b.open("/auth/account")
		b.wantNotice("Recovery codes left: 9", "after using a recovery code")
		b.logOut()
		b.open("/members/x")
		b.logInWith(user, testPassword)
		if status := b.typeCode(codes[3]); status != http.StatusUnauthorized {
			t.Fatalf("a recovery code used before: status %d, want 401", status)
		}
		b.wantNotice(wrongCodeText, "a recovery code used before")
		b.wantNoSession("after a recovery code used before")
		b.typeCode(codes[4])
		b.wantAt("/members/x", "after another recovery code")
		b.wantSecret(true, "after another recovery code")
	})
}

// TestBrowserRequiredSecondFactorSendsToSetup walks a real browser through
// `second_factor required`: right after the password (of a registration,
// or a login) the browser is on the setup page, with no session, and every
// protected page sends it to log in; setting the app up shows the recovery
// codes and then goes on to the page first asked for.
func TestBrowserRequiredSecondFactorSendsToSetup(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const user = "mustenrol"
		lines := be.lines(t)
		siteShowingFactors(t, "session_auth /members/*", "registration open\n\t\trealm "+sfRealm+"\n\t\tsecond_factor required\n\t\ttitle \"Example Members\"\n\t\t"+lines)
		store := accountStore(t, lines, sfRealm)
		b := newBrowser(t, true)

		// Registering: the new account's first stop is the setup.
		b.open("/auth/register?next=%2Fmembers%2Fx")
		b.fill("#username", user)
		b.fill("#password", testPassword)
		b.fill("#password_confirm", testPassword)
		b.click(`button[type=submit]`)
		b.wantAt("/auth/second-factor", "after registering")
		b.wantNotice("This account needs a second factor. Set up an authenticator app now to finish logging in.", "after registering")
		b.wantQR("the setup page after registering")
		b.shownSecret()
		b.wantNoSession("on the setup page after registering")
		b.open("/members/x")
		b.wantSecret(false, "a protected page on the way to the setup")
		b.wantAt("/auth/login?next=%2Fmembers%2Fx", "a protected page on the way to the setup")

		// Logging in: the same.
		b.logInWith(user, testPassword)
		b.wantAt("/auth/second-factor", "after the password")
		if h := browserValue(b, "the heading", chromedp.Evaluate[string](`document.querySelector("h1").innerText`)); h != "Set up an authenticator app" {
			t.Fatalf("after the password the page's heading is %q, want the setup", h)
		}
		b.wantQR("the setup page at login")
		secret := b.shownSecret()
		b.wantNoSession("on the setup page")
		for _, path := range []string{"/members/x", "/members/factors", "/auth/account"} {
			b.open(path)
			b.wantSecret(false, "a protected page during the setup")
			if !strings.HasPrefix(b.location(), "/auth/login?next=") {
				t.Fatalf("%s during the setup: the browser is at %s, want the login page", path, b.location())
			}
		}
		if acct := account(t, store, user); acct.HasSecondFactor() {
			t.Fatalf("nothing is set up yet, but the store says %+v", acct.TOTP)
		}

		b.open("/auth/second-factor")
		if again := b.shownSecret(); again != secret {
			t.Fatalf("the setup page showed another secret the second time: %q, then %q", secret, again)
		}
		if status := b.typeCode(wrongCodeFor(t, secret)); status != http.StatusUnauthorized {
			t.Fatalf("a wrong code while setting up at login: status %d, want 401", status)
		}
		b.wantNotice(wrongSetupText, "a wrong code while setting up at login")
		b.wantNoSession("after a wrong code at the setup")
		if status := b.typeCode(codeAt(t, secret, time.Now())); status != http.StatusOK {
			t.Fatalf("the right code at the setup: status %d, want 200", status)
		}
		if codes := b.recoveryCodes(); len(codes) != 10 {
			t.Fatalf("the recovery codes page lists %d codes, want 10: %q", len(codes), clip(b.text()))
		}
		b.click(`a.button`)
		b.wantAt("/members/x", "after saving the recovery codes: the page first asked for")
		b.wantSecret(true, "after setting up at login")
		b.wantFactors("password,totp", "the session of the setup at login")
		if acct := account(t, store, user); acct.TOTP == nil {
			t.Fatal("the store has no app after the setup")
		}
	})
}

// TestBrowserPasskeys walks a real browser with Chromium's virtual
// authenticator through passkeys: the account page offers one (only to a
// browser with WebAuthn); one registered to log in without a password is
// listed so, is the second step after a password, and logs in alone from
// the login page. One registered without that choice cannot log in
// without a password, even from an authenticator that offers it, but is a
// second factor. Without page scripts the passkey buttons stay hidden.
func TestBrowserPasskeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		lines := be.lines(t)
		siteShowingFactors(t, "session_auth /members/*", "registration open\n\t\trealm "+sfRealm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
		store := accountStore(t, lines, sfRealm)

		// A passkey that logs in without a password.
		const user = "keyholder"
		newClient(t).register(user, testPassword, "/")
		b := newBrowser(t, true)
		b.addAuthenticator()
		b.open("/auth/login?next=%2Fmembers%2Ffactors")
		b.logInWith(user, testPassword)
		b.wantFactors("password", "logged in with the password")
		b.addPasskey("laptop", true)
		if listed := b.passkeysListed(); len(listed) != 1 || !listed["laptop"] {
			t.Fatalf("the account page should list the passkey laptop as logging in without a password: %v", listed)
		}
		if acct := account(t, store, user); len(acct.Passkeys) != 1 || !acct.Passkeys[0].Passwordless || acct.Passkeys[0].Name != "laptop" {
			t.Fatalf("the store's passkeys: %+v", acct.Passkeys)
		}
		b.wantFactors("password,passkey", "the session that registered the passkey")
		// The authenticator holds a passkey for this account already: a
		// second one from it is refused, and says why.
		b.open("/auth/account")
		b.fill("#passkey_name", "again")
		b.fill("#passkey_add_password", testPassword)
		b.tick(addPasskeyButton)
		b.step("waiting for the passkey error", chromedp.WaitVisible(chromedp.CSS(addPasskeyForm+" [data-passkey-error]")))
		b.wantNotice("This device already holds a passkey for this account.", "a second passkey from the same authenticator")
		b.wantAt("/auth/account", "a second passkey from the same authenticator")
		if acct := account(t, store, user); len(acct.Passkeys) != 1 {
			t.Fatalf("a second passkey from the same authenticator: the store holds %d", len(acct.Passkeys))
		}

		b.logOut()
		b.open("/members/factors")
		b.logInWith(user, testPassword)
		b.wantAt("/auth/second-factor", "after the password of an account with a passkey")
		b.wantNoSession("at the second step")
		if !b.visible(usePasskeyButton) {
			t.Fatalf("the second step of an account with a passkey should offer it: %q", clip(b.text()))
		}
		b.click(usePasskeyButton)
		b.wantAt("/members/factors", "after the passkey at the second step")
		b.wantFactors("password,passkey", "logged in with the password and the passkey")

		b.logOut()
		b.open("/auth/login?next=%2Fmembers%2Ffactors")
		if !b.visible(passkeyLoginButton) {
			t.Fatalf("the login page should offer a passkey: %q", clip(b.text()))
		}
		b.click(passkeyLoginButton)
		b.wantAt("/members/factors", "after logging in with the passkey alone")
		b.wantFactors("passkey", "logged in with the passkey alone")
		b.open("/auth/account")
		b.wantNotice("You are logged in as "+user+".", "the account page after a passkey login")

		// A passkey for the second step only.
		const other = "stepper"
		newClient(t).register(other, testPassword, "/")
		c := newBrowser(t, true)
		auth := c.addAuthenticator()
		c.open("/auth/login")
		c.logInWith(other, testPassword)
		c.addPasskey("phone", false)
		if listed := c.passkeysListed(); len(listed) != 1 || listed["phone"] {
			t.Fatalf("the account page should list the passkey phone as not logging in without a password: %v", listed)
		}
		acct := account(t, store, other)
		if len(acct.Passkeys) != 1 || acct.Passkeys[0].Passwordless {
			t.Fatalf("the store's passkeys: %+v", acct.Passkeys)
		}
		// However the authenticator keeps it, make it one that offers
		// itself to a login without a password, as a lost or lying
		// authenticator may: the site must still refuse it there.
		creds := c.credentials(auth)
		if len(creds) != 1 {
			t.Fatalf("the authenticator holds %d credentials, want 1", len(creds))
		}
		cred := creds[0]
		t.Logf("the authenticator keeps the second-step passkey as a discoverable credential: %v", cred.IsResidentCredential)
		if !cred.IsResidentCredential {
			if _, err := chromedp.Call(c.ctx, webauthn.RemoveCredential, webauthn.RemoveCredentialParams{AuthenticatorID: auth, CredentialID: cred.CredentialID}); err != nil {
				t.Fatalf("removing the credential: %v", err)
			}
			// The command's own Credential type always sends fields of
			// extensions this authenticator refuses: only these.
			type credential struct {
				CredentialID         []byte  `json:"credentialId"`
				IsResidentCredential bool    `json:"isResidentCredential"`
				RpID                 string  `json:"rpId"`
				PrivateKey           []byte  `json:"privateKey"`
				UserHandle           []byte  `json:"userHandle"`
				SignCount            float64 `json:"signCount"`
			}
			type params struct {
				AuthenticatorID webauthn.AuthenticatorID `json:"authenticatorId"`
				Credential      credential               `json:"credential"`
			}
			addCredential := cdp.Command[params, cdp.Empty]{Method: webauthn.CommandAddCredential}
			if _, err := chromedp.Call(c.ctx, addCredential, params{auth, credential{cred.CredentialID, true, "localhost", cred.PrivateKey, acct.PasskeyHandle, cred.SignCount}}); err != nil {
				t.Fatalf("adding the credential back as a discoverable one: %v", err)
			}
		}
		c.logOut()
		c.open("/auth/login?next=%2Fmembers%2Fx")
		if status := c.clickStatus(passkeyLoginButton); status != http.StatusUnauthorized {
			t.Fatalf("a second-step passkey at the login page's passkey button: status %d, want 401", status)
		}
		c.wantNotice("That passkey could not log you in.", "a second-step passkey at the login page")
		c.wantSecret(false, "a second-step passkey at the login page")
		c.wantNoSession("after a second-step passkey at the login page")
		c.wantLoggedOut("after a second-step passkey at the login page")
		c.logInWith(other, testPassword)
		c.wantAt("/auth/second-factor", "the password of an account with a second-step passkey")
		c.click(usePasskeyButton)
		c.wantAt("/members/x", "the second-step passkey at the second step")
		c.wantSecret(true, "the second-step passkey at the second step")
		c.wantFactors("password,passkey", "logged in with the password and the second-step passkey")

		// Without page scripts nothing offers a passkey: the controls
		// ship hidden.
		for _, path := range []string{"/auth/login"} {
			r := newClient(t).get(path)
			if !strings.Contains(r.body, "data-passkey-only hidden>") {
				t.Fatalf("%s should serve its passkey form hidden: %q", path, clip(r.body))
			}
		}
		d := newBrowser(t, false)
		d.open("/auth/login")
		d.wantScriptsAsConfigured("the login page without scripts")
		if d.visible(passkeyLoginForm) {
			t.Fatal("without scripts the login page shows the passkey button")
		}
		d.logInWith(other, testPassword)
		d.wantAt("/auth/second-factor", "the password without scripts")
		if d.visible(usePasskeyForm) {
			t.Fatal("without scripts the second step shows the passkey button")
		}
		if !d.visible("#code") {
			t.Fatal("without scripts the second step should still take a recovery code")
		}
		d.open("/auth/logout") // nothing to log out: the step is no session
		d.wantNotice("You are not logged in.", "the logout page at the second step")
	})
}

// TestSecondFactorPagesPassAxe checks the second factor's pages with
// axe-core, light and dark: the setup from the account page and at login
// (required), each with a wrong code; the code prompt with and without a
// passkey, and with a wrong code; the recovery codes; the account page
// with an app and passkeys; and the 403 page of a route that wants a
// second factor. None may have any violation.
func TestSecondFactorPagesPassAxe(t *testing.T) {
	src := axeSource(t)
	lines := fileBackend().lines(t)
	siteShowingFactors(t, "session_auth /members/*", "registration open\n\t\trealm "+sfRealm+"\n\t\ttitle \"Example Members\"\n\t\tallow /members/* role staff second_factor\n\t\t"+lines)
	store := accountStore(t, lines, sfRealm)
	for _, name := range []string{"plain", "apponly", "rich"} {
		newClient(t).register(name, testPassword, "/")
	}
	if err := store.Update(context.Background(), "plain", users.GrantRoles("staff")); err != nil {
		t.Fatalf("giving plain the role: %v", err)
	}

	// plain has only a password, and the staff role; rich has an app and
	// two passkeys; apponly has an app.
	plain := newBrowser(t, true)
	plain.open("/auth/login")
	plain.logInWith("plain", testPassword)
	rich := newBrowser(t, true)
	rich.addAuthenticator()
	rich.open("/auth/login")
	rich.logInWith("rich", testPassword)
	richSecret, richCodes := rich.setUpApp()
	// A second passkey comes from another authenticator than the first.
	key := newBrowser(t, true)
	key.addAuthenticator()
	key.open("/auth/login")
	key.logInWith("rich", testPassword)
	key.typeCode(codeAt(t, richSecret, time.Now().Add(30*time.Second)))
	key.addPasskey("Security key", false)
	// Adding a factor ended rich's other sessions: log in again, with a
	// recovery code, and add the first authenticator's passkey.
	rich.open("/auth/login")
	rich.logInWith("rich", testPassword)
	if status := rich.typeCode(richCodes[0]); status != http.StatusOK {
		t.Fatalf("logging in again with a recovery code: status %d", status)
	}
	rich.addPasskey("laptop", true)
	prompt := newBrowser(t, true)
	prompt.open("/auth/login")
	prompt.logInWith("apponly", testPassword)
	appSecret, _ := prompt.setUpApp()
	prompt.logOut()

	pages := []struct {
		name string
		b    *browser
		load func()
	}{
		{"setup, account page", plain, func() {
			plain.open("/auth/account?setup=totp")
			plain.wantQR("the setup page")
		}},
		{"setup, account page, wrong code", plain, func() {
			plain.open("/auth/account?setup=totp")
			plain.typeCode(wrongCodeFor(t, plain.shownSecret()))
			plain.wantNotice(wrongSetupText, "a wrong code at the setup")
		}},
		{"a second factor is needed (403)", plain, func() {
			if status := plain.openStatus("/members/x"); status != http.StatusForbidden {
				t.Fatalf("a staff page wanting a second factor, logged in with a password: status %d, want 403", status)
			}
			plain.wantNotice("with your password only; this page also needs a second factor", "the 403 page")
			if title := browserValue(plain, "the title", chromedp.Title()); title != "A second factor is needed · Example Members" {
				t.Fatalf("the 403 page's title %q", title)
			}
		}},
		{"code prompt", prompt, func() {
			prompt.open("/auth/login")
			prompt.logInWith("apponly", testPassword)
			prompt.wantAt("/auth/second-factor", "the code prompt")
		}},
		{"code prompt, wrong code", prompt, func() {
			prompt.typeCode(wrongCodeFor(t, appSecret))
			prompt.wantNotice(wrongCodeText, "a wrong code at the prompt")
		}},
		{"code prompt with passkeys", prompt, func() {
			prompt.open("/auth/login")
			prompt.logInWith("rich", testPassword)
			prompt.wantAt("/auth/second-factor", "the prompt with passkeys")
			if !prompt.visible(usePasskeyButton) {
				t.Fatal("the prompt of an account with passkeys should offer them")
			}
		}},
		{"account, app and passkeys", rich, func() {
			rich.open("/auth/account")
			if listed := rich.passkeysListed(); len(listed) != 2 {
				t.Fatalf("the account page should list two passkeys: %v", listed)
			}
			rich.wantNotice("Set up since", "the account page with an app")
		}},
		{"recovery codes", rich, func() {
			rich.open("/auth/account")
			rich.fill("#recovery_new_password", testPassword)
			rich.click(newRecoveryButton)
			if codes := rich.recoveryCodes(); len(codes) != 10 {
				t.Fatalf("new recovery codes: %d listed, want 10", len(codes))
			}
		}},
	}
	for _, scheme := range []string{"light", "dark"} {
		for _, p := range pages {
			p.b.colorScheme(scheme)
			p.load()
			p.b.axeClean(src, p.name+", "+scheme)
		}
	}

	// The setup at login, where the site requires a second factor.
	siteShowingFactors(t, "session_auth /members/*", "registration open\n\t\trealm "+sfRealm+"-required\n\t\tsecond_factor required\n\t\ttitle \"Example Members\"\n\t\t"+fileBackend().lines(t))
	b := newBrowser(t, true)
	b.open("/auth/register")
	b.fill("#username", "newcomer")
	b.fill("#password", testPassword)
	b.fill("#password_confirm", testPassword)
	b.click(`button[type=submit]`)
	b.wantAt("/auth/second-factor", "after registering where a second factor is required")
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		b.open("/auth/second-factor")
		b.wantQR("the setup at login")
		b.axeClean(src, "setup at login, "+scheme)
		b.typeCode(wrongCodeFor(t, b.shownSecret()))
		b.wantNotice(wrongSetupText, "a wrong code at the setup at login")
		b.axeClean(src, "setup at login, wrong code, "+scheme)
	}
}
