package sessionauth

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestIsBrowserPageLoad: only a GET or HEAD whose Accept names text/html is
// a browser opening a page (sent to the login page); anything else is a
// script or a form, which gets 401.
func TestIsBrowserPageLoad(t *testing.T) {
	const chrome = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8"
	for _, tc := range []struct {
		name   string
		method string
		accept []string // one header line each
		want   bool
	}{
		{"GET from a browser", http.MethodGet, []string{chrome}, true},
		{"HEAD from a browser", http.MethodHead, []string{chrome}, true},
		{"GET of text/html alone", http.MethodGet, []string{"text/html"}, true},
		{"text/html on a second Accept line", http.MethodGet, []string{"application/json", "text/html"}, true},
		{"POST from a browser", http.MethodPost, []string{chrome}, false},
		{"PUT from a browser", http.MethodPut, []string{chrome}, false},
		{"OPTIONS from a browser", http.MethodOptions, []string{chrome}, false},
		{"lower-case get (methods are case-sensitive)", "get", []string{chrome}, false},
		{"GET of JSON", http.MethodGet, []string{"application/json"}, false},
		{"GET of anything (fetch's default)", http.MethodGet, []string{"*/*"}, false},
		{"GET of an image", http.MethodGet, []string{"image/avif,image/webp,*/*"}, false},
		{"GET of XHTML alone", http.MethodGet, []string{"application/xhtml+xml"}, false},
		{"GET without Accept", http.MethodGet, nil, false},
		{"GET with an empty Accept", http.MethodGet, []string{""}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, "/members/x", nil)
			for _, a := range tc.accept {
				r.Header.Add("Accept", a)
			}
			if got := isBrowserPageLoad(r); got != tc.want {
				t.Fatalf("isBrowserPageLoad(%s, Accept %q) = %v, want %v", tc.method, tc.accept, got, tc.want)
			}
		})
	}
}
