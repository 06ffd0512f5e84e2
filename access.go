package sessionauth

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sync"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Who may see what. Each access rule selects requests with Caddy's
// matchers and names the users and roles it lets through. The evaluation
// rule, in one sentence: a request must pass every rule that selects it,
// and passes a rule when its user is named in it or holds one of its
// roles. Rules are not ordered, so adding a broader rule can never open a
// narrower area, and a request no rule selects needs only a valid session.
// A request that a rule selects is protected even when the handler's
// matcher leaves it out, so a rule can never be written to guard a path
// that nobody is asked to log in for.

// AccessRule lets the requests its matchers select through only for the
// users it names and the holders of the roles it names: a request passes
// the rule when its user is one of Users or holds one of Roles.
type AccessRule struct {
	// Match selects the requests the rule applies to, with Caddy request
	// matchers; any one matcher set that matches applies it. Default: every
	// request the handler sees, except its own pages.
	Match caddyhttp.RawMatcherSets `json:"match,omitempty" caddy:"namespace=http.matchers"`

	// Roles the rule lets through: a user who holds any one of them passes.
	// Role names as NormalizeRole in package users keeps them: 1 to 64
	// characters of a-z 0-9 _ -, starting with a letter or digit; capitals
	// count as lower case.
	Roles []string `json:"roles,omitempty"`

	// Users the rule lets through by name, whatever their roles. A rule
	// must name at least one role or one user.
	Users []string `json:"users,omitempty"`

	// SecondFactor makes the rule also want a login that used a second
	// factor (an authenticator app's code, a passkey or a recovery code):
	// a session from a login with the password alone is refused, with a
	// page that says how to get one. Default: false.
	SecondFactor bool `json:"second_factor,omitempty"`

	match caddyhttp.MatcherSets
	roles []string // Roles, normalised
	users []string // Users, normalised
}

// provisionRules loads the rules' matchers and normalises their names;
// Validate has refused names that do not normalise.
func (sa *SessionAuth) provisionRules(ctx caddy.Context) error {
	for i := range sa.Allow {
		rule := &sa.Allow[i]
		if rule.Match != nil {
			mods, err := ctx.LoadModule(rule, "Match")
			if err != nil {
				return fmt.Errorf("loading the matchers of allow rule %d: %v", i+1, err)
			}
			if err := rule.match.FromInterface(mods); err != nil {
				return fmt.Errorf("loading the matchers of allow rule %d: %v", i+1, err)
			}
		}
		rule.roles, _ = users.NormalizeRoles(rule.Roles)
		rule.users, _ = normalizeUsers(rule.Users)
	}
	sa.defaultRoles, _ = users.NormalizeRoles(sa.DefaultRoles)
	if err := grants.add(sa, ctx.Done()); err != nil {
		return err
	}
	sa.release = append(sa.release, func() { grants.remove(sa) })
	return nil
}

// validateRules checks the rules' names and the roles options.
func (sa *SessionAuth) validateRules() error {
	for i, rule := range sa.Allow {
		if len(rule.Roles) == 0 && len(rule.Users) == 0 {
			return fmt.Errorf("allow rule %d names no role and no user, so it would refuse everyone: name the roles or users it lets through", i+1)
		}
		if _, err := users.NormalizeRoles(rule.Roles); err != nil {
			return fmt.Errorf("allow rule %d: %s", i+1, users.Explain(err))
		}
		if _, err := normalizeUsers(rule.Users); err != nil {
			return fmt.Errorf("allow rule %d: %s", i+1, users.Explain(err))
		}
	}
	if _, err := users.NormalizeRoles(sa.DefaultRoles); err != nil {
		return fmt.Errorf("default_roles: %s", users.Explain(err))
	}
	if sa.RolesHeader != "" && !isToken(sa.RolesHeader) {
		return fmt.Errorf("roles_header %q is not a valid header name", sa.RolesHeader)
	}
	if sa.RolesHeader != "" && sameHeaderName(sa.RolesHeader, sa.UserHeader) { // as CGI reads them
		return fmt.Errorf("roles_header and user_header are both %q: give them different names", sa.RolesHeader)
	}
	return nil
}

