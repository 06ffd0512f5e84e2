package sessionauth

import (
	"bytes"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
)

// The second factor (issue 13): authenticator apps (TOTP) with recovery
// codes, the half-logged-in step between the password and the code, and
// the locks that cover it. The codes are made as an app makes them, from
// the secret the setup page shows and the plugin's own clock (now(),
// moved with advance).

const stepCookieName = defaultCookieName + "_step"

var (
	secretRE   = regexp.MustCompile(`<code class="secret"[^>]*>([A-Z2-7 ]+)</code>`)
	recoveryRE = regexp.MustCompile(`<li><code>([a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4}-[a-z2-7]{4})</code></li>`)
)

// wrongCodeText is what the second step says of a wrong code.
const wrongCodeText = wrongCodeMessage

// secretOf is the authenticator app's secret a setup page shows (its
// status is the caller's to check), without the spaces between its groups.
func secretOf(t *testing.T, r response) string {
	t.Helper()
	m := secretRE.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("want a setup page showing the secret, got %d:\n%s", r.status, clip(r.body))
	}
	secret := strings.ReplaceAll(m[1], " ", "")
	if len(secret) != 32 {
		t.Fatalf("the secret shown, %q, is not 160 bits in base32", secret)
	}
	return secret
}

// recoveryCodesOf are the recovery codes a page shows.
func recoveryCodesOf(body string) []string {
	var codes []string
	for _, m := range recoveryRE.FindAllStringSubmatch(body, -1) {
		codes = append(codes, m[1])
	}
	return codes
}

// codeAt is the code the app shows at the plugin's now plus offset.
func codeAt(t *testing.T, secret string, offset time.Duration) string {
	t.Helper()
	code, err := factor.Code(secret, now().Add(offset))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// freshStep moves the plugin's clock to one second into the next time
// step of the apps: every code used before is of an older step, and the
// codes a test makes now stay in their step for 29 seconds while the
// server checks them.
func freshStep() {
	into := time.Duration(now().UnixNano() % int64(30*time.Second))
	advance(30*time.Second - into + time.Second)
}

// stepCookie is the value of the login step's cookie the client holds.
func (c *client) stepCookie() string {
	u, _ := url.Parse(baseURL + "/auth/second-factor")
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == stepCookieName {
			return ck.Value
		}
	}
	return ""
}

