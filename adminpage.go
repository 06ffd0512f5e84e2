package sessionauth

import (
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The admin page lets accounts with AdminRole run the realm's accounts
// from a browser: find them, approve, disable or enable, set roles,
// delete, end their sessions, and make invitation and reset links. Every
// action is a POST with the page's form token, from a session whose
// password was proved at most reauthAfter ago (see recent.go; otherwise
// the admin confirms it first), and leaves one line in the audit log.

const adminPageSize = 50

// adminNotices are what the page says after each action.
var adminNotices = map[string]string{
	"confirmed":    "Password confirmed. Admin actions are open for the next 10 minutes.",
	"approve":      "The account is approved and can log in.",
	"disable":      "The account is disabled and its sessions are logged out.",
	"enable":       "The account is enabled.",
	"roles":        "The roles are set; they apply at the user's next request.",
	"delete":       "The account is deleted and its sessions are logged out.",
	"end-sessions": "The account's sessions are logged out.",
}

// adminOwner is the logged-in admin behind the request, or answered when
// there is none: the browser is sent to log in, and an account without
// the admin role is refused.
func (sa *SessionAuth) adminOwner(w http.ResponseWriter, r *http.Request) (session.Session, users.Account, bool, error) {
	s, acct, answered, err := sa.pageOwner(w, r, "/admin")
	if answered {
		return s, acct, true, err
	}
	if !slices.Contains(acct.Roles, sa.AdminRole) {
		sa.logger.Info("admin page refused: no admin role", zap.String("username", s.User), zap.String("client_ip", clientIP(r)))
		return s, acct, true, sa.refuse(w, r, s)
	}
	return s, acct, false, nil
}

func (sa *SessionAuth) serveAdminPage(w http.ResponseWriter, r *http.Request) error {
	s, admin, answered, err := sa.adminOwner(w, r)
	if answered {
		return err
	}
	q := r.URL.Query()
	return sa.adminPage(w, r, http.StatusOK, s, admin, templates.Data{Notice: adminNotices[q.Get("done")]})
}

// adminPage renders the page: the accounts that match the search, one
// page of them, sorted by name, pending ones first.
func (sa *SessionAuth) adminPage(w http.ResponseWriter, r *http.Request, status int, s session.Session, admin users.Account, data templates.Data) error {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		q = r.PostForm
	}
	search := strings.ToLower(strings.TrimSpace(q.Get("q")))
	page, _ := strconv.Atoi(q.Get("page"))
	page = max(page, 1)
	all, err := sa.users.List(r.Context())
	if err != nil {
		return sa.unavailable(w, r, "admin page", err)
	}
	matching := slices.DeleteFunc(all, func(a users.Account) bool { return !strings.Contains(a.Username, search) })
	slices.SortStableFunc(matching, func(a, b users.Account) int {
		if a.Pending != b.Pending {
			if a.Pending {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Username, b.Username)
	})
	pages := max((len(matching)+adminPageSize-1)/adminPageSize, 1)
	page = min(page, pages)
	from := (page - 1) * adminPageSize
	for _, a := range matching[from:min(from+adminPageSize, len(matching))] {
		row := templates.AccountRow{
			Username:   a.Username,
			Created:    shownTime(a.Created),
			Roles:      strings.Join(a.Roles, ", "),
			Pending:    a.Pending,
			Disabled:   a.Disabled,
			Self:       a.Username == admin.Username,
			OtherAdmin: sa.otherAdmin(a, admin.Username),
		}
		if !a.LastLogin.IsZero() {
			row.LastLogin = shownTime(a.LastLogin)
		}
		data.Accounts = append(data.Accounts, row)
	}
	data.Heading = "Accounts"
	data.User = admin.Username
	data.Search = search
	data.Page, data.Pages, data.Total = page, pages, len(matching)
	data.NeedPassword = !recentlyAuthenticated(s)
	data.Invites = sa.Registration == "invite"
	return sa.form(w, r, status, "admin.html", data)
}

// handleAdmin runs one admin action.
func (sa *SessionAuth) handleAdmin(w http.ResponseWriter, r *http.Request) error {
	s, admin, answered, err := sa.adminOwner(w, r)
	if answered {
		return err
	}
	ctx := r.Context()
	action := r.PostForm.Get("action")
	refuse := func(status int, msg string) error {
		return sa.adminPage(w, r, status, s, admin, templates.Data{Error: msg})
	}
	if action == "confirm" {
		ok, _, err := sa.confirmPassword(w, r, admin, r.PostForm.Get("password"), "That is not your password.", refuse)
		if !ok {
			return err
		}
		// The password just typed is a proof: the session, under a new
		// id, counts from now as recently authenticated; its lifetime
		// still ends where the login's does.
		if _, err := sa.sessions.Reissue(w, r, s, admin, s.Factors, true); err != nil {
			return sa.unavailable(w, r, "admin page", err)
		}
		sa.auditLine(r, admin.Username, "confirm password", "")
		return sa.backToAdmin(w, r, "confirmed")
	}
	// Every action, invitations and links included, is judged on the
	// session's last proof of a credential.
	if !recentlyAuthenticated(s) {
		return refuse(http.StatusUnauthorized, "Confirm your password first: it was last checked more than 10 minutes ago.")
	}
	if action == "invite" {
		return sa.adminInvite(w, r, s, admin)
	}
	name, err := users.Normalize(r.PostForm.Get("user"))
	if err != nil {
		return refuse(http.StatusBadRequest, "There is no such account.")
	}
	target, err := sa.users.Get(ctx, name)
	if errors.Is(err, users.ErrNotFound) {
		return refuse(http.StatusNotFound, "There is no account "+name+" (any more).")
	}
	if err != nil {
		return sa.unavailable(w, r, "admin action", err)
	}
	self := name == admin.Username
	if sa.otherAdmin(target, admin.Username) {
		// Every action, also enable, approve and ending sessions: one
		// admin must neither take over another's account nor undo what
		// the operator did to it.
		return refuse(http.StatusConflict, name+" is an admin: change admin accounts from the command line.")
	}
	// change writes to the account as stored, checked again there: it may
	// have become another admin since it was read.
	change := func(apply func(*users.Account) error) func() error {
		return func() error { return sa.users.Update(ctx, name, sa.unlessOtherAdmin(admin.Username, apply)) }
	}
	var write func() error // the change to the account
	after := func() error { return sa.sessions.UserChanged(ctx, name) }
	var fields []zap.Field
	switch action {
	case "approve":
		write = change(func(a *users.Account) error { a.Pending = false; return nil })
	case "enable":
		write = change(func(a *users.Account) error { a.Disabled = false; return nil })
	case "end-sessions":
		// A new stamp ends every session, also those no index lists and
		// logins in flight; ending the listed ones has every instance
		// forget them now.
		write = func() error {
			_, err := users.RenewStampIf(ctx, sa.users, name, func(a users.Account) bool {
				return a.Stamp == target.Stamp && !sa.otherAdmin(a, admin.Username)
			})
			return err
		}
		after = func() error { _, err := sa.sessions.EndAllFor(ctx, name); return err }
	case "disable", "delete", "roles", "reset-link":
		if self && action != "roles" && action != "reset-link" {
			return refuse(http.StatusConflict, "You cannot "+action+" your own account here. Another admin can, or the command line.")
		}
		switch action {
		case "disable":
			write = change(users.Disable)
			after = func() error { _, err := sa.sessions.EndAllFor(ctx, name); return err }
		case "delete":
			write = func() error { return sa.users.Delete(ctx, name) }
			after = func() error { _, err := sa.sessions.EndAllFor(ctx, name); return err }
		case "roles":
			roles, err := rolesField(r)
			if err != nil {
				return refuse(http.StatusBadRequest, users.Explain(err))
			}
			if self && !slices.Contains(roles, sa.AdminRole) {
				return refuse(http.StatusConflict, "You cannot take the "+sa.AdminRole+" role from yourself here. Another admin can, or the command line.")
			}
			write = change(func(a *users.Account) error { a.Roles = roles; return nil })
			fields = append(fields, zap.Strings("roles", roles))
		case "reset-link":
			if !target.CanLogIn() {
				return refuse(http.StatusConflict, name+" is disabled or waits for approval: enable or approve the account first.")
			}
			g := onetime.Grant{Kind: onetime.Reset, User: name, Stamp: target.Stamp, HeldRoles: target.Roles, By: admin.Username, Created: now(), Expires: now().Add(defaultResetLifetime)}
			return sa.showLink(w, r, s, admin, g, "/reset?token=", "Password reset link for "+name)
		}
	default:
		return refuse(http.StatusBadRequest, "The page did not say what to do. Open it again and retry.")
	}
	switch err := write(); {
	case errors.Is(err, users.ErrNotFound), errors.Is(err, users.ErrChanged):
		return refuse(http.StatusConflict, "The account "+name+" changed or went away meanwhile. Look again and retry.")
	case err != nil:
		return sa.unavailable(w, r, "admin action", err)
	}
	// The account has changed: that is what the audit log must hold, even
	// if telling the other instances fails below (the change then applies
	// at their next read, within a second).
	sa.auditLine(r, admin.Username, action, name, fields...)
	if err := after(); err != nil {
		sa.logger.Warn("admin action done, but ending or refreshing the user's sessions failed; they follow at their next request",
			zap.String("user", name), zap.String("action", action), zap.Error(err))
	}
	return sa.backToAdmin(w, r, action)
}

// otherAdmin tells whether acct is an admin other than the admin named
// by. The admin page changes no such account and makes no link for it:
// admins are the operator's to change, from the command line.
func (sa *SessionAuth) otherAdmin(acct users.Account, by string) bool {
	return acct.Username != by && slices.Contains(acct.Roles, sa.AdminRole)
}

// unlessOtherAdmin is apply, refused (users.ErrChanged, nothing stored)
// when the account as stored is an admin other than by: the page checked
// the account it read, and the command line may have made it an admin
// since.
func (sa *SessionAuth) unlessOtherAdmin(by string, apply func(*users.Account) error) func(*users.Account) error {
	return func(a *users.Account) error {
		if sa.otherAdmin(*a, by) {
			return users.ErrChanged
		}
		return apply(a)
	}
}

// rolesField reads a form's roles field: names separated by commas or
// spaces, normalised.
func rolesField(r *http.Request) ([]string, error) {
	return users.NormalizeRoles(strings.FieldsFunc(r.PostForm.Get("roles"), func(c rune) bool { return c == ',' || c == ' ' }))
}

// adminInvite makes an invitation, with the roles the form names.
func (sa *SessionAuth) adminInvite(w http.ResponseWriter, r *http.Request, s session.Session, admin users.Account) error {
	if sa.Registration != "invite" {
		return sa.adminPage(w, r, http.StatusConflict, s, admin, templates.Data{Error: "Invitations work only where registration is by invitation (registration invite)."})
	}
	roles, err := rolesField(r)
	if err != nil {
		return sa.adminPage(w, r, http.StatusBadRequest, s, admin, templates.Data{Error: users.Explain(err)})
	}
	g := onetime.Grant{Kind: onetime.Invite, Roles: roles, By: admin.Username, Created: now(), Expires: now().Add(defaultInviteLifetime)}
	return sa.showLink(w, r, s, admin, g, "/register?invite=", "Invitation "+sa.invitedRoles(roles))
}

// invitedRoles says which roles an invitation's account gets: the link's
// and default_roles.
func (sa *SessionAuth) invitedRoles(roles []string) string {
	all, _ := users.NormalizeRoles(append(slices.Clone(sa.defaultRoles), roles...))
	if len(all) == 0 {
		return "without roles"
	}
	return "with the " + rolesPhrase(all)
}

// showLink issues a link and shows it, once, on the page itself (a
// response to a POST, never stored or logged). The link's address is the
// one the admin's browser reached the site at.
func (sa *SessionAuth) showLink(w http.ResponseWriter, r *http.Request, s session.Session, admin users.Account, g onetime.Grant, path, what string) error {
	token, err := sa.tokens.Issue(r.Context(), g)
	if err != nil {
		return sa.unavailable(w, r, "making a link", err)
	}
	scheme := "http"
	if sa.secure(r) {
		scheme = "https"
	}
	sa.auditLine(r, admin.Username, "make "+g.Kind+" link", g.User, zap.Strings("roles", g.Roles), zap.Time("expires", g.Expires))
	w.Header().Set("Referrer-Policy", "origin")
	return sa.adminPage(w, r, http.StatusOK, s, admin, templates.Data{
		Link:        scheme + "://" + r.Host + sa.PathPrefix + path + token,
		LinkWhat:    what,
		LinkExpires: shownTime(g.Expires),
	})
}

// backToAdmin sends the browser back to the page it acted from, with
// the notice for what was done.
func (sa *SessionAuth) backToAdmin(w http.ResponseWriter, r *http.Request, done string) error {
	v := url.Values{"done": {done}}
	if q := r.PostForm.Get("q"); q != "" {
		v.Set("q", q)
	}
	if p := r.PostForm.Get("page"); p != "" {
		v.Set("page", p)
	}
	return seeOther(w, sa.PathPrefix+"/admin?"+v.Encode())
}

// auditLine writes one line to the audit log: which admin did what to
// whom, from where.
func (sa *SessionAuth) auditLine(r *http.Request, admin, action, user string, fields ...zap.Field) {
	sa.auditEvent(r, "admin action", eventAdminAction, user, "", append([]zap.Field{zap.String("admin", admin), zap.String("action", action)}, fields...)...)
}
