package sessionauth

import (
	"cmp"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The account page lets a logged-in user see where they are logged in, log
// out any of those sessions or all but this one, and change their
// password. It names sessions by session.Ref, never by id: the page shows
// other sessions, and must not hand out their cookies.

// accountNotices are what the page says after each action (Post/Redirect/
// Get: a reload repeats nothing).
var accountNotices = map[string]string{
	"password":        "Your password is changed. Your other sessions are logged out.",
	"ended":           "That session is logged out.",
	"others":          "Your other sessions are logged out.",
	"totp":            "Your authenticator app is set up. Logins now ask for its code after the password.",
	"totp-removed":    "Your authenticator app is removed. Logins ask only for your password now.",
	"recovery":        "Your new recovery codes are made. The old ones no longer work.",
	"passkey":         "Your passkey is registered.",
	"passkey-removed": "The passkey is removed.",
}

// accountOwner finds the request's session and account; answered is true
// when there is none (the browser is sent to log in) or the backend
// cannot say.
func (sa *SessionAuth) accountOwner(w http.ResponseWriter, r *http.Request) (session.Session, users.Account, bool, error) {
	return sa.pageOwner(w, r, "/account")
}

// pageOwner is accountOwner for the page at PathPrefix+page, where the
// login sends the browser back to.
func (sa *SessionAuth) pageOwner(w http.ResponseWriter, r *http.Request, page string) (session.Session, users.Account, bool, error) {
	s, err := sa.currentSession(r)
	if err != nil {
		return s, users.Account{}, true, sa.unavailable(w, r, page+" page", err)
	}
	if s.LoggedIn() {
		acct, err := sa.users.Get(r.Context(), s.User)
		if err == nil {
			return s, acct, false, nil
		}
		if !errors.Is(err, users.ErrNotFound) {
			return s, users.Account{}, true, sa.unavailable(w, r, page+" page", err)
		}
	}
	if r.Method == http.MethodPost || isBrowserPageLoad(r) {
		return s, users.Account{}, true, seeOther(w, sa.PathPrefix+"/login?next="+url.QueryEscape(sa.PathPrefix+page))
	}
	return s, users.Account{}, true, sa.message(w, r, http.StatusUnauthorized, "not_logged_in", "Not logged in", "Log in to see this page.")
}

func (sa *SessionAuth) serveAccountPage(w http.ResponseWriter, r *http.Request) error {
	s, acct, answered, err := sa.accountOwner(w, r)
	if answered {
		return err
	}
	if r.URL.Query().Get("setup") == "totp" && sa.SecondFactor != factorsOff && acct.TOTP == nil {
		if refused, err := sa.factorChangeRefused(w, r, s, acct); refused {
			return err
		}
		return sa.enrolPage(w, r, http.StatusOK, acct, false, sessionViewer(s), templates.Data{})
	}
	return sa.accountPage(w, r, http.StatusOK, s, acct, templates.Data{Notice: accountNotices[r.URL.Query().Get("done")]})
}

// accountPage renders the page with the user's sessions as they are now.
func (sa *SessionAuth) accountPage(w http.ResponseWriter, r *http.Request, status int, s session.Session, acct users.Account, data templates.Data) error {
	list, err := sa.sessions.List(r.Context(), acct, s)
	if err != nil {
		return sa.unavailable(w, r, "account page", err)
	}
	data.Heading = "Your account"
	data.User = acct.Username
	data.Roles = strings.Join(acct.Roles, ", ")
	data.Admin = slices.Contains(acct.Roles, sa.AdminRole)
	data.Factors = sa.factorsRow(acct)
	for _, l := range list {
		data.Sessions = append(data.Sessions, templates.SessionRow{
			Ref:        l.Ref,
			Agent:      l.Agent,
			IP:         cmp.Or(l.IP, "an unknown address"),
			Created:    shownTime(l.Created),
			Seen:       shownTime(l.Seen),
			Current:    l.Current,
			Remembered: l.Remember,
		})
	}
	return sa.form(w, r, status, "account.html", data)
}

// handleAccount runs one of the page's actions for the logged-in user.
func (sa *SessionAuth) handleAccount(w http.ResponseWriter, r *http.Request) error {
	s, acct, answered, err := sa.accountOwner(w, r)
	if answered {
		return err
	}
	ctx := r.Context()
	switch r.PostForm.Get("action") {
	case "end":
		ended, err := sa.sessions.EndRef(ctx, acct.Username, r.PostForm.Get("session"))
		if err != nil {
			return sa.unavailable(w, r, "ending a session", err)
		}
		if !ended {
			// Ended already, or never this user's: the same to them, and
			// said, not a redirect that looks like success.
			return sa.render(w, http.StatusNotFound, "message.html", templates.Data{Heading: "Session not found", Retry: sa.PathPrefix + "/account",
				Message: "None of your sessions has that reference: it has ended already, or it was never yours."})
		}
		sa.auditEvent(r, "session ended by its user", eventSessionEnded, acct.Username, s.ID, zap.String("ended", r.PostForm.Get("session")))
		return seeOther(w, sa.PathPrefix+"/account?done=ended")
	case "end-others":
		// A new stamp ends every other session, also those no index lists
		// and logins in flight; this browser's login goes on under a new
		// id, with its deadlines and its last proof: no password was
		// asked, so this makes nothing recent and nothing longer.
		changed, err := users.RenewStamp(ctx, sa.users, acct.Username, acct.Stamp)
		if errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound) {
			return seeOther(w, sa.PathPrefix+"/account")
		}
		if err != nil {
			return sa.unavailable(w, r, "ending sessions", err)
		}
		n, err := sa.sessions.EndAllFor(ctx, acct.Username)
		if err != nil {
			sa.logger.Warn("other sessions ended by a new stamp, but deleting them failed (they end at their next request)",
				zap.String("username", acct.Username), zap.Error(err))
		}
		renewed, err := sa.sessions.Reissue(w, r, s, changed, s.Factors, false)
		if err != nil {
			return sa.unavailable(w, r, "ending sessions", err)
		}
		sa.rememberDevice(w, r, changed, sa.knownDevice(r, acct))
		sa.auditEvent(r, "other sessions ended by their user", eventSessionsEnded, acct.Username, s.ID, zap.Int("ended", n), zap.String("new_session", session.Ref(renewed.ID)))
		return seeOther(w, sa.PathPrefix+"/account?done=others")
	case "password":
		return sa.changePassword(w, r, s, acct)
	}
	if handled, err := sa.accountFactorAction(w, r, s, acct); handled {
		return err
	}
	return sa.message(w, r, http.StatusBadRequest, "bad_request", "Request refused", "The account page did not say what to do. Open it again and retry.")
}

