package sessionauth

import (
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
)

// A link is never worth more than when it was made (DESIGN.md rule 19,
// second half): a reset link dies with any role change of its account, and
// a link an admin made is refused once its account counts as another
// admin. A login step's token is no reset link, and a link of one realm
// means nothing in another (rule 14).

// adminResetLink has admin make a reset link for user on the admin page
// and returns its path.
func adminResetLink(t *testing.T, admin *client, user string) string {
	t.Helper()
	r := admin.adminDo("reset-link", user)
	m := shownLink.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("a reset link for %s on the admin page: %d; want the page showing the link:\n%s", user, r.status, clip(r.body))
	}
	u, err := url.Parse(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return u.RequestURI()
}

// openResetLink opens a reset link that must work, and returns the form
// token of its page, for a post after the link died.
func openResetLink(t *testing.T, c *client, path, what string) string {
	t.Helper()
	r := c.get(path)
	if r.status != http.StatusOK {
		t.Fatalf("%s: %d; want the reset form:\n%s", what, r.status, clip(r.body))
	}
	return pageToken(t, r)
}

// wantDeadResetLink asserts that a reset link is refused as not valid,
// opened or posted (with a form token from when it worked), and that
// user still logs in with testPassword.
func wantDeadResetLink(t *testing.T, c *client, path, formToken, user, what string) {
	t.Helper()
	if r := c.get(path); r.status != http.StatusNotFound || !strings.Contains(r.body, "not valid") {
		t.Fatalf("%s, opened: %d; want 404 not valid:\n%s", what, r.status, clip(r.body))
	}
	token, _ := url.ParseQuery(strings.SplitN(path, "?", 2)[1])
	const stolen = "the passphrase of a takeover"
	form := url.Values{"token": {token.Get("token")}, "password": {stolen}, "password_confirm": {stolen}, formTokenField: {formToken}}
	if r := c.post("/auth/reset", form); r.status != http.StatusNotFound {
		t.Fatalf("%s, posted: %d; want 404:\n%s", what, r.status, clip(r.body))
	}
	loggedIn(t, user) // with the password from before
}

// TestResetLinkDiesWithAnyRoleChange: a link made for an ordinary account
// (on the admin page or from the command line) is refused once the
// account's roles changed (from the command line or the admin page), above
// all once it is an admin; a link whose account kept its roles works.
func TestResetLinkDiesWithAnyRoleChange(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, _, cli, _ := adminSetup(t, b, "closed")
		carl := newClient(t)

		path := adminResetLink(t, ada, "carl")
		token := openResetLink(t, carl, path, "the admin's link for carl")
		cli("role", "add", "carl", "admin")
		wantDeadResetLink(t, carl, path, token, "carl", "the admin's link for carl, after carl got the admin role")

		path, _ = linkFrom(t, cli("reset-link", "carl")) // the operator may, for an admin
		token = openResetLink(t, carl, path, "the operator's link for carl the admin")
		cli("role", "remove", "carl", "admin")
		wantDeadResetLink(t, carl, path, token, "carl", "the operator's link for carl, after the command line took a role")

		path = adminResetLink(t, ada, "carl")
		token = openResetLink(t, carl, path, "the admin's link for carl, again")
		wantSeeOther(t, ada.adminDo("roles", "carl", "roles", "staff"), "/auth/admin?done=roles", "carl's roles set on the admin page")
		wantDeadResetLink(t, carl, path, token, "carl", "the admin's link for carl, after the admin page set a role")

		path, reset := linkFrom(t, cli("reset-link", "carl"))
		token = openResetLink(t, carl, path, "a link for carl with his roles unchanged")
		const newPassword = "a brand new passphrase"
		form := url.Values{"token": {reset}, "password": {newPassword}, "password_confirm": {newPassword}, formTokenField: {token}}
		wantSeeOther(t, carl.post("/auth/reset", form), "/auth/login?reset=1", "a link for carl with his roles unchanged")
		if r := newClient(t).login("carl", newPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("carl with the password the link set: %d", r.status)
		}
	})
}

