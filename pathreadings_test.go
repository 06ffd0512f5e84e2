package sessionauth

// Access decisions hold for every reading of the path an upstream may
// make (DESIGN rule 20): the readings themselves, judged with Caddy's own
// matchers, and through a real Caddy in front of an app that reads paths
// as Tomcat, Jetty, Spring and Windows do.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	pathpkg "path"
	"slices"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

func TestOtherReadingsOfAPath(t *testing.T) {
	for _, tc := range []struct {
		path string
		want []string // among the other readings
	}{
		{"/members;/x", []string{"/members/x"}},
		{"/members;jsessionid=1/x;v=2", []string{"/members/x"}},
		{"/members/staff;/x", []string{"/members/staff/x"}},
		{"/public/..;/members/x", []string{"/public/../members/x"}},
		{`/members\x`, []string{"/members/x"}},
		{`/members\..\admin`, []string{"/members/../admin"}},
		{"/members\x00/x", []string{"/members", "/members/x"}},
		{"/members\x0a/x", []string{"/members/x"}},
		{"/members\x7f/x", []string{"/members/x"}},
		// Servers differ in the order: parameters first (Tomcat), or "\"
		// first; both readings are judged.
		{`/a;b\c/d`, []string{"/a/d", "/a;b/c/d", "/a/c/d"}},
		{"/m;\x00/x", []string{"/m", "/m/x"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			if !readOtherwise(tc.path) {
				t.Fatalf("%q: an app may read it otherwise, but it was taken as ordinary", tc.path)
			}
			got := otherReadings(tc.path)
			for _, w := range tc.want {
				if !slices.Contains(got, w) {
					t.Errorf("%q: readings %q lack %q", tc.path, got, w)
				}
			}
			if slices.Contains(got, tc.path) {
				t.Errorf("%q: readings %q repeat Caddy's own", tc.path, got)
			}
		})
	}
	for _, p := range []string{"/", "/members/x", "/members/%3b", "/a b/c", "/ü/x", "*"} {
		if readOtherwise(p) {
			t.Errorf("%q: an ordinary path must be read once", p)
		}
	}
}

// TestOrdinaryPathsCostNoAllocation: the gate runs readingsOf on every
// request; a path without ";", "\" or a control character must cost one
// scan and nothing else.
func TestOrdinaryPathsCostNoAllocation(t *testing.T) {
	r := readingsRequest("/members/some/longer/path/index.html")
	if n := testing.AllocsPerRun(100, func() {
		if rs := readingsOf(r); rs.len() != 1 {
			t.Fatal("an ordinary path has one reading")
		}
	}); n != 0 {
		t.Fatalf("readingsOf allocates %v times for an ordinary path", n)
	}
}

// readingsRequest is a request as Caddy hands it to a handler, for a
// decoded path.
func readingsRequest(p string) *http.Request {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.URL.Path, r.URL.RawPath = p, ""
	ctx := context.WithValue(r.Context(), caddy.ReplacerCtxKey, caddy.NewReplacer())
	return r.WithContext(ctx)
}

