package sessionauth

import (
	"encoding/hex"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"
)

// Rule 16 for the pages that end a user's sessions: the admin page's "end
// sessions" and the account page's "log out everywhere else" end every
// session made before, also one that the per-user index does not list (a
// session of a release without the index, an index write lost) and a
// login in flight: they renew the account's stamp, not only delete what
// the index lists.

// unlist takes the session that cookie names out of user's index, in the
// backend of lines, and leaves the session itself alive.
func unlist(t *testing.T, lines, user, cookie string) {
	t.Helper()
	id := sessionID(t, cookie)
	if f := strings.Fields(lines); slices.Contains(f, "sessions_dir") {
		dir := f[slices.Index(f, "sessions_dir")+1]
		if err := os.Remove(filepath.Join(dir, "u_"+hex.EncodeToString([]byte(user)), id)); err != nil {
			t.Fatalf("taking the session out of %s's index: %v", user, err)
		}
		return
	}
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if n, err := redis.Int(conn.Do("ZREM", keyPrefix(testRealm)+"sessions-of:"+user, id)); n != 1 || err != nil {
		t.Fatalf("taking the session out of %s's index: %d, %v", user, n, err)
	}
}

// TestEndingSessionsReachesUnlistedSessionsAndLoginsInFlight: for the
// admin's "end sessions" and the user's own "log out everywhere else",
// a session missing from the index and a login decided just before (its
// session made right after) work nowhere afterwards.
func TestEndingSessionsReachesUnlistedSessionsAndLoginsInFlight(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name string
			end  func(t *testing.T, ada, carl *client)
		}{
			{"admin ends sessions", func(t *testing.T, ada, _ *client) {
				wantSeeOther(t, ada.adminDo("end-sessions", "carl"), "/auth/admin?done=end-sessions", "ending carl's sessions")
			}},
			{"user logs out everywhere else", func(t *testing.T, _, carl *client) {
				carl.logOutElsewhere()
				wantGranted(t, carl.get("/members/x"), "the browser that logged out everywhere else")
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				lines := b.lines(t)
				ada, carl, _, _ := adminSetup(t, backend{b.name, func(*testing.T) string { return lines }}, "closed\n\t\tsecret "+testSecret)
				unlisted := loggedIn(t, "carl")
				unlist(t, lines, "carl", unlisted.cookie())
				wantGranted(t, unlisted.get("/members/x"), "the unlisted session before")
				listed := loggedIn(t, "carl")

				inFlight, release := loginHeld(t, &stampChecked, "carl", testPassword)
				tc.end(t, ada, carl)
				release()
				wantNoWorkingSession(t, <-inFlight, "a login decided just before the sessions were ended")
				wantDenied(t, unlisted.get("/members/x"), "a session the index does not list")
				wantDenied(t, listed.get("/members/x"), "a listed session")
				if r := newClient(t).login("carl", testPassword, "/"); r.status != http.StatusSeeOther {
					t.Fatalf("carl logging in afterwards: %d", r.status)
				}
			})
		}
	})
}

// TestPasswordChangeEndsAnOpenLoginStepEvenWithARightCode: a login whose
// password was right waits at its second step; the password changes on
// the account page meanwhile. The step ends: the right code opens nothing.
func TestPasswordChangeEndsAnOpenLoginStepEvenWithARightCode(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		owner := newClient(t)
		registerRetry(owner, "alice", testPassword)
		secret, _ := enrol(t, owner)
		step := newClient(t)
		step.passwordStep("alice", "/")
		stepToken := step.formToken("/auth/second-factor")

		const newPassword = "a brand new passphrase"
		wantSeeOther(t, owner.accountAction(url.Values{"action": {"password"}, "current_password": {testPassword}, "password": {newPassword}, "password_confirm": {newPassword}}), "/auth/account?done=password", "the password change")
		freshStep()
		wantStepOver(t, step, step.sendCodeWith(stepToken, codeAt(t, secret, 0)), "the right code in a step begun before the password change")
		wantGranted(t, owner.get("/members/x"), "the browser that changed the password")
	})
}
