package sessionauth

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// Passwordless starts. A login without a password begins before anyone is
// known, so its start keeps nothing on the server: strangers could
// otherwise fill the backend with starts. The WebAuthn ceremony's state
// (its kind, challenge and expiry) and the page to go on to travel in the
// step cookie instead, signed and encrypted with keys of their own derived
// from the realm's keys (keyed.go). A cookie that another realm sealed,
// that anyone changed, or that is older than the ceremony's five minutes
// opens nothing.
//
// Guarantee: each challenge logs in at most once. The browser keeps the
// cookie, so the server cannot take the state back once it is answered,
// as it does with a second step's. Instead, once an answer verifies, its
// challenge is recorded as spent (onetime.Store.Spend: its hash, in the
// realm's backend, shared by every instance on Redis, until the state
// expires), and an answer whose challenge is spent already is refused,
// whether or not its authenticator counts signatures (synced passkeys
// send 0, so the count cannot tell). After the state expires, the record
// may go: no sealed state outlives it, and none can be made without the
// key. That record is the only state a passwordless login keeps, and only
// after a passkey registered in the realm has signed: bounded by real
// users' logins, not by what strangers send.

// passwordlessStart is what the step cookie carries between a start and
// its answer.
type passwordlessStart struct {
	State json.RawMessage `json:"state"` // passkey.BeginDiscoverable's
	Next  string          `json:"next,omitempty"`
}

// errNoStart: the step cookie holds no start this realm sealed lately.
var errNoStart = errors.New("no passwordless login is under way")

// errUnreadableStart: a start this realm sealed, whose state names no
// challenge to spend; nothing a client can do, so it is refused.
var errUnreadableStart = errors.New("the passwordless start holds no challenge")

// startCodec seals passwordless starts with keys derived from one of the
// realm's keys: HMAC-SHA256 over the cookie's name, time and content,
// AES-256 over the content, and the ceremony's lifetime.
func startCodec(key []byte) securecookie.Codec {
	sc := securecookie.New(derive(key, "caddy-session-auth passwordless start: signature"),
		derive(key, "caddy-session-auth passwordless start: encryption"))
	sc.SetSerializer(securecookie.JSONEncoder{})
	sc.MaxAge(int(passkey.StateLifetime / time.Second))
	return sc
}

// sealStart is the step cookie's value for a start, sealed with the
// newest key.
func (sa *SessionAuth) sealStart(r *http.Request, start passwordlessStart) (string, error) {
	k, err := sa.keyed.get()
	if err != nil {
		return "", err
	}
	name, _ := sa.stepCookie(r)
	return securecookie.EncodeMulti(name, start, k.starts...)
}

// openStart reads the start the step cookie carries, sealed with any of
// the realm's keys: errNoStart when it holds none (a second step's token,
// another realm's start, a changed or old cookie); another error when the
// keys cannot be had.
func (sa *SessionAuth) openStart(r *http.Request) (passwordlessStart, error) {
	var start passwordlessStart
	name, _ := sa.stepCookie(r)
	value := session.CookieValue(r, name)
	if value == "" {
		return start, errNoStart
	}
	k, err := sa.keyed.get()
	if err != nil {
		return start, err
	}
	if securecookie.DecodeMulti(name, value, &start, k.starts...) != nil || len(start.State) == 0 {
		return passwordlessStart{}, errNoStart
	}
	return start, nil
}

// spendStart records the challenge of a start whose answer verified; false
// when it was recorded already (a replay). A state whose challenge cannot
// be read is errUnreadableStart.
func (sa *SessionAuth) spendStart(ctx context.Context, start passwordlessStart) (bool, error) {
	challenge, expires, err := passkey.Challenge(start.State)
	if err != nil {
		return false, errUnreadableStart
	}
	// The state's expiry is on the passkey package's clock: real time.
	return sa.tokens.Spend(ctx, "passkey challenge\x00"+challenge, time.Now(), expires)
}
