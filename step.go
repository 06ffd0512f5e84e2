package sessionauth

import (
	"errors"
	"net/http"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The second step of a login. Once the password is right, a login that
// needs a second factor gets no session: it gets a step, a one-time token
// (internal/onetime, kind Step: 256 random bits, kept hashed) in a cookie
// of its own, that lives stepLifetime and opens nothing but the
// second-factor page. Each post to that page takes the step out of the
// store before it checks anything, so that parallel posts are checked one
// at a time; a wrong code puts it back with one more failure, until
// stepMaxFailures; a right one makes the session and the step is gone.
// Wrong codes count against the same lock as wrong passwords, and the
// password's success does not reset that count: only a whole login does.

const (
	stepLifetime    = 5 * time.Minute
	stepMaxFailures = 5
)

// stepCookie names the cookie of the step and the path it is sent to.
func (sa *SessionAuth) stepCookie(r *http.Request) (name, path string) {
	if sa.secure(r) {
		return sa.hostCookie(r, "_step"), "/"
	}
	return sa.hostCookie(r, "_step"), sa.PathPrefix + "/"
}

func (sa *SessionAuth) setStepCookie(w http.ResponseWriter, r *http.Request, value string, maxAge int) {
	name, path := sa.stepCookie(r)
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     path,
		MaxAge:   maxAge,
		HttpOnly: true,
		Secure:   sa.secure(r),
		SameSite: http.SameSiteStrictMode,
	})
}

func (sa *SessionAuth) clearStepCookie(w http.ResponseWriter, r *http.Request) {
	sa.setStepCookie(w, r, "", -1)
}

// beginSecondStep answers a login whose password was right and that needs
// a second factor (or, with step stepEnrol, to set one up).
func (sa *SessionAuth) beginSecondStep(w http.ResponseWriter, r *http.Request, acct users.Account, remember bool, device, next string, step nextStep) (string, error) {
	if isAPI(r) && step == stepEnrol {
		sa.auditEvent(r, "login refused: a second factor must be set up first, on the login page", eventLoginFailed, acct.Username, "", zap.String("reason", "second_factor_setup_required"))
		return loginSecondStep, sa.apiError(w, http.StatusForbidden, "second_factor_setup_required",
			"This account must set up a second factor before it can log in: log in on the login page once.")
	}
	at := now()
	token, err := sa.tokens.Issue(r.Context(), onetime.Grant{
		Kind:     onetime.Step,
		User:     acct.Username,
		Stamp:    acct.Stamp,
		Remember: remember,
		Next:     next,
		Device:   device,
		Enrol:    step == stepEnrol,
		Created:  at,
		Expires:  at.Add(stepLifetime),
	})
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	sa.setStepCookie(w, r, token, int(stepLifetime.Seconds()))
	sa.auditEvent(r, "password accepted, second factor asked", eventSecondFactorAsked, acct.Username, "", zap.Bool("enrol", step == stepEnrol))
	if isAPI(r) {
		return loginSecondStep, sa.apiError(w, http.StatusAccepted, "second_factor_required",
			"Send the code from the authenticator app (or a recovery code) to "+sa.PathPrefix+"/session/second-factor.")
	}
	return loginSecondStep, seeOther(w, sa.PathPrefix+"/second-factor")
}

// stepState finds the request's step and its account, taking the step
// out of the store when take is set. answered is true when there is none
// to go on with (the page then says to log in again) or the backend
// failed; err is what to return then.
func (sa *SessionAuth) stepState(w http.ResponseWriter, r *http.Request, take bool) (g onetime.Grant, acct users.Account, token string, answered bool, err error) {
	ctx := r.Context()
	name, _ := sa.stepCookie(r)
	token = session.CookieValue(r, name)
	if token == "" {
		return g, acct, token, true, sa.stepEnded(w, r, false)
	}
	if take {
		g, err = sa.tokens.Use(ctx, token, now())
	} else {
		g, err = sa.tokens.Peek(ctx, token, now())
	}
	switch {
	case errors.Is(err, onetime.ErrExpired):
		return g, acct, token, true, sa.stepEnded(w, r, true)
	case errors.Is(err, onetime.ErrInvalid):
		// Used by a post that runs now, or spent: the cookie may still be
		// put back by the post that holds it.
		return g, acct, token, true, sa.stepEnded(w, r, false)
	case err != nil:
		return g, acct, token, true, sa.unavailable(w, r, "second factor", err)
	}
	if g.Kind != onetime.Step || g.User == "" {
		// A link's token in this cookie: never spend it here. (A
		// passwordless start, sealed, is no token: it reads as invalid
		// above, and its cookie is left to its login form.)
		if take {
			_ = sa.tokens.Restore(ctx, token, g)
		}
		return g, acct, token, true, sa.stepEnded(w, r, g.Kind != onetime.Step)
	}
	acct, err = sa.users.Get(ctx, g.User)
	switch {
	case errors.Is(err, users.ErrNotFound):
		return g, acct, token, true, sa.stepEnded(w, r, true)
	case err != nil:
		sa.putStepBack(r, token, g, take)
		return g, acct, token, true, sa.unavailable(w, r, "second factor", err)
	case acct.Stamp != g.Stamp || !acct.CanLogIn():
		// The password changed, the account was disabled, or its second
		// factors were reset since the password was checked.
		sa.auditEvent(r, "second step refused: the account changed since the password was checked", eventLoginFailed, g.User, "", zap.String("reason", "account_changed"))
		return g, acct, token, true, sa.stepEnded(w, r, true)
	}
	return g, acct, token, false, nil
}

