package sessionauth

import (
	"fmt"
	"html"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisconn"
	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// TestSentinelFailoverKeepsSessionsAndNeverServesContentWithoutOne: two
// Caddy instances (this process and cmd/caddy) share a realm through a
// Redis that three sentinels watch (one master, one replica). When the
// master dies, protected requests get only 200 for a valid session or 503
// while Sentinel promotes the replica, never the content without a valid
// session; afterwards the sessions from before work on both instances, a
// new login works without a reload, both instances subscribe again on the
// new master, the command finds it too, and a logout on one instance is
// honoured at once on the other.
func TestSentinelFailoverKeepsSessionsAndNeverServesContentWithoutOne(t *testing.T) {
	set, err := testredis.StartSentinels("sessions", 1, 3, time.Second)
	if err != nil {
		t.Fatalf("this test needs redis-server and redis-server --sentinel: %v", err)
	}
	t.Cleanup(set.Close)
	lines := "realm shared\n\t\tsecret " + testSecret + "\n\t\tregistration open\n\t\tredis " + set.URL(0)
	site(t, "session_auth /members/*", lines)
	other := strings.NewReplacer(
		"admin localhost:2999", "admin off",
		"http_port 9080", "http_port 9180",
		"https_port 9443", "https_port 9543",
		"http://localhost:9080", otherURL,
	).Replace(siteConfig(filepath.Join(t.TempDir(), "other.log"), "session_auth /members/*", "bcrypt_cost 10\n\t\t"+lines))
	startOtherInstance(t, other)

	c := newClient(t)
	if r := c.register("alice", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d %q", r.status, r.body)
	}
	cookies := []string{c.cookie(), loginAt(t, otherURL, "alice")}
	instances := []string{baseURL, otherURL}
	for _, base := range instances {
		for i, ck := range cookies {
			wantGranted(t, fetchAt(t, base, "/members/x", ck, false), fmt.Sprintf("session %d at %s before the failover", i+1, base))
		}
	}
	// Replication is asynchronous: the sessions must be on the replica
	// before its master dies, as they would be a moment later anyway.
	master, err := set.Master.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	if n, err := redis.Int(master.Do("WAIT", 1, 5000)); err != nil || n != 1 {
		t.Fatalf("WAIT for the replica: %d, %v", n, err)
	}
	master.Close()

	old := set.Master.Addr
	set.Master.Stop()
	promoted := make(chan error, 1)
	var newMaster string
	go func() {
		var err error
		newMaster, err = set.WaitForNewMaster(old, 2*time.Minute)
		promoted <- err
	}()
	// Signed with the realm's key, but no such session.
	forged, err := securecookie.EncodeMulti(defaultCookieName, "FORGEDFORGEDFORGEDFORGEDFORGEDFORGEDFORGEDFORGED2345", realmCodecs(testSecret, "shared")...)
	if err != nil {
		t.Fatal(err)
	}
	statuses := map[string]map[int]int{}
	var mu sync.Mutex
	count := func(what string, status int) {
		mu.Lock()
		defer mu.Unlock()
		if statuses[what] == nil {
			statuses[what] = map[int]int{}
		}
		statuses[what][status]++
	}
	for switching := true; switching; {
		select {
		case err := <-promoted:
			if err != nil {
				t.Fatal(err)
			}
			switching = false
		default:
		}
		for _, base := range instances {
			for i, ck := range cookies {
				r := fetchAt(t, base, "/members/x", ck, false)
				if r.status != http.StatusOK && r.status != http.StatusServiceUnavailable || r.status != http.StatusOK && strings.Contains(r.body, "SECRET") {
					t.Fatalf("session %d at %s during the failover: want the content (200) or 503 without it, got %d %q", i+1, base, r.status, r.body)
				}
				count("valid session", r.status)
			}
			for _, browser := range []bool{true, false} {
				r := fetchAt(t, base, "/members/x", forged, browser)
				if strings.Contains(r.body, "SECRET") || r.status != http.StatusServiceUnavailable && r.status != http.StatusSeeOther && r.status != http.StatusUnauthorized {
					t.Fatalf("a forged session at %s during the failover: want 503, 303 or 401 without the content, got %d %q", base, r.status, r.body)
				}
				count("forged session", r.status)
			}
			wantDenied(t, fetchAt(t, base, "/members/x", "", true), "no session at "+base+" during the failover")
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("promoted %s; statuses during the switch: %v", newMaster, statuses)
	if statuses["valid session"][http.StatusServiceUnavailable] == 0 {
		t.Logf("no request saw the outage (every one was served from memory or after the switch)")
	}

	for _, base := range instances {
		for i, ck := range cookies {
			eventually(t, fmt.Sprintf("session %d at %s after the failover", i+1, base), func() bool {
				return fetchAt(t, base, "/members/x", ck, false).status == http.StatusOK
			})
			wantGranted(t, fetchAt(t, base, "/members/x", ck, true), fmt.Sprintf("session %d at %s after the failover", i+1, base))
		}
		wantDenied(t, fetchAt(t, base, "/members/x", forged, false), "a forged session at "+base+" after the failover")
	}
	// Both instances listen for session ends on the new master.
	channel := redisChannel(mustTarget(t, set.URL(0)), "shared")
	eventually(t, "both instances subscribed on the new master", func() bool {
		conn, err := redis.Dial("tcp", newMaster)
		if err != nil {
			return false
		}
		defer conn.Close()
		reply, err := redis.Values(conn.Do("PUBSUB", "NUMSUB", channel))
		if err != nil || len(reply) != 2 {
			return false
		}
		n, _ := redis.Int(reply[1], nil)
		return n >= 2
	})

	// The command finds the new master as the servers do.
	if out, code, err := runCLI(t, "", "--config", roleCLIConfig(t, lines), "list"); err != nil || code != 0 || !strings.Contains(out, "alice") {
		t.Fatalf("caddy session-auth list after the failover: exit %d, %v, %q", code, err, out)
	}

	// A new login on each instance, without a reload; then a logout on one
	// is honoured on the other at once, though it had just served (and so
	// remembered) the session.
	for _, pair := range [][2]string{{baseURL, otherURL}, {otherURL, baseURL}} {
		var fresh string
		eventually(t, "a new login at "+pair[0]+" after the failover", func() bool {
			fresh = loginAtAllowingOutage(t, pair[0], "alice")
			return fresh != ""
		})
		wantGranted(t, fetchAt(t, pair[1], "/members/x", fresh, false), "the new session at "+pair[1])
		logoutAt(t, pair[0], fresh)
		r := fetchAt(t, pair[1], "/members/x", fresh, false)
		if r.status != http.StatusUnauthorized || strings.Contains(r.body, "SECRET") {
			t.Fatalf("the session logged out at %s, at %s right after: want 401, got %d %q", pair[0], pair[1], r.status, r.body)
		}
	}
}

// loginAtAllowingOutage logs user in at base and returns the session
// cookie, or "" when the login page or form said to try again later.
func loginAtAllowingOutage(t *testing.T, base, user string) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, base+"/auth/login", nil)
	req.Header.Set("Accept", "text/html")
	page := mustDo(t, hc, req)
	m := tokenField.FindStringSubmatch(page.body)
	if page.status == http.StatusServiceUnavailable {
		return ""
	}
	if m == nil {
		t.Fatalf("%s/auth/login: no form token (%d)", base, page.status)
	}
	form := url.Values{"username": {user}, "password": {testPassword}, "next": {"/"}, formTokenField: {html.UnescapeString(m[1])}}
	req, _ = http.NewRequest(http.MethodPost, base+"/auth/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	r := mustDo(t, hc, req)
	if r.status == http.StatusServiceUnavailable {
		return ""
	}
	if r.status != http.StatusSeeOther {
		t.Fatalf("logging in at %s: %d %q", base, r.status, r.body)
	}
	u, _ := url.Parse(base)
	for _, c := range jar.Cookies(u) {
		if c.Name == defaultCookieName {
			return c.Value
		}
	}
	t.Fatalf("logging in at %s set no session cookie", base)
	return ""
}

// logoutAt logs the session out at base through the logout form.
func logoutAt(t *testing.T, base, cookie string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	u, _ := url.Parse(base)
	jar.SetCookies(u, []*http.Cookie{{Name: defaultCookieName, Value: cookie, Path: "/"}})
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest(http.MethodGet, base+"/auth/logout", nil)
	req.Header.Set("Accept", "text/html")
	page := mustDo(t, hc, req)
	m := tokenField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("%s/auth/logout: no form token (%d)", base, page.status)
	}
	form := url.Values{formTokenField: {html.UnescapeString(m[1])}}
	req, _ = http.NewRequest(http.MethodPost, base+"/auth/logout", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", base)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	if r := mustDo(t, hc, req); r.status != http.StatusSeeOther {
		t.Fatalf("logging out at %s: %d %q", base, r.status, r.body)
	}
}

// TestRedisTLSAndACLUsers: with rediss://, the TLS files and an ACL user,
// registration, login and protected pages work; a config with the wrong
// password, the wrong CA or no client certificate fails closed (protected
// requests 503, forms "try again later") and logs one line at start that
// says what failed, without the password. The command reaches the same
// Redis with the same settings.
func TestRedisTLSAndACLUsers(t *testing.T) {
	files, err := testredis.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	const aclPassword = "acl-Secret-pw-81"
	srv, err := testredis.StartTLS(files, "--user", "default", "off", "--user", "sessions", "on", ">"+aclPassword, "~*", "&*", "+@all")
	if err != nil {
		t.Fatalf("this test needs a redis-server built with TLS: %v", err)
	}
	t.Cleanup(srv.Close)
	// config connects as user with password, trusting ca for the server,
	// showing the client certificate cert (none when "").
	config := func(user, password, ca, cert, key string) string {
		block := "\n\t\t\tca_file " + ca
		if cert != "" {
			block += "\n\t\t\tcert_file " + cert + "\n\t\t\tkey_file " + key
		}
		return fmt.Sprintf("secret %s\n\t\tregistration open\n\t\tredis rediss://%s:%s@%s/0 {%s\n\t\t}", testSecret, user, password, srv.Addr, block)
	}
	// The password from the environment, as the README shows it.
	t.Setenv("SESSION_AUTH_TEST_REDIS_PASSWORD", aclPassword)
	site(t, "session_auth /members/*", config("sessions", "{env.SESSION_AUTH_TEST_REDIS_PASSWORD}", files.CA, files.ClientCert, files.ClientKey))
	c := newClient(t)
	if r := c.register("tess", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register over TLS as an ACL user: %d %q", r.status, r.body)
	}
	wantGranted(t, c.get("/members/x"), "after registering over TLS")
	if r := newClient(t).login("tess", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("login over TLS as an ACL user: %d", r.status)
	}
	cookie := c.cookie()
	// The command reaches the Redis the server uses, as the server does.
	cliConfig := roleCLIConfig(t, config("sessions", "{env.SESSION_AUTH_TEST_REDIS_PASSWORD}", files.CA, files.ClientCert, files.ClientKey))
	if out, code, err := runCLI(t, "", "--config", cliConfig, "list"); err != nil || code != 0 || !strings.Contains(out, "tess") {
		t.Fatalf("caddy session-auth list over TLS as the ACL user: exit %d, %v, %q", code, err, out)
	}

	for _, tc := range []struct {
		name, options, want, secret string
	}{
		{"wrong ACL password", config("sessions", "wrong-Pass-77", files.CA, files.ClientCert, files.ClientKey), "WRONGPASS", "wrong-Pass-77"},
		{"unknown ACL user", config("mallory", aclPassword, files.CA, files.ClientCert, files.ClientKey), "WRONGPASS", aclPassword},
		{"wrong CA", config("sessions", aclPassword, files.OtherCA, files.ClientCert, files.ClientKey), "the server's certificate does not verify", aclPassword},
		{"no client certificate", config("sessions", aclPassword, files.CA, "", ""), "refused the client certificate (check cert_file and key_file)", aclPassword},
		{"client certificate of a CA the server does not trust", config("sessions", aclPassword, files.CA, files.OtherClientCert, files.OtherClientKey), "refused the client certificate (check cert_file and key_file)", aclPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			logFile := site(t, "session_auth /members/*", tc.options)
			copied := withCookie(t, cookie)
			wantUnavailable(t, copied.getAPI("/members/x"), "a valid session, "+tc.name)
			wantUnavailable(t, copied.get("/members/x"), "a valid session from a browser, "+tc.name)
			if r := newClient(t).login("tess", testPassword, "/"); r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Try again later") {
				t.Fatalf("login, %s: want the try-again-later page (503), got %d", tc.name, r.status)
			}
			if r := newClient(t).get("/public.txt"); r.status != http.StatusOK {
				t.Fatalf("public page, %s: %d", tc.name, r.status)
			}
			// Every warning says why: a retry that happens to fail another
			// way must not hide a first one that pointed the wrong way.
			log := readLog(t, logFile, tc.want)
			var warnings []string
			for _, l := range strings.Split(log, "\n") {
				if strings.Contains(l, "redis is unreachable") && strings.Contains(l, srv.Addr) {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) == 0 {
				t.Fatalf("%s: want a log line saying redis is unreachable because %q, got the log:\n%s", tc.name, tc.want, log)
			}
			for _, w := range warnings {
				if !strings.Contains(w, tc.want) {
					t.Fatalf("%s: a warning that redis is unreachable does not say %q:\n%s", tc.name, tc.want, w)
				}
			}
			if strings.Contains(log, tc.secret) || strings.Contains(log, aclPassword) {
				t.Fatalf("%s: the log holds a password:\n%s", tc.name, log)
			}
		})
	}
}

