package sessionauth

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"slices"
	"strconv"

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
	errWrongCode = errors.New("wrong code")
	errUnchanged = errors.New("nothing to change")
)

// enrolmentSecret returns the secret of the app being set up for the
// account, making one when none is.
func (sa *SessionAuth) enrolmentSecret(ctx context.Context, username, stamp string) (string, error) {
	sealer, err := sa.sealer()
	if err != nil {
		return "", err
	}
	var secret string
	err = sa.users.Update(ctx, username, func(a *users.Account) error {
		if a.Stamp != stamp || !a.CanLogIn() {
			return users.ErrChanged
		}
		if a.TOTPEnrolment != "" {
			if plain, _, err := sealer.Open(a.TOTPEnrolment, a.Username); err == nil {
				secret = string(plain)
				return errUnchanged
			}
		}
		secret = factor.NewTOTPSecret()
		sealed, err := sealer.Seal([]byte(secret), a.Username)
		if err != nil {
			return err
		}
		a.TOTPEnrolment = sealed
		return nil
	})
	if errors.Is(err, errUnchanged) {
		err = nil
	}
	return secret, err
}

// confirmTOTP makes the app being set up the account's, when code is one
// of its codes, with a fresh set of recovery codes, returned to be shown
// this once.
func (sa *SessionAuth) confirmTOTP(ctx context.Context, username, stamp, code string) ([]string, error) {
	sealer, err := sa.sealer()
	if err != nil {
		return nil, err
	}
	var codes []string
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
		secret, _, err := sealer.Open(a.TOTPEnrolment, a.Username)
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
		a.TOTPEnrolment = ""
		var hashes []string
		codes, hashes = factor.NewRecoveryCodes()
		a.Recovery = hashes
		return nil
	})
	return codes, err
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
			sa.logger.Error("an authenticator app's secret cannot be opened: the secret it was sealed with is no longer configured (give it back, or reset the user's second factor)",
				zap.String("username", a.Username))
			return errWrongCode
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
func (sa *SessionAuth) enrolPage(w http.ResponseWriter, r *http.Request, status int, acct users.Account, atLogin bool, data templates.Data) error {
	secret, err := sa.enrolmentSecret(r.Context(), acct.Username, acct.Stamp)
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

// serveQR serves the QR code of the app being set up by the account: of
// the step's account at the second-factor page, of the session's at the
// account page.
func (sa *SessionAuth) serveQR(w http.ResponseWriter, r *http.Request, acct users.Account) error {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		return sa.message(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "This address takes GET only.")
	}
	secret, err := sa.enrolmentSecret(r.Context(), acct.Username, acct.Stamp)
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
// handled is false for any other action.
func (sa *SessionAuth) accountFactorAction(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) (handled bool, err error) {
	ctx := r.Context()
	action := r.PostForm.Get("action")
	switch action {
	case "totp-confirm", "totp-remove", "recovery-new", "passkey-add", "passkey-remove":
	default:
		return false, nil
	}
	if sa.SecondFactor == factorsOff {
		return true, sa.message(w, r, http.StatusNotFound, "second_factor_off", "Not found", "This site does not use second factors.")
	}
	switch action {
	case "passkey-add":
		return true, sa.addPasskey(w, r, s, acct)
	case "passkey-remove":
		return true, sa.removePasskey(w, r, s, acct)
	case "totp-confirm":
		codes, err := sa.confirmTOTP(ctx, acct.Username, acct.Stamp, r.PostForm.Get("code"))
		switch {
		case errors.Is(err, errWrongCode):
			return true, sa.enrolPage(w, r, http.StatusBadRequest, acct, false, templates.Data{Error: "That code is not right. Type the code the app shows now."})
		case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
			return true, seeOther(w, sa.PathPrefix+"/account")
		case err != nil:
			return true, sa.unavailable(w, r, "second factor setup", err)
		}
		sa.auditEvent(r, "authenticator app set up", eventSecondFactorAdded, acct.Username, s.ID, zap.String("factor", session.FactorTOTP))
		if !s.SecondFactor() {
			// The code just typed proves the app as a login would: this
			// browser's session counts as a login with both from now on.
			if _, err := sa.sessions.Start(w, r, acct, s.Remember, s.Factors+","+session.FactorTOTP); err != nil {
				sa.logger.Warn("authenticator app set up, but renewing the session failed", zap.String("username", acct.Username), zap.Error(err))
			}
		}
		return true, sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your recovery codes", Codes: codes, Next: sa.PathPrefix + "/account?done=totp"})
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
		return true, sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your new recovery codes", Codes: codes, Next: sa.PathPrefix + "/account?done=recovery"})
	}
	// totp-remove: the current password first, as for a password change,
	// so that a borrowed session cannot take the factor away.
	var form templates.Data
	refuse := func(status int, msg string) error {
		form.Error = msg
		return sa.accountPage(w, r, status, s, acct, form)
	}
	if sa.factorRequiredFor(acct.Roles) && len(acct.Passkeys) == 0 {
		return true, refuse(http.StatusConflict, "This site requires a second factor of your account, so the authenticator app cannot be removed.")
	}
	ok, _, err := sa.confirmPassword(w, r, acct, r.PostForm.Get("current_password"), "Your password is wrong, so the authenticator app was not removed.", refuse)
	if !ok {
		return true, err
	}
	err = sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
		if a.Stamp != acct.Stamp || sa.factorRequiredFor(a.Roles) && len(a.Passkeys) == 0 {
			return users.ErrChanged
		}
		a.TOTP, a.TOTPEnrolment = nil, ""
		if !a.HasSecondFactor() {
			a.Recovery = nil // recovery codes stand in for a factor; with none, they would be one
		}
		return nil
	})
	switch {
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return true, seeOther(w, sa.PathPrefix+"/account")
	case err != nil:
		return true, sa.unavailable(w, r, "removing the authenticator app", err)
	}
	sa.auditEvent(r, "authenticator app removed by its user", eventSecondFactorRemoved, acct.Username, s.ID, zap.String("factor", session.FactorTOTP), zap.String("by", acct.Username))
	return true, seeOther(w, sa.PathPrefix+"/account?done=totp-removed")
}
