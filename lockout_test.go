package sessionauth

import (
	"crypto/rand"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// Rule 15: a stranger's guesses cannot lock an account's owner out of a
// browser that has logged in as that owner before (it holds a signed device
// cookie and is judged on its own budget); every other browser gets the
// lock, and the lock looks exactly like a wrong password.

// deviceCookieName is the device cookie over plain HTTP, as the tests run.
const deviceCookieName = defaultCookieName + "_device"

// cookieOf is the value of the named cookie the client sends to baseURL.
func cookieOf(c *client, name string) string {
	u, _ := url.Parse(baseURL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// setCookieOf gives the client a cookie for baseURL, as a browser would keep it.
func setCookieOf(c *client, name, value string) {
	u, _ := url.Parse(baseURL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: name, Value: value, Path: "/"}})
}

// loginRetry logs in, sending the form again while the server is busy.
func loginRetry(c *client, user, password string) response {
	c.t.Helper()
	return retryBusy(c.t, func() response { return c.login(user, password, "/") })
}

// registerRetry registers, sending the form again while the server is busy.
func registerRetry(c *client, user, password string) response {
	c.t.Helper()
	r := retryBusy(c.t, func() response { return c.register(user, password, "/") })
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("registering %s: want 303, got %d", user, r.status)
	}
	return r
}

// lockAccount makes limit wrong guesses for user, each from a browser that
// has never logged in, as a stranger would.
func lockAccount(t *testing.T, user string, limit int) {
	t.Helper()
	for i := range limit {
		wantGenericFailure(t, loginRetry(newClient(t), user, fmt.Sprintf("stranger's guess %d", i)), "a stranger's guess")
	}
}

// knownBrowser logs in as user and returns the browser, which now holds a
// device cookie for user.
func knownBrowser(t *testing.T, user string) *client {
	t.Helper()
	c := newClient(t)
	if r := loginRetry(c, user, testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("the owner's first login: want 303, got %d", r.status)
	}
	if cookieOf(c, deviceCookieName) == "" {
		t.Fatalf("a successful login gave the browser no %s cookie", deviceCookieName)
	}
	return c
}

var csrfValue = regexp.MustCompile(`name="csrf_token" value="[^"]*"`)

// failurePage is what a failed login's page shows, less what differs
// between any two page loads (the form token) and the name typed.
func failurePage(r response, user string) string {
	body := csrfValue.ReplaceAllString(r.body, `name="csrf_token" value=""`)
	return strings.ReplaceAll(body, user, "USER")
}

// setCookieNames lists the cookies a response sets.
func setCookieNames(r response) []string {
	var names []string
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		names = append(names, ck.Name)
	}
	slices.Sort(names)
	return names
}

const deviceOptions = "registration open\n\t\taccount_limit 3 15m\n\t\taccount_lockout 10m 30m\n\t\t"

func TestStrangersGuessesDoNotLockTheOwnersBrowser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "alice", testPassword)
		registerRetry(newClient(t), "bruno", testPassword)
		owner := knownBrowser(t, "alice")
		owner.logout()

		lockAccount(t, "alice", 3)

		// A browser that has never logged in as alice gets the lock: the
		// right password fails exactly as a wrong one does on an account
		// that is not locked, so the lock tells nobody anything.
		wrong := loginRetry(newClient(t), "bruno", "not bruno's password")
		locked := loginRetry(newClient(t), "alice", testPassword)
		wantGenericFailure(t, wrong, "a wrong password, account not locked")
		wantGenericFailure(t, locked, "the right password from a fresh browser, account locked")
		if failurePage(locked, "alice") != failurePage(wrong, "bruno") {
			t.Errorf("the locked account's failure page differs from a wrong password's:\n%s\n----\n%s", failurePage(locked, "alice"), failurePage(wrong, "bruno"))
		}
		if got, want := setCookieNames(locked), setCookieNames(wrong); !slices.Equal(got, want) {
			t.Errorf("the locked account's failure sets cookies %v, a wrong password's %v", got, want)
		}

		// The owner's browser is judged on its own budget.
		if r := loginRetry(owner, "alice", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the owner's known browser during the stranger's lock: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, owner.get("/members/x"), "the owner's session made during the lock")
		lockAccount(t, "alice", 3) // more guesses do not reach it either
		if r := loginRetry(owner, "alice", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the owner's known browser after more guesses: want 303, got %d", r.status)
		}
	})
}

func TestAKnownBrowsersOwnFailuresLockIt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "dave", testPassword)
		owner := knownBrowser(t, "dave")
		for i := range 3 {
			wantGenericFailure(t, loginRetry(owner, "dave", fmt.Sprintf("mistyped %d", i)), "the known browser's wrong password")
		}
		wantGenericFailure(t, loginRetry(owner, "dave", testPassword), "the right password from the known browser after its own 3 failures")
		advance(11 * time.Minute) // the first lock lasts 10 minutes
		if r := loginRetry(owner, "dave", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the known browser after its lock ended: want 303, got %d", r.status)
		}
	})
}

