package sessionauth

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The JSON API under /auth/session (issue 12): the same rules as the
// forms, answered in JSON.

// api sends a JSON call as a front end on this site would: same-origin,
// with the required header; extra replaces or removes headers ("" value).
func (c *client) api(method, path, body string, extra ...string) (response, map[string]any) {
	c.t.Helper()
	req, _ := http.NewRequest(method, baseURL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Origin", baseURL)
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	req.Header.Set("X-Requested-With", "test")
	for i := 0; i+1 < len(extra); i += 2 {
		if extra[i+1] == "" {
			req.Header.Del(extra[i])
		} else {
			req.Header.Set(extra[i], extra[i+1])
		}
	}
	r := c.do(req)
	var v map[string]any
	if r.body != "" {
		if err := json.Unmarshal([]byte(r.body), &v); err != nil {
			c.t.Fatalf("%s %s: %d, not JSON: %q", method, path, r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/json" {
			c.t.Fatalf("%s %s: Content-Type %q", method, path, ct)
		}
	}
	if cc := r.header.Get("Cache-Control"); cc != "no-store" {
		c.t.Fatalf("%s %s: Cache-Control %q; want no-store", method, path, cc)
	}
	return r, v
}

func loginBody(user, password string) string {
	b, _ := json.Marshal(map[string]any{"username": user, "password": password})
	return string(b)
}

func wantAPIError(t *testing.T, r response, v map[string]any, status int, code, what string) {
	t.Helper()
	if r.status != status || v["error"] != code || v["message"] == "" {
		t.Fatalf("%s: %d %v; want %d with error %q and a message", what, r.status, v, status, code)
	}
}

// TestAPILogsInTellsWhoAndLogsOut: the whole life of a session through
// the API, on both backends; the cookie it sets is the forms' cookie.
func TestAPILogsInTellsWhoAndLogsOut(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tdefault_roles staff\n\t\t"+b.lines(t))
		c := newClient(t)
		r, v := c.api(http.MethodGet, "/auth/session", "")
		wantAPIError(t, r, v, http.StatusUnauthorized, "not_logged_in", "who, before login")

		r, v = c.api(http.MethodPost, "/auth/session/register", `{"username":"Jess","password":"`+testPassword+`","password_confirm":"`+testPassword+`"}`)
		if r.status != http.StatusCreated || v["user"] != "jess" || c.cookie() == "" {
			t.Fatalf("register: %d %v; want 201 for jess with a cookie", r.status, v)
		}
		wantGranted(t, c.get("/members/x"), "after registering through the API")
		c.api(http.MethodDelete, "/auth/session", "")

		r, v = c.api(http.MethodPost, "/auth/session", `{"username":"jess","password":"`+testPassword+`","remember":true}`)
		expires, _ := time.Parse(time.RFC3339, v["expires"].(string))
		if r.status != http.StatusOK || v["user"] != "jess" || v["remember"] != true || time.Until(expires) < 29*24*time.Hour {
			t.Fatalf("login: %d %v; want 200 for jess, remembered for 30 days", r.status, v)
		}
		if roles, _ := v["roles"].([]any); len(roles) != 1 || roles[0] != "staff" {
			t.Fatalf("login: roles %v; want [staff]", v["roles"])
		}
		cookie := c.cookie()
		r, v = c.api(http.MethodGet, "/auth/session", "")
		if r.status != http.StatusOK || v["user"] != "jess" || !strings.Contains(r.header.Get("Vary"), "Cookie") {
			t.Fatalf("who, logged in: %d %v (Vary %q)", r.status, v, r.header.Get("Vary"))
		}
		wantGranted(t, c.get("/members/x"), "after logging in through the API")

		r, _ = c.api(http.MethodDelete, "/auth/session", "")
		if r.status != http.StatusNoContent || c.cookie() != "" {
			t.Fatalf("logout: %d, cookie %q; want 204 and no cookie", r.status, c.cookie())
		}
		wantDenied(t, withCookie(t, cookie).get("/members/x"), "the session's cookie after an API logout")
		r, v = withCookie(t, cookie).api(http.MethodGet, "/auth/session", "")
		wantAPIError(t, r, v, http.StatusUnauthorized, "not_logged_in", "who, with the logged-out cookie")
	})
}

