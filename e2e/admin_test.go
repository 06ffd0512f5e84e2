package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The admin page and the one-time links it makes (DESIGN.md: /auth/admin,
// one-time links; rules 16 and 17), walked through in real browsers.
//
// The admin page asks for the password again when it was last proved more
// than 10 minutes ago. The plugin's clock is not reachable from this
// module, and a browser test cannot wait 10 minutes, so that part is left
// to the root package's tests, which move the clock; here every admin
// acts within minutes of logging in.

// addAccount puts an account that can log in with testPassword into the
// store, as `caddy session-auth add` does, with the given roles.
func addAccount(t *testing.T, store users.Store, name string, roles ...string) {
	t.Helper()
	addAccountAs(t, store, users.Account{Username: name, Roles: roles})
}

// addAccountAs puts a (with testPassword) into the store.
func addAccountAs(t *testing.T, store users.Store, a users.Account) {
	t.Helper()
	hash, err := users.Hash(testPassword, users.MinBcryptCost)
	if err != nil {
		t.Fatalf("hashing the password of %s: %v", a.Username, err)
	}
	a.Hash, a.Created = hash, time.Now()
	if err := store.Create(context.Background(), a); err != nil {
		t.Fatalf("adding %s to the store: %v", a.Username, err)
	}
}

// storedAccount reads an account back from the store.
func storedAccount(t *testing.T, store users.Store, name string) users.Account {
	t.Helper()
	a, err := store.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("reading %s from the store: %v", name, err)
	}
	return a
}

// adminActionButton selects the button of an admin action for one account.
func adminActionButton(action, user string) string {
	return fmt.Sprintf(`form:has(input[name=action][value=%q]):has(input[name=user][value=%q]) button[type=submit]`, action, user)
}

// accountEntry selects the <details> of an account's row on the admin
// page, which holds its actions.
func accountEntry(user string) string {
	return fmt.Sprintf(`table.accounts details:has(input[name=user][value=%q])`, user)
}

// openAccount opens an account's entry on the admin page by clicking its
// summary, as a person would.
func (b *browser) openAccount(user string) {
	b.t.Helper()
	if _, open := b.attr(accountEntry(user), "open"); open {
		return
	}
	b.tick(accountEntry(user) + " > summary")
	if _, open := b.attr(accountEntry(user), "open"); !open {
		b.t.Fatalf("clicking the summary of %s did not open its entry: %q", user, clip(b.text()))
	}
}

// adminDo opens an account's entry on the admin page and clicks one of
// its action buttons.
func (b *browser) adminDo(action, user string) {
	b.t.Helper()
	b.openAccount(user)
	b.click(adminActionButton(action, user))
}

// listedAccount is one row of the admin page's table of accounts.
type listedAccount struct {
	Name    string `json:"name"`
	Summary string `json:"summary"`
}

// accountsListed reads the accounts the admin page lists, in order, each
// summed up as its name, its tags (You, Waits for approval, Disabled) and
// its roles.
func (b *browser) accountsListed() []listedAccount {
	b.t.Helper()
	return browserValue(b, "reading the accounts listed", chromedp.Evaluate[[]listedAccount](
		`[...document.querySelectorAll("table.accounts > tbody > tr")].map(tr => {
			const name = tr.querySelector("th strong").innerText.trim();
			const parts = [name, ...[...tr.querySelectorAll("th .tag, td[data-label=State] .tag")].map(t => t.innerText.trim())];
			const roles = tr.querySelector("td[data-label=Roles] .roles");
			if (roles) {
				parts.push(roles.innerText.trim());
			}
			return {name: name, summary: parts.join(" ")};
		})`))
}

// wantListed asserts the accounts the admin page lists, in order, each
// summed up as accountsListed does.
func (b *browser) wantListed(what string, want ...string) {
	b.t.Helper()
	list := b.accountsListed()
	var got []string
	for _, a := range list {
		got = append(got, a.Summary)
	}
	if !slices.Equal(got, want) {
		b.t.Fatalf("%s: the admin page lists %q, want %q", what, got, want)
	}
}