// TestAdminLinkDiesWhenAdminRoleComesToItsAccount: a reload that makes
// admin_role a role the link's account already held makes that account
// another admin, for whom the admin page makes no link: the link an admin
// made for it is refused, though its roles did not change. The operator's
// link, and the link an admin (under both roles) made for herself, still
// work; the link of an admin whom the reload left without the admin role
// is refused (see checkLinkMaker). The reload itself is accepted (the old
// config still ran while the new one, with another admin_role for the
// same realm, was provisioned), and the new admin role opens the admin
// page.
func TestAdminLinkDiesWhenAdminRoleComesToItsAccount(t *testing.T) {
	lines := "registration closed\n\t\t" + noLimits + "\n\t\t" + redisBackend().lines(t)
	site(t, "session_auth /members/*", lines)
	cli := cliFor(t, lines)
	config := roleCLIConfig(t, lines)
	for _, name := range []string{"ada", "bea", "carl"} {
		if out, code, err := runCLI(t, testPassword+"\n", "--config", config, "add", name); code != 0 || err != nil {
			t.Fatalf("add %s: %q %d %v", name, out, code, err)
		}
	}
	cli("role", "add", "ada", "admin", "ops")
	cli("role", "add", "bea", "admin")
	cli("role", "add", "carl", "ops")
	ada := loggedIn(t, "ada")
	carl, self, bea, operator := newClient(t), newClient(t), newClient(t), newClient(t)
	carlPath := adminResetLink(t, ada, "carl")
	carlToken := openResetLink(t, carl, carlPath, "the admin's link for carl")
	selfPath := adminResetLink(t, ada, "ada")
	beaPath := adminResetLink(t, loggedIn(t, "bea"), "bea")
	beaToken := openResetLink(t, bea, beaPath, "the link bea made for herself")
	operatorPath, _ := linkFrom(t, cli("reset-link", "carl"))

	site(t, "session_auth /members/*", "admin_role ops\n\t\t"+lines)
	if r := loggedIn(t, "carl").get("/auth/admin"); r.status != http.StatusOK {
		t.Fatalf("carl, holding the new admin role, on the admin page: %d; want 200", r.status)
	}
	if r := loggedIn(t, "bea").get("/auth/admin"); r.status != http.StatusForbidden {
		t.Fatalf("bea, whose role is no longer the admin role, on the admin page: %d; want 403", r.status)
	}
	wantDeadResetLink(t, carl, carlPath, carlToken, "carl", "the link ada made for carl, now an admin by admin_role")
	openResetLink(t, self, selfPath, "the link ada made for herself")
	wantDeadResetLink(t, bea, beaPath, beaToken, "bea", "the link bea made for herself, now no admin by admin_role")
	openResetLink(t, operator, operatorPath, "the operator's link for carl")
}

// TestStepTokenIsNoResetLink: the token of a login step (the password was
// right, the second factor not sent yet) in a reset link's place opens no
// reset form and sets no password, which would skip the second factor;
// and it is not spent there: the step goes on.
func TestStepTokenIsNoResetLink(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := "registration open\n\t\t" + noLimits + "\n\t\t" + b.lines(t)
		logFile := site(t, "session_auth /members/*", lines)
		secret, _ := registerEnrolled(t, "alice")
		newClient(t).register("bob", testPassword, "/")
		c := newClient(t)
		bobPath, _ := linkFrom(t, cliFor(t, lines)("reset-link", "bob"))
		formToken := openResetLink(t, c, bobPath, "bob's link, for a reset form token")

		freshStep()
		c.passwordStep("alice", "/members/x")
		step := c.stepCookie()
		if r := c.get("/auth/reset?token=" + step); r.status != http.StatusNotFound || strings.Contains(r.body, "alice") {
			t.Fatalf("the step's token as a reset link: %d; want 404 naming nobody:\n%s", r.status, clip(r.body))
		}
		const stolen = "a password without the second factor"
		form := url.Values{"token": {step}, "password": {stolen}, "password_confirm": {stolen}, formTokenField: {formToken}}
		if r := c.post("/auth/reset", form); r.status != http.StatusNotFound {
			t.Fatalf("the step's token posted as a reset link: %d; want 404:\n%s", r.status, clip(r.body))
		}
		// Refused for its kind, before anything reads it as a reset link
		// (which another check, on the link's maker, would refuse too).
		if data, _ := os.ReadFile(logFile); strings.Contains(string(data), "link refused") {
			t.Fatalf("the step's token was taken for a link and refused for its maker, not for its kind:\n%s", data)
		}
		// The step still works, so it was not spent, and alice's password
		// (the step's stamp) did not change.
		wantLoggedInWith(t, c, c.sendCode(codeAt(t, secret, 0)), "/members/x", "password,totp", "the step after its token was tried as a reset link")
	})
}

