package sessionauth

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// DESIGN.md rule 18: "recent" means a credential proved recently
// (authenticated_at), never a session made recently. Re-issuing a session
// (log out everywhere else, a password change) keeps its authenticated_at
// and its absolute expiry.

// staleLogin is a little more than reauthAfter: a login this old must
// prove the password again before an admin action.
const staleLogin = reauthAfter + 30*time.Second

// adminActions are every action of the admin page but "confirm", each as
// the form fields it posts, on the account carl.
var adminActions = []struct {
	name   string
	fields []string
}{
	{"grant the admin role", []string{"action", "roles", "user", "carl", "roles", "admin"}},
	{"make a reset link", []string{"action", "reset-link", "user", "carl"}},
	{"make an invitation", []string{"action", "invite", "roles", "admin"}},
	{"approve", []string{"action", "approve", "user", "carl"}},
	{"disable", []string{"action", "disable", "user", "carl"}},
	{"enable", []string{"action", "enable", "user", "carl"}},
	{"end sessions", []string{"action", "end-sessions", "user", "carl"}},
	{"delete", []string{"action", "delete", "user", "carl"}},
}

// adminPost posts one admin action given as name/value pairs.
func (c *client) adminPost(fields []string) response {
	c.t.Helper()
	form := url.Values{}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return c.post("/auth/admin", form)
}

// wantConfirmFirst asserts an admin action refused for want of a recent
// password check, with nothing done and no link shown.
func wantConfirmFirst(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Confirm your password first") || shownLink.MatchString(r.body) {
		t.Fatalf("%s: %d; want 401 asking to confirm the password, and no link:\n%s", what, r.status, clip(r.body))
	}
}

// wantActionDone asserts an admin action that ran: a 303 back to the page,
// or the page with the link it made.
func wantActionDone(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusSeeOther && (r.status != http.StatusOK || !shownLink.MatchString(r.body)) {
		t.Fatalf("%s: %d; want the action done:\n%s", what, r.status, clip(r.body))
	}
}

// listLine is user's line in the command's list ("" when not listed).
func listLine(t *testing.T, cli func(...string) string, user string) string {
	t.Helper()
	for line := range strings.SplitSeq(cli("list"), "\n") {
		if strings.HasPrefix(line, user+"\t") {
			return line
		}
	}
	return ""
}

// logOutElsewhere is the account page's "Log out everywhere else".
func (c *client) logOutElsewhere() {
	c.t.Helper()
	before := c.cookie()
	wantSeeOther(c.t, c.accountAction(url.Values{"action": {"end-others"}}), "/auth/account?done=others", "log out everywhere else")
	if c.cookie() == before {
		c.t.Fatal("log out everywhere else kept this browser's session id")
	}
}

// TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere: an
// admin login 10½ minutes old cannot run any admin action (invitations
// and reset links included), and "log out everywhere else", which asks
// for no password, does not make it recent. Confirming the password opens
// the actions for 10 minutes from the confirmation; so does a password
// change or a second factor set up (each takes the password).
func TestEveryAdminActionRefusesAStaleLoginEvenAfterLoggingOutElsewhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, carl, cli, logFile := adminSetup(t, b, "invite")
		advance(staleLogin)
		ada.logOutElsewhere()
		if r := ada.get("/auth/admin"); !strings.Contains(r.body, "confirm your password") || strings.Contains(r.body, `value="disable"`) {
			t.Fatalf("a stale login's admin page after log out everywhere else: want the confirmation and no actions:\n%s", clip(r.body))
		}
		for _, a := range adminActions {
			wantConfirmFirst(t, ada.adminPost(a.fields), a.name+" from a stale login after log out everywhere else")
		}
		if line := listLine(t, cli, "carl"); line == "" || strings.Contains(line, "admin") || strings.Contains(line, "disabled") {
			t.Fatalf("an action of the stale login ran anyway: carl is listed as %q", line)
		}
		wantGranted(t, carl.get("/members/x"), "carl after the refused actions")

		stale := ada.cookie()
		wantSeeOther(t, ada.adminDo("confirm", "", "password", testPassword), "/auth/admin?done=confirmed", "confirming the password")
		if ada.cookie() == stale {
			t.Fatal("the confirmation kept the session id")
		}
		wantDenied(t, withCookie(t, stale).get("/members/x"), "the session id from before the confirmation")
		advance(reauthAfter - 30*time.Second)
		for _, a := range adminActions {
			wantActionDone(t, ada.adminPost(a.fields), a.name+" 9½ minutes after confirming")
			if a.name == "grant the admin role" {
				cli("role", "remove", "carl", "admin") // so that carl stays an account ada may change
			}
		}
		if lines := auditLines(t, logFile); len(lines) < 2 || lines[0]["action"] != "confirm password" {
			t.Fatalf("audit lines %v; want the confirmation first: no action of the stale login", lines)
		}

		invite := []string{"action", "invite"}
		advance(time.Minute) // 10½ minutes after the confirmation
		wantConfirmFirst(t, ada.adminPost(invite), "an invitation 10½ minutes after confirming")
		ada.logOutElsewhere()
		wantConfirmFirst(t, ada.adminPost(invite), "an invitation 10½ minutes after confirming, after log out everywhere else")
		enrol(t, ada)
		wantActionDone(t, ada.adminPost(invite), "an invitation right after setting up an authenticator app")

		advance(staleLogin)
		wantConfirmFirst(t, ada.adminPost(invite), "an invitation 10½ minutes after setting up the app")
		const newPassword = "a brand new passphrase"
		wantSeeOther(t, ada.accountAction(url.Values{"action": {"password"}, "current_password": {testPassword}, "password": {newPassword}, "password_confirm": {newPassword}}), "/auth/account?done=password", "the password change")
		wantActionDone(t, ada.adminPost(invite), "an invitation right after changing the password")
	})
}

