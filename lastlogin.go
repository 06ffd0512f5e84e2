package sessionauth

import (
	"context"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// noteLogin records on the account when it last logged in (with a
// password, a second step or a passkey), for the admin page. It is stored
// rather than derived from the sessions, which end at logout and expire.
// Best effort: the login has succeeded and its session is made, so a
// failure here (the backend slow or down, the account gone meanwhile) is
// logged at debug and never fails the login, nor holds it up for long. It
// costs one account write per login, next to the login's bcrypt work.
func (sa *SessionAuth) noteLogin(ctx context.Context, username string) {
	ctx, cancel := context.WithTimeout(ctx, noteLoginTimeout)
	defer cancel()
	at := now()
	if err := sa.users.Update(ctx, username, func(a *users.Account) error { a.LastLogin = at; return nil }); err != nil {
		sa.debug("recording the last login", err)
	}
}

// noteLoginTimeout bounds the write of noteLogin.
const noteLoginTimeout = 2 * time.Second