// shownLink reads the link the admin page shows after making one, and
// checks that it is a link to this site's path.
func (b *browser) shownLink(path string) (link, token string) {
	b.t.Helper()
	link, ok := b.attr("#new-link", "value")
	if !ok {
		b.t.Fatalf("no link shown after making one: %q", clip(b.text()))
	}
	if _, ro := b.attr("#new-link", "readonly"); !ro {
		b.t.Fatal("the link box should be readonly")
	}
	u, err := url.Parse(link)
	if err != nil || !strings.HasPrefix(link, baseURL+path) {
		b.t.Fatalf("the link shown is %q, want one to %s%s", link, baseURL, path)
	}
	if !b.visible("#new-link") {
		b.t.Fatal("the link box is not visible")
	}
	for _, v := range u.Query() {
		token = v[0]
	}
	if len(token) < 43 { // 256 bits in URL-safe base64
		b.t.Fatalf("the link %q carries a token of %d characters, want at least 256 random bits", link, len(token))
	}
	return link, token
}

// logInAsAdmin logs the browser in as user through the admin page's
// way to the login form, and checks that it lands on the admin page.
func (b *browser) logInAsAdmin(user string) {
	b.t.Helper()
	b.open("/auth/admin")
	b.wantAt("/auth/login?next=%2Fauth%2Fadmin", "the admin page without a session")
	b.logIn(user)
	b.wantAt("/auth/admin", "the admin, after logging in")
}

// pathOf is the path and query of a link to this site.
func pathOf(link string) string { return strings.TrimPrefix(link, baseURL) }

// wantBadLink asserts that the browser shows the page of a link that
// cannot be used, with its status, and that it offers no form.
func (b *browser) wantBadLink(status, wantStatus int64, says, what string) {
	b.t.Helper()
	if status != wantStatus {
		b.t.Fatalf("%s: status %d, want %d; the page shows %q", what, status, wantStatus, clip(b.text()))
	}
	b.wantNotice(says, what)
	if b.visible("input[type=password]") {
		b.t.Fatalf("%s: the page still offers a password field: %q", what, clip(b.text()))
	}
}

// TestBrowserInvitationFlow: under "registration invite", an admin makes
// an invitation with a role on the admin page; a second browser opens the
// link, registers with the form it shows (which carries the invitation on
// in a hidden field) and lands logged in, with the role the link gave
// (an access rule lets only that role in); the link then works no more,
// neither opened again nor sent from a form that was open in a third
// browser while it was used (rule 17: single use).
func TestBrowserInvitationFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const realm = "invite-e2e"
		lines := be.lines(t)
		store := accountStore(t, lines, realm)
		addAccount(t, store, "ada", "admin")
		site(t, "session_auth /members/*", "registration invite\n\t\trealm "+realm+"\n\t\tallow /members/* role staff\n\t\ttitle \"Example Members\"\n\t\t"+lines)

		guest := newBrowser(t, true)
		guest.userAgent(firefoxOnMac)
		guest.wantBadLink(guest.openStatus("/auth/register"), http.StatusNotFound, "Registration on this site needs an invitation link.", "registering without an invitation")

		admin := newBrowser(t, true)
		admin.logInAsAdmin("ada")
		admin.fill("#invite-roles", "staff")
		admin.click(`form.invite button[type=submit]`)
		admin.wantNotice("Invitation with the role staff, for one use", "the admin, after making an invitation")
		link, token := admin.shownLink("/auth/register?invite=")

		// A third browser opens the link too, and keeps the form open.
		late := newBrowser(t, true)
		if status := late.openStatus(pathOf(link)); status != http.StatusOK {
			t.Fatalf("opening the invitation in a second browser: status %d, want 200: %q", status, clip(late.text()))
		}

		if status := guest.openStatus(pathOf(link)); status != http.StatusOK {
			t.Fatalf("opening the invitation: status %d, want 200: %q", status, clip(guest.text()))
		}
		if h := browserValue(guest, "the heading", chromedp.Evaluate[string](`document.querySelector("h1").innerText`)); h != "Create an account" {
			t.Fatalf("the invitation opens %q, want the registration form", h)
		}
		if v, ok := guest.attr(`form input[type=hidden][name=invite]`, "value"); !ok || v != token {
			t.Fatalf("the registration form must carry the invitation on: hidden invite field %q (present %v), want the link's token", v, ok)
		}
		guest.fill("#username", "newhire")
		guest.fill("#password", testPassword)
		guest.fill("#password_confirm", testPassword)
		guest.click(`button[type=submit]`)
		guest.wantAt("/", "after registering with the invitation")
		if c := guest.sessionCookie(); c == nil {
			t.Fatal("registering with the invitation must log the new account in")
		}
		guest.open("/members/x")
		guest.wantSecret(true, "the invited account on a page only its invited role opens")
		if a := storedAccount(t, store, "newhire"); !slices.Contains(a.Roles, "staff") || !a.CanLogIn() {
			t.Fatalf("the invited account is stored as %+v, want the role staff and able to log in", a)
		}

		// Used once, the link is not valid any more: neither opened again ...
		again := newBrowser(t, true)
		again.wantBadLink(again.openStatus(pathOf(link)), http.StatusNotFound, "This invitation link is not valid", "opening the used invitation again")
		// ... nor sent from the form that was open meanwhile.
		late.fill("#username", "latecomer")
		late.fill("#password", testPassword)
		late.fill("#password_confirm", testPassword)
		late.wantBadLink(late.clickStatus(`button[type=submit]`), http.StatusNotFound, "This invitation link is not valid", "registering with the used invitation from a form open meanwhile")
		if c := late.sessionCookie(); c != nil {
			t.Fatalf("a used invitation must log nobody in: cookie %+v", c)
		}
		if _, err := store.Get(context.Background(), "latecomer"); err == nil {
			t.Fatal("a used invitation made an account")
		}
	})
}

