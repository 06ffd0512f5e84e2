package factor

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
)

// RecoveryCodes is how many recovery codes an account gets at a time.
const RecoveryCodes = 10

// Recovery codes are 80 random bits each, written as four groups of four
// letters and digits (base32, lower case). So much randomness needs no
// slow hash: a store that leaks their SHA-256 gives nobody a code.

var recoveryEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewRecoveryCodes returns RecoveryCodes fresh codes, to show once, and
// their hashes, to keep.
func NewRecoveryCodes() (codes, hashes []string) {
	for range RecoveryCodes {
		raw := recoveryEncoding.EncodeToString(randomBytes(10))
		code := raw[0:4] + "-" + raw[4:8] + "-" + raw[8:12] + "-" + raw[12:16]
		codes = append(codes, code)
		h, _ := HashRecoveryCode(code)
		hashes = append(hashes, h)
	}
	return codes, hashes
}

// HashRecoveryCode returns what is kept of a recovery code, reading it as
// typed: any case, with or without the dashes and spaces. ok is false for
// anything that is not shaped like one.
func HashRecoveryCode(typed string) (hash string, ok bool) {
	code := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case 'A' <= r && r <= 'Z':
			return r - 'A' + 'a'
		}
		return r
	}, typed)
	if len(code) != 16 {
		return "", false
	}
	if _, err := recoveryEncoding.DecodeString(code); err != nil {
		return "", false
	}
	sum := sha256.Sum256([]byte("caddy-session-auth recovery code\x00" + code))
	return hex.EncodeToString(sum[:]), true
}

func randomBytes(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (crypto/rand's contract)
	return b
}
