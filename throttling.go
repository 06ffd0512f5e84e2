package sessionauth

import (
	"net"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/throttle"
)

// Throttling is kept in the backend: in Redis, so every instance counts
// together; with files, in this process's memory, shared by every config
// (a reload does not reset a counter). Keys are the normalised username,
// so spelling does not reset them, and Caddy's client_ip, so a forged
// X-Forwarded-For does not either.

// memoryThrottle serves every file-backend site of this process.
var memoryThrottle = throttle.NewMemoryStore()

// accountRule locks an account after too many failed logins.
func (sa *SessionAuth) accountRule() throttle.Rule {
	return throttle.Rule{
		Limit:      sa.AccountLimit.Limit,
		Window:     time.Duration(sa.AccountLimit.Window),
		Lockout:    time.Duration(sa.AccountLockout),
		MaxLockout: time.Duration(sa.AccountMaxLockout),
	}
}

// ipRule refuses a client that tries too often: the attempt after Limit in a
// window is refused until the window ends.
func (sa *SessionAuth) ipRule() throttle.Rule {
	return throttle.Rule{Limit: sa.IPLimit.Limit + 1, Window: time.Duration(sa.IPLimit.Window)}
}

func (sa *SessionAuth) accountKey(username string) string {
	return "account:" + sa.throttleScope + username
}

// ipKey groups IPv6 clients by /64, the block one host usually holds, so
// hopping between its addresses does not escape the limit.
func ipKey(r *http.Request) string {
	host := clientIP(r)
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	if ip := net.ParseIP(host); ip != nil && ip.To4() == nil {
		return "ip:" + ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
	}
	return "ip:" + host
}

// admitClient counts one login or registration attempt from the client
// and tells whether it may go on; when not, it has answered 429.
func (sa *SessionAuth) admitClient(w http.ResponseWriter, r *http.Request) (bool, error) {
	until, err := sa.throttle.Hit(r.Context(), sa.throttleScope+ipKey(r), sa.ipRule(), now())
	if err != nil {
		return false, sa.unavailable(w, r, "throttle", err)
	}
	if until.IsZero() {
		return true, nil
	}
	sa.logger.Warn("client over the attempt limit", zap.String("client_ip", clientIP(r)), zap.Time("until", until))
	w.Header().Set("Retry-After", retryAfter(until))
	return false, sa.message(w, r, http.StatusTooManyRequests, "Too many attempts",
		"There were too many attempts from your network. Wait a while and try again.")
}

// admitBcrypt waits for a bcrypt slot; when the server is saturated it has
// answered 503, quickly, instead.
func (sa *SessionAuth) admitBcrypt(w http.ResponseWriter, r *http.Request, what string) (func(), error) {
	release, ok := bcryptAdmission.enter(r.Context())
	if ok {
		return release, nil
	}
	if c := sa.logger.Check(zap.InfoLevel, "busy: "+what+" turned away"); c != nil {
		c.Write(zap.String("client_ip", clientIP(r)))
	}
	w.Header().Set("Retry-After", "2")
	return nil, sa.message(w, r, http.StatusServiceUnavailable, "Busy, try again",
		"The site is handling many logins right now. Please try again in a moment.")
}

// retryAfter is the Retry-After value, in whole seconds, for a block that
// lasts until until.
func retryAfter(until time.Time) string {
	return strconv.Itoa(max(int(until.Sub(now()).Seconds())+1, 1))
}
