package sessionauth

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"unicode/utf8"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Passkeys (WebAuthn, see internal/passkey). A user registers them on the
// account page; each is a second factor at the second step, and one
// registered for it logs in without a password (a passkey checks its own
// PIN or biometric, so it is two factors in one). A registration's
// ceremony state is kept in the account and a second step's in the step,
// each taken out before it is checked, so that every challenge answers
// once; a passwordless login's, which begins before anyone is known, is
// sealed in the browser's step cookie and its challenge recorded as spent
// once answered (passkeystart.go).

// maxPasskeys bounds the passkeys of one account.
const maxPasskeys = 10

// relyingParty is the WebAuthn relying party of the request's site: the
// configured RP ID and origins, or the host and origin the browser asked
// for. A client that lies about the host only spoils its own ceremony: the
// browser signs the origin it is really on.
func (sa *SessionAuth) relyingParty(r *http.Request) (*passkey.Relying, error) {
	cfg := passkey.Config{RPID: sa.PasskeyRPID, Origins: sa.PasskeyOrigins, RPName: sa.Title}
	if cfg.RPID == "" {
		host := r.Host
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		cfg.RPID = strings.ToLower(strings.TrimSuffix(host, "."))
	}
	if len(cfg.Origins) == 0 {
		scheme := "http://"
		if sa.secure(r) {
			scheme = "https://"
		}
		cfg.Origins = []string{scheme + strings.ToLower(r.Host)}
	}
	return passkey.New(cfg)
}

// validatePasskeys checks the configured RP ID and origins.
func (sa *SessionAuth) validatePasskeys() error {
	for _, o := range sa.PasskeyOrigins {
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Path != "" || u.RawQuery != "" {
			return fmt.Errorf("passkey origin %q: want scheme://host[:port], such as https://example.com", o)
		}
	}
	if sa.PasskeyRPID == "" {
		if len(sa.PasskeyOrigins) > 0 {
			return errors.New("passkey origins need the RP ID too: passkeys <rp id> <origin>...")
		}
		return nil
	}
	origins := sa.PasskeyOrigins
	if len(origins) == 0 {
		origins = []string{"https://" + sa.PasskeyRPID}
	}
	_, err := passkey.New(passkey.Config{RPID: sa.PasskeyRPID, Origins: origins})
	return err
}

// passkeyUser is the account as the ceremonies see it.
func passkeyUser(a users.Account) passkey.User {
	return passkey.User{Handle: a.PasskeyHandle, Name: a.Username}
}

// writeOptions answers an options request with the ceremony's options.
func writeOptions(w http.ResponseWriter, options []byte) error {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, err := w.Write(options)
	return err
}

// postOnly is the GET side of an address that only takes posts.
func (sa *SessionAuth) postOnly(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Allow", "POST")
	return sa.message(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "This address takes POST only.")
}

// passkeyRegisterOptions begins registering a passkey for the account of
// the session (account page, form token "account").
func (sa *SessionAuth) passkeyRegisterOptions(w http.ResponseWriter, r *http.Request) error {
	s, acct, answered, err := sa.accountOwner(w, r)
	if answered {
		return err
	}
	if refused, err := sa.factorChangeRefused(w, r, s, acct); refused {
		return err
	}
	if len(acct.Passkeys) >= maxPasskeys {
		return sa.message(w, r, http.StatusConflict, "too_many_passkeys", "Too many passkeys", fmt.Sprintf("An account holds at most %d passkeys. Remove one first.", maxPasskeys))
	}
	rp, err := sa.relyingParty(r)
	if err != nil {
		return sa.message(w, r, http.StatusBadRequest, "passkeys_unavailable", "Passkeys unavailable", "Passkeys cannot be used at this address.")
	}
	var options []byte
	err = sa.users.Update(r.Context(), acct.Username, func(a *users.Account) error {
		if a.Stamp != acct.Stamp || !a.CanLogIn() {
			return users.ErrChanged
		}
		if len(a.PasskeyHandle) == 0 {
			h, err := passkey.NewUserHandle()
			if err != nil {
				return err
			}
			a.PasskeyHandle = h
		}
		var state []byte
		var err error
		options, state, err = rp.BeginRegistration(passkeyUser(*a), a.Passkeys, r.PostForm.Get("passwordless") != "")
		if err != nil {
			return err
		}
		a.PasskeyEnrolment = state
		return nil
	})
	switch {
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return sa.message(w, r, http.StatusConflict, "account_changed", "Log in again", "Your account changed meanwhile. Log in again.")
	case err != nil:
		return sa.unavailable(w, r, "passkey registration", err)
	}
	return writeOptions(w, options)
}

