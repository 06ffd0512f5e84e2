package sessionauth

import (
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
)

// tryAgainHeading is the heading of the styled "try again later" page.
const tryAgainHeading = "<h1>Try again later</h1>"

// wantTryAgainPage asserts the styled 503 page: HTML, its heading, no form,
// and none of the protected content.
func wantTryAgainPage(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusServiceUnavailable {
		t.Fatalf("%s: want 503, got %d %q", what, r.status, r.body)
	}
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, tryAgainHeading) {
		t.Fatalf("%s: want the styled \"Try again later\" page, got Content-Type %q, body %q", what, r.header.Get("Content-Type"), r.body)
	}
	if strings.Contains(r.body, "SECRET") || strings.Contains(r.body, "<form") || strings.Contains(r.body, formTokenField) {
		t.Fatalf("%s: the page must hold no content and no form: %q", what, r.body)
	}
}

// outageConfig is the test site on the given Redis, with extra lines at the
// end of the site block.
func outageConfig(t *testing.T, redisURL, extra string) string {
	t.Helper()
	config := siteConfig(filepath.Join(t.TempDir(), "caddy.log"), "session_auth /members/*", "bcrypt_cost 10\n\t\tregistration open\n\t\tredis "+redisURL)
	const end = "\tfile_server\n}\n"
	if !strings.HasSuffix(config, end) {
		t.Fatal("siteConfig changed: the site block no longer ends with file_server")
	}
	return strings.TrimSuffix(config, end) + "\tfile_server\n" + extra + "}\n"
}

// TestBrowsersGetTheStyledPageWhileTheBackendIsDown: with Redis down, a
// browser opening a protected page gets the styled "Try again later" page
// (a bare 503 makes Chromium show its own error page); an API client gets a
// bare 503 through Caddy's error handling, which handle_errors can shape.
// Neither ever gets the content.
func TestBrowsersGetTheStyledPageWhileTheBackendIsDown(t *testing.T) {
	srv := startPersistentRedis(t)
	loadCaddyfile(t, outageConfig(t, srv.URL(0), ""))
	c := newClient(t)
	if r := c.register("olga", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d", r.status)
	}
	wantGranted(t, c.get("/members/x"), "before the outage")

	srv.Stop()
	eventually(t, "503 once Redis is down", func() bool {
		return c.getAPI("/members/x").status == http.StatusServiceUnavailable
	})
	wantTryAgainPage(t, c.get("/members/x"), "browser, Redis down")
	r := c.getAPI("/members/x")
	if r.status != http.StatusServiceUnavailable || r.body != "" {
		t.Fatalf("API client, Redis down: want a bare 503, got %d %q", r.status, r.body)
	}

	// The same outage, with the site shaping its errors.
	loadCaddyfile(t, outageConfig(t, srv.URL(0), "\thandle_errors {\n\t\trespond \"shaped {err.status_code}\" {err.status_code}\n\t}\n"))
	r = c.getAPI("/members/x")
	if r.status != http.StatusServiceUnavailable || r.body != "shaped 503" {
		t.Fatalf("API client, Redis down, with handle_errors: want 503 \"shaped 503\", got %d %q", r.status, r.body)
	}
	wantTryAgainPage(t, c.get("/members/x"), "browser, Redis down, with handle_errors")

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the session works again once Redis is back", func() bool {
		return c.get("/members/x").status == http.StatusOK
	})
	wantGranted(t, c.get("/members/x"), "after the outage")
}

// TestFormPagesWithoutTheKeySayTryAgainLaterAndComeBack: with Redis down
// from the start and no secret, the form-token key is in Redis. The pages
// with a form answer with the "try again later" page (which has no form and
// needs nothing from Redis), never a 500 or a loop; pages without a form
// are served as ever; once Redis answers, the forms are back, without a
// restart.
func TestFormPagesWithoutTheKeySayTryAgainLaterAndComeBack(t *testing.T) {
	srv := startPersistentRedis(t)
	redisURL := srv.URL(0)
	srv.Stop()
	loadCaddyfile(t, outageConfig(t, redisURL, ""))
	c := newClient(t)
	for _, path := range []string{"/auth/login", "/auth/login?next=/members/x", "/auth/register", "/auth/logout"} {
		wantTryAgainPage(t, c.get(path), "GET "+path+", Redis down")
	}
	r := c.post("/auth/login", url.Values{formTokenField: {"anything"}, "username": {"olga"}, "password": {testPassword}})
	wantTryAgainPage(t, r, "POST /auth/login, Redis down")
	if r := c.get("/auth/nowhere"); r.status != http.StatusNotFound || !strings.Contains(r.body, "<h1>Not found</h1>") {
		t.Fatalf("a page without a form, Redis down: want the 404 page, got %d %q", r.status, r.body)
	}
	if r := c.get("/auth/style.css"); r.status != http.StatusOK {
		t.Fatalf("the stylesheet of the try-again page, Redis down: %d", r.status)
	}

	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the login form once Redis is up", func() bool {
		return c.get("/auth/login").status == http.StatusOK
	})
	r = c.get("/auth/login")
	if !strings.Contains(r.body, `<form method="post"`) || !strings.Contains(r.body, `name="csrf_token" value="`) || !strings.Contains(r.body, `name="password"`) {
		t.Fatalf("the login form once Redis is up: %q", r.body)
	}
	if r := c.register("olga", testPassword, "/members/x"); r.status != http.StatusSeeOther {
		t.Fatalf("registration once Redis is up: %d", r.status)
	}
	wantGranted(t, c.get("/members/x"), "after Redis came up")
}
