package sessionauth

// Rule 9: form bodies are size-limited; oversize, malformed or non-UTF-8
// input gets a 4xx, never a panic, and changes nothing.

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// sendOversize posts a body far over the limit. The server answers 413
// and closes the connection while the client may still be sending, so the
// client can see the reset before the answer: a reset counts as the
// refusal it is (the test then checks that nothing was created).
func sendOversize(t *testing.T, path string, hdr http.Header, body string) response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, baseURL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range hdr {
		req.Header[k] = vs
	}
	resp, err := oneShot.Do(req)
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

type bodyCase struct {
	name     string
	ctype    string // "" sends no Content-Type
	body     func(user string, ft formTicket) string
	want     int
	accepted bool // a control: the post goes through
}

// creds is an honest urlencoded body: a username, testPassword twice,
// and the form's valid token.
func creds(user string, ft formTicket) string {
	return url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}.Encode() + "&" + ft.field()
}

func multipartBody(user string, ft formTicket) string {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	_ = w.SetBoundary("formboundary")
	_ = w.WriteField("username", user)
	_ = w.WriteField("password", testPassword)
	_ = w.WriteField("password_confirm", testPassword)
	_ = w.WriteField(formTokenField, ft.token)
	_ = w.Close()
	return buf.String()
}

// padTo pads a form body with a junk field to exactly n bytes.
func padTo(body string, n int) string {
	body += "&pad="
	return body + strings.Repeat("a", n-len(body))
}

const urlEncoded = "application/x-www-form-urlencoded"

// Every malformed body carries valid credentials and a valid token, so that
// only its malformation can be why it is refused.
var bodyCases = []bodyCase{
	{"oversize", urlEncoded, func(u string, ft formTicket) string { return padTo(creds(u, ft), webform.MaxBytes+1) }, http.StatusRequestEntityTooLarge, false},
	{"far oversize", urlEncoded, func(u string, ft formTicket) string { return padTo(creds(u, ft), 1<<20) }, http.StatusRequestEntityTooLarge, false},
	{"bad percent-encoding in another field", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&junk=%zz" }, http.StatusBadRequest, false},
	{"bad percent-encoding in username", urlEncoded, func(u string, ft formTicket) string {
		return "password=" + url.QueryEscape(testPassword) + "&password_confirm=" + url.QueryEscape(testPassword) + "&" + ft.field() + "&username=" + u + "%zz"
	}, http.StatusBadRequest, false},
	{"truncated percent-encoding", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&junk=%f" }, http.StatusBadRequest, false},
	{"non-UTF-8 value", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&next=%2F%ff%fe" }, http.StatusBadRequest, false},
	{"non-UTF-8 key", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&%ff%fe=1" }, http.StatusBadRequest, false},
	{"multipart", "multipart/form-data; boundary=formboundary", multipartBody, http.StatusUnsupportedMediaType, false},
	{"no Content-Type", "", creds, http.StatusUnsupportedMediaType, false},
	{"text/plain", "text/plain", creds, http.StatusUnsupportedMediaType, false},
	{"JSON", "application/json", func(u string, ft formTicket) string {
		return `{"username":"` + u + `","password":"` + testPassword + `","password_confirm":"` + testPassword + `","` + formTokenField + `":"` + ft.token + `"}`
	}, http.StatusUnsupportedMediaType, false},
	{"unparsable Content-Type", "application/x-www-form-urlencoded;;;=", creds, http.StatusUnsupportedMediaType, false},
	{"username twice", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&username=" + u }, http.StatusBadRequest, false},
	{"password twice", urlEncoded, func(u string, ft formTicket) string {
		return creds(u, ft) + "&password=" + url.QueryEscape(testPassword)
	}, http.StatusBadRequest, false},
	{"next twice", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&next=/&next=/members/x" }, http.StatusBadRequest, false},
	{"token twice", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + "&" + ft.field() }, http.StatusBadRequest, false},
	{"semicolon separator", urlEncoded, func(u string, ft formTicket) string { return creds(u, ft) + ";junk=1" }, http.StatusBadRequest, false},
	// Controls: the same machinery accepts honest forms.
	{"control: charset parameter", "application/x-www-form-urlencoded; charset=UTF-8", creds, http.StatusSeeOther, true},
	{"control: exactly the size limit", urlEncoded, func(u string, ft formTicket) string { return padTo(creds(u, ft), webform.MaxBytes) }, http.StatusSeeOther, true},
}

func TestMalformedBodiesGet4xxAndChangeNothing(t *testing.T) {
	logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	// The login target: an existing account whose credentials every body carries.
	newClient(t).register("bodyuser", testPassword, "/")
	for i, tc := range bodyCases {
		t.Run(tc.name, func(t *testing.T) {
			post := func(path, user string) response {
				t.Helper()
				ft := openForm(t, path)
				hdr := ft.header("", false)
				hdr.Del("Content-Type")
				if tc.ctype != "" {
					hdr.Set("Content-Type", tc.ctype)
				}
				body := tc.body(user, ft)
				if len(body) > 4*webform.MaxBytes {
					return sendOversize(t, path, hdr, body)
				}
				return send(t, http.MethodPost, path, hdr, body)
			}
			// login
			r := post("/auth/login", "bodyuser")
			if r.status != tc.want {
				t.Fatalf("login: want %d, got %d %q", tc.want, r.status, clip(r.body))
			}
			if !tc.accepted && sessionCookie(r) != nil {
				t.Fatalf("login: a refused body set a session cookie")
			}
			// register
			user := fmt.Sprintf("body%d", i)
			r = post("/auth/register", user)
			if r.status != tc.want {
				t.Fatalf("register: want %d, got %d %q", tc.want, r.status, clip(r.body))
			}
			if !tc.accepted && sessionCookie(r) != nil {
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
