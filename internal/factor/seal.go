package factor

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// Sealer encrypts the secrets an account keeps (a TOTP secret) with
// AES-256-GCM, under a key derived from the realm's signing keys, so that
// a copy of the account store (a backup, a replica, users.json) holds no
// usable secret. Each sealed secret is bound to its owner: moved to
// another account, it does not open.
type Sealer struct{ keys [][]byte }

// NewSealer derives its keys from the realm's signing keys, newest first:
// it seals with the first and opens with any, so that a secret sealed
// before a key rotation still opens while the old key is configured.
func NewSealer(signingKeys [][]byte) Sealer {
	s := Sealer{}
	for _, k := range signingKeys {
		mac := hmac.New(sha256.New, k)
		mac.Write([]byte("caddy-session-auth second factor secrets"))
		s.keys = append(s.keys, mac.Sum(nil))
	}
	return s
}

// ErrUnsealable means no configured key opens a sealed secret: it was
// sealed under a key no longer configured, or altered.
var ErrUnsealable = errors.New("the sealed secret cannot be opened with the configured keys")

// Seal encrypts secret for owner.
func (s Sealer) Seal(secret []byte, owner string) (string, error) {
	if len(s.keys) == 0 {
		return "", errors.New("no key to seal with")
	}
	aead, err := gcm(s.keys[0])
	if err != nil {
		return "", err
	}
	nonce := randomBytes(aead.NonceSize())
	out := aead.Seal(nonce, nonce, secret, []byte(owner))
	return base64.RawStdEncoding.EncodeToString(out), nil
}

// Open decrypts what Seal made for owner; stale tells that it was sealed
// under an older key and should be sealed again.
func (s Sealer) Open(sealed, owner string) (secret []byte, stale bool, err error) {
	raw, err := base64.RawStdEncoding.DecodeString(sealed)
	if err != nil {
		return nil, false, ErrUnsealable
	}
	for i, k := range s.keys {
		aead, err := gcm(k)
		if err != nil {
			return nil, false, err
		}
		if len(raw) < aead.NonceSize() {
			return nil, false, ErrUnsealable
		}
		if plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(owner)); err == nil {
			return plain, i > 0, nil
		}
	}
	return nil, false, ErrUnsealable
}

func gcm(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}