// TestMalformedRedisSettingsFailCaddyValidate: the settings a dial would
// refuse later stop `caddy validate`, with a message saying what is wrong
// and no password.
func TestMalformedRedisSettingsFailCaddyValidate(t *testing.T) {
	caddyBinary(t)
	dir := t.TempDir()
	files, err := testredis.NewTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	validate := func(redis string) cliRun {
		config := writeCLICaddyfile(t, "Caddyfile", "http://localhost:9080 {\n\tsession_auth {\n\t\tredis "+redis+"\n\t}\n}\n")
		return runCaddy(t, "", "validate", "--config", config, "--adapter", "caddyfile")
	}
	for _, tc := range []struct{ name, redis, want string }{
		{"sentinel URL without a master name", "redis+sentinel://u:hunter2@127.0.0.1:26379", "a sentinel URL needs the master's name"},
		{"sentinel without a port", "redis+sentinel://u:hunter2@127.0.0.1:26379,10.0.0.2/main", "each sentinel needs a host and a port"},
		{"TLS files on a plain URL", "redis://u:hunter2@localhost:6379 {\n\t\t\tca_file " + files.CA + "\n\t\t}", "are for rediss://"},
		{"sentinel password on a direct URL", "rediss://localhost:6379 {\n\t\t\tsentinel_password hunter2\n\t\t}", "are for redis+sentinel://"},
		{"unreadable CA file", "rediss://u:hunter2@localhost:6379 {\n\t\t\tca_file " + filepath.Join(dir, "missing.pem") + "\n\t\t}", "ca_file: open"},
		{"a key without a certificate", "rediss://localhost:6379 {\n\t\t\tkey_file " + files.ClientKey + "\n\t\t}", "cert_file and key_file go together"},
		{"a certificate that is no certificate", "rediss://localhost:6379 {\n\t\t\tcert_file " + files.CA + "x\n\t\t\tkey_file " + files.ClientKey + "\n\t\t}", "cert_file and key_file"},
		{"an unknown subdirective", "rediss://localhost:6379 {\n\t\t\tpassword hunter2\n\t\t}", "unrecognized subdirective password"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validate(tc.redis)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("caddy validate with redis %s: want a failure saying %q, got exit %d, stdout %q, stderr %q", tc.redis, tc.want, r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Fatalf("caddy validate echoed the password: %q", r.stderr)
			}
		})
	}
	good := "rediss+sentinel://u:hunter2@127.0.0.1:26379,127.0.0.1:26380/main/2 {\n\t\t\tca_file " + files.CA +
		"\n\t\t\tcert_file " + files.ClientCert + "\n\t\t\tkey_file " + files.ClientKey +
		"\n\t\t\tserver_name redis.internal\n\t\t\tsentinel_username watcher\n\t\t\tsentinel_password {env.SENTINEL_PW}\n\t\t}"
	if r := validate(good); r.code != 0 || !strings.Contains(r.stdout, "Valid configuration") {
		t.Fatalf("caddy validate with well-formed Sentinel and TLS settings of a Redis that is down: want it valid, got exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// mustTarget is the target of a Redis URL that a test made.
func mustTarget(t *testing.T, rawURL string) redisconn.Target {
	t.Helper()
	target, err := redisconn.Parse(rawURL, redisconn.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return target
}