// sessionEnds is when the client's session ends unless used again, and
// whether it is remembered, as GET /auth/session says.
func (c *client) sessionEnds() (time.Time, bool) {
	c.t.Helper()
	r, v := c.api(http.MethodGet, "/auth/session", "")
	ends, err := time.Parse(time.RFC3339, fmt.Sprint(v["expires"]))
	if r.status != http.StatusOK || err != nil {
		c.t.Fatalf("GET /auth/session: %d %q", r.status, r.body)
	}
	return ends, v["remember"] == true
}

// TestLogOutEverywhereElseNeverExtendsTheLifetime: "log out everywhere
// else", repeated, gives this browser new session ids, but its login ends
// when it always would: at the lifetime (or the remember-me lifetime)
// counted from the login.
func TestLogOutEverywhereElseNeverExtendsTheLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		for _, tc := range []struct {
			name     string
			remember string
			steps    []time.Duration // between the repeats, then to the end of the lifetime
		}{
			{"session", "", []time.Duration{20 * time.Minute, 20 * time.Minute, 15 * time.Minute, 5 * time.Minute}},
			{"remembered", "1", []time.Duration{2*time.Hour + 10*time.Minute, 40 * time.Minute, 10 * time.Minute}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				lines := b.lines(t)
				site(t, "session_auth /members/*", "lifetime 1h\n\t\tremember_me 3h\n\t\t"+unthrottled+"\n\t\t"+lines)
				addUser(t, lines, "alice")
				c := newClient(t)
				if r := c.post("/auth/login", url.Values{"username": {"alice"}, "password": {testPassword}, "remember": {tc.remember}}); r.status != http.StatusSeeOther {
					t.Fatalf("login: %d", r.status)
				}
				ends, remembered := c.sessionEnds()
				if remembered != (tc.remember != "") {
					t.Fatalf("the login: remembered %v", remembered)
				}
				for _, step := range tc.steps[:len(tc.steps)-1] {
					advance(step)
					c.logOutElsewhere()
					if got, still := c.sessionEnds(); !got.Equal(ends) || still != remembered {
						t.Fatalf("after log out everywhere else, the session ends at %v (remembered %v); want %v (%v), as the login did", got, still, ends, remembered)
					}
					wantGranted(t, c.get("/members/x"), "the re-issued session within the login's lifetime")
				}
				advance(tc.steps[len(tc.steps)-1] + time.Second)
				wantDenied(t, c.get("/members/x"), "the re-issued session past the login's lifetime")
			})
		}
	})
}

// TestPasswordChangeKeepsTheAbsoluteExpiry: a password change re-issues
// the session, which still ends at the login's lifetime.
func TestPasswordChangeKeepsTheAbsoluteExpiry(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tlifetime 1h\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		c := newClient(t)
		registerRetry(c, "alice", testPassword)
		ends, _ := c.sessionEnds()
		advance(50 * time.Minute)
		const newPassword = "a brand new passphrase"
		before := c.cookie()
		wantSeeOther(t, c.accountAction(url.Values{"action": {"password"}, "current_password": {testPassword}, "password": {newPassword}, "password_confirm": {newPassword}}), "/auth/account?done=password", "the password change")
		if c.cookie() == before {
			t.Fatal("the password change kept the session id")
		}
		if got, _ := c.sessionEnds(); !got.Equal(ends) {
			t.Fatalf("after the password change, the session ends at %v; want %v, as the login did", got, ends)
		}
		advance(10*time.Minute + time.Second)
		wantDenied(t, c.get("/members/x"), "the re-issued session past the login's lifetime")
	})
}