// TestLinksOfOneRealmMeanNothingInAnother: an invitation and a reset link
// of realm A, opened or posted on site B (realm B, where the same name
// has an account too), are not valid there, and still work on A.
func TestLinksOfOneRealmMeanNothingInAnother(t *testing.T) {
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		lines := s.lines(t, realmA, realmB)
		_, caddyfile := twoSites(t, "registration invite\n\t\t"+lines, "registration invite\n\t\t"+lines)
		cli := func(realm string, args ...string) string {
			return mustRunCLI(t, testPassword+"\n", append([]string{"--config", caddyfile, "--realm", realm}, args...)...)
		}
		cli(realmA, "add", "alice")
		cli(realmB, "add", "alice")
		invitePath, invite := linkFrom(t, cli(realmA, "invite"))
		resetPath, reset := linkFrom(t, cli(realmA, "reset-link", "alice"))
		_, bInvite := linkFrom(t, cli(realmB, "invite"))
		_, bReset := linkFrom(t, cli(realmB, "reset-link", "alice"))

		b := at(t, siteB)
		for _, path := range []string{invitePath, resetPath} {
			if r := b.get(path); r.status != http.StatusNotFound {
				t.Fatalf("realm A's link %s on site B: %d; want 404:\n%s", path, r.status, clip(r.body))
			}
		}
		// Posted with B's own form tokens (from B's own links' pages).
		registerToken := pageTokenOf(t, b.get("/auth/register?invite="+bInvite))
		resetToken := pageTokenOf(t, b.get("/auth/reset?token="+bReset))
		if r := b.post("/auth/register", url.Values{"username": {"mallory"}, "password": {testPassword}, "password_confirm": {testPassword}, "invite": {invite}, formTokenField: {registerToken}}); r.status != http.StatusNotFound {
			t.Fatalf("realm A's invitation posted on site B: %d; want 404:\n%s", r.status, clip(r.body))
		}
		const stolen = "a password from another realm"
		if r := b.post("/auth/reset", url.Values{"token": {reset}, "password": {stolen}, "password_confirm": {stolen}, formTokenField: {resetToken}}); r.status != http.StatusNotFound {
			t.Fatalf("realm A's reset link posted on site B: %d; want 404:\n%s", r.status, clip(r.body))
		}
		if r := b.login("alice", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("alice of B with her own password after A's link was posted on B: %d", r.status)
		}
		a := at(t, siteA)
		for _, path := range []string{invitePath, resetPath} {
			if r := a.get(path); r.status != http.StatusOK {
				t.Fatalf("realm A's link %s on site A, after B refused it: %d; want 200", path, r.status)
			}
		}
	})
}

// pageTokenOf is the form token of a page of another site, which must
// have one.
func pageTokenOf(t *testing.T, r response) string {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("a form page: %d:\n%s", r.status, clip(r.body))
	}
	return pageToken(t, r)
}

// noLimits lifts the login limits, for lines that the CLI reads too (its
// config sets bcrypt_cost already).
const noLimits = "ip_limit 100000 15m\n\t\taccount_limit 100000 15m"
