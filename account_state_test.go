package sessionauth

import (
	"net/http"
	"strings"
	"testing"
)

// Disabling and approval (DESIGN.md rule 16: disabling an account ends
// every session made before).

// cliFor runs the command against the store the lines name, for the test
// site's realm, and returns what it printed.
func cliFor(t *testing.T, lines string) func(args ...string) string {
	config := roleCLIConfig(t, lines)
	return func(args ...string) string {
		t.Helper()
		out, code, err := runCLI(t, "", append([]string{"--config", config}, args...)...)
		if err != nil || code != 0 {
			t.Fatalf("caddy session-auth %s: exit %d, %v", strings.Join(args, " "), code, err)
		}
		return out
	}
}

func TestDisabledAccountCannotLogInAndItsSessionsEnd(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+lines)
		cli := cliFor(t, lines)
		alice, bob := newClient(t), newClient(t)
		alice.register("alice", testPassword, "/")
		bob.register("bob", testPassword, "/")
		wantGranted(t, alice.get("/members/x"), "alice before disable")

		if out := cli("disable", "alice"); out != "Disabled alice and ended 1 session.\n" {
			t.Fatalf("disable printed %q", out)
		}
		wantDenied(t, alice.get("/members/x"), "alice's session right after disable")
		wantGranted(t, bob.get("/members/x"), "bob after alice was disabled")
		r := newClient(t).login("alice", testPassword, "/")
		if r.status != http.StatusUnauthorized || errorText(r.body) != loginFailed {
			t.Fatalf("login to a disabled account: %d %q; want 401 with the one generic message", r.status, errorText(r.body))
		}
		if out := cli("disable", "alice"); out != "Nothing to do: alice is disabled already.\n" {
			t.Fatalf("a second disable printed %q", out)
		}
		if out := cli("list"); !strings.Contains(out, "alice\t") || !strings.Contains(out, "\tdisabled\n") || strings.Count(out, "disabled") != 1 {
			t.Fatalf("list printed %q; want alice marked disabled", out)
		}
		if out := cli("enable", "alice"); out != "Enabled alice.\n" {
			t.Fatalf("enable printed %q", out)
		}
		wantDenied(t, alice.get("/members/x"), "alice's old session after enable (it was ended)")
		c := newClient(t)
		if r := c.login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login after enable: %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "alice after enable and a new login")
	})
}

// TestApprovalRegistrationWaitsForTheOperator: with registration approval,
// an account is made pending and gets no session; its owner, with the
// right password only, is told it waits; approve lets it in.
func TestApprovalRegistrationWaitsForTheOperator(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration approval\n\t\t"+unthrottled+"\n\t\t"+lines)
		cli := cliFor(t, lines)
		c := newClient(t)
		if r := c.get("/auth/login"); !strings.Contains(r.body, "/auth/register") {
			t.Fatalf("the login page under approval must offer registration:\n%s", r.body)
		}
		r := c.register("carol", testPassword, "/members/x")
		if r.status != http.StatusAccepted || !strings.Contains(r.body, "waits for approval") || c.cookie() != "" {
			t.Fatalf("register under approval: %d, cookie %q; want 202 saying it waits, and no session:\n%s", r.status, c.cookie(), r.body)
		}
		wantDenied(t, c.get("/members/x"), "a pending account right after registering")
		if r := c.login("carol", testPassword, "/"); r.status != http.StatusForbidden || !strings.Contains(r.body, "waits for approval") || c.cookie() != "" {
			t.Fatalf("login to a pending account: %d; want 403 saying it waits, no session:\n%s", r.status, r.body)
		}
		if r := c.login("carol", "not the password", "/"); r.status != http.StatusUnauthorized || strings.Contains(r.body, "approval") {
			t.Fatalf("a wrong password for a pending account: %d; want the generic 401, nothing about approval:\n%s", r.status, r.body)
		}
		if out := cli("list"); !strings.Contains(out, "\tpending\n") {
			t.Fatalf("list printed %q; want carol pending", out)
		}
		if out := cli("approve", "carol"); out != "Approved carol; the account can log in now.\n" {
			t.Fatalf("approve printed %q", out)
		}
		if out := cli("approve", "carol"); out != "Nothing to do: carol is not waiting for approval.\n" {
			t.Fatalf("a second approve printed %q", out)
		}
		if r := c.login("carol", testPassword, "/members/x"); r.status != http.StatusSeeOther {
			t.Fatalf("login after approval: %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "carol after approval")
	})
}
