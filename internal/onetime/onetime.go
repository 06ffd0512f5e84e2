// Package onetime keeps a realm's one-time tokens: invitation links,
// password-reset links, and the half-logged-in state of a login between
// its password and its second factor. A token is 256 random bits, handed out once in
// clear and stored only as its SHA-256, so whoever reads the store (a
// backup, a Redis replica) cannot use a link. Each is used at most once:
// Use hands the grant to exactly one caller, whatever runs at the same
// time. Each expires; an expired one is kept for a while after, so its
// page can say "expired" rather than "not valid".
package onetime

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// Kinds of grant.
const (
	Invite = "invite" // lets one person register
	Reset  = "reset"  // lets one person set the password of User
	// Step is a login half done: User's password was right, and a second
	// factor is asked next (or, with Enrol, set up). It opens no protected
	// page; only the second-factor page reads it.
	Step = "step"
)

// Grant is what a token lets its holder do.
type Grant struct {
	Kind    string    `json:"kind"`
	User    string    `json:"user,omitempty"`  // Reset: whose password
	Stamp   string    `json:"stamp,omitempty"` // Reset: the account's stamp when issued; a link outlives no password change
	Roles   []string  `json:"roles,omitempty"` // Invite: roles the new account gets
	By      string    `json:"by,omitempty"`    // who made it: "command line" or an admin's name, whose admin role the link needs
	Created time.Time `json:"created"`
	Expires time.Time `json:"expires"`

	// Reset only: the account's roles when the link was made. A link
	// outlives no role change (one made for an editor must not open an
	// account that has since become an admin).
	HeldRoles []string `json:"held_roles,omitempty"`

	// Step only.
	Remember bool   `json:"remember,omitempty"` // the login asked to be remembered
	Next     string `json:"next,omitempty"`     // where the login goes when done
	Device   string `json:"device,omitempty"`   // the browser's device id, whose lock budget the login counts against
	Enrol    bool   `json:"enrol,omitempty"`    // no second factor yet, and one is required: set one up
	Failures int    `json:"failures,omitempty"` // wrong codes sent so far
	Passkey  []byte `json:"passkey,omitempty"`  // the passkey ceremony under way, if any
}

var (
	// ErrInvalid means no such token: never issued, mistyped, or used.
	ErrInvalid = errors.New("the link is not valid, or was used already")
	// ErrExpired means the token existed but its time ran out.
	ErrExpired = errors.New("the link has expired")
)

// keepExpired is how long an expired token is kept, so that its page can
// say it expired.
const keepExpired = 7 * 24 * time.Hour

// Store keeps tokens. Errors other than ErrInvalid and ErrExpired are
// failures of the backend itself.
type Store interface {
	// Issue stores g under a fresh token and returns the token, the only
	// time it exists in clear.
	Issue(ctx context.Context, g Grant) (string, error)
	// Peek returns the grant of a live token without using it.
	Peek(ctx context.Context, token string, now time.Time) (Grant, error)
	// Use takes the token: of simultaneous calls, one gets the grant, the
	// others ErrInvalid; once used, it is gone.
	Use(ctx context.Context, token string, now time.Time) (Grant, error)
	// Restore puts back a token that was used but whose action could not
	// complete (the username was taken, the backend failed), so the link
	// still works.
	Restore(ctx context.Context, token string, g Grant) error
	// Spend records a value that must serve once but that this store did
	// not issue (a passkey challenge that a sealed cookie carried), and
	// tells whether it was fresh: of simultaneous calls with one value,
	// one gets true; every later one false, until until (plus
	// spentMargin) has passed and the record is forgotten. A value whose
	// until is not after now serves no more: never fresh. Only the
	// value's hash is kept.
	Spend(ctx context.Context, value string, now, until time.Time) (fresh bool, err error)
}

// spentMargin is how long a spent value is kept past its until. Instances
// whose clocks disagree judge until each by their own: one whose clock is
// behind still takes the value as live after the record, timed by
// another's clock, is gone, and would take a replay for a fresh answer.
// The margin covers such skew (NTP keeps it far below a minute).
const spentMargin = time.Minute

// newToken is 256 bits from crypto/rand, URL-safe.
func newToken() string {
	var b [32]byte
	_, _ = rand.Read(b[:]) // never fails (crypto/rand's contract)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// validToken accepts only what newToken makes, so that nothing else
// reaches a key or a file name.
func validToken(token string) bool {
	if len(token) != 43 {
		return false
	}
	b, err := base64.RawURLEncoding.DecodeString(token)
	return err == nil && len(b) == 32
}

// hash is what the store keeps of a token.
func hash(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// keepUntil is when a grant may be forgotten. A login step's page only
// ever says "log in again", so it goes as soon as it expires.
func keepUntil(g Grant) time.Time {
	if g.Kind == Step {
		return g.Expires
	}
	return g.Expires.Add(keepExpired)
}

func encode(g Grant) ([]byte, error) { return json.Marshal(g) }

func decode(data []byte) (Grant, error) {
	var g Grant
	if err := json.Unmarshal(data, &g); err != nil || (g.Kind != Invite && g.Kind != Reset && g.Kind != Step) {
		return Grant{}, ErrInvalid
	}
	return g, nil
}

// live checks a stored grant's time.
func live(g Grant, now time.Time) (Grant, error) {
	if !now.Before(g.Expires) {
		return Grant{}, ErrExpired
	}
	return g, nil
}