// putStepBack restores a step taken by a post that could not finish for
// want of the backend, so that the user can retry it.
func (sa *SessionAuth) putStepBack(r *http.Request, token string, g onetime.Grant, taken bool) {
	if !taken {
		return
	}
	if err := sa.tokens.Restore(r.Context(), token, g); err != nil {
		sa.debug("putting a login step back", err)
	}
}

// stepViewer is who an app's setup during a login is shown to: the step.
func stepViewer(token string) string { return "step:" + token }

// stepEnded says that the step is gone: timed out, used, or spent on too
// many wrong codes. clear drops the cookie.
func (sa *SessionAuth) stepEnded(w http.ResponseWriter, r *http.Request, clear bool) error {
	if clear {
		sa.clearStepCookie(w, r)
	}
	return sa.message(w, r, http.StatusUnauthorized, "second_factor_expired", "Log in again",
		"This login took too long or has ended, so it cannot go on. Log in again.")
}

// serveSecondFactor shows the step's page: the code prompt, or, for an
// account that must set up a second factor, the setup.
func (sa *SessionAuth) serveSecondFactor(w http.ResponseWriter, r *http.Request) error {
	g, acct, token, answered, err := sa.stepState(w, r, false)
	if answered {
		return err
	}
	if g.Enrol && !acct.HasSecondFactor() {
		return sa.enrolPage(w, r, http.StatusOK, acct, true, stepViewer(token), templates.Data{})
	}
	return sa.stepPage(w, r, http.StatusOK, acct, templates.Data{})
}

func (sa *SessionAuth) stepPage(w http.ResponseWriter, r *http.Request, status int, acct users.Account, data templates.Data) error {
	data.Heading = "Confirm it is you"
	data.User = acct.Username
	data.Factors = sa.factorsRow(acct)
	return sa.form(w, r, status, "second-factor.html", data)
}

// handleSecondFactor checks the code of a step and counts the attempt in
// the metrics like a login.
func (sa *SessionAuth) handleSecondFactor(w http.ResponseWriter, r *http.Request) error {
	started := time.Now()
	result, err := sa.proveSecondFactor(w, r)
	if result != "" {
		metrics.logins.WithLabelValues(sa.Realm, result).Inc()
		metrics.loginSeconds.WithLabelValues(sa.Realm).Observe(time.Since(started).Seconds())
	}
	return err
}

// wrongCodeMessage is what a wrong code gets, whatever was wrong with it.
const wrongCodeMessage = "That code is not right, or was used already. Wait for the app's next code, or type a recovery code."

