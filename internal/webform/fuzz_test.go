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
// "/", and is a path on this site that no browser reads as another origin,
// and that no browser resolves, nor an app behind Caddy decodes or
// resolves, to "//x" or "/\x". The resolution is checked with the RFC 3986
// algorithm, written apart from SafeNext's own, so a slip in either shows.
func FuzzSafeNext(f *testing.F) {
	for _, s := range []string{"/", "/members/x?a=1", "//evil.com", "/\\evil.com", "http://evil.com", "/\t/evil.com",
		"/%2F%2Fevil.com", "/%09/evil.com", "javascript:alert(1)", "", "/.//evil.com", "/%2e%2e//evil.com", "/a/..//evil.com"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://site.example/auth/login")
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
		if ref := base.ResolveReference(u); ref.Host != "site.example" {
			t.Fatalf("SafeNext(%q) = %q resolves to host %q", raw, got, ref.Host)
		}
		// The path, as a browser resolves it and as an app behind Caddy may
		// decode and resolve it, never starts with two slashes.
		path, _, _ := strings.Cut(got, "#")
		path, _, _ = strings.Cut(path, "?")
		decoded, err := url.PathUnescape(path)
		if err != nil {
			t.Fatalf("SafeNext(%q) = %q does not decode: %v", raw, got, err)
		}
		// Decoded by an app behind Caddy, the path holds no character a
		// browser strips or reads as a slash either.
		for i := 0; i < len(decoded); i++ {
			if c := decoded[i]; c < 0x20 || c == 0x7f || c == '\\' {
				t.Fatalf("SafeNext(%q) = %q keeps %q in its path once decoded", raw, got, c)
			}
		}
		for _, form := range []struct{ what, path string }{
			{"decoded", decoded},
			{"resolved by a browser", rfc3986RemoveDotSegments(browserDots(path))},
			{"decoded and resolved", rfc3986RemoveDotSegments(browserDots(decoded))},
		} {
			if strings.HasPrefix(form.path, "//") || strings.HasPrefix(form.path, "/\\") {
				t.Fatalf("SafeNext(%q) = %q: %s it is %q", raw, got, form.what, form.path)
			}
		}
	})
}

// browserDots spells a path as a browser reads it before resolving it: a
// backslash is a slash, and "%2e" in any case is a dot.
func browserDots(path string) string {
	return strings.NewReplacer("\\", "/", "%2e", ".", "%2E", ".").Replace(path)
}

// rfc3986RemoveDotSegments is RFC 3986, section 5.2.4, step by step.
func rfc3986RemoveDotSegments(in string) string {
	out := ""
	dropLast := func() {
		if i := strings.LastIndex(out, "/"); i >= 0 {
			out = out[:i]
		} else {
			out = ""
		}
	}
	for in != "" {
		switch {
		case strings.HasPrefix(in, "../"):
			in = in[3:]
		case strings.HasPrefix(in, "./"):
			in = in[2:]
		case strings.HasPrefix(in, "/./"):
			in = in[2:]
		case in == "/.":
			in = "/"
		case strings.HasPrefix(in, "/../"):
			in = in[3:]
			dropLast()
		case in == "/..":
			in = "/"
			dropLast()
		case in == "." || in == "..":
			in = ""
		default:
			start := 0
			if in[0] == '/' {
				start = 1
			}
			end := len(in)
			if i := strings.IndexByte(in[start:], '/'); i >= 0 {
				end = start + i
			}
			out += in[:end]
			in = in[end:]
		}
	}
	return out
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
