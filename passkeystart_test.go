package sessionauth

import (
	"html"
	"io/fs"
	"net/http"
	"net/url"
	"path/filepath"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey/passkeytest"
)

// Passwordless starts (passkeystart.go): the start keeps nothing on the
// server, its cookie opens only in its own realm, and each challenge logs
// in once.

// stateCounter counts what a backend keeps: the files under a file
// backend's folder, or the keys under the realm's prefix in Redis.
type stateCounter struct {
	lines string
	count func(t *testing.T) int
}

func countingBackends() []struct {
	name    string
	counter func(t *testing.T) stateCounter
} {
	return []struct {
		name    string
		counter func(t *testing.T) stateCounter
	}{
		{"files", func(t *testing.T) stateCounter {
			dir := t.TempDir()
			return stateCounter{
				lines: "users_file " + filepath.Join(dir, "users.json") + "\n\t\tsessions_dir " + filepath.Join(dir, "sessions"),
				count: func(t *testing.T) int {
					t.Helper()
					n := 0
					if err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
						if err == nil && !d.IsDir() {
							n++
						}
						return err
					}); err != nil {
						t.Fatal(err)
					}
					return n
				},
			}
		}},
		{"redis", func(t *testing.T) stateCounter {
			if err := testRedis.FlushAll(); err != nil {
				t.Fatalf("flushing redis: %v", err)
			}
			return stateCounter{
				lines: "redis " + testRedis.URL(0),
				count: func(t *testing.T) int {
					t.Helper()
					conn, err := testRedis.Dial(0)
					if err != nil {
						t.Fatal(err)
					}
					defer conn.Close()
					keys, err := redis.Strings(conn.Do("KEYS", keyPrefix(testRealm)+"*"))
					if err != nil {
						t.Fatal(err)
					}
					return len(keys)
				},
			}
		}},
	}
}

// TestPasswordlessStartsLeaveNoServerState: a start happens before anyone
// is known, so it keeps nothing on the server: 200 of them leave no new
// file and no new Redis key. What it needs later travels in the step
// cookie: HttpOnly, SameSite=Strict, for the login pages only, for the
// ceremony's five minutes.
func TestPasswordlessStartsLeaveNoServerState(t *testing.T) {
	for _, b := range countingBackends() {
		t.Run(b.name, func(t *testing.T) {
			state := b.counter(t)
			site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+state.lines)
			c := newClient(t)
			token := c.formToken("/auth/login")
			before := state.count(t)
			for i := range 200 {
				r := c.post("/auth/login/passkey", url.Values{formTokenField: {token}})
				if r.status != http.StatusOK {
					t.Fatalf("start %d of a passwordless login: %d; want 200 (%q)", i+1, r.status, clip(r.body))
				}
				if i == 0 {
					wantStartCookie(t, r)
				}
			}
			if after := state.count(t); after != before {
				t.Fatalf("200 passwordless starts: the backend holds %d entries, %d before; want no new one", after, before)
			}
		})
	}
}

// wantStartCookie checks the cookie a passwordless start sets.
func wantStartCookie(t *testing.T, r response) {
	t.Helper()
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name != stepCookieName {
			continue
		}
		if ck.Value == "" || !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Path != "/auth/" || ck.MaxAge != 300 || ck.Secure {
			t.Fatalf("the start's cookie: %+v; want HttpOnly, SameSite=Strict, Path=/auth/, Max-Age=300, not Secure over HTTP", ck)
		}
		return
	}
	t.Fatalf("a passwordless start set no %s cookie (%v)", stepCookieName, r.header["Set-Cookie"])
}

// registerPasswordless makes user on the running site with a passkey of
// auth that logs in without a password, and leaves c logged in.
func registerPasswordless(t *testing.T, c *client, user string, auth *passkeytest.Authenticator) {
	t.Helper()
	c.register(user, testPassword, "/")
	wantRecoveryCodes(t, c.addPasskey(auth, "phone", true), "the first passkey")
}

// passwordlessAnswer starts a passwordless login for c and has auth answer
// it.
func passwordlessAnswer(t *testing.T, c *client, auth *passkeytest.Authenticator, next string) string {
	t.Helper()
	options := c.passkeyOptions("/auth/login/passkey", "/auth/login", url.Values{"next": {next}})
	answer, err := auth.Get([]byte(options))
	if err != nil {
		t.Fatalf("the authenticator refused the login: %v", err)
	}
	return string(answer)
}

