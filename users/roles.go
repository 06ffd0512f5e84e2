package users

import (
	"errors"
	"slices"
	"strings"
)

// MaxRoleBytes is the longest role name accepted, after trimming.
const MaxRoleBytes = 64

// ErrBadRole means a role name breaks the rules of NormalizeRole.
var ErrBadRole = errors.New("role name breaks the rules")

// roleRules is what Explain shows for a refused role name.
const roleRules = "Role names are 1 to 64 characters: letters a-z, digits, _ and -, starting with a letter or digit."

// NormalizeRole turns a role name as typed into the one accounts and access
// rules keep, so that "Staff" and "staff" are one role. The rules, like a
// username's:
//
//   - white space around the name is ignored;
//   - the name is 1 to 64 characters long;
//   - it uses only the letters a-z (capitals count as lower case), the
//     digits 0-9, _ and -;
//   - it starts with a letter or a digit (so it never reads as a command
//     line flag).
//
// No comma, so that roles joined with commas (the {http.auth.user.roles}
// placeholder, the roles header) split back into the same roles. Anything
// else is refused with a Refusal wrapping ErrBadRole.
func NormalizeRole(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", refuse(ErrBadRole, "empty", roleRules+" This one is empty.")
	case len(name) > MaxRoleBytes:
		return "", refuse(ErrBadRole, "too long", roleRules+" This one is longer.")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !alnum(c) && c != '_' && c != '-' {
			return "", refuse(ErrBadRole, "a character outside the set in %q", roleRules+" %q has a character outside that set.", name)
		}
		if i == 0 && !alnum(c) {
			return "", refuse(ErrBadRole, "%q starts with a symbol", roleRules+" %q starts with a symbol.", name)
		}
	}
	return strings.ToLower(name), nil
}

// NormalizeRoles normalises each name and returns the set sorted, without
// repeats: the form Account.Roles is kept in. nil stays nil.
func NormalizeRoles(names []string) ([]string, error) {
	if len(names) == 0 {
		return nil, nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		role, err := NormalizeRole(n)
		if err != nil {
			return nil, err
		}
		out = append(out, role)
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// readRoles is NormalizeRoles for roles read back from a store, which a
// person may have edited by hand: a name that breaks the rules is left out
// rather than failing the whole account, since no access rule can name it
// anyway (rules are checked when the config loads).
func readRoles(names []string) []string {
	if len(names) == 0 {
		return nil
	}
	out := make([]string, 0, len(names))
	for _, n := range names {
		if role, err := NormalizeRole(n); err == nil {
			out = append(out, role)
		}
	}
	if len(out) == 0 {
		return nil
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// GrantRoles is a change for Store.Update that gives an account roles.
func GrantRoles(roles ...string) func(*Account) error {
	return func(a *Account) error {
		a.Roles = append(slices.Clone(a.Roles), roles...)
		return nil
	}
}

// RevokeRoles is a change for Store.Update that takes roles from an account.
func RevokeRoles(roles ...string) func(*Account) error {
	return func(a *Account) error {
		a.Roles = slices.DeleteFunc(slices.Clone(a.Roles), func(r string) bool { return slices.Contains(roles, r) })
		return nil
	}
}
