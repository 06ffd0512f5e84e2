package sessionauth

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"time"

	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/webform"
)

// The JSON API for front ends lives under PathPrefix/session:
//
//	GET    /auth/session           who is logged in; 401 when nobody
//	POST   /auth/session           log in:  {"username", "password", "remember"}
//	DELETE /auth/session           log out; 204
//	POST   /auth/session/register  register: {"username", "password", "password_confirm", "invite"}
//	POST   /auth/session/second-factor  the second step of a login answered 202: {"code"}
//
// Logging in, out and registering run the very handlers the forms run,
// with the same throttles, locks, bcrypt admission, timing and session
// rules: only the input is read from JSON and the answers are written as
// JSON. Errors are {"error": code, "message": text}, codes stable.
//
// In place of the form token, a call that changes anything must come from
// this site, as Go's cross-origin protection judges it (Sec-Fetch-Site or
// Origin), and carry the header X-Requested-With (any value): a browser
// lets another site's script send that header only after a CORS preflight
// that this site does not grant.

// apiHeader is the header every call that changes anything must carry.
const apiHeader = "X-Requested-With"

type apiCallKey struct{}

// isAPI tells whether a request came through the JSON API, so that the
// shared handlers answer it with JSON.
func isAPI(r *http.Request) bool { return r.Context().Value(apiCallKey{}) != nil }

// apiInput is every field a JSON call may send; each call reads its own.
type apiInput struct {
	Username        string  `json:"username"`
	Password        string  `json:"password"`
	PasswordConfirm *string `json:"password_confirm"`
	Remember        bool    `json:"remember"`
	Invite          string  `json:"invite"`
	Code            string  `json:"code"` // the second step's code
}

// serveAPI routes the JSON API; route is the path after PathPrefix.
func (sa *SessionAuth) serveAPI(w http.ResponseWriter, r *http.Request, route string) error {
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	r = r.WithContext(context.WithValue(r.Context(), apiCallKey{}, true))
	switch route {
	case "/session":
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			return sa.apiWho(w, r)
		case http.MethodPost:
			return sa.apiCall(w, r, true, sa.handleLogin)
		case http.MethodDelete:
			return sa.apiCall(w, r, false, sa.handleLogout)
		}
		w.Header().Set("Allow", "GET, HEAD, POST, DELETE")
	case "/session/second-factor":
		if r.Method == http.MethodPost {
			return sa.apiCall(w, r, true, sa.handleSecondFactor)
		}
		w.Header().Set("Allow", "POST")
	case "/session/register":
		if r.Method == http.MethodPost {
			if !sa.registrationOffered() {
				return sa.apiError(w, http.StatusNotFound, "registration_closed", "Registration is closed on this site.")
			}
			return sa.apiCall(w, r, true, sa.handleRegister)
		}
		w.Header().Set("Allow", "POST")
	}
	return sa.apiError(w, http.StatusMethodNotAllowed, "method_not_allowed", "This address does not take "+r.Method+".")
}

// apiCall checks that a call comes from this site and reads its JSON body
// (when it has one) into the form fields the handler reads, then runs it.
func (sa *SessionAuth) apiCall(w http.ResponseWriter, r *http.Request, hasBody bool, handle func(http.ResponseWriter, *http.Request) error) error {
	if err := sa.crossOrig.Check(r); err != nil {
		sa.logger.Info("cross-origin API call refused", zap.String("client_ip", clientIP(r)), zap.String("path", r.URL.Path))
		return sa.apiError(w, http.StatusForbidden, "cross_origin", "This call came from another site, so it was refused.")
	}
	if r.Header.Get(apiHeader) == "" {
		return sa.apiError(w, http.StatusForbidden, "header_required", "This call needs the header "+apiHeader+".")
	}
	form := url.Values{}
	if ct := r.Header.Get("Content-Type"); !hasBody && ct != "" && !webform.IsJSON(ct) {
		// A call that takes no body reads none, but one sent as anything
		// but JSON is refused as every call's is.
		problem := webform.NotJSON()
		return sa.apiError(w, problem.Status, "unsupported_media_type", problem.Message)
	}
	if hasBody {
		var in apiInput
		if problem := webform.ParseJSON(w, r, &in); problem != nil {
			code := "bad_request"
			switch problem.Status {
			case http.StatusUnsupportedMediaType:
				code = "unsupported_media_type"
			case http.StatusRequestEntityTooLarge:
				code = "too_large"
			}
			return sa.apiError(w, problem.Status, code, problem.Message)
		}
		form.Set("username", in.Username)
		form.Set("password", in.Password)
		if in.PasswordConfirm != nil {
			form.Set("password_confirm", *in.PasswordConfirm)
		}
		if in.Remember {
			form.Set("remember", "on")
		}
		if in.Invite != "" {
			form.Set("invite", in.Invite)
		}
		if in.Code != "" {
			form.Set("code", in.Code)
		}
	}
	r.PostForm, r.Form = form, form
	return handle(w, r)
}

// apiSession is what the API says of a session.
type apiSession struct {
	User     string    `json:"user"`
	Roles    []string  `json:"roles"`
	Expires  time.Time `json:"expires"`  // unless used again before
	Remember bool      `json:"remember"` // the cookie outlives the browser
}

// apiWho answers who is logged in.
func (sa *SessionAuth) apiWho(w http.ResponseWriter, r *http.Request) error {
	w.Header().Add("Vary", "Cookie")
	s, err := sa.currentSession(r)
	if err != nil {
		return sa.unavailable(w, r, "session", err)
	}
	if !s.LoggedIn() {
		return sa.apiError(w, http.StatusUnauthorized, "not_logged_in", "Nobody is logged in.")
	}
	return sa.apiSession(w, http.StatusOK, s)
}

func (sa *SessionAuth) apiSession(w http.ResponseWriter, status int, s session.Session) error {
	roles := s.Roles()
	if roles == nil {
		roles = []string{}
	}
	return writeJSON(w, status, apiSession{User: s.User, Roles: roles, Expires: sa.sessions.Ends(s.Record).UTC().Truncate(time.Second), Remember: s.Remember})
}

// loggedIn answers a login or registration that started s: the browser
// goes on to next, an API call learns the session.
func (sa *SessionAuth) loggedIn(w http.ResponseWriter, r *http.Request, apiStatus int, s session.Session, next string) error {
	if isAPI(r) {
		return sa.apiSession(w, apiStatus, s)
	}
	return seeOther(w, next)
}

// apiError answers an API call with a stable code and a message for
// people: {"error": code, "message": message}. The one answer below 400
// that is no session, 202 for an account that waits for approval, says
// "status" instead of "error".
func (sa *SessionAuth) apiError(w http.ResponseWriter, status int, code, message string) error {
	key := "error"
	if status < 400 {
		key = "status"
	}
	return writeJSON(w, status, map[string]string{key: code, "message": message})
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, err = w.Write(append(body, '\n'))
	return err
}