func (sa *SessionAuth) proveSecondFactor(w http.ResponseWriter, r *http.Request) (string, error) {
	g, acct, token, answered, err := sa.stepState(w, r, true)
	if answered {
		return "", err
	}
	ctx := r.Context()
	lock := sa.lockKey(g.User, g.Device)
	locked, err := sa.locked(ctx, lock, true)
	if err != nil {
		sa.putStepBack(r, token, g, true)
		return loginBackendDown, sa.unavailable(w, r, "second factor", err)
	}
	if locked {
		sa.clearStepCookie(w, r)
		sa.auditEvent(r, "second step refused: the account is locked", eventLoginFailed, g.User, "", zap.String("reason", "locked"))
		return loginLocked, sa.tooManyWrongCodes(w, r)
	}
	enrol := g.Enrol && !acct.HasSecondFactor()
	var (
		used  string
		codes []string
		left  int
	)
	switch answer := r.PostForm.Get("credential"); {
	case answer != "" && !enrol:
		state := g.Passkey
		g.Passkey = nil // answers once, right or wrong
		err = sa.checkPasskey(r, acct, state, answer)
		used = session.FactorPasskey
	case enrol:
		codes, _, err = sa.confirmTOTP(ctx, acct.Username, acct.Stamp, r.PostForm.Get("code"), stepViewer(token), false)
		used = session.FactorTOTP
	default:
		used, left, err = sa.checkCode(ctx, acct.Username, acct.Stamp, r.PostForm.Get("code"))
	}
	switch {
	case errors.Is(err, errWrongCode) || errors.Is(err, errEnrolmentExpired):
		return sa.wrongCode(w, r, g, token, acct, lock, enrol)
	case errors.Is(err, errUnsealable):
		// Not the user's doing: no failure is counted.
		sa.putStepBack(r, token, g, true)
		const unreadable = "This site can no longer read the key of your authenticator app. Log in with a recovery code or a passkey, or ask the site's operator to reset your second factor."
		if isAPI(r) {
			return loginBackendDown, sa.apiError(w, http.StatusConflict, "app_unreadable", unreadable)
		}
		return loginBackendDown, sa.stepPage(w, r, http.StatusConflict, acct, templates.Data{Error: unreadable})
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return loginWrong, sa.stepEnded(w, r, true)
	case err != nil:
		sa.putStepBack(r, token, g, true)
		return loginBackendDown, sa.unavailable(w, r, "second factor", err)
	}
	if err := sa.throttle.Reset(ctx, lock); err != nil {
		sa.debug("resetting the failure count", err)
	}
	factors := session.FactorPassword + "," + used
	s, err := sa.sessions.Start(w, r, acct, g.Remember, factors)
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	sa.noteLogin(ctx, acct.Username)
	sa.clearStepCookie(w, r)
	sa.rememberDevice(w, r, acct, g.Device)
	if enrol {
		sa.auditEvent(r, "authenticator app set up at login", eventSecondFactorAdded, acct.Username, s.ID, zap.String("factor", session.FactorTOTP))
	}
	fields := []zap.Field{zap.Bool("remember", s.Remember), zap.Bool("known_device", g.Device != ""), zap.String("factors", factors)}
	if used == session.FactorRecovery {
		fields = append(fields, zap.Int("recovery_codes_left", left))
	}
	sa.auditEvent(r, "login", eventLogin, acct.Username, s.ID, fields...)
	if codes != nil && !isAPI(r) {
		return loginOK, sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your recovery codes", Codes: codes, LostFactor: "your authenticator app", Next: g.Next}) // made only by enrolling an app here
	}
	return loginOK, sa.loggedIn(w, r, http.StatusOK, s, g.Next)
}

// wrongCode counts a wrong code: against the account's lock (or this
// browser's) and the client's limit, like a wrong password, except while
// setting up (the user is looking at the secret), and against the step,
// which ends after stepMaxFailures.
func (sa *SessionAuth) wrongCode(w http.ResponseWriter, r *http.Request, g onetime.Grant, token string, acct users.Account, lock string, enrol bool) (string, error) {
	ctx := r.Context()
	result := loginWrong
	if !enrol {
		until, err := sa.throttle.Hit(ctx, lock, sa.accountRule(), now())
		if err != nil {
			return loginBackendDown, sa.unavailable(w, r, "second factor", err)
		}
		if !until.IsZero() {
			result = loginLocked
			sa.auditEvent(r, "account locked after repeated wrong codes", eventAccountLocked, g.User, "",
				zap.Time("until", until), zap.Bool("known_device", g.Device != ""))
		}
		if err := sa.countClientFailure(ctx, r); err != nil {
			return loginBackendDown, sa.unavailable(w, r, "second factor", err)
		}
		sa.auditEvent(r, "second step failed", eventLoginFailed, g.User, "", zap.String("reason", "wrong_code"))
	}
	g.Failures++
	if g.Failures >= stepMaxFailures || result == loginLocked {
		sa.clearStepCookie(w, r)
		return result, sa.tooManyWrongCodes(w, r)
	}
	if err := sa.tokens.Restore(ctx, token, g); err != nil {
		return loginBackendDown, sa.unavailable(w, r, "second factor", err)
	}
	if isAPI(r) {
		return result, sa.apiError(w, http.StatusUnauthorized, "invalid_code", wrongCodeMessage)
	}
	if enrol {
		return result, sa.enrolPage(w, r, http.StatusUnauthorized, acct, true, stepViewer(token), templates.Data{Error: "That code is not right. Type the code the app shows now."})
	}
	return result, sa.stepPage(w, r, http.StatusUnauthorized, acct, templates.Data{Error: wrongCodeMessage})
}

func (sa *SessionAuth) tooManyWrongCodes(w http.ResponseWriter, r *http.Request) error {
	return sa.message(w, r, http.StatusUnauthorized, "too_many_wrong_codes", "Log in again",
		"There were too many wrong codes, so this login has ended. Log in again; if it keeps failing, wait a while first.")
}