// TestAPasswordlessStartLogsInOnce: a passwordless login through the
// software authenticator goes to the page the start named, with the
// passkey as its factor. Its start cookie and answer, copied and sent
// again (by a thief, or a proxy's retry), log nobody in, even from an
// authenticator that does not count its signatures (a synced passkey's
// count stays 0, so the count cannot tell). A start cookie changed by
// the client opens nothing.
func TestAPasswordlessStartLogsInOnce(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		auth := passkeytest.New(baseURL)
		auth.NoSignCount = true
		registerPasswordless(t, newClient(t), "alice", auth)

		c := newClient(t)
		answer := passwordlessAnswer(t, c, auth, "/members/secret.txt")
		start := c.stepCookie()
		if start == "" {
			t.Fatal("the start left no step cookie")
		}
		wantLoggedInWith(t, c, c.post("/auth/login", url.Values{"credential": {answer}}), "/members/secret.txt", "passkey", "a passwordless login")
		if n := auth.SignCount(auth.IDs()[0]); n != 0 {
			t.Fatalf("fixture: the authenticator counted to %d; want one that does not count", n)
		}

		for _, replay := range []struct{ name, cookie string }{
			{"the same start cookie and answer", start},
			{"a changed start cookie", flip(start)},
		} {
			d := newClient(t)
			d.setCookie(stepCookieName, replay.cookie)
			r := d.post("/auth/login", url.Values{"credential": {answer}})
			if r.status != http.StatusUnauthorized || sessionCookie(r) != nil || d.factors() != "<denied>" {
				t.Fatalf("%s, sent again: %d (session cookie %v); want 401 and no session", replay.name, r.status, sessionCookie(r) != nil)
			}
		}

		// The authenticator still logs in, with a start of its own.
		e := newClient(t)
		wantLoggedInWith(t, e, e.post("/auth/login", url.Values{"credential": {passwordlessAnswer(t, e, auth, "/members/x")}}), "/members/x", "passkey", "a second passwordless login")
	})
}

// TestAPasswordlessStartOfAnotherRealmIsRefused (rule 14): two realms on
// one host with one secret; the browser sends realm B's start cookie to
// realm A by itself (cookies ignore the port). An answer to B's challenge,
// made by a passkey of A's, logs nobody in on A.
func TestAPasswordlessStartOfAnotherRealmIsRefused(t *testing.T) {
	forEachSharedStore(t, func(t *testing.T, s sharedStore) {
		shared := "secret " + testSecret + "\n\t\tip_limit 100000 15m\n\t\t" + s.lines(t, realmA, realmB)
		twoSites(t, "registration open\n\t\t"+shared, "registration closed\n\t\t"+shared)
		auth := passkeytest.New(siteA)
		registerPasswordless(t, newClient(t), "alice", auth) // on A: newClient's baseURL is siteA

		c := newClient(t)
		onB := &siteClient{c, siteB}
		loginB := onB.get("/auth/login")
		m := tokenField.FindStringSubmatch(loginB.body)
		if m == nil {
			t.Fatalf("B's login page has no form token (%d)", loginB.status)
		}
		r := onB.post("/auth/login/passkey", url.Values{formTokenField: {html.UnescapeString(m[1])}, "next": {"/members/x"}})
		if r.status != http.StatusOK {
			t.Fatalf("a passwordless start on B: %d", r.status)
		}
		if c.stepCookie() == "" {
			t.Fatal("the browser does not send B's start cookie to A; the test needs it to")
		}
		answer, err := auth.Get([]byte(r.body))
		if err != nil {
			t.Fatal(err)
		}
		r = c.post("/auth/login", url.Values{"credential": {string(answer)}})
		if r.status != http.StatusUnauthorized || sessionCookie(r) != nil || c.factors() != "<denied>" {
			t.Fatalf("B's start answered on A: %d (session cookie %v); want 401 and no session", r.status, sessionCookie(r) != nil)
		}
		// A's own start logs in.
		d := newClient(t)
		wantLoggedInWith(t, d, d.post("/auth/login", url.Values{"credential": {passwordlessAnswer(t, d, auth, "/members/x")}}), "/members/x", "passkey", "a passwordless login on A")
	})
}

// TestPasswordlessStartsAreFreeButRefusedAnswersCount: a start costs the
// server nothing to keep, so starts are not counted; every refused answer
// counts toward the client's ip_limit like a wrong password, and a client
// over it can neither start nor answer.
func TestPasswordlessStartsAreFreeButRefusedAnswersCount(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tip_limit 2 15m\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	token := c.formToken("/auth/login")
	for i := range 50 {
		if r := c.post("/auth/login/passkey", url.Values{formTokenField: {token}}); r.status != http.StatusOK {
			t.Fatalf("start %d of a passwordless login: %d; want 200", i+1, r.status)
		}
	}
	for i := range 2 {
		if r := c.post("/auth/login", url.Values{"credential": {`{"id":"x"}`}}); r.status != http.StatusUnauthorized {
			t.Fatalf("refused answer %d: %d; want 401", i+1, r.status)
		}
	}
	for _, path := range []string{"/auth/login/passkey", "/auth/login"} {
		form := url.Values{formTokenField: {token}}
		if path == "/auth/login" {
			form.Set("credential", `{"id":"x"}`)
		}
		if r := c.post(path, form); r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("POST %s over the limit: %d; want 429 with Retry-After", path, r.status)
		}
	}
}