// matchers builds provisioned Caddy matcher sets from JSON.
func matchers(t *testing.T, raw string) caddyhttp.MatcherSets {
	t.Helper()
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	var holder struct {
		Match caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`
	}
	if err := json.Unmarshal([]byte(`{"match":`+raw+`}`), &holder); err != nil {
		t.Fatal(err)
	}
	mods, err := ctx.LoadModule(&holder, "Match")
	if err != nil {
		t.Fatal(err)
	}
	var sets caddyhttp.MatcherSets
	if err := sets.FromInterface(mods); err != nil {
		t.Fatal(err)
	}
	return sets
}

// TestEveryReadingIsJudged: with Caddy's own matchers (path, path_regexp,
// not), a request is protected when any reading is, and a rule applies
// when it selects any reading; a request no reading protects is left
// alone.
func TestEveryReadingIsJudged(t *testing.T) {
	sa := &SessionAuth{
		protect: matchers(t, `[{"path":["/members/*"]},{"path":["/secret"]}]`),
		Allow: []AccessRule{
			{match: matchers(t, `[{"path":["/members/staff/*"]}]`), roles: []string{"staff"}},
			{match: matchers(t, `[{"path_regexp":{"pattern":"^/members/admin/"}}]`), roles: []string{"admin"}},
			{match: matchers(t, `[{"path":["/docs/*"],"not":[{"path":["/docs/public/*"]}]}]`), roles: []string{"staff"}},
		},
	}
	nobody := session.Session{Record: session.Record{User: "nora"}}
	for _, tc := range []struct {
		path      string
		protected bool
		refusedBy int // the rule that refuses a user without roles: 1-based, 0 for none
	}{
		{"/members/x", true, 0},
		{"/members;/x", true, 0},
		{"/members;jsessionid=abc/x", true, 0},
		{`/members\x`, true, 0},
		{"/members\x00/x", true, 0},
		{"/members\x0d\x0a/x", true, 0},
		{"/public/..;/members/x", true, 0},
		{`/public\..\members\x`, true, 0},
		{"/members/staff/x", true, 1},
		{"/members/staff;/x", true, 1},
		{"/members/STAFF;x/y", true, 1},
		{`/members/staff\x`, true, 1},
		{"/members/staff\x00/x", true, 1},
		{"/members/x/..;/staff/y", true, 1},
		{"/members/admin;/x", true, 2},
		{`/members\admin\x`, true, 2},
		{"/docs/x", true, 3},
		{"/docs;/x", true, 3},
		{"/docs/public;/../x", true, 3}, // "/docs/x" to Tomcat
		{"/docs/public/x", false, 0},
		{"/docs/public/x;v=1", false, 0},
		{"/public;x/y", false, 0},
		{`/pub\lic`, false, 0},
		{"/secret\x00.txt", true, 0}, // "/secret" to C code
		{"/index.html\x00", false, 0},
	} {
		t.Run(fmt.Sprintf("%q", tc.path), func(t *testing.T) {
			rs := readingsOf(readingsRequest(tc.path))
			protected, err := sa.isProtected(rs)
			if err != nil || protected != tc.protected {
				t.Fatalf("protected: %v %v, want %v", protected, err, tc.protected)
			}
			rule, err := sa.refusingRule(rs, nobody)
			want := (*AccessRule)(nil)
			if tc.refusedBy > 0 {
				want = &sa.Allow[tc.refusedBy-1]
			}
			if err != nil || rule != want {
				t.Fatalf("refused by rule %v (%v), want rule %d", ruleIndex(sa, rule), err, tc.refusedBy)
			}
		})
	}
}

func ruleIndex(sa *SessionAuth, rule *AccessRule) int {
	for i := range sa.Allow {
		if &sa.Allow[i] == rule {
			return i + 1
		}
	}
	return 0
}

// appReading reads a path as the servers behind Caddy may: ";" segment
// parameters removed (Tomcat, Jetty, Spring), "\" as "/" (Windows, many
// apps), control characters dropped, then cleaned.
func appReading(p string) string {
	p = strings.Map(func(c rune) rune {
		if c < 0x20 || c == 0x7f {
			return -1
		}
		return c
	}, p)
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i], _, _ = strings.Cut(s, ";")
	}
	return pathpkg.Clean(strings.ReplaceAll(strings.Join(segs, "/"), `\`, "/"))
}

// readingsApp is an app that trusts Caddy to guard /members/ and reads
// paths as app servers do; it says what it saw: the path as sent, the path
// as it read it, and the Cookie header.
func readingsApp(t *testing.T) *httptest.Server {
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		read := appReading(r.URL.Path)
		what := "public"
		if strings.HasPrefix(read, "/members/") {
			what = "SECRET " + read
		}
		fmt.Fprintf(w, "app saw %s [%s] cookies [%s]", what, r.URL.EscapedPath(), strings.Join(r.Header.Values("Cookie"), " | "))
	}))
	t.Cleanup(app.Close)
	return app
}

// readingsSite puts readingsApp behind session_auth /members/*, with a
// staff rule inside it, and returns the store's lines for the accounts.
func readingsSite(t *testing.T, options string) *httptest.Server {
	t.Helper()
	clockSkew.Store(0)
	app := readingsApp(t)
	loadCaddyfile(t, testGlobals(t)+fmt.Sprintf(`
http://localhost:9080 {
	session_auth /members/* {
		bcrypt_cost 10
		ip_limit 100000 15m
		account_limit 100000 15m
		allow /members/staff/* role staff
		%s
	}
	reverse_proxy %s
}
`, options, app.Listener.Addr()))
	return app
}

// TestAppServersReadingsNeverReachProtectedContent: the paths that Caddy
// reads as outside /members/ but an app server reads as inside it need a
// session, and the staff rule, as the app reads them; a user who passes
// gets the request through as sent; a path that no reading protects
// reaches the app untouched, without a session.
func TestAppServersReadingsNeverReachProtectedContent(t *testing.T) {
	lines, store := accessStores()[0].setup(t, testRealm)
	readingsSite(t, lines)
	seedAccounts(t, store, map[string][]string{"nora": nil, "sam": {"staff"}})
	nora, sam := loggedIn(t, "nora").cookie(), loggedIn(t, "sam").cookie()
	for _, tc := range []struct {
		target string
		staff  bool // the app reads it as inside /members/staff/
	}{
		{"/members;/x", false},
		{"/members%3b/x", false},
		{"/members%3B/x", false},
		{"/members;jsessionid=0123/x", false},
		{`/members\x`, false},
		{"/members%5cx", false},
		{"/members%5Cx", false},
		{"/members%00/x", false},
		{"/members%0a/x", false},
		{"/public/..;/members/x", false},
		{"/members/staff;/x", true},
		{"/members/staff%3b/x", true},
		{"/members/staff%5cx", true},
		{"/members/staff%00/x", true},
		{"/members/x/..;/staff/x", true},
		{"/members%5cstaff%5cx", true},
	} {
		t.Run(tc.target, func(t *testing.T) {
			read := appReading(mustUnescapePath(t, tc.target))
			if !strings.HasPrefix(read, "/members/") {
				t.Fatalf("the app reads %q as %q: not a trick", tc.target, read)
			}
			for _, accept := range []string{"text/html", "application/json", ""} {
				r := rawGet(t, tc.target, accept, "")
				if strings.Contains(r.body, "app saw") || r.status == http.StatusOK {
					t.Fatalf("no session, Accept %q: %q reached the app: %d %q", accept, tc.target, r.status, r.body)
				}
				wantNo5xx(t, r, tc.target)
			}
			if tc.staff {
				if r := rawGet(t, tc.target, "text/html", nora); r.status != http.StatusForbidden || strings.Contains(r.body, "app saw") {
					t.Fatalf("nora, without the staff role: %q answered %d %q", tc.target, r.status, r.body)
				}
			}
			control := sam
			if !tc.staff {
				control = nora
			}
			r := rawGet(t, tc.target, "text/html", control)
			sent := strings.ReplaceAll(tc.target, `\`, "%5C") // as Go escapes it on the way on
			if r.status != http.StatusOK || !strings.Contains(r.body, "app saw SECRET "+read+" ["+sent+"]") {
				t.Fatalf("control: a user who passes must get %q through as sent, got %d %q", tc.target, r.status, r.body)
			}
		})
	}
	for _, target := range []string{"/public;x/y", "/public%3bx/y", "/pub%5clic", "/index.html;v=2", "/public%00x"} {
		r := rawGet(t, target, "text/html", "")
		if r.status != http.StatusOK || !strings.Contains(r.body, "app saw public ["+target+"]") {
			t.Fatalf("%q: a path that no reading protects must reach the app untouched, got %d %q", target, r.status, r.body)
		}
	}
}

func mustUnescapePath(t *testing.T, target string) string {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, "http://x"+strings.ReplaceAll(target, `\`, "%5c"), nil)
	if err != nil {
		t.Fatal(err)
	}
	return r.URL.Path
}
