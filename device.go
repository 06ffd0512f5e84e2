package sessionauth

import (
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// A browser that has logged in as a user before holds a signed device
// cookie naming that user and a random device id (OWASP's "device
// cookies"). Its failed logins as that user count against the device, not
// the account, and the account's lock does not apply to it: a stranger who
// guesses until the account locks cannot lock its owner out of a browser
// the owner has used. Browsers without one share the account's budget.

// deviceCookieMaxAge is how long a browser stays known without logging in.
const deviceCookieMaxAge = 365 * 24 * time.Hour

func (sa *SessionAuth) deviceCookie(r *http.Request) string {
	if sa.secure(r) {
		return "__Host-" + sa.CookieName + "_device"
	}
	return sa.CookieName + "_device"
}

// knownDevice returns the device id of this browser if it has logged in as
// user before, or "".
func (sa *SessionAuth) knownDevice(r *http.Request, user string) string {
	value := session.CookieValue(r, sa.deviceCookie(r))
	if value == "" {
		return ""
	}
	k, err := sa.keyed.get()
	if err != nil {
		return ""
	}
	var raw []byte
	if securecookie.DecodeMulti(sa.deviceCookie(r), value, &raw, k.devices...) != nil {
		return ""
	}
	device, who, ok := strings.Cut(string(raw), " ")
	if !ok || who != user || !webform.ValidBrowserID(device) {
		return ""
	}
	return device
}

// rememberDevice gives the browser a device cookie for user, keeping its
// device id if it had one for the same user.
func (sa *SessionAuth) rememberDevice(w http.ResponseWriter, r *http.Request, user, device string) {
	k, err := sa.keyed.get()
	if err != nil {
		return
	}
	if device == "" {
		device = webform.NewBrowserID()
	}
	name := sa.deviceCookie(r)
	value, err := securecookie.EncodeMulti(name, []byte(device+" "+user), k.devices...)
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