// authCookies are the cookies the client sends to the plugin's pages, as
// a Cookie header.
func (c *client) authCookies() string {
	u, _ := url.Parse(baseURL + "/auth/second-factor")
	var parts []string
	for _, ck := range c.jar.Cookies(u) {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	return strings.Join(parts, "; ")
}

// setCookie puts a cookie into the client's jar, for every path.
func (c *client) setCookie(name, value string) {
	u, _ := url.Parse(baseURL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// passwordStep logs in with the right password, which must give the
// second step and nothing else.
func (c *client) passwordStep(user, next string) {
	c.t.Helper()
	r := c.login(user, testPassword, next)
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/second-factor" {
		c.t.Fatalf("login of %s: %d to %q; want 303 to /auth/second-factor", user, r.status, r.header.Get("Location"))
	}
	if sessionCookie(r) != nil || c.cookie() != "" {
		c.t.Fatalf("login of %s: a session cookie before the second factor", user)
	}
	if c.stepCookie() == "" {
		c.t.Fatalf("login of %s: no step cookie", user)
	}
}

// sendCode posts a code to the second step, with a form token of the step's
// page (opened now, so the step must still be there).
func (c *client) sendCode(code string) response {
	c.t.Helper()
	return c.post("/auth/second-factor", url.Values{"code": {code}})
}

// sendCodeWith posts a code with a token got earlier, for a step that may
// have ended since.
func (c *client) sendCodeWith(token, code string) response {
	c.t.Helper()
	return c.post("/auth/second-factor", url.Values{"code": {code}, formTokenField: {token}})
}

// factors is what {http.auth.user.factors} says for the client's session,
// or "<denied>" when the session opens no protected page.
func (c *client) factors() string {
	c.t.Helper()
	r := c.get("/members/factors.html")
	if r.status != http.StatusOK || !strings.HasPrefix(r.body, "factors=") {
		return "<denied>"
	}
	return strings.TrimPrefix(r.body, "factors=")
}

// wantLoggedInWith asserts a successful second step: 303 to next, a
// session cookie, the step cookie cleared, and a session whose login used
// the given factors.
func wantLoggedInWith(t *testing.T, c *client, r response, next, factors, what string) {
	t.Helper()
	if r.status != http.StatusSeeOther || r.header.Get("Location") != next || sessionCookie(r) == nil {
		t.Fatalf("%s: %d to %q (session cookie %v); want 303 to %s with a session\n%s", what, r.status, r.header.Get("Location"), sessionCookie(r) != nil, next, clip(r.body))
	}
	if c.stepCookie() != "" {
		t.Fatalf("%s: the step cookie is still held", what)
	}
	if got := c.factors(); got != factors {
		t.Fatalf("%s: the session's factors are %q; want %q", what, got, factors)
	}
}

// wantWrongCode asserts a refused code that leaves the step open.
func wantWrongCode(t *testing.T, c *client, r response, what string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || errorText(r.body) != wrongCodeText || sessionCookie(r) != nil {
		t.Fatalf("%s: %d %q; want 401 with %q and no session", what, r.status, errorText(r.body), wrongCodeText)
	}
	if c.stepCookie() == "" {
		t.Fatalf("%s: the step ended on one wrong code", what)
	}
}

// wantStepOver asserts a post to a step that is gone: 401, no session.
func wantStepOver(t *testing.T, c *client, r response, what string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || sessionCookie(r) != nil || !strings.Contains(r.body, "Log in again") {
		t.Fatalf("%s: %d (session cookie %v); want 401 \"Log in again\" and no session\n%s", what, r.status, sessionCookie(r) != nil, clip(r.body))
	}
	if got := c.factors(); got != "<denied>" {
		t.Fatalf("%s: a session with factors %q", what, got)
	}
}

// enrol sets up an authenticator app on the account page of c's session
// and returns its secret and the recovery codes shown.
func enrol(t *testing.T, c *client) (string, []string) {
	t.Helper()
	setup := c.get("/auth/account?setup=totp")
	if setup.status != http.StatusOK {
		t.Fatalf("the setup page: %d", setup.status)
	}
	secret := secretOf(t, setup)
	freshStep()
	r := c.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {codeAt(t, secret, 0)}, "current_password": {testPassword}})
	codes := recoveryCodesOf(r.body)
	if r.status != http.StatusOK || len(codes) != factor.RecoveryCodes {
		t.Fatalf("confirming the app: %d with %d recovery codes; want 200 with %d\n%s", r.status, len(codes), factor.RecoveryCodes, clip(r.body))
	}
	return secret, codes
}

// registerEnrolled registers user and sets up an app, then logs out.
func registerEnrolled(t *testing.T, user string) (string, []string) {
	t.Helper()
	c := newClient(t)
	if r := c.register(user, testPassword, "/"); r.status != http.StatusSeeOther || c.cookie() == "" {
		t.Fatalf("registering %s: %d", user, r.status)
	}
	secret, codes := enrol(t, c)
	c.logout()
	return secret, codes
}

// storedText is everything the backend of lines holds: the files of the
// file backend (and the plugin's data directory), or every Redis value.
func storedText(t *testing.T, lines string) string {
	t.Helper()
	var all strings.Builder
	f := strings.Fields(lines)
	if i := slices.Index(f, "users_file"); i >= 0 {
		for _, dir := range []string{filepath.Dir(f[i+1]), filepath.Join(scratch, "data")} {
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() {
					data, _ := os.ReadFile(path)
					all.Write(data)
					all.WriteByte('\n')
				}
				return nil
			})
		}
		if !strings.Contains(all.String(), `"totp"`) {
			t.Fatalf("fixture: the stored accounts hold no app:\n%s", clip(all.String()))
		}
		return all.String()
	}
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	keys, err := redis.Strings(conn.Do("KEYS", "*"))
	if err != nil || len(keys) == 0 {
		t.Fatalf("reading the Redis keys: %v (%d keys)", err, len(keys))
	}
	for _, k := range keys {
		kind, _ := redis.String(conn.Do("TYPE", k))
		var vals []string
		switch kind {
		case "string":
			v, _ := redis.String(conn.Do("GET", k))
			vals = []string{v}
		case "hash":
			vals, _ = redis.Strings(conn.Do("HGETALL", k))
		case "set":
			vals, _ = redis.Strings(conn.Do("SMEMBERS", k))
		case "list":
			vals, _ = redis.Strings(conn.Do("LRANGE", k, 0, -1))
		case "zset":
			vals, _ = redis.Strings(conn.Do("ZRANGE", k, 0, -1))
		case "stream":
			t.Fatalf("key %s is a stream; read it too", k)
		}
		all.WriteString(k + " " + strings.Join(vals, " ") + "\n")
	}
	if !strings.Contains(all.String(), `"totp"`) {
		t.Fatalf("fixture: Redis holds no app:\n%s", clip(all.String()))
	}
	return all.String()
}

