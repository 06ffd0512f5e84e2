package sessionauth

import (
	"context"
	"errors"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// noteLogin records on the account when it last logged in (with a
// password, a second step or a passkey), for the admin page. It is stored
// rather than derived from the sessions, which end at logout and expire.
// Best effort: the login has succeeded and its session is made, so a
// failure here (the backend slow or down, the account gone meanwhile) is
// logged at debug and never fails the login, nor holds it up for long.
//
// It writes at most once a minute per account (see lastLoginGranularity):
// with the file backend each write rewrites the users file, so a login
// loop must not keep the server rewriting it.
func (sa *SessionAuth) noteLogin(ctx context.Context, username string) {
	ctx, cancel := context.WithTimeout(ctx, noteLoginTimeout)
	defer cancel()
	at := now()
	err := sa.users.Update(ctx, username, func(a *users.Account) error {
		if since := at.Sub(a.LastLogin); since >= 0 && since < lastLoginGranularity {
			return errLoginNotedRecently // nothing is written
		}
		a.LastLogin = at
		return nil
	})
	if err != nil && !errors.Is(err, errLoginNotedRecently) {
		sa.debug("recording the last login", err)
	}
}

// lastLoginGranularity is how close to the time of a login the stored last
// login is kept: the admin page shows it to the minute.
const lastLoginGranularity = time.Minute

// errLoginNotedRecently stops noteLogin's update when the stored last
// login is recent enough: not a failure.
var errLoginNotedRecently = errors.New("the last login was noted less than a minute ago")

// noteLoginTimeout bounds the write of noteLogin.
const noteLoginTimeout = 2 * time.Second
