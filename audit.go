package sessionauth

import (
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
)

// maxAgentLength bounds the user agent kept in a line: the header is the
// client's to choose.
const maxAgentLength = 256

// auditEvent writes one audit line. user is the account concerned (empty
// when the name typed was no valid username), sessionID the session
// concerned or "".
func (sa *SessionAuth) auditEvent(r *http.Request, msg, event, user, sessionID string, fields ...zap.Field) {
	agent := r.UserAgent()
	if len(agent) > maxAgentLength {
		agent = agent[:maxAgentLength]
	}
	base := []zap.Field{
		zap.String("event", event),
		zap.String("user", user),
		zap.String("realm", sa.Realm),
		zap.String("client_ip", clientIP(r)),
		zap.String("user_agent", agent),
	}
	if sessionID != "" {
		base = append(base, zap.String("session", session.Ref(sessionID)))
	}
	sa.audit.Info(msg, append(base, fields...)...)
}
