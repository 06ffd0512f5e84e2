package e2e

import (
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"golang.org/x/crypto/bcrypt"

	_ "github.com/caddy-session-auth/caddy-session-auth" // the session_auth directive
	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// The end-to-end tests run a real Caddy (caddytest, in this process) with
// real Caddyfiles against a private redis-server. Caddy's admin and HTTP
// ports are free ones picked at start, so this suite can run beside the
// plugin's own integration tests, which use caddytest's fixed ports.
var (
	testRedis *testredis.Server
	siteDir   string
	adminPort int
	httpPort  int
	httpsPort int
	baseURL   string
)

const testPassword = "correct horse battery"

// Defaults and texts of the plugin that the tests look for; the plugin
// keeps them unexported.
const (
	defaultCookieName = "caddy_session"
	formTokenField    = "csrf_token"
	loginFailed       = "Wrong username or password."
)

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	scratch, err := os.MkdirTemp("", "session-auth-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(scratch)
	// Caddy's data directory (generated keys, default users file) goes to
	// scratch, never to the developer's own.
	os.Setenv("XDG_DATA_HOME", filepath.Join(scratch, "data"))
	os.Setenv("XDG_CONFIG_HOME", filepath.Join(scratch, "config"))
	siteDir = filepath.Join(scratch, "site")
	for name, body := range map[string]string{
		"index.html": "public home",
		"members/x":  "SECRET x",
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
	ports, err := freePorts(3)
	if err != nil {
		fmt.Fprintln(os.Stderr, "finding free ports:", err)
		return 1
	}
	adminPort, httpPort, httpsPort = ports[0], ports[1], ports[2]
	bcryptfloor.Cost = bcrypt.MinCost
	baseURL = fmt.Sprintf("http://localhost:%d", httpPort)
	testRedis, err = testredis.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the tests need a real redis-server:", err)
		return 1
	}
	defer testRedis.Close()
	return m.Run()
}

// freePorts finds n distinct ports that nothing listens on now.
func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", ":0")
		if err != nil {
			return nil, err
		}
		defer l.Close() // held until all n are picked, so they differ
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
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

// startPersistentRedis is a second redis-server of the test's own, which
// the test may stop and restart.
func startPersistentRedis(t *testing.T) *testredis.Server {
	t.Helper()
	srv, err := testredis.StartPersistent()
	if err != nil {
		t.Fatalf("the test needs a real redis-server: %v", err)
	}
	t.Cleanup(srv.Close)
	return srv
}

// site loads a Caddyfile whose one site serves siteDir through
// file_server, with the given session_auth directive line and options.
// When the test fails, it shows the end of Caddy's log.
func site(t *testing.T, directive, options string) {
	t.Helper()
	logFile := filepath.Join(t.TempDir(), "caddy.log")
	if !strings.Contains(options, "bcrypt_cost") {
		// bcrypt's lowest cost (TestMain lowers the plugin's floor to it)
		// keeps the suite quick under -race: no test here is about the cost.
		options = "bcrypt_cost 4\n\t\t" + options
	}
	loadCaddyfile(t, fmt.Sprintf(`{
	%s
	log {
		output file %s
		level DEBUG
	}
}

%s {
	root * %s
	%s {
		%s
	}
	file_server
}
`, globalOptions(), logFile, baseURL, siteDir, directive, options))
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

// restartCaddy tears the handler down and builds it again: a config
// without session_auth replaces the site, so every handler instance is
// cleaned up and its Redis pool or file store released; then the site's
// config comes back, as after a restart. Only what the backend stored
// survives.
func restartCaddy(t *testing.T, directive, options string) {
	t.Helper()
	loadCaddyfile(t, fmt.Sprintf("{\n\t%s\n}\n\n%s {\n\trespond \"restarting\" 503\n}\n", globalOptions(), baseURL))
	if r := newClient(t).get("/members/x"); strings.Contains(r.body, "SECRET") || r.status != 503 {
		t.Fatalf("the stand-in config must serve nothing protected: %d %q", r.status, r.body)
	}
	site(t, directive, options)
}

// globalOptions puts Caddy on this run's ports.
func globalOptions() string {
	return fmt.Sprintf("admin localhost:%d\n\thttp_port %d\n\thttps_port %d\n\tgrace_period 1ns\n\tskip_install_trust",
		adminPort, httpPort, httpsPort)
}

// loadCaddyfile makes config the running one, or fails the test.
func loadCaddyfile(t *testing.T, config string) {
	t.Helper()
	tc := caddytest.NewTester(t).WithDefaultOverrides(caddytest.Config{AdminPort: adminPort, LoadRequestTimeout: time.Minute})
	tc.InitServer(config, "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	// Caddy opens each config's listeners anew with SO_REUSEPORT: until the
	// old config's socket closes, the kernel may queue a new connection on
	// it, and reset it when it closes. Wait until one socket listens.
	deadline := time.Now().Add(time.Minute)
	for _, port := range []int{httpPort, httpsPort} {
		for listening(port) > 1 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
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

// client is a browser-like HTTP client for setting up accounts: its own
// cookie jar, no redirects followed.
type client struct {
	t  *testing.T
	hc *http.Client
}

func newClient(t *testing.T) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, hc: &http.Client{
		Jar:     jar,
		Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}}
}

// response is what a test looks at: status and the whole body.
type response struct {
	status int
	body   string
}

func (c *client) do(req *http.Request) response {
	c.t.Helper()
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(body)}
}

// get fetches a path as a browser would (Accept: text/html).
func (c *client) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, baseURL+path, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return c.do(req)
}

var tokenField = regexp.MustCompile(`name="` + formTokenField + `" value="([^"]+)"`)

// post sends a same-origin form with the token of the form's own page.
func (c *client) post(path string, form url.Values) response {
	c.t.Helper()
	r := c.get(path)
	m := tokenField.FindStringSubmatch(r.body)
	if m == nil {
		c.t.Fatalf("GET %s: no form token in the page (%d)", path, r.status)
	}
	form.Set(formTokenField, html.UnescapeString(m[1]))
	req, _ := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", baseURL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

// register creates an account (registration must be open) and fails the
// test unless it worked.
func (c *client) register(user, password, next string) {
	c.t.Helper()
	r := c.post("/auth/register", url.Values{"username": {user}, "password": {password}, "password_confirm": {password}, "next": {next}})
	if r.status != http.StatusSeeOther {
		c.t.Fatalf("registering %s: want 303, got %d %q", user, r.status, r.body)
	}
}
