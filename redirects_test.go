package sessionauth

// Rule 7: next is followed only when it is a same-site path.

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// staysOnSite resolves a Location the way a browser does (surrounding
// spaces and controls trimmed, tabs and newlines removed, backslashes read
// as slashes) and tells whether it stays on the test site.
func staysOnSite(loc string) bool {
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

// keptOrHome marks a payload that may be kept or sent home, as long as the
// browser-visible result stays on the site.
const keptOrHome = "<either>"

var nextPayloads = []struct {
	name, next, want string
}{
	{"protocol-relative", "//evil.com", "/"},
	{"slash backslash", `/\evil.com`, "/"},
	{"double backslash", `\\evil.com`, "/"},
	{"http URL", "http://evil.com", "/"},
	{"https without slashes", "https:evil.com", "/"},
	{"javascript", "javascript:alert(1)", "/"},
	{"encoded double slash", "/%2F%2Fevil.com", keptOrHome},
	{"tab", "/\t/evil.com", "/"},
	{"newline", "/\n/evil.com", "/"},
	{"carriage return", "/\r/evil.com", "/"},
	{"space", "/ /evil.com", keptOrHome},
	{"bare host", "evil.com", "/"},
	{"empty", "", "/"},
	{"very long", "/" + strings.Repeat("a", 2999), "/"},
	{"triple slash", "///evil.com", "/"},
	{"leading space", " //evil.com", "/"},
	{"user info", "/@evil.com", keptOrHome},
	{"dot then double slash", "/.//evil.com", keptOrHome},
	{"path with query", "/members/x?a=1", "/members/x?a=1"},
	{"root", "/", "/"},
}

// checkNext checks one redirect answer against a payload's expectation.
func checkNext(t *testing.T, loc, next, want string) {
	t.Helper()
	switch want {
	case keptOrHome:
		if loc != "/" && loc != next {
			t.Fatalf("next %q: Location %q, want %q or %q", next, loc, "/", next)
		}
	default:
		if loc != want {
			t.Fatalf("next %q: Location %q, want %q", next, loc, want)
		}
	}
	if !staysOnSite(loc) {
		t.Fatalf("next %q: Location %q leaves the site in a browser", next, loc)
	}
}

func TestSafeNextAcceptsOnlySameSitePaths(t *testing.T) {
	extra := []struct{ name, next, want string }{
		{"backslash later", `/a\b`, "/"},
		{"DEL", "/a\x7f", "/"},
		{"NUL", "/a\x00", "/"},
		{"encoded backslash", "/%5Cevil.com", "/"},
		{"encoded tab", "/%09/evil.com", "/"}, // an app that decodes it would send the browser to //evil.com
		{"fullwidth solidus", "/\uff0fevil.com", keptOrHome},
		{"query with a URL", "/?next=//evil.com", "/?next=//evil.com"},
		{"fragment", "/a#b", "/a#b"},
		{"max length", "/" + strings.Repeat("a", webform.MaxNextLength-1), "/" + strings.Repeat("a", webform.MaxNextLength-1)},
		{"one over max length", "/" + strings.Repeat("a", webform.MaxNextLength), "/"},
		{"data URL", "data:text/html,<script>alert(1)</script>", "/"},
		{"mixed-case scheme", "JaVaScRiPt:alert(1)", "/"},
		{"scheme after slash", "/javascript:alert(1)", "/javascript:alert(1)"},
	}
	cases := append(append([]struct{ name, next, want string }{}, nextPayloads...), extra...)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := webform.SafeNext(tc.next)
			checkNext(t, got, tc.next, tc.want)
		})
	}
}

func TestOpenRedirectPayloadsGoHome(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("nextuser", testPassword, "/")

	t.Run("login", func(t *testing.T) {
		for _, tc := range nextPayloads {
			t.Run(tc.name, func(t *testing.T) {
				r := newClient(t).login("nextuser", testPassword, tc.next)
				if r.status != http.StatusSeeOther {
					t.Fatalf("login with next %q: want 303, got %d", tc.next, r.status)
				}
				checkNext(t, r.header.Get("Location"), tc.next, tc.want)
			})
		}
	})
	t.Run("register", func(t *testing.T) {
		for i, tc := range nextPayloads {
			t.Run(tc.name, func(t *testing.T) {
				r := newClient(t).register(fmt.Sprintf("nextreg%d", i), testPassword, tc.next)
				if r.status != http.StatusSeeOther {
					t.Fatalf("register with next %q: want 303, got %d", tc.next, r.status)
				}
				checkNext(t, r.header.Get("Location"), tc.next, tc.want)
			})
		}
	})
}

func TestLoginFormReflectsNextOnlyWhenSafe(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	newClient(t).register("reflect", testPassword, "/")
	for _, tc := range nextPayloads {
		t.Run(tc.name, func(t *testing.T) {
			for _, page := range []string{"/auth/login", "/auth/register"} {
				r := newClient(t).get(page + "?next=" + url.QueryEscape(tc.next))
				if r.status != http.StatusOK {
					t.Fatalf("GET %s: %d", page, r.status)
				}
				checkNext(t, hiddenNext(r.body), tc.next, tc.want)
			}
			// A failed login sends the form back with the same field.
			r := newClient(t).login("reflect", "wrong password!", tc.next)
			if r.status != http.StatusUnauthorized {
				t.Fatalf("failed login: want 401, got %d", r.status)
			}
			checkNext(t, hiddenNext(r.body), tc.next, tc.want)
			if strings.Contains(strings.ToLower(r.body), "evil.com") && tc.want == "/" {
				t.Fatalf("next %q: the refused target still appears in the page", tc.next)
			}
		})
	}
}
