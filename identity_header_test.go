package sessionauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// identitySite puts an app behind reverse_proxy that answers with the
// X-Remote-User values it received, and protects /members/ in front of it.
func identitySite(t *testing.T, b backend) {
	t.Helper()
	clockSkew.Store(0)
	loadCaddyfile(t, testGlobals(t)+fmt.Sprintf(`
http://localhost:9080 {
	session_auth /members/* {
		registration open
		bcrypt_cost 10
		user_header X-Remote-User
		roles_header X-Remote-Roles
		%s
	}
	reverse_proxy localhost:9081
}

http://localhost:9081 {
	respond "app saw [{http.request.header.X-Remote-User}{http.request.header.X_Remote_User}{http.request.header.X-Remote-Roles}{http.request.header.X_Remote_Roles}]"
}
`, b.lines(t)))
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
				// Set as sent: spellings that differ in case, and with "_"
				// for "-", which CGI, FastCGI and many WSGI servers read as
				// the same header (HTTP_X_REMOTE_USER).
				name := []string{"X-Remote-User", "x-remote-user", "X_Remote_User", "x_remote_roles", "X-REMOTE-ROLES"}[i%5]
				req.Header[name] = append(req.Header[name], v)
			}
			r := c.do(req)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %q", path, r.status, r.body)
			}
			return r.body
		}
		anonymous := newClient(t)
		if got := app(anonymous, "/public", "admin", "x", "admin", "admin", "admin"); got != "app saw []" {
			t.Fatalf("anonymous public request with a forged header: %q; the app must see no user", got)
		}
		alice := newClient(t)
		alice.register("alice", testPassword, "/")
		for _, path := range []string{"/members/x", "/public"} {
			got := app(alice, path, "admin", "root", "admin", "admin", "admin")
			if got != "app saw [alice]" {
				t.Fatalf("alice's request to %s with forged headers: %q; the app must see alice alone", path, got)
			}
		}
		alice.logout()
		if got := app(alice, "/public", "alice", "x", "alice", "admin", "admin"); got != "app saw []" {
			t.Fatalf("after logout, a forged header: %q; the app must see no user", got)
		}
	})
}

// TestIdentityHeadersLetThroughByTheServerAreStillRemoved: Caddy drops
// header names with "_" or "." unless the server lets them through
// (expected_underscore_headers, expected_dot_headers); a CGI-style app
// reads X_Remote_User and X.Remote.User as X-Remote-User, so the handler
// removes those spellings too (DESIGN rule 11).
func TestIdentityHeadersLetThroughByTheServerAreStillRemoved(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clockSkew.Store(0)
		// The app is plain Go, not Caddy, which would drop these names.
		upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "app saw [%s|%s|%s|%s]", r.Header.Get("X-Remote-User"), r.Header.Get("X_Remote_User"),
				r.Header.Get("X.Remote.User"), r.Header.Get("X_Remote_Roles"))
		}))
		t.Cleanup(upstream.Close)
		loadCaddyfile(t, fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	servers :9080 {
		expected_underscore_headers X_Remote_User X_Remote_Roles
		expected_dot_headers X.Remote.User
	}
	log {
		output file %s
	}
}

http://localhost:9080 {
	session_auth /members/* {
		registration open
		bcrypt_cost 10
		user_header X-Remote-User
		roles_header X-Remote-Roles
		%s
	}
	reverse_proxy %s
}
`, filepath.Join(t.TempDir(), "caddy.log"), b.lines(t), upstream.Listener.Addr()))
		app := func(c *client, path string) string {
			t.Helper()
			req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
			req.Header["X_Remote_User"] = []string{"admin"}
			req.Header["X.Remote.User"] = []string{"admin"}
			req.Header["x_remote_roles"] = []string{"admin"}
			r := c.do(req)
			if r.status != http.StatusOK {
				t.Fatalf("GET %s: %d %q", path, r.status, r.body)
			}
			return r.body
		}
		if got := app(newClient(t), "/public"); got != "app saw [|||]" {
			t.Fatalf("anonymous request with forged spellings the server lets through: %q; the app must see none", got)
		}
		alice := newClient(t)
		alice.register("alice", testPassword, "/")
		for _, path := range []string{"/members/x", "/public"} {
			if got := app(alice, path); got != "app saw [alice|||]" {
				t.Fatalf("alice's request to %s with forged spellings: %q; the app must see alice alone", path, got)
			}
		}
	})
}

// TestEitherIdentityHeaderAloneStillStripsForgedCopies: with only
// roles_header set, or only user_header, a client's copies of that header
// are removed in every spelling, on public and protected requests, logged
// in or not, and a logged-in request carries exactly the plugin's value
// (DESIGN rule 11). Caddy drops names with "_" or "." unless the server
// lets them through, and then drops the hyphenated name instead: both
// servers are tried.
func TestEitherIdentityHeaderAloneStillStripsForgedCopies(t *testing.T) {
	servers := map[string]string{
		"plain server": "",
		"server that lets _ and . through": `servers :9080 {
		expected_underscore_headers X_Remote_User X_Remote_Roles
		expected_dot_headers X.Remote.User X.Remote.Roles
	}`,
	}
	for _, tc := range []struct {
		option, header, want string // the one option set, its header, and what sam's requests carry
	}{
		{"roles_header X-Remote-Roles", "X-Remote-Roles", "staff"},
		{"user_header X-Remote-User", "X-Remote-User", "sam"},
	} {
		for server, serverOptions := range servers {
			t.Run(tc.option+"/"+server, func(t *testing.T) {
				clockSkew.Store(0)
				// The app is plain Go, which keeps every spelling apart;
				// it reports each one a CGI app would read as the header.
				upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					var seen []string
					for name, values := range r.Header {
						if sameHeaderName(name, tc.header) {
							seen = append(seen, values...)
						}
					}
					fmt.Fprintf(w, "app saw %q", seen)
				}))
				t.Cleanup(upstream.Close)
				lines, store := accessStores()[0].setup(t, testRealm)
				loadCaddyfile(t, fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	%s
	log {
		output file %s
	}
}

http://localhost:9080 {
	session_auth /members/* {
		bcrypt_cost 10
		%s
		%s
	}
	reverse_proxy %s
}
`, serverOptions, filepath.Join(t.TempDir(), "caddy.log"), tc.option, lines, upstream.Listener.Addr()))
				seedAccounts(t, store, map[string][]string{"sam": {"staff"}})
				forged := strings.ToLower(tc.header)
				app := func(c *client, path string) string {
					t.Helper()
					req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
					for _, name := range []string{tc.header, forged, strings.ReplaceAll(tc.header, "-", "_"), strings.ReplaceAll(forged, "-", ".")} {
						req.Header[name] = []string{"admin"}
					}
					r := c.do(req)
					if r.status != http.StatusOK {
						t.Fatalf("GET %s: %d %q", path, r.status, r.body)
					}
					return r.body
				}
				if got := app(newClient(t), "/public"); got != `app saw []` {
					t.Fatalf("anonymous public request with forged copies: %s; the app must see none", got)
				}
				sam := loggedIn(t, "sam")
				want := fmt.Sprintf("app saw [%q]", tc.want)
				for _, path := range []string{"/members/x", "/public"} {
					if got := app(sam, path); got != want {
						t.Fatalf("sam's request to %s with forged copies: %s; want %s", path, got, want)
					}
				}
			})
		}
	}
}