// TestBrowserResetLinkFlow: the admin makes a password reset link for bob
// on the admin page; bob, logged in in another browser beforehand, opens
// it and sets a new password (a mismatch first sends the form back and
// keeps the link); he lands on the login page told so, his earlier
// browser is logged out (rule 16), only the new password logs in, and the
// link works no more (rule 17).
func TestBrowserResetLinkFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const realm, newPassword = "reset-e2e", "a brand new password"
		lines := be.lines(t)
		store := accountStore(t, lines, realm)
		addAccount(t, store, "ada", "admin")
		addAccount(t, store, "bob")
		site(t, "session_auth /members/*", "realm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)

		earlier := newBrowser(t, true)
		earlier.userAgent(firefoxOnMac)
		earlier.open("/members/x")
		earlier.logIn("bob")
		earlier.wantSecret(true, "bob's earlier browser, logged in")

		admin := newBrowser(t, true)
		admin.logInAsAdmin("ada")
		admin.adminDo("reset-link", "bob")
		admin.wantNotice("Password reset link for bob, for one use", "the admin, after making a reset link")
		link, token := admin.shownLink("/auth/reset?token=")

		bob := newBrowser(t, true)
		if status := bob.openStatus(pathOf(link)); status != http.StatusOK {
			t.Fatalf("opening the reset link: status %d, want 200: %q", status, clip(bob.text()))
		}
		bob.wantNotice("Choose a new password for bob.", "the reset page")
		if v, _ := bob.attr(`form input[type=hidden][name=token]`, "value"); v != token {
			t.Fatalf("the reset form must carry the link's token on, it carries %q", v)
		}
		bob.fill("#password", newPassword)
		bob.fill("#password_confirm", newPassword+"!")
		if status := bob.clickStatus(`button[type=submit]`); status != http.StatusBadRequest {
			t.Fatalf("differing passwords on the reset form: status %d, want 400", status)
		}
		if v, _ := bob.attr("#password_confirm", "aria-invalid"); v != "true" {
			t.Fatalf("differing passwords must mark the repeat field invalid: %q", clip(bob.text()))
		}
		earlier.open("/members/x")
		earlier.wantSecret(true, "bob's earlier browser, after a reset form that was refused")
		bob.fill("#password", newPassword)
		bob.fill("#password_confirm", newPassword)
		bob.click(`button[type=submit]`)
		bob.wantAt("/auth/login?reset=1", "bob, after setting the new password")
		bob.wantNotice("Your new password is set. Log in with it.", "bob, after setting the new password")
		if c := bob.sessionCookie(); c != nil {
			t.Fatalf("a reset logs nobody in: cookie %+v", c)
		}

		earlier.wantLoggedOut("bob's earlier browser, after the reset")
		earlier.logIn("bob") // the old password
		earlier.wantNotice(loginFailed, "bob's old password after the reset")
		earlier.wantLoggedOut("bob's earlier browser, after the old password was refused")
		earlier.fill("#username", "bob")
		earlier.fill("#password", newPassword)
		earlier.click(`button[type=submit]`)
		earlier.wantAt("/members/x", "bob logging in with the new password")
		earlier.wantSecret(true, "bob logging in with the new password")

		bob.wantBadLink(bob.openStatus(pathOf(link)), http.StatusNotFound, "This password reset link is not valid", "opening the used reset link again")
	})
}

