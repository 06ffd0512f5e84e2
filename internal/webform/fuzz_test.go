package webform

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzSafeNext: whatever comes in, what comes out is the input unchanged or
// "/", and is a path on this site that no browser reads as another origin.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/members/x?a=1", "//evil.com", "/\\evil.com", "http://evil.com", "/\t/evil.com", "/%2F%2Fevil.com", "javascript:alert(1)", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := SafeNext(raw)
		if got != "/" && got != raw {
			t.Fatalf("SafeNext(%q) = %q: neither the input nor /", raw, got)
		}
		if got[0] != '/' || strings.HasPrefix(got, "//") || strings.HasPrefix(got, "/\\") || strings.ContainsAny(got, "\\") {
			t.Fatalf("SafeNext(%q) = %q is not a same-site path", raw, got)
		}
		for i := 0; i < len(got); i++ {
			if got[i] < 0x20 || got[i] == 0x7f {
				t.Fatalf("SafeNext(%q) = %q keeps a control character", raw, got)
			}
		}
		u, err := url.Parse(got)
		if err != nil || u.Scheme != "" || u.Host != "" {
			t.Fatalf("SafeNext(%q) = %q parses as another origin", raw, got)
		}
		// What a browser would resolve it to stays on the site.
		base, _ := url.Parse("https://site.example/auth/login")
		if ref := base.ResolveReference(u); ref.Host != "site.example" {
			t.Fatalf("SafeNext(%q) = %q resolves to host %q", raw, got, ref.Host)
		}
	})
}

// FuzzParse: any body and content type is either refused with a 4xx or
// yields fields that are each UTF-8 and each sent once; never a panic.
func FuzzParse(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "username=alice&password=secret")
	f.Add("application/x-www-form-urlencoded", "username=%zz")
	f.Add("application/x-www-form-urlencoded", "username=%ff%fe")
	f.Add("application/x-www-form-urlencoded", "a=1&a=2")
	f.Add("multipart/form-data; boundary=x", "--x--")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		r := httptest.NewRequest(http.MethodPost, "/auth/login", strings.NewReader(body))
		r.Header.Set("Content-Type", contentType)
		problem := Parse(httptest.NewRecorder(), r)
		if problem != nil {
			if problem.Status < 400 || problem.Status > 499 || problem.Message == "" {
				t.Fatalf("refusal %d %q is not a 4xx with a message", problem.Status, problem.Message)
			}
			return
		}
		for k, vs := range r.PostForm {
			if !utf8.ValidString(k) || len(vs) != 1 || !utf8.ValidString(vs[0]) {
				t.Fatalf("accepted field %q = %q", k, vs)
			}
		}
	})
}

// FuzzTokenCheck: no token that was not made for this browser and form
// passes, and none makes Check panic.
func FuzzTokenCheck(f *testing.F) {
	tokens := NewTokens([]byte("fuzz key fuzz key fuzz key fuzz key"), time.Hour)
	now := time.Unix(1_800_000_000, 0)
	browser := NewBrowserID()
	f.Add(tokens.Token(browser, "login", now))
	f.Add(tokens.Token(NewBrowserID(), "login", now))
	f.Add("1800000000.")
	f.Add(".")
	f.Add("")
	f.Fuzz(func(t *testing.T, token string) {
		err := tokens.Check(token, browser, "register", now)
		if err == nil {
			t.Fatalf("token %q made for another form passed", token)
		}
	})
}
