package sessionauth

import (
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/gorilla/securecookie"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// The integration tests run a real Caddy (caddytest, in this process) with
// real Caddyfiles, against a real redis-server on a free port.
var (
	testRedis *testredis.Server
	siteDir   string
	scratch   string
)

const (
	testPassword = "correct horse battery"
	testSecret   = "0123456789abcdef0123456789abcdef-test-secret"
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	if err := pickPorts(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	// bcrypt at its lowest cost: under -race a hash at cost 10 takes a
	// second or more, and most tests make dozens. The tests of the cost
	// itself set theirs in their config, or call realBcrypt.
	bcryptfloor.Cost = bcrypt.MinCost
	// One connection per request for every client on Go's default
	// transport: a connection kept alive from before a config reload would
	// reach the old server, which closes it, and fail the next test's first
	// request with a reset.
	http.DefaultTransport.(*http.Transport).DisableKeepAlives = true
	var err error
	scratch, err = os.MkdirTemp("", "session-auth-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(scratch)
	// Caddy's data directory (generated keys, default users file) goes to
	// scratch, never to the developer's own.
	os.Setenv("XDG_DATA_HOME", filepath.Join(scratch, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(scratch, "config"))
	// The command's data-directory check looks for a caddy user and for
	// service data directories; the tests play those (useDataDirs), never
	// the machine's own, which would make them pass or fail by machine.
	caddyUserDataDir = func() string { return "" }
	serviceDataDirs = func() []string { return nil }
	siteDir = filepath.Join(scratch, "site")
	for name, body := range map[string]string{
		"index.html":           "public home",
		"public.txt":           "public text",
		"members/index.html":   "SECRET members index",
		"members/x":            "SECRET x",
		"members/secret.txt":   "SECRET text",
		"members/who.html":     `user={{placeholder "http.auth.user.id"}}`,
		"members/factors.html": `factors={{placeholder "http.auth.user.factors"}}`,
		"greet.html":           `hello {{placeholder "http.auth.user.id"}}`,
		"auth-decoy/index.txt": "decoy",
	} {
		p := filepath.Join(siteDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	testRedis, err = testredis.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the tests need a real redis-server:", err)
		return 1
	}
	defer testRedis.Close()
	return m.Run()
}

// backend is one way of keeping sessions and accounts, as Caddyfile lines.
type backend struct {
	name  string
	lines func(t *testing.T) string
}

func fileBackend() backend {
	return backend{"files", func(t *testing.T) string {
		dir := t.TempDir()
		return fmt.Sprintf("users_file %s\n\t\tsessions_dir %s", filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions"))
	}}
}

func redisBackend() backend {
	return backend{"redis", func(t *testing.T) string {
		if err := testRedis.FlushAll(); err != nil {
			t.Fatalf("flushing redis: %v", err)
		}
		return "redis " + testRedis.URL(0)
	}}
}

// forEachBackend runs a test once on files and once on Redis.
func forEachBackend(t *testing.T, test func(t *testing.T, b backend)) {
	for _, b := range []backend{fileBackend(), redisBackend()} {
		t.Run(b.name, func(t *testing.T) { test(t, b) })
	}
}

// site loads a Caddyfile whose one site serves siteDir through file_server
// and templates, with the given session_auth directive line and options.
// The log goes to a file, returned, so tests can read what was logged.
func site(t *testing.T, directive, options string) string {
	t.Helper()
	clockSkew.Store(0)
	t.Cleanup(func() { clockSkew.Store(0) })
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	if !strings.Contains(options, "bcrypt_cost") {
		// bcrypt's lowest cost keeps the suite quick under -race; the
		// tests about bcrypt's cost set their own.
		options = "bcrypt_cost 4\n\t\t" + options
	}
	loadCaddyfile(t, siteConfig(logFile, directive, options))
	return logFile
}

// testGlobals is the global options block of a test's own Caddyfile: the
// fixed test ports, and the log in a file of the test's.
func testGlobals(t *testing.T) string {
	return fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	log {
		output file %s
	}
}
`, filepath.Join(t.TempDir(), "caddy.log"))
}

// siteConfig is the Caddyfile that site loads: one site serving siteDir
// through file_server and templates, behind the given directive.
func siteConfig(logFile, directive, options string) string {
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
	%s {
		%s
	}
	templates
	file_server
}
`, logFile, siteDir, directive, options)
}

// loadCaddyfile makes config the running one, or fails the test.
func loadCaddyfile(t *testing.T, config string) {
	t.Helper()
	tc := caddytest.NewTester(t)
	tc.InitServer(onFreePorts(config), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	settle(t)
}

// settle waits until only the config just loaded listens on the test
// ports. Caddy opens each config's listeners anew with SO_REUSEPORT, so
// for a moment after a reload the old config's socket listens beside the
// new one; the kernel hands it some new connections, and those still in
// its queue when it closes are reset: a test's first request could meet an
// EOF. On Linux the sockets are counted in /proc; elsewhere (or if /proc
// cannot be read) two answers in a row from fresh connections have to do.
func settle(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for _, u := range []string{baseURL, httpsURL} {
		port, _ := strconv.Atoi(u[strings.LastIndexByte(u, ':')+1:])
		for n := listening(port); n > 1; n = listening(port) {
			if time.Now().After(deadline) {
				t.Fatalf("port %d: %d sockets still listen after a config load", port, n)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	for ok := 0; ok < 2; {
		resp, err := oneShot.Get(baseURL + "/")
		switch {
		case err == nil:
			resp.Body.Close()
			ok++
		case errors.Is(err, syscall.ECONNREFUSED):
			ok++
		default:
			ok = 0
			if time.Now().After(deadline) {
				t.Fatalf("the new config's server does not answer: %v", err)
			}
		}
	}
}

// listening counts the TCP sockets that listen on port, from Linux's
// /proc/net/tcp and tcp6; -1 when they cannot be read.
func listening(port int) int {
	n, read := 0, false
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		data, err := os.ReadFile(table)
		if err != nil {
			continue
		}
		read = true
		for _, line := range strings.Split(string(data), "\n")[1:] {
			f := strings.Fields(line)
			// local_address is hex address ":" hex port; state 0A is LISTEN
			if len(f) > 3 && f[3] == "0A" && strings.HasSuffix(f[1], fmt.Sprintf(":%04X", port)) {
				n++
			}
		}
	}
	if !read {
		return -1
	}
	return n
}

// client is a browser-like client: its own cookie jar, no redirects
// followed, so tests see each 303 and its Location.
type client struct {
	t     *testing.T
	hc    *http.Client
	jar   *cookiejar.Jar
	agent string // the User-Agent it sends; "" for Go's own
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, jar: jar, hc: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is what a test looks at: status, headers and the whole body.
type response struct {
	status int
	header http.Header
	body   string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	if c.agent != "" {
		req.Header.Set("User-Agent", c.agent)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}
}

// get fetches a path as a browser would (Accept: text/html).
func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return c.do(req)
}

// getAPI fetches a path as a script would (no HTML in Accept).
func (c *client) getAPI(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}

// post sends a same-origin form, as the plugin's own pages do: it first
// opens the form's page for its token, unless the test set csrf_token.
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	return c.postWith(path, form, http.Header{"Origin": {baseURL}, "Sec-Fetch-Site": {"same-origin"}})
}

// postWith posts a form with exactly the given extra headers (and the
// client's own cookie jar), and a valid token unless the test set
// csrf_token, so that only the headers under test differ from an honest
// post.
func (c *client) postWith(path string, form url.Values, extra http.Header) response {
	c.t.Helper()
	if _, set := form[formTokenField]; !set {
		form.Set(formTokenField, c.formToken(path))
	}
	req, _ := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range extra {
		req.Header[k] = vs
	}
	return c.do(req)
}

var tokenField = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// formToken opens the page at path and returns its form token.
func (c *client) formToken(path string) string {
	c.t.Helper()
	r := c.get(path)
	m := tokenField.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("GET %s: no form token in the page (%d)", path, r.status)
	}
	return html.UnescapeString(m[1])
}

func (c *client) register(user, password, next string) response {
	c.t.Helper()
	return c.post("/auth/register", url.Values{"username": {user}, "password": {password}, "password_confirm": {password}, "next": {next}})
}

func (c *client) login(user, password, next string) response {
	c.t.Helper()
	return c.post("/auth/login", url.Values{"username": {user}, "password": {password}, "next": {next}})
}

func (c *client) logout() response {
	c.t.Helper()
	return c.post("/auth/logout", url.Values{})
}

// cookie is the session cookie the client holds now ("" for none).
func (c *client) cookie() string {
	u, _ := url.Parse(baseURL)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == defaultCookieName {
			return ck.Value
		}
	}
	return ""
}

// withCookie is a fresh client that holds only the given session cookie,
// as an attacker with a copied cookie would.
func withCookie(t *testing.T, value string) *client {
	c := newClient(t)
	u, _ := url.Parse(baseURL)
	c.jar.SetCookies(u, []*http.Cookie{{Name: defaultCookieName, Value: value, Path: "/"}})
	return c
}

// sessionID decodes a cookie value signed with testSecret.
func sessionID(t *testing.T, value string) string {
	t.Helper()
	var id string
	if err := securecookie.DecodeMulti(defaultCookieName, value, &id, testCodecs()...); err != nil {
		t.Fatalf("decoding session cookie: %v", err)
	}
	return id
}

// signID makes a validly signed cookie for any id, as someone who knows
// the secret (or a leaked old cookie) could.
func signID(t *testing.T, id string) string {
	t.Helper()
	v, err := securecookie.EncodeMulti(defaultCookieName, id, testCodecs()...)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func testCodecs() []securecookie.Codec {
	return codecsFor(testSecret)
}

// codecsFor signs session cookies as a handler of the test realm with the
// default lifetimes and secret does.
func codecsFor(secret string) []securecookie.Codec {
	return realmCodecs(secret, testRealm)
}

// realmCodecs signs session cookies as a handler of realm does.
func realmCodecs(secret, realm string) []securecookie.Codec {
	maxAge := int((defaultRememberMe + time.Hour).Seconds())
	return []securecookie.Codec{session.NewIDCodec(session.BindToRealm([]byte(secret), realm), maxAge)}
}

// wantGranted asserts that a protected path was served.
func wantGranted(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusOK || !strings.Contains(r.body, "SECRET") && !strings.Contains(r.body, "user=") {
		t.Fatalf("%s: want the protected content (200), got %d %q", what, r.status, r.body)
	}
}

// wantDenied asserts that a protected path was refused: 303 to the login
// page for browsers, 401 for scripts, and never the content.
func wantDenied(t *testing.T, r response, what string) {
	t.Helper()
	if strings.Contains(r.body, "SECRET") {
		t.Fatalf("%s: protected content was served (%d)", what, r.status)
	}
	if r.status != http.StatusSeeOther && r.status != http.StatusUnauthorized {
		t.Fatalf("%s: want 303 or 401, got %d", what, r.status)
	}
	if r.status == http.StatusSeeOther && !strings.HasPrefix(r.header.Get("Location"), "/auth/login?next=") {
		t.Fatalf("%s: redirected to %q, not the login page", what, r.header.Get("Location"))
	}
}

func TestRegisterLoginAccessLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+b.lines(t))
		c := newClient(t)

		wantDenied(t, c.get("/members/x"), "before registering")
		if r := c.get("/public.txt"); r.status != 200 || r.body != "public text" {
			t.Fatalf("public page: %d %q", r.status, r.body)
		}
		r := c.register("Alice", testPassword, "/members/x")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/x" {
			t.Fatalf("register: want 303 to /members/x, got %d %q", r.status, r.header.Get("Location"))
		}
		wantGranted(t, c.get("/members/x"), "after registering")
		if r := c.get("/members/who.html"); r.body != "user=alice" {
			t.Fatalf("{http.auth.user.id} on a protected page: got %q", r.body)
		}
		if r := c.get("/greet.html"); r.body != "hello alice" || !strings.Contains(r.header.Get("Cache-Control"), "private") {
			t.Fatalf("{http.auth.user.id} on a public page with a session, kept from shared caches: got %q, Cache-Control %q", r.body, r.header.Get("Cache-Control"))
		}

		r = c.logout()
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login?logged_out=1" {
			t.Fatalf("logout: want 303 to /auth/login?logged_out=1, got %d %q", r.status, r.header.Get("Location"))
		}
		wantDenied(t, c.get("/members/x"), "after logout")
		if r := c.get("/greet.html"); r.body != "hello " {
			t.Fatalf("public page after logout: got %q", r.body)
		}

		r = c.login("ALICE ", testPassword, "/members/secret.txt")
		if r.status != http.StatusSeeOther || r.header.Get("Location") != "/members/secret.txt" {
			t.Fatalf("login: want 303 to /members/secret.txt, got %d %q", r.status, r.header.Get("Location"))
		}
		wantGranted(t, c.get("/members/secret.txt"), "after login")
	})
}