// TestBrowserAdminPage walks an admin through the page: it lists the
// accounts, pending ones first, the admin's own marked and without a
// Disable button; approving a pending account lets it log in; disabling
// an account logs out its browser at its next request (rule 16) and keeps
// it from logging in until it is enabled again; roles set with the roles
// form apply at the user's next request, in a browser logged in before.
func TestBrowserAdminPage(t *testing.T) {
	staffDir := filepath.Join(siteDir, "members", "staff")
	if err := os.MkdirAll(staffDir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(staffDir) })
	if err := os.WriteFile(filepath.Join(staffDir, "x"), []byte("SECRET staff x"), 0o644); err != nil {
		t.Fatal(err)
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		const realm = "admin-e2e"
		lines := be.lines(t)
		store := accountStore(t, lines, realm)
		addAccount(t, store, "ada", "admin")
		addAccount(t, store, "bob")
		site(t, "session_auth /members/*", "registration approval\n\t\trealm "+realm+"\n\t\tallow /members/staff/* role staff\n\t\ttitle \"Example Members\"\n\t\t"+lines)

		newcomer := newBrowser(t, true)
		newcomer.open("/auth/register")
		newcomer.fill("#username", "newcomer")
		newcomer.fill("#password", testPassword)
		newcomer.fill("#password_confirm", testPassword)
		if status := newcomer.clickStatus(`button[type=submit]`); status != http.StatusAccepted {
			t.Fatalf("registering under approval: status %d, want 202", status)
		}

		bob := newBrowser(t, true)
		bob.userAgent(firefoxOnMac)
		bob.open("/members/x")
		bob.logIn("bob")
		bob.wantSecret(true, "bob, logged in")
		if status := bob.openStatus("/members/staff/x"); status != http.StatusForbidden {
			t.Fatalf("bob without the staff role on a staff page: status %d, want 403", status)
		}
		bob.wantSecret(false, "bob without the staff role on a staff page")

		admin := newBrowser(t, true)
		admin.logInAsAdmin("ada")
		admin.wantNotice("3 accounts.", "the admin page")
		admin.wantListed("the admin page", "newcomer Waits for approval", "ada You admin", "bob")
		if admin.visible(`button[aria-label="Disable: ada"]`) {
			t.Fatal("the admin page offers the admin to disable their own account")
		}
		admin.openAccount("ada")
		if n := browserValue(admin, "counting ada's buttons", chromedp.Evaluate[int](`document.querySelectorAll('button[aria-label="Disable: ada"], button[aria-label="Delete: ada"]').length`)); n != 0 {
			t.Fatalf("the admin's own entry offers %d Disable or Delete buttons, want none", n)
		}

		// Approving.
		admin.adminDo("approve", "newcomer")
		admin.wantAt("/auth/admin?done=approve&page=1", "the admin, after approving")
		admin.wantNotice("The account is approved and can log in.", "the admin, after approving")
		admin.wantListed("the admin page after approving", "ada You admin", "bob", "newcomer")
		if a := storedAccount(t, store, "newcomer"); !a.CanLogIn() {
			t.Fatalf("approved on the admin page, newcomer is stored as %+v", a)
		}
		newcomer.open("/members/x")
		newcomer.logIn("newcomer")
		newcomer.wantAt("/members/x", "newcomer logging in once approved")
		newcomer.wantSecret(true, "newcomer logging in once approved")

		// Disabling an account that is logged in elsewhere.
		before := bob.sessionCookie()
		if before == nil {
			t.Fatal("bob's browser has no session cookie")
		}
		admin.adminDo("disable", "bob")
		admin.wantAt("/auth/admin?done=disable&page=1", "the admin, after disabling bob")
		admin.wantNotice("The account is disabled and its sessions are logged out.", "the admin, after disabling bob")
		admin.wantListed("the admin page after disabling bob", "ada You admin", "bob Disabled", "newcomer")
		bob.wantLoggedOut("bob's browser, after the admin disabled bob")
		bob.logIn("bob")
		bob.wantSecret(false, "bob logging in while disabled")
		bob.wantNotice(loginFailed, "bob logging in while disabled")
		if c := bob.sessionCookie(); c != nil && c.Value != before.Value {
			t.Fatalf("a disabled account must get no session: a new cookie %+v", c)
		}
		bob.wantLoggedOut("bob's browser, after logging in while disabled")
		newcomer.open("/members/x")
		newcomer.wantSecret(true, "newcomer, after the admin disabled bob")

		// Enabling it again.
		admin.adminDo("enable", "bob")
		admin.wantAt("/auth/admin?done=enable&page=1", "the admin, after enabling bob")
		admin.wantNotice("The account is enabled.", "the admin, after enabling bob")
		admin.wantListed("the admin page after enabling bob", "ada You admin", "bob", "newcomer")
		bob.wantLoggedOut("bob's browser, before logging in again")
		bob.logIn("bob")
		bob.wantAt("/members/x", "bob logging in once enabled")
		bob.wantSecret(true, "bob logging in once enabled")

		// Roles, set with the form, apply at bob's next request.
		admin.openAccount("bob")
		if v, _ := admin.attr("#roles-bob", "value"); v != "" {
			t.Fatalf("bob's roles field shows %q, want it empty", v)
		}
		admin.fill("#roles-bob", "staff, Editor")
		admin.click(`form.roles-form:has(input[name=user][value=bob]) button[type=submit]`)
		admin.wantAt("/auth/admin?done=roles&page=1", "the admin, after setting bob's roles")
		admin.wantNotice("The roles are set; they apply at the user's next request.", "the admin, after setting bob's roles")
		admin.wantListed("the admin page after setting bob's roles", "ada You admin", "bob editor, staff", "newcomer")
		if a := storedAccount(t, store, "bob"); !slices.Equal(a.Roles, []string{"editor", "staff"}) {
			t.Fatalf("bob's roles are stored as %q, want editor and staff", a.Roles)
		}
		if status := bob.openStatus("/members/staff/x"); status != http.StatusOK {
			t.Fatalf("bob with the staff role, in the browser logged in before, on a staff page: status %d, want 200: %q", status, clip(bob.text()))
		}
		bob.wantSecret(true, "bob with the staff role on a staff page")

		// A role that is not one is refused, with the form's page and a message.
		admin.openAccount("bob")
		admin.fill("#roles-bob", "!")
		if status := admin.clickStatus(`form.roles-form:has(input[name=user][value=bob]) button[type=submit]`); status != http.StatusBadRequest {
			t.Fatalf("setting a role that is not a role name: status %d, want 400", status)
		}
		if !admin.visible("p.error[role=alert]") {
			t.Fatalf("a refused role must show an error: %q", clip(admin.text()))
		}
		if a := storedAccount(t, store, "bob"); !slices.Equal(a.Roles, []string{"editor", "staff"}) {
			t.Fatalf("a refused roles form changed bob's roles to %q", a.Roles)
		}
	})
}

