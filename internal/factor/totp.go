// Package factor holds what a second factor needs besides the login flow:
// one-time codes from an authenticator app (TOTP, RFC 6238), recovery
// codes, and the sealing of the secrets an account keeps.
package factor

import (
	"bytes"
	"crypto/subtle"
	"encoding/base32"
	"errors"
	"image/png"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// The parameters every authenticator app reads: 6 digits every 30
// seconds from an HMAC-SHA1 of a 160-bit secret.
const (
	period = 30
	digits = otp.DigitsSix
	// window is how many steps before and after now a code may come from,
	// for clocks that drift and users who type slowly.
	window = 1
)

var validate = totp.ValidateOpts{Period: period, Digits: digits, Algorithm: otp.AlgorithmSHA1}

// NewTOTPSecret makes a fresh 160-bit secret, base32 as apps take it.
func NewTOTPSecret() string {
	return base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(randomBytes(20))
}

// TOTPURL is the otpauth:// URL that an app scans from a QR code: the
// secret, labelled with issuer (the site) and account (the username).
func TOTPURL(issuer, account, secret string) (string, error) {
	raw, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(secret)
	if err != nil {
		return "", err
	}
	key, err := totp.Generate(totp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      period,
		Secret:      raw,
		Digits:      digits,
		Algorithm:   otp.AlgorithmSHA1,
	})
	if err != nil {
		return "", err
	}
	return key.URL(), nil
}

// QR renders url as a PNG QR code of size×size pixels.
func QR(url string, size int) ([]byte, error) {
	key, err := otp.NewKeyFromURL(url)
	if err != nil {
		return nil, err
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// ErrCodeShape means what was typed is not six digits.
var ErrCodeShape = errors.New("a code is six digits")

// Step is the time step t falls in.
func Step(t time.Time) int64 { return t.Unix() / period }

// CheckTOTP tells which time step code belongs to, looking at the steps
// from window before t to window after, and only at steps later than last:
// a code, once used, never works again, nor does any older one. It returns
// 0 when none matches. Every step looked at costs the same.
func CheckTOTP(secret, code string, t time.Time, last int64) (int64, error) {
	code = strings.TrimSpace(code)
	if len(code) != 6 || strings.Trim(code, "0123456789") != "" {
		return 0, ErrCodeShape
	}
	now := Step(t)
	var found int64
	for s := now - window; s <= now+window; s++ {
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*period, 0), validate)
		if err != nil {
			return 0, err
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && s > last && found == 0 {
			found = s
		}
	}
	return found, nil
}

// Code is the code of secret at t, for tests and the command line.
func Code(secret string, t time.Time) (string, error) {
	return totp.GenerateCodeCustom(secret, t, validate)
}
