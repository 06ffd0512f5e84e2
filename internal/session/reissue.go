package session

import (
	"net/http"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Reissue gives the login of old, the request's session, a new session id,
// after "log out everywhere else", a password change, a change of second
// factors or a confirmed password. It is the same login under a new id,
// so it keeps old's Created, absolute Expires and Remember whatever the
// clock says: no re-issue ever lengthens a login's life, and one past its
// deadlines stays dead. It keeps where the login came from too (old's IP
// and Agent, which the account page shows), and old's AuthenticatedAt,
// unless proved says that this very request proved a credential (the
// password typed into the form), which then dates it now (DESIGN.md rule
// 18): a fresh id is never a fresh proof. acct is the account as it is
// now (its stamp may be new); factors are the login's from now on.
//
// It ends old's session first. Callers that renewed the stamp have
// usually ended it already, with every other one (EndAllFor); ending it
// again is then a no-op, and the new session is made from old as the
// caller read it, not from the store.
func (m *Manager) Reissue(w http.ResponseWriter, r *http.Request, old Session, acct users.Account, factors string, proved bool) (Session, error) {
	name := m.CookieName(r)
	codecs, err := m.Codecs()
	if err != nil {
		return Session{}, err
	}
	if _, err := m.store.End(r.Context(), old.ID); err != nil {
		return Session{}, err
	}
	now := m.cfg.Now()
	rec := Record{
		User:            acct.Username,
		Stamp:           acct.Stamp,
		Created:         old.Created,
		Seen:            now,
		Expires:         old.Expires,
		Remember:        old.Remember,
		IP:              old.IP,
		Agent:           old.Agent,
		Factors:         clean(factors),
		AuthenticatedAt: old.AuthenticatedAt,
	}
	if proved {
		rec.AuthenticatedAt = now
	}
	id, err := m.store.Create(r.Context(), rec, m.ttl(rec, now))
	if err != nil {
		return Session{}, err
	}
	value, err := securecookie.EncodeMulti(name, id, codecs...)
	if err != nil {
		return Session{}, err
	}
	maxAge := 0 // with the browser
	if rec.Remember {
		// The cookie ends with the login it carries, not a lifetime later.
		maxAge = max(int(rec.Expires.Sub(now)/time.Second), 1)
	}
	http.SetCookie(w, m.cookie(r, name, value, maxAge))
	return Session{ID: id, Record: rec, user: rec.User, factors: rec.Factors, roles: newRoles(acct.Roles)}, nil
}
