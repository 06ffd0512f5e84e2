// Package webform holds the checks every form of the plugin passes through:
// where a login may send the browser next, how a posted body is read, and
// the anti-forgery tokens that tie a form to the browser it was given to.
// It is small and free of Caddy so that it can be fuzzed cheaply.
package webform

import (
	"net/url"
	"strings"
)

// MaxNextLength bounds the return path carried through the login form.
const MaxNextLength = 2048

// SafeNext returns raw when it is a path on this site, and "/" otherwise.
// Browsers read "//host", "/\host" and anything with a scheme as another
// origin, strip tabs and newlines before doing so, and resolve dot segments
// ("/.//host" is the path "//host"), which an app behind Caddy that
// redirects to its own path turns into a hop to that host. So all of
// those, and every control character or backslash, sent as is or
// percent-encoded in the path, send the user home instead.
func SafeNext(raw string) string {
	for _, rule := range nextRules {
		if rule.refuses(raw) {
			return "/"
		}
	}
	return raw
}

// nextRule refuses a return path for one reason. The rules overlap on
// purpose, one parser's blind spot being another's catch, so each is
// tested alone on its own class of input (next_test.go), not only through
// SafeNext, where the others would hide its loss.
type nextRule struct {
	name    string
	refuses func(raw string) bool
}

var nextRules = []nextRule{
	{"not a bounded path", notABoundedPath},
	{"network-path reference", networkPath},
	{"control character or backslash", controlOrBackslash},
	{"parses as another origin", parsesOffSite},
	{"resolves to a network path", resolvesOffSite},
}

// notABoundedPath: empty, too long, or not starting with "/" (a scheme, a
// host, or a relative path that depends on where the form was).
func notABoundedPath(raw string) bool {
	return len(raw) > MaxNextLength || !strings.HasPrefix(raw, "/")
}

// networkPath: "//host" names another host, and browsers read "/\host"
// the same way.
func networkPath(raw string) bool {
	return strings.HasPrefix(raw, "//") || strings.HasPrefix(raw, `/\`)
}

// controlOrBackslash: browsers strip tabs and newlines ("/\t/host" is
// "//host") and read a backslash as a slash; nothing legitimate needs them
// unencoded. The path is checked decoded too: an app behind Caddy that
// decodes "/%09/host" and redirects to it sends the browser to "//host".
// (A path that does not decode is resolvesOffSite's to refuse.)
func controlOrBackslash(raw string) bool {
	if hasControlOrBackslash(raw) {
		return true
	}
	path := raw
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	decoded, err := url.PathUnescape(path)
	return err == nil && hasControlOrBackslash(decoded)
}

func hasControlOrBackslash(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return true
		}
	}
	return false
}

// parsesOffSite: what Go's parser, like the code behind Caddy, would read
// as a scheme, a host or user info, or cannot read at all. (An opaque part
// needs a scheme, so the scheme check covers it.)
func parsesOffSite(raw string) bool {
	u, err := url.Parse(raw)
	return err != nil || u.Scheme != "" || u.Host != "" || u.User != nil
}

// resolvesOffSite: a path that a browser resolves, or that an app behind
// Caddy decodes (and perhaps resolves), to "//x" or "/\x". The forms
// checked are the path as sent, resolved; and decoded, as is and resolved.
// (The path as sent, unresolved, decodes to a string with the same start,
// so the decoded check covers it.) A path that does not decode is refused:
// nothing can be said about where it leads.
func resolvesOffSite(raw string) bool {
	path := raw
	if i := strings.IndexAny(path, "?#"); i >= 0 {
		path = path[:i]
	}
	decoded, err := url.PathUnescape(path)
	if err != nil {
		return true
	}
	for _, p := range []string{removeDotSegments(path), decoded, removeDotSegments(decoded)} {
		if networkPath(p) {
			return true
		}
	}
	return false
}

// removeDotSegments resolves the path of an absolute path reference as the
// WHATWG URL standard does for http and https: a backslash separates
// segments like a slash, "%2e" (any case) is a dot, ".." never climbs
// above the root, and empty segments stay. Go's url.ResolveReference is
// not a substitute: it turns "/a/..//x" into "/x" where a browser keeps
// "//x".
func removeDotSegments(path string) string {
	segments := strings.Split(strings.ReplaceAll(path, `\`, "/"), "/")[1:]
	var out []string
	for i, s := range segments {
		last := i == len(segments)-1
		switch {
		case isDoubleDot(s):
			if len(out) > 0 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		case isSingleDot(s):
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return "/" + strings.Join(out, "/")
}

func isSingleDot(s string) bool { return s == "." || strings.EqualFold(s, "%2e") }

func isDoubleDot(s string) bool {
	switch strings.ToLower(s) {
	case "..", ".%2e", "%2e.", "%2e%2e":
		return true
	}
	return false
}
