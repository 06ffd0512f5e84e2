package sessionauth

import (
	"context"
	"errors"
	"net/http"
	"slices"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func (sa *SessionAuth) serveRegisterForm(w http.ResponseWriter, r *http.Request) error {
	if sa.Registration == "invite" {
		return sa.serveInviteForm(w, r)
	}
	return sa.form(w, r, http.StatusOK, "register.html", templates.Data{Heading: "Create an account", Next: webform.SafeNext(r.URL.Query().Get("next"))})
}

// nameTaken is what the registration form says of a name that is taken.
const nameTaken = "That username is taken. Choose another."

// handleRegister creates the account and logs it in with a fresh session.
// Every refusal sends the form back with what was typed, but the password.
// Each attempt counts against the client's limit, as a failure does.
func (sa *SessionAuth) handleRegister(w http.ResponseWriter, r *http.Request) error {
	form := templates.Data{
		Heading:  "Create an account",
		Next:     webform.SafeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
	}
	// refuse puts msg next to the field it concerns and in the summary;
	// the JSON API answers code and msg.
	refuse := func(status int, code string, field *string, msg string) error {
		if isAPI(r) {
			return sa.apiError(w, status, code, msg)
		}
		*field, form.Error = msg, msg
		return sa.form(w, r, status, "register.html", form)
	}
	if result, err := sa.clientRefused(w, r); result != "" {
		return err
	}
	if err := sa.countClientFailure(r.Context(), r); err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	var invite onetime.Grant
	if sa.Registration == "invite" {
		form.Token = r.PostForm.Get("invite")
		if form.Token == "" {
			return sa.invitationRequired(w, r)
		}
		var err error
		if invite, err = sa.inviteGrant(r.Context(), form.Token); err != nil {
			return sa.badLink(w, r, "invitation", err)
		}
	}
	password := r.PostForm.Get("password")
	username, problem := sa.checkRegistration(r, &form, password)
	if problem.code != "" {
		// Every field's problem at once; the JSON API answers the first.
		if isAPI(r) {
			return sa.apiError(w, http.StatusBadRequest, problem.code, problem.msg)
		}
		form.Error = problem.msg
		return sa.form(w, r, http.StatusBadRequest, "register.html", form)
	}
	var hash []byte
	var hashErr error
	answered, err := sa.inBcryptSlot(w, r, "registration", func() { hash, hashErr = users.Hash(password, sa.BcryptCost) })
	if answered {
		return err
	}
	if hashErr != nil {
		return refuse(http.StatusBadRequest, "invalid_password", &form.PasswordError, users.Explain(hashErr))
	}
	acct := users.Account{Username: username, Hash: hash, Created: now(), Roles: sa.defaultRoles, Pending: sa.Registration == "approval"}
	if sa.namedByARule(username) {
		// The config gives this name access already: whoever registered it
		// first would have it. Only the operator makes such an account.
		err = users.ErrTaken
	} else if sa.Registration == "invite" {
		err = sa.registerInvited(r.Context(), form.Token, &acct)
		if errors.Is(err, onetime.ErrInvalid) || errors.Is(err, onetime.ErrExpired) {
			return sa.badLink(w, r, "invitation", err)
		}
	} else {
		err = sa.users.Create(r.Context(), acct)
	}
	if errors.Is(err, users.ErrTaken) {
		return refuse(http.StatusConflict, "username_taken", &form.UsernameError, nameTaken)
	}
	if err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	// Read it back for the stamp the store gave it.
	if acct, err = sa.users.Get(r.Context(), username); err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	if acct.Pending {
		sa.auditEvent(r, "account created, waiting for approval", eventRegister, username, "", zap.String("registration", sa.Registration))
		metrics.registrations.WithLabelValues(sa.Realm, "pending").Inc()
		return sa.message(w, r, http.StatusAccepted, "pending", "Waiting for approval",
			"Your account is created and waits for approval. You can log in once the site's administrator has approved it.")
	}
	metrics.registrations.WithLabelValues(sa.Realm, "ok").Inc()
	if step := sa.nextStep(acct); step == stepEnrol {
		// The new account must set up a second factor before its first
		// session, as at any login.
		sa.auditEvent(r, "account created", eventRegister, username, "", registeredWith(sa.Registration, invite)...)
		_, err := sa.beginSecondStep(w, r, acct, false, "", form.Next, step)
		return err
	}
	s, err := sa.sessions.Start(w, r, acct, false, session.FactorPassword)
	if err != nil {
		sa.auditEvent(r, "account created", eventRegister, username, "", registeredWith(sa.Registration, invite)...)
		return sa.unavailable(w, r, "registration", err)
	}
	sa.auditEvent(r, "account created", eventRegister, username, s.ID, registeredWith(sa.Registration, invite)...)
	sa.rememberDevice(w, r, acct, "")
	return sa.loggedIn(w, r, http.StatusCreated, s, form.Next)
}

// fieldProblem is the first problem checkRegistration found, as the JSON
// API names it.
type fieldProblem struct{ code, msg string }

// checkRegistration puts next to each field of form what is wrong with it:
// the username, the password, its confirmation, and, when anything else
// is wrong, whether the name is taken (otherwise creating the account
// finds that out), so that one answer shows every problem. It returns the
// normalised username and the first problem.
func (sa *SessionAuth) checkRegistration(r *http.Request, form *templates.Data, password string) (string, fieldProblem) {
	var first fieldProblem
	found := func(field *string, code, msg string) {
		*field = msg
		if first.code == "" {
			first = fieldProblem{code, msg}
		}
	}
	username, err := users.Normalize(form.Username)
	if err != nil {
		found(&form.UsernameError, "invalid_username", users.Explain(err))
	}
	if err := sa.policy.Check(password); err != nil {
		found(&form.PasswordError, "invalid_password", users.Explain(err))
	}
	if confirm, sent := r.PostForm["password_confirm"]; sent && confirm[0] != password {
		found(&form.ConfirmError, "password_mismatch", "The two passwords are not the same.")
	}
	if first.code != "" && form.UsernameError == "" {
		_, err := sa.users.Get(r.Context(), username)
		if err == nil || sa.namedByARule(username) {
			form.UsernameError = nameTaken
		}
	}
	return username, first
}

// invitationRequired answers a registration that brings no invitation
// where only invitations register: nothing was used up or miscopied, so
// it says what is missing rather than that a link is not valid.
func (sa *SessionAuth) invitationRequired(w http.ResponseWriter, r *http.Request) error {
	return sa.message(w, r, http.StatusNotFound, "invitation_required", "By invitation only", "Registration on this site needs an invitation link.")
}

// registeredWith are the audit fields of a registration: the mode, and
// who sent the invitation it used.
func registeredWith(mode string, invite onetime.Grant) []zap.Field {
	fields := []zap.Field{zap.String("registration", mode)}
	if mode == "invite" {
		fields = append(fields, zap.String("invited_by", invite.By), zap.Strings("roles", invite.Roles))
	}
	return fields
}

// registerInvited spends the invitation and creates the account with the
// roles it brings. If the name is taken, the invitation is put back, so
// the link still works.
func (sa *SessionAuth) registerInvited(ctx context.Context, token string, acct *users.Account) error {
	g, err := sa.tokens.Use(ctx, token, now())
	if err != nil {
		return err
	}
	if g.Kind != onetime.Invite {
		_ = sa.tokens.Restore(ctx, token, g)
		return onetime.ErrInvalid
	}
	// Checked again now that it is spent: the maker may have been
	// demoted since the form was checked.
	if err := sa.checkLinkMaker(ctx, g); err != nil {
		if !errors.Is(err, onetime.ErrInvalid) {
			_ = sa.tokens.Restore(ctx, token, g) // the backend failed, not the link
		}
		return err
	}
	roles, err := users.NormalizeRoles(append(slices.Clone(acct.Roles), g.Roles...))
	if err != nil {
		_ = sa.tokens.Restore(ctx, token, g)
		return err
	}
	acct.Roles = roles
	err = sa.users.Create(ctx, *acct)
	if errors.Is(err, users.ErrTaken) {
		// Nothing was made: the link still works. (Not after any other
		// error: a write that failed to answer may still have landed, and
		// the link must not make a second account.)
		if rerr := sa.tokens.Restore(ctx, token, g); rerr != nil {
			sa.logger.Warn("an invitation was spent on a name that was taken, and could not be put back", zap.Error(rerr))
		}
	}
	return err
}
