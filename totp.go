package sessionauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Authenticator apps (TOTP) and recovery codes. An app is set up in two
// steps: a secret is made and kept sealed in the account as the one being
// set up (shown as a QR code and as text), and becomes the account's only
// when a code from it is typed back. Every check of a code, and the
// update of the last step used that makes each code work once, happen
// inside one atomic update of the account, so that two posts of the same
// code cannot both pass.

// errWrongCode means a code did not match; errUnchanged ends an update
// that found nothing to write.
var (
	errWrongCode  = errors.New("wrong code")
	errUnchanged  = errors.New("nothing to change")
	errUnsealable = errors.New("the authenticator app's secret cannot be opened")
	// errEnrolmentExpired: the secret being set up is too old to confirm;
	// the page shows a new one.
	errEnrolmentExpired = errors.New("the setup took too long")
)

// enrolmentLifetime is how long a secret shown for setting up an app
// stays the one that a code confirms.
const enrolmentLifetime = 15 * time.Minute

// enrolmentOwner binds a secret being set up to who was shown it: viewer
// is "session:" and the session id, or "step:" and the step's token. A
// secret shown to one viewer (someone who had the password for a while,
// say) is never shown to, nor confirmed by, another.
func enrolmentOwner(username, viewer string) string { return username + "\x00" + viewer }

