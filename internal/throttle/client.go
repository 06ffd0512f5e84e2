package throttle

import (
	"net"
	"net/netip"
)

// ClientKey is the counter key of a client IP: IPv4 addresses as they are,
// IPv6 addresses by their /64, the block one host usually holds, so that
// hopping between its addresses does not escape a limit. A port and an
// IPv6 zone are dropped, and an IPv4-mapped IPv6 address counts as the
// IPv4 address it maps, so one client has one key however it is spelled.
// Anything that is no IP is kept as it is.
func ClientKey(ip string) string {
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	addr, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	// Unmap and PrefixFrom both drop the zone.
	if addr = addr.Unmap(); addr.Is4() {
		return addr.String()
	}
	return netip.PrefixFrom(addr, 64).Masked().String()
}
