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
// origin, and strip tabs and newlines before doing so, so all of those,
// and every control character, send the user home instead.
func SafeNext(raw string) string {
	if raw == "" || len(raw) > MaxNextLength || raw[0] != '/' {
		return "/"
	}
	if len(raw) > 1 && (raw[1] == '/' || raw[1] == '\\') {
		return "/"
	}
	for i := 0; i < len(raw); i++ {
		if c := raw[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return "/"
		}
	}
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "" || u.Host != "" || u.Opaque != "" || u.User != nil {
		return "/"
	}
	// A path that decodes to "//x" or "/\x" could be rewritten into an
	// off-site address by something downstream; refuse it too.
	if p := u.Path; strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") {
		return "/"
	}
	return raw
}
