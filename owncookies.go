package sessionauth

import (
	"net/http"
	"strings"
)

// The plugin's own cookies are bearer tokens of this site's logins (the
// session) or its forms (device, form token, second step): an app behind
// Caddy, and whatever it logs, must never hold them. They are removed from
// the request before the next handler runs, on protected and public
// requests alike; every other cookie goes on byte for byte. The plugin's
// cookies are those named cookie_name, or cookie_name followed by "_"
// (…_device, …_csrf, …_step, and any it sets later), with or without the
// "__Host-" prefix it uses over HTTPS.

// dropOwnCookies removes the plugin's cookies from the Cookie header lines
// of h. A line that does not hold cookie_name costs one substring search.
func (sa *SessionAuth) dropOwnCookies(h http.Header) {
	lines, ok := h["Cookie"] // canonical key: this runs on every request
	if !ok {
		return
	}
	n := 0
	for _, line := range lines {
		if strings.Contains(line, sa.CookieName) {
			line = sa.withoutOwnCookies(line)
		}
		if line != "" {
			lines[n] = line
			n++
		}
	}
	if n == 0 {
		delete(h, "Cookie")
		return
	}
	h["Cookie"] = lines[:n]
}

// withoutOwnCookies returns a Cookie header line without the plugin's
// cookies; each kept pair is the browser's bytes. When the removed ones
// were at either end (a browser that logged in sends its session cookie
// first or last) the result is a part of line, with no allocation;
// otherwise the kept pairs are joined with "; ".
func (sa *SessionAuth) withoutOwnCookies(line string) string {
	from, to := -1, -1 // the kept pairs' span
	removed := false   // one of the plugin's cookies was seen
	trailing := false  // one was seen after a kept pair
	gap := false       // one lies between kept pairs
	for i := 0; i < len(line); {
		start, end, next := cookiePairAt(line, i)
		switch {
		case start == end:
		case sa.isOwnCookie(line[start:end]):
			removed, trailing = true, trailing || from >= 0
		default:
			if from < 0 {
				from = start
			}
			gap = gap || trailing
			to = end
		}
		i = next
	}
	switch {
	case !removed:
		return line
	case from < 0:
		return ""
	case !gap:
		return line[from:to]
	}
	var b strings.Builder
	b.Grow(to - from)
	for i := 0; i < len(line); {
		start, end, next := cookiePairAt(line, i)
		if start < end && !sa.isOwnCookie(line[start:end]) {
			if b.Len() > 0 {
				b.WriteString("; ")
			}
			b.WriteString(line[start:end])
		}
		i = next
	}
	return b.String()
}

// cookiePairAt finds the name=value pair that starts at line[i:]: its
// bounds without the blanks around it, and where the pair after it starts.
func cookiePairAt(line string, i int) (start, end, next int) {
	end = strings.IndexByte(line[i:], ';')
	if end < 0 {
		end, next = len(line), len(line)
	} else {
		end, next = i+end, i+end+1
	}
	start = i
	for start < end && (line[start] == ' ' || line[start] == '\t') {
		start++
	}
	for end > start && (line[end-1] == ' ' || line[end-1] == '\t') {
		end--
	}
	return start, end, next
}

// isOwnCookie tells whether the pair (name=value) is one of the plugin's
// cookies. Names are compared as apps parse them, blanks around the name
// ignored.
func (sa *SessionAuth) isOwnCookie(pair string) bool {
	name, _, _ := strings.Cut(pair, "=")
	name = strings.TrimRight(name, " \t")
	name = strings.TrimPrefix(name, "__Host-")
	rest, ok := strings.CutPrefix(name, sa.CookieName)
	return ok && (rest == "" || rest[0] == '_')
}
