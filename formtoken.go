package sessionauth

import (
	"errors"
	"net/http"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/webform"
)

// Every form carries a token tied to the browser it was served to, on top
// of the cross-origin check: browsers that send no Origin or Sec-Fetch-Site
// header, and forms posted from a sibling subdomain, are caught by it.

// formTokenField is the hidden field that carries the token.
const formTokenField = "csrf_token"

// browserCookie names the cookie holding the browser's random token key.
// It is sent only to the plugin's own pages.
func (sa *SessionAuth) browserCookie() string { return sa.CookieName + "_csrf" }

// formToken returns a token for form in this browser, first giving the
// browser its cookie if it has none.
func (sa *SessionAuth) formToken(w http.ResponseWriter, r *http.Request, form string) (string, error) {
	k, err := sa.sessions.get()
	if err != nil {
		return "", err
	}
	id := ""
	if c, err := r.Cookie(sa.browserCookie()); err == nil && webform.ValidBrowserID(c.Value) {
		id = c.Value
	} else {
		id = webform.NewBrowserID()
		http.SetCookie(w, &http.Cookie{
			Name:     sa.browserCookie(),
			Value:    id,
			Path:     sa.PathPrefix + "/",
			HttpOnly: true,
			Secure:   r.TLS != nil,
			SameSite: http.SameSiteLaxMode,
		})
		// The cookie also reaches this same request's later reads, so a
		// form re-rendered after an error matches the cookie just set.
		r.AddCookie(&http.Cookie{Name: sa.browserCookie(), Value: id})
	}
	return k.tokens.Token(id, form, now()), nil
}

// checkFormToken holds a posted form to the token its page was served with.
func (sa *SessionAuth) checkFormToken(r *http.Request, form string) error {
	k, err := sa.sessions.get()
	if err != nil {
		return err
	}
	id := ""
	if c, err := r.Cookie(sa.browserCookie()); err == nil {
		id = c.Value
	}
	return k.tokens.Check(r.PostForm.Get(formTokenField), id, form, now())
}

// refuseFormToken answers a form whose token failed: 403 with a page that
// sends the user back to a fresh form, or "try again later" when the check
// itself could not run.
func (sa *SessionAuth) refuseFormToken(w http.ResponseWriter, r *http.Request, form string, err error) error {
	if !errors.Is(err, webform.ErrTokenMissing) && !errors.Is(err, webform.ErrTokenInvalid) && !errors.Is(err, webform.ErrTokenExpired) {
		return sa.unavailable(w, r, form, err)
	}
	sa.logger.Info("form refused: bad form token", zap.String("form", form), zap.String("reason", err.Error()), zap.String("client_ip", clientIP(r)))
	return sa.render(w, r, http.StatusForbidden, "message.html", pageData{
		Heading: "Please try again",
		Message: "This form was too old, or was not opened in this browser, so it was not sent. Open it again and retry.",
		Retry:   sa.PathPrefix + "/" + form,
	})
}
