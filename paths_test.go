package sessionauth

// Protected requests: the matcher applies to the path as Caddy normalises
// it, and to every method.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sendRaw sends a request with the request-target exactly as given (no client
// path cleaning or re-escaping) over a fresh TCP connection.
func sendRaw(t *testing.T, method, target, accept, cookie string) response {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(baseURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, onFreePorts(target), strings.TrimPrefix(baseURL, "http://"))
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

type pathTrick struct {
	target string
	served bool // a logged-in client gets the protected content through it
}

// checkPathTricks sends each trick raw, once with the logged-in control
// cookie and twice without a session (browser and script).
func checkPathTricks(t *testing.T, cookie string, tricks []pathTrick, leaks ...string) {
	for _, tc := range tricks {
		t.Run(tc.target, func(t *testing.T) {
			in := sendRaw(t, http.MethodGet, tc.target, "text/html", cookie)
			t.Logf("logged in: %d", in.status)
			if tc.served {
				found := false
				for _, l := range leaks {
					found = found || strings.Contains(in.body, l)
				}
				if in.status != http.StatusOK || !found {
					t.Fatalf("control: a logged-in client should get the content through %q, got %d %q", tc.target, in.status, clip(in.body))
				}
			}
			for _, accept := range []string{"text/html", "application/json", ""} {
				out := sendRaw(t, http.MethodGet, tc.target, accept, "")
				for _, l := range leaks {
					if strings.Contains(out.body, l) {
						t.Fatalf("no session, Accept %q: %q served protected content (%d): %q", accept, tc.target, out.status, clip(out.body))
					}
				}
				if out.status == http.StatusOK {
					t.Fatalf("no session, Accept %q: %q answered 200", accept, tc.target)
				}
				wantNo5xx(t, out, tc.target)
			}
		})
	}
}

func TestPathTricksNeverReachProtectedContent(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("pathuser", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "control")
	checkPathTricks(t, c.cookie(), []pathTrick{
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
	site(t, "session_auth", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.register("siteuser", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "control")
	checkPathTricks(t, c.cookie(), []pathTrick{
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
			r := sendRaw(t, m, "/members/secret.txt", "application/json", "")
			if strings.Contains(r.body, "SECRET") || r.status < 300 {
				t.Fatalf("%s without a session: %d %q", m, r.status, clip(r.body))
			}
			wantNo5xx(t, r, m)
		})
	}
}
