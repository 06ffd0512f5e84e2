package sessionauth

import (
	"crypto/tls"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddytest"
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
	caddytest.NewTester(t).InitServer(config, "caddyfile")
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
		resp, err := hc.Get("https://localhost:9443/auth/login")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	jar, _ := cookiejar.New(nil)
	hc.Jar = jar
	token := func(path string) string {
		resp, err := hc.Get("https://localhost:9443" + path)
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
	req, _ := http.NewRequest(http.MethodPost, "https://localhost:9443/auth/register", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://localhost:9443")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cookies := resp.Cookies()
	if resp.StatusCode != http.StatusSeeOther || len(cookies) != 1 {
		t.Fatalf("register over HTTPS: %d, %d cookies", resp.StatusCode, len(cookies))
	}
	if ck := cookies[0]; ck.Name != "__Host-"+defaultCookieName || !ck.Secure || !ck.HttpOnly || ck.SameSite != http.SameSiteLaxMode || ck.Path != "/" {
		t.Fatalf("cookie over HTTPS must be __Host-, Secure, HttpOnly, SameSite=Lax, Path=/: %+v", ck)
	}
	// Logout expires it with the same attributes, or the browser keeps it.
	logoutForm := url.Values{formTokenField: {token("/auth/logout")}}
	hc.Jar = nil // send exactly the cookies below
	req, _ = http.NewRequest(http.MethodPost, "https://localhost:9443/auth/logout", strings.NewReader(logoutForm.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://localhost:9443")
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
