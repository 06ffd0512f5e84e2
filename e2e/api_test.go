package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The JSON API for front ends (/auth/session), called by fetch() from
// pages in a real Chromium: a page of the site itself logs in and out
// with it, and pages of other origins cannot make the browser log in or
// out, neither with a credentialed call (the browser's CORS preflight,
// and, should an operator grant CORS by mistake, the server's own
// cross-origin check) nor with a "simple" request the browser sends
// without asking (no-cors fetch, form post).

// fetched is what a page's script learned from one fetch() call: the
// status and body when the browser let it read them, the response type
// ("opaque" for no-cors), or why the call was rejected.
type fetched struct {
	Status int    `json:"status"`
	Type   string `json:"type"`
	Body   string `json:"body"`
	Failed string `json:"failed"`
}

// fetch runs call, a script expression whose value is fetch()'s promise,
// in the page the browser shows.
func (b *browser) fetch(what, call string) fetched {
	b.t.Helper()
	return browserValue(b, what, chromedp.Evaluate[fetched](`(async () => {
	try {
		const r = await `+call+`;
		return {status: r.status, type: r.type, body: r.type === "opaque" ? "" : await r.text(), failed: ""};
	} catch (e) {
		return {status: 0, type: "", body: "", failed: String(e)};
	}
})()`, chromedp.EvalAwaitPromise))
}

// apiAnswer is the JSON an API call answered: a session, or an error.
type apiAnswer struct {
	User    string   `json:"user"`
	Roles   []string `json:"roles"`
	Expires string   `json:"expires"`
	Error   string   `json:"error"`
	Message string   `json:"message"`
}

func (f fetched) answer(t *testing.T, what string) apiAnswer {
	t.Helper()
	var a apiAnswer
	if err := json.Unmarshal([]byte(f.Body), &a); err != nil {
		t.Fatalf("%s: the answer is not the API's JSON: %+v (%v)", what, f, err)
	}
	return a
}

// readmeLogin is the fetch call of the README's example, as a page of the
// site runs it.
func readmeLogin(user, password string) string {
	return fmt.Sprintf(`fetch("/auth/session", {
	method: "POST",
	headers: {"Content-Type": "application/json", "X-Requested-With": "fetch"},
	body: JSON.stringify({username: %q, password: %q}),
})`, user, password)
}

// whoIsLoggedIn asks the API, from the site's own home page, who the
// browser is logged in as ("" for nobody).
func (b *browser) whoIsLoggedIn(what string) string {
	b.t.Helper()
	b.open("/")
	r := b.fetch(what, `fetch("/auth/session")`)
	switch r.Status {
	case http.StatusOK:
		return r.answer(b.t, what).User
	case http.StatusUnauthorized:
		if code := r.answer(b.t, what).Error; code != "not_logged_in" {
			b.t.Fatalf("%s: 401 with error %q, want not_logged_in", what, code)
		}
		return ""
	}
	b.t.Fatalf("%s: GET /auth/session answered %+v, want 200 or 401", what, r)
	return ""
}

// wantLoggedInAs asserts, by what the browser can open, that it is
// logged in as user: the API names the user and the protected page opens.
func (b *browser) wantLoggedInAs(user, what string) {
	b.t.Helper()
	if got := b.whoIsLoggedIn(what); got != user {
		b.t.Fatalf("%s: the browser is logged in as %q, want %q", what, got, user)
	}
	b.open("/members/x")
	b.wantAt("/members/x", what)
	b.wantSecret(true, what)
}

// wantNobodyLoggedIn asserts that the API knows nobody and the protected
// page sends the browser to log in.
func (b *browser) wantNobodyLoggedIn(what string) {
	b.t.Helper()
	if got := b.whoIsLoggedIn(what); got != "" {
		b.t.Fatalf("%s: the browser is logged in as %q, want nobody", what, got)
	}
	b.wantLoggedOut(what)
}