func TestADeviceCookieForOneUserDoesNotHelpAnother(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "anna", testPassword)
		registerRetry(newClient(t), "boris", testPassword)
		annas := knownBrowser(t, "anna")
		lockAccount(t, "boris", 3)
		r := loginRetry(annas, "boris", testPassword)
		wantGenericFailure(t, r, "boris's right password from anna's known browser, boris locked")
		if slices.Contains(setCookieNames(r), defaultCookieName) {
			t.Fatal("the refused login set a session cookie")
		}
	})
}

// forgedDeviceCookie is a well-formed device cookie for user, signed with a
// key the server never had.
func forgedDeviceCookie(t *testing.T, user string) string {
	t.Helper()
	sc := securecookie.New([]byte(rand.Text()+rand.Text()), nil)
	sc.SetSerializer(securecookie.NopEncoder{})
	v, err := securecookie.EncodeMulti(deviceCookieName, []byte(webform.NewBrowserID()+" "+user), sc)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestForgedOrTamperedDeviceCookiesCountAsNone(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "carla", testPassword)
		genuine := cookieOf(knownBrowser(t, "carla"), deviceCookieName)
		lockAccount(t, "carla", 3)
		for _, tc := range []struct{ name, value string }{
			{"tampered", flip(genuine)},
			{"truncated", genuine[:len(genuine)-4]},
			{"signed with another key", forgedDeviceCookie(t, "carla")},
			{"a bare device id", webform.NewBrowserID()},
			{"the session cookie's value", cookieOf(knownBrowserDuringLock(t, genuine, "carla"), defaultCookieName)},
		} {
			t.Run(tc.name, func(t *testing.T) {
				c := newClient(t)
				setCookieOf(c, deviceCookieName, tc.value)
				wantGenericFailure(t, loginRetry(c, "carla", testPassword), "the right password with a "+tc.name+" device cookie, account locked")
			})
		}
		// The genuine cookie, for contrast, still opens the door.
		c := newClient(t)
		setCookieOf(c, deviceCookieName, genuine)
		if r := loginRetry(c, "carla", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the genuine device cookie during the lock: want 303, got %d", r.status)
		}
	})
}

// knownBrowserDuringLock logs in with a genuine device cookie while the
// account is locked, and returns the browser, which then holds a session.
func knownBrowserDuringLock(t *testing.T, device, user string) *client {
	t.Helper()
	c := newClient(t)
	setCookieOf(c, deviceCookieName, device)
	if r := loginRetry(c, user, testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("a genuine device cookie during the lock: want 303, got %d", r.status)
	}
	return c
}

// TestUnlockCommandLiftsTheLockForFreshBrowsers runs `caddy session-auth
// unlock` with the same Caddyfile as the running server: on Redis it resets
// the counter there; on files, whose counters live in the server's memory,
// it asks the server through the admin endpoint the Caddyfile names.
func TestUnlockCommandLiftsTheLockForFreshBrowsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		options := "bcrypt_cost 10\n\t\t" + deviceOptions + b.lines(t)
		site(t, "session_auth /members/*", options)
		caddyfile := writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(t.TempDir(), "cli.log"), "session_auth /members/*", options))
		registerRetry(newClient(t), "erin", testPassword)
		registerRetry(newClient(t), "ezra", testPassword)
		lockAccount(t, "erin", 3)
		lockAccount(t, "ezra", 3)
		wantGenericFailure(t, loginRetry(newClient(t), "erin", testPassword), "locked, before the unlock")

		if out := mustRunCLI(t, "", "--config", caddyfile, "unlock", "ERIN"); out != "Unlocked erin.\n" {
			t.Fatalf("unlock printed %q", out)
		}
		c := newClient(t)
		if r := loginRetry(c, "erin", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("a fresh browser after the unlock: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, c.get("/members/x"), "the session made after the unlock")
		wantGenericFailure(t, loginRetry(newClient(t), "ezra", testPassword), "another locked account, not unlocked")
	})
}

// TestRightPasswordAmongSimultaneousGuessesNeverLogsInOnceTheLockIsSet: the
// right password, sent with as many wrong guesses as the limit allows,
// passes the lock's first look before its bcrypt; it is held right after
// the bcrypt until the guesses have been answered and the lock is set, and
// must then fail: the lock is looked at again after bcrypt.
func TestRightPasswordAmongSimultaneousGuessesNeverLogsInOnceTheLockIsSet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "frida", testPassword)

		result, release := loginHeld(t, &passwordChecked, "frida", testPassword)
		lockAccount(t, "frida", 3)
		wantGenericFailure(t, loginRetry(newClient(t), "frida", testPassword), "the lock is set")
		release()
		r := <-result
		wantGenericFailure(t, r, "the right password whose bcrypt ended before the lock was set")
		if slices.Contains(setCookieNames(r), defaultCookieName) {
			t.Fatal("the refused login set a session cookie")
		}
	})
}

