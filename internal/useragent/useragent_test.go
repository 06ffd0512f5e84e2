package useragent

import (
	"strings"
	"testing"
)

func TestSummaryNamesBrowserAndSystem(t *testing.T) {
	tests := []struct {
		name, ua, want string
	}{
		{"chrome windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Windows"},
		{"chrome macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on macOS"},
		{"chrome linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"chrome android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36", "Chrome on Android"},
		{"chrome iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0.6778.73 Mobile/15E148 Safari/604.1", "Chrome on iPhone"},
		{"chrome chromeos", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36", "Chrome on ChromeOS"},
		{"headless chrome", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/131.0.0.0 Safari/537.36", "Chrome on Linux"},
		{"chromium linux", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Ubuntu Chromium/79.0.3945.79 Chrome/79.0.3945.79 Safari/537.36", "Chromium on Linux"},
		{"firefox windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Windows"},
		{"firefox macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on macOS"},
		{"firefox linux", "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on Linux"},
		{"firefox freebsd", "Mozilla/5.0 (X11; FreeBSD amd64; rv:133.0) Gecko/20100101 Firefox/133.0", "Firefox on FreeBSD"},
		{"firefox android", "Mozilla/5.0 (Android 14; Mobile; rv:133.0) Gecko/133.0 Firefox/133.0", "Firefox on Android"},
		{"firefox iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15", "Firefox on iPhone"},
		{"safari macos", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15", "Safari on macOS"},
		{"safari iphone", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPhone"},
		{"safari ipad", "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1", "Safari on iPad"},
		{"edge windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0", "Edge on Windows"},
		{"edge android", "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0", "Edge on Android"},
		{"opera windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 OPR/116.0.0.0", "Opera on Windows"},
		{"samsung internet", "Mozilla/5.0 (Linux; Android 14; SAMSUNG SM-S918B) AppleWebKit/537.36 (KHTML, like Gecko) SamsungBrowser/26.0 Chrome/122.0.0.0 Mobile Safari/537.36", "Samsung Internet on Android"},
		{"curl", "curl/8.5.0", "curl"},
		{"wget", "Wget/1.21.4", "Wget"},
		{"go client", "Go-http-client/1.1", "Go HTTP client"},
		{"libcurl inside another client is not curl", "PycURL/7.45.2 libcurl/8.5.0", "Unknown browser"},
		{"empty", "", "Unknown browser"},
		{"garbage with separator and markup", "Firefox|admin|<script>alert(1)</script>", "Unknown browser"},
		{"garbage naming a system", "<script>alert(1)</script>|x|(Macintosh)", "Unknown browser on macOS"},
		{"tokens past the scan bound are ignored", strings.Repeat("x", maxScan) + " (Windows NT 10.0) Firefox/133.0", "Unknown browser"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Summary(tt.ua); got != tt.want {
				t.Errorf("Summary(%q) = %q, want %q", tt.ua, got, tt.want)
			}
		})
	}
}

// summaries is every string Summary may return, written out here rather
// than taken from the package, so that a change to the vocabulary, or any
// path that lets the input through, shows up as a test failure.
func summaries() map[string]bool {
	browsers := []string{"Edge", "Opera", "Samsung Internet", "Vivaldi", "Firefox", "Chromium", "Chrome",
		"Internet Explorer", "Safari", "curl", "Wget", "Go HTTP client", "Unknown browser"}
	systems := []string{"iPhone", "iPad", "iPod", "Android", "ChromeOS", "Windows", "macOS", "FreeBSD", "Linux"}
	set := map[string]bool{}
	for _, b := range browsers {
		set[b] = true
		for _, s := range systems {
			set[b+" on "+s] = true
		}
	}
	return set
}

func FuzzSummary(f *testing.F) {
	f.Add("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0")
	f.Add("Mozilla/5.0 (iPhone; CPU iPhone OS 17_7 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) FxiOS/133.0 Mobile/15E148 Safari/605.1.15")
	f.Add("curl/8.5.0")
	f.Add("Firefox|admin|<script>alert(1)</script>")
	f.Add("")
	allowed := summaries()
	f.Fuzz(func(t *testing.T, ua string) {
		got := Summary(ua)
		if !allowed[got] {
			t.Fatalf("Summary(%q) = %q, not in the fixed vocabulary", ua, got)
		}
		if strings.Contains(got, "|") {
			t.Fatalf("Summary(%q) = %q contains the record separator", ua, got)
		}
		if len(ua) > maxScan {
			if bounded := Summary(ua[:maxScan]); got != bounded {
				t.Fatalf("Summary read past %d bytes: %q, but %q for the first %d", maxScan, got, bounded, maxScan)
			}
		}
	})
}