func TestUnauthenticatedBrowserIsSentToLoginAndScriptsGet401(t *testing.T) {
	site(t, "session_auth /members/*", fileBackend().lines(t))
	c := newClient(t)
	r := c.get("/members/x?a=1&b=2")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login?next="+url.QueryEscape("/members/x?a=1&b=2") {
		t.Fatalf("browser: want 303 to the login page with next, got %d %q", r.status, r.header.Get("Location"))
	}
	if r := c.getAPI("/members/x"); r.status != http.StatusUnauthorized {
		t.Fatalf("script: want 401, got %d", r.status)
	}
	req, _ := http.NewRequest(http.MethodPost, baseURL+"/members/x", nil)
	req.Header.Set("Accept", "text/html")
	if r := c.do(req); r.status != http.StatusUnauthorized {
		t.Fatalf("POST from a browser: want 401, got %d", r.status)
	}
}

func TestWholeSiteProtectedWithoutMatcher(t *testing.T) {
	site(t, "session_auth", "registration open\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	wantDenied(t, c.getAPI("/public.txt"), "no matcher: every page")
	if r := c.get("/auth/login"); r.status != 200 || !strings.Contains(r.body, `name="password"`) {
		t.Fatalf("the login page must stay reachable: %d", r.status)
	}
	if r := c.get("/auth/style.css"); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/css") {
		t.Fatalf("the login page's stylesheet must stay reachable: %d", r.status)
	}
	if r := c.get("/auth/nothing-here"); r.status != http.StatusNotFound {
		t.Fatalf("unknown page under the prefix: want 404, got %d", r.status)
	}
	c.register("bob", testPassword, "/")
	if r := c.get("/public.txt"); r.status != 200 {
		t.Fatalf("after registering: %d", r.status)
	}
}

