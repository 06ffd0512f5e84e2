package sessionauth

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// rolesIdentitySite puts an app behind reverse_proxy that answers with the
// X-Remote-User and X-Remote-Roles values it received, and with what
// header_up made of the {http.auth.user.roles} placeholder.
func rolesIdentitySite(t *testing.T, lines string) {
	t.Helper()
	clockSkew.Store(0)
	loadCaddyfile(t, testGlobals(t)+fmt.Sprintf(`
http://localhost:9080 {
	session_auth /members/* {
		bcrypt_cost 10
		user_header X-Remote-User
		roles_header X-Remote-Roles
		allow /members/staff/* role staff
		%s
	}
	reverse_proxy localhost:9081 {
		header_up X-Roles-Placeholder {http.auth.user.roles}
	}
}

http://localhost:9081 {
	respond "app saw user=[{http.request.header.X-Remote-User}] roles=[{http.request.header.X-Remote-Roles}] placeholder=[{http.request.header.X-Roles-Placeholder}]"
}
`, lines))
}

// TestRolesHeaderIsSetForTheAppAndNeverForgedByClients: the app behind
// Caddy reads the roles from X-Remote-Roles (and from header_up with the
// placeholder); a client's copy of the roles or user header is removed
// from every request, protected or public, logged in or not, whatever its
// spelling, and a logged-in request carries exactly the account's roles,
// sorted and comma-separated, empty for an account without roles (DESIGN
// rule 11).
func TestRolesHeaderIsSetForTheAppAndNeverForgedByClients(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		rolesIdentitySite(t, lines)
		seedAccounts(t, store, map[string][]string{"nora": nil, "sam": {"staff", "editors"}})
		app := func(c *client, path string, forged ...string) string {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
			for i, v := range forged {
				// Spellings differ only in case; Go joins them into one key.
				req.Header.Add([]string{"X-Remote-Roles", "x-remote-roles", "X-REMOTE-ROLES"}[i%3], v)
				req.Header.Add("X-Remote-User", "admin")
			}
			r := c.do(req)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %q", path, r.status, r.body)
			}
			return r.body
		}
		// Without a session the placeholder is not set at all, so header_up
		// passes it on as written, as with Caddy's own authentication.
		const nobody = "app saw user=[] roles=[] placeholder=[{http.auth.user.roles}]"
		if got := app(newClient(t), "/public", "admin", "staff,admin"); got != nobody {
			t.Fatalf("anonymous public request with forged headers: %q; the app must see no user and no roles", got)
		}
		nora := loggedIn(t, "nora")
		for _, path := range []string{"/members/x", "/public"} {
			if got := app(nora, path, "admin", "staff", "root"); got != "app saw user=[nora] roles=[] placeholder=[]" {
				t.Fatalf("nora (no roles) at %s with forged roles: %q; the app must see nora and no roles", path, got)
			}
		}
		req, _ := http.NewRequest(http.MethodGet, baseURL+"/members/staff/x", nil)
		req.Header.Set("X-Remote-Roles", "staff")
		if r := nora.do(req); r.status != http.StatusForbidden {
			t.Fatalf("nora with a forged staff role at a staff page: %d %q; the rule reads the account, not a header", r.status, r.body)
		}
		sam := loggedIn(t, "sam")
		for _, path := range []string{"/members/staff/x", "/members/x", "/public"} {
			if got := app(sam, path, "admin", "root"); got != "app saw user=[sam] roles=[editors,staff] placeholder=[editors,staff]" {
				t.Fatalf("sam at %s with forged roles: %q; the app must see exactly editors,staff", path, got)
			}
		}
		sam.logout()
		if got := app(sam, "/public", "staff"); got != nobody {
			t.Fatalf("after logout, forged headers: %q; the app must see no user and no roles", got)
		}
	})
}
