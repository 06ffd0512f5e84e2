package sessionauth

// The plugin's pages carry security headers and need no inline script or
// style.

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

func TestPagesCarrySecurityHeaders(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	for _, path := range []string{"/auth/login", "/auth/register", "/auth/logout", "/auth/nowhere"} {
		r := c.get(path)
		csp := r.header.Get("Content-Security-Policy")
		for _, want := range []string{"frame-ancestors 'none'", "form-action 'self'", "default-src 'none'"} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", path, csp, want)
			}
		}
		if strings.Contains(csp, "unsafe-inline") || inlineScript(r.body) || strings.Contains(r.body, " style=") || strings.Contains(r.body, "<style") {
			t.Errorf("%s: the page must need no inline script or style", path)
		}
		if !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: CSP %q must allow this site's own script and nothing else", path, csp)
		}
		for h, want := range map[string]string{"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "Cache-Control": "no-store"} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %s is %q, want %q", path, h, got, want)
			}
		}
	}
	for _, r := range []response{c.register("fred", testPassword, "/"), c.login("fred", testPassword, "/"), c.logout()} {
		if len(r.header.Values("Set-Cookie")) > 0 && r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("a response that sets the session cookie must be no-store: %d %q", r.status, r.header.Get("Cache-Control"))
		}
	}
}

// TestResponsesWithASessionVaryByCookie: a page answered for a session,
// protected or public, says that it depends on the cookie, so that no cache
// hands one user's page to another or to a visitor without one.
func TestResponsesWithASessionVaryByCookie(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("vera", testPassword, "/")
	for _, tc := range []struct{ path, cacheControl string }{
		{"/members/x", "private, no-store"},
		{"/greet.html", "private"},
		{"/public.txt", "private"},
	} {
		r := c.get(tc.path)
		if r.status != http.StatusOK {
			t.Fatalf("%s: %d", tc.path, r.status)
		}
		if vary := strings.Join(r.header.Values("Vary"), ", "); !strings.Contains(vary, "Cookie") {
			t.Errorf("%s with a session: Vary %q lacks Cookie", tc.path, vary)
		}
		if got := r.header.Get("Cache-Control"); got != tc.cacheControl {
			t.Errorf("%s with a session: Cache-Control %q, want %q", tc.path, got, tc.cacheControl)
		}
	}
}

var scriptTag = regexp.MustCompile(`(?is)<script\b([^>]*)>(.*?)</script>`)

// inlineScript tells whether a page carries script in its markup: a script
// element with a body or without src, or an on* event handler attribute.
func inlineScript(body string) bool {
	for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[1], "src=") || strings.TrimSpace(m[2]) != "" {
			return true
		}
	}
	return regexp.MustCompile(`(?i)\son[a-z]+=`).MatchString(body) || strings.Contains(strings.ToLower(body), "javascript:")
}
