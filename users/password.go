package users

import (
	"bytes"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
)

const (
	// MinBcryptCost is the lowest cost Hash accepts; below it a stolen
	// users file is too cheap to crack. (It is bcryptfloor.Cost, which only
	// tests lower.)
	MinBcryptCost = 10
	// DefaultBcryptCost is the cost used when the operator sets none
	// (about 0.23 s per check on one core).
	DefaultBcryptCost = 12
	// DefaultMinPasswordLength is the shortest password accepted, in
	// characters; the policy can only raise it.
	DefaultMinPasswordLength = 8
	// MaxPasswordBytes is bcrypt's input limit. Longer passwords are refused,
	// never truncated, since bcrypt would otherwise silently ignore the rest.
	MaxPasswordBytes = 72
)

var (
	// ErrPasswordTooShort means the password has fewer characters than the policy asks.
	ErrPasswordTooShort = errors.New("password is too short")
	// ErrPasswordTooLong means the password is over bcrypt's 72 bytes.
	ErrPasswordTooLong = errors.New("password is too long")
	// ErrPasswordInvalid means the password is not valid UTF-8 or contains NUL.
	ErrPasswordInvalid = errors.New("password contains invalid characters")
)

// Policy says which passwords registration accepts.
type Policy struct {
	// MinLength is the least number of characters (Unicode code points).
	// 0, or anything below DefaultMinPasswordLength, means
	// DefaultMinPasswordLength: the minimum can be raised, not lowered.
	MinLength int
}

// minLength is the effective minimum.
func (p Policy) minLength() int {
	return max(p.MinLength, DefaultMinPasswordLength)
}

// Check tells whether a new password is acceptable. It refuses passwords
// that are not valid text, are too long or too short, or whose lowercase form
// is on the embedded list of common passwords (common_passwords.txt). Its
// errors are Refusals that wrap ErrPasswordInvalid, ErrPasswordTooLong,
// ErrPasswordTooShort or ErrPasswordCommon; Explain words them for a form.
func (p Policy) Check(password string) error {
	if !utf8.ValidString(password) || strings.IndexByte(password, 0) >= 0 {
		return refuse(ErrPasswordInvalid, "not valid UTF-8 text, or holds NUL",
			"Use only ordinary text characters in the password.")
	}
	if len(password) > MaxPasswordBytes {
		return refuse(ErrPasswordTooLong, "%[2]d bytes, more than %[1]d",
			"Use at most %[1]d bytes in the password (fewer characters if you use accented letters or symbols). This one has %[2]d bytes.",
			MaxPasswordBytes, len(password))
	}
	if n, min := utf8.RuneCountInString(password), p.minLength(); n < min {
		return refuse(ErrPasswordTooShort, "%[2]d characters, fewer than %[1]d",
			"Use at least %[1]d characters in the password. This one has %[2]d.", min, n)
	}
	if isCommonPassword(password) {
		return refuse(ErrPasswordCommon, "on the list of common passwords",
			"This password is on a list of passwords that attackers try first. Choose another.")
	}
	return nil
}

// Hash returns the bcrypt hash of password at cost. It refuses costs below
// MinBcryptCost or above bcrypt.MaxCost, and passwords over MaxPasswordBytes
// (ErrPasswordTooLong) rather than hashing only their first 72 bytes.
func Hash(password string, cost int) ([]byte, error) {
	if cost < bcryptfloor.Cost || cost > bcrypt.MaxCost {
		return nil, fmt.Errorf("bcrypt cost %d is outside %d to %d", cost, bcryptfloor.Cost, bcrypt.MaxCost)
	}
	if len(password) > MaxPasswordBytes {
		return nil, refuse(ErrPasswordTooLong, "%[2]d bytes, more than %[1]d",
			"Use at most %[1]d bytes in the password (fewer characters if you use accented letters or symbols). This one has %[2]d bytes.",
			MaxPasswordBytes, len(password))
	}
	h, err := bcrypt.GenerateFromPassword([]byte(password), cost)
	if err != nil {
		return nil, fmt.Errorf("hashing password: %w", err)
	}
	return h, nil
}

// Verify reports whether password matches hash. A password over
// MaxPasswordBytes never matches, so a long password that merely shares its
// first 72 bytes with the real one is refused.
func Verify(hash []byte, password string) bool {
	if len(password) > MaxPasswordBytes {
		return false
	}
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}

var (
	dummyMu     sync.Mutex
	dummyHashes = map[int]func() []byte{}
)

// DummyHash returns a bcrypt hash, at cost, of a random password nobody
// knows. A login for an unknown username checks the password against it, so
// it pays the same bcrypt work as a wrong password for a real account and
// its timing does not reveal which usernames exist. The hash is made once
// per cost and reused. Costs outside MinBcryptCost..bcrypt.MaxCost are
// clamped into that range.
func DummyHash(cost int) []byte {
	cost = min(max(cost, bcryptfloor.Cost), bcrypt.MaxCost)
	dummyMu.Lock()
	get, ok := dummyHashes[cost]
	if !ok {
		get = sync.OnceValue(func() []byte {
			// rand.Text is 26 characters, well under bcrypt's limit, so
			// the only possible error (bad cost) was ruled out above.
			h, _ := bcrypt.GenerateFromPassword([]byte(rand.Text()), cost)
			return h
		})
		dummyHashes[cost] = get
	}
	dummyMu.Unlock()
	return bytes.Clone(get())
}