// TestAuthenticatorAppIsSetUpOnTheAccountPageAndKeptSealed: the setup
// shows the secret and a QR code the plugin serves; only a right code
// sets the app up, which shows ten recovery codes once and makes the
// session count both factors; the secret and the codes are kept sealed
// and hashed, and never logged.
func TestAuthenticatorAppIsSetUpOnTheAccountPageAndKeptSealed(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		c := newClient(t)
		c.register("alice", testPassword, "/")
		if got := c.factors(); got != "password" {
			t.Fatalf("after registering: factors %q; want password", got)
		}
		if r := c.get("/auth/account"); !strings.Contains(r.body, `href="/auth/account?setup=totp"`) {
			t.Fatalf("the account page offers no setup:\n%s", clip(r.body))
		}
		setup := c.get("/auth/account?setup=totp")
		secret := secretOf(t, setup)
		if setup.status != http.StatusOK || !strings.Contains(setup.body, `<img class="qr" src="/auth/account/qr.png"`) {
			t.Fatalf("the setup page has no QR code image of its own:\n%s", setup.body)
		}
		if again := secretOf(t, c.get("/auth/account?setup=totp")); again != secret {
			t.Fatalf("opening the setup again showed another secret")
		}
		qr := c.get("/auth/account/qr.png")
		if qr.status != http.StatusOK || qr.header.Get("Content-Type") != "image/png" || qr.header.Get("Cache-Control") != "no-store" {
			t.Fatalf("qr.png: %d %q %q; want 200 image/png no-store", qr.status, qr.header.Get("Content-Type"), qr.header.Get("Cache-Control"))
		}
		img, err := png.Decode(bytes.NewReader([]byte(qr.body)))
		if err != nil || img.Bounds().Dx() != 200 || img.Bounds().Dy() != 200 {
			t.Fatalf("qr.png does not decode as a 200×200 PNG: %v", err)
		}
		if r := newClient(t).get("/auth/account/qr.png"); r.status != http.StatusSeeOther || strings.HasPrefix(r.body, "\x89PNG") {
			t.Fatalf("qr.png without a session: %d; want 303 to the login page", r.status)
		}

		freshStep()
		wrong := codeAt(t, secret, 2*time.Minute)
		r := c.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {wrong}, "current_password": {testPassword}})
		if r.status != http.StatusBadRequest || errorText(r.body) == "" || len(recoveryCodesOf(r.body)) != 0 {
			t.Fatalf("a wrong confirmation code: %d %q; want 400 with an error and no codes", r.status, errorText(r.body))
		}
		if got := secretOf(t, r); got != secret {
			t.Fatalf("a wrong code changed the secret being set up")
		}
		login := newClient(t)
		if r := login.login("alice", testPassword, "/members/x"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" {
			t.Fatalf("after a wrong confirmation, login with the password: %d %q; want it to log in (nothing set up)", r.status, r.header.Get("Location"))
		}
		if r := c.get("/auth/account"); !strings.Contains(r.body, "Only your password protects this account") {
			t.Fatalf("after a wrong confirmation the account page shows an app:\n%s", clip(r.body))
		}

		r = c.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {codeAt(t, secret, 0)}, "current_password": {testPassword}})
		codes := recoveryCodesOf(r.body)
		if r.status != http.StatusOK || len(codes) != 10 || !strings.Contains(r.body, `href="/auth/account?done=totp"`) {
			t.Fatalf("the right code: %d with %d codes; want 200 with 10 recovery codes and a link back\n%s", r.status, len(codes), clip(r.body))
		}
		if len(slices.Compact(slices.Sorted(slices.Values(codes)))) != 10 {
			t.Fatalf("recovery codes repeat: %q", codes)
		}
		if got := c.factors(); got != "password,totp" {
			t.Fatalf("after the setup, the session's factors: %q; want password,totp", got)
		}
		page := c.get("/auth/account?done=totp")
		if !strings.Contains(page.body, "Set up since") || !strings.Contains(page.body, "Recovery codes left: <strong>10</strong>") {
			t.Fatalf("the account page after setup:\n%s", clip(page.body))
		}
		for _, code := range codes {
			if strings.Contains(page.body, code) {
				t.Fatalf("the account page shows a recovery code again")
			}
		}
		if r := c.get("/auth/account?setup=totp"); strings.Contains(r.body, "<code class=\"secret\"") || strings.Contains(r.body, secret[:4]+" "+secret[4:8]) {
			t.Fatalf("the setup page shows the secret of an app already set up")
		}
		newClient(t).passwordStep("alice", "/")

		stored := storedText(t, lines)
		log := readLog(t, logFile, `"event":"second_factor_added"`)
		for where, text := range map[string]string{"the backend": stored, "the log": log} {
			for _, s := range append([]string{secret, groupsOfFour(secret), strings.ToLower(secret)}, codes...) {
				if strings.Contains(text, s) || strings.Contains(text, strings.ReplaceAll(s, "-", "")) {
					t.Errorf("%s holds %q in clear", where, s)
				}
			}
		}
	})
}