// TestBrowserFrontEndLogsInAndOutThroughTheAPI: a page of the site logs
// in with fetch() exactly as the README shows (200, the JSON names the
// user), then GET /auth/session names the user, the protected page opens
// in the same browser, and the session cookie stays out of the page's
// reach (HttpOnly); DELETE /auth/session logs out (204), after which the
// API knows nobody and the protected page sends the browser to log in.
// A call without X-Requested-With is refused (403 header_required) and
// logs nobody in, even from the site's own page.
func TestBrowserFrontEndLogsInAndOutThroughTheAPI(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		const user = "frontend"
		site(t, "session_auth /members/*", "registration open\n\t\t"+be.lines(t))
		newClient(t).register(user, testPassword, "/")
		b := newBrowser(t, true)

		b.wantNobodyLoggedIn("a fresh browser")

		b.open("/")
		r := b.fetch("logging in without X-Requested-With", fmt.Sprintf(`fetch("/auth/session", {
	method: "POST",
	headers: {"Content-Type": "application/json"},
	body: JSON.stringify({username: %q, password: %q}),
})`, user, testPassword))
		if r.Status != http.StatusForbidden || r.answer(t, "logging in without the header").Error != "header_required" {
			t.Fatalf("a login call without X-Requested-With answered %+v, want 403 header_required", r)
		}
		b.wantNobodyLoggedIn("after a login call without X-Requested-With")

		b.open("/")
		r = b.fetch("logging in as the README shows", readmeLogin(user, testPassword))
		if r.Status != http.StatusOK {
			t.Fatalf("the README's login call answered %+v, want 200", r)
		}
		if a := r.answer(t, "the README's login call"); a.User != user || a.Roles == nil || a.Expires == "" {
			t.Fatalf("the README's login call answered %+v, want the session of %s", a, user)
		}
		if c := b.sessionCookie(); c == nil || !c.HTTPOnly {
			t.Fatalf("after the API login: session cookie %+v, want an HttpOnly one", c)
		}
		if jar := browserValue(b, "reading document.cookie", chromedp.Evaluate[string](`document.cookie`)); strings.Contains(jar, defaultCookieName) {
			t.Fatalf("the page's script can read the session cookie: %q", jar)
		}
		b.wantLoggedInAs(user, "after logging in through the API")

		b.open("/")
		r = b.fetch("logging out", `fetch("/auth/session", {method: "DELETE", headers: {"X-Requested-With": "fetch"}})`)
		if r.Status != http.StatusNoContent {
			t.Fatalf("DELETE /auth/session answered %+v, want 204", r)
		}
		b.wantNobodyLoggedIn("after logging out through the API")
	})
}

// The accounts of TestBrowserAnotherSiteCannotUseTheAPI: the browser's
// owner, and the other site's author, who would like the browser logged
// in as herself (login CSRF). Her password holds the "=" that a
// text/plain form puts between a field's name and its value, so such a
// form can send her credentials as a well-formed JSON body.
const (
	victim           = "victim"
	intruder         = "mallory"
	intruderPassword = "correct horse=battery"
)

// corsSite is the test site with a mistake the README warns against: it
// grants CORS with credentials to every origin on every answer, and
// answers every preflight with 204. The browser then lets any site's
// script call the API with the cookie and read the answers, so the
// server's own cross-origin check is all that keeps that script from
// logging the browser in or out.
func corsSite(t *testing.T, be backend) {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	loadCaddyfile(t, fmt.Sprintf(`{
	%s
	log {
		output file %s
		level DEBUG
	}
}

%s {
	root * %s
	header Access-Control-Allow-Origin {http.request.header.Origin}
	header Access-Control-Allow-Credentials true
	header Access-Control-Allow-Headers "Content-Type, X-Requested-With"
	header Access-Control-Allow-Methods "GET, POST, DELETE"
	route {
		@preflight method OPTIONS
		respond @preflight 204
		session_auth /members/* {
			bcrypt_cost 10
			registration open
			%s
		}
		file_server
	}
}
`, globalOptions(), logFile, baseURL, siteDir, be.lines(t)))
	t.Cleanup(func() {
		if !t.Failed() {
			return
		}
		if log, err := os.ReadFile(logFile); err == nil {
			const tail = 4000
			t.Logf("the end of Caddy's log:\n%s", log[max(0, len(log)-tail):])
		}
	})
}