// enrolmentSecret returns the secret of the app being set up by viewer
// for the account: the one shown to the same viewer in the last
// enrolmentLifetime, or a new one.
func (sa *SessionAuth) enrolmentSecret(ctx context.Context, username, stamp, viewer string) (string, error) {
	sealer, err := sa.sealer()
	if err != nil {
		return "", err
	}
	var secret string
	err = sa.users.Update(ctx, username, func(a *users.Account) error {
		if a.Stamp != stamp || !a.CanLogIn() {
			return users.ErrChanged
		}
		owner := enrolmentOwner(a.Username, viewer)
		if a.TOTPEnrolment != "" && now().Before(a.TOTPEnrolmentUntil) {
			if plain, _, err := sealer.Open(a.TOTPEnrolment, owner); err == nil {
				secret = string(plain)
				return errUnchanged
			}
		}
		secret = factor.NewTOTPSecret()
		sealed, err := sealer.Seal([]byte(secret), owner)
		if err != nil {
			return err
		}
		a.TOTPEnrolment, a.TOTPEnrolmentUntil = sealed, now().Add(enrolmentLifetime).UTC()
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return secret, err
}

// confirmTOTP makes the app that viewer is setting up the account's, when
// code is one of its codes, with a fresh set of recovery codes, returned
// to be shown this once, and the account as stored. With renew, the same
// write gives the account a new stamp (see afterFactorChange).
func (sa *SessionAuth) confirmTOTP(ctx context.Context, username, stamp, code, viewer string, renew bool) ([]string, users.Account, error) {
	sealer, err := sa.sealer()
	if err != nil {
		return nil, users.Account{}, err
	}
	var codes []string
	var changed users.Account
	err = sa.users.Update(ctx, username, func(a *users.Account) error {
		if a.Stamp != stamp || !a.CanLogIn() {
			return users.ErrChanged
		}
		if a.TOTP != nil {
			return users.ErrChanged // one app at a time: remove it first
		}
		if a.TOTPEnrolment == "" {
			return errWrongCode
		}
		if !now().Before(a.TOTPEnrolmentUntil) {
			return errEnrolmentExpired
		}
		secret, _, err := sealer.Open(a.TOTPEnrolment, enrolmentOwner(a.Username, viewer))
		if err != nil {
			return errWrongCode
		}
		step, err := factor.CheckTOTP(string(secret), code, now(), 0)
		if err != nil || step == 0 {
			return errWrongCode
		}
		sealed, err := sealer.Seal(secret, a.Username)
		if err != nil {
			return err
		}
		a.TOTP = &users.TOTP{Secret: sealed, LastStep: step, Added: now().UTC()}
		a.TOTPEnrolment, a.TOTPEnrolmentUntil = "", time.Time{}
		var hashes []string
		codes, hashes = factor.NewRecoveryCodes()
		a.Recovery = hashes
		if renew {
			a.Stamp = users.NewStamp()
		}
		changed = *a
		return nil
	})
	return codes, changed, err
}

// checkCode checks what was typed at the second step: six digits against
// the app, anything shaped like a recovery code against those left. Each
// works once. It returns which factor it was and, for a recovery code, how
// many are left.
func (sa *SessionAuth) checkCode(ctx context.Context, username, stamp, code string) (used string, left int, err error) {
	sealer, err := sa.sealer()
	if err != nil {
		return "", 0, err
	}
	err = sa.users.Update(ctx, username, func(a *users.Account) error {
		if a.Stamp != stamp || !a.CanLogIn() {
			return users.ErrChanged
		}
		if hash, ok := factor.HashRecoveryCode(code); ok {
			i := slices.Index(a.Recovery, hash)
			if i < 0 || !a.HasSecondFactor() {
				return errWrongCode
			}
			a.Recovery = slices.Delete(a.Recovery, i, i+1)
			used, left = session.FactorRecovery, len(a.Recovery)
			return nil
		}
		if a.TOTP == nil {
			return errWrongCode
		}
		secret, stale, err := sealer.Open(a.TOTP.Secret, a.Username)
		if err != nil {
			sa.logger.Warn("an authenticator app's secret cannot be opened: the secret it was sealed with is no longer configured (give it back, or reset the user's second factor)",
				zap.String("username", a.Username))
			return errUnsealable
		}
		step, err := factor.CheckTOTP(string(secret), code, now(), a.TOTP.LastStep)
		if err != nil || step == 0 {
			return errWrongCode
		}
		a.TOTP.LastStep = step
		if stale {
			if a.TOTP.Secret, err = sealer.Seal(secret, a.Username); err != nil {
				return err
			}
		}
		used = session.FactorTOTP
		return nil
	})
	return used, left, err
}

// enrolPage shows the setup of an app: during a login (atLogin, posting to
// the second-factor page), or from the account page.
func (sa *SessionAuth) enrolPage(w http.ResponseWriter, r *http.Request, status int, acct users.Account, atLogin bool, viewer string, data templates.Data) error {
	secret, err := sa.enrolmentSecret(r.Context(), acct.Username, acct.Stamp, viewer)
	if errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound) {
		return sa.message(w, r, http.StatusConflict, "account_changed", "Log in again", "Your account changed meanwhile. Log in again.")
	}
	if err != nil {
		return sa.unavailable(w, r, "second factor setup", err)
	}
	data.Heading = "Set up an authenticator app"
	data.User = acct.Username
	data.Secret = groupsOfFour(secret)
	data.Enrol = atLogin
	page, form := "/account", "account"
	if atLogin {
		page, form = "/second-factor", "second-factor"
	}
	data.Action = sa.PathPrefix + page
	data.QR = sa.PathPrefix + page + "/qr.png"
	return sa.formAs(w, r, status, "enrol.html", form, data)
}

// serveQR serves the QR code of the app that viewer is setting up for the
// account: at the second-factor page, the step's; at the account page, the
// session's.
func (sa *SessionAuth) serveQR(w http.ResponseWriter, r *http.Request, acct users.Account, viewer string) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return sa.message(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "This address takes GET only.")
	}
	secret, err := sa.enrolmentSecret(r.Context(), acct.Username, acct.Stamp, viewer)
	if err != nil {
		return sa.unavailable(w, r, "second factor setup", err)
	}
	url, err := factor.TOTPURL(sa.issuer(r), acct.Username, secret)
	if err != nil {
		return err
	}
	png, err := factor.QR(url, 200)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "image/png")
	h.Set("Content-Length", strconv.Itoa(len(png)))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(png)
	return err
}

