package users

import (
	"fmt"
	"time"
)

// prepareNew checks an account about to be created, normalises its roles
// and fills in Created and a fresh Stamp, so that both stores refuse the
// same mistakes: a key that Normalize would not produce could never be
// found again by a login.
func prepareNew(a Account) (Account, error) {
	n, err := Normalize(a.Username)
	if err != nil || n != a.Username {
		return a, fmt.Errorf("creating account: username %q is not normalised", a.Username)
	}
	if len(a.Hash) == 0 {
		return a, fmt.Errorf("creating account %q: empty password hash", a.Username)
	}
	roles, err := NormalizeRoles(a.Roles)
	if err != nil {
		return a, fmt.Errorf("creating account %q: %w", a.Username, err)
	}
	a.Roles = roles
	if a.Created.IsZero() {
		a.Created = time.Now().UTC()
	}
	a.Stamp = NewStamp()
	return a, nil
}

// prepareChanged checks an account an Update's change produced: its roles
// are normalised, and a role name that breaks the rules refuses the whole
// change, so that nothing is stored.
func prepareChanged(a *Account) error {
	roles, err := NormalizeRoles(a.Roles)
	if err != nil {
		return err
	}
	a.Roles = roles
	return nil
}