// TestBrowserAnotherSiteCannotUseTheAPI: a page of another origin cannot
// make the browser log in (as the page's author) or log out through the
// API, whether the browser is logged out or logged in as its owner, and
// what the browser can open on the site afterwards shows it. Two other
// origins: another site (127.0.0.1, so Sec-Fetch-Site: cross-site) and
// another port of the site's own host (same site, other origin: the
// SameSite=Lax cookie goes along, so only the API's rules stand between
// that page and the session).
//
// On the site as documented, a credentialed fetch() with X-Requested-With
// is stopped by the browser's CORS preflight (the fetch rejects); a no-cors
// fetch (the browser drops the header and the JSON type) and a text/plain
// form post carrying a well-formed JSON body reach the server and are
// refused. On a site that grants CORS by mistake, the browser sends the
// credentialed call and lets the script read the answer: the server
// refuses it, 403 cross_origin.
func TestBrowserAnotherSiteCannotUseTheAPI(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, `<!doctype html><html lang="en"><title>Another site</title><p>Another site</p></html>`)
	}))
	t.Cleanup(other.Close)
	port := other.Listener.Addr().(*net.TCPAddr).Port
	origins := []struct{ name, url string }{
		{"another site", fmt.Sprintf("http://127.0.0.1:%d", port)},
		{"another port of this host", fmt.Sprintf("http://localhost:%d", port)},
	}
	configs := []struct {
		name      string
		load      func(t *testing.T, be backend)
		corsGiven bool
	}{
		{"site as documented", func(t *testing.T, be backend) {
			site(t, "session_auth /members/*", "registration open\n\t\t"+be.lines(t))
		}, false},
		{"site that grants CORS by mistake", corsSite, true},
	}
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, cfg := range configs {
			t.Run(cfg.name, func(t *testing.T) {
				cfg.load(t, be)
				setup := newClient(t)
				setup.register(victim, testPassword, "/")
				newClient(t).register(intruder, intruderPassword, "/")
				for _, o := range origins {
					t.Run(o.name, func(t *testing.T) {
						anotherSiteCannotUseTheAPI(t, o.url, cfg.corsGiven)
					})
				}
			})
		}
	})
}