// TestPasswordAloneGivesOnlyTheStepWhichOpensNothing: with an app set up,
// the right password gives a step, never a session; the step opens no
// protected page (nor does its value as a session cookie); the right code
// makes the session, sends the browser on to where the login was going
// and ends the step, which cannot be posted again.
func TestPasswordAloneGivesOnlyTheStepWhichOpensNothing(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		secret, _ := registerEnrolled(t, "alice")

		c := newClient(t)
		freshStep()
		c.passwordStep("alice", "/members/x")
		step := c.stepCookie()
		if r := c.get("/auth/second-factor"); r.status != http.StatusOK || !strings.Contains(r.body, `name="code"`) || !strings.Contains(r.body, "<strong>alice</strong>") {
			t.Fatalf("the step's page: %d; want the code prompt for alice\n%s", r.status, clip(r.body))
		}
		for _, path := range []string{"/members/x", "/members/factors.html", "/members/", "/members/secret.txt"} {
			wantDenied(t, c.get(path), "during the step, "+path)
			wantDenied(t, c.getAPI(path), "during the step, by script, "+path)
			wantDenied(t, withCookie(t, step).get(path), "the step's value as a session cookie, "+path)
		}
		if r := c.get("/auth/account"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/auth/login") {
			t.Fatalf("the account page during the step: %d %q; want 303 to the login page", r.status, r.header.Get("Location"))
		}
		if r, v := c.api(http.MethodGet, "/auth/session", ""); r.status != http.StatusUnauthorized {
			t.Fatalf("who is logged in, during the step: %d %v; want 401", r.status, v)
		}
		token := c.formToken("/auth/second-factor")
		keep := c.authCookies()

		r := c.sendCode(codeAt(t, secret, 0))
		wantLoggedInWith(t, c, r, "/members/x", "password,totp", "the right code")
		cleared := false
		for _, ck := range (&http.Response{Header: r.header}).Cookies() {
			cleared = cleared || ck.Name == stepCookieName && ck.MaxAge < 0
		}
		if !cleared {
			t.Fatalf("the right code did not clear the step cookie: %q", r.header.Values("Set-Cookie"))
		}
		wantGranted(t, c.get("/members/x"), "after the second step")

		// The old step, posted again by whoever kept its cookie.
		h := formHeader()
		h.Set("Cookie", keep)
		again := send(t, http.MethodPost, "/auth/second-factor", h, formTokenField+"="+url.QueryEscape(token)+"&code="+codeAt(t, secret, 30*time.Second))
		if again.status != http.StatusUnauthorized || sessionCookie(again) != nil || !strings.Contains(again.body, "Log in again") {
			t.Fatalf("the used step posted again: %d (session cookie %v); want 401 \"Log in again\" and no session", again.status, sessionCookie(again) != nil)
		}
		if !strings.Contains(keep, stepCookieName+"="+step) {
			t.Fatalf("fixture: the kept cookies %q lack the step", keep)
		}
	})
}

