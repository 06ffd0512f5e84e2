package sessionauth

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A refusal (401, 403, 503) is an error that Caddy's error routes handle,
// and those may pass the request on: handle_errors { reverse_proxy app }
// is a common way to let the app render its own error pages. Such a
// request reaches the app as a refused one: without the plugin's cookies
// (DESIGN rule 20) and without the identity headers, which are for
// requests the gate let through (rule 11).

// errorRoutesSite puts an app that echoes what it received behind
// session_auth /members/* (with a staff rule inside), as the next handler
// and as the error route.
func errorRoutesSite(t *testing.T, options string) {
	t.Helper()
	clockSkew.Store(0)
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "app saw %s cookies [%s] user [%s] roles [%s]", r.URL.Path,
			strings.Join(r.Header.Values("Cookie"), " | "), r.Header.Get("X-Remote-User"), r.Header.Get("X-Remote-Roles"))
	}))
	t.Cleanup(app.Close)
	loadCaddyfile(t, testGlobals(t)+fmt.Sprintf(`
http://localhost:9080 {
	session_auth /members/* {
		bcrypt_cost 10
		ip_limit 100000 15m
		account_limit 100000 15m
		allow /members/staff/* role staff
		user_header X-Remote-User
		roles_header X-Remote-Roles
		%s
	}
	reverse_proxy %s
	handle_errors {
		reverse_proxy %s
	}
}
`, options, app.Listener.Addr(), app.Listener.Addr()))
}

func TestRefusedRequestsReachErrorRoutesWithoutCookiesOrIdentity(t *testing.T) {
	lines, store := accessStores()[0].setup(t, testRealm)
	errorRoutesSite(t, lines)
	seedAccounts(t, store, map[string][]string{"nora": nil, "sam": {"staff"}})
	nora, sam := loggedIn(t, "nora").cookie(), loggedIn(t, "sam").cookie()
	const others = "a=1; theme=dark"
	send := func(path, cookies string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil) // no text/html: refusals are errors
		req.Header["Cookie"] = []string{cookies}
		req.Header["X-Remote-User"] = []string{"admin"} // forged
		r := newClient(t).do(req)
		if !strings.Contains(r.body, "app saw "+path) {
			t.Fatalf("GET %s: %d %q; want the app's answer", path, r.status, r.body)
		}
		return r.body
	}
	for _, tc := range []struct{ what, path, cookies, want string }{
		{"nora, refused by the staff rule (403)", "/members/staff/x", "caddy_session=" + nora + "; caddy_session_device=d; " + others, "cookies [" + others + "] user [] roles []"},
		{"a forged session cookie (401)", "/members/x", "caddy_session=forged; caddy_session_step=s; " + others, "cookies [" + others + "] user [] roles []"},
		{"sam, let through", "/members/staff/x", "caddy_session=" + sam + "; " + others, "cookies [" + others + "] user [sam] roles [staff]"},
	} {
		if got := send(tc.path, tc.cookies); !strings.HasSuffix(got, tc.want) {
			t.Errorf("%s: %q; want the app to see %s", tc.what, got, tc.want)
		}
	}
}
