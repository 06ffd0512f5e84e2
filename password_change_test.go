package sessionauth

import (
	"net/http"
	"path/filepath"
	"testing"
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
		wantNoWorkingSession(t, <-result, "a login that checked the old password while it was reset")

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
				// The second request of each is answered from memory.
				for range 2 {
					wantGranted(t, victim.get("/members/x"), "before the command")
					wantGranted(t, bystander.get("/members/x"), "the bystander before the command")
				}
				mustRunCLI(t, tc.stdin, "--config", caddyfile, tc.action, "hana")
				wantDenied(t, victim.get("/members/x"), "the very next request after "+tc.action)
				wantDenied(t, victim.getAPI("/members/x"), "the request after that")
				wantGranted(t, bystander.get("/members/x"), "another user's session")
			})
		}
	})
}