// loginHeld sends a login of user and holds it where the login calls the
// test hook *hook (passwordChecked: right after its bcrypt comparison;
// stampChecked: once it is decided, before its session is made). It
// returns once the login is held; release lets it go on, and its answer
// then comes on result. Other logins pass the hook untouched.
func loginHeld(t *testing.T, hook *func(string), user, password string) (result <-chan response, release func()) {
	t.Helper()
	reached, proceed := make(chan struct{}), make(chan struct{})
	var holding atomic.Bool
	var done sync.Once
	release = func() { done.Do(func() { close(proceed) }) }
	*hook = func(username string) {
		if username == user && holding.CompareAndSwap(true, false) {
			close(reached)
			<-proceed
		}
	}
	t.Cleanup(func() {
		release()
		*hook = nil
	})
	deadline := time.Now().Add(2 * time.Minute)
	for {
		holding.Store(true)
		result := startLogin(newClient(t), user, password)
		select {
		case <-reached:
			return result, release
		case r := <-result:
			// Turned away as busy before its bcrypt: send it again.
			if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
				t.Fatalf("the login was answered (%d %q) without reaching the hook", r.status, errorText(r.body))
			}
			time.Sleep(50 * time.Millisecond)
		case <-time.After(time.Minute):
			t.Fatal("the login never reached the hook")
		}
	}
}

// startLogin sends a login from c in the background (its form opened
// first, here) and delivers the answer; a transport error comes back as
// status 0 with the error as the body.
func startLogin(c *client, user, password string) <-chan response {
	form := url.Values{"username": {user}, "password": {password}, formTokenField: {c.formToken("/auth/login")}}
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/auth/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", baseURL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	out := make(chan response, 1)
	go func() {
		resp, err := c.hc.Do(req)
		if err != nil {
			out <- response{body: err.Error()}
			return
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		out <- response{resp.StatusCode, resp.Header, string(body)}
	}()
	return out
}

// TestRegistrationMakesTheBrowserKnown: the browser that registered an
// account has used it as much as one that logged in, so it is a known
// browser for the account from then on: a stranger's lock does not hold
// for it.
func TestRegistrationMakesTheBrowserKnown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registering := newClient(t)
		registerRetry(registering, "rita", testPassword)
		if cookieOf(registering, deviceCookieName) == "" {
			t.Fatalf("registering gave the browser no %s cookie", deviceCookieName)
		}
		registering.logout()

		lockAccount(t, "rita", 3)
		wantGenericFailure(t, loginRetry(newClient(t), "rita", testPassword), "the right password from a fresh browser, account locked")
		if r := loginRetry(registering, "rita", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the registering browser during a stranger's lock: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, registering.get("/members/x"), "the registering browser's session made during the lock")
	})
}

// TestAPasswordChangeMakesEveryBrowserUnknownAgain: a device cookie
// carries the stamp of the password it was made under, so after the
// password is set anew (here by the operator, with `caddy session-auth
// password`), a browser known before is judged like a fresh one: the lock
// holds for it as for anyone. Its next login under the new password makes
// it known again.
func TestAPasswordChangeMakesEveryBrowserUnknownAgain(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		caddyfile := siteWithCLI(t, deviceOptions+b.lines(t))
		registerRetry(newClient(t), "paula", testPassword)
		owner := knownBrowser(t, "paula")
		before := cookieOf(owner, deviceCookieName)
		mustRunCLI(t, newPassword+"\n", "--config", caddyfile, "password", "paula")

		lockAccount(t, "paula", 3)
		wantGenericFailure(t, loginRetry(newClient(t), "paula", newPassword), "the new password from a fresh browser, account locked")
		wantGenericFailure(t, loginRetry(owner, "paula", newPassword), "the new password from the browser known before the change, account locked")
		if got := cookieOf(owner, deviceCookieName); got != before {
			t.Fatal("a refused login changed the browser's device cookie")
		}

		// After the lock, a login under the new password makes the browser
		// known again: the next lock does not hold for it.
		advance(11 * time.Minute) // the first lock lasts 10 minutes
		if r := loginRetry(owner, "paula", newPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the owner's browser after the lock ended: want 303, got %d %q", r.status, errorText(r.body))
		}
		lockAccount(t, "paula", 3)
		if r := loginRetry(owner, "paula", newPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the owner's browser, known again since the change, during a stranger's lock: want 303, got %d %q", r.status, errorText(r.body))
		}
	})
}