// ageLink makes the one-time link behind token look expired, in a file
// backend's sessions_dir: it stands in for a week passing (the plugin's
// clock cannot be moved from this module). The grant is kept in
// <sessions_dir>/links/<SHA-256 of the token>, as JSON with "expires".
func ageLink(t *testing.T, lines, token string) {
	t.Helper()
	m := regexp.MustCompile(`sessions_dir (\S+)`).FindStringSubmatch(lines)
	if m == nil {
		t.Fatalf("no sessions_dir in %q", lines)
	}
	sum := sha256.Sum256([]byte(token))
	path := filepath.Join(m[1], "links", hex.EncodeToString(sum[:]))
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the link's grant is not where the file backend keeps it: %v", err)
	}
	var g map[string]any
	if err := json.Unmarshal(data, &g); err != nil {
		t.Fatalf("reading the link's grant: %v", err)
	}
	if _, ok := g["expires"]; !ok {
		t.Fatalf("the link's grant has no expiry: %s", data)
	}
	g["created"] = time.Now().Add(-8 * 24 * time.Hour).Format(time.RFC3339Nano)
	g["expires"] = time.Now().Add(-time.Hour).Format(time.RFC3339Nano)
	if data, err = json.Marshal(g); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestAdminAndLinkPagesPassAxe checks with axe-core, light and dark, the