// passkeyName is the label a user gave a passkey, tidied: one line of at
// most 64 characters; "Passkey" when none.
func passkeyName(s string) string {
	s = strings.Join(strings.Fields(strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)), " ")
	for utf8.RuneCountInString(s) > 64 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	if s == "" {
		return "Passkey"
	}
	return s
}

// addPasskey finishes a registration begun by passkeyRegisterOptions
// (accountFactorAction has checked the password). The first second factor
// of an account comes with recovery codes, shown this once.
func (sa *SessionAuth) addPasskey(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) error {
	ctx := r.Context()
	again := func(msg string) error {
		return sa.accountPage(w, r, http.StatusBadRequest, s, acct, templates.Data{Error: msg})
	}
	// Take the state out first: whatever the answer, it is used once.
	var state []byte
	err := sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
		if a.Stamp != acct.Stamp || len(a.PasskeyEnrolment) == 0 {
			return users.ErrChanged
		}
		state, a.PasskeyEnrolment = a.PasskeyEnrolment, nil
		return nil
	})
	switch {
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return again("No passkey registration was under way. Try again.")
	case err != nil:
		return sa.unavailable(w, r, "passkey registration", err)
	}
	rp, err := sa.relyingParty(r)
	if err != nil {
		return again("Passkeys cannot be used at this address.")
	}
	cred, err := rp.FinishRegistration(passkeyUser(acct), state, []byte(r.PostForm.Get("credential")))
	if err != nil {
		sa.logger.Info("passkey registration refused", zap.String("username", acct.Username), zap.String("client_ip", clientIP(r)), zap.Error(err))
		return again("The passkey could not be registered. Try again.")
	}
	cred.Name = passkeyName(r.PostForm.Get("passkey_name"))
	cred.Created = now().UTC()
	var codes []string
	var changed users.Account
	err = sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
		if a.Stamp != acct.Stamp || !a.CanLogIn() || !bytes.Equal(a.PasskeyHandle, acct.PasskeyHandle) {
			return users.ErrChanged
		}
		if len(a.Passkeys) >= maxPasskeys || passkey.IndexOf(a.Passkeys, cred.ID) >= 0 {
			return errUnchanged
		}
		a.Passkeys = append(a.Passkeys, cred)
		if len(a.Recovery) == 0 {
			var hashes []string
			codes, hashes = factor.NewRecoveryCodes()
			a.Recovery = hashes
		}
		a.Stamp = users.NewStamp() // see afterFactorChange
		changed = *a
		return nil
	})
	switch {
	case errors.Is(err, errUnchanged):
		return again("That passkey is registered already, or the account holds as many as it may.")
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return seeOther(w, sa.PathPrefix+"/account")
	case err != nil:
		return sa.unavailable(w, r, "passkey registration", err)
	}
	sa.auditEvent(r, "passkey registered", eventSecondFactorAdded, acct.Username, s.ID, zap.String("factor", session.FactorPasskey), zap.Bool("passwordless", cred.Passwordless))
	// The passkey just answered a challenge, which proves it as a login
	// would: this browser's new session counts it.
	sa.afterFactorChange(w, r, s, changed, withFactor(s, session.FactorPasskey))
	if codes != nil {
		return sa.render(w, http.StatusOK, "recovery.html", templates.Data{Heading: "Your recovery codes", Codes: codes, LostFactor: lostFactor(changed), Next: sa.PathPrefix + "/account?done=passkey"})
	}
	return seeOther(w, sa.PathPrefix+"/account?done=passkey")
}

// removePasskey removes one of the account's passkeys, named by its ID
// (accountFactorAction has checked the password).
func (sa *SessionAuth) removePasskey(w http.ResponseWriter, r *http.Request, s session.Session, acct users.Account) error {
	id, err := base64.RawURLEncoding.DecodeString(r.PostForm.Get("passkey"))
	if err != nil {
		return seeOther(w, sa.PathPrefix+"/account")
	}
	var changed users.Account
	err = sa.users.Update(r.Context(), acct.Username, func(a *users.Account) error {
		j := passkey.IndexOf(a.Passkeys, id)
		if a.Stamp != acct.Stamp || !a.CanLogIn() || j < 0 {
			return users.ErrChanged
		}
		if sa.factorRequiredFor(a.Roles) && a.TOTP == nil && len(a.Passkeys) == 1 {
			return users.ErrChanged
		}
		a.Passkeys = slices.Delete(a.Passkeys, j, j+1)
		if !a.HasSecondFactor() {
			a.Recovery = nil // recovery codes stand in for a factor; with none, they would be one
		}
		a.Stamp = users.NewStamp() // see afterFactorChange
		changed = *a
		return nil
	})
	switch {
	case errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return seeOther(w, sa.PathPrefix+"/account")
	case err != nil:
		return sa.unavailable(w, r, "removing a passkey", err)
	}
	sa.auditEvent(r, "passkey removed by its user", eventSecondFactorRemoved, acct.Username, s.ID, zap.String("factor", session.FactorPasskey), zap.String("by", acct.Username))
	sa.afterFactorChange(w, r, s, changed, s.Factors)
	return seeOther(w, sa.PathPrefix+"/account?done=passkey-removed")
}

