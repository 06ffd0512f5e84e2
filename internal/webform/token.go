package webform

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// Tokens makes and checks anti-forgery form tokens. A token is tied to one
// browser, through a random value that browser holds in a cookie, and to one
// form; it carries the time it was made and is signed, so the server keeps
// no state for it. A token copied to another browser, altered, or older
// than MaxAge is refused.
type Tokens struct {
	key    []byte
	MaxAge time.Duration
}

var (
	// ErrTokenMissing means the form or the browser's cookie had no token.
	ErrTokenMissing = errors.New("form token missing")
	// ErrTokenInvalid means the token was not made for this browser and form.
	ErrTokenInvalid = errors.New("form token invalid")
	// ErrTokenExpired means the token is older than MaxAge.
	ErrTokenExpired = errors.New("form token expired")
)

// NewTokens derives the token key from a secret key, so tokens and session
// cookies never share a key.
func NewTokens(secret []byte, maxAge time.Duration) *Tokens {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte("caddy-session-auth form tokens"))
	return &Tokens{key: mac.Sum(nil), MaxAge: maxAge}
}

// NewBrowserID returns a fresh random value for a browser's token cookie.
func NewBrowserID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// ValidBrowserID accepts only what NewBrowserID makes.
func ValidBrowserID(id string) bool {
	b, err := base64.RawURLEncoding.DecodeString(id)
	return err == nil && len(b) == 32
}

// Token returns a token for form, in the browser that holds browserID.
func (t *Tokens) Token(browserID, form string, now time.Time) string {
	ts := strconv.FormatInt(now.Unix(), 10)
	return ts + "." + t.sign(browserID, form, ts)
}

// Check tells whether token was made for form in the browser that holds
// browserID, no longer than MaxAge before now.
func (t *Tokens) Check(token, browserID, form string, now time.Time) error {
	if token == "" || browserID == "" {
		return ErrTokenMissing
	}
	ts, sig, ok := strings.Cut(token, ".")
	if !ok || len(ts) > 20 {
		return ErrTokenInvalid
	}
	if !hmac.Equal([]byte(sig), []byte(t.sign(browserID, form, ts))) {
		return ErrTokenInvalid
	}
	made, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrTokenInvalid
	}
	age := now.Sub(time.Unix(made, 0))
	if age > t.MaxAge || age < -time.Minute {
		return ErrTokenExpired
	}
	return nil
}

func (t *Tokens) sign(browserID, form, ts string) string {
	mac := hmac.New(sha256.New, t.key)
	mac.Write([]byte(browserID))
	mac.Write([]byte{0})
	mac.Write([]byte(form))
	mac.Write([]byte{0})
	mac.Write([]byte(ts))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}
