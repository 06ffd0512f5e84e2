package sessionauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// The audit log holds one line per security-relevant action, on the
// logger http.handlers.session_auth.audit, so that Caddy's log directive
// can send it to a file of its own. Each line says what happened (event),
// to which account (user), in which realm, from where (client_ip,
// user_agent), and names the session concerned by its reference, a hash
// that cannot be turned back into the cookie. It never holds a password,
// a hash, a link's token or a session id.

// auditName names the audit logger under the handler module's logger;
// auditLogger is its whole name, which Caddy's log blocks route.
const (
	auditName   = "audit"
	auditLogger = "http.handlers.session_auth." + auditName
)

// Audit events: the value of the "event" field.
const (
	eventLogin               = "login"
	eventLoginFailed         = "login_failed"          // reason says why
	eventAccountLocked       = "account_locked"        // failed logins locked the account
	eventClientBlocked       = "client_blocked"        // a client's failures reached the limit
	eventLogout              = "logout"                // the user ended their session
	eventRegister            = "register"              // an account was made at the registration page
	eventPasswordChange      = "password_change"       // on the account page
	eventPasswordReset       = "password_reset"        // with a one-time link
	eventSessionEnded        = "session_ended"         // the user ended one of their other sessions
	eventPasswordCheckFailed = "password_check_failed" // a logged-in user's password confirmation was wrong
	eventSessionsEnded       = "sessions_ended"        // the user ended all their other sessions
	eventAdminAction         = "admin_action"          // action says which, admin who
	eventUnlock              = "unlock"                // an operator lifted the locks
	eventAccessDenied        = "access_denied"         // an access rule refused a logged-in user
	eventSecondFactorAsked   = "second_factor_asked"   // the password was right; a second factor is asked (or set up) next
	eventSecondFactorAdded   = "second_factor_added"   // factor says which
	eventSecondFactorRemoved = "second_factor_removed" // factor says which; by says who
	eventRecoveryCodesNew    = "recovery_codes_new"    // the user made a new set of recovery codes
)

// maxAgentLength bounds the user agent kept in a line: the header is the
// client's to choose.
const maxAgentLength = 256

// auditEvent writes one audit line. user is the account concerned (empty
// when the name typed is no account's: see nameHash), sessionID the
// session concerned or "".
func (sa *SessionAuth) auditEvent(r *http.Request, msg, event, user, sessionID string, fields ...zap.Field) {
	audit(sa.audit, r, msg, event, user, sa.Realm, clientIP(r), sessionID, fields...)
}

// audit writes one audit line on logger: see auditEvent.
func audit(logger *zap.Logger, r *http.Request, msg, event, user, realm, clientIP, sessionID string, fields ...zap.Field) {
	agent := r.UserAgent()
	if len(agent) > maxAgentLength {
		agent = agent[:maxAgentLength]
	}
	base := []zap.Field{
		zap.String("event", event),
		zap.String("user", user),
		zap.String("realm", realm),
		zap.String("client_ip", clientIP),
		zap.String("user_agent", agent),
	}
	if sessionID != "" {
		base = append(base, zap.String("session", session.Ref(sessionID)))
	}
	logger.Info(msg, append(base, fields...)...)
}

// nameHash is what the audit log keeps of a name typed at a login that is
// no account's: people type passwords into the username field, and such a
// name must not reach the log in clear. It is an HMAC keyed from the
// realm's newest signing key, 24 hex digits: the same name gives the same
// hash within the realm, so an operator can still tell one guesser's
// attempts apart, and nobody without the key can test guesses against it.
// It is "" while the keys cannot be had (the login has failed for that
// reason anyway).
func (sa *SessionAuth) nameHash(name string) string {
	k, err := sa.keyed.get()
	if err != nil {
		return ""
	}
	mac := hmac.New(sha256.New, k.names)
	mac.Write([]byte(name))
	return hex.EncodeToString(mac.Sum(nil)[:12])
}

// unknownName is the audit field that names a login's typed name when it
// is no account's: user is left empty, user_hash stands in for it.
func (sa *SessionAuth) unknownName(typed string) zap.Field {
	return zap.String("user_hash", sa.nameHash(typed))
}
