package sessionauth

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The admin page (DESIGN.md rule 17: admin actions need a recent password
// check and leave an audit line).

// adminSetup is a site with the given registration mode whose account
// "ada" has the admin role and "carl" none, both logged in; it returns
// their clients, the command and the server's log.
func adminSetup(t *testing.T, b backend, registration string) (ada, carl *client, cli func(...string) string, logFile string) {
	t.Helper()
	lines := "registration " + registration + "\n\t\t" + b.lines(t)
	logFile = site(t, "session_auth /members/*", "ip_limit 100000 15m\n\t\t"+lines)
	cli = cliFor(t, lines)
	config := roleCLIConfig(t, lines)
	for _, name := range []string{"ada", "carl"} {
		if out, code, err := runCLI(t, testPassword+"\n", "--config", config, "add", name); code != 0 || err != nil {
			t.Fatalf("add %s: %q %d %v", name, out, code, err)
		}
	}
	cli("role", "add", "ada", "admin")
	ada, carl = loggedIn(t, "ada"), loggedIn(t, "carl")
	return ada, carl, cli, logFile
}

// adminDo posts one action of the admin page for user.
func (c *client) adminDo(action, user string, extra ...string) response {
	c.t.Helper()
	form := url.Values{"action": {action}, "user": {user}}
	for i := 0; i+1 < len(extra); i += 2 {
		form.Set(extra[i], extra[i+1])
	}
	return c.post("/auth/admin", form)
}

// auditLines are the admin actions the log holds, as their fields.
func auditLines(t *testing.T, logFile string) []map[string]any {
	t.Helper()
	var lines []map[string]any
	for _, line := range strings.Split(readLog(t, logFile, "admin action"), "\n") {
		var entry map[string]any
		if json.Unmarshal([]byte(line), &entry) == nil && entry["logger"] == auditLogger && entry["event"] == "admin_action" {
			lines = append(lines, entry)
		}
	}
	return lines
}

func TestAdminPageIsForAdminsOnly(t *testing.T) {
	ada, carl, _, _ := adminSetup(t, fileBackend(), "closed")
	wantSeeOther(t, newClient(t).get("/auth/admin"), "/auth/login?next=%2Fauth%2Fadmin", "a browser without a session")
	if r := carl.get("/auth/admin"); r.status != http.StatusForbidden || strings.Contains(r.body, "ada") {
		t.Fatalf("an account without the admin role: %d; want 403 showing no account:\n%s", r.status, r.body)
	}
	// A browser that holds a real admin form token (an admin used it, or
	// its account lost the role since) posts as an account without the role.
	shared := loggedIn(t, "ada")
	token := pageToken(t, shared.get("/auth/admin"))
	if r := shared.login("carl", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("carl logging in: %d", r.status)
	}
	if r := shared.post("/auth/admin", url.Values{"action": {"end-sessions"}, "user": {"ada"}, formTokenField: {token}}); r.status != http.StatusForbidden {
		t.Fatalf("an admin action from an account without the role, with an admin form token: %d; want 403", r.status)
	}
	wantGranted(t, ada.get("/members/x"), "ada after carl's refused action")
	r := ada.get("/auth/admin")
	if r.status != http.StatusOK || !strings.Contains(r.body, "<strong>carl</strong>") || !strings.Contains(r.body, "2 accounts") {
		t.Fatalf("the admin's page: %d; want both accounts listed:\n%s", r.status, r.body)
	}
	if r := ada.get("/auth/admin?q=car"); !strings.Contains(r.body, "<strong>carl</strong>") || strings.Contains(r.body, "<strong>ada</strong>") {
		t.Fatalf("searching for car: want carl only:\n%s", r.body)
	}
}

var shownLink = regexp.MustCompile(`id="new-link" type="text" readonly value="([^"]+)"`)

// TestAdminActionsApplyAtOnceAndLeaveAnAuditLine: each action does what it
// says, on every session at once, and logs one audit line with who, what,
// whom and where, and no secret.
func TestAdminActionsApplyAtOnceAndLeaveAnAuditLine(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, carl, cli, logFile := adminSetup(t, b, "approval")
		dora := newClient(t)
		dora.register("dora", testPassword, "/") // pending
		if r := ada.get("/auth/admin"); !strings.Contains(r.body, "Waits for approval") {
			t.Fatalf("want dora shown as waiting:\n%s", r.body)
		}
		wantSeeOther(t, ada.adminDo("approve", "dora"), "/auth/admin?done=approve", "approve")
		dora = loggedIn(t, "dora")
		wantSeeOther(t, ada.adminDo("roles", "dora", "roles", "Editors, staff"), "/auth/admin?done=roles", "roles")
		if out := cli("list"); !strings.Contains(out, "dora\t") || !strings.Contains(out, "\teditors,staff") {
			t.Fatalf("dora's roles: %q", out)
		}
		wantSeeOther(t, ada.adminDo("disable", "carl"), "/auth/admin?done=disable", "disable")
		wantDenied(t, carl.get("/members/x"), "carl right after disable")
		if r := newClient(t).login("carl", testPassword, "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("login to a disabled account: %d", r.status)
		}
		wantSeeOther(t, ada.adminDo("enable", "carl"), "/auth/admin?done=enable", "enable")
		carl = loggedIn(t, "carl")
		wantSeeOther(t, ada.adminDo("end-sessions", "dora"), "/auth/admin?done=end-sessions", "end sessions")
		wantDenied(t, dora.get("/members/x"), "dora after her sessions were ended")

		r := ada.adminDo("reset-link", "dora")
		m := shownLink.FindStringSubmatch(r.body)
		if r.status != http.StatusOK || m == nil || r.header.Get("Referrer-Policy") != "origin" {
			t.Fatalf("reset link: %d, Referrer-Policy %q; want the page showing the link:\n%s", r.status, r.header.Get("Referrer-Policy"), r.body)
		}
		link, _ := url.Parse(m[1])
		if link.Host != strings.TrimPrefix(baseURL, "http://") || link.Path != "/auth/reset" {
			t.Fatalf("the link %q; want this site's /auth/reset", link)
		}
		page := dora.get(link.RequestURI())
		const newPassword = "a brand new passphrase"
		wantSeeOther(t, dora.post("/auth/reset", url.Values{"token": {link.Query().Get("token")}, "password": {newPassword}, "password_confirm": {newPassword}, formTokenField: {pageToken(t, page)}}), "/auth/login?reset=1", "dora using the reset link")
		if r := newClient(t).login("dora", newPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("dora with the password she set: %d", r.status)
		}

		cli("role", "add", "dora", "admin")
		for _, tc := range []struct{ action, user, extra, says string }{
			{"disable", "ada", "", "your own account"},
			{"delete", "ada", "", "your own account"},
			{"roles", "ada", "staff", "from yourself"},
			{"disable", "dora", "", "dora is an admin"},
			{"delete", "dora", "", "dora is an admin"},
			{"reset-link", "dora", "", "dora is an admin"},
			{"roles", "dora", "staff", "dora is an admin"},
		} {
			if r := ada.adminDo(tc.action, tc.user, "roles", tc.extra); r.status != http.StatusConflict || !strings.Contains(r.body, tc.says) {
				t.Fatalf("%s of %s: %d; want 409 saying %q:\n%s", tc.action, tc.user, r.status, tc.says, r.body)
			}
		}
		wantSeeOther(t, ada.adminDo("delete", "carl"), "/auth/admin?done=delete", "delete")
		wantDenied(t, carl.get("/members/x"), "carl after his account was deleted")
		if out := cli("list"); strings.Contains(out, "carl") {
			t.Fatalf("carl still listed after delete: %q", out)
		}

		want := []string{"approve dora", "roles dora", "disable carl", "enable carl", "end-sessions dora", "make reset link dora", "delete carl"}
		lines := auditLines(t, logFile)
		var got []string
		for _, l := range lines {
			got = append(got, l["action"].(string)+" "+l["user"].(string))
			if l["admin"] != "ada" || l["client_ip"] != "127.0.0.1" || l["realm"] != testRealm {
				t.Fatalf("audit line %v; want admin ada, client_ip 127.0.0.1, realm %s", l, testRealm)
			}
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("audit lines %q; want %q", got, want)
		}
		if log := readLog(t, logFile, ""); strings.Contains(log, link.Query().Get("token")) || strings.Contains(log, newPassword) || strings.Contains(log, testPassword) {
			t.Fatal("the log holds the reset link's token or a password")
		}
	})
}

