// Package users keeps the site's accounts behind one interface, with a Redis
// and a file implementation, and owns the rules every account obeys: how
// usernames are normalised and which passwords are accepted.
package users

import (
	"context"
	"errors"
	"time"
)

// Account is one user. Hash is a bcrypt hash; the plain password is never kept.
type Account struct {
	Username string    `json:"username"` // normalised, see Normalize
	Hash     []byte    `json:"hash"`
	Created  time.Time `json:"created"`
}

var (
	// ErrNotFound means no account has that username.
	ErrNotFound = errors.New("no such user")
	// ErrTaken means an account with that username exists already.
	ErrTaken = errors.New("username is taken")
)

// Store keeps accounts. A missing account is ErrNotFound; any other error is
// a failure of the backend itself (Redis unreachable, disk full), which
// callers answer with "try again later" rather than a login failure.
type Store interface {
	// Get returns the account for a normalised username.
	Get(ctx context.Context, username string) (Account, error)
	// Create adds an account atomically: of simultaneous creations of one
	// username exactly one succeeds, the others get ErrTaken.
	Create(ctx context.Context, a Account) error
	// SetHash replaces the password hash of an existing account.
	SetHash(ctx context.Context, username string, hash []byte) error
	// Delete removes an account; ErrNotFound if there was none.
	Delete(ctx context.Context, username string) error
	// List returns every account, sorted by username.
	List(ctx context.Context) ([]Account, error)
}
