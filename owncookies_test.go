package sessionauth

// The plugin's own cookies never reach the next handler; every other
// cookie does, byte for byte (DESIGN rule 20).

import (
	"net/http"
	"strings"
	"testing"
)

func TestOwnCookiesAreCutFromACookieLine(t *testing.T) {
	sa := &SessionAuth{CookieName: defaultCookieName}
	for _, tc := range []struct{ line, want string }{
		{"caddy_session=abc", ""},
		{"caddy_session=abc; theme=dark", "theme=dark"},
		{"theme=dark; caddy_session=abc", "theme=dark"},
		{"a=1; caddy_session=abc; b=2", "a=1; b=2"},
		{"a=1;caddy_session=abc;b=2", "a=1; b=2"},
		{`a="x y"; caddy_session_device=d; b=2;  c=3`, `a="x y"; b=2; c=3`},
		{"caddy_session_csrf=t; a=1;b=2 ; caddy_session_step=s", "a=1;b=2"},
		{"__Host-caddy_session=abc; __Host-caddy_session_device=d; __Host-caddy_session_csrf=t; __Host-caddy_session_step=s", ""},
		{"caddy_session =abc; a=1", "a=1"},
		{"caddy_sessions=1; my_caddy_session=2; keep=caddy_session; Caddy_Session=3", "caddy_sessions=1; my_caddy_session=2; keep=caddy_session; Caddy_Session=3"},
		{"a=1; caddy_session=abc; b=2; caddy_session_device=d; c=3", "a=1; b=2; c=3"},
		{"a=1", "a=1"},
		{"", ""},
	} {
		if got := sa.withoutOwnCookies(tc.line); got != tc.want {
			t.Errorf("%q: got %q, want %q", tc.line, got, tc.want)
		}
	}
}

func TestOwnCookiesLeaveEveryHeaderLine(t *testing.T) {
	sa := &SessionAuth{CookieName: defaultCookieName}
	h := http.Header{"Cookie": {"caddy_session=abc", "a=1; caddy_session_step=s", "b=2"}}
	sa.dropOwnCookies(h)
	if got := strings.Join(h["Cookie"], " | "); got != "a=1 | b=2" {
		t.Fatalf("Cookie lines: %q", got)
	}
	h = http.Header{"Cookie": {"caddy_session=abc", "__Host-caddy_session_device=d"}}
	sa.dropOwnCookies(h)
	if _, ok := h["Cookie"]; ok {
		t.Fatalf("a Cookie header of the plugin's cookies alone must go: %q", h["Cookie"])
	}
}

// TestOwnCookiesCostNoAllocationWhereBrowsersPutThem: a browser sends the
// session cookie first or last, and the gate cuts it on every request.
func TestOwnCookiesCostNoAllocationWhereBrowsersPutThem(t *testing.T) {
	sa := &SessionAuth{CookieName: defaultCookieName}
	for _, line := range []string{"caddy_session=abc", "caddy_session=abc; theme=dark", "theme=dark; lang=en; caddy_session=abc", "theme=dark"} {
		h, sent := http.Header{"Cookie": nil}, []string{line}
		if n := testing.AllocsPerRun(100, func() {
			sent[0] = line
			h["Cookie"] = sent
			sa.dropOwnCookies(h)
		}); n != 0 {
			t.Errorf("%q: %v allocations", line, n)
		}
	}
}

// TestOwnCookiesNeverReachTheApp: the session, device, form token and step
// cookies (with and without __Host-) are cut from the request that goes on
// to the app, protected or public, with or without a valid session; the
// app gets every other cookie as the browser sent it.
func TestOwnCookiesNeverReachTheApp(t *testing.T) {
	lines, store := accessStores()[0].setup(t, testRealm)
	readingsSite(t, lines)
	seedAccounts(t, store, map[string][]string{"sam": {"staff"}})
	sam := loggedIn(t, "sam").cookie()
	send := func(path string, cookies ...string) string {
		t.Helper()
		req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
		req.Header["Cookie"] = cookies
		r := newClient(t).do(req)
		if r.status != http.StatusOK || !strings.Contains(r.body, "app saw") {
			t.Fatalf("GET %s with cookies %q: %d %q", path, cookies, r.status, r.body)
		}
		_, seen, _ := strings.Cut(r.body, " cookies ")
		return seen
	}
	others := `a=1; theme="dark blue"; caddy_sessions=x; keep=caddy_session`
	for _, path := range []string{"/members/staff/x", "/members/x", "/public"} {
		for _, tc := range []struct {
			cookies []string
			want    string
		}{
			{[]string{"caddy_session=" + sam}, "[]"},
			{[]string{"caddy_session=" + sam + "; " + others}, "[" + others + "]"},
			{[]string{"a=1; caddy_session=" + sam + "; b=2"}, "[a=1; b=2]"},
			{[]string{"a=1; caddy_session_device=d; caddy_session=" + sam + "; caddy_session_csrf=t; b=2; caddy_session_step=s"}, "[a=1; b=2]"},
			{[]string{"__Host-caddy_session=h; __Host-caddy_session_device=d; caddy_session=" + sam + "; __Host-caddy_session_csrf=t; __Host-caddy_session_step=s; " + others}, "[" + others + "]"},
			{[]string{"caddy_session=" + sam, others}, "[" + others + "]"},
		} {
			if got := send(path, tc.cookies...); got != tc.want {
				t.Errorf("%s with %q: the app saw cookies %s, want %s", path, tc.cookies, got, tc.want)
			}
		}
	}
	// Without a valid session: a public page, with a stale or forged
	// session cookie, or the other cookies alone.
	for _, tc := range []struct {
		cookies []string
		want    string
	}{
		{[]string{"caddy_session=forged; " + others}, "[" + others + "]"},
		{[]string{"caddy_session_device=d; caddy_session_step=s; " + others}, "[" + others + "]"},
		{[]string{others}, "[" + others + "]"},
	} {
		if got := send("/public", tc.cookies...); got != tc.want {
			t.Errorf("/public with %q: the app saw cookies %s, want %s", tc.cookies, got, tc.want)
		}
	}
}
