package sessionauth

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	pathpkg "path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The access rules of the README's three examples, in one site: a staff
// area (a named matcher), per-client folders (users by name, a client's
// role, or staff), and an admin path with a narrower rule inside it (all
// that select a request must pass, so the broader admin rule cannot open
// the audit folder to every admin); and a rule outside the handler's
// matcher (a rule protects what it selects).
const accessRules = `allow @staff role staff admin
		allow /members/clients/acme/* user alice role staff
		allow /members/clients/globex/* role globex staff
		allow /members/admin/* role admin
		allow /members/admin/audit/* user ada dan
		allow /reports/* role staff`

// accessAccounts are the table's users and their roles.
var accessAccounts = map[string][]string{
	"nora":  nil,        // logged in, no roles, named nowhere
	"alice": nil,        // named in the acme rule
	"carol": {"globex"}, // holds the globex client's role
	"sam":   {"staff"},  // a role holder
	"oscar": {"admin"},  // holds admin but is not named in the audit rule
	"ada":   {"admin"},  // holds admin and is named in the audit rule
	"dan":   nil,        // named in the audit rule, lacks the admin role its parent rule needs
}

// accessStore is one accounts backend: the session_auth lines that name it
// and a store that reads and writes the same accounts.
type accessStore struct {
	name  string
	setup func(t *testing.T, realm string) (lines string, store users.Store)
}

func accessStores() []accessStore {
	return []accessStore{
		{"files", func(t *testing.T, _ string) (string, users.Store) {
			dir := t.TempDir()
			usersFile := filepath.Join(dir, "users.json")
			return fmt.Sprintf("users_file %s\n\t\tsessions_dir %s", usersFile, filepath.Join(dir, "sessions")), users.NewFileStore(usersFile)
		}},
		{"redis", func(t *testing.T, realm string) (string, users.Store) {
			if err := testRedis.FlushAll(); err != nil {
				t.Fatalf("flushing redis: %v", err)
			}
			pool := testRedis.Pool(0)
			t.Cleanup(func() { pool.Close() })
			return "redis " + testRedis.URL(0), users.NewRedisStore(pool, keyPrefix(realm))
		}},
	}
}

func forEachAccessStore(t *testing.T, test func(t *testing.T, lines string, store users.Store)) {
	for _, s := range accessStores() {
		t.Run(s.name, func(t *testing.T) {
			lines, store := s.setup(t, testRealm)
			test(t, lines, store)
		})
	}
}

