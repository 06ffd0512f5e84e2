// Package users keeps the site's accounts behind one interface, with a Redis
// and a file implementation, and owns the rules every account obeys: how
// usernames are normalised and which passwords are accepted.
package users

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey"
)

// Account is one user. Hash is a bcrypt hash; the plain password is never kept.
type Account struct {
	Username string `json:"username"` // normalised, see Normalize
	Hash     []byte `json:"hash"`
	// Stamp changes whenever the password is set anew (changed, reset) and
	// is new for every account created, even under an old name. A session
	// carries the stamp its login saw and ends when they differ, so no
	// session outlives the password it was made with, not even a login
	// that was checking the old password while it changed.
	Stamp   string    `json:"stamp,omitempty"`
	Created time.Time `json:"created"`
	// Roles are what access rules check, normalised (see NormalizeRole),
	// sorted and without repeats; the stores keep them so. Changing them
	// never changes Stamp: no one is logged out by a role change, and the
	// writer announces the change instead (session.UpdateAccount), so that
	// it applies at the user's next request.
	Roles []string `json:"roles,omitempty"`
	// Disabled accounts cannot log in, and their sessions are refused
	// while it lasts (an operator's "disable"; "enable" clears it).
	// Disabling also renews Stamp (see Disable), so that no session from
	// before, nor a login in flight, nor a reset link, comes back with
	// "enable".
	Disabled bool `json:"disabled,omitempty"`
	// Pending accounts registered where registration waits for approval:
	// they cannot log in until an operator approves them.
	Pending bool `json:"pending,omitempty"`
	// TOTP is the account's authenticator app, once confirmed with a
	// first code; TOTPEnrolment the sealed secret of one being set up
	// (shown to one viewer, not yet confirmed), good until
	// TOTPEnrolmentUntil, which becomes TOTP when confirmed (an account
	// has one app at a time).
	TOTP               *TOTP     `json:"totp,omitempty"`
	TOTPEnrolment      string    `json:"totp_enrolment,omitempty"`
	TOTPEnrolmentUntil time.Time `json:"totp_enrolment_until,omitzero"`
	// Recovery holds the hashes of the recovery codes not used yet (see
	// package internal/factor); each works once, instead of a second factor.
	Recovery []string `json:"recovery,omitempty"`
	// Passkeys are the account's WebAuthn credentials (public keys only),
	// each a second factor, and those marked Passwordless a way to log in
	// alone. PasskeyHandle is the account's WebAuthn user handle, random,
	// made with its first passkey; PasskeyEnrolment the state of a passkey
	// being registered from the account page, used once.
	Passkeys         []passkey.Credential `json:"passkeys,omitempty"`
	PasskeyHandle    []byte               `json:"passkey_handle,omitempty"`
	PasskeyEnrolment []byte               `json:"passkey_enrolment,omitempty"`

	// LastLogin is when the account last logged in, for the admin page;
	// recorded at best (a login never fails for want of it). Zero: never.
	LastLogin time.Time `json:"last_login,omitzero"`
}

// TOTP is an authenticator app: its secret, sealed (see internal/factor),
// and the last time step whose code was accepted, so that no code, nor an
// older one, is accepted twice.
type TOTP struct {
	Secret   string    `json:"secret"`
	LastStep int64     `json:"last_step,omitempty"`
	Added    time.Time `json:"added"`
}

// HasSecondFactor tells whether the account has a second factor to ask for.
func (a Account) HasSecondFactor() bool { return a.TOTP != nil || len(a.Passkeys) > 0 }

// ResetSecondFactors removes every second factor and recovery code, for a
// user who lost the device, and renews the stamp, which ends the account's
// sessions: whoever holds the device must not stay logged in.
func ResetSecondFactors(a *Account) error {
	a.TOTP = nil
	a.TOTPEnrolment, a.TOTPEnrolmentUntil = "", time.Time{}
	a.Recovery = nil
	a.Passkeys = nil
	a.PasskeyEnrolment = nil
	a.Stamp = NewStamp()
	return nil
}

