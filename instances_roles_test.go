package sessionauth

import (
	"context"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// A second Caddy instance, in its own process (cmd/caddy, built as the
// command tests build it), on ports of its own beside the test process's
// caddytest instance, sharing the realm through the same Redis.

// startOtherInstance runs cmd/caddy with config until the test ends, and
// waits until it serves.
func startOtherInstance(t *testing.T, config string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(file, []byte(onFreePorts(config)), 0o600); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "caddy.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(caddyBinary(t), "run", "--config", file, "--adapter", "caddyfile")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting the second Caddy: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			if log, err := os.ReadFile(logFile.Name()); err == nil {
				t.Logf("the second Caddy's log, its end:\n%s", log[max(0, len(log)-3000):])
			}
		}
	})
	hc := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := hc.Get(otherURL + "/public.txt")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the second Caddy did not serve within 60s (last: %v)", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// loginAt logs user in on the instance at base, through its login form,
// and returns the session cookie's value.
func loginAt(t *testing.T, base, user string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for try := 0; ; try++ {
		req, _ := http.NewRequest(http.MethodGet, base+"/auth/login", nil)
		req.Header.Set("Accept", "text/html")
		page := mustDo(t, hc, req)
		m := tokenField.FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("%s/auth/login: no form token (%d)", base, page.status)
		}
		form := url.Values{"username": {user}, "password": {testPassword}, "next": {"/"}, formTokenField: {html.UnescapeString(m[1])}}
		req, _ = http.NewRequest(http.MethodPost, base+"/auth/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", base)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		r := mustDo(t, hc, req)
		if r.status == http.StatusSeeOther {
			break
		}
		if r.status != http.StatusServiceUnavailable || try == 20 {
			t.Fatalf("logging in as %s at %s: %d", user, base, r.status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == defaultCookieName {
			return c.Value
		}
	}
	t.Fatalf("logging in as %s at %s set no session cookie", user, base)
	return ""
}

func mustDo(t *testing.T, hc *http.Client, req *http.Request) response {
	t.Helper()
	c := &client{t: t, hc: hc}
	return c.do(req)
}

// fetchAt requests path on the instance at base with a session cookie, as
// a browser or as a script.
func fetchAt(t *testing.T, base, path, cookie string, browser bool) response {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, base+path, nil)
	req.Header.Set("Cookie", defaultCookieName+"="+cookie)
	req.Header.Set("Accept", "application/json")
	if browser {
		req.Header.Set("Accept", "text/html")
	}
	return mustDo(t, &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}, req)
}

// TestRoleChangeAppliesAtTheNextRequestOnEveryInstance: two Caddy
// instances share a realm through one Redis; sam is logged in on each
// (a session made on each), and each instance has just served both
// sessions, so both remember them. `caddy session-auth role remove`
// returns only once every instance has forgotten them: the very next
// request of either session, on either instance, is refused by the rule,
// while a page without a rule still opens with the same cookie (no one
// was logged out); `role add` opens the page again just as fast.
func TestRoleChangeAppliesAtTheNextRequestOnEveryInstance(t *testing.T) {
	if err := testRedis.FlushAll(); err != nil {
		t.Fatalf("flushing redis: %v", err)
	}
	lines := "realm shared\n\t\tredis " + testRedis.URL(0)
	root := accessSiteDir(t)
	options := "allow @staff role staff\n\t\t" + lines
	loadCaddyfile(t, accessConfig(t, root, "session_auth /members/*", options))
	other := strings.NewReplacer(
		"admin localhost:2999", "admin off",
		"http_port 9080", "http_port 9180",
		"https_port 9443", "https_port 9543",
		"http://localhost:9080", otherURL,
	).Replace(accessConfig(t, root, "session_auth /members/*", options))
	startOtherInstance(t, other)

	pool := testRedis.Pool(0)
	t.Cleanup(func() { pool.Close() })
	seedAccounts(t, users.NewRedisStore(pool, keyPrefix("shared")), map[string][]string{"sam": {"staff"}})
	instances := []string{baseURL, otherURL}
	cookies := []string{loginAt(t, baseURL, "sam"), loginAt(t, otherURL, "sam")}
	config := roleCLIConfig(t, lines)
	cli := func(args ...string) string {
		t.Helper()
		out, code, err := runCLI(t, "", append([]string{"--config", config}, args...)...)
		if err != nil || code != 0 {
			t.Fatalf("caddy session-auth %s: exit %d, %v", strings.Join(args, " "), code, err)
		}
		return out
	}
	each := func(what, path string, status int) {
		t.Helper()
		for _, base := range instances {
			for i, cookie := range cookies {
				for _, browser := range []bool{true, false} {
					r := fetchAt(t, base, path, cookie, browser)
					if r.status != status || status != http.StatusOK && strings.Contains(r.body, "SECRET") {
						t.Fatalf("%s: session %d at %s%s (browser %v): %d %q, want %d", what, i+1, base, path, browser, r.status, r.body, status)
					}
					if status == http.StatusForbidden && browser && !strings.Contains(r.body, "You are logged in as <strong>sam</strong>") {
						t.Fatalf("%s: session %d at %s%s: not the 403 page: %q", what, i+1, base, path, r.body)
					}
				}
			}
		}
	}
	for round := range 3 {
		each("sam with the role, before the change", "/members/staff/x", http.StatusOK)
		if out := cli("role", "remove", "sam", "staff"); out != "Took the role staff from sam.\n" {
			t.Fatalf("role remove printed %q", out)
		}
		each("right after role remove", "/members/staff/x", http.StatusForbidden)
		each("right after role remove, a page without a rule", "/members/x", http.StatusOK)
		if out := cli("role", "add", "sam", "staff"); out != "Gave sam the role staff.\n" {
			t.Fatalf("role add printed %q", out)
		}
		each("right after role add", "/members/staff/x", http.StatusOK)
		t.Logf("round %d: both instances applied both changes at the next request", round)
	}
	a, err := users.NewRedisStore(pool, keyPrefix("shared")).Get(context.Background(), "sam")
	if err != nil || strings.Join(a.Roles, ",") != "staff" {
		t.Fatalf("sam's roles at the end: %q, %v", a.Roles, err)
	}
}