// changePassword sets a new password for a user who knows the current one.
// A wrong current password counts against the account's lock as a failed
// login does (whoever holds the session must not get unlimited guesses).
// Once set, the new stamp ends every session made before, on every
// instance, and this browser's login goes on under a new id, recently
// authenticated (the current password was just typed) but ending where
// it always would.
func (sa *SessionAuth) changePassword(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) error {
	ctx := r.Context()
	var form templates.Data
	again := func(status int) error { return sa.accountPage(w, r, status, s, acct, form) }
	password := r.PostForm.Get("password")
	if err := sa.policy.Check(password); err != nil {
		form.PasswordError = users.Explain(err)
		return again(http.StatusBadRequest)
	}
	if r.PostForm.Get("password_confirm") != password {
		form.ConfirmError = "The two new passwords are not the same."
		return again(http.StatusBadRequest)
	}
	refuse := func(status int, msg string) error {
		form.Error = msg
		return again(status)
	}
	ok, answered, err := sa.confirmPassword(w, r, acct, r.PostForm.Get("current_password"), "Your current password is wrong.", refuse)
	if !ok {
		return err
	}
	var hash []byte
	answered, err = sa.inBcryptSlot(w, r, "password change", func() { hash, err = users.Hash(password, sa.BcryptCost) })
	if answered {
		return err
	}
	if err != nil {
		form.PasswordError = users.Explain(err)
		return again(http.StatusBadRequest)
	}
	changed, err := users.ChangePassword(ctx, sa.users, acct.Username, acct.Stamp, hash)
	if errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound) {
		return sa.message(w, r, http.StatusConflict, "not_changed", "Not changed", "Your account changed while you were changing the password, so nothing was changed. Log in again and retry.")
	}
	if err != nil {
		return sa.unavailable(w, r, "password change", err)
	}
	// The new stamp has ended every older session already; deleting them
	// tidies the store and has every instance forget them now.
	n, err := sa.sessions.EndAllFor(ctx, acct.Username)
	if err != nil {
		sa.logger.Warn("password changed, but ending the older sessions failed (they end at their next request)",
			zap.String("username", acct.Username), zap.Error(err))
	}
	renewed, err := sa.sessions.Reissue(w, r, s, changed, s.Factors, true)
	if err != nil {
		return sa.unavailable(w, r, "password change", err)
	}
	sa.rememberDevice(w, r, changed, sa.knownDevice(r, acct))
	sa.auditEvent(r, "password changed by its user", eventPasswordChange, acct.Username, s.ID, zap.Int("sessions_ended", n), zap.String("new_session", session.Ref(renewed.ID)))
	return seeOther(w, sa.PathPrefix+"/account?done=password")
}

