package session

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gorilla/securecookie"
)

func TestCookieValue(t *testing.T) {
	for _, tc := range []struct {
		name    string
		headers []string // Cookie header lines
		want    string
		// net/http reads the same value (for well-formed headers)
		sameAsNetHTTP bool
	}{
		{"only cookie", []string{"sid=abc"}, "abc", true},
		{"first of several", []string{"sid=abc; other=x; third=y"}, "abc", true},
		{"last of several", []string{"a=1; b=2; sid=abc"}, "abc", true},
		{"no space after semicolons", []string{"a=1;sid=abc;b=2"}, "abc", true},
		{"spaces and tabs around", []string{"a=1;  \tsid=abc \t; b=2"}, "abc", false},
		{"trailing semicolon", []string{"sid=abc;"}, "abc", true},
		{"longer name with the same start", []string{"sidx=wrong; sid=abc"}, "abc", true},
		{"only a longer name", []string{"sidx=wrong"}, "", true},
		{"shorter name that is a prefix", []string{"si=wrong; s=wrong"}, "", true},
		{"name inside another's value", []string{"x=sid=wrong"}, "", true},
		{"name with a prefix", []string{"__Host-sid=wrong; xsid=wrong"}, "", true},
		{"duplicate name: the first", []string{"sid=first; sid=second"}, "first", true},
		{"duplicate across header lines: the first", []string{"a=1", "sid=first", "sid=second"}, "first", true},
		{"in the second header line", []string{"a=1; b=2", "c=3; sid=abc"}, "abc", true},
		{"empty value", []string{"sid=; other=x"}, "", true},
		{"name without =", []string{"sid; other=x"}, "", true},
		{"empty header", []string{""}, "", true},
		{"no header", nil, "", true},
		{"only semicolons", []string{";;; ;"}, "", true},
		{"value with = in it", []string{"sid=abc==; x=1"}, "abc==", true},
		{"value taken as sent (quotes kept)", []string{`sid="abc"`}, `"abc"`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for _, h := range tc.headers {
				r.Header.Add("Cookie", h)
			}
			if got := CookieValue(r, "sid"); got != tc.want {
				t.Fatalf("CookieValue(%q) = %q; want %q", tc.headers, got, tc.want)
			}
			if tc.sameAsNetHTTP {
				var std string
				if c, err := r.Cookie("sid"); err == nil {
					std = c.Value
				}
				if std != tc.want {
					t.Fatalf("net/http reads %q from %q; the table wants %q", std, tc.headers, tc.want)
				}
			}
		})
	}
}

// TestCookieValueAllocatesNothing: the gate runs it on every request.
func TestCookieValueAllocatesNothing(t *testing.T) {
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("Cookie", "_ga=GA1.2.3; theme=dark; sidx=no; sid=MTcwMDAwMDAwMHxhYmN8ZGVm; lang=en")
	var got string
	allocs := testing.AllocsPerRun(200, func() { got = CookieValue(r, "sid") })
	if got != "MTcwMDAwMDAwMHxhYmN8ZGVm" {
		t.Fatalf("CookieValue = %q", got)
	}
	if allocs != 0 {
		t.Fatalf("CookieValue allocates %v times per call; want 0", allocs)
	}
}

func TestIDCodecRoundTripAndRefusals(t *testing.T) {
	codec := NewIDCodec(testSecret, 3600)
	id := NewID()
	value, err := codec.Encode("sid", id)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(value, id) {
		t.Fatal("the cookie carries the id in clear, readable without the key's check")
	}
	var back string
	if err := codec.Decode("sid", value, &back); err != nil || back != id {
		t.Fatalf("Decode = %q, %v; want %q", back, err, id)
	}
	if err := codec.Decode("other", value, &back); err == nil {
		t.Fatal("a value signed for one cookie name decodes under another")
	}
	if err := NewIDCodec([]byte("another key, also 32 bytes long!"), 3600).Decode("sid", value, &back); err == nil {
		t.Fatal("a value signed with another key decodes")
	}
	if _, err := codec.Encode("sid", 42); err == nil {
		t.Fatal("Encode took a non-string")
	}
	var n int
	if err := codec.Decode("sid", value, &n); err == nil {
		t.Fatal("Decode filled a non-string")
	}
	// codecs: the first key signs, every key verifies.
	cs := codecs([][]byte{[]byte("the new key, which signs, 32 b.!"), testSecret}, 3600)
	signed, err := securecookie.EncodeMulti("sid", id, cs...)
	if err != nil {
		t.Fatal(err)
	}
	if err := cs[0].Decode("sid", signed, &back); err != nil {
		t.Fatal("EncodeMulti did not sign with the first key")
	}
	if err := securecookie.DecodeMulti("sid", value, &back, cs...); err != nil || back != id {
		t.Fatalf("a value signed with the older key does not verify: %v", err)
	}
}
