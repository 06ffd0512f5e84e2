package sessionauth

import (
	"context"
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/securecookie"
)

// setCookieLine is the raw Set-Cookie line a response sets for name, or "".
// Raw, because the parsed form cannot tell "no Max-Age" from "Max-Age=0".
func setCookieLine(h http.Header, name string) string {
	for _, line := range h.Values("Set-Cookie") {
		if strings.HasPrefix(line, name+"=") {
			return line
		}
	}
	return ""
}

// wantBrowserSessionCookie asserts that a response sets the session cookie
// called name without Max-Age and without Expires, so that it ends when the
// browser does.
func wantBrowserSessionCookie(t *testing.T, h http.Header, name, what string) {
	t.Helper()
	line := setCookieLine(h, name)
	if line == "" {
		t.Fatalf("%s: no %s cookie set; Set-Cookie: %q", what, name, h.Values("Set-Cookie"))
	}
	lower := strings.ToLower(line)
	if strings.Contains(lower, "max-age") || strings.Contains(lower, "expires") {
		t.Fatalf("%s: the session cookie must end with the browser (no Max-Age, no Expires), got %q", what, line)
	}
}

// TestRememberMeZeroRemembersNobody: with remember_me 0 a login that posts
// remember=1 anyway (the box is hidden, but a form can say anything) gets a
// session that ends with the browser and idles out like any other.
func TestRememberMeZeroRemembersNobody(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tremember_me 0\n\t\tidle_timeout 30m\n\t\tlifetime 24h\n\t\t"+b.lines(t))
		newClient(t).register("rex", testPassword, "/")

		c := newClient(t)
		r := c.post("/auth/login", url.Values{"username": {"rex"}, "password": {testPassword}, "remember": {"1"}})
		if r.status != http.StatusSeeOther {
			t.Fatalf("login with remember=1: %d", r.status)
		}
		wantBrowserSessionCookie(t, r.header, defaultCookieName, "remember=1 under remember_me 0")
		advance(20 * time.Minute)
		wantGranted(t, c.get("/members/x"), "20 minutes after login")
		advance(31 * time.Minute)
		wantDenied(t, c.get("/members/x"), "31 idle minutes with idle_timeout 30m: remember=1 must not lift the idle limit")
	})
}

// TestSessionsWithoutRememberMeEndWithTheBrowserAndAtLifetime: neither a
// registration nor a plain login gives the cookie an age, so it does not
// outlive the browser; the server still ends the session at lifetime,
// however busy it is.
func TestSessionsWithoutRememberMeEndWithTheBrowserAndAtLifetime(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 30m\n\t\tlifetime 1h\n\t\t"+b.lines(t))
		registered := newClient(t)
		r := registered.register("sam", testPassword, "/")
		if r.status != http.StatusSeeOther {
			t.Fatalf("register: %d", r.status)
		}
		wantBrowserSessionCookie(t, r.header, defaultCookieName, "registration")
		loggedIn := newClient(t)
		r = loggedIn.login("sam", testPassword, "/")
		if r.status != http.StatusSeeOther {
			t.Fatalf("login: %d", r.status)
		}
		wantBrowserSessionCookie(t, r.header, defaultCookieName, "login without remember me")

		for range 3 { // 57 minutes, used every 19
			advance(19 * time.Minute)
			wantGranted(t, registered.get("/members/x"), "registered session within its lifetime")
			wantGranted(t, loggedIn.get("/members/x"), "logged-in session within its lifetime")
		}
		advance(5 * time.Minute) // 62 minutes after login, 5 after the last use
		wantDenied(t, registered.get("/members/x"), "registered session past its lifetime")
		wantDenied(t, loggedIn.get("/members/x"), "logged-in session past its lifetime")
	})
}

// proxyTrustingConfig is siteConfig with 127.0.0.1 as the server's only
// trusted proxy.
func proxyTrustingConfig(t *testing.T, options string) string {
	t.Helper()
	clockSkew.Store(0)
	config := siteConfig(filepath.Join(t.TempDir(), "caddy.log"), "session_auth /members/*", "bcrypt_cost 10\n\t\t"+options)
	const anchor = "\tskip_install_trust\n"
	if !strings.Contains(config, anchor) {
		t.Fatal("siteConfig changed: no skip_install_trust line to put the servers option after")
	}
	return strings.Replace(config, anchor, anchor+"\tservers {\n\t\ttrusted_proxies static 127.0.0.1/32\n\t}\n", 1)
}

// rawClient talks to the test site from a chosen loopback address, sends
// extra headers with every request, and keeps cookies itself: a cookie jar
// would hold back Secure cookies from an http:// URL, which is exactly what
// a TLS-terminating proxy sends on. It records every cookie it was set.
type rawClient struct {
	t       *testing.T
	hc      *http.Client
	header  http.Header
	cookies map[string]string
	set     []*http.Cookie
}