// CanLogIn tells whether the account may have sessions at all.
func (a Account) CanLogIn() bool { return !a.Disabled && !a.Pending }

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
	// Update applies change to an existing account and stores the result
	// whole, atomically with respect to every other Update, Create and
	// Delete of the account; ErrNotFound if there is none, and change's
	// own error (nothing stored) if it refuses.
	Update(ctx context.Context, username string, change func(*Account) error) error
	// Delete removes an account; ErrNotFound if there was none.
	Delete(ctx context.Context, username string) error
	// List returns every account, sorted by username.
	List(ctx context.Context) ([]Account, error)
}

// NewStamp returns a fresh credential stamp.
func NewStamp() string { return rand.Text()[:16] }

// SetPassword gives an account a new password hash and a new stamp, which
// ends every session made with the old password.
func SetPassword(ctx context.Context, s Store, username string, hash []byte) error {
	return s.Update(ctx, username, func(a *Account) error {
		a.Hash = bytes.Clone(hash)
		a.Stamp = NewStamp()
		return nil
	})
}

// ChangePassword gives the account a new password hash and a new stamp,
// but only if its stamp is still stamp and it may log in: a user changing
// their own password must not undo a reset, or a disable, that came in
// between. It returns the account as stored.
func ChangePassword(ctx context.Context, s Store, username, stamp string, hash []byte) (Account, error) {
	return ChangePasswordIf(ctx, s, username, sameStamp(stamp), hash)
}

// ChangePasswordIf is ChangePassword with the caller's own test of the
// account in place of the stamp's, run on it as stored, inside the write
// (the account must still be able to log in too): a reset link checks
// there everything it was made for (its stamp and roles), so that nothing
// that changed after the link was read slips through.
func ChangePasswordIf(ctx context.Context, s Store, username string, fits func(Account) bool, hash []byte) (Account, error) {
	return renew(ctx, s, username, fits, func(a *Account) { a.Hash = bytes.Clone(hash) })
}

// RenewStamp gives the account a new stamp, which ends every session made
// before it (logins in flight included), on the same terms as
// ChangePassword: "log out everywhere else" is this, then a new session
// for the browser that asked.
func RenewStamp(ctx context.Context, s Store, username, stamp string) (Account, error) {
	return RenewStampIf(ctx, s, username, sameStamp(stamp))
}

// RenewStampIf is RenewStamp with the caller's own test of the account in
// place of the stamp's, run as ChangePasswordIf runs it.
func RenewStampIf(ctx context.Context, s Store, username string, fits func(Account) bool) (Account, error) {
	return renew(ctx, s, username, fits, func(*Account) {})
}

// sameStamp is the test of ChangePassword and RenewStamp: the account's
// credentials are as they were read.
func sameStamp(stamp string) func(Account) bool {
	return func(a Account) bool { return a.Stamp == stamp }
}

// renew applies change and a new stamp if the account as stored may log
// in and fits accepts it; ErrChanged if not.
func renew(ctx context.Context, s Store, username string, fits func(Account) bool, change func(*Account)) (Account, error) {
	var changed Account
	err := s.Update(ctx, username, func(a *Account) error {
		if !a.CanLogIn() || !fits(*a) {
			return ErrChanged
		}
		change(a)
		a.Stamp = NewStamp()
		changed = *a
		return nil
	})
	return changed, err
}

// Disable marks the account disabled and renews its stamp, so that its
// sessions, a login in flight and its reset links all end for good, not
// only while it stays disabled.
func Disable(a *Account) error {
	a.Disabled = true
	a.Stamp = NewStamp()
	return nil
}

// ErrChanged means an Update found the account changed since it was read.
var ErrChanged = errors.New("account changed meanwhile")

// Rehash replaces the hash of an account whose password was just checked
// against old with one made at the configured cost, keeping its stamp (the
// password is the same, so its sessions stay). It gives up with ErrChanged
// if the password changed in between.
func Rehash(ctx context.Context, s Store, username string, old, hash []byte) error {
	return s.Update(ctx, username, func(a *Account) error {
		if !bytes.Equal(a.Hash, old) {
			return ErrChanged
		}
		a.Hash = bytes.Clone(hash)
		return nil
	})
}
