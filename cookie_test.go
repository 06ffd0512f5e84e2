package sessionauth

import (
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/gorilla/securecookie"
)

func TestCookieIsSecureOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	config := fmt.Sprintf(`{
	admin localhost:2999
	http_port 9080
	https_port 9443
	grace_period 1ns
	skip_install_trust
	local_certs
}

https://localhost:9443 {
	tls internal
	root * %s
	session_auth /members/* {
		registration open
		users_file %s
		sessions_dir %s
	}
	file_server
}
`, siteDir, filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions"))
	caddytest.NewTester(t).InitServer(onFreePorts(config), "caddyfile")
	if t.Failed() {
		t.FailNow()
	}
	hc := &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	// The internal CA issues the certificate in the background.
	eventually(t, "a certificate from the internal CA", func() bool {
		resp, err := hc.Get(httpsURL + "/auth/login")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	token := func(path string) string {
		resp, err := hc.Get(httpsURL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		m := tokenField.FindStringSubmatch(string(body))
		if m == nil {
			t.Fatalf("no form token at %s", path)
		}
		for _, ck := range resp.Cookies() {
			if strings.HasSuffix(ck.Name, "_csrf") && (ck.Name != "__Host-"+defaultCookieName+"_csrf" || !ck.Secure || !ck.HttpOnly || ck.Path != "/") {
				t.Fatalf("the form-token cookie over HTTPS must be __Host-, Secure, HttpOnly, Path=/: %+v", ck)
			}
		}
		return html.UnescapeString(m[1])
	}
	form := url.Values{"username": {"quinn"}, "password": {testPassword}, "password_confirm": {testPassword}, formTokenField: {token("/auth/register")}}
	req, _ := http.NewRequest(http.MethodPost, httpsURL+"/auth/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", httpsURL)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var cookies []*http.Cookie // the session cookie; the device cookie is checked with the others
	for _, ck := range resp.Cookies() {
		if !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || !strings.HasPrefix(ck.Name, "__Host-") {
			t.Fatalf("every cookie over HTTPS must be __Host-, Secure, HttpOnly, SameSite=Lax, Path=/: %+v", ck)
		}
		if ck.Name == "__Host-"+defaultCookieName {
			cookies = append(cookies, ck)
		}
	}
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("register over HTTPS: %d, %d session cookies", resp.StatusCode, len(cookies))
	}
	// Logout expires it with the same attributes, or the browser keeps it.
	logoutForm := url.Values{formTokenField: {token("/auth/logout")}}
	hc.Jar = nil // send exactly the cookies below
	req, _ = http.NewRequest(http.MethodPost, httpsURL+"/auth/logout", strings.NewReader(logoutForm.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", httpsURL)
	req.AddCookie(cookies[0])
	for _, ck := range jar.Cookies(req.URL) {
		if ck.Name != cookies[0].Name {
			req.AddCookie(ck)
		}
	}
	resp, err = hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	expired := resp.Cookies()
	if len(expired) != 1 || expired[0].MaxAge >= 0 || !expired[0].Secure || expired[0].Path != "/" || expired[0].Name != "__Host-"+defaultCookieName || !expired[0].HttpOnly {
		t.Fatalf("logout must expire the cookie with the same name, path and attributes: %+v", expired)
	}
}

func TestSessionCookieAttributes(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+fileBackend().lines(t))
	r := newClient(t).register("frank", testPassword, "/")
	ck := sessionCookie(r)
	if ck == nil {
		t.Fatalf("registration set no session cookie: %q", r.header.Values("Set-Cookie"))
	}
	if ck.Name != "caddy_session" || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" || ck.Secure {
		t.Fatalf("cookie attributes over plain HTTP: %+v", ck)
	}
	// 256 bits from crypto/rand in base32 are 52 characters.
	if id := sessionID(t, ck.Value); len(id) < 52 {
		t.Fatalf("session id %d characters long, want at least 52 (256 bits)", len(id))
	}
}

func withCookieHeader(h http.Header, value string) http.Header {
	h.Set("Cookie", defaultCookieName+"="+value)
	return h
}

func otherSecretCodecs() []securecookie.Codec {
	return codecsFor("another-secret-another-secret-another-secret")
}

func TestTamperedCookiesAreDenied(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\tsecret "+testSecret+"\n\t\t"+b.lines(t))
		owner := newClient(t)
		if r := owner.register("owner", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		valid := owner.cookie()
		id := sessionID(t, valid)
		otherSigned, err := securecookie.EncodeMulti(defaultCookieName, id, otherSecretCodecs()...)
		if err != nil {
			t.Fatal(err)
		}
		forged := []struct{ name, value string }{
			{"one character flipped", flip(valid)},
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
			{"the real id, unsigned", id},
		}
		for _, f := range forged {
			t.Run(f.name, func(t *testing.T) {
				// Each step is its own subtest, so one failure does not hide
				// how the others behave.
				t.Run("browser GET", func(t *testing.T) {
					r := send(t, http.MethodGet, "/members/x", withCookieHeader(http.Header{"Accept": {"text/html"}}, f.value), "")
					wantNo5xx(t, r, "browser GET")
					wantDenied(t, r, "browser GET")
					if r.status != http.StatusSeeOther {
						t.Fatalf("browser GET: want 303, got %d", r.status)
					}
				})
				t.Run("script GET", func(t *testing.T) {
					r := send(t, http.MethodGet, "/members/secret.txt", withCookieHeader(http.Header{"Accept": {"application/json"}}, f.value), "")
					wantNo5xx(t, r, "script GET")
					wantDenied(t, r, "script GET")
					if r.status != http.StatusUnauthorized {
						t.Fatalf("script GET: want 401, got %d", r.status)
					}
				})
				t.Run("public page", func(t *testing.T) {
					if r := send(t, http.MethodGet, "/greet.html", withCookieHeader(http.Header{}, f.value), ""); r.status != http.StatusOK || r.body != "hello " {
						t.Fatalf("public page with a forged cookie: want 200 %q, got %d %q", "hello ", r.status, clip(r.body))
					}
				})
				t.Run("logout page", func(t *testing.T) {
					if r := send(t, http.MethodGet, "/auth/logout", withCookieHeader(http.Header{}, f.value), ""); r.status != http.StatusOK || strings.Contains(r.body, "owner") {
						t.Fatalf("logout page with a forged cookie: want 200 without the user, got %d", r.status)
					}
				})
				t.Run("logout POST", func(t *testing.T) {
					ft := openForm(t, "/auth/logout")
					r := send(t, http.MethodPost, "/auth/logout", ft.header(f.value, true), ft.field())
					wantNo5xx(t, r, "logout with a forged cookie")
					if r.status != http.StatusSeeOther {
						t.Fatalf("logout with a forged cookie: want 303, got %d", r.status)
					}
				})
				t.Run("login POST", func(t *testing.T) {
					ft := openForm(t, "/auth/login")
					body := url.Values{"username": {"owner"}, "password": {testPassword}}.Encode() + "&" + ft.field()
					r := send(t, http.MethodPost, "/auth/login", ft.header(f.value, true), body)
					wantNo5xx(t, r, "login with a forged cookie")
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
