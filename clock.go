package sessionauth

import (
	"sync/atomic"
	"time"
)

// clockSkew moves the plugin's clock in tests, so idle and absolute expiry
// can be tested without sleeping. It is always zero in production.
var clockSkew atomic.Int64

// now is the time every session deadline is measured against.
func now() time.Time {
	return time.Now().Add(time.Duration(clockSkew.Load()))
}
