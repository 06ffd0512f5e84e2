package sessionauth

import (
	"net/url"
	"strings"
)

// maxNextLength bounds the return path carried through the login form.
const maxNextLength = 2048

// safeNext returns raw when it is a path on this site, and "/" otherwise.
// Browsers read "//host", "/\host" and anything with a scheme as another
// origin, and strip tabs and newlines before doing so, so all of those,
// and every control character, send the user home instead.
func safeNext(raw string) string {
	if raw == "" || len(raw) > maxNextLength || raw[0] != '/' {
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