// stepPasskeyOptions begins the passkey check of a second step: the
// step's account's passkeys, the state kept in the step.
func (sa *SessionAuth) stepPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	g, acct, token, answered, err := sa.stepState(w, r, true)
	if answered {
		return err
	}
	rp, err := sa.relyingParty(r)
	if err != nil || len(acct.Passkeys) == 0 || g.Enrol {
		sa.putStepBack(r, token, g, true)
		return sa.message(w, r, http.StatusBadRequest, "passkeys_unavailable", "Passkeys unavailable", "This login cannot use a passkey.")
	}
	options, state, err := rp.BeginLogin(passkeyUser(acct), acct.Passkeys)
	if err != nil {
		sa.putStepBack(r, token, g, true)
		return err
	}
	g.Passkey = state
	if err := sa.tokens.Restore(r.Context(), token, g); err != nil {
		return sa.unavailable(w, r, "second factor", err)
	}
	return writeOptions(w, options)
}

// checkPasskey checks a second step's passkey answer against the state
// the step held, and records the passkey's new sign count.
func (sa *SessionAuth) checkPasskey(r *http.Request, acct users.Account, state []byte, answer string) error {
	rp, err := sa.relyingParty(r)
	if err != nil || len(state) == 0 {
		return errWrongCode
	}
	i, cred, err := rp.FinishLogin(passkeyUser(acct), acct.Passkeys, state, []byte(answer))
	if err != nil {
		sa.logger.Info("passkey refused at the second step", zap.String("username", acct.Username), zap.String("client_ip", clientIP(r)), zap.Error(err))
		return errWrongCode
	}
	return sa.recordPasskeyUse(r.Context(), acct, i, cred)
}

// recordPasskeyUse stores a passkey's new sign count, unless another
// login with the same passkey got there first: then this one is refused,
// as a copied passkey's would be.
func (sa *SessionAuth) recordPasskeyUse(ctx context.Context, acct users.Account, i int, cred passkey.Credential) error {
	before := acct.Passkeys[i]
	err := sa.users.Update(ctx, acct.Username, func(a *users.Account) error {
		j := passkey.IndexOf(a.Passkeys, cred.ID)
		if a.Stamp != acct.Stamp || !a.CanLogIn() || j < 0 {
			return users.ErrChanged
		}
		if a.Passkeys[j].SignCount != before.SignCount {
			return errWrongCode
		}
		a.Passkeys[j] = cred
		return nil
	})
	return err
}

// passkeyLoginOptions begins a login without a password (login page,
// form token "login"). It keeps nothing on the server: the state goes
// into the step cookie, sealed (passkeystart.go), where only the login
// form's passkey answer reads it. Starts are not counted: they cost
// nothing to keep, and each refused answer counts toward ip_limit.
func (sa *SessionAuth) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) error {
	if sa.SecondFactor == factorsOff {
		return sa.message(w, r, http.StatusNotFound, "second_factor_off", "Not found", "This site does not use passkeys.")
	}
	if result, err := sa.clientRefused(w, r); result != "" {
		return err
	}
	rp, err := sa.relyingParty(r)
	if err != nil {
		return sa.message(w, r, http.StatusBadRequest, "passkeys_unavailable", "Passkeys unavailable", "Passkeys cannot be used at this address.")
	}
	options, state, err := rp.BeginDiscoverable()
	if err != nil {
		return err
	}
	sealed, err := sa.sealStart(r, passwordlessStart{State: state, Next: webform.SafeNext(r.PostForm.Get("next"))})
	if err != nil {
		return sa.unavailable(w, r, "passkey login", err)
	}
	sa.setStepCookie(w, r, sealed, int(stepLifetime.Seconds()))
	return writeOptions(w, options)
}