// TestEachCodeWorksOnceWithinOneStepEitherSide: a code is accepted from
// the step before now to the step after, never two steps off, never
// twice, and never one older than the last accepted.
func TestEachCodeWorksOnceWithinOneStepEitherSide(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		secret, _ := registerEnrolled(t, "alice")

		// Replay: the code of one login, at a second login in the same step.
		freshStep()
		first := newClient(t)
		first.passwordStep("alice", "/")
		code := codeAt(t, secret, 0)
		wantLoggedInWith(t, first, first.sendCode(code), "/", "password,totp", "a fresh code")
		second := newClient(t)
		second.passwordStep("alice", "/")
		wantWrongCode(t, second, second.sendCode(code), "the same code at the next login")

		// The window, three steps past the one used: -60s and +60s are
		// refused, -30s and +30s accepted.
		freshStep()
		freshStep()
		freshStep()
		c := newClient(t)
		c.passwordStep("alice", "/")
		wantWrongCode(t, c, c.sendCode(codeAt(t, secret, -60*time.Second)), "the code of two steps ago")
		wantWrongCode(t, c, c.sendCode(codeAt(t, secret, 60*time.Second)), "the code of two steps ahead")
		wantLoggedInWith(t, c, c.sendCode(codeAt(t, secret, -30*time.Second)), "/", "password,totp", "the code of the step before")
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantLoggedInWith(t, c, c.sendCode(codeAt(t, secret, 30*time.Second)), "/", "password,totp", "the code of the step after")
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantWrongCode(t, c, c.sendCode(codeAt(t, secret, 0)), "a code of this step, older than the last accepted")
		wantWrongCode(t, c, c.sendCode(codeAt(t, secret, 30*time.Second)), "the code accepted last, again")
	})
}

// TestRecoveryCodesWorkOnceAsTypedAndRenew: a recovery code logs in once,
// in any case and with or without dashes; new codes end the old ones.
func TestRecoveryCodesWorkOnceAsTypedAndRenew(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		_, codes := registerEnrolled(t, "alice")

		c := newClient(t)
		c.passwordStep("alice", "/members/x")
		wantLoggedInWith(t, c, c.sendCode(codes[0]), "/members/x", "password,recovery", "a recovery code")
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantWrongCode(t, c, c.sendCode(codes[0]), "a recovery code used already")
		wantLoggedInWith(t, c, c.sendCode(strings.ToUpper(codes[1])), "/", "password,recovery", "a recovery code in capitals")
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantLoggedInWith(t, c, c.sendCode(strings.ReplaceAll(codes[2], "-", "")), "/", "password,recovery", "a recovery code without dashes")
		if r := c.get("/auth/account"); !strings.Contains(r.body, "Recovery codes left: <strong>7</strong>") {
			t.Fatalf("the account page after three codes used:\n%s", clip(r.body))
		}

		if r := c.post("/auth/account", url.Values{"action": {"recovery-new"}, "current_password": {"a wrong password"}}); r.status != http.StatusUnauthorized || len(recoveryCodesOf(r.body)) != 0 {
			t.Fatalf("new recovery codes with a wrong password: %d; want 401 and none", r.status)
		}
		r := c.post("/auth/account", url.Values{"action": {"recovery-new"}, "current_password": {testPassword}})
		fresh := recoveryCodesOf(r.body)
		if r.status != http.StatusOK || len(fresh) != 10 || slices.Contains(fresh, codes[3]) {
			t.Fatalf("new recovery codes: %d with %d codes; want 200 with 10 new ones", r.status, len(fresh))
		}
		c.logout()
		c = newClient(t)
		c.passwordStep("alice", "/")
		wantWrongCode(t, c, c.sendCode(codes[3]), "an old recovery code after new ones were made")
		wantLoggedInWith(t, c, c.sendCode(fresh[0]), "/", "password,recovery", "a new recovery code")
	})
}

