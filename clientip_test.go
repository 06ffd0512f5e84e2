package sessionauth

// Rule 10: client IPs for logs and throttling come from Caddy's client_ip,
// never from X-Forwarded-For and its kin.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// logLines returns the JSON log lines whose msg is msg.
func logLines(t *testing.T, logText, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(logText, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) != nil {
			continue
		}
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

func TestClientIPIgnoresForwardedHeaders(t *testing.T) {
	logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("ipuser", testPassword, "/")
	spoof := http.Header{
		"X-Forwarded-For": {"203.0.113.9"},
		"X-Real-Ip":       {"203.0.113.10"},
		"Forwarded":       {"for=203.0.113.11"},
	}
	if r := newClient(t).postWith("/auth/login", url.Values{"username": {"ipuser"}, "password": {"wrong password"}}, spoof); r.status != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", r.status)
	}
	if r := newClient(t).postWith("/auth/login", url.Values{"username": {"ipuser"}, "password": {testPassword}}, spoof); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	crossHdr := spoof.Clone()
	crossHdr.Set("Origin", "http://evil.example")
	if r := newClient(t).postWith("/auth/login", url.Values{"username": {"ipuser"}, "password": {testPassword}}, crossHdr); r.status != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d", r.status)
	}

	logText := readLog(t, logFile, "cross-origin form post refused")
	for _, msg := range []string{"login failed", "login", "cross-origin form post refused"} {
		lines := logLines(t, logText, msg)
		if len(lines) == 0 {
			t.Fatalf("no %q line in the log", msg)
		}
		for _, l := range lines {
			if msg != "cross-origin form post refused" && l["user"] != "ipuser" {
				continue
			}
			ip, _ := l["client_ip"].(string)
			if ip != "127.0.0.1" && ip != "::1" {
				t.Fatalf("%q logged client_ip %q, want the connection's address (127.0.0.1 or ::1)", msg, ip)
			}
		}
	}
	for _, spoofed := range []string{"203.0.113.9", "203.0.113.10", "203.0.113.11"} {
		for _, l := range append(logLines(t, logText, "login failed"), logLines(t, logText, "login")...) {
			if strings.Contains(fmt.Sprint(l["client_ip"]), spoofed) {
				t.Fatalf("a spoofed address %s was logged as the client IP", spoofed)
			}
		}
	}
}

func TestForgedForwardedForDoesNotEscapeTheClientLimit(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\tip_limit 4 1m\n\t\t"+b.lines(t))
		c := newClient(t)
		attempt := func(xff string) response {
			form := url.Values{"username": {"someone"}, "password": {"wrong password here"}, formTokenField: {c.formToken("/auth/login")}}
			req, _ := http.NewRequest(http.MethodPost, baseURL+"/auth/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", xff)
			req.Header.Set("X-Real-IP", xff)
			return c.do(req)
		}
		for i := range 4 {
			if r := attempt("198.51.100." + string(rune('1'+i))); r.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: want 401, got %d", i+1, r.status)
			}
		}
		r := attempt("198.51.100.99")
		if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
			t.Fatalf("fifth attempt with a new X-Forwarded-For: want 429 with Retry-After, got %d %q", r.status, r.header.Get("Retry-After"))
		}
		// Registration counts against the same limit.
		if r := c.register("newbie", testPassword, "/"); r.status != http.StatusTooManyRequests {
			t.Fatalf("registration over the limit: want 429, got %d", r.status)
		}
		advance(61 * time.Second)
		if r := attempt("198.51.100.1"); r.status != http.StatusUnauthorized {
			t.Fatalf("after the window: want 401 again, got %d", r.status)
		}
	})
}
