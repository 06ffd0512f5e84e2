package sessionauth

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Second factors. Which logins need one is the policy (SecondFactor and
// SecondFactorRoles): "off" asks for none; "optional" asks every account
// that has set one up; "required" asks every account, or every holder of
// one of the named roles, and sends those who have none to set one up
// right after the password, before they reach anything else. Sessions
// record which factors their login used (session.Record.Factors), and a
// session that the policy finds wanting (a role granted since, the policy
// made stricter) is treated as no session at all.

// Second-factor policies.
const (
	factorsOff      = "off"
	factorsOptional = "optional"
	factorsRequired = "required"
)

// provisionSecondFactor normalises the policy's roles; Validate has
// refused names that do not normalise.
func (sa *SessionAuth) provisionSecondFactor() {
	if sa.SecondFactor == "" {
		sa.SecondFactor = factorsOptional
	}
	sa.factorRoles, _ = users.NormalizeRoles(sa.SecondFactorRoles)
	sa.handles = new(sync.Map)
}

func (sa *SessionAuth) validateSecondFactor() error {
	policy := sa.SecondFactor
	if policy == "" {
		policy = factorsOptional // the default, which Provision fills in
	}
	switch policy {
	case factorsOff, factorsOptional, factorsRequired:
	default:
		return fmt.Errorf("second_factor %q: want off, optional or required", policy)
	}
	if len(sa.SecondFactorRoles) > 0 && policy != factorsRequired {
		return fmt.Errorf("second_factor %s takes no roles: roles name who must have one, with required", policy)
	}
	if _, err := users.NormalizeRoles(sa.SecondFactorRoles); err != nil {
		return fmt.Errorf("second_factor: %s", users.Explain(err))
	}
	return nil
}

// factorRequiredFor tells whether the holder of roles must log in with a
// second factor.
func (sa *SessionAuth) factorRequiredFor(roles []string) bool {
	if sa.SecondFactor != factorsRequired {
		return false
	}
	if len(sa.factorRoles) == 0 {
		return true
	}
	for _, role := range roles {
		if slices.Contains(sa.factorRoles, role) {
			return true
		}
	}
	return false
}

// lacksRequiredFactor tells whether a session's login proved less than the
// policy now asks of its user.
func (sa *SessionAuth) lacksRequiredFactor(s session.Session) bool {
	return s.LoggedIn() && sa.SecondFactor == factorsRequired && !s.SecondFactor() && sa.factorRequiredFor(s.Roles())
}

// currentSession is the request's session as far as the policy accepts it:
// one whose login lacks a second factor now required is no session.
func (sa *SessionAuth) currentSession(r *http.Request) (session.Session, error) {
	s, err := sa.sessions.Current(r)
	if err == nil && sa.lacksRequiredFactor(s) {
		return session.Session{}, nil
	}
	return s, err
}

// What a login whose password was right does next.
type nextStep int

const (
	stepNone  nextStep = iota // log in now
	stepProve                 // ask for the second factor
	stepEnrol                 // set one up first: the policy requires one and there is none
)

func (sa *SessionAuth) nextStep(acct users.Account) nextStep {
	switch {
	case sa.SecondFactor == factorsOff:
		return stepNone
	case acct.HasSecondFactor():
		return stepProve
	case sa.factorRequiredFor(acct.Roles):
		return stepEnrol
	}
	return stepNone
}

// sealer seals and opens the realm's second-factor secrets, with keys
// derived from its signing keys.
func (sa *SessionAuth) sealer() (factor.Sealer, error) {
	keys, err := sa.keys.Keys()
	if err != nil {
		return factor.Sealer{}, err
	}
	return factor.NewSealer(keys), nil
}

// issuer is the name an authenticator app shows for this site: the title,
// or the host.
func (sa *SessionAuth) issuer(r *http.Request) string {
	if sa.Title != "" {
		return sa.Title
	}
	host := r.Host
	if i := strings.LastIndexByte(host, ':'); i > 0 && !strings.HasSuffix(host, "]") {
		host = host[:i]
	}
	return host
}

// groupsOfFour writes a secret as apps show it: "ABCD EFGH ...".
func groupsOfFour(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i += 4 {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(s[i:min(i+4, len(s))])
	}
	return b.String()
}

// lostFactor says what an account's recovery codes stand in for, as the
// page that shows them puts it: the factors it holds, so that a first
// passkey is not called an authenticator app.
func lostFactor(acct users.Account) string {
	passkeys := "your passkey"
	if len(acct.Passkeys) > 1 {
		passkeys = "your passkeys"
	}
	switch {
	case acct.TOTP != nil && len(acct.Passkeys) > 0:
		return "both your authenticator app and " + passkeys
	case len(acct.Passkeys) > 0:
		return passkeys
	}
	return "your authenticator app"
}
