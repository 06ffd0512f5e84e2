package sessionauth

import (
	"net/http"
	"slices"
	"strings"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

// Every reading of a path. Caddy's matchers read a request's path one way;
// the app behind reverse_proxy may read the same bytes another: Tomcat,
// Jetty and Spring drop ";" segment parameters ("/members;x/y" is
// "/members/y" to them, "/a/..;/b" is "/b"), many apps and Windows read
// "\" as "/", C code stops at a NUL, and some servers drop control
// characters. The rule, in one sentence: a request is protected when the
// handler's matcher or an access rule selects any reading of its path, and
// it must pass every rule that selects any reading, so that no reading an
// upstream may make escapes a check that another reading gets.
//
// Such requests are judged, not refused: the strictest reading decides,
// and a user who passes it gets the request through unchanged (a client
// that really means "/members;jsessionid=x/page" still works). A request
// that no reading protects passes on untouched, as before. Matchers see a
// shallow copy of the request with the other path, so every matcher type
// (path, path_regexp, not, expression's path()) judges every reading;
// matchers that read the path through placeholders ({path}, vars) see
// Caddy's reading only. Paths that need a second decoding ("%253b") are
// not read twice: an upstream that decodes twice is not one we guard.

// readings are a request's readings: the request as Caddy reads it, and a
// copy for each other way an app may read its path.
type readings struct {
	caddy  *http.Request   // as Caddy reads it; what the next handler gets
	others []*http.Request // one per other reading; none for an ordinary path
}

// readingsOf returns r's readings. An ordinary path (no ";", "\" or
// control character, however encoded) costs one scan and no allocation.
func readingsOf(r *http.Request) readings {
	rs := readings{caddy: r}
	if !readOtherwise(r.URL.Path) {
		return rs
	}
	for _, p := range otherReadings(r.URL.Path) {
		rs.others = append(rs.others, withPath(r, p))
	}
	return rs
}

// len is the number of readings, Caddy's included.
func (rs readings) len() int { return 1 + len(rs.others) }

// at is reading i; 0 is Caddy's.
func (rs readings) at(i int) *http.Request {
	if i == 0 {
		return rs.caddy
	}
	return rs.others[i-1]
}

// selectedBy tells whether m selects any reading.
func (rs readings) selectedBy(m caddyhttp.MatcherSets) (bool, error) {
	for i := range rs.len() {
		if ok, err := m.AnyMatchWithError(rs.at(i)); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// readOtherwise tells whether some app may read the decoded path p
// otherwise than Caddy: it holds a ";", a "\" or a control character
// (each only ever there decoded from "%3b", "%5c", "%00" and the like, or
// sent as is).
func readOtherwise(p string) bool {
	for i := 0; i < len(p); i++ {
		if c := p[i]; c == ';' || c == '\\' || isControl(c) {
			return true
		}
	}
	return false
}

// otherReadings returns the readings of the decoded path p other than
// Caddy's, without repeats: with ";" segment parameters removed, with "\"
// as "/", both (in either order, as servers differ), each also after
// control characters are dropped or the path is cut at its first NUL.
func otherReadings(p string) []string {
	bases := []string{p}
	if i := strings.IndexByte(p, 0); i >= 0 {
		bases = append(bases, p[:i])
	}
	if dropped := strings.Map(dropControl, p); dropped != p {
		bases = append(bases, dropped)
	}
	var out []string
	for _, b := range bases {
		for _, q := range [...]string{
			b,
			withoutParams(b),
			backslashAsSlash(b),
			backslashAsSlash(withoutParams(b)),
			withoutParams(backslashAsSlash(b)),
		} {
			if q != p && q != "" && !slices.Contains(out, q) {
				out = append(out, q)
			}
		}
	}
	return out
}

// withoutParams removes the ";" parameters of every segment of p, as
// Tomcat, Jetty and Spring read a path: "/a;x/b;y" is "/a/b".
func withoutParams(p string) string {
	if !strings.Contains(p, ";") {
		return p
	}
	var b strings.Builder
	b.Grow(len(p))
	first := true
	for seg := range strings.SplitSeq(p, "/") {
		if !first {
			b.WriteByte('/')
		}
		first = false
		seg, _, _ = strings.Cut(seg, ";")
		b.WriteString(seg)
	}
	return b.String()
}

// backslashAsSlash reads "\" as "/", as Windows and many apps do.
func backslashAsSlash(p string) string {
	return strings.ReplaceAll(p, `\`, "/")
}

// dropControl drops ASCII control characters, for strings.Map.
func dropControl(c rune) rune {
	if c < 0x80 && isControl(byte(c)) {
		return -1
	}
	return c
}

// isControl tells an ASCII control character.
func isControl(c byte) bool { return c < 0x20 || c == 0x7f }

// withPath is a shallow copy of r with the decoded path p, for Caddy's
// matchers to judge; the escaped form follows from p.
func withPath(r *http.Request, p string) *http.Request {
	c := *r
	u := *r.URL
	u.Path, u.RawPath = p, ""
	c.URL = &u
	return &c
}
