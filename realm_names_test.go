package sessionauth

import (
	"slices"
	"strings"
	"testing"
)

// TestRealmFromAddresses: a site block that names no realm gets the lowest,
// in sort order, of its addresses' hosts, lower-cased, with a port other
// than 80 and 443 added; the result is always a valid realm.
func TestRealmFromAddresses(t *testing.T) {
	long := strings.Repeat("a", 70) + ".example"
	for _, tc := range []struct {
		name string
		keys []string
		want string // "" for none
	}{
		{"one host", []string{"example.com"}, "example.com"},
		{"capitals", []string{"Example.COM"}, "example.com"},
		{"port added", []string{"http://localhost:9080"}, "localhost-9080"},
		{"https on another port", []string{"https://example.com:8443"}, "example.com-8443"},
		{"port 443 left out", []string{"example.com:443"}, "example.com"},
		{"port 80 left out", []string{"http://example.com:80"}, "example.com"},
		{"a path is no part of it", []string{"example.com/path"}, "example.com"},
		{"lowest host of several", []string{"www.example.com", "example.com"}, "example.com"},
		{"lowest host, other order", []string{"example.com", "www.example.com"}, "example.com"},
		{"an address that sorts after keeps it", []string{"example.com", "www.example.com", "zzz.example.com"}, "example.com"},
		{"sorted with its port", []string{"b.example", "a.example:8080"}, "a.example-8080"},
		{"same host on two ports", []string{"example.com:8443", "example.com"}, "example.com"},
		{"wildcard", []string{"*.example.com"}, "site-_.example.com"},
		{"wildcard beside a plain host", []string{"*.example.com", "example.com"}, "example.com"},
		{"IPv6 host with a port", []string{"[::1]:8080"}, "site-__1-8080"},
		{"IPv6 host", []string{"https://[2001:db8::1]"}, "2001_db8__1"},
		{"IPv4 host", []string{"http://127.0.0.1:9080"}, "127.0.0.1-9080"},
		{"no host", []string{":8080"}, "any-8080"},
		{"no host on 443", []string{":443"}, "any"},
		{"no host over http", []string{"http://"}, "any"},
		{"starts with a symbol", []string{"-foo.example"}, "site--foo.example"},
		{"non-ASCII host", []string{"é.example"}, "site-__.example"},
		{"over-long host cut to 64", []string{long}, long[:64]},
		{"over-long host with a port cut to 64", []string{long + ":8080"}, long[:64]},
		{"an address that does not parse is skipped", []string{"example.com:abc", "z.example"}, "z.example"},
		{"no address that parses", []string{"example.com:abc"}, ""},
		{"no address", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := realmFromAddresses(tc.keys)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("realmFromAddresses(%q) = %q, %v; want %q, %v", tc.keys, got, ok, tc.want, tc.want != "")
			}
			if ok && !validRealm.MatchString(got) {
				t.Fatalf("realmFromAddresses(%q) = %q, which is no valid realm", tc.keys, got)
			}
			// The order of a site's addresses never matters.
			reversed := slices.Clone(tc.keys)
			slices.Reverse(reversed)
			if again, _ := realmFromAddresses(reversed); again != got {
				t.Fatalf("realmFromAddresses(%q) = %q, but %q in reverse order", tc.keys, got, again)
			}
		})
	}
}

// TestRealmName: a host maps to a valid realm: characters a realm may not
// hold become "_", a name that does not start with a letter or digit gets
// "site-" in front, and the whole is cut to 64 characters.
func TestRealmName(t *testing.T) {
	for _, tc := range []struct{ host, want string }{
		{"example.com", "example.com"},
		{"a", "a"},
		{"0.example", "0.example"},
		{"my_site.example", "my_site.example"},
		{"localhost-9080", "localhost-9080"},
		{"*.example.com", "site-_.example.com"},
		{"a*b", "a_b"},
		{"a/b", "a_b"},
		{"::1", "site-__1"},
		{"-", "site--"},
		{".x", "site-.x"},
		{"_x", "site-_x"},
		{"@@", "site-__"},
		{"", "site-"},
		{strings.Repeat("b", 64), strings.Repeat("b", 64)},
		{strings.Repeat("b", 65), strings.Repeat("b", 64)},
		{"-" + strings.Repeat("c", 70), ("site--" + strings.Repeat("c", 70))[:64]},
	} {
		t.Run(tc.host, func(t *testing.T) {
			got := realmName(tc.host)
			if got != tc.want {
				t.Fatalf("realmName(%q) = %q, want %q", tc.host, got, tc.want)
			}
			if !validRealm.MatchString(got) {
				t.Fatalf("realmName(%q) = %q, which is no valid realm", tc.host, got)
			}
		})
	}
}