// lockOptions lock an account at its third failure.
const lockOptions = "registration open\n\t\tbcrypt_cost 10\n\t\tip_limit 100000 15m\n\t\taccount_limit 3 15m"

// TestWrongCodesLockTheAccountLikeWrongPasswords: wrong codes count
// toward the account's lock, and the password's success does not wipe
// out the count; once locked, neither the right password nor a right
// code in a step begun earlier logs in.
func TestWrongCodesLockTheAccountLikeWrongPasswords(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockOptions+"\n\t\t"+b.lines(t))
		secret, _ := registerEnrolled(t, "alice")

		waiting := newClient(t) // a step begun before the lock
		waiting.passwordStep("alice", "/")
		waitingToken := waiting.formToken("/auth/second-factor")
		c := newClient(t)
		c.passwordStep("alice", "/")
		freshStep()
		wantWrongCode(t, c, c.sendCode("000000"), "wrong code 1")
		wantWrongCode(t, c, c.sendCode("111111"), "wrong code 2")
		r := c.sendCode("222222")
		if r.status != http.StatusUnauthorized || c.stepCookie() != "" || sessionCookie(r) != nil || !strings.Contains(r.body, "too many wrong codes") {
			t.Fatalf("wrong code 3, at the account limit: %d (step cookie %q); want 401, the step ended", r.status, c.stepCookie())
		}
		wantStepOver(t, waiting, waiting.sendCodeWith(waitingToken, codeAt(t, secret, 0)), "a right code in a step of the locked account")
		wantStepOver(t, waiting, waiting.sendCodeWith(waitingToken, codeAt(t, secret, 0)), "the same step, posted again")
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusUnauthorized || errorText(r.body) != loginFailed {
			t.Fatalf("the right password on the locked account: %d %q; want 401 %q", r.status, errorText(r.body), loginFailed)
		}
	})
}

// TestPasswordSuccessDoesNotResetTheFailureCount: two wrong passwords, the
// right one, and one wrong code make three failures: locked.
func TestPasswordSuccessDoesNotResetTheFailureCount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockOptions+"\n\t\t"+b.lines(t))
		registerEnrolled(t, "alice")
		for i := range 2 {
			if r := newClient(t).login("alice", "a wrong password", "/"); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password %d: %d", i+1, r.status)
			}
		}
		c := newClient(t)
		c.passwordStep("alice", "/")
		r := c.sendCode("000000")
		if r.status != http.StatusUnauthorized || c.stepCookie() != "" || !strings.Contains(r.body, "too many wrong codes") {
			t.Fatalf("a wrong code as the third failure: %d (step cookie %q); want the step ended by the lock\n%s", r.status, c.stepCookie(), clip(r.body))
		}
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusUnauthorized || errorText(r.body) != loginFailed {
			t.Fatalf("the right password after three failures: %d %q; want 401 %q", r.status, errorText(r.body), loginFailed)
		}
	})
}

// TestStepEndsAfterFiveWrongCodesOrFiveMinutes: however high the account
// limit, a step takes five wrong codes, then ends; and a step lives five
// minutes.
func TestStepEndsAfterFiveWrongCodesOrFiveMinutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		secret, _ := registerEnrolled(t, "alice")

		c := newClient(t)
		c.passwordStep("alice", "/")
		token := c.formToken("/auth/second-factor")
		for i := range 4 {
			wantWrongCode(t, c, c.sendCode(fmt.Sprintf("00000%d", i)), fmt.Sprintf("wrong code %d", i+1))
		}
		r := c.sendCode("000009")
		if r.status != http.StatusUnauthorized || c.stepCookie() != "" || !strings.Contains(r.body, "too many wrong codes") {
			t.Fatalf("wrong code 5: %d (step cookie %q); want the step ended", r.status, c.stepCookie())
		}
		freshStep()
		wantStepOver(t, c, c.sendCodeWith(token, codeAt(t, secret, 0)), "the right code after five wrong ones")

		// The ended step's own cookie, kept by whoever held it, is no better.
		d := newClient(t)
		d.passwordStep("alice", "/")
		dToken := d.formToken("/auth/second-factor")
		ended := d.stepCookie()
		for i := range 5 {
			d.sendCodeWith(dToken, fmt.Sprintf("12345%d", i))
		}
		d.setCookie(stepCookieName, ended)
		wantStepOver(t, d, d.sendCodeWith(dToken, codeAt(t, secret, 0)), "the right code with the cookie of a step ended by wrong codes")

		late := newClient(t)
		late.passwordStep("alice", "/members/x")
		lateToken := late.formToken("/auth/second-factor")
		advance(6 * time.Minute)
		wantStepOver(t, late, late.sendCodeWith(lateToken, codeAt(t, secret, 0)), "the right code six minutes after the password")
	})
}