// normalizeUsers normalises usernames and returns them sorted, without
// repeats.
func normalizeUsers(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		u, err := users.Normalize(n)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// ruleSelects tells whether any rule selects any of the readings rs.
func (sa *SessionAuth) ruleSelects(rs readings) (bool, error) {
	for i := range sa.Allow {
		if ok, err := rs.selectedBy(sa.Allow[i].match); ok || err != nil {
			return ok, err
		}
	}
	return false, nil
}

// refusingRule returns the first rule that selects any of the readings rs
// and that the session's user does not pass, or nil when the user passes
// every rule that selects any of them.
func (sa *SessionAuth) refusingRule(rs readings, s session.Session) (*AccessRule, error) {
	for i := range sa.Allow {
		rule := &sa.Allow[i]
		selects, err := rs.selectedBy(rule.match)
		if err != nil {
			return nil, err
		}
		if selects && (!rule.admits(s.User, s.Roles()) || rule.SecondFactor && !s.SecondFactor()) {
			return rule, nil
		}
	}
	return nil, nil
}

// admits tells whether user, holding roles, passes the rule.
func (rule *AccessRule) admits(user string, roles []string) bool {
	if slices.Contains(rule.users, user) {
		return true
	}
	for _, role := range roles {
		if slices.Contains(rule.roles, role) {
			return true
		}
	}
	return false
}

// forbid refuses a logged-in user a request that a rule does not let
// through: a browser gets a page that says who is logged in and offers to
// log in as someone else (and come back here), anything else a bare 403
// through Caddy's error handling. Never a redirect: sending a logged-in
// user to the login page on its own would loop.
func (sa *SessionAuth) forbid(w http.ResponseWriter, r *http.Request, s session.Session, rule *AccessRule) error {
	wantsFactor := rule.admits(s.User, s.Roles()) // so it refused for want of a second factor
	sa.auditEvent(r, "request refused by an access rule", eventAccessDenied, s.User, s.ID, zap.String("path", r.URL.Path), zap.Bool("second_factor_wanted", wantsFactor))
	if wantsFactor && isBrowserPageLoad(r) {
		return sa.render(w, http.StatusForbidden, "forbidden.html", templates.Data{
			Heading:    "A second factor is needed",
			User:       s.User,
			Next:       webform.SafeNext(r.URL.RequestURI()),
			NeedFactor: true,
		})
	}
	return sa.refuse(w, r, s)
}

// refuse answers 403 to a logged-in user: the page for browsers, a bare
// error otherwise.
func (sa *SessionAuth) refuse(w http.ResponseWriter, r *http.Request, s session.Session) error {
	if isBrowserPageLoad(r) {
		return sa.render(w, http.StatusForbidden, "forbidden.html", templates.Data{
			Heading: "No access",
			User:    s.User,
			Next:    webform.SafeNext(r.URL.RequestURI()),
		})
	}
	return caddyhttp.Error(http.StatusForbidden, errNotAllowed)
}

// errNotAllowed is what a refused request learns.
var errNotAllowed = errors.New("not allowed for this account")

// namedByARule tells whether an access rule of any loaded handler of this
// realm names the user: accounts belong to the realm, so registration on
// one site must not claim a name that a rule on another grants. Such a
// name is refused as taken, so that a stranger cannot claim an access the
// config meant for someone else (a name not created yet, misspelled, or
// removed). Rules in other processes' configs are not seen.
func (sa *SessionAuth) namedByARule(username string) bool {
	return grants.names(sa.Realm, username)
}

// grants are the handlers loaded in this process, for namedByARule and
// for one admin role per realm, each with the config load it came with.
var grants = grantRegistry{handlers: map[*SessionAuth]<-chan struct{}{}}

type grantRegistry struct {
	mu sync.Mutex
	// handlers maps each handler to its config load: the Done channel of
	// the caddy.Context that provisioned it, one for all the modules of a
	// load.
	handlers map[*SessionAuth]<-chan struct{}
}

// add registers sa, provisioned by the config load named by load. It
// refuses a handler whose admin_role differs from another handler of its
// realm in the same load: the admin page of one site would refuse links
// and actions that the other's allows (see otherAdmin). Handlers of other
// loads do not count: while a reload provisions the new config, the old
// one still runs, and a reload may change admin_role.
func (g *grantRegistry) add(sa *SessionAuth, load <-chan struct{}) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	for other, otherLoad := range g.handlers {
		if load != nil && otherLoad == load && other.Realm == sa.Realm && other.AdminRole != sa.AdminRole {
			return fmt.Errorf("realm %s: admin_role %q here, but %q in another session_auth of the same realm: give every site of a realm the same admin_role", sa.Realm, sa.AdminRole, other.AdminRole)
		}
	}
	g.handlers[sa] = load
	return nil
}

func (g *grantRegistry) remove(sa *SessionAuth) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.handlers, sa)
}

// names tells whether a rule of a handler of realm names username.
func (g *grantRegistry) names(realm, username string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	for sa := range g.handlers {
		if sa.Realm != realm {
			continue
		}
		for _, rule := range sa.Allow {
			if slices.Contains(rule.users, username) {
				return true
			}
		}
	}
	return false
}
