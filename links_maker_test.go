package sessionauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// A link made on the admin page is worth no more than its maker: once the
// admin who made it has lost the admin role, is disabled or is gone, the
// link is refused, like one never issued. A rogue admin cannot leave
// invitations carrying the admin role, or reset links, behind for after
// the operator took their power away. Links from the command line are the
// operator's own and keep working.

// adminInviteLink has admin make an invitation with roles on the admin
// page and returns its path.
func adminInviteLink(t *testing.T, admin *client, roles string) string {
	t.Helper()
	r := admin.post("/auth/admin", url.Values{"action": {"invite"}, "roles": {roles}})
	m := shownLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("an invitation on the admin page: %d; want the page showing the link:\n%s", r.status, clip(r.body))
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// registerWith registers name with the invitation at path, posting the
// form token of the invitation's page, opened by c while it worked.
func registerWith(c *client, path, name, formToken string) response {
	u, _ := url.Parse(path)
	return c.post("/auth/register", url.Values{"username": {name}, "password": {testPassword}, "password_confirm": {testPassword},
		"invite": {u.Query().Get("invite")}, formTokenField: {formToken}})
}

// openInvitation opens an invitation that must work, and returns the form
// token of its page.
func openInvitation(t *testing.T, c *client, path, what string) string {
	t.Helper()
	r := c.get(path)
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d; want the registration form:\n%s", what, r.status, clip(r.body))
	}
	return pageToken(t, r)
}

// wantDeadInvitation asserts that an invitation is refused as not valid,
// opened or posted (with a form token from when it worked), and that
// nobody registered with it.
func wantDeadInvitation(t *testing.T, c *client, path, formToken, name string, cli func(...string) string, what string) {
	t.Helper()
	if r := c.get(path); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Fatalf("%s, opened: %d; want 404 not valid:\n%s", what, r.status, clip(r.body))
	}
	if r := registerWith(c, path, name, formToken); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Fatalf("%s, posted: %d; want 404 not valid:\n%s", what, r.status, clip(r.body))
	}
	if out := cli("list"); strings.Contains(out, name+"\t") {
		t.Fatalf("%s made the account %s: %q", what, name, out)
	}
}

// TestAdminLinksDieWhenTheirMakerIsNoAdmin: an invitation carrying the
// admin role and a reset link that admin ada made are refused once the
// command line took ada's admin role, and again (with new links) once it
// disabled her; the operator's own links keep working throughout.
func TestAdminLinksDieWhenTheirMakerIsNoAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, _, cli, _ := adminSetup(t, b, "invite")
		carl, mallory := newClient(t), newClient(t)
		for _, step := range []struct {
			demote []string
			what   string
		}{
			{[]string{"role", "remove", "ada", "admin"}, "after the command line took ada's admin role"},
			{[]string{"disable", "ada"}, "after the command line disabled ada"},
		} {
			if step.demote[0] == "disable" {
				cli("role", "add", "ada", "admin")
				ada = loggedIn(t, "ada")
			}
			invite := adminInviteLink(t, ada, "admin")
			inviteForm := openInvitation(t, mallory, invite, "ada's invitation")
			reset := adminResetLink(t, ada, "carl")
			resetForm := openResetLink(t, carl, reset, "ada's reset link for carl")
			cliInvite, _ := linkFrom(t, cli("invite", "--role", "admin"))
			cliReset, _ := linkFrom(t, cli("reset-link", "carl"))

			cli(step.demote...)
			wantDeadInvitation(t, mallory, invite, inviteForm, "mallory", cli, "ada's invitation "+step.what)
			wantDeadResetLink(t, carl, reset, resetForm, "carl", "ada's reset link for carl "+step.what)

			openResetLink(t, carl, cliReset, "the operator's reset link "+step.what)
			name := map[bool]string{true: "olga", false: "oscar"}[step.demote[0] == "disable"]
			operator := newClient(t)
			if r := registerWith(operator, cliInvite, name, openInvitation(t, operator, cliInvite, "the operator's invitation "+step.what)); r.status != http.StatusSeeOther {
				t.Fatalf("registering with the operator's invitation %s: %d; want 303:\n%s", step.what, r.status, clip(r.body))
			}
		}
	})
}

// TestAdminLinkWorksWhileItsMakerIsAdmin: the check on the maker refuses
// no link of an admin who still is one, for another account or their
// own.
func TestAdminLinkWorksWhileItsMakerIsAdmin(t *testing.T) {
	ada, _, cli, _ := adminSetup(t, fileBackend(), "invite")
	erin := newClient(t)
	invite := adminInviteLink(t, ada, "staff")
	if r := registerWith(erin, invite, "erin", openInvitation(t, erin, invite, "ada's invitation")); r.status != http.StatusSeeOther {
		t.Fatalf("registering with ada's invitation: %d; want 303:\n%s", r.status, clip(r.body))
	}
	if out := cli("list"); !strings.Contains(out, "erin\t") {
		t.Fatalf("erin is not listed: %q", out)
	}
	openResetLink(t, newClient(t), adminResetLink(t, ada, "carl"), "ada's reset link for carl")
	openResetLink(t, newClient(t), adminResetLink(t, ada, "ada"), "ada's reset link for herself")
}