// TestParallelPostsOfOneCodeMakeOneSession: the same right code posted
// many times at once, in one step or in several steps, logs in once.
func TestParallelPostsOfOneCodeMakeOneSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		secret, _ := registerEnrolled(t, "alice")
		const n = 8
		race := func(what string, clients []*client) {
			t.Helper()
			type post struct{ header http.Header }
			posts := make([]post, n)
			freshStep()
			code := codeAt(t, secret, 0)
			for i := range posts {
				c := clients[i%len(clients)]
				h := formHeader()
				h.Set("Cookie", c.authCookies())
				posts[i] = post{h}
			}
			bodies := make([]string, n)
			for i := range posts {
				bodies[i] = formTokenField + "=" + url.QueryEscape(clients[i%len(clients)].formToken("/auth/second-factor")) + "&code=" + code
			}
			results := make([]response, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range posts {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					results[i] = send(t, http.MethodPost, "/auth/second-factor", posts[i].header, bodies[i])
				}()
			}
			close(start)
			wg.Wait()
			sessions := 0
			for i, r := range results {
				switch {
				case r.status == http.StatusSeeOther && sessionCookie(r) != nil:
					sessions++
					wantGranted(t, withCookie(t, sessionCookie(r).Value).get("/members/x"), what+": the one session")
				case r.status == http.StatusUnauthorized && sessionCookie(r) == nil:
				default:
					t.Fatalf("%s: post %d got %d (session cookie %v); want 303 with a session or 401", what, i, r.status, sessionCookie(r) != nil)
				}
			}
			if sessions != 1 {
				t.Fatalf("%s: %d sessions; want exactly 1", what, sessions)
			}
		}
		one := newClient(t)
		one.passwordStep("alice", "/")
		race("one step", []*client{one})

		var several []*client
		for range 4 {
			c := newClient(t)
			c.passwordStep("alice", "/")
			several = append(several, c)
		}
		race("four steps", several)
	})
}

// TestASetupSecretIsShownToOneViewerOnly: the secret of an app being set
// up belongs to the session that was shown it, for a while: another
// session of the same account (someone who had the password for a while)
// is shown another secret, cannot confirm the first one's, and the first
// one's setup never hands its secret to anyone else.
func TestASetupSecretIsShownToOneViewerOnly(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		owner := newClient(t)
		owner.register("alice", testPassword, "/")
		intruder := newClient(t)
		wantSeeOther(t, intruder.login("alice", testPassword, "/"), "/", "a second session of alice")

		seen := secretOf(t, intruder.get("/auth/account?setup=totp"))
		mine := secretOf(t, owner.get("/auth/account?setup=totp"))
		if seen == mine {
			t.Fatal("two sessions were shown the same secret to set up")
		}
		if again := secretOf(t, owner.get("/auth/account?setup=totp")); again != mine {
			t.Fatal("the same session was shown another secret on reopening the setup")
		}
		// The intruder's code for the secret it saw does not confirm the
		// owner's setup, nor the owner's code the intruder's.
		r := owner.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {codeAt(t, seen, 0)}, "current_password": {testPassword}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("confirming with a code of a secret shown to another session: %d; want 400", r.status)
		}
		r = owner.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {codeAt(t, mine, 0)}, "current_password": {testPassword}})
		if r.status != http.StatusOK || len(recoveryCodesOf(r.body)) != 10 {
			t.Fatalf("confirming the owner's own setup: %d", r.status)
		}
		// Setting it up ended the intruder's session.
		if got := intruder.factors(); got != "<denied>" {
			t.Fatalf("the other session after the app was set up: factors %q; want it ended", got)
		}
	})
}