// admin page (a pending and a disabled account, every entry open; with a
// notice; with a link just made; with an error), the reset page (and its
// error), the registration page an invitation opens (and its error), and
// the pages of links that cannot be used: none may have any violation.
func TestAdminAndLinkPagesPassAxe(t *testing.T) {
	src := axeSource(t)
	const realm = "axe-admin"
	lines := fileBackend().lines(t)
	store := accountStore(t, lines, realm)
	addAccount(t, store, "ada", "admin")
	addAccount(t, store, "bob", "staff")
	addAccountAs(t, store, users.Account{Username: "pat", Pending: true})
	addAccountAs(t, store, users.Account{Username: "dan", Disabled: true, Roles: []string{"editor"}})
	site(t, "session_auth /members/*", "registration invite\n\t\trealm "+realm+"\n\t\ttitle \"Example Members\"\n\t\t"+lines)
	b := newBrowser(t, true)
	b.logInAsAdmin("ada")

	openAll := func() {
		b.step("opening every entry", chromedp.Evaluate[chromedp.Void](`document.querySelectorAll("table.accounts details").forEach(d => d.open = true)`))
	}
	invitation := func() (link, token string) {
		b.open("/auth/admin")
		b.fill("#invite-roles", "staff")
		b.click(`form.invite button[type=submit]`)
		return b.shownLink("/auth/register?invite=")
	}
	pages := []struct {
		name string
		load func()
	}{
		{"admin, pending and disabled accounts, all open", func() {
			b.open("/auth/admin")
			b.wantListed("the admin page", "pat Waits for approval", "ada You admin", "bob staff", "dan Disabled editor")
			openAll()
		}},
		{"admin, with a notice", func() {
			b.open("/auth/admin?done=disable&page=1")
			b.wantNotice("The account is disabled", "the admin page with a notice")
		}},
		{"admin, a link made", func() {
			invitation()
			openAll()
		}},
		{"admin, an error", func() {
			b.open("/auth/admin")
			b.openAccount("bob")
			b.fill("#roles-bob", "!")
			b.click(`form.roles-form:has(input[name=user][value=bob]) button[type=submit]`)
			if !b.visible("p.error[role=alert]") {
				t.Fatalf("want the admin page with an error: %q", clip(b.text()))
			}
			openAll()
		}},
		{"reset", func() {
			b.open("/auth/admin")
			b.adminDo("reset-link", "bob")
			link, _ := b.shownLink("/auth/reset?token=")
			b.open(pathOf(link))
			b.wantNotice("Choose a new password for bob.", "the reset page")
		}},
		{"reset, passwords differ", func() {
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword+"!")
			b.click(`button[type=submit]`)
			if v, _ := b.attr("#password_confirm", "aria-invalid"); v != "true" {
				t.Fatalf("differing passwords must mark the repeat field invalid: %q", clip(b.text()))
			}
		}},
		{"register, invited", func() {
			link, _ := invitation()
			b.open(pathOf(link))
			if _, ok := b.attr("input[name=invite]", "value"); !ok {
				t.Fatalf("want the invited registration form: %q", clip(b.text()))
			}
		}},
		{"register, invited, name taken", func() {
			b.fill("#username", "bob")
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword)
			b.click(`button[type=submit]`)
			if v, _ := b.attr("#username", "aria-invalid"); v != "true" {
				t.Fatalf("a taken name must mark the username field invalid: %q", clip(b.text()))
			}
		}},
		{"register, no invitation", func() {
			b.wantBadLink(b.openStatus("/auth/register"), http.StatusNotFound, "needs an invitation link", "registering without an invitation")
		}},
		{"link not valid", func() {
			b.wantBadLink(b.openStatus("/auth/reset?token=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), http.StatusNotFound, "This password reset link is not valid", "a reset link never made")
		}},
		{"link expired", func() {
			link, token := invitation()
			ageLink(t, lines, token)
			b.wantBadLink(b.openStatus(pathOf(link)), http.StatusGone, "This invitation link has expired.", "an expired invitation")
		}},
	}
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		for _, p := range pages {
			p.load()
			b.pointerAway() // no hover style, or one half faded, under the check
			b.axeClean(src, p.name+", "+scheme)
		}
	}
}
