package sessionauth

import (
	"context"
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// loginFailed is the one message every failed login gets, whatever failed.
const loginFailed = "Wrong username or password."

func (sa *SessionAuth) serveLoginForm(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	data := templates.Data{Heading: "Log in", Next: webform.SafeNext(q.Get("next"))}
	if q.Get("logged_out") != "" {
		data.Notice = "You are logged out."
	}
	if q.Get("reset") != "" {
		data.Notice = "Your new password is set. Log in with it."
	}
	return sa.form(w, r, http.StatusOK, "login.html", data)
}

// Hooks for tests, nil in production: passwordChecked runs right after the
// bcrypt comparison of a login, before anything is decided on it;
// stampChecked runs once a login has found the account's stamp unchanged
// and is decided, before its session is made; verify is the comparison
// itself.
var (
	passwordChecked func(username string)
	stampChecked    func(username string)
	verify          = users.Verify
)

// handleLogin checks a username and password. Every failure, whatever its
// cause (no such user, wrong password, locked account, a password changed
// while it was being checked), costs one bcrypt comparison and gets the
// same answer, so none can be told from another; the one exception is a
// known device whose own budget is spent, which already knows the account
// (see deviceSpent). Each attempt is counted
// in the metrics by its result and timed.
func (sa *SessionAuth) handleLogin(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	result, err := sa.login(w, r)
	metrics.logins.WithLabelValues(sa.Realm, result).Inc()
	metrics.loginSeconds.WithLabelValues(sa.Realm).Observe(time.Since(started).Seconds())
	return err
}

// login answers a login attempt and returns its result (a loginX label).
func (sa *SessionAuth) login(w http.ResponseWriter, r *http.Request) (string, error) {
	if r.PostForm.Get("credential") != "" && !isAPI(r) {
		return sa.passkeyLogin(w, r)
	}
	form := templates.Data{
		Heading:  "Log in",
		Next:     webform.SafeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
		Remember: r.PostForm.Get("remember") != "" && *sa.RememberMe > 0,
	}
	ctx := r.Context()
	username, nameErr := users.Normalize(form.Username)
	validName := nameErr == nil
	var acct users.Account
	found := false
	if validName {
		a, err := sa.users.Get(ctx, username)
		switch {
		case err == nil:
			acct, found = a, true
		case !errors.Is(err, users.ErrNotFound):
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		}
	}
	device := ""
	if found {
		device = sa.knownDevice(r, acct)
	}
	if device == "" {
		// A browser the user has logged in from is judged on its own
		// budget: strangers on its network cannot shut it out.
		if result, err := sa.clientRefused(w, r); result != "" {
			return result, err
		}
	}
	lock := sa.lockKey(username, device)
	locked, err := sa.locked(ctx, lock, validName)
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	if device != "" && locked {
		return sa.deviceSpent(w, r, form, username, lock)
	}
	ok := false
	answered, err := sa.inBcryptSlot(w, r, "login", func() {
		ok = sa.checkPassword(acct, found, r.PostForm.Get("password"))
	})
	if answered {
		return loginBusy, err
	}
	if passwordChecked != nil {
		passwordChecked(username)
	}
	if ok && !locked {
		// Guesses sent together all pass the first look at the lock; the
		// failures among them that finished first may have locked it since.
		if locked, err = sa.locked(ctx, lock, true); err != nil {
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		}
	}
	reason := failReason(validName, found, ok, locked)
	if ok && !locked {
		// The password may have changed while it was being checked: the
		// session must carry the stamp of the password that was checked.
		current, err := sa.users.Get(ctx, username)
		switch {
		case errors.Is(err, users.ErrNotFound):
			ok, reason = false, "account_deleted"
		case err != nil:
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		case current.Stamp != acct.Stamp:
			ok, reason = false, "password_changed"
		case current.Disabled:
			ok, reason = false, "disabled"
		case current.Pending:
			// Only the right password learns this, so it tells a stranger
			// nothing about who has an account.
			sa.auditEvent(r, "login refused: account waits for approval", eventLoginFailed, username, "", zap.String("reason", "pending"))
			return loginPending, sa.message(w, r, http.StatusForbidden, "pending", "Waiting for approval",
				"Your account waits for approval. You can log in once the site's administrator has approved it.")
		default:
			acct = current // its second factors as they are now
		}
	}
	if !ok || locked {
		return sa.loginFailed(w, r, form, username, lock, validName && !locked, reason)
	}
	if stampChecked != nil {
		stampChecked(username)
	}
	sa.rehashIfCostChanged(r, acct, r.PostForm.Get("password"))
	if step := sa.nextStep(acct); step != stepNone {
		// No reset of the failure count: wrong codes count on it, and a
		// right password must not wipe them out.
		return sa.beginSecondStep(w, r, acct, form.Remember, device, form.Next, step)
	}
	if err := sa.throttle.Reset(ctx, lock); err != nil {
		sa.debug("resetting the failure count", err)
	}
	s, err := sa.sessions.Start(w, r, acct, form.Remember, session.FactorPassword)
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	sa.noteLogin(ctx, username)
	sa.rememberDevice(w, r, acct, device)
	sa.auditEvent(r, "login", eventLogin, username, s.ID, zap.Bool("remember", s.Remember), zap.Bool("known_device", device != ""), zap.String("factors", s.Factors))
	return loginOK, sa.loggedIn(w, r, http.StatusOK, s, form.Next)
}

// deviceSpent answers a login from a known device whose own failure
// budget is spent (rule 19): the generic failure, without any bcrypt
// work, as quickly as the per-IP refusal, so a client that holds its own
// account's device cookie cannot turn its guesses into bcrypt work for
// everyone's cores.
//
// Rule 5 (every failure costs one bcrypt, so the time taken does not tell
// an unknown name from a wrong password or a locked account) still holds
// for every other browser. Here the time can tell nothing: the device
// cookie is signed for this account under its current password, so the
// browser knows already that the account exists and has logged in as it,
// and the lock it learns of is its own budget, spent by its own failures
// (a stranger's guesses count on the account's key, never on a device's).
//
// The exemption from the per-IP limit (rule 15) is for a device in good
// standing: once its budget is spent it is held to the client's limit
// like any browser, and each refusal counts against the client, so a
// client hammering with such a cookie is soon refused with 429.
func (sa *SessionAuth) deviceSpent(w http.ResponseWriter, r *http.Request, form templates.Data, username, lock string) (string, error) {
	if result, err := sa.clientRefused(w, r); result != "" {
		return result, err
	}
	return sa.loginFailed(w, r, form, username, lock, false, "locked")
}

// failReason says, for the audit log only, why a login failed; the user
// is told the same thing whatever it is.
func failReason(validName, found, passwordOK, locked bool) string {
	switch {
	case !validName:
		return "invalid_name"
	case !found:
		return "unknown_user"
	case locked:
		return "locked"
	case !passwordOK:
		return "wrong_password"
	}
	return ""
}

// loginFailed counts a failure against the lock key (unless the account is
// locked already, which must not escalate on guesses it refuses anyway)
// and the client, and sends the form back with the one message.
func (sa *SessionAuth) loginFailed(w http.ResponseWriter, r *http.Request, form templates.Data, username, lock string, count bool, reason string) (string, error) {
	ctx := r.Context()
	result := loginWrong
	if reason == "locked" {
		result = loginLocked
	}
	// A name that is no account's may be a password typed into the wrong
	// field: the audit lines keep only its keyed hash.
	user, named := username, []zap.Field(nil)
	switch reason {
	case "invalid_name":
		user, named = "", []zap.Field{sa.unknownName(form.Username)}
	case "unknown_user":
		user, named = "", []zap.Field{sa.unknownName(username)}
	}
	if count {
		until, err := sa.throttle.Hit(ctx, lock, sa.accountRule(), now())
		if err != nil {
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		}
		if !until.IsZero() {
			sa.auditEvent(r, "account locked after repeated failed logins", eventAccountLocked, user, "",
				append(named, zap.Time("until", until), zap.Bool("known_device", lock != accountKey(sa.scope, username)))...)
		}
	}
	if err := sa.countClientFailure(ctx, r); err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	sa.auditEvent(r, "login failed", eventLoginFailed, user, "", append(named, zap.String("reason", reason))...)
	if isAPI(r) {
		return result, sa.apiError(w, http.StatusUnauthorized, "invalid_credentials", loginFailed)
	}
	form.Error = loginFailed
	return result, sa.form(w, r, http.StatusUnauthorized, "login.html", form)
}

// locked tells whether key is locked now; names that are no valid username
// have no counter (they can never log in anyway).
func (sa *SessionAuth) locked(ctx context.Context, key string, validName bool) (bool, error) {
	if !validName {
		return false, nil
	}
	until, err := sa.throttle.Blocked(ctx, key, now())
	return !until.IsZero(), err
}

// checkPassword runs exactly one bcrypt comparison: against the account's
// hash, or, for a name that is invalid or unknown, against a dummy hash of
// the configured cost, so the time taken does not tell whether an account
// exists (accounts hashed at another cost are hashed again at their next
// login). A stored hash that is no bcrypt hash (edited by hand) would fail
// at once, so it pays the dummy comparison too.
func (sa *SessionAuth) checkPassword(acct users.Account, found bool, password string) bool {
	if found {
		if _, err := bcrypt.Cost(acct.Hash); err == nil {
			return verify(acct.Hash, password)
		}
	}
	verify(users.DummyHash(sa.BcryptCost), password)
	return false
}

// rehashIfCostChanged hashes the password again at the configured cost
// when the account's hash was made at another: otherwise, after the cost
// is raised, old accounts would answer faster than unknown names (which
// pay the new cost), and so tell who exists. It keeps the stamp (the
// password is the same), needs a free bcrypt slot, and is skipped quietly
// when there is none or the account changed meanwhile.
func (sa *SessionAuth) rehashIfCostChanged(r *http.Request, acct users.Account, password string) {
	cost, err := bcrypt.Cost(acct.Hash)
	if err != nil || cost == sa.BcryptCost {
		return
	}
	ctx := r.Context()
	release, ok := bcryptAdmission.Enter(ctx, admissionKey(r))
	if !ok {
		return
	}
	hash, err := users.Hash(password, sa.BcryptCost)
	release()
	if err != nil {
		return
	}
	if err := users.Rehash(ctx, sa.users, acct.Username, acct.Hash, hash); err != nil {
		sa.debug("rehashing a password at the configured cost", err)
		return
	}
	sa.logger.Info("password hashed again at the configured cost", zap.String("username", acct.Username), zap.Int("from", cost), zap.Int("to", sa.BcryptCost))
}
