package sessionauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// A browser that has logged in as a user holds a signed device cookie
// naming that user, a random device id and the user's credential stamp
// (OWASP's "device cookies"). Its failed logins as that user count against
// the device, not the account, and neither the account's lock nor the
// client IP's limit applies to it: a stranger who guesses until the account
// locks, even from the owner's own network, cannot lock the owner out of a
// browser the owner has used. Browsers without one share the account's
// budget. A password change (a new stamp) makes every device unknown again;
// the key is the realm's, so a device of one realm means nothing in another.

// deviceCookieMaxAge is how long a browser stays known without logging in.
const deviceCookieMaxAge = 365 * 24 * time.Hour

// hostCookie is the name of one of the plugin's cookies for this request:
// over HTTPS with the __Host- prefix, which browsers accept only from this
// very host, over HTTPS, for Path=/, so that no sibling subdomain can plant it.
func (sa *SessionAuth) hostCookie(r *http.Request, suffix string) string {
	if sa.secure(r) {
		return "__Host-" + sa.CookieName + suffix
	}
	return sa.CookieName + suffix
}

// knownDevice returns the device id of this browser if it has logged in as
// the account's user since the password was last set, or "".
func (sa *SessionAuth) knownDevice(r *http.Request, acct users.Account) string {
	name := sa.hostCookie(r, "_device")
	value := session.CookieValue(r, name)
	if value == "" {
		return ""
	}
	k, err := sa.keyed.get()
	if err != nil {
		return ""
	}
	var raw []byte
	if securecookie.DecodeMulti(name, value, &raw, k.devices...) != nil {
		return ""
	}
	fields := strings.SplitN(string(raw), " ", 3)
	if len(fields) != 3 || fields[1] != stampTag(acct.Stamp) || fields[2] != acct.Username || !webform.ValidBrowserID(fields[0]) {
		return ""
	}
	return fields[0]
}

// rememberDevice gives the browser a device cookie for the account,
// keeping its device id if it had one for the same user.
func (sa *SessionAuth) rememberDevice(w http.ResponseWriter, r *http.Request, acct users.Account, device string) {
	k, err := sa.keyed.get()
	if err != nil {
		return
	}
	if device == "" {
		device = webform.NewBrowserID()
	}
	name := sa.hostCookie(r, "_device")
	value, err := securecookie.EncodeMulti(name, []byte(device+" "+stampTag(acct.Stamp)+" "+acct.Username), k.devices...)
	if err != nil {
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name:     name,
		Value:    value,
		Path:     "/",
		MaxAge:   int(deviceCookieMaxAge / time.Second),
		HttpOnly: true,
		Secure:   sa.secure(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// stampTag stands for a credential stamp in the device cookie, which the
// browser can read: it changes with the stamp and tells nothing of it.
func stampTag(stamp string) string {
	sum := sha256.Sum256([]byte("caddy-session-auth device stamp\x00" + stamp))
	return hex.EncodeToString(sum[:8])
}