// TestAPIRefusesCrossSiteCalls: a call that changes anything needs this
// site's origin and the X-Requested-With header; nothing it asked is done.
func TestAPIRefusesCrossSiteCalls(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	loggedInClient := newClient(t)
	loggedInClient.register("kim", testPassword, "/")
	for _, tc := range []struct {
		name    string
		headers []string
		code    string
	}{
		{"no X-Requested-With", []string{"X-Requested-With", ""}, "header_required"},
		{"another site's page (Sec-Fetch-Site)", []string{"Sec-Fetch-Site", "cross-site", "Origin", "http://evil.example"}, "cross_origin"},
		{"another site's origin, no Sec-Fetch-Site", []string{"Sec-Fetch-Site", "", "Origin", "http://evil.example"}, "cross_origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t)
			r, v := c.api(http.MethodPost, "/auth/session", loginBody("kim", testPassword), tc.headers...)
			wantAPIError(t, r, v, http.StatusForbidden, tc.code, "login")
			if c.cookie() != "" {
				t.Fatal("a refused login set a cookie")
			}
			r, v = c.api(http.MethodPost, "/auth/session/register", loginBody("kim2", testPassword), tc.headers...)
			wantAPIError(t, r, v, http.StatusForbidden, tc.code, "register")
			if r := newClient(t).login("kim2", testPassword, "/"); r.status != http.StatusUnauthorized {
				t.Fatalf("the refused registration made an account: login %d", r.status)
			}
			r, v = loggedInClient.api(http.MethodDelete, "/auth/session", "", tc.headers...)
			wantAPIError(t, r, v, http.StatusForbidden, tc.code, "logout")
			wantGranted(t, loggedInClient.get("/members/x"), "after a refused cross-site logout")
		})
	}
	// Bodies that are no JSON call, and methods the address does not take.
	c := newClient(t)
	r, v := c.api(http.MethodPost, "/auth/session", "username=kim&password=x", "Content-Type", "application/x-www-form-urlencoded")
	wantAPIError(t, r, v, http.StatusUnsupportedMediaType, "unsupported_media_type", "a form body")
	r, v = c.api(http.MethodPost, "/auth/session", `{"username":"kim","pasword":"typo"}`)
	wantAPIError(t, r, v, http.StatusBadRequest, "bad_request", "an unknown field")
	r, v = c.api(http.MethodPost, "/auth/session", `{"username":"kim"} {"password":"x"}`)
	wantAPIError(t, r, v, http.StatusBadRequest, "bad_request", "two objects")
	r, v = c.api(http.MethodPost, "/auth/session", "{\"username\":\"kim\xff\"}")
	wantAPIError(t, r, v, http.StatusBadRequest, "bad_request", "invalid UTF-8")
	r, v = c.api(http.MethodPost, "/auth/session", `{"username":"`+strings.Repeat("a", 70000)+`"}`)
	wantAPIError(t, r, v, http.StatusRequestEntityTooLarge, "too_large", "an oversize body")
	r, v = c.api(http.MethodPut, "/auth/session", "{}")
	wantAPIError(t, r, v, http.StatusMethodNotAllowed, "method_not_allowed", "PUT")
	if c.cookie() != "" {
		t.Fatal("a refused call set a cookie")
	}
}

