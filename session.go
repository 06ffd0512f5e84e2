package sessionauth

import (
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/sessions"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"

	"github.com/caddy-session-auth/caddy-session-auth/sessionstore"
)

// refreshEvery is how stale the stored idle deadline may get before a
// request pushes it back: most requests then cost one read and no write,
// and the idle timeout is still kept to within this much.
func (sa *SessionAuth) refreshEvery() time.Duration {
	return min(time.Duration(sa.IdleTimeout)/10, time.Minute)
}

// currentSession returns the request's live session record, or a zero one
// when there is none (no cookie, a bad signature, logged out, expired). The
// error is only for a backend that cannot answer.
func (sa *SessionAuth) currentSession(r *http.Request) (sessionstore.Record, error) {
	c, err := r.Cookie(sa.CookieName)
	if err != nil {
		return sessionstore.Record{}, nil
	}
	k, err := sa.sessions.get()
	if err != nil {
		return sessionstore.Record{}, err
	}
	store := k.store
	id, rec, err := store.Lookup(sa.CookieName, c.Value, false)
	at := now()
	if err == nil && sa.expired(rec, at) {
		// A remembered record may lag another instance's refresh: ask the
		// store itself before ending the session.
		id, rec, err = store.Lookup(sa.CookieName, c.Value, true)
	}
	if err != nil {
		if sessionstore.IsBackendError(err) {
			return sessionstore.Record{}, err
		}
		return sessionstore.Record{}, nil
	}
	if sa.expired(rec, at) {
		if err := store.Forget(id); err != nil {
			sa.debug("deleting an expired session", err)
		}
		return sessionstore.Record{}, nil
	}
	if at.Sub(rec.Seen) >= sa.refreshEvery() {
		rec.Seen = at
		sess := sessions.NewSession(store, sa.CookieName)
		sess.ID = id
		sessionstore.Put(sess, rec)
		switch err := store.Touch(sess, sa.recordTTL(rec, at)); {
		case errors.Is(err, sessionstore.ErrNotFound):
			return sessionstore.Record{}, nil // logged out meanwhile
		case err != nil:
			// The record we just read is valid; a failed refresh only means
			// the idle deadline was not pushed back this time.
			sa.debug("refreshing a session", err)
		}
	}
	return rec, nil
}

// expired enforces the idle and absolute deadlines from the stored times:
// the cookie's age proves nothing.
// A remembered session ends only at its (long) lifetime: "remember me for
// 30 days" must not mean "until two idle hours pass".
func (sa *SessionAuth) expired(rec sessionstore.Record, at time.Time) bool {
	return at.After(rec.Expires) || !rec.Remember && at.Sub(rec.Seen) > time.Duration(sa.IdleTimeout)
}

// startSession logs user in with a brand-new session id, after deleting
// the record behind any cookie the browser brought: an id that existed
// before login is never the one that carries it.
func (sa *SessionAuth) startSession(w http.ResponseWriter, r *http.Request, user string, remember bool) error {
	k, err := sa.sessions.get()
	if err != nil {
		return err
	}
	store := k.store
	if old, _ := store.Get(r, sa.CookieName); old != nil && old.ID != "" {
		if err := store.Forget(old.ID); err != nil {
			return err
		}
	}
	lifetime := time.Duration(sa.Lifetime)
	if remember && *sa.RememberMe > 0 {
		lifetime = time.Duration(*sa.RememberMe)
	}
	at := now()
	sess := sessions.NewSession(store, sa.CookieName)
	sess.Options = sa.cookieOptions(r, lifetime)
	sessionstore.Put(sess, sessionstore.Record{
		User:     user,
		Created:  at,
		Seen:     at,
		Expires:  at.Add(lifetime),
		Remember: remember,
	})
	return store.Save(r, w, sess)
}

// endSession deletes the session on the server and expires its cookie with
// the same name, path and attributes it was set with.
func (sa *SessionAuth) endSession(w http.ResponseWriter, r *http.Request) error {
	if _, err := r.Cookie(sa.CookieName); err != nil {
		return nil
	}
	k, err := sa.sessions.get()
	if err != nil {
		return err
	}
	store := k.store
	if old, _ := store.Get(r, sa.CookieName); old != nil && old.ID != "" {
		if err := store.Forget(old.ID); err != nil {
			return err
		}
	}
	http.SetCookie(w, sessions.NewCookie(sa.CookieName, "", sa.cookieOptions(r, -1)))
	return nil
}

// cookieOptions are the session cookie's attributes for this request;
// lifetime -1 expires it.
func (sa *SessionAuth) cookieOptions(r *http.Request, lifetime time.Duration) *sessions.Options {
	opts := sa.cookieDefaults()
	opts.Secure = r.TLS != nil
	if lifetime < 0 {
		opts.MaxAge = -1
	} else {
		opts.MaxAge = int(lifetime.Seconds())
	}
	return opts
}

func (sa *SessionAuth) debug(msg string, err error) {
	if c := sa.logger.Check(zapcore.DebugLevel, msg); c != nil {
		c.Write(zap.Error(err))
	}
}
