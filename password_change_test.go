package sessionauth

import (
	"io"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// Rule 16: changing, resetting or removing a password ends every session
// made before, including logins that were in flight, on the very next
// request, even one the server would answer from its memory of sessions.

const newPassword = "a brand new password 7"

// siteWithCLI loads the test site with options and writes the same
// Caddyfile to disk, so that `caddy session-auth` acts on the running
// server's realm and store, as an operator's would.
func siteWithCLI(t *testing.T, options string) (caddyfile string) {
	t.Helper()
	options = "bcrypt_cost 10\n\t\t" + options
	site(t, "session_auth /members/*", options)
	return writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(t.TempDir(), "cli.log"), "session_auth /members/*", options))
}

// wantNoWorkingSession asserts that a login answered r made no session
// that works: it failed as every failed login does, or its cookie is
// refused on its very first use.
func wantNoWorkingSession(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusSeeOther {
		wantGenericFailure(t, r, what)
		return
	}
	ck := sessionCookie(r)
	if ck == nil {
		t.Fatalf("%s: a 303 without a session cookie", what)
	}
	c := withCookie(t, ck.Value)
	wantDenied(t, c.getAPI("/members/x"), what+": the session's first use")
	wantDenied(t, c.get("/members/x"), what+": the session's second use")
}

func TestLoginInFlightWhileThePasswordChangesMakesNoWorkingSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		caddyfile := siteWithCLI(t, "registration open\n\t\t"+b.lines(t))
		registerRetry(newClient(t), "gwen", testPassword)

		// The login's bcrypt has accepted the old password; before it is
		// decided, the operator resets the password.
		result, release := loginHeld(t, &passwordChecked, "gwen", testPassword)
		mustRunCLI(t, newPassword+"\n", "--config", caddyfile, "password", "gwen")
		release()
		// The login looks at the stamp again after bcrypt: it fails at once,
		// rather than handing out a cookie that the gate would refuse.
		wantGenericFailure(t, <-result, "a login that checked the old password while it was reset")

		wantGenericFailure(t, loginRetry(newClient(t), "gwen", testPassword), "the old password afterwards")
		c := newClient(t)
		if r := loginRetry(c, "gwen", newPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the new password: want 303, got %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "the session made with the new password")
	})
}

// TestPasswordChangeAfterTheLoginIsDecidedStillEndsItsSession: the
// password changes after the login has found the stamp unchanged, so the
// session is made (after the command has ended the user's sessions) with
// the old password's stamp; the gate must refuse it on its first use.
func TestPasswordChangeAfterTheLoginIsDecidedStillEndsItsSession(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		caddyfile := siteWithCLI(t, "registration open\n\t\t"+b.lines(t))
		registerRetry(newClient(t), "hedda", testPassword)

		result, release := loginHeld(t, &stampChecked, "hedda", testPassword)
		mustRunCLI(t, newPassword+"\n", "--config", caddyfile, "password", "hedda")
		release()
		wantNoWorkingSession(t, <-result, "a login decided just before the password was reset")
	})
}

// TestTheCommandEndsSessionsOnTheNextRequestEvenFromMemory: the server
// answers a session's requests from memory for up to session.MemoryBound.
// The session is in use all the while the command runs (the password's
// bcrypt alone outlasts one memory), so the server always remembers it
// freshly; the very next request after the command returns is refused.
func TestTheCommandEndsSessionsOnTheNextRequestEvenFromMemory(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			action, stdin string
		}{
			{"password", newPassword + "\n"},
			{"remove", ""},
		} {
			t.Run(tc.action, func(t *testing.T) {
				caddyfile := siteWithCLI(t, "registration open\n\t\t"+b.lines(t))
				victim, bystander := newClient(t), newClient(t)
				registerRetry(victim, "hana", testPassword)
				registerRetry(bystander, "ivan", testPassword)
				for range 2 { // the second is answered from memory
					wantGranted(t, victim.get("/members/x"), "before the command")
					wantGranted(t, bystander.get("/members/x"), "the bystander before the command")
				}
				stop := keepUsing(victim.cookie())
				mustRunCLI(t, tc.stdin, "--config", caddyfile, tc.action, "hana")
				stop()
				wantDenied(t, victim.get("/members/x"), "the very next request after "+tc.action)
				wantDenied(t, victim.getAPI("/members/x"), "the request after that")
				wantGranted(t, bystander.get("/members/x"), "another user's session")
			})
		}
	})
}

// keepUsing requests a protected page with the session cookie, again and
// again, until stop is called; stop returns once the last request is done.
func keepUsing(cookie string) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		hc := &http.Client{Timeout: 10 * time.Second}
		for {
			select {
			case <-done:
				return
			default:
			}
			req, _ := http.NewRequest(http.MethodGet, baseURL+"/members/x", nil)
			req.Header.Set("Accept", "application/json")
			req.AddCookie(&http.Cookie{Name: defaultCookieName, Value: cookie})
			if resp, err := hc.Do(req); err == nil {
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}