// TestAPILoginKeepsTheFormsRules: the same answer and one bcrypt
// comparison for every kind of failure, the account lock, the client
// limit shared with the forms, approval, and registration's checks.
func TestAPILoginKeepsTheFormsRules(t *testing.T) {
	site(t, "session_auth /members/*", "registration approval\n\t\taccount_limit 2 15m\n\t\tip_limit 12 15m\n\t\tbcrypt_cost 11\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	r, v := c.api(http.MethodPost, "/auth/session/register", loginBody("pat", testPassword))
	if r.status != http.StatusAccepted || v["status"] != "pending" || c.cookie() != "" {
		t.Fatalf("registration under approval: %d %v; want 202, status pending, no cookie", r.status, v)
	}
	r, v = c.api(http.MethodPost, "/auth/session", loginBody("pat", testPassword))
	wantAPIError(t, r, v, http.StatusForbidden, "pending", "login of an account that waits for approval")
	r, v = c.api(http.MethodPost, "/auth/session/register", loginBody("pat", testPassword))
	wantAPIError(t, r, v, http.StatusConflict, "username_taken", "a taken name")
	r, v = c.api(http.MethodPost, "/auth/session/register", loginBody("ok-name", "short"))
	wantAPIError(t, r, v, http.StatusBadRequest, "invalid_password", "a short password")
	r, v = c.api(http.MethodPost, "/auth/session/register", `{"username":"pat2","password":"`+testPassword+`","password_confirm":"not the same"}`)
	wantAPIError(t, r, v, http.StatusBadRequest, "password_mismatch", "passwords that differ")

	var mu sync.Mutex
	calls := 0
	verify = func(hash []byte, password string) bool {
		mu.Lock()
		calls++
		mu.Unlock()
		return users.Verify(hash, password)
	}
	t.Cleanup(func() { verify = users.Verify })
	var bodies []string
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "pat", "a wrong password"},
		{"unknown name", "nobody-here", "a wrong password"},
		{"invalid name", "no such name!", "a wrong password"},
		{"locked account, right password", "pat", testPassword}, // locked by the wrong one and this one's predecessor
	} {
		if tc.name == "locked account, right password" {
			newClient(t).api(http.MethodPost, "/auth/session", loginBody("pat", "another wrong one")) // the second failure locks
		}
		mu.Lock()
		calls = 0
		mu.Unlock()
		r, v := newClient(t).api(http.MethodPost, "/auth/session", loginBody(tc.user, tc.password))
		wantAPIError(t, r, v, http.StatusUnauthorized, "invalid_credentials", tc.name)
		bodies = append(bodies, r.body)
		mu.Lock()
		if calls != 1 {
			t.Errorf("%s: %d bcrypt comparisons; want exactly 1", tc.name, calls)
		}
		mu.Unlock()
	}
	for _, b := range bodies[1:] {
		if b != bodies[0] {
			t.Fatalf("failed logins answer differently: %q vs %q", bodies[0], b)
		}
	}
	// The client's failures (counted by forms and API alike) reach
	// ip_limit: the next call is refused before any check.
	for i := 0; ; i++ {
		r, v = newClient(t).api(http.MethodPost, "/auth/session", loginBody("pat", "wrong"))
		if r.status == http.StatusTooManyRequests {
			break
		}
		if i == 10 {
			t.Fatalf("no 429 after 10 more failures: %d %v", r.status, v)
		}
	}
	if v["error"] != "throttled" || r.header.Get("Retry-After") == "" {
		t.Fatalf("throttled: %v, Retry-After %q", v, r.header.Get("Retry-After"))
	}
	if r := newClient(t).login("pat", "wrong", "/"); r.status != http.StatusTooManyRequests {
		t.Fatalf("a form login from the throttled client: %d; want 429", r.status)
	}
}

// TestAPIRegistrationFollowsTheMode: closed sites have no API
// registration either.
func TestAPIRegistrationFollowsTheMode(t *testing.T) {
	site(t, "session_auth /members/*", fileBackend().lines(t))
	r, v := newClient(t).api(http.MethodPost, "/auth/session/register", loginBody("zed", testPassword))
	wantAPIError(t, r, v, http.StatusNotFound, "registration_closed", "registration on a closed site")
}
