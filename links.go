package sessionauth

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// One-time links: an invitation (registration "invite") opens
// <prefix>/register?invite=<token>, a password reset <prefix>/reset?token=<token>.
// The token is in the URL only on that first GET; the page carries it on in
// a hidden field. See internal/onetime for how tokens are kept.

// Default lifetimes of the links.
const (
	defaultInviteLifetime = 7 * 24 * time.Hour
	defaultResetLifetime  = time.Hour
)

// hideToken keeps a token in this request's URL out of every log: Caddy's
// access log skips the request (it would log the URI, query and all), and
// the page sends only the site's origin as Referer, so neither its
// stylesheet's request nor its form's post carries the token in a header.
// Only the GET that opens a link needs it: the forms post the token in
// their body, to URLs without one.
func hideToken(w http.ResponseWriter, r *http.Request) {
	caddyhttp.SetVar(r.Context(), caddyhttp.LogSkipVar, true)
	w.Header().Set("Referrer-Policy", "origin")
}

// badLink answers a link that cannot be used, saying why as far as that
// is safe: expired, or not valid (never issued, mistyped, or used).
func (sa *SessionAuth) badLink(w http.ResponseWriter, r *http.Request, what string, err error) error {
	switch {
	case errors.Is(err, onetime.ErrExpired):
		return sa.message(w, r, http.StatusGone, "expired_link", "Link expired",
			"This "+what+" link has expired. Ask the site's administrator for a new one.")
	case errors.Is(err, onetime.ErrInvalid):
		return sa.message(w, r, http.StatusNotFound, "invalid_link", "Link not valid",
			"This "+what+" link is not valid: it was used already, or only part of it was copied. Ask the site's administrator for a new one.")
	}
	return sa.unavailable(w, r, what+" link", err)
}

// inviteGrant reads the invitation a registration form carries, without
// using it, and checks that its maker still vouches for it (see
// checkLinkMaker).
func (sa *SessionAuth) inviteGrant(ctx context.Context, token string) (onetime.Grant, error) {
	g, err := sa.tokens.Peek(ctx, token, now())
	if err == nil && g.Kind != onetime.Invite {
		err = onetime.ErrInvalid
	}
	if err == nil {
		err = sa.checkLinkMaker(ctx, g)
	}
	return g, err
}

// byCommandLine is the maker (Grant.By) of the links the CLI makes. No
// username can be it: usernames hold no space.
const byCommandLine = "command line"

// checkLinkMaker refuses, as not valid (onetime.ErrInvalid), a link made
// on the admin page whose maker is no longer an admin: their account is
// gone, cannot log in, or lacks the admin role. A link is the power of
// whoever made it, used later: an admin the operator demoted or disabled
// must not keep it through invitations (the admin role among their roles)
// or reset links left behind. Links from the command line are the
// operator's own. Another error is the backend's.
func (sa *SessionAuth) checkLinkMaker(ctx context.Context, g onetime.Grant) error {
	if g.By == byCommandLine {
		return nil
	}
	maker, err := sa.users.Get(ctx, g.By)
	switch {
	case errors.Is(err, users.ErrNotFound):
	case err != nil:
		return err
	case maker.CanLogIn() && slices.Contains(maker.Roles, sa.AdminRole):
		return nil
	}
	sa.logger.Info("link refused: the admin who made it is no admin any more",
		zap.String("link", g.Kind), zap.String("link_by", g.By))
	return onetime.ErrInvalid
}

// resetGrant reads a reset link and checks that its account can still take
// it (see resetLinkFits).
func (sa *SessionAuth) resetGrant(ctx context.Context, token string, use bool) (onetime.Grant, error) {
	read := sa.tokens.Peek
	if use {
		read = sa.tokens.Use
	}
	g, err := read(ctx, token, now())
	if err != nil {
		return g, err
	}
	if g.Kind != onetime.Reset {
		if use {
			_ = sa.tokens.Restore(ctx, token, g) // not ours to spend
		}
		return g, onetime.ErrInvalid
	}
	acct, err := sa.users.Get(ctx, g.User)
	if errors.Is(err, users.ErrNotFound) || err == nil && !sa.resetLinkFits(acct, g) {
		return g, onetime.ErrInvalid
	}
	if err == nil {
		err = sa.checkLinkMaker(ctx, g)
	}
	if err != nil && !errors.Is(err, onetime.ErrInvalid) && use {
		_ = sa.tokens.Restore(ctx, token, g) // the backend failed, not the link
	}
	return g, err
}

