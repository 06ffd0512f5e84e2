package sessionauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"sync/atomic"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// keyed is what the signing keys make besides session cookies: form
// tokens, device cookies, passwordless starts and the audit log's hashes
// of names, each with a key of its own derived from them.
type keyed struct {
	tokens  *webform.Tokens
	devices []securecookie.Codec
	starts  []securecookie.Codec // passkeystart.go
	names   []byte               // keys nameHash: the newest signing key's, so one realm's hashes agree
}

// lazyKeyed makes keyed once the keys can be had: with Redis and no
// secret, only once Redis has answered.
type lazyKeyed struct {
	keys  *session.Keyring
	ready atomic.Pointer[keyed]
}

func (l *lazyKeyed) get() (*keyed, error) {
	if k := l.ready.Load(); k != nil {
		return k, nil
	}
	keys, err := l.keys.Keys()
	if err != nil {
		return nil, err
	}
	k := &keyed{
		tokens: webform.NewTokens(keys[0], formTokenMaxAge),
		names:  derive(keys[0], "caddy-session-auth audit names"),
	}
	for _, key := range keys {
		sc := securecookie.New(derive(key, "caddy-session-auth device cookies"), nil)
		sc.SetSerializer(securecookie.NopEncoder{})
		sc.MaxAge(int(deviceCookieMaxAge / time.Second))
		k.devices = append(k.devices, sc)
		k.starts = append(k.starts, startCodec(key))
	}
	l.ready.Store(k)
	return k, nil
}

// derive makes a key for one purpose from a secret, so that no two uses
// ever share a key.
func derive(secret []byte, purpose string) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(purpose))
	return mac.Sum(nil)
}