func anotherSiteCannotUseTheAPI(t *testing.T, origin string, corsGiven bool) {
	api := baseURL + "/auth/session"
	b := newBrowser(t, true)
	// visit opens the other origin's page, from which the calls are made.
	visit := func() {
		t.Helper()
		b.step("opening "+origin, chromedp.Navigate(origin+"/"))
		if got := browserValue(b, "the page's origin", chromedp.Evaluate[string](`location.origin`)); got != origin {
			t.Fatalf("the other page's origin is %q, want %q", got, origin)
		}
	}
	// credentialed is a call the browser may send only after a preflight.
	credentialed := func(what, method, body string) {
		t.Helper()
		visit()
		init := fmt.Sprintf(`{method: %q, mode: "cors", credentials: "include", headers: {"Content-Type": "application/json", "X-Requested-With": "fetch"}`, method)
		if body != "" {
			init += `, body: ` + body
		}
		r := b.fetch(what, fmt.Sprintf("fetch(%q, %s})", api, init))
		if !corsGiven {
			if r.Failed == "" {
				t.Fatalf("%s: the browser let the call through (%+v); without CORS granted its preflight must fail", what, r)
			}
			t.Logf("%s: the fetch rejected: %s", what, r.Failed)
			return
		}
		if r.Failed != "" {
			t.Fatalf("%s: the fetch rejected (%s); with CORS granted the browser must send it, so that the server's answer is what this checks", what, r.Failed)
		}
		if r.Status != http.StatusForbidden || r.answer(t, what).Error != "cross_origin" {
			t.Fatalf("%s: the API answered %d %q, want 403 cross_origin", what, r.Status, r.Body)
		}
	}
	// noCORS is a simple request the browser sends without asking; it
	// drops the JSON type and X-Requested-With, and hides the answer.
	noCORS := func(what, body string) {
		t.Helper()
		visit()
		r := b.fetch(what, fmt.Sprintf(`fetch(%q, {method: "POST", mode: "no-cors", credentials: "include", headers: {"Content-Type": "application/json", "X-Requested-With": "fetch"}, body: %s})`, api, body))
		if r.Failed != "" || r.Type != "opaque" {
			t.Fatalf("%s: want the request sent and an opaque answer, got %+v", what, r)
		}
	}
	// formPost sends a text/plain form whose body is the JSON login of the
	// intruder, as a top-level navigation to the API.
	formPost := func(what string) {
		t.Helper()
		visit()
		name, value, _ := strings.Cut(fmt.Sprintf(`{"username":%q,"password":%q}`, intruder, intruderPassword), "=")
		ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
		defer cancel()
		resp, err := chromedp.RunResponse(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`(() => {
	const f = document.createElement("form");
	f.method = "POST";
	f.action = %q;
	f.enctype = "text/plain";
	const i = document.createElement("input");
	i.type = "hidden";
	i.name = %q;
	i.value = %q;
	f.append(i);
	document.body.append(f);
	f.submit();
})()`, api, name, value)))
		if err != nil || resp == nil {
			t.Fatalf("%s: the form post led nowhere: %v", what, err)
		}
		if resp.Status < 400 {
			t.Fatalf("%s: the API answered the form post %d, want a refusal", what, resp.Status)
		}
		t.Logf("%s: the API answered %d", what, resp.Status)
	}
	intruderLogin := fmt.Sprintf("JSON.stringify({username: %q, password: %q})", intruder, intruderPassword)

	// The browser is logged out: the other page tries to log it in.
	credentialed("a credentialed login call", "POST", intruderLogin)
	b.wantNobodyLoggedIn("after another origin's credentialed login call")
	noCORS("a no-cors login call", intruderLogin)
	b.wantNobodyLoggedIn("after another origin's no-cors login call")
	formPost("a text/plain form post of a JSON login")
	b.wantNobodyLoggedIn("after another origin's form post")

	// The owner logs in on the site; the other page tries to log the
	// browser out, or in as the intruder instead.
	b.open("/auth/login")
	b.logIn(victim)
	b.wantLoggedInAs(victim, "after the owner logged in")
	credentialed("a credentialed logout call", "DELETE", "")
	b.wantLoggedInAs(victim, "after another origin's credentialed logout call")
	visit()
	if r := b.fetch("a no-cors logout call", fmt.Sprintf(`fetch(%q, {method: "DELETE", mode: "no-cors", credentials: "include"})`, api)); r.Failed == "" {
		t.Fatalf("a no-cors DELETE must be refused by the browser itself, got %+v", r)
	}
	b.wantLoggedInAs(victim, "after another origin's no-cors logout call")
	credentialed("a credentialed login call over the owner's session", "POST", intruderLogin)
	b.wantLoggedInAs(victim, "after another origin's credentialed login call over the owner's session")
	noCORS("a no-cors login call over the owner's session", intruderLogin)
	b.wantLoggedInAs(victim, "after another origin's no-cors login call over the owner's session")
	formPost("a text/plain form post of a JSON login over the owner's session")
	b.wantLoggedInAs(victim, "after another origin's form post over the owner's session")
}
