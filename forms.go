package sessionauth

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
)

// byMethod sends GET and HEAD to the form, and POST to the action once it
// passed the cross-origin check, its body parsed, and its form token held.
func (sa *SessionAuth) byMethod(w http.ResponseWriter, r *http.Request, name string, form, action func(http.ResponseWriter, *http.Request) error) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return form(w, r)
	case http.MethodPost:
		if err := sa.crossOrig.Check(r); err != nil {
			sa.logger.Info("cross-origin form post refused", zap.String("client_ip", clientIP(r)), zap.String("path", r.URL.Path))
			return sa.message(w, r, http.StatusForbidden, "cross_origin", "Request refused", "This form was sent from another site, so it was refused. Open the page on this site and try again.")
		}
		if problem := webform.Parse(w, r); problem != nil {
			return sa.message(w, r, problem.Status, "bad_request", "Request refused", problem.Message)
		}
		if err := sa.checkFormToken(r, name); err != nil {
			return sa.refuseFormToken(w, r, name, err)
		}
		return action(w, r)
	}
	w.Header().Set("Allow", "GET, HEAD, POST")
	return sa.message(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "Method not allowed", "This page takes GET and POST only.")
}

// formPages are the templates with a form, and the form each posts.
var formPages = map[string]string{"login.html": "login", "register.html": "register", "logout.html": "logout", "account.html": "account", "reset.html": "reset", "admin.html": "admin", "second-factor.html": "second-factor"}

// form renders a page with a form, after getting the form its token. When
// the token cannot be had (the backend holds the key and is down), the
// user gets the "try again later" page, which has no form.
func (sa *SessionAuth) form(w http.ResponseWriter, r *http.Request, status int, name string, data templates.Data) error {
	return sa.formAs(w, r, status, name, formPages[name], data)
}

// formAs is form for a page whose form posts to the page of formName.
func (sa *SessionAuth) formAs(w http.ResponseWriter, r *http.Request, status int, name, formName string, data templates.Data) error {
	token, err := sa.formToken(w, r, formName)
	if err != nil {
		return sa.unavailable(w, r, formName+" form", err)
	}
	data.CSRFToken = token
	return sa.render(w, status, name, data)
}

// message renders the page that explains a refusal or an outage. It has no
// form, so it needs nothing from the backend. A call of the JSON API gets
// code and text as JSON instead (see apiError).
func (sa *SessionAuth) message(w http.ResponseWriter, r *http.Request, status int, code, heading, text string) error {
	if isAPI(r) {
		return sa.apiError(w, status, code, text)
	}
	return sa.render(w, status, "message.html", templates.Data{Heading: heading, Message: text})
}

// render fills in what every page shows and renders it; it never touches
// the backend.
func (sa *SessionAuth) render(w http.ResponseWriter, status int, name string, data templates.Data) error {
	data.Prefix = sa.PathPrefix
	data.Title = sa.Title
	data.Registration = sa.registrationOpen()
	data.MinPasswordLength = sa.MinPasswordLength
	data.Passkeys = sa.SecondFactor != factorsOff
	if d := time.Duration(*sa.RememberMe); d > 0 {
		data.RememberMe = humanDuration(d)
	}
	return sa.pages.Render(w, status, name, data)
}

// unavailable answers a form whose backend failed: a "try again later"
// page, a warning in the log, and nothing about the failure for the user.
func (sa *SessionAuth) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) error {
	sa.logger.Warn(what+" failed: backend unavailable", zap.String("client_ip", clientIP(r)), zap.Error(err))
	metrics.backendErrors.WithLabelValues(sa.Realm, operationLabel(what)).Inc()
	w.Header().Set("Retry-After", "5")
	return sa.message(w, r, http.StatusServiceUnavailable, "unavailable", "Try again later",
		"The site cannot check logins right now. Please try again in a few moments.")
}

// Every form carries a token tied to the browser it was served to, on top
// of the cross-origin check: browsers that send no Origin or Sec-Fetch-Site
// header, and forms posted from a sibling subdomain, are caught by it.

// formTokenField is the hidden field that carries the token.
const formTokenField = "csrf_token"

// formTokenMaxAge is how long a form may sit open before it must be reloaded.
const formTokenMaxAge = 4 * time.Hour

// browserCookie names the cookie holding the browser's random token key.
// Over HTTPS it has the __Host- prefix (and so Path=/); over HTTP it is
// sent only to the plugin's pages.
func (sa *SessionAuth) browserCookie(r *http.Request) (name, path string) {
	if sa.secure(r) {
		return sa.hostCookie(r, "_csrf"), "/"
	}
	return sa.hostCookie(r, "_csrf"), sa.PathPrefix + "/"
}

// formToken returns a token for form in this browser, first giving the
// browser its cookie if it has none.
func (sa *SessionAuth) formToken(w http.ResponseWriter, r *http.Request, form string) (string, error) {
	keyed, err := sa.keyed.get()
	if err != nil {
		return "", err
	}
	name, path := sa.browserCookie(r)
	id := session.CookieValue(r, name)
	if !webform.ValidBrowserID(id) {
		id = webform.NewBrowserID()
		http.SetCookie(w, &http.Cookie{
			Name:     name,
			Value:    id,
			Path:     path,
			HttpOnly: true,
			Secure:   sa.secure(r),
			SameSite: http.SameSiteLaxMode,
		})
		// The cookie also reaches this same request's later reads, so a
		// form re-rendered after an error matches the cookie just set.
		r.AddCookie(&http.Cookie{Name: name, Value: id})
	}
	return keyed.tokens.Token(id, form, now()), nil
}

// checkFormToken holds a posted form to the token its page was served with.
func (sa *SessionAuth) checkFormToken(r *http.Request, form string) error {
	keyed, err := sa.keyed.get()
	if err != nil {
		return err
	}
	name, _ := sa.browserCookie(r)
	return keyed.tokens.Check(r.PostForm.Get(formTokenField), session.CookieValue(r, name), form, now())
}

// refuseFormToken answers a form whose token failed: 403 with a page that
// sends the user back to a fresh form, or "try again later" when the check
// itself could not run.
func (sa *SessionAuth) refuseFormToken(w http.ResponseWriter, r *http.Request, form string, err error) error {
	if !errors.Is(err, webform.ErrTokenMissing) && !errors.Is(err, webform.ErrTokenInvalid) && !errors.Is(err, webform.ErrTokenExpired) {
		return sa.unavailable(w, r, form, err)
	}
	sa.logger.Info("form refused: bad form token", zap.String("form", form), zap.String("reason", err.Error()), zap.String("client_ip", clientIP(r)))
	return sa.render(w, http.StatusForbidden, "message.html", templates.Data{
		Heading: "Please try again",
		Message: "This form was too old, or was not opened in this browser, so it was not sent. Open it again and retry.",
		Retry:   sa.PathPrefix + "/" + form,
	})
}

// humanDuration says 30d as "30 days" and 12h as "12 hours".
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return strconv.Itoa(int(d/(24*time.Hour))) + " days"
	case d >= 2*time.Hour && d%time.Hour == 0:
		return strconv.Itoa(int(d/time.Hour)) + " hours"
	default:
		return d.String()
	}
}