// passkeyLogin logs in with a passwordless passkey's answer, posted by
// the login form in place of a password.
func (sa *SessionAuth) passkeyLogin(w http.ResponseWriter, r *http.Request) (string, error) {
	ctx := r.Context()
	form := templates.Data{Heading: "Log in", Next: webform.SafeNext(r.PostForm.Get("next"))}
	failed := func(reason, user string) (string, error) {
		sa.clearStepCookie(w, r)
		if err := sa.countClientFailure(ctx, r); err != nil {
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		}
		sa.auditEvent(r, "passkey login failed", eventLoginFailed, user, "", zap.String("reason", reason))
		if isAPI(r) {
			return loginWrong, sa.apiError(w, http.StatusUnauthorized, "passkey_refused", "That passkey could not log you in.")
		}
		form.Error = "That passkey could not log you in. Try again, or log in with your password."
		return loginWrong, sa.form(w, r, http.StatusUnauthorized, "login.html", form)
	}
	if result, err := sa.clientRefused(w, r); result != "" {
		return result, err
	}
	start, err := sa.openStart(r)
	switch {
	case errors.Is(err, errNoStart):
		return failed("passkey_expired", "")
	case err != nil:
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	rp, err := sa.relyingParty(r)
	if err != nil {
		return failed("passkey_refused", "")
	}
	var acct users.Account
	_, i, cred, err := rp.FinishDiscoverable(start.State, []byte(r.PostForm.Get("credential")), func(handle []byte) (passkey.User, []passkey.Credential, error) {
		a, err := sa.accountByPasskeyHandle(ctx, handle)
		if err != nil {
			return passkey.User{}, nil, err
		}
		acct = a
		return passkeyUser(a), a.Passkeys, nil
	})
	if err != nil {
		if !errors.Is(err, users.ErrNotFound) && !errors.Is(err, passkey.ErrRefused) && !errors.Is(err, passkey.ErrUnknownCredential) &&
			!errors.Is(err, passkey.ErrNotPasswordless) && !errors.Is(err, passkey.ErrCloned) && !errors.Is(err, passkey.ErrState) {
			return loginBackendDown, sa.unavailable(w, r, "login", err)
		}
		sa.logger.Info("passkey login refused", zap.String("client_ip", clientIP(r)), zap.Error(err))
		return failed("passkey_refused", acct.Username)
	}
	// The answer verified: its challenge is spent, or this is a replay.
	switch fresh, err := sa.spendStart(ctx, start); {
	case errors.Is(err, errUnreadableStart):
		sa.logger.Warn("passkey login refused: its state names no challenge to spend", zap.String("client_ip", clientIP(r)))
		return failed("passkey_refused", acct.Username)
	case err != nil:
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	case !fresh:
		sa.logger.Info("passkey login refused: its challenge was answered already", zap.String("client_ip", clientIP(r)))
		return failed("passkey_replayed", acct.Username)
	}
	if !acct.CanLogIn() {
		return failed(map[bool]string{true: "disabled", false: "pending"}[acct.Disabled], acct.Username)
	}
	switch err := sa.recordPasskeyUse(ctx, acct, i, cred); {
	case errors.Is(err, errWrongCode) || errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound):
		return failed("passkey_refused", acct.Username)
	case err != nil:
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	s, err := sa.sessions.Start(w, r, acct, false, session.FactorPasskey)
	if err != nil {
		return loginBackendDown, sa.unavailable(w, r, "login", err)
	}
	sa.noteLogin(ctx, acct.Username)
	sa.clearStepCookie(w, r)
	sa.rememberDevice(w, r, acct, sa.knownDevice(r, acct))
	sa.auditEvent(r, "login", eventLogin, acct.Username, s.ID, zap.Bool("remember", s.Remember), zap.String("factors", s.Factors))
	return loginOK, sa.loggedIn(w, r, http.StatusOK, s, start.Next)
}

// accountByPasskeyHandle finds the account a passkey's user handle names:
// from the handles found before, or by reading the accounts once (a
// passwordless login of a passkey this instance has not seen yet).
func (sa *SessionAuth) accountByPasskeyHandle(ctx context.Context, handle []byte) (users.Account, error) {
	if name, ok := sa.handles.Load(string(handle)); ok {
		a, err := sa.users.Get(ctx, name.(string))
		if err == nil && bytes.Equal(a.PasskeyHandle, handle) {
			return a, nil
		}
		if err != nil && !errors.Is(err, users.ErrNotFound) {
			return a, err
		}
		sa.handles.Delete(string(handle))
	}
	list, err := sa.users.List(ctx)
	if err != nil {
		return users.Account{}, err
	}
	for _, a := range list {
		if len(a.PasskeyHandle) > 0 && bytes.Equal(a.PasskeyHandle, handle) {
			sa.handles.Store(string(handle), a.Username)
			return a, nil
		}
	}
	return users.Account{}, users.ErrNotFound
}
