package users

import (
	"fmt"
	"time"
)

// prepareNew checks an account about to be created and fills in Created and
// a fresh Stamp, so that both stores refuse the same mistakes: a key that
// Normalize would not produce could never be found again by a login.
func prepareNew(a Account) (Account, error) {
	n, err := Normalize(a.Username)
	if err != nil || n != a.Username {
		return a, fmt.Errorf("creating account: username %q is not normalised", a.Username)
	}
	if len(a.Hash) == 0 {
		return a, fmt.Errorf("creating account %q: empty password hash", a.Username)
	}
	if a.Created.IsZero() {
		a.Created = time.Now().UTC()
	}
	a.Stamp = NewStamp()
	return a, nil
}