func newRawClient(t *testing.T, from string, header http.Header) *rawClient {
	dialer := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	return &rawClient{t: t, header: header, cookies: map[string]string{}, hc: &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, "tcp4", onFreePorts("127.0.0.1:9080"))
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}}
}

func (c *rawClient) do(method, path string, body url.Values) response {
	c.t.Helper()
	var req *http.Request
	if body != nil {
		req, _ = http.NewRequest(method, baseURL+path, strings.NewReader(body.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
	} else {
		req, _ = http.NewRequest(method, baseURL+path, nil)
	}
	req.Header.Set("Accept", "text/html")
	for k, vs := range c.header {
		req.Header[k] = vs
	}
	for name, value := range c.cookies {
		req.AddCookie(&http.Cookie{Name: name, Value: value})
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, ck := range resp.Cookies() {
		c.set = append(c.set, ck)
		if ck.MaxAge < 0 {
			delete(c.cookies, ck.Name)
		} else {
			c.cookies[ck.Name] = ck.Value
		}
	}
	return response{resp.StatusCode, resp.Header, string(b)}
}

// post sends a form with the token of the page it came from.
func (c *rawClient) post(path string, form url.Values) response {
	c.t.Helper()
	page := c.do(http.MethodGet, path, nil)
	m := tokenField.FindStringSubmatch(page.body)
	if m == nil {
		c.t.Fatalf("GET %s: no form token (%d)", path, page.status)
	}
	form.Set(formTokenField, html.UnescapeString(m[1]))
	return c.do(http.MethodPost, path, form)
}

// cookieSet is the last cookie called name this client was set, or nil.
func (c *rawClient) cookieSet(name string) *http.Cookie {
	for i := len(c.set) - 1; i >= 0; i-- {
		if c.set[i].Name == name {
			return c.set[i]
		}
	}
	return nil
}

// wantCookies asserts the names, Secure flag and paths of the session, form
// and device cookies this client was set, and that it was set no others.
func (c *rawClient) wantCookies(secure bool, what string) {
	c.t.Helper()
	prefix, formPath := "", "/auth/"
	if secure {
		prefix, formPath = "__Host-", "/"
	}
	want := map[string]string{
		prefix + defaultCookieName:             "/",
		prefix + defaultCookieName + "_csrf":   formPath,
		prefix + defaultCookieName + "_device": "/",
	}
	for name, path := range want {
		ck := c.cookieSet(name)
		if ck == nil {
			c.t.Fatalf("%s: no %s cookie was set; set: %v", what, name, c.set)
		}
		if ck.Secure != secure || ck.Path != path || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode {
			c.t.Fatalf("%s: want %s Secure=%v Path=%s HttpOnly SameSite=Lax, got %+v", what, name, secure, path, ck)
		}
	}
	for _, ck := range c.set {
		if _, ok := want[ck.Name]; !ok {
			c.t.Fatalf("%s: an unexpected cookie %s was set (want only %v)", what, ck.Name, want)
		}
	}
}

// TestTrustedProxySaysHTTPSSoCookiesAreSecureAndHostPrefixed: behind a
// proxy that terminates TLS, Caddy sees plain HTTP. Only a request from one
// of the server's trusted_proxies may say, with X-Forwarded-Proto: https,
// that the browser used HTTPS; then every cookie is Secure and __Host-. The
// same header from anyone else changes nothing.
func TestTrustedProxySaysHTTPSSoCookiesAreSecureAndHostPrefixed(t *testing.T) {
	loadCaddyfile(t, proxyTrustingConfig(t, "registration open\n\t\t"+fileBackend().lines(t)))
	https := http.Header{"X-Forwarded-Proto": {"https"}}
	for _, tc := range []struct {
		name, user, from string
		header           http.Header
		secure           bool
	}{
		{"trusted proxy says https", "tina", "127.0.0.1", https, true},
		{"trusted proxy says nothing", "tom", "127.0.0.1", nil, false},
		{"untrusted client says https", "uma", "127.0.0.2", https, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			user := tc.user
			c := newRawClient(t, tc.from, tc.header)
			if r := c.post("/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}}); r.status != http.StatusSeeOther {
				t.Fatalf("register: %d", r.status)
			}
			if r := c.post("/auth/login", url.Values{"username": {user}, "password": {testPassword}}); r.status != http.StatusSeeOther {
				t.Fatalf("login: %d", r.status)
			}
			c.wantCookies(tc.secure, tc.name)
			wantGranted(t, c.do(http.MethodGet, "/members/x", nil), tc.name+": the session works")
		})
	}
}

// TestSecureCookiesAlwaysMarksEveryCookie: for a site that browsers reach
// only over HTTPS, through a proxy Caddy does not trust, secure_cookies
// always makes every cookie Secure and __Host- whatever the request says.
func TestSecureCookiesAlwaysMarksEveryCookie(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecure_cookies always\n\t\t"+fileBackend().lines(t))
	c := newRawClient(t, "127.0.0.2", nil)
	if r := c.post("/auth/register", url.Values{"username": {"always"}, "password": {testPassword}, "password_confirm": {testPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d", r.status)
	}
	if r := c.post("/auth/login", url.Values{"username": {"always"}, "password": {testPassword}}); r.status != http.StatusSeeOther {
		t.Fatalf("login: %d", r.status)
	}
	c.wantCookies(true, "secure_cookies always, plain HTTP")
	wantGranted(t, c.do(http.MethodGet, "/members/x", nil), "the __Host- session cookie")
}

// httpsSite loads a site served over HTTPS by Caddy's internal CA and
// returns a client for it that does not follow redirects, once the
// certificate is there.
func httpsSite(t *testing.T, options string) *http.Client {
	t.Helper()
	clockSkew.Store(0)
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
		bcrypt_cost 10
		%s
	}
	templates
	file_server
}
`, siteDir, options)
	loadCaddyfile(t, config)
	hc := &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	eventually(t, "a certificate from the internal CA", func() bool {
		resp, err := hc.Get(httpsURL + "/auth/login")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return hc
}

// httpsDo sends one request to the HTTPS site with exactly the given
// cookies (and those of the client's jar, if it has one).
func httpsDo(t *testing.T, hc *http.Client, method, path string, form url.Values, cookies ...*http.Cookie) response {
	t.Helper()
	var req *http.Request
	if form != nil {
		req, _ = http.NewRequest(method, httpsURL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", httpsURL)
	} else {
		req, _ = http.NewRequest(method, httpsURL+path, nil)
	}
	req.Header.Set("Accept", "text/html")
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

// TestPlainCookieFromASiblingIsIgnoredOverHTTPS: a sibling subdomain can
// set a cookie called caddy_session for the parent domain, but never one
// called __Host-caddy_session. Over HTTPS only the __Host- cookie counts,
// so a planted session (the attacker's own, to log the victim in as the
// attacker) means nothing.
func TestPlainCookieFromASiblingIsIgnoredOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	hc := httpsSite(t, fmt.Sprintf("registration open\n\t\tsecret %s\n\t\tusers_file %s\n\t\tsessions_dir %s",
		testSecret, filepath.Join(dir, "users.json"), filepath.Join(dir, "sessions")))

	register := func(user string) *http.Cookie {
		jar, _ := cookiejar.New(nil)
		c := *hc
		c.Jar = jar
		page := httpsDo(t, &c, http.MethodGet, "/auth/register", nil)
		m := tokenField.FindStringSubmatch(page.body)
		if m == nil {
			t.Fatalf("no form token on the registration page (%d)", page.status)
		}
		r := httpsDo(t, &c, http.MethodPost, "/auth/register", url.Values{"username": {user}, "password": {testPassword}, "password_confirm": {testPassword}, formTokenField: {html.UnescapeString(m[1])}})
		ck := sessionCookieNamed(r, "__Host-"+defaultCookieName)
		if r.status != http.StatusSeeOther || ck == nil {
			t.Fatalf("register %s over HTTPS: %d, Set-Cookie %q", user, r.status, r.header.Values("Set-Cookie"))
		}
		return ck
	}
	mallory := register("mallory")
	var id string
	httpsRealm := realmCodecs(testSecret, onFreePorts("localhost-9443")) // what https://localhost:9443 makes
	if err := securecookie.DecodeMulti(mallory.Name, mallory.Value, &id, httpsRealm...); err != nil {
		t.Fatalf("decoding mallory's cookie: %v", err)
	}
	plantedValue, err := securecookie.EncodeMulti(defaultCookieName, id, httpsRealm...)
	if err != nil {
		t.Fatal(err)
	}
	planted := &http.Cookie{Name: defaultCookieName, Value: plantedValue}

	if r := httpsDo(t, hc, http.MethodGet, "/members/who.html", nil, mallory); r.status != http.StatusOK || r.body != "user=mallory" {
		t.Fatalf("mallory's own __Host- cookie: want user=mallory, got %d %q", r.status, r.body)
	}
	r := httpsDo(t, hc, http.MethodGet, "/members/who.html", nil, planted)
	if strings.Contains(r.body, "user=") || r.status != http.StatusSeeOther {
		t.Fatalf("a planted caddy_session cookie over HTTPS: want the login page (303), got %d %q", r.status, r.body)
	}
	victim := register("victim")
	if r := httpsDo(t, hc, http.MethodGet, "/members/who.html", nil, planted, victim); r.body != "user=victim" {
		t.Fatalf("the victim's session next to a planted cookie: want user=victim, got %d %q", r.status, r.body)
	}
}

// sessionCookieNamed is the cookie called name a response sets, or nil.
func sessionCookieNamed(r response, name string) *http.Cookie {
	for _, ck := range (&http.Response{Header: r.header}).Cookies() {
		if ck.Name == name {
			return ck
		}
	}
	return nil
}
