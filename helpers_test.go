package sessionauth

// Helpers shared by the integration tests beyond those of caddy_test.go:
// hand-made requests that bypass the client's cookie jar, the forms such a
// request needs, what a page or the log shows, and the plugin's clock.

import (
	"html"
	"io"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// unthrottled keeps bcrypt at its lowest cost so the many logins of this
// suite stay quick, and lifts the login throttles far out of the way: these
// tests send many attempts from one address on purpose, and the throttles
// have tests of their own (throttle_test.go). No rule under test depends on
// either setting.
const unthrottled = "bcrypt_cost 4\n\t\tip_limit 100000 15m\n\t\taccount_limit 100000 15m"

// oneShot sends one request per connection, so no pooled connection from
// before a config reload is ever reused, and follows no redirects.
var oneShot = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// send sends one request with exactly the given headers (a Cookie header
// included, when given) and body; no cookie jar is involved.
func send(t *testing.T, method, path string, hdr http.Header, body string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, baseURL+path, rd)
	if err != nil {
		t.Fatalf("building %s %s: %v", method, path, err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := oneShot.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// formHeader is the header set of a same-origin form post from a browser.
func formHeader() http.Header {
	return http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Origin":         {baseURL},
		"Sec-Fetch-Site": {"same-origin"},
	}
}

// formTicket is what a browser holds after opening a form page: the
// cookies the page set and the form's anti-forgery token, so that a
// hand-made post differs from an honest one only in what a test changes.
type formTicket struct {
	cookies []*http.Cookie
	token   string
}

// openForm opens the form page at path in a fresh browser.
func openForm(t *testing.T, path string) formTicket {
	t.Helper()
	r := send(t, http.MethodGet, path, http.Header{"Accept": {"text/html"}}, "")
	m := tokenField.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("GET %s: want a form with a token, got %d", path, r.status)
	}
	return formTicket{(&http.Response{Header: r.header}).Cookies(), html.UnescapeString(m[1])}
}

// header returns a same-origin form post's headers carrying the ticket's
// cookies and, when withSession, the given session cookie.
func (ft formTicket) header(session string, withSession bool) http.Header {
	h := formHeader()
	var parts []string
	if withSession {
		parts = append(parts, defaultCookieName+"="+session)
	}
	for _, ck := range ft.cookies {
		parts = append(parts, ck.Name+"="+ck.Value)
	}
	if len(parts) > 0 {
		h.Set("Cookie", strings.Join(parts, "; "))
	}
	return h
}

// field is the token as a urlencoded field, for a hand-made body.
func (ft formTicket) field() string {
	return formTokenField + "=" + url.QueryEscape(ft.token)
}

// sessionCookie is the session cookie a response sets, or nil.
func sessionCookie(r response) *http.Cookie {
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == defaultCookieName {
			return ck
		}
	}
	return nil
}

// wantNo5xx fails the test on any server error: hostile input gets a 4xx.
func wantNo5xx(t *testing.T, r response, what string) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: got %d, want a non-5xx answer; body %q", what, r.status, clip(r.body))
	}
}

func clip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

var (
	errorRE    = regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`)
	nextRE     = regexp.MustCompile(`<input type="hidden" name="next" value="([^"]*)"`)
	usernameRE = regexp.MustCompile(`<input id="username" name="username"[^>]*value="([^"]*)"`)
)

// errorText is the text of the page's one error message ("" for none).
func errorText(body string) string {
	m := errorRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// hiddenNext is the value of the form's hidden next field, or "<none>".
func hiddenNext(body string) string {
	m := nextRE.FindStringSubmatch(body)
	if m == nil {
		return "<none>"
	}
	return html.UnescapeString(m[1])
}

// usernameValue is the username a form came back with, if it has the field.
func usernameValue(body string) (string, bool) {
	m := usernameRE.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// containsSecretText tells whether a page shows s in any form a template
// could have written it.
func containsSecretText(body, s string) bool {
	return strings.Contains(body, s) || strings.Contains(body, html.EscapeString(s)) ||
		strings.Contains(body, strings.ReplaceAll(html.EscapeString(s), "+", "&#43;"))
}

// flip changes one character in the middle of a cookie value.
func flip(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

// readLog waits until the log holds a line containing want, then returns it
// all (or what it holds after patience, for the caller to judge).
func readLog(t *testing.T, logFile, want string) string {
	t.Helper()
	deadline := time.Now().Add(patience)
	for {
		data, _ := os.ReadFile(logFile)
		if strings.Contains(string(data), want) || time.Now().After(deadline) {
			return string(data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// advance moves the plugin's clock; the stores' own TTLs keep real time,
// so a record is still there when the server must refuse it by its times.
func advance(d time.Duration) { clockSkew.Add(int64(d)) }

// patience is how long a test waits for something that must happen by
// itself: far longer than it takes, so that a loaded machine never fails a
// test that a quiet one passes; only a broken rule waits it out.
const patience = time.Minute

// eventually retries until ok, for a service that must come back by itself.
func eventually(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v", what, patience)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// realBcrypt puts bcrypt's floor back at its production value for one test
// about the cost itself (TestMain lowers it for every other test).
func realBcrypt(t *testing.T) {
	t.Helper()
	bcryptfloor.Cost = users.MinBcryptCost
	t.Cleanup(func() { bcryptfloor.Cost = bcrypt.MinCost })
}
