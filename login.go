package sessionauth

import (
	"context"
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/users"
	"github.com/caddy-session-auth/caddy-session-auth/webform"
)

// loginFailed is the one message every failed login gets, whatever failed.
const loginFailed = "Wrong username or password."

func (sa *SessionAuth) serveLoginForm(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := pageData{Heading: "Log in", Next: webform.SafeNext(q.Get("next"))}
	if q.Get("logged_out") != "" {
		data.Notice = "You are logged out."
	}
	return sa.render(w, r, http.StatusOK, "login.html", data)
}

// handleLogin checks a username and password. Every failure, whatever its
// cause (no such user, wrong password, locked account), costs one bcrypt
// check and gets the same answer, so none can be told from another.
func (sa *SessionAuth) handleLogin(w http.ResponseWriter, r *http.Request) error {
	form := pageData{
		Heading:  "Log in",
		Next:     webform.SafeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
		Remember: r.PostForm.Get("remember") != "",
	}
	if ok, err := sa.admitClient(w, r); !ok {
		return err
	}
	ctx := r.Context()
	username, nameErr := users.Normalize(form.Username)
	locked := false
	if nameErr == nil {
		until, err := sa.throttle.Blocked(ctx, sa.accountKey(username), now())
		if err != nil {
			return sa.unavailable(w, r, "login", err)
		}
		locked = !until.IsZero()
	}
	release, err := sa.admitBcrypt(w, r, "login")
	if release == nil {
		return err
	}
	ok, err := sa.checkPassword(ctx, username, nameErr == nil, r.PostForm.Get("password"))
	release()
	if err != nil {
		return sa.unavailable(w, r, "login", err)
	}
	if ok && !locked {
		// Guesses sent together all pass the first look at the lock; the
		// failures among them that finished first may have locked it since.
		until, err := sa.throttle.Blocked(ctx, sa.accountKey(username), now())
		if err != nil {
			return sa.unavailable(w, r, "login", err)
		}
		locked = !until.IsZero()
	}
	if !ok || locked {
		if nameErr == nil && !locked {
			if err := sa.countFailure(r, username); err != nil {
				return sa.unavailable(w, r, "login", err)
			}
		}
		sa.logger.Info("login failed", zap.String("username", username), zap.Bool("locked", locked), zap.String("client_ip", clientIP(r)))
		form.Error = loginFailed
		return sa.render(w, r, http.StatusUnauthorized, "login.html", form)
	}
	if err := sa.throttle.Reset(ctx, sa.accountKey(username)); err != nil {
		sa.debug("resetting the failure count", err)
	}
	if err := sa.startSession(w, r, username, form.Remember); err != nil {
		return sa.unavailable(w, r, "login", err)
	}
	sa.logger.Info("login", zap.String("username", username), zap.String("client_ip", clientIP(r)))
	return seeOther(w, form.Next)
}

// checkPassword runs exactly one bcrypt comparison: against the account's
// hash, or, for a name that is invalid or unknown, against a dummy hash of
// the same cost, so the time taken does not tell whether an account exists.
func (sa *SessionAuth) checkPassword(ctx context.Context, username string, validName bool, password string) (bool, error) {
	if validName {
		acct, err := sa.users.Get(ctx, username)
		switch {
		case err == nil:
			return users.Verify(acct.Hash, password), nil
		case !errors.Is(err, users.ErrNotFound):
			return false, err
		}
	}
	users.Verify(users.DummyHash(sa.BcryptCost), password)
	return false, nil
}

// countFailure counts a failed login against the account, known or not (a
// lock must not tell which names exist), and logs the lock it may cause.
func (sa *SessionAuth) countFailure(r *http.Request, username string) error {
	until, err := sa.throttle.Hit(r.Context(), sa.accountKey(username), sa.accountRule(), now())
	if err != nil {
		return err
	}
	if !until.IsZero() {
		sa.logger.Warn("account locked after repeated failed logins",
			zap.String("username", username), zap.String("client_ip", clientIP(r)), zap.Time("until", until))
	}
	return nil
}

func (sa *SessionAuth) serveLogoutPage(w http.ResponseWriter, r *http.Request) error {
	rec, _ := sa.currentSession(r)
	return sa.render(w, r, http.StatusOK, "logout.html", pageData{Heading: "Log out", User: rec.User})
}

func (sa *SessionAuth) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := sa.endSession(w, r); err != nil {
		return sa.unavailable(w, r, "logout", err)
	}
	return seeOther(w, sa.PathPrefix+"/login?logged_out=1")
}