// resetLinkFits tells whether a reset link still fits its account, so
// that a link is never worth more than when it was made: the account is
// allowed to log in; its password is unchanged since (a link outlives no
// password change, nor another reset); its roles are the very ones it
// held then (any role change ends its outstanding links: a link made for
// an editor must not open the account once it is an admin); and it holds
// no role that would have refused the link then: the admin page makes no
// link for another admin (see otherAdmin), so a link an admin made is
// refused once its account counts as another admin, even with its roles
// unchanged (a reload gave admin_role to one of them). Links from the
// command line, which may be made for any account, meet the rest.
func (sa *SessionAuth) resetLinkFits(acct users.Account, g onetime.Grant) bool {
	return acct.CanLogIn() && acct.Stamp == g.Stamp &&
		slices.Equal(acct.Roles, g.HeldRoles) &&
		(g.By == byCommandLine || !sa.otherAdmin(acct, g.By))
}

func (sa *SessionAuth) serveResetForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("token")
	hideToken(w, r)
	g, err := sa.resetGrant(r.Context(), token, false)
	if err != nil {
		return sa.badLink(w, r, "password reset", err)
	}
	return sa.form(w, r, http.StatusOK, "reset.html", templates.Data{Heading: "Set a new password", User: g.User, Token: token})
}

// handleReset sets the password a reset link allows, ends every session
// of the user and lifts the account's locks; the user then logs in with
// the new password.
func (sa *SessionAuth) handleReset(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	token := r.PostForm.Get("token")
	g, err := sa.resetGrant(ctx, token, false)
	if err != nil {
		return sa.badLink(w, r, "password reset", err)
	}
	form := templates.Data{Heading: "Set a new password", User: g.User, Token: token}
	password := r.PostForm.Get("password")
	if err := sa.policy.Check(password); err != nil {
		form.PasswordError, form.Error = users.Explain(err), users.Explain(err)
		return sa.form(w, r, http.StatusBadRequest, "reset.html", form)
	}
	if r.PostForm.Get("password_confirm") != password {
		form.ConfirmError = "The two passwords are not the same."
		form.Error = form.ConfirmError
		return sa.form(w, r, http.StatusBadRequest, "reset.html", form)
	}
	var hash []byte
	answered, err := sa.inBcryptSlot(w, r, "password reset", func() { hash, err = users.Hash(password, sa.BcryptCost) })
	if answered {
		return err
	}
	if err != nil {
		return sa.unavailable(w, r, "password reset", err)
	}
	if g, err = sa.resetGrant(ctx, token, true); err != nil {
		return sa.badLink(w, r, "password reset", err)
	}
	// The link's test runs again inside the write, on the account as
	// stored: a role change since resetGrant read it must still end the
	// link.
	fits := func(a users.Account) bool { return sa.resetLinkFits(a, g) }
	if _, err := users.ChangePasswordIf(ctx, sa.users, g.User, fits, hash); err != nil {
		if errors.Is(err, users.ErrChanged) || errors.Is(err, users.ErrNotFound) {
			return sa.badLink(w, r, "password reset", onetime.ErrInvalid)
		}
		_ = sa.tokens.Restore(ctx, token, g)
		return sa.unavailable(w, r, "password reset", err)
	}
	// The new stamp has ended every session already; ending them has
	// every instance forget them now.
	n, err := sa.sessions.EndAllFor(ctx, g.User)
	if err != nil {
		sa.logger.Warn("password reset, but ending the sessions failed (they end at their next request)", zap.String("username", g.User), zap.Error(err))
	}
	if err := unlockAccount(ctx, sa.throttle, sa.scope, g.User); err != nil {
		sa.debug("lifting the locks after a reset", err)
	}
	sa.auditEvent(r, "password reset with a one-time link", eventPasswordReset, g.User, "", zap.String("link_by", g.By), zap.Int("sessions_ended", n))
	return seeOther(w, sa.PathPrefix+"/login?reset=1")
}

// serveInviteForm is the registration form under "invite", opened from an
// invitation link; the form carries the token on.
func (sa *SessionAuth) serveInviteForm(w http.ResponseWriter, r *http.Request) error {
	token := r.URL.Query().Get("invite")
	hideToken(w, r)
	if token == "" {
		return sa.invitationRequired(w, r)
	}
	if _, err := sa.inviteGrant(r.Context(), token); err != nil {
		return sa.badLink(w, r, "invitation", err)
	}
	return sa.form(w, r, http.StatusOK, "register.html", templates.Data{Heading: "Create an account", Next: webform.SafeNext(r.URL.Query().Get("next")), Token: token})
}
