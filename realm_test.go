package sessionauth

import (
	"bytes"
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Rule 14: realms never leak into each other. Two site blocks on one Caddy,
// both on the backend's default storage (Caddy's data directory, or one
// Redis database), are two realms unless both name the same one.

// The two sites, A on 9080 and B on 9081 (nominal ports, see
// ports_test.go): another port of the same host, so browsers send site B
// site A's cookies.
var siteA, siteB, realmA, realmB string // set by pickPorts

// sharedStore is a backend's default storage as two site blocks see it:
// the same lines in both.
type sharedStore struct {
	name string
	// lines empties the realms' storage and returns the session_auth
	// lines that select the store.
	lines func(t *testing.T, realms ...string) string
}

func sharedStores() []sharedStore {
	return []sharedStore{
		{"files", func(t *testing.T, realms ...string) string {
			for _, realm := range realms {
				if err := os.RemoveAll(filepath.Join(dataDir(), realm)); err != nil {
					t.Fatal(err)
				}
			}
			return "" // no users_file, no sessions_dir: Caddy's data directory
		}},
		{"redis", func(t *testing.T, _ ...string) string {
			if err := testRedis.FlushAll(); err != nil {
				t.Fatalf("flushing redis: %v", err)
			}
			return "redis " + testRedis.URL(0)
		}},
	}
}

func forEachSharedStore(t *testing.T, test func(t *testing.T, s sharedStore)) {
	for _, s := range sharedStores() {
		t.Run(s.name, func(t *testing.T) { test(t, s) })
	}
}

// twoSitesConfig is one Caddyfile with two site blocks, each serving siteDir
// behind its own session_auth handler with the given options.
func twoSitesConfig(logFile, optionsA, optionsB string) string {
	block := func(addr, options string) string {
		return fmt.Sprintf(`%s {
	root * %s
	session_auth /members/* {
		bcrypt_cost 10
		%s
	}
	templates
	file_server
}
`, addr, siteDir, options)
	}
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

`, logFile) + block(siteA, optionsA) + "\n" + block(siteB, optionsB)
}

// twoSites loads twoSitesConfig and returns its log file and the Caddyfile
// written to disk, for the CLI.
func twoSites(t *testing.T, optionsA, optionsB string) (logFile, caddyfile string) {
	t.Helper()
	clockSkew.Store(0)
	t.Cleanup(func() { clockSkew.Store(0) })
	logFile = filepath.Join(t.TempDir(), "caddy.log")
	config := twoSitesConfig(logFile, optionsA, optionsB)
	loadCaddyfile(t, config)
	return logFile, writeCLICaddyfile(t, "Caddyfile", config)
}

// siteClient is a browser-like client of one of several sites: the
// client's helpers, aimed at base instead of baseURL.
type siteClient struct {
	*client
	base string
}

func at(t *testing.T, base string) *siteClient {
	return &siteClient{newClient(t), base}
}

func (c *siteClient) get(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	return c.do(req)
}

// getAPI fetches a path of the client's site as a script would.
func (c *siteClient) getAPI(path string) response {
	c.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, c.base+path, nil)
	req.Header.Set("Accept", "application/json")
	return c.do(req)
}

func (c *siteClient) post(path string, form url.Values) response {
	c.t.Helper()
	if _, set := form[formTokenField]; !set {
		r := c.get(path)
		m := tokenField.FindStringSubmatch(r.body)
		if m == nil {
			c.t.Fatalf("GET %s%s: no form token in the page (%d)", c.base, path, r.status)
		}
		form.Set(formTokenField, html.UnescapeString(m[1]))
	}
	req, _ := http.NewRequest(http.MethodPost, c.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", c.base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	return c.do(req)
}

func (c *siteClient) register(user, password string) response {
	c.t.Helper()
	return retryBusy(c.t, func() response {
		return c.post("/auth/register", url.Values{"username": {user}, "password": {password}, "password_confirm": {password}})
	})
}

func (c *siteClient) login(user, password string) response {
	c.t.Helper()
	return retryBusy(c.t, func() response {
		return c.post("/auth/login", url.Values{"username": {user}, "password": {password}})
	})
}

// cookieNamed is the value of the cookie the client would send to base.
func (c *siteClient) cookieNamed(name string) string {
	u, _ := url.Parse(c.base)
	for _, ck := range c.jar.Cookies(u) {
		if ck.Name == name {
			return ck.Value
		}
	}
	return ""
}

// holding is a fresh client of base that holds only the given session
// cookie, as someone who copied it would.
func holding(t *testing.T, base, value string) *siteClient {
	c := at(t, base)
	u, _ := url.Parse(base)
	c.jar.SetCookies(u, []*http.Cookie{{Name: defaultCookieName, Value: value, Path: "/"}})
	return c
}

// retryBusy sends a bcrypt-bound form again while the server answers 503
// "busy", which a loaded machine may do; any other answer is returned.
func retryBusy(t *testing.T, send func() response) response {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		r := send()
		if r.status != http.StatusServiceUnavailable || time.Now().After(deadline) {
			return r
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestTwoSitesOnOneCaddyKeepTheirAccountsSessionsAndLocksApart(t *testing.T) {
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		lines := s.lines(t, realmA, realmB)
		_, caddyfile := twoSites(t,
			"registration open\n\t\taccount_limit 3 15m\n\t\t"+lines,
			"registration closed\n\t\taccount_limit 3 15m\n\t\t"+lines)

		// Anyone may register on A; that account means nothing on B.
		a := at(t, siteA)
		if r := a.register("mallory", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("registering on A: want 303, got %d", r.status)
		}
		wantGranted(t, a.get("/members/x"), "A's session on A")
		if r := at(t, siteB).get("/auth/register"); r.status != http.StatusNotFound {
			t.Fatalf("B's registration is closed: want 404, got %d", r.status)
		}
		wantGenericFailure(t, at(t, siteB).login("mallory", testPassword), "A's account logging in on B")

		// A's session cookie, sent to B (a browser does so by itself:
		// cookies ignore the port), is no session there.
		stolen := holding(t, siteB, a.cookieNamed(defaultCookieName))
		wantDenied(t, stolen.get("/members/x"), "A's session cookie on B")
		wantDenied(t, stolen.getAPI("/members/x"), "A's session cookie on B, as a script")
		wantGranted(t, holding(t, siteA, a.cookieNamed(defaultCookieName)).get("/members/x"), "the same cookie on A")

		// One name with an account in each realm: locking it in A leaves
		// it free in B.
		mustRunCLI(t, testPassword+"\n", "--config", caddyfile, "--realm", realmB, "add", "victor")
		if r := at(t, siteA).register("victor", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("registering victor on A: want 303, got %d", r.status)
		}
		for i := range 3 {
			wantGenericFailure(t, at(t, siteA).login("victor", fmt.Sprintf("wrong guess %d", i)), "a wrong guess on A")
		}
		wantGenericFailure(t, at(t, siteA).login("victor", testPassword), "the right password on A, locked")
		b := at(t, siteB)
		if r := b.login("victor", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the right password on B while A has the name locked: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, b.get("/members/x"), "B's own session on B")
		wantDenied(t, holding(t, siteA, b.cookieNamed(defaultCookieName)).get("/members/x"), "B's session cookie on A")
	})
}

func TestSitesThatNameOneRealmShareItsAccountsAndSessions(t *testing.T) {
	const realm = "members-shared"
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		lines := s.lines(t, realm)
		twoSites(t,
			"registration open\n\t\trealm "+realm+"\n\t\t"+lines,
			"registration closed\n\t\trealm "+realm+"\n\t\t"+lines)
		a := at(t, siteA)
		if r := a.register("nadia", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("registering on A: want 303, got %d", r.status)
		}
		b := at(t, siteB)
		if r := b.login("nadia", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("A's account on B, which names the same realm: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, b.get("/members/x"), "the session made on B")
		wantGranted(t, holding(t, siteB, a.cookieNamed(defaultCookieName)).get("/members/x"), "A's session cookie on B, same realm")
	})
}

// waitForLogLines waits until the log's JSON lines whose msg is msg are
// enough, and returns them.
func waitForLogLines(t *testing.T, logFile, msg string, enough func([]map[string]any) bool) []map[string]any {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		data, _ := os.ReadFile(logFile)
		lines := logLines(t, string(data), msg)
		if enough(lines) {
			return lines
		}
		if time.Now().After(deadline) {
			t.Fatalf("not enough %q lines in the log within 15s; it holds:\n%s", msg, data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// byRealm picks the log line of each realm.
func byRealm(lines []map[string]any) map[string]map[string]any {
	out := map[string]map[string]any{}
	for _, l := range lines {
		if r, ok := l["realm"].(string); ok {
			out[r] = l
		}
	}
	return out
}

func TestStartupLogNamesEachRealmAndItsAccountsAndWarnsWhenOneLooksOrphaned(t *testing.T) {
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		lines := s.lines(t, realmA, realmB)
		options := "registration open\n\t\t" + lines
		twoSites(t, options, options)
		for _, name := range []string{"olive", "oscar"} {
			if r := at(t, siteA).register(name, testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("registering %s on A: %d", name, r.status)
			}
		}
		// A reload (the same sites with another log file) describes the
		// realms again: A holds two accounts, B none, while A, in the same
		// store, has some: B's operator is warned, as after a change of
		// the site's addresses.
		logFile, _ := twoSites(t, options, options)
		described := waitForLogLines(t, logFile, "session_auth realm", func(ls []map[string]any) bool {
			got := byRealm(ls)
			return got[realmA] != nil && got[realmB] != nil
		})
		got := byRealm(described)
		for realm, want := range map[string]float64{realmA: 2, realmB: 0} {
			line := got[realm]
			if n, ok := line["accounts"].(float64); !ok || n != want {
				t.Errorf("realm %s: logged accounts %v, want %v (line %v)", realm, line["accounts"], want, line)
			}
			store, _ := line["store"].(string)
			if s.name == "files" && store != filepath.Join(dataDir(), realm, "users.json") ||
				s.name == "redis" && !strings.Contains(store, keyPrefix(realm)) {
				t.Errorf("realm %s: logged store %q does not say where its accounts are", realm, store)
			}
		}
		const orphaned = "this realm has no accounts, but others in the same store do; if the site's addresses changed, name its old realm with the realm subdirective"
		warned := byRealm(waitForLogLines(t, logFile, orphaned, func(ls []map[string]any) bool { return byRealm(ls)[realmB] != nil }))
		others, _ := warned[realmB]["other_realms"].([]any)
		if !slices.Contains(others, any(realmA)) {
			t.Errorf("the warning for %s names other realms %v, want %s among them", realmB, others, realmA)
		}
		if level := warned[realmB]["level"]; level != "warn" {
			t.Errorf("the orphaned-realm line is logged at %v, want warn", level)
		}
		if warned[realmA] != nil {
			t.Errorf("realm %s holds accounts, yet was warned about: %v", realmA, warned[realmA])
		}
	})
}

// TestBadRealmInCaddyfileIsRefusedAtLoadAndTouchesNothing: a realm names
// folders and Redis keys, so a name that is not one is refused when the
// config loads, before anything is written under it.
func TestBadRealmInCaddyfileIsRefusedAtLoadAndTouchesNothing(t *testing.T) {
	site(t, "session_auth /members/*", fileBackend().lines(t)) // a running server to load into
	for _, realm := range []string{"../escaped-realm", "Capitals", "a/b", "-dash-first", strings.Repeat("r", 65), "session", "throttle"} {
		t.Run(realm, func(t *testing.T) {
			where := filepath.Join(dataDir(), realm)
			if err := os.RemoveAll(where); err != nil {
				t.Fatal(err)
			}
			config := siteConfig(filepath.Join(t.TempDir(), "caddy.log"), "session_auth /members/*", "realm "+realm)
			req, _ := http.NewRequest(http.MethodPost, adminURL+"/load", strings.NewReader(onFreePorts(config)))
			req.Header.Set("Content-Type", "text/caddyfile")
			req.Close = true // a failed load restarts the admin endpoint: no connection reuse
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Fatalf("a config with realm %q loaded", realm)
			}
			if !strings.Contains(string(body), "realm") {
				t.Fatalf("loading realm %q failed without naming the realm: %s", realm, body)
			}
			if _, err := os.Stat(where); err == nil {
				t.Fatalf("the refused realm %q wrote %s", realm, where)
			}
		})
	}
	// The running config is untouched.
	if r := newClient(t).get("/auth/login"); r.status != http.StatusOK {
		t.Fatalf("after the refused loads, the login page: %d", r.status)
	}
}

// TestRealmsNamedLikeTheOldLayoutAreRefused: the layout from before realms
// keeps accounts, sessions, the generated key and counters in Redis under
// session_auth:user:, session:, cookie_key and throttle:, and accounts in
// files in session_auth/users.json and sessions in session_auth/sessions/,
// which the start-up check reads as old data: a realm of one of those
// names would mix its keys or files with the old ones and be taken for
// them, so it is refused with a message that says why.
func TestRealmsNamedLikeTheOldLayoutAreRefused(t *testing.T) {
	for _, realm := range []string{"user", "session", "sessions", "cookie_key", "throttle", "users.json"} {
		err := checkRealm(realm)
		if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("realm %q is reserved", realm)) {
			t.Errorf("checkRealm(%q) = %v; want it refused as reserved", realm, err)
		}
	}
	for _, realm := range []string{"users", "session1", "user1", "my-throttle", "members"} {
		if err := checkRealm(realm); err != nil {
			t.Errorf("checkRealm(%q) = %v; want it accepted", realm, err)
		}
	}
}

// TestSessionAuthCommandRefusesABadRealm: the command reads the realm from
// the config, and a realm that is no name must not become a path.
func TestSessionAuthCommandRefusesABadRealm(t *testing.T) {
	const realm = "../cli-escaped-realm"
	where := filepath.Join(dataDir(), realm)
	config := writeCLICaddyfile(t, "Caddyfile", "http://localhost:9080 {\n\tsession_auth {\n\t\trealm "+realm+"\n\t\tbcrypt_cost 10\n\t}\n}\n")
	wantCLIFailure(t, cliPassword+"\n", `realm "../cli-escaped-realm" must be`, "--config", config, "add", "alice")
	if _, err := os.Stat(where); err == nil {
		t.Fatalf("the refused realm wrote %s", where)
	}
}

// realmAccounts is the account store of realm in a shared store, as the
// server of the two sites keeps it.
func realmAccounts(t *testing.T, s sharedStore, realm string) users.Store {
	t.Helper()
	if s.name == "files" {
		return users.NewFileStore(filepath.Join(dataDir(), realm, "users.json"))
	}
	pool := testRedis.Pool(0)
	t.Cleanup(func() { pool.Close() })
	return users.NewRedisStore(pool, keyPrefix(realm))
}

// copyAccount makes to's account of name a copy of from's, hash and stamp
// included, as an operator who copies a realm's accounts over would.
func copyAccount(t *testing.T, from, to users.Store, name string) {
	t.Helper()
	ctx := context.Background()
	src := getAccount(t, from, name)
	if err := to.Create(ctx, users.Account{Username: name, Hash: src.Hash}); err != nil {
		t.Fatalf("copying %s: %v", name, err)
	}
	if err := to.Update(ctx, name, func(a *users.Account) error {
		a.Hash, a.Stamp, a.Created = src.Hash, src.Stamp, src.Created
		return nil
	}); err != nil {
		t.Fatalf("copying %s: %v", name, err)
	}
	if got := getAccount(t, to, name); got.Stamp != src.Stamp || !bytes.Equal(got.Hash, src.Hash) {
		t.Fatalf("the copy of %s has another stamp or hash", name)
	}
}

// TestOneSecretForTwoRealmsKeepsTheirCookiesApart: two site blocks may be
// given the same secret (one operator, one environment variable); each
// realm signs with a key of its own, derived from the secret and its name,
// so what one realm signed means nothing to the other (rule 14), even for
// an account that is a copy of the other's, stamp included, as when an
// operator copies the accounts over. A browser that realm A knows is a
// stranger to realm B: B's lock holds for it. A's session cookie is no
// session on B.
func TestOneSecretForTwoRealmsKeepsTheirCookiesApart(t *testing.T) {
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		lines := s.lines(t, realmA, realmB)
		shared := "secret " + testSecret + "\n\t\taccount_limit 3 15m\n\t\t" + lines
		twoSites(t, "registration open\n\t\t"+shared, "registration closed\n\t\t"+shared)

		a := at(t, siteA)
		if r := a.register("valerie", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("registering on A: want 303, got %d", r.status)
		}
		if a.cookieNamed(deviceCookieName) == "" {
			t.Fatalf("registering on A gave the browser no %s cookie", deviceCookieName)
		}
		copyAccount(t, realmAccounts(t, s, realmA), realmAccounts(t, s, realmB), "valerie")
		if r := at(t, siteB).login("valerie", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the copied account on B, from a fresh browser: want 303, got %d %q", r.status, errorText(r.body))
		}

		// A stranger locks valerie on B.
		for i := range 3 {
			wantGenericFailure(t, at(t, siteB).login("valerie", fmt.Sprintf("stranger's guess %d", i)), "a stranger's guess on B")
		}
		wantGenericFailure(t, at(t, siteB).login("valerie", testPassword), "the right password on B from a fresh browser, B locked")
		// The browser that A knows sends A's cookies to B by itself
		// (cookies ignore the port); on B it is a stranger like any other.
		onB := &siteClient{a.client, siteB}
		wantGenericFailure(t, onB.login("valerie", testPassword), "the right password on B from the browser A knows, B locked")
		wantDenied(t, holding(t, siteB, a.cookieNamed(defaultCookieName)).get("/members/x"), "A's session cookie on B")
		wantDenied(t, holding(t, siteB, a.cookieNamed(defaultCookieName)).getAPI("/members/x"), "A's session cookie on B, as a script")

		// On A the same device cookie is good: A's lock does not hold for it.
		for i := range 3 {
			wantGenericFailure(t, at(t, siteA).login("valerie", fmt.Sprintf("stranger's guess on A %d", i)), "a stranger's guess on A")
		}
		if r := a.login("valerie", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("the browser A knows, on A during A's lock: want 303, got %d %q", r.status, errorText(r.body))
		}
		wantGranted(t, a.get("/members/x"), "A's session on A")
	})
}

// postLoad posts a Caddyfile to the running server's /load and returns the
// answer's status and body; a refused config leaves the running one.
func postLoad(t *testing.T, config string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, adminURL+"/load", strings.NewReader(onFreePorts(config)))
	req.Header.Set("Content-Type", "text/caddyfile")
	req.Close = true // a failed load restarts the admin endpoint: no connection reuse
	resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		t.Fatalf("POST /load: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp.StatusCode, string(body)
}

// TestTwoRealmsCannotShareAUsersFileOrASessionsFolder: a users file or a
// sessions folder named by two realms in one Caddy (a typo, a copied
// block) would share accounts, or with one secret sessions, between them;
// the config is refused with a message that names the file and both
// realms, and the running config stays. Realms that name one realm may
// share its files, and a refused load claims nothing: the same files are
// free for the next config.
func TestTwoRealmsCannotShareAUsersFileOrASessionsFolder(t *testing.T) {
	site(t, "session_auth /members/*", fileBackend().lines(t)) // the running config, which must stay
	dir := t.TempDir()
	usersFile, sessions := filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions")
	files := func(users, sessions string) string {
		return "users_file " + users + "\n\t\tsessions_dir " + sessions
	}
	for _, tc := range []struct{ name, shared, a, b string }{
		{"one users file", usersFile, files(usersFile, filepath.Join(dir, "a")), files(usersFile, filepath.Join(dir, "b"))},
		{"one sessions folder", sessions, files(filepath.Join(dir, "a.json"), sessions), files(filepath.Join(dir, "b.json"), sessions)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := postLoad(t, twoSitesConfig(filepath.Join(t.TempDir(), "caddy.log"), tc.a, tc.b))
			if status == http.StatusOK {
				t.Fatalf("a config whose realms %s and %s share %s loaded", realmA, realmB, tc.shared)
			}
			for _, want := range []string{tc.shared, "realm " + realmA, "realm " + realmB} {
				if !strings.Contains(body, want) {
					t.Fatalf("the refusal does not name %q: %s", want, body)
				}
			}
			if r := newClient(t).get("/public.txt"); r.status != http.StatusOK || r.body != "public text" {
				t.Fatalf("the running config after the refused load: %d %q", r.status, r.body)
			}
		})
	}

	// Sites that name one realm share its files; the refused loads above
	// left no claim on them.
	both := "registration open\n\t\trealm one-realm\n\t\t" + files(usersFile, sessions)
	twoSites(t, both, both)
	if r := at(t, siteA).register("rosa", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("registering on A: want 303, got %d", r.status)
	}
	b := at(t, siteB)
	if r := b.login("rosa", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("A's account on B, which names the same realm and files: want 303, got %d %q", r.status, errorText(r.body))
	}
	wantGranted(t, b.get("/members/x"), "the session made on B")
}
