package sessionauth

import (
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// Where the admin page stops: another admin's account is the operator's
// to change, from the command line, whatever the action; one realm has
// one admin role.

// TestAdminPageChangesNoOtherAdmin: enable, approve and "log out
// everywhere" are refused on another admin like every other action (an
// admin must not undo what the operator did to another admin, nor log one
// out), and the page offers no action on that account but says why.
func TestAdminPageChangesNoOtherAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, _, cli, logFile := adminSetup(t, b, "approval")
		newClient(t).register("dora", testPassword, "/") // pending
		cli("role", "add", "dora", "admin")
		if r := ada.adminDo("approve", "dora"); r.status != http.StatusConflict || !strings.Contains(r.body, "dora is an admin") {
			t.Fatalf("approving another admin: %d; want 409 saying dora is an admin:\n%s", r.status, clip(r.body))
		}
		if out := cli("list"); !strings.Contains(out, "pending") {
			t.Fatalf("dora approved anyway: %q", out)
		}
		cli("approve", "dora")
		dora := loggedIn(t, "dora")
		if r := ada.adminDo("end-sessions", "dora"); r.status != http.StatusConflict || !strings.Contains(r.body, "dora is an admin") {
			t.Fatalf("logging out another admin everywhere: %d; want 409:\n%s", r.status, clip(r.body))
		}
		wantGranted(t, dora.get("/members/x"), "dora after the refused log out")
		cli("disable", "dora")
		if r := ada.adminDo("enable", "dora"); r.status != http.StatusConflict || !strings.Contains(r.body, "dora is an admin") {
			t.Fatalf("enabling another admin the operator disabled: %d; want 409:\n%s", r.status, clip(r.body))
		}
		if r := newClient(t).login("dora", testPassword, "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("dora, disabled by the operator, after the refused enable: %d; want 401", r.status)
		}
		// One allowed action last, so that its line tells the log is
		// written up to here without waiting for lines that must not come.
		if r := ada.adminDo("end-sessions", "carl"); r.status != http.StatusSeeOther {
			t.Fatalf("ending carl's sessions: %d", r.status)
		}
		if lines := auditLines(t, logFile); len(lines) != 1 || lines[0]["user"] != "carl" {
			t.Fatalf("refused actions left audit lines: %v; want only the one of carl", lines)
		}
	})
}

// TestOneRealmHasOneAdminRole: two handlers of one realm with different
// admin roles are refused at load, naming the realm and both roles, and
// the running config stays; handlers of different realms may differ. A
// reload that changes a realm's admin_role is accepted (see
// TestAdminLinkDiesWhenAdminRoleComesToItsAccount).
func TestOneRealmHasOneAdminRole(t *testing.T) {
	const realm = "one-admin-role"
	site(t, "session_auth /members/*", fileBackend().lines(t)) // the running config, which must stay
	status, body := postLoad(t, twoSitesConfig(filepath.Join(t.TempDir(), "caddy.log"),
		"realm "+realm+"\n\t\tadmin_role admin", "realm "+realm+"\n\t\tadmin_role ops"))
	if status == http.StatusOK {
		t.Fatal("a config whose realm has two admin roles loaded")
	}
	for _, want := range []string{"realm " + realm, "admin_role", `\"admin\"`, `\"ops\"`} {
		if !strings.Contains(body, want) {
			t.Fatalf("the refusal does not name %s: %s", want, body)
		}
	}
	if r := newClient(t).get("/public.txt"); r.status != http.StatusOK || r.body != "public text" {
		t.Fatalf("the running config after the refused load: %d %q", r.status, r.body)
	}
	twoSites(t, "admin_role admin", "admin_role ops") // realms A and B
	twoSites(t, "realm "+realm+"\n\t\tadmin_role ops", "realm "+realm+"\n\t\tadmin_role ops")
}
