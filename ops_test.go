package sessionauth

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// Metrics and the audit log (issue 12).

// scrape reads Caddy's /metrics from its admin endpoint, as Prometheus
// would.
func scrape(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(adminURL + "/metrics")
	if err != nil {
		t.Fatalf("scraping the admin endpoint's /metrics: %v", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %d", resp.StatusCode)
	}
	return string(body)
}

// metricValue is the value of the sample of name whose labels include
// each of labels ("k=v"), 0 when there is none.
func metricValue(t *testing.T, text, name string, labels ...string) float64 {
	t.Helper()
	line := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(name) + `\{([^}]*)\} (\S+)$`)
	for _, m := range line.FindAllStringSubmatch(text, -1) {
		have := m[1]
		all := true
		for _, l := range labels {
			k, v, _ := strings.Cut(l, "=")
			if !strings.Contains(","+have+",", fmt.Sprintf(",%s=%q,", k, v)) {
				all = false
				break
			}
		}
		if all {
			f, err := strconv.ParseFloat(m[2], 64)
			if err != nil {
				t.Fatalf("%s{%s}: %v", name, have, err)
			}
			return f
		}
	}
	return 0
}

// TestMetricsCountEachOutcomeByRealmNeverByUser scrapes a real Caddy's
// admin endpoint around a scripted session and checks that each counter
// moved by exactly what happened, labelled by realm, and that no user's
// name is in any label.
func TestMetricsCountEachOutcomeByRealmNeverByUser(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\taccount_limit 2 15m\n\t\tallow /members/staff/* role staff\n\t\t"+b.lines(t))
		before := scrape(t)
		const user = "metered-user-7"

		c := newClient(t)
		if r := c.register(user, testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "after registering")
		if r := c.get("/members/staff/x"); r.status != http.StatusForbidden {
			t.Fatalf("a page for staff only: %d; want 403", r.status)
		}
		wantDenied(t, newClient(t).get("/members/x"), "a browser without a session")
		if r := newClient(t).getAPI("/members/x"); r.status != http.StatusUnauthorized {
			t.Fatalf("a script without a session: %d; want 401", r.status)
		}
		if r := c.logout(); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		if r := newClient(t).login(user, testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		for range 2 {
			if r := newClient(t).login(user, "a wrong password", "/"); r.status != http.StatusUnauthorized {
				t.Fatalf("wrong password: %d", r.status)
			}
		}
		if r := newClient(t).login(user, testPassword, "/"); r.status != http.StatusUnauthorized {
			t.Fatalf("the right password on a locked account: %d; want 401", r.status)
		}
		after := scrape(t)

		delta := func(name string, labels ...string) float64 {
			labels = append(labels, "realm="+testRealm)
			return metricValue(t, after, name, labels...) - metricValue(t, before, name, labels...)
		}
		for _, tc := range []struct {
			name   string
			labels []string
			want   float64
		}{
			{"caddy_session_auth_registrations_total", []string{"result=ok"}, 1},
			{"caddy_session_auth_logins_total", []string{"result=ok"}, 1},
			{"caddy_session_auth_logins_total", []string{"result=wrong"}, 2},
			{"caddy_session_auth_logins_total", []string{"result=locked"}, 1},
			{"caddy_session_auth_logins_total", []string{"result=throttled"}, 0},
			{"caddy_session_auth_login_duration_seconds_count", nil, 4},
			{"caddy_session_auth_logouts_total", nil, 1},
			{"caddy_session_auth_gate_decisions_total", []string{"decision=allowed"}, 1},
			{"caddy_session_auth_gate_decisions_total", []string{"decision=forbidden"}, 1},
			{"caddy_session_auth_gate_decisions_total", []string{"decision=redirected"}, 1},
			{"caddy_session_auth_gate_decisions_total", []string{"decision=refused"}, 1},
			{"caddy_session_auth_gate_decisions_total", []string{"decision=backend_down"}, 0},
		} {
			if got := delta(tc.name, tc.labels...); got != tc.want {
				t.Errorf("%s%v went up by %v; want %v", tc.name, tc.labels, got, tc.want)
			}
		}
		// Two gated requests and the logout page carried the cookie; the
		// first read at least misses the memory.
		if hits, misses := delta("caddy_session_auth_session_cache_total", "result=hit"), delta("caddy_session_auth_session_cache_total", "result=miss"); misses < 1 || hits+misses < 3 {
			t.Errorf("session cache: %v hits, %v misses; want at least one miss and three lookups", hits, misses)
		}
		for _, gauge := range []string{"caddy_session_auth_bcrypt_running", "caddy_session_auth_bcrypt_waiting"} {
			if !regexp.MustCompile(`(?m)^` + gauge + ` \d+$`).MatchString(after) {
				t.Errorf("no %s gauge in /metrics", gauge)
			}
		}
		if strings.Contains(after, user) {
			t.Errorf("a user's name is in /metrics")
		}
	})
}

// TestMetricsCountBackendOutages: with Redis down, a protected request
// and a login are counted as backend_down, and the failed operation too.
func TestMetricsCountBackendOutages(t *testing.T) {
	srv := startPersistentRedis(t)
	site(t, "session_auth /members/*", "registration open\n\t\tredis "+srv.URL(0))
	c := newClient(t)
	c.register("outage-user", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "before the outage")
	before := scrape(t)
	srv.Stop()
	time.Sleep(2 * session.MemoryBound)
	wantUnavailable(t, c.getAPI("/members/x"), "a protected request, Redis down")
	if r := newClient(t).login("outage-user", testPassword, "/"); r.status != http.StatusServiceUnavailable {
		t.Fatalf("login with Redis down: %d", r.status)
	}
	after := scrape(t)
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	delta := func(name string, labels ...string) float64 {
		labels = append(labels, "realm="+testRealm)
		return metricValue(t, after, name, labels...) - metricValue(t, before, name, labels...)
	}
	if got := delta("caddy_session_auth_gate_decisions_total", "decision=backend_down"); got != 1 {
		t.Errorf("gate backend_down went up by %v; want 1", got)
	}
	if got := delta("caddy_session_auth_logins_total", "result=backend_down"); got != 1 {
		t.Errorf("logins backend_down went up by %v; want 1", got)
	}
	if got := delta("caddy_session_auth_backend_errors_total", "operation=login"); got != 1 {
		t.Errorf("backend errors of login went up by %v; want 1", got)
	}
}

// auditEvents are the audit log's lines, in order.
func auditEvents(t *testing.T, logFile string) []map[string]any {
	t.Helper()
	data, _ := os.ReadFile(logFile)
	var out []map[string]any
	for _, line := range strings.Split(string(data), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["logger"] == auditLogger {
			out = append(out, m)
		}
	}
	return out
}

// TestAuditLogHasOneLineForEachEventAndNoSecret walks a user through
// registration, failed and good logins, a lock, the account page and
// logout, and checks that each event is in the audit log once, with its
// fields, and that no password, hash, cookie or session id is.
func TestAuditLogHasOneLineForEachEventAndNoSecret(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := "registration open\n\t\taccount_limit 2 15m\n\t\tallow /members/staff/* role staff\n\t\tsecret " + testSecret + "\n\t\t" + b.lines(t)
		logFile := site(t, "session_auth /members/*", lines)
		const agent = "Mozilla/5.0 (audit test)"
		const newPassword = "another fine passphrase"
		browser := func() *client { c := newClient(t); c.agent = agent; return c }
		var cookies []string

		alice := browser()
		alice.register("alice", testPassword, "/")
		cookies = append(cookies, alice.cookie())
		browser().login("alice", "a wrong password", "/")
		browser().login("nobody-at-all", "a wrong password", "/")
		second := browser()
		if r := second.login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		cookies = append(cookies, second.cookie())
		if r := second.getAPI("/members/staff/x"); r.status != http.StatusForbidden {
			t.Fatalf("a page for staff only: %d; want 403", r.status)
		}
		if r := alice.post("/auth/account", url.Values{"action": {"password"}, "current_password": {testPassword}, "password": {newPassword}, "password_confirm": {newPassword}}); r.status != http.StatusSeeOther {
			t.Fatalf("password change: %d %s", r.status, clip(r.body))
		}
		cookies = append(cookies, alice.cookie())
		third := browser()
		third.login("alice", newPassword, "/")
		cookies = append(cookies, third.cookie())
		if r := alice.post("/auth/account", url.Values{"action": {"end-others"}}); r.status != http.StatusSeeOther {
			t.Fatalf("end others: %d", r.status)
		}
		cookies = append(cookies, alice.cookie())
		loginRef := session.Ref(sessionID(t, alice.cookie()))
		if r := alice.logout(); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		browser().login("alice", "wrong again", "/")
		browser().login("alice", "wrong once more", "/") // locks

		readLog(t, logFile, `"event":"account_locked"`)
		events := auditEvents(t, logFile)
		var got []string
		for _, e := range events {
			got = append(got, fmt.Sprint(e["event"], " ", e["user"], " ", e["reason"]))
			if e["realm"] != testRealm || e["client_ip"] != "127.0.0.1" || e["user_agent"] != agent {
				t.Errorf("audit line %v: want realm %s, client_ip 127.0.0.1, user_agent %q", e, testRealm, agent)
			}
		}
		want := []string{
			"register alice <nil>",
			"login_failed alice wrong_password",
			"login_failed  unknown_user", // the name nobody has, as user_hash only
			"login alice <nil>",
			"access_denied alice <nil>",
			"password_change alice <nil>",
			"login alice <nil>",
			"sessions_ended alice <nil>",
			"logout alice <nil>",
			"login_failed alice wrong_password",
			"account_locked alice <nil>",
			"login_failed alice wrong_password",
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Fatalf("audit events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		for _, i := range []int{0, 3, 4, 5, 6, 7, 8} {
			if ref, _ := events[i]["session"].(string); len(ref) != 24 {
				t.Errorf("%s: session reference %q; want a 24-digit hash", got[i], ref)
			}
		}
		if events[8]["session"] != loginRef {
			t.Errorf("the logout names session %v; want the session that logged out, %s", events[8]["session"], loginRef)
		}
		if events[4]["path"] != "/members/staff/x" || events[4]["session"] != events[3]["session"] {
			t.Errorf("access_denied %v; want the path, and the session of the login before it", events[4])
		}

		log := readLog(t, logFile, "")
		secrets := map[string]string{"the password": testPassword, "the new password": newPassword, "a wrong password": "a wrong password", "a name nobody has": "nobody-at-all"}
		for i, ck := range cookies {
			secrets[fmt.Sprintf("cookie %d", i)] = ck
			secrets[fmt.Sprintf("session id %d", i)] = sessionID(t, ck)
		}
		// The stored hash, as bytes and as base64 (how the file and zap.Any
		// write bytes).
		var stored []byte
		if f := strings.Fields(lines); slices.Contains(f, "users_file") {
			data, err := os.ReadFile(f[slices.Index(f, "users_file")+1])
			if err != nil {
				t.Fatalf("reading the accounts file: %v", err)
			}
			stored = data
		} else {
			conn, err := testRedis.Dial(0)
			if err != nil {
				t.Fatal(err)
			}
			stored, err = redis.Bytes(conn.Do("GET", keyPrefix(testRealm)+"user:alice"))
			conn.Close()
			if err != nil {
				t.Fatalf("reading alice's account from Redis: %v", err)
			}
		}
		hashes := regexp.MustCompile(`"hash":\s*"([^"]+)"`).FindAllStringSubmatch(string(stored), -1)
		if len(hashes) == 0 {
			t.Fatalf("fixture: no hash in the stored account:\n%s", stored)
		}
		for i, h := range hashes {
			raw, err := base64.StdEncoding.DecodeString(h[1])
			if err != nil || !strings.HasPrefix(string(raw), "$2") {
				t.Fatalf("fixture: hash %q", h[1])
			}
			secrets[fmt.Sprintf("hash %d", i)] = string(raw)
			secrets[fmt.Sprintf("hash %d, base64", i)] = h[1]
		}
		for what, s := range secrets {
			if s != "" && strings.Contains(log, s) {
				t.Errorf("the log holds %s", what)
			}
		}
		for _, e := range events {
			for _, k := range []string{"password", "hash", "token", "cookie", "session_id", "id"} {
				if _, ok := e[k]; ok {
					t.Errorf("audit line %v has a %q field", e, k)
				}
			}
		}
	})
}
