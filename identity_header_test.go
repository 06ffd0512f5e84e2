package sessionauth

import (
	"fmt"
	"net/http"
	"path/filepath"
	"testing"
)

// identitySite puts an app behind reverse_proxy that answers with the
// X-Remote-User values it received, and protects /members/ in front of it.
func identitySite(t *testing.T, b backend) {
	t.Helper()
	clockSkew.Store(0)
	loadCaddyfile(t, fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	log {
		output file %s
	}
}

http://localhost:9080 {
	session_auth /members/* {
		registration open
		bcrypt_cost 10
		user_header X-Remote-User
		%s
	}
	reverse_proxy localhost:9081
}

http://localhost:9081 {
	respond "app saw [{http.request.header.X-Remote-User}]"
}
`, filepath.Join(t.TempDir(), "caddy.log"), b.lines(t)))
}

// TestUserHeaderIsSetForTheAppAndNeverForgedByClients: the app behind
// Caddy reads X-Remote-User; a client's copy of it is removed from every
// request, protected or public, logged in or not, whatever its spelling,
// and a logged-in request carries exactly the user's name (DESIGN rule 11).
func TestUserHeaderIsSetForTheAppAndNeverForgedByClients(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		identitySite(t, b)
		app := func(c *client, path string, forged ...string) string {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
			for i, v := range forged {
				// Spellings differ only in case; Go joins them into one key.
				req.Header.Add([]string{"X-Remote-User", "x-remote-user", "X-REMOTE-USER"}[i%3], v)
			}
			r := c.do(req)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %q", path, r.status, r.body)
			}
			return r.body
		}
		anonymous := newClient(t)
		if got := app(anonymous, "/public", "admin"); got != "app saw []" {
			t.Fatalf("anonymous public request with a forged header: %q; the app must see no user", got)
		}
		alice := newClient(t)
		alice.register("alice", testPassword, "/")
		for _, path := range []string{"/members/x", "/public"} {
			got := app(alice, path, "admin", "root")
			if got != "app saw [alice]" {
				t.Fatalf("alice's request to %s with forged headers: %q; the app must see alice alone", path, got)
			}
		}
		alice.logout()
		if got := app(alice, "/public", "alice"); got != "app saw []" {
			t.Fatalf("after logout, a forged header: %q; the app must see no user", got)
		}
	})
}