func TestLogoutKillsCopiedCookie(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("carol", testPassword, "/")
		copied := withCookie(t, c.cookie())
		wantGranted(t, copied.get("/members/x"), "copied cookie before logout")
		c.logout()
		wantDenied(t, copied.get("/members/x"), "copied cookie after logout")
		wantDenied(t, copied.getAPI("/members/x"), "copied cookie after logout, as a script")
	})
}

func TestLoginIssuesNewIDAndRetiresOldOne(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		c := newClient(t)
		c.register("dave", testPassword, "/")
		first := c.cookie()
		if r := c.login("dave", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("second login: %d", r.status)
		}
		second := c.cookie()
		if sessionID(t, first) == sessionID(t, second) {
			t.Fatal("logging in again kept the same session id")
		}
		wantDenied(t, withCookie(t, first).get("/members/x"), "the id from before the new login")
		wantGranted(t, withCookie(t, second).get("/members/x"), "the new id")
	})
}

func TestPlantedDeadIDIsNeverReusedAtLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		newClient(t).register("erin", testPassword, "/")
		// An attacker plants a validly signed cookie whose record does not
		// exist, hoping the victim's login will bring that id to life.
		planted := signID(t, "PLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTEDPLANTED2345")
		victim := withCookie(t, planted)
		if r := victim.login("erin", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		if got := sessionID(t, victim.cookie()); strings.HasPrefix(got, "PLANTED") {
			t.Fatal("login reused the planted session id")
		}
		wantDenied(t, withCookie(t, planted).get("/members/x"), "the planted id after the victim's login")
	})
}