// shownTime is a session time as the page shows it, in UTC: the server
// cannot know the reader's time zone without a script.
func shownTime(t time.Time) string { return t.UTC().Format("2 Jan 2006, 15:04 UTC") }

// confirmPassword checks that a logged-in user typed their own password,
// as a login would: locked accounts are refused without a check, a wrong
// password counts against the account's lock (or this browser's, when it
// is a known one) and the client's limit, and a right one resets the
// count. Whoever holds a session gets no more guesses than the login form
// gives. ok is false when it has answered the request itself, through
// refuse or with a "busy" or "try again later" page; err is then what to
// return.
func (sa *SessionAuth) confirmPassword(w http.ResponseWriter, r *http.Request, acct users.Account, password, wrong string, refuse func(status int, msg string) error) (ok, answered bool, err error) {
	ctx := r.Context()
	lock := sa.lockKey(acct.Username, sa.knownDevice(r, acct))
	locked, err := sa.locked(ctx, lock, true)
	if err != nil {
		return false, true, sa.unavailable(w, r, "password check", err)
	}
	if locked {
		return false, true, refuse(http.StatusTooManyRequests, "There were too many wrong passwords. Wait a while and try again.")
	}
	answered, err = sa.inBcryptSlot(w, r, "password check", func() { ok = sa.checkPassword(acct, true, password) })
	if answered {
		return false, true, err
	}
	if ok {
		if err := sa.throttle.Reset(ctx, lock); err != nil {
			sa.debug("resetting the failure count", err)
		}
		return true, false, nil
	}
	if until, err := sa.throttle.Hit(ctx, lock, sa.accountRule(), now()); err != nil {
		return false, true, sa.unavailable(w, r, "password check", err)
	} else if !until.IsZero() {
		sa.auditEvent(r, "account locked after repeated wrong passwords", eventAccountLocked, acct.Username, "", zap.Time("until", until))
	}
	if err := sa.countClientFailure(ctx, r); err != nil {
		return false, true, sa.unavailable(w, r, "password check", err)
	}
	sa.auditEvent(r, "wrong password from a logged-in user", eventPasswordCheckFailed, acct.Username, "")
	return false, true, refuse(http.StatusUnauthorized, wrong)
}
