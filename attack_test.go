package sessionauth

// Attack regression suite: each test throws one class of hostile input at a
// real Caddy running the plugin and checks the contract's security rules
// (DESIGN.md, "Security rules" and "Protected requests").

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"

	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// atkFast keeps bcrypt at its lowest allowed cost so the many logins of this
// suite stay quick, and lifts the login throttles far out of the way: these
// tests send many attempts from one address on purpose, and the throttles
// have tests of their own (throttle_test.go). No rule under test depends on
// either setting.
const atkFast = "bcrypt_cost 10\n\t\tip_limit 100000 15m\n\t\taccount_limit 100000 15m"

// atkHTTP sends one request per connection, so no pooled connection from
// before a config reload is ever reused, and follows no redirects.
var atkHTTP = &http.Client{
	Timeout:   30 * time.Second,
	Transport: &http.Transport{DisableKeepAlives: true},
	CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	},
}

// atkSend sends one request with exactly the given headers (a Cookie header
// included, when given) and body; no cookie jar is involved.
func atkSend(t *testing.T, method, path string, hdr http.Header, body string) response {
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
	resp, err := atkHTTP.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// atkSendOversize posts a body far over the limit. The server answers 413
// and closes the connection while the client may still be sending, so the
// client can see the reset before the answer: a reset counts as the
// refusal it is (the test then checks that nothing was created).
func atkSendOversize(t *testing.T, path string, hdr http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := atkHTTP.Do(req)
	if err != nil {
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) {
			return response{status: http.StatusRequestEntityTooLarge, header: http.Header{}}
		}
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// atkRaw sends a request with the request-target exactly as given (no client
// path cleaning or re-escaping) over a fresh TCP connection.
func atkRaw(t *testing.T, method, target, accept, cookie string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", "localhost:9080", 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: localhost:9080\r\nConnection: close\r\n", method, target)
	if accept != "" {
		fmt.Fprintf(&b, "Accept: %s\r\n", accept)
	}
	if cookie != "" {
		fmt.Fprintf(&b, "Cookie: %s=%s\r\n", defaultCookieName, cookie)
	}
	b.WriteString("\r\n")
	if _, err := io.WriteString(conn, b.String()); err != nil {
		t.Fatalf("write %s: %v", target, err)
	}
	req, _ := http.NewRequest(method, baseURL, nil) // only tells ReadResponse about HEAD
	resp, err := http.ReadResponse(bufio.NewReader(conn), req)
	if err != nil {
		t.Fatalf("%s %q: reading the response: %v", method, target, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(body)}
}

// atkForm is the header set of a same-origin form post from a browser.
func atkForm() http.Header {
	return http.Header{
		"Content-Type":   {"application/x-www-form-urlencoded"},
		"Origin":         {baseURL},
		"Sec-Fetch-Site": {"same-origin"},
	}
}

func atkWithCookie(h http.Header, value string) http.Header {
	h.Set("Cookie", defaultCookieName+"="+value)
	return h
}

// atkSetsCookie tells whether a response sets (or expires) any cookie.
func atkSetsCookie(r response) bool { return len(r.header.Values("Set-Cookie")) > 0 }

// atkSetsSessionCookie tells whether a response sets the session cookie.
func atkSetsSessionCookie(r response) bool {
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == defaultCookieName {
			return true
		}
	}
	return false
}

var atkTokenRE = regexp.MustCompile(`name="` + formTokenField + `" value="([^"]*)"`)

// atkFormTicket is what a browser holds after opening a form page: the
// cookies the page set and the form's anti-forgery token, so that a
// hand-made post differs from an honest one only in what a test changes.
type atkFormTicket struct {
	cookies []*http.Cookie
	token   string
}

// atkOpenForm opens the form page at path in a fresh browser.
func atkOpenForm(t *testing.T, path string) atkFormTicket {
	t.Helper()
	r := atkSend(t, http.MethodGet, path, http.Header{"Accept": {"text/html"}}, "")
	m := atkTokenRE.FindStringSubmatch(r.body)
	if r.status != http.StatusOK || m == nil {
		t.Fatalf("GET %s: want a form with a token, got %d", path, r.status)
	}
	return atkFormTicket{(&http.Response{Header: r.header}).Cookies(), html.UnescapeString(m[1])}
}

// header returns a same-origin form post's headers carrying the ticket's
// cookies and, when withSession, the given session cookie.
func (ft atkFormTicket) header(session string, withSession bool) http.Header {
	h := atkForm()
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
func (ft atkFormTicket) field() string {
	return formTokenField + "=" + url.QueryEscape(ft.token)
}

// atkNo5xx fails the test on any server error: hostile input gets a 4xx.
func atkNo5xx(t *testing.T, r response, what string) {
	t.Helper()
	if r.status >= 500 {
		t.Fatalf("%s: got %d, want a non-5xx answer; body %q", what, r.status, atkClip(r.body))
	}
}

func atkClip(s string) string {
	if len(s) > 300 {
		return s[:300] + "…"
	}
	return s
}

var (
	atkErrorRE    = regexp.MustCompile(`(?s)<p class="error"[^>]*>(.*?)</p>`)
	atkNextRE     = regexp.MustCompile(`<input type="hidden" name="next" value="([^"]*)"`)
	atkUsernameRE = regexp.MustCompile(`<input id="username" name="username"[^>]*value="([^"]*)"`)
)

// atkErrorText is the text of the page's one error message ("" for none).
func atkErrorText(body string) string {
	m := atkErrorRE.FindStringSubmatch(body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// atkHiddenNext is the value of the form's hidden next field, or "<none>".
func atkHiddenNext(body string) string {
	m := atkNextRE.FindStringSubmatch(body)
	if m == nil {
		return "<none>"
	}
	return html.UnescapeString(m[1])
}

func atkUsernameValue(body string) (string, bool) {
	m := atkUsernameRE.FindStringSubmatch(body)
	if m == nil {
		return "", false
	}
	return html.UnescapeString(m[1]), true
}

// atkContainsSecretText tells whether a page shows s in any form a template
// could have written it.
func atkContainsSecretText(body, s string) bool {
	return strings.Contains(body, s) || strings.Contains(body, html.EscapeString(s)) ||
		strings.Contains(body, strings.ReplaceAll(html.EscapeString(s), "+", "&#43;"))
}

// atkStaysOnSite resolves a Location the way a browser does (surrounding
// spaces and controls trimmed, tabs and newlines removed, backslashes read
// as slashes) and tells whether it stays on the test site.
func atkStaysOnSite(loc string) bool {
	s := strings.TrimFunc(loc, func(r rune) bool { return r <= 0x20 })
	s = strings.NewReplacer("\t", "", "\n", "", "\r", "").Replace(s)
	s = strings.ReplaceAll(s, `\`, "/")
	base, _ := url.Parse(baseURL + "/auth/login")
	u, err := url.Parse(s)
	if err != nil {
		return false
	}
	abs := base.ResolveReference(u)
	return abs.Scheme == base.Scheme && abs.Host == base.Host && abs.User == nil
}

// ---------------------------------------------------------------------------
// Rule 7: next

// atkEither marks a payload that may be kept or sent home, as long as the
// browser-visible result stays on the site.
const atkEither = "<either>"

var atkNextPayloads = []struct {
	name, next, want string
}{
	{"protocol-relative", "//evil.com", "/"},
	{"slash backslash", `/\evil.com`, "/"},
	{"double backslash", `\\evil.com`, "/"},
	{"http URL", "http://evil.com", "/"},
	{"https without slashes", "https:evil.com", "/"},
	{"javascript", "javascript:alert(1)", "/"},
	{"encoded double slash", "/%2F%2Fevil.com", atkEither},
	{"tab", "/\t/evil.com", "/"},
	{"newline", "/\n/evil.com", "/"},
	{"carriage return", "/\r/evil.com", "/"},
	{"space", "/ /evil.com", atkEither},
	{"bare host", "evil.com", "/"},
	{"empty", "", "/"},
	{"very long", "/" + strings.Repeat("a", 2999), "/"},
	{"triple slash", "///evil.com", "/"},
	{"leading space", " //evil.com", "/"},
	{"user info", "/@evil.com", atkEither},
	{"dot then double slash", "/.//evil.com", atkEither},
	{"path with query", "/members/x?a=1", "/members/x?a=1"},
	{"root", "/", "/"},
}

// atkCheckNext checks one redirect answer against a payload's expectation.
func atkCheckNext(t *testing.T, loc, next, want string) {
	t.Helper()
	switch want {
	case atkEither:
		if loc != "/" && loc != next {
			t.Fatalf("next %q: Location %q, want %q or %q", next, loc, "/", next)
		}
	default:
		if loc != want {
			t.Fatalf("next %q: Location %q, want %q", next, loc, want)
		}
	}
	if !atkStaysOnSite(loc) {
		t.Fatalf("next %q: Location %q leaves the site in a browser", next, loc)
	}
}

func TestSafeNextAcceptsOnlySameSitePaths(t *testing.T) {
	extra := []struct{ name, next, want string }{
		{"backslash later", `/a\b`, "/"},
		{"DEL", "/a\x7f", "/"},
		{"NUL", "/a\x00", "/"},
		{"encoded backslash", "/%5Cevil.com", atkEither},
		{"encoded tab", "/%09/evil.com", atkEither},
		{"fullwidth solidus", "/\uff0fevil.com", atkEither},
		{"query with a URL", "/?next=//evil.com", "/?next=//evil.com"},
		{"fragment", "/a#b", "/a#b"},
		{"max length", "/" + strings.Repeat("a", webform.MaxNextLength-1), "/" + strings.Repeat("a", webform.MaxNextLength-1)},
		{"one over max length", "/" + strings.Repeat("a", webform.MaxNextLength), "/"},
		{"data URL", "data:text/html,<script>alert(1)</script>", "/"},
		{"mixed-case scheme", "JaVaScRiPt:alert(1)", "/"},
		{"scheme after slash", "/javascript:alert(1)", "/javascript:alert(1)"},
	}
	cases := append(append([]struct{ name, next, want string }{}, atkNextPayloads...), extra...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := webform.SafeNext(tc.next)
			atkCheckNext(t, got, tc.next, tc.want)
		})
	}
}

func TestOpenRedirectPayloadsGoHome(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("nextuser", testPassword, "/")

	t.Run("login", func(t *testing.T) {
		for _, tc := range atkNextPayloads {
			t.Run(tc.name, func(t *testing.T) {
				r := newClient(t).login("nextuser", testPassword, tc.next)
				if r.status != http.StatusSeeOther {
					t.Fatalf("login with next %q: want 303, got %d", tc.next, r.status)
				}
				atkCheckNext(t, r.header.Get("Location"), tc.next, tc.want)
			})
		}
	})
	t.Run("register", func(t *testing.T) {
		for i, tc := range atkNextPayloads {
			t.Run(tc.name, func(t *testing.T) {
				r := newClient(t).register(fmt.Sprintf("nextreg%d", i), testPassword, tc.next)
				if r.status != http.StatusSeeOther {
					t.Fatalf("register with next %q: want 303, got %d", tc.next, r.status)
				}
				atkCheckNext(t, r.header.Get("Location"), tc.next, tc.want)
			})
		}
	})
}

func TestLoginFormReflectsNextOnlyWhenSafe(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("reflect", testPassword, "/")
	for _, tc := range atkNextPayloads {
		t.Run(tc.name, func(t *testing.T) {
			for _, page := range []string{"/auth/login", "/auth/register"} {
				r := newClient(t).get(page + "?next=" + url.QueryEscape(tc.next))
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d", page, r.status)
				}
				atkCheckNext(t, atkHiddenNext(r.body), tc.next, tc.want)
			}
			// A failed login sends the form back with the same field.
			r := newClient(t).login("reflect", "wrong password!", tc.next)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("failed login: want 401, got %d", r.status)
			}
			atkCheckNext(t, atkHiddenNext(r.body), tc.next, tc.want)
			if strings.Contains(strings.ToLower(r.body), "evil.com") && tc.want == "/" {
				t.Fatalf("next %q: the refused target still appears in the page", tc.next)
			}
		})
	}
}

// ---------------------------------------------------------------------------
// Rule 8: cross-origin posts

var atkCrossOrigin = []struct {
	name string
	hdr  http.Header
}{
	{"foreign Origin", http.Header{"Origin": {"http://evil.example"}}},
	{"Sec-Fetch-Site cross-site", http.Header{"Sec-Fetch-Site": {"cross-site"}}},
	{"Origin null", http.Header{"Origin": {"null"}}},
	{"Sec-Fetch-Site same-site", http.Header{"Sec-Fetch-Site": {"same-site"}}},
	{"Origin on another port", http.Header{"Origin": {"http://localhost:9081"}}},
	{"Origin with our host as a prefix", http.Header{"Origin": {"http://localhost:9080.evil.example"}}},
	{"cross-site despite a matching Origin", http.Header{"Sec-Fetch-Site": {"cross-site"}, "Origin": {baseURL}}},
}

// atkPostWith posts a form with exactly the given extra headers (and the
// client's own cookie jar).
func atkPostWith(c *client, path string, form url.Values, extra http.Header) response {
	c.t.Helper()
	if _, set := form[formTokenField]; !set {
		// A valid token, so that only the headers under test differ
		// from an honest post.
		form.Set(formTokenField, c.formToken(path))
	}
	req, _ := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, vs := range extra {
		req.Header[k] = vs
	}
	return c.do(req)
}

func atkWantRefusedCrossOrigin(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusForbidden {
		t.Fatalf("%s: want 403, got %d", what, r.status)
	}
	if atkSetsCookie(r) {
		t.Fatalf("%s: a refused post set a cookie: %q", what, r.header.Values("Set-Cookie"))
	}
}

func TestCrossOriginPostsAreRefused(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+b.lines(t))
		newClient(t).register("victim", testPassword, "/")

		for i, tc := range atkCrossOrigin {
			t.Run(tc.name, func(t *testing.T) {
				// login
				c := newClient(t)
				r := atkPostWith(c, "/auth/login", url.Values{"username": {"victim"}, "password": {testPassword}, "next": {"/"}}, tc.hdr)
				atkWantRefusedCrossOrigin(t, r, "login")
				if c.cookie() != "" {
					t.Fatal("login: a refused post left a session cookie")
				}
				wantDenied(t, c.get("/members/x"), "after a refused login")

				// register
				user := fmt.Sprintf("csrf%d", i)
				r = atkPostWith(newClient(t), "/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}, tc.hdr)
				atkWantRefusedCrossOrigin(t, r, "register")
				if r := newClient(t).login(user, testPassword, "/"); r.status != http.StatusUnauthorized {
					t.Fatalf("register: a refused post created the account (login got %d)", r.status)
				}

				// logout
				v := newClient(t)
				if r := v.login("victim", testPassword, "/"); r.status != http.StatusSeeOther {
					t.Fatalf("victim login: %d", r.status)
				}
				r = atkPostWith(v, "/auth/logout", url.Values{}, tc.hdr)
				atkWantRefusedCrossOrigin(t, r, "logout")
				wantGranted(t, v.get("/members/x"), "the session after a refused logout")
			})
		}

		t.Run("same-origin controls", func(t *testing.T) {
			for _, ctl := range []struct {
				name string
				hdr  http.Header
			}{
				{"matching Origin", http.Header{"Origin": {baseURL}}},
				{"Sec-Fetch-Site same-origin", http.Header{"Sec-Fetch-Site": {"same-origin"}}},
				{"Sec-Fetch-Site none", http.Header{"Sec-Fetch-Site": {"none"}}},
				{"neither header (not a browser)", http.Header{}},
			} {
				c := newClient(t)
				r := atkPostWith(c, "/auth/login", url.Values{"username": {"victim"}, "password": {testPassword}}, ctl.hdr)
				if r.status != http.StatusSeeOther || c.cookie() == "" {
					t.Fatalf("%s: login want 303 with a cookie, got %d", ctl.name, r.status)
				}
				wantGranted(t, c.get("/members/x"), ctl.name)
				if r := atkPostWith(c, "/auth/logout", url.Values{}, ctl.hdr); r.status != http.StatusSeeOther {
					t.Fatalf("%s: logout want 303, got %d", ctl.name, r.status)
				}
				wantDenied(t, c.get("/members/x"), ctl.name+": after logout")
			}
			user := "sameorigin-" + b.name
			r := atkPostWith(newClient(t), "/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}, http.Header{"Origin": {baseURL}})
			if r.status != http.StatusSeeOther {
				t.Fatalf("register with a matching Origin: want 303, got %d", r.status)
			}
		})
	})
}

// ---------------------------------------------------------------------------
// Tampered and forged cookies

func atkOtherSecretCodecs() []securecookie.Codec {
	return codecsFor("another-secret-another-secret-another-secret")
}

// atkFlip changes one character in the middle of a cookie value.
func atkFlip(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestTamperedCookiesAreDenied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		owner := newClient(t)
		if r := owner.register("owner", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		valid := owner.cookie()
		id := sessionID(t, valid)
		otherSigned, err := securecookie.EncodeMulti(defaultCookieName, id, atkOtherSecretCodecs()...)
		if err != nil {
			t.Fatal(err)
		}
		forged := []struct{ name, value string }{
			{"one character flipped", atkFlip(valid)},
			{"truncated", valid[:len(valid)/2]},
			{"one character short", valid[:len(valid)-1]},
			{"junk appended", valid + "Zm9vYmFy"},
			{"5000 bytes", strings.Repeat("A", 5000)},
			{"1025 bytes (one over the codec's limit)", strings.Repeat("A", 1025)},
			{"1024 bytes (at the codec's limit)", strings.Repeat("A", 1024)},
			{"valid cookie padded past 1024 bytes", valid + strings.Repeat("A", 1025-len(valid))},
			{"empty", ""},
			{"signed with another secret", otherSigned},
			{"signed id without a record", signID(t, session.NewID())},
			{"signed path traversal id", signID(t, "../../../../../etc/passwd")},
			{"signed empty id", signID(t, "")},
			{"signed lower-cased real id", signID(t, strings.ToLower(id))},
			{"signed real id plus a character", signID(t, id+"A")},
		}
		for _, f := range forged {
			t.Run(f.name, func(t *testing.T) {
				// Each step is its own subtest, so one failure does not hide
				// how the others behave.
				t.Run("browser GET", func(t *testing.T) {
					r := atkSend(t, http.MethodGet, "/members/x", atkWithCookie(http.Header{"Accept": {"text/html"}}, f.value), "")
					atkNo5xx(t, r, "browser GET")
					wantDenied(t, r, "browser GET")
					if r.status != http.StatusSeeOther {
						t.Fatalf("browser GET: want 303, got %d", r.status)
					}
				})
				t.Run("script GET", func(t *testing.T) {
					r := atkSend(t, http.MethodGet, "/members/secret.txt", atkWithCookie(http.Header{"Accept": {"application/json"}}, f.value), "")
					atkNo5xx(t, r, "script GET")
					wantDenied(t, r, "script GET")
					if r.status != http.StatusUnauthorized {
						t.Fatalf("script GET: want 401, got %d", r.status)
					}
				})
				t.Run("public page", func(t *testing.T) {
					if r := atkSend(t, http.MethodGet, "/greet.html", atkWithCookie(http.Header{}, f.value), ""); r.status != http.StatusOK || r.body != "hello " {
						t.Fatalf("public page with a forged cookie: want 200 %q, got %d %q", "hello ", r.status, atkClip(r.body))
					}
				})
				t.Run("logout page", func(t *testing.T) {
					if r := atkSend(t, http.MethodGet, "/auth/logout", atkWithCookie(http.Header{}, f.value), ""); r.status != http.StatusOK || strings.Contains(r.body, "owner") {
						t.Fatalf("logout page with a forged cookie: want 200 without the user, got %d", r.status)
					}
				})
				t.Run("logout POST", func(t *testing.T) {
					ft := atkOpenForm(t, "/auth/logout")
					r := atkSend(t, http.MethodPost, "/auth/logout", ft.header(f.value, true), ft.field())
					atkNo5xx(t, r, "logout with a forged cookie")
					if r.status != http.StatusSeeOther {
						t.Fatalf("logout with a forged cookie: want 303, got %d", r.status)
					}
				})
				t.Run("login POST", func(t *testing.T) {
					ft := atkOpenForm(t, "/auth/login")
					body := url.Values{"username": {"owner"}, "password": {testPassword}}.Encode() + "&" + ft.field()
					r := atkSend(t, http.MethodPost, "/auth/login", ft.header(f.value, true), body)
					atkNo5xx(t, r, "login with a forged cookie")
					if r.status != http.StatusSeeOther {
						t.Fatalf("login with a forged cookie: want 303, got %d", r.status)
					}
					for _, ck := range (&http.Response{Header: r.header}).Cookies() {
						if ck.Name == defaultCookieName && ck.Value == f.value {
							t.Fatal("login handed back the forged cookie")
						}
					}
				})
			})
		}
		// None of the forgeries touched the real session.
		wantGranted(t, withCookie(t, valid).get("/members/x"), "the real cookie after the forgeries")
		// A forged cookie is the client's fault, never reported to the
		// operator as a backend outage.
		data, _ := os.ReadFile(logFile)
		for _, line := range strings.Split(string(data), "\n") {
			if strings.Contains(line, "backend unavailable") {
				t.Errorf("a forged cookie was logged as a backend outage:\n%s", line)
				break
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Rule 9: form bodies

type atkBodyCase struct {
	name     string
	ctype    string // "" sends no Content-Type
	body     func(user string, ft atkFormTicket) string
	want     int
	accepted bool // a control: the post goes through
}

// atkCreds is an honest urlencoded body: a username, testPassword twice,
// and the form's valid token.
func atkCreds(user string, ft atkFormTicket) string {
	return url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}.Encode() + "&" + ft.field()
}

func atkMultipart(user string, ft atkFormTicket) string {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary("atkboundary")
	_ = w.WriteField("username", user)
	_ = w.WriteField("password", testPassword)
	_ = w.WriteField("password_confirm", testPassword)
	_ = w.WriteField(formTokenField, ft.token)
	_ = w.Close()
	return buf.String()
}

// atkPadTo pads a form body with a junk field to exactly n bytes.
func atkPadTo(body string, n int) string {
	body += "&pad="
	return body + strings.Repeat("a", n-len(body))
}

const atkURLEncoded = "application/x-www-form-urlencoded"

// Every malformed body carries valid credentials and a valid token, so that
// only its malformation can be why it is refused.
var atkBodyCases = []atkBodyCase{
	{"oversize", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkPadTo(atkCreds(u, ft), webform.MaxBytes+1) }, http.StatusRequestEntityTooLarge, false},
	{"far oversize", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkPadTo(atkCreds(u, ft), 1<<20) }, http.StatusRequestEntityTooLarge, false},
	{"bad percent-encoding in another field", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&junk=%zz" }, http.StatusBadRequest, false},
	{"bad percent-encoding in username", atkURLEncoded, func(u string, ft atkFormTicket) string {
		return "password=" + url.QueryEscape(testPassword) + "&password_confirm=" + url.QueryEscape(testPassword) + "&" + ft.field() + "&username=" + u + "%zz"
	}, http.StatusBadRequest, false},
	{"truncated percent-encoding", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&junk=%f" }, http.StatusBadRequest, false},
	{"non-UTF-8 value", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&next=%2F%ff%fe" }, http.StatusBadRequest, false},
	{"non-UTF-8 key", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&%ff%fe=1" }, http.StatusBadRequest, false},
	{"multipart", "multipart/form-data; boundary=atkboundary", atkMultipart, http.StatusUnsupportedMediaType, false},
	{"no Content-Type", "", atkCreds, http.StatusUnsupportedMediaType, false},
	{"text/plain", "text/plain", atkCreds, http.StatusUnsupportedMediaType, false},
	{"JSON", "application/json", func(u string, ft atkFormTicket) string {
		return `{"username":"` + u + `","password":"` + testPassword + `","password_confirm":"` + testPassword + `","` + formTokenField + `":"` + ft.token + `"}`
	}, http.StatusUnsupportedMediaType, false},
	{"unparsable Content-Type", "application/x-www-form-urlencoded;;;=", atkCreds, http.StatusUnsupportedMediaType, false},
	{"username twice", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&username=" + u }, http.StatusBadRequest, false},
	{"password twice", atkURLEncoded, func(u string, ft atkFormTicket) string {
		return atkCreds(u, ft) + "&password=" + url.QueryEscape(testPassword)
	}, http.StatusBadRequest, false},
	{"next twice", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&next=/&next=/members/x" }, http.StatusBadRequest, false},
	{"token twice", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + "&" + ft.field() }, http.StatusBadRequest, false},
	{"semicolon separator", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkCreds(u, ft) + ";junk=1" }, http.StatusBadRequest, false},
	// Controls: the same machinery accepts honest forms.
	{"control: charset parameter", "application/x-www-form-urlencoded; charset=UTF-8", atkCreds, http.StatusSeeOther, true},
	{"control: exactly the size limit", atkURLEncoded, func(u string, ft atkFormTicket) string { return atkPadTo(atkCreds(u, ft), webform.MaxBytes) }, http.StatusSeeOther, true},
}

func TestMalformedBodiesGet4xxAndChangeNothing(t *testing.T) {
	logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	// The login target: an existing account whose credentials every body carries.
	newClient(t).register("bodyuser", testPassword, "/")
	for i, tc := range atkBodyCases {
		t.Run(tc.name, func(t *testing.T) {
			post := func(path, user string) response {
				t.Helper()
				ft := atkOpenForm(t, path)
				hdr := ft.header("", false)
				hdr.Del("Content-Type")
				if tc.ctype != "" {
					hdr.Set("Content-Type", tc.ctype)
				}
				body := tc.body(user, ft)
				if len(body) > 4*webform.MaxBytes {
					return atkSendOversize(t, path, hdr, body)
				}
				return atkSend(t, http.MethodPost, path, hdr, body)
			}
			// login
			r := post("/auth/login", "bodyuser")
			if r.status != tc.want {
				t.Fatalf("login: want %d, got %d %q", tc.want, r.status, atkClip(r.body))
			}
			if !tc.accepted && atkSetsSessionCookie(r) {
				t.Fatalf("login: a refused body set a session cookie")
			}
			// register
			user := fmt.Sprintf("body%d", i)
			r = post("/auth/register", user)
			if r.status != tc.want {
				t.Fatalf("register: want %d, got %d %q", tc.want, r.status, atkClip(r.body))
			}
			if !tc.accepted && atkSetsSessionCookie(r) {
				t.Fatalf("register: a refused body set a session cookie")
			}
			later := newClient(t).login(user, testPassword, "/")
			switch {
			case tc.accepted && later.status != http.StatusSeeOther:
				t.Fatalf("control: the account was not created (login %d)", later.status)
			case !tc.accepted && later.status != http.StatusUnauthorized:
				t.Fatalf("a refused body created the account (login %d)", later.status)
			}
		})
	}
	if data, err := os.ReadFile(logFile); err == nil && bytes.Contains(bytes.ToLower(data), []byte("panic")) {
		t.Fatal("the log mentions a panic")
	}
}

// ---------------------------------------------------------------------------
// Protected requests: path normalisation

type atkPathTrick struct {
	target string
	served bool // a logged-in client gets the protected content through it
}

// atkCheckPathTricks sends each trick raw, once with the logged-in control
// cookie and twice without a session (browser and script).
func atkCheckPathTricks(t *testing.T, cookie string, tricks []atkPathTrick, leaks ...string) {
	for _, tc := range tricks {
		t.Run(tc.target, func(t *testing.T) {
			in := atkRaw(t, http.MethodGet, tc.target, "text/html", cookie)
			t.Logf("logged in: %d", in.status)
			if tc.served {
				found := false
				for _, l := range leaks {
					found = found || strings.Contains(in.body, l)
				}
				if in.status != http.StatusOK || !found {
					t.Fatalf("control: a logged-in client should get the content through %q, got %d %q", tc.target, in.status, atkClip(in.body))
				}
			}
			for _, accept := range []string{"text/html", "application/json", ""} {
				out := atkRaw(t, http.MethodGet, tc.target, accept, "")
				for _, l := range leaks {
					if strings.Contains(out.body, l) {
						t.Fatalf("no session, Accept %q: %q served protected content (%d): %q", accept, tc.target, out.status, atkClip(out.body))
					}
				}
				if out.status == http.StatusOK {
					t.Fatalf("no session, Accept %q: %q answered 200", accept, tc.target)
				}
				atkNo5xx(t, out, tc.target)
			}
		})
	}
}

func TestPathTricksNeverReachProtectedContent(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("pathuser", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "control")
	atkCheckPathTricks(t, c.cookie(), []atkPathTrick{
		{"/members/x", true},
		{"/members/../members/x", true},
		{"//members/x", true},
		{"///members/x", true},
		{"/MEMBERS/x", false},
		{"/Members/secret.txt", false},
		{"/%6Dembers/x", true},
		{"/%6dembers/secret.txt", true},
		{"/members%2fx", true},
		{"/members%2Fsecret.txt", true},
		{"/./members/x", true},
		{"/members/./x", true},
		{"/members//x", true},
		{"/%2e/members/x", true},
		{"/auth/../members/x", true},
		{"/auth/%2e%2e/members/x", true},
		{"/auth/..%2fmembers/x", true},
		{"/auth/login/../../members/x", true},
		{"/public.txt/../members/x", true},
		{"/x/../members/secret.txt", true},
		{"/members", false},
		{"/members/", true},
		{"/members/index.html", true},
		{"http://localhost:9080/members/x", true},
		{"http://localhost:9080//members/x", true},
	}, "SECRET")
}

func TestPathTricksNeverReachContentWhenWholeSiteIsProtected(t *testing.T) {
	site(t, "session_auth", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("siteuser", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "control")
	atkCheckPathTricks(t, c.cookie(), []atkPathTrick{
		{"/members/../members/x", true},
		{"//members/x", true},
		{"/%6Dembers/x", true},
		{"/members%2fx", true},
		{"/./members/x", true},
		{"/auth/../members/x", true},
		{"/auth/%2e%2e/members/x", true},
		{"/auth/..%2fmembers/x", true},
		{"/auth/%2e%2e/public.txt", true},
		{"/auth/../public.txt", true},
		{"/auth/style.css/../../public.txt", true},
		{"/auth/login/../../public.txt", true},
		{"//auth/../public.txt", true},
		{"/AUTH/../public.txt", true},
		{"/auth-decoy/index.txt", true},
		{"/auth/../auth-decoy/index.txt", true},
		{"/public.txt", true},
		{"/", true},
		{"/index.html", true},
	}, "SECRET", "public text", "public home", "decoy")
}

func TestEveryMethodIsGated(t *testing.T) {
	site(t, "session_auth /members/*", fileBackend().lines(t))
	for _, m := range []string{"GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "PROPFIND", "get", "FOO"} {
		t.Run(m, func(t *testing.T) {
			r := atkRaw(t, m, "/members/secret.txt", "application/json", "")
			if strings.Contains(r.body, "SECRET") || r.status < 300 {
				t.Fatalf("%s without a session: %d %q", m, r.status, atkClip(r.body))
			}
			atkNo5xx(t, r, m)
		})
	}
}

// ---------------------------------------------------------------------------
// Rule 6: passwords

func TestPasswordRulesAtRegistrationAndLogin(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	if r := newClient(t).register("alice", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register alice: %d", r.status)
	}

	ascii72 := strings.Repeat("p", 72)
	ascii73 := ascii72 + "q"
	cjk25 := strings.Repeat("語", 25)
	emoji30 := "🙂🔒äöüßé" + "abcdefghijklmnopqrstuvw" // 30 characters, 41 bytes
	if n := utf8.RuneCountInString(emoji30); n != 30 || len(emoji30) > 72 {
		t.Fatalf("fixture: %d characters, %d bytes", n, len(emoji30))
	}
	if len(cjk25) != 75 || utf8.RuneCountInString(cjk25) != 25 {
		t.Fatal("fixture: cjk25")
	}

	refused := []struct {
		name, user, password, confirm string
		status                        int
		mention                       string // in the error message
	}{
		{"7 characters", "short7", "abcdefg", "abcdefg", 400, "8"},
		{"7 emoji (28 bytes)", "emoji7", strings.Repeat("😀", 7), strings.Repeat("😀", 7), 400, "8"},
		{"73 ASCII bytes", "long73", ascii73, ascii73, 400, "72 bytes"},
		{"25 CJK characters (75 bytes)", "cjk25", cjk25, cjk25, 400, "72 bytes"},
		{"1000 bytes", "long1000", strings.Repeat("x", 1000), strings.Repeat("x", 1000), 400, "72 bytes"},
		{"NUL byte", "nulpw", "abcdefgh\x00ij", "abcdefgh\x00ij", 400, ""},
		{"confirm mismatch", "mismatch", "first password", "second password", 400, ""},
		{"name taken, capitals", "Alice", "another password", "another password", 409, "taken"},
		{"name taken, trailing space", "alice ", "another password", "another password", 409, "taken"},
		{"name taken, both", " ALICE ", "another password", "another password", 409, "taken"},
		{"name with a space", "bad name", "valid password", "valid password", 400, ""},
		{"name with a slash", "a/b", "valid password", "valid password", 400, ""},
		{"name with markup", `<b>x</b>"`, "valid password", "valid password", 400, ""},
		{"empty name", "", "valid password", "valid password", 400, ""},
	}
	for _, tc := range refused {
		t.Run("register/"+tc.name, func(t *testing.T) {
			c := newClient(t)
			r := c.post("/auth/register", url.Values{"username": {tc.user}, "password": {tc.password}, "password_confirm": {tc.confirm}, "next": {"/members/x"}})
			if r.status != tc.status {
				t.Fatalf("want %d, got %d %q", tc.status, r.status, atkErrorText(r.body))
			}
			msg := atkErrorText(r.body)
			if msg == "" || !strings.Contains(msg, tc.mention) {
				t.Fatalf("error message %q should mention %q", msg, tc.mention)
			}
			if !strings.Contains(r.body, `name="password_confirm"`) {
				t.Fatal("the registration form did not come back")
			}
			if got, ok := atkUsernameValue(r.body); !ok || got != tc.user {
				t.Fatalf("the form kept username %q (found %v), want %q", got, ok, tc.user)
			}
			for _, pw := range []string{tc.password, tc.confirm} {
				if atkContainsSecretText(r.body, pw) {
					t.Fatalf("the form came back with the password %q in it", pw)
				}
			}
			if atkSetsSessionCookie(r) || c.cookie() != "" {
				t.Fatal("a refused registration set a session cookie")
			}
			if atkHiddenNext(r.body) != "/members/x" {
				t.Fatalf("the form lost next: %q", atkHiddenNext(r.body))
			}
			// No account was created, under any spelling, with any prefix
			// of the password.
			if tc.status == http.StatusBadRequest && tc.user != "" && !strings.ContainsAny(tc.user, " /<") {
				for _, pw := range []string{tc.password, tc.confirm, atkFirst72(tc.password)} {
					if r := newClient(t).login(tc.user, pw, "/"); r.status != http.StatusUnauthorized {
						t.Fatalf("login after a refused registration: want 401, got %d", r.status)
					}
				}
			}
		})
	}
	if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the original alice must still log in: %d", r.status)
	}
	if r := newClient(t).login("alice", "another password", "/"); r.status != http.StatusUnauthorized {
		t.Fatalf("a 409 must not change alice's password: %d", r.status)
	}

	accepted := []struct{ name, user, password string }{
		{"30 Unicode characters with emoji", "unicode", emoji30},
		{"exactly 72 bytes", "exact72", ascii72},
		{"8 two-byte characters", "umlaut8", strings.Repeat("ä", 8)},
		{"24 CJK characters (72 bytes)", "cjk24", strings.Repeat("語", 24)},
	}
	for _, tc := range accepted {
		t.Run("register/"+tc.name, func(t *testing.T) {
			c := newClient(t)
			if r := c.register(tc.user, tc.password, "/members/x"); r.status != http.StatusSeeOther || c.cookie() == "" {
				t.Fatalf("register: want 303 with a session, got %d %q", r.status, atkErrorText(r.body))
			}
			wantGranted(t, c.get("/members/x"), "after registering")
			c.logout()
			if r := c.login(tc.user, tc.password, "/"); r.status != http.StatusSeeOther {
				t.Fatalf("login: want 303, got %d", r.status)
			}
			wantGranted(t, c.get("/members/x"), "after login")
		})
	}

	// At login, an over-long password is an ordinary failure: in particular
	// one that starts with the real 72 bytes must not be accepted.
	generic := atkErrorText(newClient(t).login("alice", "wrong password", "/").body)
	for _, tc := range []struct{ name, user, password string }{
		{"73 bytes, real 72-byte prefix", "exact72", ascii72 + "x"},
		{"73 bytes", "alice", ascii73},
		{"25 CJK characters", "alice", cjk25},
		{"10000 bytes", "alice", strings.Repeat("z", 10000)},
		{"real password plus one byte", "alice", testPassword + strings.Repeat("!", 73-len(testPassword))},
	} {
		t.Run("login/"+tc.name, func(t *testing.T) {
			r := newClient(t).login(tc.user, tc.password, "/")
			atkNo5xx(t, r, "login")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("want 401, got %d", r.status)
			}
			if msg := atkErrorText(r.body); msg != generic {
				t.Fatalf("want the generic message %q, got %q", generic, msg)
			}
			if atkContainsSecretText(r.body, tc.password) {
				t.Fatal("the login form came back with the password in it")
			}
		})
	}
}

func atkFirst72(s string) string {
	if len(s) > 72 {
		return s[:72]
	}
	return s
}

// ---------------------------------------------------------------------------
// Rule 5: one generic failure

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+b.lines(t))
		newClient(t).register("gina", testPassword, "/")

		type attempt struct{ name, user, password string }
		attempts := []attempt{
			{"wrong password", "gina", "not her password"},
			{"unknown user", "nobody", "not her password"},
			{"unknown user, right password", "nobody", testPassword},
			{"invalid username", "a/b", "not her password"},
			{"empty password", "gina", ""},
			{"over-long password", "gina", strings.Repeat("x", 100)},
		}
		var first response
		var firstUser string
		for i, a := range attempts {
			r := newClient(t).login(a.user, a.password, "/")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("%s: want 401, got %d", a.name, r.status)
			}
			msg := atkErrorText(r.body)
			if msg == "" {
				t.Fatalf("%s: no error message", a.name)
			}
			if i == 0 {
				first, firstUser = r, a.user
				continue
			}
			if want := atkErrorText(first.body); msg != want {
				t.Fatalf("%s: message %q differs from %q", a.name, msg, want)
			}
			// The whole page is the same but for the username typed back
			// and the form token, which is per browser.
			got := atkTokenRE.ReplaceAllString(strings.ReplaceAll(r.body, `value="`+html.EscapeString(a.user)+`"`, `value="USER"`), "TOKEN")
			want := atkTokenRE.ReplaceAllString(strings.ReplaceAll(first.body, `value="`+firstUser+`"`, `value="USER"`), "TOKEN")
			if got != want {
				t.Fatalf("%s: the page differs from the wrong-password page:\n%s\n---\n%s", a.name, got, want)
			}
			if atkSetsSessionCookie(r) {
				t.Fatalf("%s: a failed login set a cookie", a.name)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Rule 13: no secret, password or session id in logs or pages

// atkReadLog waits until the log holds a line containing want, then returns it all.
func atkReadLog(t *testing.T, logFile, want string) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		data, _ := os.ReadFile(logFile)
		if strings.Contains(string(data), want) || time.Now().After(deadline) {
			return string(data)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestSecretsNeverLoggedOrShown(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		const (
			regPassword   = "Reg1stration-PW-henry"
			wrongPassword = "Wr0ng-PW-for-henry"
		)
		var pages []response
		keep := func(r response) response { pages = append(pages, r); return r }
		var cookies []string

		c := newClient(t)
		if r := keep(c.register("henry", regPassword, "/")); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		// Refused registrations (mismatch, taken name) with passwords in them.
		keep(newClient(t).post("/auth/register", url.Values{"username": {"henry2"}, "password": {wrongPassword}, "password_confirm": {regPassword}}))
		keep(newClient(t).register("henry", wrongPassword, "/"))

		if r := keep(newClient(t).login("henry", wrongPassword, "/")); r.status != http.StatusUnauthorized {
			t.Fatalf("failed login: %d", r.status)
		}
		if r := keep(newClient(t).login("nosuchuser", regPassword, "/")); r.status != http.StatusUnauthorized {
			t.Fatalf("unknown user: %d", r.status)
		}
		if r := keep(c.login("henry", regPassword, "/members/x")); r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		wantGranted(t, keep(c.get("/members/x")), "logged in")
		keep(c.get("/auth/logout"))
		tampered := atkFlip(c.cookie())
		wantDenied(t, keep(withCookie(t, tampered).get("/members/x")), "tampered cookie")
		wantDenied(t, keep(withCookie(t, tampered).getAPI("/members/x")), "tampered cookie, script")
		wantDenied(t, keep(withCookie(t, cookies[0]).getAPI("/members/x")), "retired cookie")
		if r := keep(c.logout()); r.status != http.StatusSeeOther {
			t.Fatalf("logout: %d", r.status)
		}
		wantDenied(t, keep(withCookie(t, cookies[1]).getAPI("/members/x")), "logged-out cookie")

		// An expired session.
		if r := keep(c.login("henry", regPassword, "/")); r.status != http.StatusSeeOther {
			t.Fatalf("login again: %d", r.status)
		}
		cookies = append(cookies, c.cookie())
		clockSkew.Store(int64(25 * time.Hour))
		wantDenied(t, keep(c.getAPI("/members/x")), "expired session")
		wantDenied(t, keep(c.get("/members/x")), "expired session, browser")
		clockSkew.Store(0)

		for _, p := range pages {
			for _, pw := range []string{regPassword, wrongPassword} {
				if atkContainsSecretText(p.body, pw) {
					t.Fatalf("a page (%d) shows a password: %q", p.status, atkClip(p.body))
				}
			}
			if strings.Contains(p.body, testSecret) {
				t.Fatal("a page shows the secret")
			}
		}

		logText := atkReadLog(t, logFile, "login failed")
		if !strings.Contains(logText, "login failed") {
			t.Fatal("the log never got the failed login; is it being written?")
		}
		secrets := map[string]string{
			"the secret":              testSecret,
			"the registered password": regPassword,
			"the wrong password":      wrongPassword,
			"a tampered cookie":       tampered,
		}
		for i, ck := range cookies {
			secrets[fmt.Sprintf("cookie %d", i)] = ck
			secrets[fmt.Sprintf("session id %d", i)] = sessionID(t, ck)
		}
		for what, s := range secrets {
			if s == "" {
				t.Fatalf("fixture: %s is empty", what)
			}
			if strings.Contains(logText, s) {
				for _, line := range strings.Split(logText, "\n") {
					if strings.Contains(line, s) {
						t.Errorf("the log contains %s:\n%s", what, line)
						break
					}
				}
			}
			// Also a URL- or JSON-escaped copy.
			if e := url.QueryEscape(s); e != s && strings.Contains(logText, e) {
				t.Errorf("the log contains %s, URL-escaped", what)
			}
		}
	})
}

// ---------------------------------------------------------------------------
// Rule 10: client IPs come from Caddy, not from X-Forwarded-For

// atkLogLines returns the JSON log lines whose msg is msg.
func atkLogLines(t *testing.T, logText, msg string) []map[string]any {
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
	logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+atkFast+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("ipuser", testPassword, "/")
	spoof := http.Header{
		"X-Forwarded-For": {"203.0.113.9"},
		"X-Real-Ip":       {"203.0.113.10"},
		"Forwarded":       {"for=203.0.113.11"},
	}
	if r := atkPostWith(newClient(t), "/auth/login", url.Values{"username": {"ipuser"}, "password": {"wrong password"}}, spoof); r.status != http.StatusUnauthorized {
		t.Fatalf("failed login: %d", r.status)
	}
	if r := atkPostWith(newClient(t), "/auth/login", url.Values{"username": {"ipuser"}, "password": {testPassword}}, spoof); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	crossHdr := spoof.Clone()
	crossHdr.Set("Origin", "http://evil.example")
	if r := atkPostWith(newClient(t), "/auth/login", url.Values{"username": {"ipuser"}, "password": {testPassword}}, crossHdr); r.status != http.StatusForbidden {
		t.Fatalf("cross-origin login: %d", r.status)
	}

	logText := atkReadLog(t, logFile, "cross-origin form post refused")
	for _, msg := range []string{"login failed", "login", "cross-origin form post refused"} {
		lines := atkLogLines(t, logText, msg)
		if len(lines) == 0 {
			t.Fatalf("no %q line in the log", msg)
		}
		for _, l := range lines {
			if msg != "cross-origin form post refused" && l["username"] != "ipuser" {
				continue
			}
			ip, _ := l["client_ip"].(string)
			if ip != "127.0.0.1" && ip != "::1" {
				t.Fatalf("%q logged client_ip %q, want the connection's address (127.0.0.1 or ::1)", msg, ip)
			}
		}
	}
	for _, spoofed := range []string{"203.0.113.9", "203.0.113.10", "203.0.113.11"} {
		for _, l := range append(atkLogLines(t, logText, "login failed"), atkLogLines(t, logText, "login")...) {
			if strings.Contains(fmt.Sprint(l["client_ip"]), spoofed) {
				t.Fatalf("a spoofed address %s was logged as the client IP", spoofed)
			}
		}
	}
}
