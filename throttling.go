package sessionauth

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/throttle"
)

// Throttling is kept in the backend: in Redis, so every instance counts
// together; with files, in this process's memory, shared by every config
// (a reload does not reset a counter). Keys are the normalised username,
// so spelling does not reset them, and Caddy's client_ip, so a forged
// X-Forwarded-For does not either.

// accountRule locks an account, or a known device's budget for it, after
// too many failed logins.
func (sa *SessionAuth) accountRule() throttle.Rule {
	return throttle.Rule{
		Limit:      sa.AccountLimit.Limit,
		Window:     time.Duration(sa.AccountLimit.Window),
		Lockout:    time.Duration(sa.AccountLockout),
		MaxLockout: time.Duration(sa.AccountMaxLockout),
	}
}

// ipRule refuses a client whose failures reached the limit until its
// window ends.
func (sa *SessionAuth) ipRule() throttle.Rule {
	return throttle.Rule{Limit: sa.IPLimit.Limit, Window: time.Duration(sa.IPLimit.Window)}
}

// lockKey is the counter a login for user from this browser is judged on:
// the browser's own when it is a known device for user, else the account's.
func (sa *SessionAuth) lockKey(user, device string) string {
	if device != "" {
		return devicesKeyPrefix(sa.scope, user) + device
	}
	return accountKey(sa.scope, user)
}

// accountKey is the counter of user's account under scope.
func accountKey(scope, user string) string { return scope + "account:" + user }

// devicesKeyPrefix starts the counters of all of user's known browsers
// under scope; the colon after the name keeps "al" from reaching "alice",
// since usernames hold no colon.
func devicesKeyPrefix(scope, user string) string { return scope + "device:" + user + ":" }

// unlockAccount lifts every lock that failed logins put on user under
// scope: the account's, and each of its known browsers'. A browser that
// its owner locked by mistyping is judged on its own key alone, so lifting
// only the account's lock would leave the owner locked out of it.
func unlockAccount(ctx context.Context, store throttle.Store, scope, user string) error {
	if err := store.Reset(ctx, accountKey(scope, user)); err != nil {
		return err
	}
	return store.ResetPrefix(ctx, devicesKeyPrefix(scope, user))
}

// clientKey groups IPv6 clients by /64, the block one host usually holds,
// so hopping between its addresses does not escape the limit.
func (sa *SessionAuth) clientKey(r *http.Request) string {
	return sa.scope + "ip:" + throttle.ClientKey(clientIP(r))
}

// clientRefused answers 429 when the client's failures are over the limit,
// or 503 when the counter cannot be read. A result other than "" (a login
// result: loginThrottled or loginBackendDown) tells the caller it has
// answered: return err and do nothing more.
func (sa *SessionAuth) clientRefused(w http.ResponseWriter, r *http.Request) (result string, err error) {
	until, err := sa.throttle.Blocked(r.Context(), sa.clientKey(r), now())
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "throttle", err)
	}
	if until.IsZero() {
		return "", nil
	}
	w.Header().Set("Retry-After", retryAfter(until))
	return loginThrottled, sa.message(w, r, http.StatusTooManyRequests, "throttled", "Too many attempts",
		"There were too many failed attempts from your network. Wait a while and try again.")
}

// countClientFailure counts a failed login, a registration or a logout of
// a dead session against the client, and logs the block it may cause.
func (sa *SessionAuth) countClientFailure(ctx context.Context, r *http.Request) error {
	until, err := sa.throttle.Hit(ctx, sa.clientKey(r), sa.ipRule(), now())
	if err != nil {
		return err
	}
	if !until.IsZero() {
		sa.auditEvent(r, "client over the failure limit", eventClientBlocked, "", "", zap.Time("until", until))
	}
	return nil
}

// bcryptAdmission is shared by every handler in the process, like the
// cores it shares out.
var bcryptAdmission = throttle.NewBcryptAdmission()

// admissionKey is who a bcrypt computation is for, for the admission's
// fair shares (rule 19): the client IP (IPv6 by /64), in every realm, as
// the cores are. Not the device: a device cookie stands for one account,
// so a client holding several accounts' cookies would get a share for
// each; and a known device whose budget is spent gets no bcrypt at all
// (see login).
func admissionKey(r *http.Request) string { return throttle.ClientKey(clientIP(r)) }

// inBcryptSlot runs work once a bcrypt slot is free; when the server is
// saturated and this client holds its fair share of the queue it answers
// 503, quickly, instead, and answered tells the caller to return err.
func (sa *SessionAuth) inBcryptSlot(w http.ResponseWriter, r *http.Request, what string, work func()) (answered bool, err error) {
	release, ok := bcryptAdmission.Enter(r.Context(), admissionKey(r))
	if ok {
		defer release()
		work()
		return false, nil
	}
	if c := sa.logger.Check(zap.InfoLevel, "busy: "+what+" turned away"); c != nil {
		c.Write(zap.String("client_ip", clientIP(r)))
	}
	w.Header().Set("Retry-After", "2")
	return true, sa.message(w, r, http.StatusServiceUnavailable, "busy", "Busy, try again",
		"The site is handling many logins right now. Please try again in a moment.")
}

// retryAfter is the Retry-After value, in whole seconds, for a block that
// lasts until until.
func retryAfter(until time.Time) string {
	return strconv.Itoa(max(int(until.Sub(now()).Seconds())+1, 1))
}
