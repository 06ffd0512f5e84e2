package e2e

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The browser tests drive Debian's Chromium (or $CHROMIUM) through the
// DevTools protocol against the in-process Caddy of harness_test.go.
// Like the rest of the suite they fail, never skip, when a part is missing:
// scripts/test installs Chromium and axe-core.

// browser is one headless Chromium with a fresh profile and one tab.
type browser struct {
	t   *testing.T
	ctx context.Context
	js  bool
}

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("the browser tests need Chromium at %s (Debian package chromium; scripts/test installs it): %v", path, err)
	}
	return path
}

// newBrowser starts Chromium with the flags this machine's closed network
// needs, and with page scripts on or off.
func newBrowser(t *testing.T, js bool) *browser {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]),
		chromedp.ExecPath(chromiumPath(t)),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelTab := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelTab(); cancelAlloc() })
	b := &browser{t: t, ctx: ctx, js: js}
	// The first run starts the browser, which lives as long as the context
	// it ran with: this one, not a shorter one with a deadline.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("starting Chromium: %v", err)
	}
	if !js {
		if _, err := chromedp.Call(ctx, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
			t.Fatalf("turning page scripts off: %v", err)
		}
	}
	return b
}

// step runs actions with a deadline, so a page that never loads fails the
// test with what was being done instead of hanging it.
func (b *browser) step(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v (the page is at %s)", what, err, b.location())
	}
}

func browserValue[T any](b *browser, what string, a chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
	return v
}

func (b *browser) open(path string) {
	b.t.Helper()
	b.step("opening "+path, chromedp.Navigate(baseURL+path))
}

// click clicks an element and waits for the page it leads to.
func (b *browser) click(sel string) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if _, err := chromedp.RunResponse(ctx, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible)); err != nil {
		b.t.Fatalf("clicking %s: %v (the page is at %s)", sel, err, b.location())
	}
}

// tick clicks an element that does not navigate, such as a checkbox.
func (b *browser) tick(sel string) {
	b.t.Helper()
	b.step("clicking "+sel, chromedp.Click(chromedp.CSS(sel), chromedp.NodeVisible))
}

func (b *browser) fill(sel, text string) {
	b.t.Helper()
	b.step("typing into "+sel, chromedp.SendKeys(chromedp.CSS(sel), text, chromedp.NodeVisible))
}

// location is the page's path and query ("" when it cannot be read).
func (b *browser) location() string {
	ctx, cancel := context.WithTimeout(b.ctx, 5*time.Second)
	defer cancel()
	loc, err := chromedp.Run(ctx, chromedp.Location())
	if err != nil {
		return ""
	}
	return strings.TrimPrefix(loc, baseURL)
}

// text is what the page shows.
func (b *browser) text() string {
	b.t.Helper()
	return browserValue(b, "reading the page", chromedp.Evaluate[string](`document.body ? document.body.innerText : ""`))
}

