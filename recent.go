package sessionauth

import (
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// Recent authentication (DESIGN.md rule 18, ORY Kratos's privileged
// session): a sensitive action wants a credential proved a short while
// ago, not merely a session made a short while ago. A session's
// AuthenticatedAt is set by a login and by a password typed again (the
// admin page's confirmation, a password or factor change), and a
// re-issued session (session.Manager.Reissue: log out everywhere else,
// and the same changes) keeps it, so that neither a stale browser nor a
// stolen cookie can make itself recent.

// reauthAfter is how long a proved credential counts as recent: a browser
// left logged in must not let a passer-by run the site.
const reauthAfter = 10 * time.Minute

// recentlyAuthenticated tells whether the session's user proved a
// credential (password, second factor, passkey) at most reauthAfter ago.
func recentlyAuthenticated(s session.Session) bool {
	return now().Sub(s.AuthenticatedAt) <= reauthAfter
}
