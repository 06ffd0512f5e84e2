package sessionauth

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestRegisterErrorsSitNextToTheirField: each refusal marks the one field
// it is about (aria-invalid, its message tied by aria-describedby), puts a
// summary with role="alert" at the top, and keeps what was typed but the
// password.
func TestRegisterErrorsSitNextToTheirField(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	newClient(t).register("taken", testPassword, "/")
	invalid := regexp.MustCompile(`<input id="([a-z_]+)"[^>]*aria-invalid="true"`)
	for _, tc := range []struct {
		name, user, password, confirm, field string
		status                               int
	}{
		{"name taken", "Taken", testPassword, testPassword, "username", http.StatusConflict},
		{"name with a slash", "a/b", testPassword, testPassword, "username", http.StatusBadRequest},
		{"password too short", "newbie", "Tiny7pw", "Tiny7pw", "password", http.StatusBadRequest},
		{"passwords differ", "newbie", testPassword, testPassword + "!", "password_confirm", http.StatusBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newClient(t).post("/auth/register", url.Values{"username": {tc.user}, "password": {tc.password}, "password_confirm": {tc.confirm}})
			if r.status != tc.status {
				t.Fatalf("want %d, got %d", tc.status, r.status)
			}
			marked := invalid.FindAllStringSubmatch(r.body, -1)
			if len(marked) != 1 || marked[0][1] != tc.field {
				t.Fatalf("want only %s marked invalid, got %v", tc.field, marked)
			}
			errID := tc.field + "-error"
			if !regexp.MustCompile(`<input id="` + tc.field + `"[^>]*aria-describedby="[^"]*\b` + errID + `\b`).MatchString(r.body) {
				t.Fatalf("the %s field is not described by its error", tc.field)
			}
			if !strings.Contains(r.body, `<p class="error" id="`+errID+`">`) {
				t.Fatalf("no error message next to %s", tc.field)
			}
			if !regexp.MustCompile(`role="alert"[^>]*>[^<]*<a href="#` + tc.field + `"`).MatchString(r.body) {
				t.Fatalf("the summary must be an alert that links to %s", tc.field)
			}
			if got, _ := usernameValue(r.body); got != tc.user {
				t.Fatalf("the username came back as %q, want %q", got, tc.user)
			}
			if containsSecretText(r.body, tc.password) {
				t.Fatal("the password came back in the page")
			}
		})
	}
}

// TestPagesCarryAutocompleteAndTheSiteName: password managers need the
// autocomplete tokens, and every page names the site when title is set.
func TestPagesCarryAutocompleteAndTheSiteName(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example & Co\"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	want := map[string][]string{
		"/auth/login":    {`autocomplete="username"`, `autocomplete="current-password"`, `<label for="username">`, `<label for="password">`},
		"/auth/register": {`autocomplete="username"`, `autocomplete="new-password"`, `<label for="password_confirm">`},
		"/auth/logout":   {`<button type="submit">Log out</button>`},
		"/auth/nowhere":  {`Not found`},
	}
	for path, parts := range want {
		r := c.get(path)
		for _, p := range append(parts, `<title>`, `Example &amp; Co</title>`, `<a class="site" href="/">Example &amp; Co</a>`) {
			if !strings.Contains(r.body, p) {
				t.Errorf("%s lacks %s", path, p)
			}
		}
	}
	c.register("named", testPassword, "/")
	r := c.logout()
	if loc := r.header.Get("Location"); loc != "/auth/login?logged_out=1" {
		t.Fatalf("logout went to %q", loc)
	}
	if r := c.get("/auth/login?logged_out=1"); !strings.Contains(r.body, `<p class="notice" role="status">You are logged out.</p>`) {
		t.Fatal("the login page after logout must say so")
	}
	if r := c.get("/auth/login"); strings.Contains(r.body, "logged out") {
		t.Fatal("the plain login page must not say logged out")
	}
	if r := c.get("/auth/show-password.js"); r.status != http.StatusOK || r.header.Get("Content-Type") != "text/javascript; charset=utf-8" || !strings.Contains(r.body, "data-show-password") {
		t.Fatalf("show-password.js: %d %q", r.status, r.header.Get("Content-Type"))
	}
}

// TestExampleThemeIsServed loads examples/theme as template_dir: its layout
// and stylesheet replace the embedded ones, the forms it does not replace
// still work, and the embedded script is still served.
func TestExampleThemeIsServed(t *testing.T) {
	theme, err := filepath.Abs(filepath.Join("examples", "theme"))
	if err != nil {
		t.Fatal(err)
	}
	css, err := os.ReadFile(filepath.Join(theme, "style.css"))
	if err != nil {
		t.Fatal(err)
	}
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Themed\"\n\t\ttemplate_dir "+theme+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	r := c.get("/auth/login")
	for _, want := range []string{`<body class="paper">`, `<header class="bar"><a href="/">Themed</a></header>`, `<title>Log in — Themed</title>`, `name="password"`, "<footer>"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the themed login page lacks %s", want)
		}
	}
	if r := c.get("/auth/style.css"); r.status != http.StatusOK || r.body != string(css) {
		t.Fatalf("style.css must be the theme's: %d", r.status)
	}
	if r := c.get("/auth/show-password.js"); r.status != http.StatusOK || !strings.Contains(r.body, "data-show-password") {
		t.Fatalf("the embedded script must still be served: %d", r.status)
	}
	if r := c.register("themed", testPassword, "/members/x"); r.status != http.StatusSeeOther {
		t.Fatalf("registering through the theme: %d", r.status)
	}
	wantGranted(t, c.get("/members/x"), "after registering through the theme")
	c.logout()
	if r := c.get("/auth/login?logged_out=1"); !strings.Contains(r.body, "You are logged out.") || !strings.Contains(r.body, `class="paper"`) {
		t.Fatal("the themed login page after logout must say so")
	}
}

// TestBrokenTemplateStopsTheConfig: a template_dir file that does not
// parse, or that fails when rendered, is refused when the config loads,
// with its path and line, and the running config goes on serving.
func TestBrokenTemplateStopsTheConfig(t *testing.T) {
	lines := fileBackend().lines(t)
	site(t, "session_auth /members/*", lines)
	for _, tc := range []struct {
		name, file, src, want string
	}{
		{"unclosed action", "login.html", "{{template \"head\" .}}\n<p>fine</p>\n<p>{{.Heading</p>\n", "login.html:3"},
		{"unknown field", "register.html", "{{template \"head\" .}}\n{{.Nickname}}\n{{template \"foot\" .}}\n", "register.html:2"},
		{"unknown template", "message.html", "{{template \"header\" .}}\n", "message.html:1"},
		{"layout without end", "layout.html", "{{define \"head\"}}<!doctype html>\n{{if .Title}}\n{{end}}\n", "layout.html:4: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, tc.file), []byte(tc.src), 0o644); err != nil {
				t.Fatal(err)
			}
			config := siteConfig(filepath.Join(t.TempDir(), "caddy.log"), "session_auth /members/*", "template_dir "+dir+"\n\t\t"+lines)
			for _, part := range []string{"template_dir", dir, tc.want} {
				caddytest.AssertLoadError(t, onFreePorts(config), "caddyfile", part)
			}
			if r := newClient(t).get("/auth/login"); r.status != http.StatusOK || !strings.Contains(r.body, `name="password"`) {
				t.Fatalf("the running config must go on serving its pages: %d", r.status)
			}
		})
	}
}
