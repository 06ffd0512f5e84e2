package sessionauth

import (
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// The login step's cookie is a bearer token for half a login: it goes only
// to the plugin's own pages (Path under the prefix; with __Host-, which
// demands Path=/, over HTTPS), never to a script (HttpOnly), never with a
// request another site starts (SameSite=Strict: a cross-site post could
// otherwise try codes against it), and over HTTPS only once it was set
// over HTTPS (Secure).

// wantStepCookie asserts the Set-Cookie line a response sets for the step.
func wantStepCookie(t *testing.T, r response, name, path string, secure bool, what string) {
	t.Helper()
	line := setCookieLine(r.header, name)
	if line == "" {
		t.Fatalf("%s: no %s cookie; Set-Cookie: %q", what, name, r.header.Values("Set-Cookie"))
	}
	ck := sessionCookieNamed(r, name)
	if ck == nil || ck.Path != path || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != secure || ck.MaxAge != int(stepLifetime.Seconds()) {
		t.Fatalf("%s: %q; want Path=%s, HttpOnly, SameSite=Strict, Secure=%v, Max-Age=%d", what, line, path, secure, int(stepLifetime.Seconds()))
	}
}

func TestStepCookieAttributes(t *testing.T) {
	t.Run("HTTP", func(t *testing.T) {
		site(t, "session_auth /members/*", "registration open\n\t\tsecond_factor required\n\t\tpath_prefix /gate\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
		c := newClient(t)
		r := c.post("/gate/register", url.Values{"username": {"alice"}, "password": {testPassword}, "password_confirm": {testPassword}})
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/gate/second-factor" {
			t.Fatalf("registering where a second factor is required: %d to %q; want 303 to the step", r.status, r.header.Get("Location"))
		}
		wantStepCookie(t, r, stepCookieName, "/gate/", false, "the step of a registration over HTTP")
		r = newClient(t).post("/gate/login", url.Values{"username": {"alice"}, "password": {testPassword}})
		wantStepCookie(t, r, stepCookieName, "/gate/", false, "the step of a login over HTTP")
	})
	t.Run("HTTPS", func(t *testing.T) {
		dir := t.TempDir()
		hc := httpsSite(t, fmt.Sprintf("registration open\n\t\tsecond_factor required\n\t\tusers_file %s\n\t\tsessions_dir %s",
			filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions")))
		jar, _ := cookiejar.New(nil)
		c := *hc
		c.Jar = jar
		post := func(path string, form url.Values) response {
			page := httpsDo(t, &c, http.MethodGet, path, nil)
			m := tokenField.FindStringSubmatch(page.body)
			if m == nil {
				t.Fatalf("no form token on %s (%d)", path, page.status)
			}
			form.Set(formTokenField, html.UnescapeString(m[1]))
			return httpsDo(t, &c, http.MethodPost, path, form)
		}
		r := post("/auth/register", url.Values{"username": {"alice"}, "password": {testPassword}, "password_confirm": {testPassword}})
		if r.status != http.StatusSeeOther || !strings.HasSuffix(r.header.Get("Location"), "/auth/second-factor") {
			t.Fatalf("registering over HTTPS where a second factor is required: %d to %q; want 303 to the step", r.status, r.header.Get("Location"))
		}
		wantStepCookie(t, r, "__Host-"+stepCookieName, "/", true, "the step of a registration over HTTPS")
		jar, _ = cookiejar.New(nil)
		c.Jar = jar
		r = post("/auth/login", url.Values{"username": {"alice"}, "password": {testPassword}})
		wantStepCookie(t, r, "__Host-"+stepCookieName, "/", true, "the step of a login over HTTPS")
	})
}