// TestAdminActionsNeedARecentPassword: a login older than 10 minutes must
// confirm the password before any action; a confirmation re-issues the
// session under a new id; a wrong one counts against the lock.
func TestAdminActionsNeedARecentPassword(t *testing.T) {
	ada, _, cli, logFile := adminSetup(t, fileBackend(), "closed")
	advance(11 * time.Minute)
	if r := ada.get("/auth/admin"); !strings.Contains(r.body, "confirm your password") || strings.Contains(r.body, `value="disable"`) {
		t.Fatalf("an old login's admin page: want the confirmation and no actions:\n%s", r.body)
	}
	if r := ada.adminDo("disable", "carl"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Confirm your password first") {
		t.Fatalf("an action from an old login: %d; want 401 asking to confirm:\n%s", r.status, r.body)
	}
	if out := cli("list"); strings.Contains(out, "disabled") {
		t.Fatalf("the action ran anyway: %q", out)
	}
	if r := ada.adminDo("confirm", "", "password", "not my password"); r.status != http.StatusUnauthorized || !strings.Contains(r.body, "not your password") {
		t.Fatalf("a wrong confirmation: %d:\n%s", r.status, r.body)
	}
	before := ada.cookie()
	wantSeeOther(t, ada.adminDo("confirm", "", "password", testPassword), "/auth/admin?done=confirmed", "confirming")
	if ada.cookie() == before {
		t.Fatal("the confirmation kept the old session id")
	}
	wantSeeOther(t, ada.adminDo("disable", "carl"), "/auth/admin?done=disable", "an action right after confirming")
	if lines := auditLines(t, logFile); len(lines) != 2 || lines[0]["action"] != "confirm password" || lines[1]["action"] != "disable" {
		t.Fatalf("audit lines %v; want the confirmation and the disable", lines)
	}
}

func TestAdminMakesInvitations(t *testing.T) {
	ada, _, cli, _ := adminSetup(t, redisBackend(), "invite")
	r := ada.post("/auth/admin", url.Values{"action": {"invite"}, "roles": {"staff"}})
	m := shownLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("making an invitation: %d:\n%s", r.status, r.body)
	}
	link, _ := url.Parse(m[1])
	c := newClient(t)
	page := c.get(link.RequestURI())
	form := url.Values{"username": {"erin"}, "password": {testPassword}, "password_confirm": {testPassword}, "invite": {link.Query().Get("invite")}, formTokenField: {pageToken(t, page)}}
	if r := c.post("/auth/register", form); r.status != http.StatusSeeOther {
		t.Fatalf("registering with the admin's invitation: %d:\n%s", r.status, r.body)
	}
	if out := cli("list"); !strings.Contains(out, "erin\t") || !strings.Contains(out, "\tstaff") {
		t.Fatalf("erin with the role staff: %q", out)
	}
}
