package sessionstore

import "golang.org/x/sys/unix"

// unreadIoctl asks a socket how many received bytes wait unread.
const unreadIoctl = unix.TIOCINQ