// factorsRow is the second-factor part of the account page.
func (sa *SessionAuth) factorsRow(acct users.Account) *templates.FactorsRow {
	if sa.SecondFactor == factorsOff {
		return nil
	}
	row := &templates.FactorsRow{
		RecoveryLeft: len(acct.Recovery),
		Required:     sa.factorRequiredFor(acct.Roles),
	}
	if acct.TOTP != nil {
		row.TOTP = true
		row.TOTPAdded = shownTime(acct.TOTP.Added)
	}
	for _, c := range acct.Passkeys {
		p := templates.PasskeyRow{ID: base64.RawURLEncoding.EncodeToString(c.ID), Name: c.Name, Added: shownTime(c.Created), Passwordless: c.Passwordless}
		if !c.LastUsed.IsZero() {
			p.LastUsed = shownTime(c.LastUsed)
		}
		row.Passkeys = append(row.Passkeys, p)
	}
	row.Any = row.TOTP || len(row.Passkeys) > 0
	row.LastOne = row.Required && (row.TOTP && len(row.Passkeys) == 0 || !row.TOTP && len(row.Passkeys) == 1)
	return row
}

// accountFactorAction runs the account page's second-factor actions;
// handled is false for any other action. Every change wants the password
// (a borrowed session must not add a way in, nor take one away), and, on
// an account that has a second factor, a session that used one.
func (sa *SessionAuth) accountFactorAction(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) (handled bool, err error) {
	ctx := r.Context()
	action := r.PostForm.Get("action")
	switch action {
	case "totp-confirm", "totp-remove", "recovery-new", "passkey-add", "passkey-remove":
	default:
		return false, nil
	}
	if refused, err := sa.factorChangeRefused(w, r, s, acct); refused {
		return true, err
	}
	var form templates.Data
	refuse := func(status int, msg string) error {
		form.Error = msg
		if action == "totp-confirm" {
			return sa.enrolPage(w, r, status, acct, false, sessionViewer(s), form)
		}
		return sa.accountPage(w, r, status, s, acct, form)
	}
	switch action {
	case "totp-remove":
		if sa.factorRequiredFor(acct.Roles) && len(acct.Passkeys) == 0 {
			return true, refuse(http.StatusConflict, "This site requires a second factor of your account, so the authenticator app cannot be removed.")
		}
	case "passkey-remove":
		if sa.factorRequiredFor(acct.Roles) && acct.TOTP == nil && len(acct.Passkeys) == 1 {
			return true, refuse(http.StatusConflict, "This site requires a second factor of your account, so its last one cannot be removed.")
		}
	}
	ok, _, err := sa.confirmPassword(w, r, acct, r.PostForm.Get("current_password"), "Your password is wrong, so nothing was changed.", refuse)
	if !ok {
		return true, err
	}
	switch action {
	case "passkey-add":
		return true, sa.addPasskey(w, r, s, acct)
	case "passkey-remove":
		return true, sa.removePasskey(w, r, s, acct)
	case "totp-confirm":
		codes, changed, err := sa.confirmTOTP(ctx, acct.Username, acct.Stamp, r.PostForm.Get("code"), sessionViewer(s), true)
		switch {
		case errors.Is(err, errWrongCode):
			return true, sa.enrolPage(w, r, http.StatusBadRequest, acct, false, sessionViewer(s), templates.Data{Error: "That code is not right. Type the code the app shows now."})
		case errors.Is(err, errEnrolmentExpired):
			return true, sa.enrolPage(w, r, http.StatusBadRequest, acct, false, sessionViewer(s), templates.Data{Error: "The setup took longer than 15 minutes, so it starts again: add the new key below to the app."})
		case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
			return true, seeOther(w, sa.PathPrefix+"/account")
		case err != nil:
			return true, sa.unavailable(w, r, "second factor setup", err)
		}
		sa.auditEvent(r, "authenticator app set up", eventSecondFactorAdded, acct.Username, s.ID, zap.String("factor", session.FactorTOTP))
		sa.afterFactorChange(w, r, s, changed, withFactor(s, session.FactorTOTP))
		return true, sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your recovery codes", Codes: codes, LostFactor: lostFactor(changed), Next: sa.PathPrefix + "/account?done=totp"})
	case "recovery-new":
		var codes []string
		err := sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
			if a.Stamp != acct.Stamp || !a.HasSecondFactor() {
				return users.ErrChanged
			}
			var hashes []string
			codes, hashes = factor.NewRecoveryCodes()
			a.Recovery = hashes
			return nil
		})
		switch {
		case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
			return true, seeOther(w, sa.PathPrefix+"/account")
		case err != nil:
			return true, sa.unavailable(w, r, "recovery codes", err)
		}
		sa.auditEvent(r, "new recovery codes made", eventRecoveryCodesNew, acct.Username, s.ID)
		return true, sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your new recovery codes", Codes: codes, LostFactor: lostFactor(acct), Next: sa.PathPrefix + "/account?done=recovery"})
	}
	// totp-remove
	var changed users.Account
	err = sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
		if a.Stamp != acct.Stamp || !a.CanLogIn() || a.TOTP == nil || sa.factorRequiredFor(a.Roles) && len(a.Passkeys) == 0 {
			return users.ErrChanged
		}
		a.TOTP, a.TOTPEnrolment, a.TOTPEnrolmentUntil = nil, "", time.Time{}
		if !a.HasSecondFactor() {
			a.Recovery = nil // recovery codes stand in for a factor; with none, they would be one
		}
		a.Stamp = users.NewStamp()
		changed = *a
		return nil
	})
	switch {
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return true, seeOther(w, sa.PathPrefix+"/account")
	case err != nil:
		return true, sa.unavailable(w, r, "removing the authenticator app", err)
	}
	sa.auditEvent(r, "authenticator app removed by its user", eventSecondFactorRemoved, acct.Username, s.ID, zap.String("factor", session.FactorTOTP), zap.String("by", acct.Username))
	sa.afterFactorChange(w, r, s, changed, s.Factors)
	return true, seeOther(w, sa.PathPrefix+"/account?done=totp-removed")
}

