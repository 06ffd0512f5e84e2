package throttle

import "testing"

func TestClientKeyGroupsIPv6By64AndKeepsIPv4(t *testing.T) {
	for _, tc := range []struct{ name, ip, want string }{
		{"IPv4 as it is", "192.0.2.1", "192.0.2.1"},
		{"IPv4 neighbours apart", "192.0.2.2", "192.0.2.2"},
		{"IPv4 with a port", "192.0.2.1:54321", "192.0.2.1"},
		{"IPv6 by its /64", "2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"},
		{"IPv6 elsewhere in the same /64", "2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"IPv6 in the next /64", "2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"IPv6 in capitals", "2001:DB8:1:2::ABCD", "2001:db8:1:2::/64"},
		{"IPv6 with a port", "[2001:db8:1:2::1]:443", "2001:db8:1:2::/64"},
		{"IPv6 with a zone", "fe80::1%eth0", "fe80::/64"},
		{"IPv6 with a zone and a port", "[fe80::abcd%eth0]:443", "fe80::/64"},
		{"IPv6 loopback", "::1", "::/64"},
		{"IPv4-mapped IPv6", "::ffff:192.0.2.1", "192.0.2.1"},
		{"IPv4-mapped IPv6 in hex", "::ffff:c000:201", "192.0.2.1"},
		{"IPv4-mapped IPv6 with a port", "[::ffff:192.0.2.1]:80", "192.0.2.1"},
		{"IPv4-mapped IPv6 with a zone", "::ffff:192.0.2.1%eth0", "192.0.2.1"},
		{"garbage as it is", "not an ip", "not an ip"},
		{"empty", "", ""},
		{"IPv4 with leading zeros is no IP", "192.000.002.001", "192.000.002.001"},
		{"a host name with a port loses the port", "example.com:80", "example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := ClientKey(tc.ip); got != tc.want {
				t.Fatalf("ClientKey(%q) = %q; want %q", tc.ip, got, tc.want)
			}
		})
	}
}
