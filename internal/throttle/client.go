package throttle

import "net"

// ClientKey is the counter key of a client IP: IPv4 addresses as they are,
// IPv6 addresses by their /64, the block one host usually holds, so that
// hopping between its addresses does not escape a limit. A port, if any,
// is dropped; anything that is no IP is kept as it is.
func ClientKey(ip string) string {
	if h, _, err := net.SplitHostPort(ip); err == nil {
		ip = h
	}
	if parsed := net.ParseIP(ip); parsed != nil && parsed.To4() == nil {
		return parsed.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return ip
}