// accessSiteDir is a site whose every protected file says SECRET and which
// one it is, plus a page that shows the user's placeholders.
func accessSiteDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"index.html":                "public home",
		"public.txt":                "public text",
		"members/x":                 "SECRET members",
		"members/staff/x":           "SECRET staff",
		"members/clients/acme/x":    "SECRET acme",
		"members/clients/globex/x":  "SECRET globex",
		"members/admin/x":           "SECRET admin",
		"members/admin/audit/x":     "SECRET audit",
		"members/who.html":          `user={{placeholder "http.auth.user.id"}} roles={{placeholder "http.auth.user.roles"}}`,
		"reports/x":                 "SECRET reports",
		"members/clients/index.txt": "SECRET clients index",
	} {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// accessConfig is a Caddyfile for the test ports: siteDir's files through
// templates and file_server, the staff matcher, and the given directive
// line and options.
func accessConfig(t *testing.T, root, directive, options string) string {
	t.Helper()
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	log {
		output file %s
		level DEBUG
	}
}

http://localhost:9080 {
	root * %s
	@staff path /members/staff/*
	%s {
		bcrypt_cost 10
		ip_limit 100000 15m
		account_limit 100000 15m
		%s
	}
	templates
	file_server
}
`, filepath.Join(t.TempDir(), "caddy.log"), root, directive, options)
}

// accessSite loads the site of the table: the README's rules, on store.
func accessSite(t *testing.T, lines string) {
	t.Helper()
	clockSkew.Store(0)
	loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*", accessRules+"\n\t\t"+lines))
}

// seedAccounts creates each account with its roles, straight in the store.
func seedAccounts(t *testing.T, store users.Store, accounts map[string][]string) {
	t.Helper()
	hash, err := users.Hash(testPassword, bcryptfloor.Cost)
	if err != nil {
		t.Fatal(err)
	}
	for name, roles := range accounts {
		if err := store.Create(context.Background(), users.Account{Username: name, Hash: hash, Roles: roles}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
}

// loggedIn is a client logged in as user; a login turned away because
// bcrypt is busy (503) is tried again.
func loggedIn(t *testing.T, user string) *client {
	t.Helper()
	c := newClient(t)
	for try := 0; ; try++ {
		r := c.login(user, testPassword, "/")
		if r.status == http.StatusSeeOther {
			return c
		}
		if r.status != http.StatusServiceUnavailable || try == 20 {
			t.Fatalf("logging in as %s: %d", user, r.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// outcome is what a request gets.
type outcome int

const (
	seen      outcome = iota // 200 with the content
	forbidden                // 403: a page for browsers, a bare error otherwise
	challenge                // no session: 303 to the login page, or 401
)

func (o outcome) String() string { return [...]string{"seen", "forbidden", "challenge"}[o] }

// wantOutcome checks one request, as a browser and as a script, against
// what the rules say: the content itself is shown only when served.
func wantOutcome(t *testing.T, c *client, user, path string, want outcome) {
	t.Helper()
	secret := "SECRET " + pathpkg.Base(pathpkg.Dir(path)) // each file names its folder
	browser, script := c.get(path), c.getAPI(path)
	what := fmt.Sprintf("%s at %s", user, path)
	switch want {
	case seen:
		for _, r := range []response{browser, script} {
			if r.status != http.StatusOK || !strings.Contains(r.body, secret) {
				t.Fatalf("%s: want %q (200), got %d %q", what, secret, r.status, r.body)
			}
		}
		return
	case forbidden:
		wantForbiddenPage(t, browser, user, path, what)
		if script.status != http.StatusForbidden || script.body != "" {
			t.Fatalf("%s, as a script: want a bare 403, got %d %q", what, script.status, script.body)
		}
	case challenge:
		if browser.status != http.StatusSeeOther || browser.header.Get("Location") != "/auth/login?next="+url.QueryEscape(path) {
			t.Fatalf("%s, as a browser: want 303 to the login page, got %d %q", what, browser.status, browser.header.Get("Location"))
		}
		if script.status != http.StatusUnauthorized {
			t.Fatalf("%s, as a script: want 401, got %d", what, script.status)
		}
	}
	for _, r := range []response{browser, script} {
		if strings.Contains(r.body, "SECRET") {
			t.Fatalf("%s: protected content in a refusal: %q", what, r.body)
		}
	}
}

// wantForbiddenPage asserts the refusal a logged-in browser gets: the
// styled 403 page naming the user, with a link to log in as someone else
// that comes back here, kept from every cache, and no redirect.
func wantForbiddenPage(t *testing.T, r response, user, path, what string) {
	t.Helper()
	if r.status != http.StatusForbidden {
		t.Fatalf("%s, as a browser: want 403, got %d (Location %q) %q", what, r.status, r.header.Get("Location"), r.body)
	}
	if loc := r.header.Get("Location"); loc != "" {
		t.Fatalf("%s: a refusal must not redirect (Location %q)", what, loc)
	}
	text := strings.Join(strings.Fields(stripTags(r.body)), " ")
	if want := "You are logged in as " + user + "; this page is not open to this account."; !strings.Contains(text, want) {
		t.Fatalf("%s: the page does not say %q: %q", what, want, text)
	}
	href, ok := linkTo(r.body, "Log in as someone else")
	u, err := url.Parse(href)
	if !ok || err != nil || u.Path != "/auth/login" || u.Query().Get("next") != path {
		t.Fatalf("%s: want a link \"Log in as someone else\" to the login page with next=%s, got %q in %q", what, path, href, r.body)
	}
	if cc := r.header.Get("Cache-Control"); cc != "private, no-store" {
		t.Fatalf("%s: Cache-Control %q, want private, no-store", what, cc)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
		t.Fatalf("%s: Content-Type %q", what, ct)
	}
}

// linkTo finds the link whose text is text and returns its address.
func linkTo(body, text string) (string, bool) {
	for _, a := range strings.Split(body, "<a ")[1:] {
		attrs, rest, _ := strings.Cut(a, ">")
		label, _, _ := strings.Cut(rest, "</a>")
		if strings.TrimSpace(label) != text {
			continue
		}
		_, href, ok := strings.Cut(attrs, `href="`)
		href, _, _ = strings.Cut(href, `"`)
		return html.UnescapeString(href), ok
	}
	return "", false
}

// stripTags leaves a page's text.
func stripTags(body string) string {
	var b strings.Builder
	in := false
	for _, c := range body {
		switch {
		case c == '<':
			in = true
		case c == '>':
			in = false
			b.WriteByte(' ')
		case !in:
			b.WriteRune(c)
		}
	}
	return strings.NewReplacer(" ;", ";").Replace(b.String())
}

// TestAccessRulesDecideWhoSeesWhat is the table of routes × users ×
// roles, on both backends: a route no rule selects is open to any
// account; a rule lets through the users it names and the holders of its
// roles, and refuses everyone else with 403; a request must pass every
// rule that selects it, so a user named in the narrow rule but lacking
// the broader rule's role is refused, and so is a holder of the broader
// role not named in the narrow one; a rule outside the handler's matcher
// protects what it selects; anonymous requests keep 303 and 401.
func TestAccessRulesDecideWhoSeesWhat(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		accessSite(t, lines)
		seedAccounts(t, store, accessAccounts)
		S, F, C := seen, forbidden, challenge
		table := []struct {
			path string
			want map[string]outcome // "" is anonymous
		}{
			{"/members/x", map[string]outcome{"": C, "nora": S, "alice": S, "carol": S, "sam": S, "oscar": S, "ada": S, "dan": S}},
			{"/members/staff/x", map[string]outcome{"": C, "nora": F, "alice": F, "carol": F, "sam": S, "oscar": S, "ada": S, "dan": F}},
			{"/members/clients/acme/x", map[string]outcome{"": C, "nora": F, "alice": S, "carol": F, "sam": S, "oscar": F, "ada": F, "dan": F}},
			{"/members/clients/globex/x", map[string]outcome{"": C, "nora": F, "alice": F, "carol": S, "sam": S, "oscar": F, "ada": F, "dan": F}},
			{"/members/admin/x", map[string]outcome{"": C, "nora": F, "alice": F, "carol": F, "sam": F, "oscar": S, "ada": S, "dan": F}},
			{"/members/admin/audit/x", map[string]outcome{"": C, "nora": F, "alice": F, "carol": F, "sam": F, "oscar": F, "ada": S, "dan": F}},
			{"/reports/x", map[string]outcome{"": C, "nora": F, "alice": F, "carol": F, "sam": S, "oscar": F, "ada": F, "dan": F}},
		}
		clients := map[string]*client{"": newClient(t)}
		for user := range accessAccounts {
			clients[user] = loggedIn(t, user)
		}
		for _, row := range table {
			for user, want := range row.want {
				wantOutcome(t, clients[user], user, row.path, want)
			}
		}
		for user, c := range clients {
			if r := c.get("/public.txt"); r.status != http.StatusOK || r.body != "public text" {
				t.Fatalf("%q at a public page no rule selects: %d %q", user, r.status, r.body)
			}
		}
		for user, roles := range map[string]string{"nora": "", "sam": "staff", "ada": "admin"} {
			if r := clients[user].get("/members/who.html"); r.body != "user="+user+" roles="+roles {
				t.Fatalf("the placeholders for %s: %q, want user=%s roles=%s", user, r.body, user, roles)
			}
		}
	})
}

// TestNoRulesMeansAnyAccount: a config without allow works as before
// rules existed: any account sees every protected page, whatever its roles.
func TestNoRulesMeansAnyAccount(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*", lines))
		seedAccounts(t, store, map[string][]string{"nora": nil, "sam": {"staff"}})
		for _, user := range []string{"nora", "sam"} {
			c := loggedIn(t, user)
			for _, path := range []string{"/members/x", "/members/staff/x", "/members/admin/audit/x"} {
				wantOutcome(t, c, user, path, seen)
			}
		}
		if r := newClient(t).get("/reports/x"); r.status != http.StatusOK {
			t.Fatalf("without rules, a path outside the matcher is public: %d", r.status)
		}
	})
}

// TestRefusalIsAPageNotALoop follows what a refused browser can do: the
// 403 page's link opens the login page with next kept; logging in there
// as someone who may see the page replaces the session and goes straight
// to it; logging in as someone who may not gets the 403 page again, not a
// redirect. Nothing in it ever sends a logged-in browser to the login
// page by itself.
func TestRefusalIsAPageNotALoop(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		accessSite(t, lines)
		seedAccounts(t, store, accessAccounts)
		c := loggedIn(t, "nora")
		const page = "/members/admin/x?tab=1&b=2"
		r := c.get(page)
		wantForbiddenPage(t, r, "nora", page, "nora at the admin page")
		if r := c.getAPI(page); r.status != http.StatusForbidden {
			t.Fatalf("as a script: %d", r.status)
		}
		head, _ := http.NewRequest(http.MethodHead, baseURL+page, nil)
		head.Header.Set("Accept", "text/html")
		if r := c.do(head); r.status != http.StatusForbidden {
			t.Fatalf("HEAD from a browser: want 403, got %d", r.status)
		}
		post, _ := http.NewRequest(http.MethodPost, baseURL+page, strings.NewReader("x=1"))
		post.Header.Set("Accept", "text/html")
		if r := c.do(post); r.status != http.StatusForbidden || strings.Contains(r.body, "SECRET") {
			t.Fatalf("POST from a logged-in browser: want 403, got %d", r.status)
		}

		// The link: the login page, with next, even though nora is logged in.
		login := c.get("/auth/login?next=" + url.QueryEscape(page))
		if login.status != http.StatusOK || hiddenValue(login.body, "next") != page {
			t.Fatalf("the login page from the link: %d, next %q; want 200 and %q", login.status, hiddenValue(login.body, "next"), page)
		}
		r = c.login("sam", testPassword, page)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
			t.Fatalf("logging in as sam from the 403 page: %d %q; want 303 to %s", r.status, r.header.Get("Location"), page)
		}
		wantForbiddenPage(t, c.get(page), "sam", page, "sam (staff, not admin) at the admin page")
		wantOutcome(t, c, "sam", "/members/staff/x", seen) // the new session is sam's

		r = c.login("oscar", testPassword, page)
		if r.status != http.StatusSeeOther || r.header.Get("Location") != page {
			t.Fatalf("logging in as oscar: %d %q", r.status, r.header.Get("Location"))
		}
		if r := c.get(page); r.status != http.StatusOK || !strings.Contains(r.body, "SECRET admin") {
			t.Fatalf("oscar (admin) at the admin page: %d %q", r.status, r.body)
		}
	})
}

// hiddenValue reads a hidden field's value from a form page.
func hiddenValue(body, name string) string {
	_, rest, _ := strings.Cut(body, `name="`+name+`" value="`)
	v, _, _ := strings.Cut(rest, `"`)
	return html.UnescapeString(v)
}

// TestPathTricksNeverGetPastARule: the path tricks that cannot reach
// protected content without a session cannot reach a rule's content for a
// user the rule refuses either, because rules are Caddy matchers applied
// to the request as Caddy normalises it. The admitted user is the
// control: through each trick marked served, the content is really there.
func TestPathTricksNeverGetPastARule(t *testing.T) {
	lines, store := accessStores()[0].setup(t, testRealm)
	accessSite(t, lines)
	seedAccounts(t, store, accessAccounts)
	cookie := func(user string) string {
		c := loggedIn(t, user)
		return c.cookie()
	}
	refused, admitted := map[string]string{}, map[string]string{}
	for _, u := range []string{"nora", "sam", "oscar", "dan"} {
		refused[u] = cookie(u)
	}
	admitted["ada"] = cookie("ada")
	admitted["sam"] = refused["sam"]
	for _, tc := range []struct {
		target   string
		leak     string
		refused  []string // users a rule refuses here
		admitted string   // a user it lets through (the control)
		served   bool     // the control gets the content through the trick
	}{
		{"/members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin/audit/../audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin/x/../audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/../members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/staff/../admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/clients/../admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"//members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members//admin//audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin/./audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin/%2e/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin%2faudit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin%2Faudit%2fx", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/admin/%61udit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/%6Dembers/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/ADMIN/AUDIT/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", false},
		{"/MEMBERS/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", false},
		{"/auth/../members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/auth/%2e%2e/members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/auth/..%2fmembers/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"http://localhost:9080/members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"http://localhost:9080//members/admin/audit/x", "SECRET audit", []string{"nora", "sam", "oscar", "dan"}, "ada", true},
		{"/members/staff/x", "SECRET staff", []string{"nora", "dan"}, "sam", true},
		{"/members/x/../staff/x", "SECRET staff", []string{"nora", "dan"}, "sam", true},
		{"//members/staff/x", "SECRET staff", []string{"nora", "dan"}, "sam", true},
		{"/members%2fstaff/x", "SECRET staff", []string{"nora", "dan"}, "sam", true},
		{"/members/%73taff/x", "SECRET staff", []string{"nora", "dan"}, "sam", true},
		{"/members/STAFF/x", "SECRET staff", []string{"nora", "dan"}, "sam", false},
		{"/reports/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", true},
		{"//reports/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", true},
		{"/%72eports/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", true},
		{"/public.txt/../reports/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", true},
		{"/auth/../reports/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", true},
		{"/REPORTS/x", "SECRET reports", []string{"nora", "oscar", "dan"}, "sam", false},
	} {
		t.Run(tc.target, func(t *testing.T) {
			control := rawGet(t, tc.target, "text/html", admitted[tc.admitted])
			if tc.served && (control.status != http.StatusOK || !strings.Contains(control.body, tc.leak)) {
				t.Fatalf("control: %s should get %q through %q, got %d %q", tc.admitted, tc.leak, tc.target, control.status, control.body)
			}
			for _, user := range tc.refused {
				for _, accept := range []string{"text/html", "application/json", ""} {
					r := rawGet(t, tc.target, accept, refused[user])
					if strings.Contains(r.body, "SECRET") {
						t.Fatalf("%s, Accept %q: %q served protected content (%d): %q", user, accept, tc.target, r.status, r.body)
					}
					if r.status == http.StatusOK || r.status >= 500 {
						t.Fatalf("%s, Accept %q: %q answered %d", user, accept, tc.target, r.status)
					}
				}
			}
			for _, accept := range []string{"text/html", ""} {
				if r := rawGet(t, tc.target, accept, ""); strings.Contains(r.body, "SECRET") || r.status == http.StatusOK {
					t.Fatalf("no session, Accept %q: %q answered %d %q", accept, tc.target, r.status, r.body)
				}
			}
		})
	}
}

// rawGet sends a GET with the request target exactly as written (Go's
// client would clean it), with a session cookie when one is given.
func rawGet(t *testing.T, target, accept, cookie string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(baseURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", onFreePorts(target), strings.TrimPrefix(baseURL, "http://"))
	if accept != "" {
		fmt.Fprintf(&b, "Accept: %s\r\n", accept)
	}
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s=%s\r\n", defaultCookieName, cookie)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatalf("write %s: %v", target, err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("GET %q: reading the response: %v", target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}
}

// TestDefaultRolesGoToNewRegistrations: default_roles gives each account
// made by registration its roles, which a rule then lets through; without
// it, a new account has none.
func TestDefaultRolesGoToNewRegistrations(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*",
			"registration open\n\t\tdefault_roles Member staff\n\t\tallow @staff role staff\n\t\t"+lines))
		c := newClient(t)
		if r := c.register("newbie", testPassword, "/members/staff/x"); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		wantOutcome(t, c, "newbie", "/members/staff/x", seen)
		if a, err := store.Get(context.Background(), "newbie"); err != nil || strings.Join(a.Roles, ",") != "member,staff" {
			t.Fatalf("the new account's roles: %q, %v; want member,staff", a.Roles, err)
		}
	})
	lines, store := accessStores()[0].setup(t, testRealm)
	loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*", "registration open\n\t\tallow @staff role staff\n\t\t"+lines))
	c := newClient(t)
	c.register("plain", testPassword, "/")
	wantOutcome(t, c, "plain", "/members/staff/x", forbidden)
	if a, err := store.Get(context.Background(), "plain"); err != nil || len(a.Roles) != 0 {
		t.Fatalf("without default_roles, a new account has roles %q, %v", a.Roles, err)
	}
}

// TestRegistrationCannotClaimANameARuleGrants: with open registration, a
// name that an allow rule lets through by name is refused as taken, in any
// spelling, so no stranger gets the access the config meant for its owner;
// the operator's account of that name still passes the rule.
func TestRegistrationCannotClaimANameARuleGrants(t *testing.T) {
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*", "registration open\n\t\t"+accessRules+"\n\t\t"+lines))
		for _, name := range []string{"ada", "Ada", "dan"} {
			c := newClient(t)
			if r := c.register(name, testPassword, "/members/admin/audit/x"); r.status != http.StatusConflict || !strings.Contains(r.body, "taken") {
				t.Fatalf("registering %q, named by a rule: %d; want 409 taken", name, r.status)
			}
			wantOutcome(t, c, "", "/members/admin/audit/x", challenge)
		}
		if _, err := store.Get(context.Background(), "ada"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("after refused registrations, ada's account: %v; want none", err)
		}
		seedAccounts(t, store, map[string][]string{"ada": {"admin"}})
		wantOutcome(t, loggedIn(t, "ada"), "ada", "/members/admin/audit/x", seen)
	})
}

// TestRegistrationElsewhereInTheRealmCannotClaimAGrantedName: accounts
// belong to the realm, so a handler of the same realm without rules (here
// a second one in the site, with registration open) refuses a name that
// the other's rule grants, and still registers other names.
func TestRegistrationElsewhereInTheRealmCannotClaimAGrantedName(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		clockSkew.Store(0)
		lines := b.lines(t)
		loadCaddyfile(t, testGlobals(t)+fmt.Sprintf(`
http://localhost:9080 {
	handle /b/* {
		session_auth /b/members/* {
			bcrypt_cost 10
			registration open
			path_prefix /b/auth
			%s
		}
		respond "b"
	}
	handle {
		session_auth /members/* {
			bcrypt_cost 10
			allow /members/admin/* user ada
			%s
		}
		respond "a"
	}
}
`, lines, lines))
		register := func(name string) response {
			c := newClient(t)
			return c.post("/b/auth/register", url.Values{"username": {name}, "password": {testPassword}, "password_confirm": {testPassword}, "next": {"/"}})
		}
		if r := register("Ada"); r.status != http.StatusConflict {
			t.Fatalf("registering ada on the realm's other handler: %d; want 409, the name a rule grants is taken", r.status)
		}
		if r := register("zed"); r.status != http.StatusSeeOther {
			t.Fatalf("registering zed on the realm's other handler: %d; want 303", r.status)
		}
	})
}