// attr reads an attribute live from the page (chromedp's own copy of the
// DOM may lag a click by a moment).
func (b *browser) attr(sel, name string) (string, bool) {
	b.t.Helper()
	v := browserValue(b, "reading "+sel, chromedp.Evaluate[*string](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return e ? e.getAttribute(%q) : null; })()`, sel, name)))
	if v == nil {
		return "", false
	}
	return *v, true
}

func (b *browser) visible(sel string) bool {
	b.t.Helper()
	return browserValue(b, "checking "+sel, chromedp.Evaluate[bool](fmt.Sprintf(
		`(() => { const e = document.querySelector(%q); return !!e && e.checkVisibility(); })()`, sel)))
}

// back presses the back button. A page restored from the back/forward cache
// fires no load event, so the wait ends at a deadline, and the caller then
// looks at whatever the tab shows.
func (b *browser) back() {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 10*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.NavigateBack()); err != nil {
		b.t.Logf("back: no page load (%v); checking what the tab shows", err)
	}
}

// blur takes the focus off the field that autofocus gave it.
func (b *browser) blur() {
	b.t.Helper()
	b.step("leaving the focus off the fields", chromedp.Evaluate[chromedp.Void](`new Promise(done => requestAnimationFrame(() => {
		if (document.activeElement) document.activeElement.blur();
		done();
	}))`, chromedp.EvalAwaitPromise))
}

func (b *browser) reload() { b.t.Helper(); b.step("reloading", chromedp.Reload()) }

// wantAt asserts the page's path and query, as decoded (%2F and %2f are
// one address).
func (b *browser) wantAt(want, what string) {
	b.t.Helper()
	same := func(x, y string) bool {
		u, err1 := url.Parse(x)
		v, err2 := url.Parse(y)
		return err1 == nil && err2 == nil && u.Path == v.Path && reflect.DeepEqual(u.Query(), v.Query())
	}
	if got := b.location(); !same(got, want) {
		b.t.Fatalf("%s: the browser is at %q, want %q; it shows %q", what, got, want, clip(b.text()))
	}
}

// wantSecret asserts that the protected page is shown, or that it is not.
func (b *browser) wantSecret(shown bool, what string) {
	b.t.Helper()
	text := b.text()
	if strings.Contains(text, "SECRET") != shown {
		b.t.Fatalf("%s: protected content shown = %v, want %v (at %s: %q)", what, !shown, shown, b.location(), clip(text))
	}
}

// wantScriptsAsConfigured checks that page scripts really are on or off:
// the show-password control is visible only when its script ran.
func (b *browser) wantScriptsAsConfigured(what string) {
	b.t.Helper()
	_, hidden := b.attr(".reveal", "hidden")
	if hidden == b.js || b.visible(".reveal") != b.js {
		b.t.Fatalf("%s: with scripts on = %v, the show-password control must be shown = %v (hidden attribute: %v)", what, b.js, b.js, hidden)
	}
}

// sessionCookie is the session cookie Chromium holds.
func (b *browser) sessionCookie() *network.Cookie {
	b.t.Helper()
	res, err := chromedp.Call(b.ctx, network.GetCookies, network.GetCookiesParams{URLs: []string{baseURL + "/"}})
	if err != nil {
		b.t.Fatalf("reading cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == defaultCookieName {
			return c
		}
	}
	return nil
}

func clip(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}

// TestBrowserFlow walks a real browser through the life of an account:
// a protected page sends it to login, then to registration and back to the
// page first asked for; a reload keeps it logged in; after logout neither
// the back button nor a reload shows protected content; "remember me"
// logs it in for 30 days and survives Caddy being torn down and rebuilt.
// It runs with page scripts on and off, on files and on Redis.
func TestBrowserFlow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, be backend) {
		for _, js := range []bool{true, false} {
			name := "scripts on"
			if !js {
				name = "scripts off"
			}
			t.Run(name, func(t *testing.T) { browserFlow(t, be, js) })
		}
	})
}

func browserFlow(t *testing.T, be backend, js bool) {
	const directive = "session_auth /members/*"
	options := "registration open\n\t\tbcrypt_cost 10\n\t\ttitle \"Example Members\"\n\t\t" + be.lines(t)
	site(t, directive, options)
	b := newBrowser(t, js)
	user := "walker"

	b.open("/members/x")
	b.wantAt("/auth/login?next=%2Fmembers%2Fx", "a protected page without a session")
	b.wantSecret(false, "the login page")
	if title := browserValue(b, "the title", chromedp.Title()); title != "Log in · Example Members" {
		t.Fatalf("login page title %q, want the heading and the site's name", title)
	}
	b.wantScriptsAsConfigured("the login page")

	b.click(`a[href^="/auth/register"]`)
	b.wantAt("/auth/register?next=%2Fmembers%2Fx", "the link to registration")
	b.wantScriptsAsConfigured("the register page")
	b.fill("#username", user)
	b.fill("#password", testPassword)
	b.fill("#password_confirm", testPassword)
	if js {
		b.tick("#show-password")
		for _, id := range []string{"#password", "#password_confirm"} {
			if typ, _ := b.attr(id, "type"); typ != "text" {
				t.Fatalf("show password: %s is type %q after ticking, want text", id, typ)
			}
		}
		b.tick("#show-password")
		for _, id := range []string{"#password", "#password_confirm"} {
			if typ, _ := b.attr(id, "type"); typ != "password" {
				t.Fatalf("show password: %s is type %q after unticking, want password", id, typ)
			}
		}
		b.tick("#show-password") // left shown: sending must still work
	}
	b.click(`button[type=submit]`)
	b.wantAt("/members/x", "after registering")
	b.wantSecret(true, "after registering")
	if c := b.sessionCookie(); c == nil || c.Expires > float64(time.Now().Add(48*time.Hour).Unix()) {
		t.Fatalf("after registering without remember me: session cookie %+v, want one that ends within the lifetime", c)
	}

	b.reload()
	b.wantSecret(true, "a reload while logged in")

	b.open("/auth/logout")
	if text := b.text(); !strings.Contains(text, "logged in as "+user) {
		t.Fatalf("the logout page should name the user: %q", clip(text))
	}
	b.click(`button[type=submit]`)
	b.wantAt("/auth/login?logged_out=1", "after logging out")
	if text := b.text(); !strings.Contains(text, "You are logged out.") {
		t.Fatalf("the login page after logout should say so: %q", clip(text))
	}

	b.back() // to the logout page
	b.back() // to the protected page
	b.wantSecret(false, "the back button after logout")
	b.wantAt("/auth/login?next=%2Fmembers%2Fx", "the back button after logout")
	b.reload()
	b.wantSecret(false, "a reload after logout")
	b.open("/members/x")
	b.wantSecret(false, "opening the protected page after logout")

	b.fill("#username", user)
	b.fill("#password", testPassword)
	b.tick("#remember")
	b.click(`button[type=submit]`)
	b.wantAt("/members/x", "after logging in with remember me")
	b.wantSecret(true, "after logging in with remember me")
	if c := b.sessionCookie(); c == nil || c.Session || c.Expires < float64(time.Now().Add(29*24*time.Hour).Unix()) {
		t.Fatalf("remember me: session cookie %+v, want one that lasts 30 days", c)
	}

	restartCaddy(t, directive, options)
	b.reload()
	b.wantAt("/members/x", "after Caddy was torn down and rebuilt")
	b.wantSecret(true, "after Caddy was torn down and rebuilt")
}

// axeViolation is one rule that axe-core found broken on a page.
type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeSource is axe-core's axe.min.js: $AXE_JS, or where scripts/test
// installs it.
func axeSource(t *testing.T) string {
	t.Helper()
	path := os.Getenv("AXE_JS")
	if path == "" {
		cache, err := os.UserCacheDir()
		if err == nil {
			path = filepath.Join(cache, "caddy-session-auth", "axe", "node_modules", "axe-core", "axe.min.js")
		}
	}
	src, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the accessibility checks need axe-core's axe.min.js in $AXE_JS (scripts/test installs it): %v", err)
	}
	return string(src)
}

// runAxe runs axe-core's default rules (WCAG 2 A and AA, and best
// practices) on the page the browser shows.
func (b *browser) runAxe(src, page string) []axeViolation {
	b.t.Helper()
	b.step("loading axe-core into "+page, chromedp.Evaluate[chromedp.Void](src))
	return browserValue(b, "running axe-core on "+page, chromedp.Evaluate[[]axeViolation](`axe.run(document, {resultTypes: ["violations"]}).then(r => r.violations.map(v => ({
		id: v.id, impact: v.impact || "", help: v.help,
		nodes: v.nodes.map(n => n.target.join(" ") + ": " + (n.failureSummary || "").replace(/\s+/g, " ")),
	})))`, chromedp.EvalAwaitPromise))
}

// axe fails the test on any serious or critical violation on the page;
// lesser ones are logged.
func (b *browser) axe(src, page string) {
	b.t.Helper()
	found := b.runAxe(src, page)
	for _, v := range found {
		out, _ := json.MarshalIndent(v, "", "  ")
		if v.Impact == "serious" || v.Impact == "critical" {
			b.t.Errorf("axe-core, %s: %s", page, out)
		} else {
			b.t.Logf("axe-core, %s (not failing): %s", page, out)
		}
	}
	b.t.Logf("axe-core, %s: %d violations", page, len(found))
}

func (b *browser) colorScheme(scheme string) {
	b.t.Helper()
	if _, err := chromedp.Call(b.ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: scheme}},
	}); err != nil {
		b.t.Fatalf("emulating %s: %v", scheme, err)
	}
}

// TestPagesPassAxe checks every page, in light and dark, and with its
// error states, with axe-core: none may have a serious or critical
// accessibility violation.
func TestPagesPassAxe(t *testing.T) {
	src := axeSource(t)
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\ttitle \"Example Members\"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("taken", testPassword, "/")
	b := newBrowser(t, true)

	// A control: axe must see a problem that is there, or a silent harness
	// would pass every page.
	b.open("/auth/login")
	b.step("unlabelling the username field", chromedp.Evaluate[chromedp.Void](`document.querySelector("label[for=username]").remove()`))
	if found := b.runAxe(src, "login without a label"); !slices.ContainsFunc(found, func(v axeViolation) bool { return v.ID == "label" && v.Impact == "critical" }) {
		t.Fatalf("axe-core did not report an input without a label: %+v", found)
	}

	pages := []struct {
		name string
		load func()
	}{
		{"login", func() { b.open("/auth/login?next=%2Fmembers%2Fx") }},
		{"login, logged out", func() { b.open("/auth/login?logged_out=1") }},
		{"login, wrong password", func() {
			b.open("/auth/login")
			b.fill("#username", "taken")
			b.fill("#password", "not the password")
			b.click(`button[type=submit]`)
			if !strings.Contains(b.text(), loginFailed) {
				t.Fatalf("the failed login page lacks its message: %q", clip(b.text()))
			}
		}},
		{"register", func() { b.open("/auth/register") }},
		{"register, name taken", func() {
			b.open("/auth/register")
			b.fill("#username", "taken")
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword)
			b.click(`button[type=submit]`)
			if v, _ := b.attr("#username", "aria-invalid"); v != "true" {
				t.Fatalf("a taken name must mark the username field invalid: %q", clip(b.text()))
			}
		}},
		{"register, passwords differ", func() {
			b.open("/auth/register")
			b.fill("#username", "another")
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword+"!")
			b.click(`button[type=submit]`)
			if v, _ := b.attr("#password_confirm", "aria-invalid"); v != "true" {
				t.Fatalf("differing passwords must mark the repeat field invalid: %q", clip(b.text()))
			}
		}},
		{"logout, not logged in", func() { b.open("/auth/logout") }},
		{"forbidden (stale form)", func() {
			b.open("/auth/login")
			b.step("spoiling the form token", chromedp.Evaluate[chromedp.Void](`document.querySelector("input[name=csrf_token]").value = "stale"`))
			b.fill("#username", "taken")
			b.fill("#password", testPassword)
			b.click(`button[type=submit]`)
			if !strings.Contains(b.text(), "Please try again") {
				t.Fatalf("want the forbidden page: %q", clip(b.text()))
			}
		}},
		{"not found", func() { b.open("/auth/nowhere") }},
		{"logout, logged in", func() {
			b.open("/auth/login")
			b.fill("#username", "taken")
			b.fill("#password", testPassword)
			b.click(`button[type=submit]`)
			b.open("/auth/logout")
			if !strings.Contains(b.text(), "logged in as taken") {
				t.Fatalf("want the logout page of a logged-in user: %q", clip(b.text()))
			}
		}},
	}
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		for _, p := range pages {
			p.load()
			b.axe(src, p.name+", "+scheme)
		}
	}

	// The "try again later" page needs a backend that is down.
	srv := startPersistentRedis(t)
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example Members\"\n\t\tredis "+srv.URL(0))
	srv.Stop()
	for _, scheme := range []string{"light", "dark"} {
		b.colorScheme(scheme)
		b.open("/auth/login")
		if !strings.Contains(b.text(), "Try again later") {
			t.Fatalf("want the try-again-later page: %q", clip(b.text()))
		}
		b.axe(src, "try again later, "+scheme)
	}
}

// TestScreenshots renders the login and registration pages (and the
// latter with an error), the account page with two sessions, the setup of
// an authenticator app and the second step of a login (an app and a
// passkey), light and dark, on a desktop and a phone, and the admin page
// with four accounts, one of them opened, light and dark on a desktop; it checks
// that nothing is wider than the screen. With SCREENSHOTS=1 it
// writes the pictures to the repository's docs/screenshots for the README;
// otherwise to a temporary folder.
func TestScreenshots(t *testing.T) {
	dir := t.TempDir()
	if os.Getenv("SCREENSHOTS") != "" {
		dir = filepath.Join("..", "docs", "screenshots")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	lines := fileBackend().lines(t)
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example Co.\"\n\t\t"+lines)
	// Registered from a phone: the account page, in a browser of its own
	// that is logged in, lists its session and the phone's.
	newClientAs(t, safariOnIPhone).register("alice", testPassword, "/")
	// The admin page lists ada (the admin), alice, bob with roles, and
	// pat, who waits for approval.
	store := accountStore(t, lines, "")
	addAccount(t, store, "ada", "admin")
	addAccount(t, store, "bob", "staff", "editor")
	addAccountAs(t, store, users.Account{Username: "pat", Pending: true})
	b := newBrowser(t, true)
	ab := newBrowser(t, true)
	ab.open("/auth/login")
	ab.logInWith("alice", testPassword)
	adb := newBrowser(t, true)
	adb.logInAsAdmin("ada")
	pages := map[string]func(){
		"login":    func() { b.open("/auth/login"); b.blur() },
		"register": func() { b.open("/auth/register"); b.blur() },
		// The field the error is about keeps the focus, to show its ring.
		"register-error": func() {
			b.open("/auth/register")
			b.fill("#username", "Alice")
			b.fill("#password", testPassword)
			b.fill("#password_confirm", testPassword)
			b.click(`button[type=submit]`)
		},
		"account": func() {
			ab.open("/auth/account")
			ab.wantSessions("the account page", "Chrome on Linux", "Safari on iPhone")
			ab.blur()
		},
		"admin": func() {
			adb.open("/auth/admin")
			adb.wantListed("the admin page", "pat Waits for approval", "ada You admin", "alice", "bob editor, staff")
			adb.openAccount("bob")
			adb.blur()
			adb.pointerAway()
		},
	}
	shownBy := map[string]*browser{"account": ab, "admin": adb}
	type screen struct {
		name          string
		width, height int64
		scale         float64
		mobile        bool
		pages         []string
	}
	// shoot renders each screen's pages, light and dark; page loads a
	// page into the browser shownBy names, or b.
	shoot := func(screens []screen, pages map[string]func(), shownBy map[string]*browser) {
		browsers := []*browser{b}
		for _, br := range shownBy {
			if !slices.Contains(browsers, br) {
				browsers = append(browsers, br)
			}
		}
		for _, sc := range screens {
			opts := []chromedp.EmulateViewportOption{chromedp.EmulateScale(sc.scale)}
			if sc.mobile {
				opts = append(opts, chromedp.EmulateMobile)
			}
			for _, br := range browsers {
				br.step("sizing the screen", chromedp.EmulateViewport(sc.width, sc.height, opts...))
			}
			for _, scheme := range []string{"light", "dark"} {
				for _, br := range browsers {
					br.colorScheme(scheme)
				}
				for _, page := range sc.pages {
					pages[page]()
					br := cmp.Or(shownBy[page], b)
					if w := browserValue(br, "measuring", chromedp.Evaluate[int64](`document.documentElement.scrollWidth`)); w > sc.width {
						t.Errorf("%s on a %s: the page is %dpx wide, wider than the %dpx screen", page, sc.name, w, sc.width)
					}
					br.screenshot(filepath.Join(dir, fmt.Sprintf("%s-%s-%s.png", page, sc.name, scheme)))
				}
			}
		}
	}
	shoot([]screen{
		{"desktop", 1280, 800, 1, false, []string{"login", "register", "register-error", "account", "admin"}},
		{"phone", 390, 844, 2, true, []string{"login", "register", "register-error", "account", "admin"}},
	}, pages, shownBy)

	// The second factor, on a site of its own (the admin page above lists
	// its four accounts only): alice sets up an authenticator app; sam,
	// who has one and a passkey, is at the second step of a login.
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example Co.\"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("alice", testPassword, "/")
	newClient(t).register("sam", testPassword, "/")
	eb := newBrowser(t, true)
	eb.open("/auth/login")
	eb.logInWith("alice", testPassword)
	sb := newBrowser(t, true)
	sb.addAuthenticator()
	sb.open("/auth/login")
	sb.logInWith("sam", testPassword)
	sb.setUpApp()
	sb.addPasskey("Phone", true)
	sb.logOut()
	shoot([]screen{
		{"desktop", 1280, 800, 1, false, []string{"enrol", "second-factor"}},
		{"phone", 390, 844, 2, true, []string{"enrol", "second-factor"}},
	}, map[string]func(){
		"enrol": func() {
			eb.open("/auth/account?setup=totp")
			eb.wantQR("the setup page")
			eb.blur()
		},
		"second-factor": func() {
			sb.open("/auth/login")
			sb.logInWith("sam", testPassword)
			sb.wantAt("/auth/second-factor", "sam after the password")
			sb.blur()
			sb.pointerAway()
		},
	}, map[string]*browser{"enrol": eb, "second-factor": sb})

	// The example theme, for the README's section on your own pages.
	theme, err := filepath.Abs(filepath.Join("..", "examples", "theme"))
	if err != nil {
		t.Fatal(err)
	}
	site(t, "session_auth /members/*", "registration open\n\t\ttitle \"Example Co.\"\n\t\ttemplate_dir "+theme+"\n\t\t"+fileBackend().lines(t))
	b.step("sizing the screen", chromedp.EmulateViewport(1280, 800))
	b.colorScheme("light")
	b.open("/auth/login")
	b.blur()
	b.screenshot(filepath.Join(dir, "theme-login-desktop-light.png"))
}

// pointerAway moves the mouse off the page's controls, where a click
// left it, and waits for the hover styles to fade.
func (b *browser) pointerAway() {
	b.t.Helper()
	b.step("moving the pointer away", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, 1, 1))
	b.step("waiting for transitions", chromedp.Evaluate[chromedp.Void](`Promise.all(document.getAnimations().map(a => a.finished))`, chromedp.EvalAwaitPromise))
}

// screenshot saves what the tab shows as a PNG.
func (b *browser) screenshot(file string) {
	b.t.Helper()
	png := browserValue(b, "taking a screenshot", chromedp.CaptureScreenshot())
	if err := os.WriteFile(file, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("wrote %s (%d bytes)", file, len(png))
}
