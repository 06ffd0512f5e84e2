package sessionauth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// What the admin page shows: a table of the accounts with their roles,
// state and last login, the roles an invitation carries, and Copy buttons
// that need JavaScript to appear.

// accountRow is the admin page's table row of user.
func accountRow(t *testing.T, page, user string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<tr>\s*<th scope="row"><strong>` + regexp.QuoteMeta(user) + `</strong>.*?</tr>`).FindString(page)
	if m == "" {
		t.Fatalf("no row of %s on the admin page:\n%s", user, clip(page))
	}
	return m
}

// TestAdminPageShowsAccountsWithRolesStateAndLastLogin: one row per
// account with its roles, its state and when it last logged in (stored at
// each login, "never" before the first), and no action on another admin,
// but why.
func TestAdminPageShowsAccountsWithRolesStateAndLastLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := "registration closed\n\t\t" + noLimits + "\n\t\t" + b.lines(t)
		site(t, "session_auth /members/*", lines)
		cli := cliFor(t, lines)
		config := roleCLIConfig(t, lines)
		for _, name := range []string{"ada", "carl", "dora", "erin"} {
			if out, code, err := runCLI(t, testPassword+"\n", "--config", config, "add", name); code != 0 || err != nil {
				t.Fatalf("add %s: %q %d %v", name, out, code, err)
			}
		}
		cli("role", "add", "ada", "admin")
		cli("role", "add", "dora", "admin")
		cli("role", "add", "carl", "staff", "editors")
		ada := loggedIn(t, "ada")
		loggedIn(t, "carl")
		cli("disable", "carl")

		page := ada.get("/auth/admin").body
		if !strings.Contains(page, `<table class="accounts">`) || !strings.Contains(page, `<th scope="col">Last login</th>`) {
			t.Fatalf("the admin page has no table of accounts:\n%s", clip(page))
		}
		carl := accountRow(t, page, "carl")
		for _, want := range []string{`<td data-label="Roles"><span class="roles">editors, staff</span></td>`, `<td data-label="State"><span class="tag warn">Disabled</span></td>`} {
			if !strings.Contains(carl, want) {
				t.Fatalf("carl's row lacks %s:\n%s", want, carl)
			}
		}
		for _, name := range []string{"ada", "carl"} {
			if !shownLogin.MatchString(accountRow(t, page, name)) {
				t.Fatalf("%s's row does not say when %s logged in:\n%s", name, name, accountRow(t, page, name))
			}
		}
		dora := accountRow(t, page, "dora")
		if strings.Contains(dora, "<form") || !strings.Contains(dora, "An admin: change from the command line") {
			t.Fatalf("dora's row (another admin) offers actions, or does not say why not:\n%s", dora)
		}
		if !strings.Contains(carl, `aria-label="Enable: carl"`) || !strings.Contains(carl, `aria-label="Delete: carl"`) {
			t.Fatalf("carl's row lacks its actions:\n%s", carl)
		}
		erin := accountRow(t, page, "erin")
		if !strings.Contains(erin, `<td data-label="Last login"><span class="none">never</span></td>`) || !strings.Contains(erin, `<td data-label="State">Active</td>`) {
			t.Fatalf("erin, who never logged in, is not shown so:\n%s", erin)
		}
	})
}

var shownLogin = regexp.MustCompile(`<td data-label="Last login">\d{1,2} [A-Z][a-z]{2} \d{4}, \d\d:\d\d UTC</td>`)

// TestAdminInvitationSaysItsRoles: the page that shows a new invitation
// says which roles the new account gets (the link's and default_roles),
// and offers a Copy button, shipped hidden for the script to show.
func TestAdminInvitationSaysItsRoles(t *testing.T) {
	lines := "registration invite\n\t\tdefault_roles member\n\t\t" + noLimits + "\n\t\t" + fileBackend().lines(t)
	site(t, "session_auth /members/*", lines)
	if out, code, err := runCLI(t, testPassword+"\n", "--config", roleCLIConfig(t, lines), "add", "ada"); code != 0 || err != nil {
		t.Fatalf("add ada: %q %d %v", out, code, err)
	}
	cliFor(t, lines)("role", "add", "ada", "admin")
	ada := loggedIn(t, "ada")
	r := ada.post("/auth/admin", url.Values{"action": {"invite"}, "roles": {"staff, editors"}})
	if r.status != http.StatusOK || !strings.Contains(r.body, "<strong>Invitation with the roles editors, member and staff</strong>") {
		t.Fatalf("the invitation's page: %d; want it to name the roles editors, member and staff:\n%s", r.status, clip(r.body))
	}
	if !strings.Contains(r.body, `<button type="button" class="small" data-copy="new-link" hidden>Copy</button>`) {
		t.Fatalf("the invitation's page has no Copy button for the script to show:\n%s", clip(r.body))
	}
	if js := ada.get("/auth/copy.js"); js.status != http.StatusOK || js.header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(js.body, "data-copy") {
		t.Fatalf("copy.js: %d %q", js.status, js.header.Get("Content-Type"))
	}
}