// sessionViewer is who an app's setup on the account page is shown to.
func sessionViewer(s session.Session) string { return "session:" + s.ID }

// factorChangeRefused answers a request to change the second factors of
// an account that has one from a session that did not use one (it dates
// from before they were set up, or from a site that did not ask): such a
// session must not take a factor away, nor add one of its own.
func (sa *SessionAuth) factorChangeRefused(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) (bool, error) {
	if sa.SecondFactor == factorsOff {
		return true, sa.message(w, r, http.StatusNotFound, "second_factor_off", "Not found", "This site does not use second factors.")
	}
	if acct.HasSecondFactor() && !s.SecondFactor() {
		return true, sa.message(w, r, http.StatusForbidden, "second_factor_needed", "Log in with your second factor",
			"This session was opened with your password alone. To change your second factors, log out and log in again with your authenticator app, a passkey or a recovery code.")
	}
	return false, nil
}

// withFactor is the session's factors once it has proved f too.
func withFactor(s session.Session, f string) string {
	if s.SecondFactor() {
		return s.Factors
	}
	return s.Factors + "," + f
}

// afterFactorChange follows a change of the account's second factors
// (the app added or removed, a passkey added or removed), which renewed
// its stamp in the same write: that has ended every other session, also a
// login in flight, so that a session someone else opened before does not
// outlive the change; deleting them makes every server forget them now.
// This browser's login goes on under a new id, as of changed, with
// factors, recently authenticated (every change takes the password, see
// accountFactorAction) but ending where it always would. A failure here
// leaves the change made and this browser logged out, and is logged.
func (sa *SessionAuth) afterFactorChange(w http.ResponseWriter, r *http.Request, s session.Session, changed users.Account, factors string) {
	ctx := r.Context()
	if _, err := sa.sessions.EndAllFor(ctx, changed.Username); err != nil {
		sa.logger.Warn("second factors changed, but deleting the older sessions failed (they end at their next request)",
			zap.String("username", changed.Username), zap.Error(err))
	}
	if _, err := sa.sessions.Reissue(w, r, s, changed, factors, true); err != nil {
		sa.logger.Warn("second factors changed, but re-issuing this browser's session failed", zap.String("username", changed.Username), zap.Error(err))
		return
	}
	sa.rememberDevice(w, r, changed, sa.knownDevice(r, changed))
}
