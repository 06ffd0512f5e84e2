package sessionauth

import (
	"crypto/sha256"
	"encoding/hex"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// changed is the realm of an address whose name had to be changed: kept,
// the name as changed and cut, then "-" and 12 hex digits of the SHA-256
// of host and port.
func changed(kept, host, port string) string {
	sum := sha256.Sum256([]byte(host + "\x00" + port))
	return kept + "-" + hex.EncodeToString(sum[:])[:12]
}

// TestRealmFromAddresses: a site block that names no realm gets the lowest,
// in sort order, of its addresses' realms: the host, lower-cased, with a
// port other than 80 and 443 added, when that is a realm no other address
// could make; otherwise that name made valid, cut, and ended with a hash of
// the host and port. The result is always a valid realm.
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
		{"wildcard", []string{"*.example.com"}, changed("site-_.example.com", "*.example.com", "")},
		{"wildcard beside a plain host", []string{"*.example.com", "example.com"}, "example.com"},
		{"IPv6 host with a port", []string{"[::1]:8080"}, changed("site-__1-8080", "::1", "8080")},
		{"IPv6 host", []string{"https://[2001:db8::1]"}, changed("2001_db8__1", "2001:db8::1", "")},
		{"IPv4 host", []string{"http://127.0.0.1:9080"}, "127.0.0.1-9080"},
		{"no host", []string{":8080"}, "any-8080"},
		{"no host on 443", []string{":443"}, "any"},
		{"no host over http", []string{"http://"}, "any"},
		{"a host called any", []string{"any:8080"}, changed("any-8080", "any", "8080")},
		{"a host that ends as a port would", []string{"web-8080"}, changed("web-8080", "web-8080", "")},
		{"a host that ends as a hash would", []string{"web-0123456789ab"}, changed("web-0123456789ab", "web-0123456789ab", "")},
		{"a reserved name", []string{"session"}, changed("session", "session", "")},
		{"starts with a symbol", []string{"-foo.example"}, changed("site--foo.example", "-foo.example", "")},
		{"non-ASCII host", []string{"é.example"}, changed("site-__.example", "é.example", "")},
		{"over-long host cut", []string{long}, changed(long[:51], long, "")},
		{"over-long host with a port cut", []string{long + ":8080"}, changed(long[:51], long, "8080")},
		{"an address that does not parse is skipped", []string{"example.com:abc", "z.example"}, "z.example"},
		{"no address that parses", []string{"example.com:abc"}, ""},
		{"no address", nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := realmFromAddresses(tc.keys)
			if got != tc.want || ok != (tc.want != "") {
				t.Fatalf("realmFromAddresses(%q) = %q, %v; want %q, %v", tc.keys, got, ok, tc.want, tc.want != "")
			}
			if ok && (!validRealm.MatchString(got) || checkRealm(got) != nil) {
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

// TestDistinctAddressesGiveDistinctRealms: two site blocks never share a
// realm unless both name it (rule 14), so no two of these addresses, each
// a site block of its own, may derive the same realm: not by a character
// replaced (ü and ö both become "_"), nor by a cut (hosts that differ
// after the 64th character, or only in their port), nor by a name that
// another address makes as it is.
func TestDistinctAddressesGiveDistinctRealms(t *testing.T) {
	long := strings.Repeat("a", 70) + ".example"
	longer := strings.Repeat("b", 63)
	addresses := []string{
		"münchen.example", "mönchen.example", "m_nchen.example", "site-m__nchen.example",
		long, long[:len(long)-1] + "f", long + ":8080", long + ":8081",
		longer + "1.example", longer + "2.example",
		"web:8080", "web-8080", "web-8080:8081",
		":8080", "any:8080", "any-8080", "any", ":9090", "http://",
		"*.example.com", "_.example.com", "site-_.example.com", "x*.example.com",
		"[::1]:8080", "__1:8080", "[::2]:8080",
		"example.com", "example.com:8443", "example.com-8443",
		"session", "session-1", "user", "cookie_key", "throttle",
		"web-0123456789ab", "web",
	}
	// Every changed name made above, as a host of its own: a site may
	// happen to be called that.
	var again []string
	for _, a := range addresses {
		realm, ok := realmFromAddresses([]string{a})
		if !ok {
			t.Fatalf("%q gives no realm", a)
		}
		again = append(again, realm)
	}
	addresses = append(addresses, again...)
	seen := map[string]string{}
	for _, a := range addresses {
		realm, ok := realmFromAddresses([]string{a})
		if !ok || checkRealm(realm) != nil {
			t.Fatalf("%q gives realm %q, %v: no valid realm", a, realm, ok)
		}
		if other, taken := seen[realm]; taken && !sameSite(a, other) {
			t.Errorf("%q and %q both give realm %q", other, a, realm)
		}
		seen[realm] = a
	}
}

// sameSite tells whether two addresses are one site: the same address
// given twice (the list above holds each changed name as a host too, and
// a name that needs no change is its own realm).
func sameSite(a, b string) bool { return a == b }

// TestRealmNameKeepsNamesThatNeedNoChange: a host and port that make a
// valid realm nothing else could make are the realm as they are; the
// others end in "-" and 12 hex digits, after at most 51 characters of the
// name made valid.
func TestRealmNameKeepsNamesThatNeedNoChange(t *testing.T) {
	hashed := regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,50}-[0-9a-f]{12}$`)
	for _, tc := range []struct {
		host, port string
		kept       bool
	}{
		{"example.com", "", true},
		{"a", "", true},
		{"0.example", "", true},
		{"my_site.example", "", true},
		{"localhost", "9080", true},
		{"", "8080", true},
		{"", "", true},
		{strings.Repeat("b", 64), "", true},
		{strings.Repeat("b", 59), "8080", true},
		{strings.Repeat("b", 65), "", false},
		{strings.Repeat("b", 60), "18080", false},
		{"*.example.com", "", false},
		{"a*b", "", false},
		{"a/b", "", false},
		{"::1", "", false},
		{"-", "", false},
		{".x", "", false},
		{"_x", "", false},
		{"localhost-9080", "", false},
		{"web-0123456789ab", "", false},
		{"web", "123456789012", false}, // a port that ends as a hash would
		{"any", "", false},
		{"user", "", false},
		{"throttle", "", false},
	} {
		t.Run(tc.host+":"+tc.port, func(t *testing.T) {
			got := realmName(tc.host, tc.port)
			plain := tc.host
			if plain == "" {
				plain = "any"
			}
			if tc.port != "" {
				plain += "-" + tc.port
			}
			switch {
			case checkRealm(got) != nil:
				t.Fatalf("realmName(%q, %q) = %q, which is no valid realm: %v", tc.host, tc.port, got, checkRealm(got))
			case tc.kept && got != plain:
				t.Fatalf("realmName(%q, %q) = %q, want %q as it is", tc.host, tc.port, got, plain)
			case !tc.kept && !hashed.MatchString(got):
				t.Fatalf("realmName(%q, %q) = %q, want a name ending in - and 12 hex digits", tc.host, tc.port, got)
			}
		})
	}
}
