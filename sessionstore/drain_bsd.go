//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package sessionstore

// unreadIoctl is FIONREAD, _IOR('f', 127, int): the same on every BSD and
// on macOS, where x/sys/unix does not name it.
const unreadIoctl = 0x4004667f
