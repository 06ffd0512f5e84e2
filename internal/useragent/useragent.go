// Package useragent turns a User-Agent header into a short summary such as
// "Firefox on Linux", for the list of a user's active sessions.
//
// The summary is stored in the session record, whose fields are separated
// by '|', and shown on the account page, so it is only ever made of the
// fixed names below: nothing the client wrote is copied into it, and no
// escaping is needed anywhere it goes.
package useragent

import "strings"

// maxScan bounds the work per request: every real browser names itself
// and its OS well within the first 512 bytes, and a client that sends a
// longer header gains nothing by it.
const maxScan = 512

// unknownBrowser stands in when no browser token matches, so that a
// summary is never empty.
const unknownBrowser = "Unknown browser"

// name maps a token found in the header to the name shown for it.
type name struct {
	token, name string
}

// browsers is checked in order and the first match wins: Chromium-based
// browsers also send "Chrome/", and nearly every browser sends "Safari/",
// so the more specific tokens come first.
var browsers = []name{
	{"Edg/", "Edge"}, // Chromium Edge on desktop
	{"EdgA/", "Edge"},
	{"EdgiOS/", "Edge"},
	{"Edge/", "Edge"}, // legacy EdgeHTML Edge
	{"OPR/", "Opera"},
	{"OPT/", "Opera"},
	{"OPiOS/", "Opera"},
	{"Opera", "Opera"}, // Presto Opera: "Opera/9.80"
	{"SamsungBrowser/", "Samsung Internet"},
	{"Vivaldi/", "Vivaldi"},
	{"Firefox/", "Firefox"},
	{"FxiOS/", "Firefox"},     // Firefox on iOS is WebKit and also sends "Safari/"
	{"Chromium/", "Chromium"}, // distribution builds send "Chromium/" and "Chrome/"
	{"Chrome/", "Chrome"},     // also matches "HeadlessChrome/"
	{"CriOS/", "Chrome"},      // Chrome on iOS
	{"Trident/", "Internet Explorer"},
	{"MSIE ", "Internet Explorer"},
	{"Safari/", "Safari"},
}

// tools name themselves at the start of the header, so only a prefix
// counts: "libcurl/" inside some other client's header is not curl.
var tools = []name{
	{"curl/", "curl"},
	{"Wget/", "Wget"},
	{"Go-http-client/", "Go HTTP client"},
}

// systems is checked in order and the first match wins: iOS headers say
// "like Mac OS X" and Android headers say "Linux", so iPhone, iPad and
// Android come before macOS and Linux. An iPad on iPadOS 13 or later
// sends a desktop Macintosh header and reads as macOS; nothing in the
// header tells the two apart.
var systems = []name{
	{"iPhone", "iPhone"},
	{"iPad", "iPad"},
	{"iPod", "iPod"},
	{"Android", "Android"},
	{"CrOS", "ChromeOS"},
	{"Windows", "Windows"},
	{"Macintosh", "macOS"},
	{"Mac OS X", "macOS"},
	{"FreeBSD", "FreeBSD"},
	{"Linux", "Linux"},
}

// Summary returns a short description of the browser and OS a User-Agent
// names: "<browser> on <os>", the browser alone, "Unknown browser on <os>"
// or "Unknown browser". The result is always drawn from this package's
// fixed names, never from ua, so it is safe to store and show unescaped.
func Summary(ua string) string {
	if len(ua) > maxScan {
		ua = ua[:maxScan]
	}
	browser := first(browsers, ua, strings.Contains)
	if browser == "" {
		browser = first(tools, ua, strings.HasPrefix)
	}
	os := first(systems, ua, strings.Contains)
	switch {
	case browser == "" && os == "":
		return unknownBrowser
	case browser == "":
		return unknownBrowser + " on " + os
	case os == "":
		return browser
	}
	return browser + " on " + os
}

// first returns the name of the first entry whose token matches ua, or ""
// when none does.
func first(names []name, ua string, match func(s, token string) bool) string {
	for _, n := range names {
		if match(ua, n.token) {
			return n.name
		}
	}
	return ""
}
