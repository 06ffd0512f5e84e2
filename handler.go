package sessionauth

import (
	"errors"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// ServeHTTP serves the pages under PathPrefix itself and guards the rest:
// protected requests need a live session, others pass on, with the user's
// placeholders set when they bring one.
func (sa *SessionAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Decide on the cleaned path, as file_server will serve it, so that
	// "/auth/../members/x" is judged as "/members/x".
	clean := path.Clean("/" + r.URL.Path)
	if clean == sa.PathPrefix || strings.HasPrefix(clean, sa.PathPrefix+"/") {
		return sa.serveAuthPage(w, r, strings.TrimPrefix(clean, sa.PathPrefix))
	}
	protected, err := sa.isProtected(r)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	_, rec, err := sa.currentSession(r)
	if err != nil {
		if !protected {
			sa.debug("no session placeholders: backend unavailable", err)
			return next.ServeHTTP(w, r)
		}
		sa.logger.Warn("protected request refused: session backend unavailable",
			zap.String("client_ip", clientIP(r)), zap.Error(err))
		w.Header().Set("Retry-After", "5")
		return caddyhttp.Error(http.StatusServiceUnavailable, errBackendDown)
	}
	if rec.User != "" {
		repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		repl.Set("http.auth.user.id", rec.User)
	}
	if !protected {
		return next.ServeHTTP(w, r)
	}
	if rec.User == "" {
		return sa.challenge(w, r)
	}
	// Protected content must not sit in shared caches, nor in the browser's
	// history after logout.
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Add("Vary", "Cookie")
	return next.ServeHTTP(w, r)
}

func (sa *SessionAuth) isProtected(r *http.Request) (bool, error) {
	if len(sa.protect) == 0 {
		return true, nil
	}
	return sa.protect.AnyMatchWithError(r)
}

// challenge sends a browser to the login page and tells anything else 401,
// through Caddy's error handling so handle_errors can shape it.
func (sa *SessionAuth) challenge(w http.ResponseWriter, r *http.Request) error {
	if (r.Method == http.MethodGet || r.Method == http.MethodHead) && acceptsHTML(r) {
		w.Header().Set("Location", sa.PathPrefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()))
		w.Header().Set("Cache-Control", "no-store")
		w.WriteHeader(http.StatusSeeOther)
		return nil
	}
	return caddyhttp.Error(http.StatusUnauthorized, errors.New("not authenticated"))
}

func acceptsHTML(r *http.Request) bool {
	for _, v := range r.Header.Values("Accept") {
		if strings.Contains(v, "text/html") {
			return true
		}
	}
	return false
}

// serveAuthPage routes the plugin's own pages; route is the path after
// PathPrefix. Everything else under the prefix is the plugin's and 404.
func (sa *SessionAuth) serveAuthPage(w http.ResponseWriter, r *http.Request, route string) error {
	switch route {
	case "/login":
		return sa.byMethod(w, r, sa.serveLoginForm, sa.handleLogin)
	case "/register":
		if sa.Registration != "open" {
			return sa.message(w, http.StatusNotFound, "Not found", "Registration is closed on this site.")
		}
		return sa.byMethod(w, r, sa.serveRegisterForm, sa.handleRegister)
	case "/logout":
		return sa.byMethod(w, r, sa.serveLogoutPage, sa.handleLogout)
	case "/style.css":
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return caddyhttp.Error(http.StatusMethodNotAllowed, nil)
		}
		sa.serveCSS(w)
		return nil
	}
	return sa.message(w, http.StatusNotFound, "Not found", "There is no such page.")
}

// byMethod sends GET and HEAD to the form and POST, once it passed the
// cross-origin check and its body parsed, to the action.
func (sa *SessionAuth) byMethod(w http.ResponseWriter, r *http.Request, form, action func(http.ResponseWriter, *http.Request) error) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return form(w, r)
	case http.MethodPost:
		if err := sa.crossOrig.Check(r); err != nil {
			sa.logger.Info("cross-origin form post refused", zap.String("client_ip", clientIP(r)), zap.String("path", r.URL.Path))
			return sa.message(w, http.StatusForbidden, "Request refused", "This form was sent from another site, so it was refused. Open the page on this site and try again.")
		}
		if status, msg := sa.parseForm(w, r); status != 0 {
			return sa.message(w, status, "Request refused", msg)
		}
		return action(w, r)
	}
	w.Header().Set("Allow", "GET, HEAD, POST")
	return sa.message(w, http.StatusMethodNotAllowed, "Method not allowed", "This page takes GET and POST only.")
}

// maxFormBytes bounds a form body: a username, a password, a confirmation,
// a return path and a few flags fit many times over.
const maxFormBytes = 16 << 10

// parseForm reads a urlencoded body of bounded size whose values are all
// UTF-8; anything else is a status and a message for the user.
func (sa *SessionAuth) parseForm(w http.ResponseWriter, r *http.Request) (int, string) {
	ct, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "application/x-www-form-urlencoded" {
		return http.StatusUnsupportedMediaType, "The form was not sent as a web form."
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, "The form was too large."
		}
		return http.StatusBadRequest, "The form could not be read."
	}
	for k, vs := range r.PostForm {
		if !utf8.ValidString(k) || len(vs) > 1 {
			return http.StatusBadRequest, "The form could not be read."
		}
		for _, v := range vs {
			if !utf8.ValidString(v) {
				return http.StatusBadRequest, "The form is not valid UTF-8 text."
			}
		}
	}
	return 0, ""
}

func (sa *SessionAuth) serveLoginForm(w http.ResponseWriter, r *http.Request) error {
	return sa.render(w, http.StatusOK, "login.html", pageData{Heading: "Log in", Next: safeNext(r.URL.Query().Get("next"))})
}

func (sa *SessionAuth) serveRegisterForm(w http.ResponseWriter, r *http.Request) error {
	return sa.render(w, http.StatusOK, "register.html", pageData{Heading: "Create an account", Next: safeNext(r.URL.Query().Get("next"))})
}

func (sa *SessionAuth) serveLogoutPage(w http.ResponseWriter, r *http.Request) error {
	_, rec, _ := sa.currentSession(r)
	return sa.render(w, http.StatusOK, "logout.html", pageData{Heading: "Log out", User: rec.User})
}

// loginFailed is the one message every failed login gets, whatever failed.
const loginFailed = "Wrong username or password."

func (sa *SessionAuth) handleLogin(w http.ResponseWriter, r *http.Request) error {
	form := pageData{
		Heading:  "Log in",
		Next:     safeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
		Remember: r.PostForm.Get("remember") != "",
	}
	password := r.PostForm.Get("password")
	username, err := users.Normalize(form.Username)
	var acct users.Account
	if err == nil {
		acct, err = sa.users.Get(r.Context(), username)
	}
	switch {
	case err == nil:
		if !users.Verify(acct.Hash, password) {
			err = users.ErrNotFound
		}
	case errors.Is(err, users.ErrNotFound), errors.Is(err, users.ErrBadUsername):
		// Pay the same bcrypt work as a real check, so the time taken
		// does not tell whether the account exists.
		users.Verify(users.DummyHash(sa.BcryptCost), password)
	default:
		return sa.unavailable(w, r, "login", err)
	}
	if err != nil {
		sa.logger.Info("login failed", zap.String("username", username), zap.String("client_ip", clientIP(r)))
		form.Error = loginFailed
		return sa.render(w, http.StatusUnauthorized, "login.html", form)
	}
	if err := sa.startSession(w, r, acct.Username, form.Remember); err != nil {
		return sa.unavailable(w, r, "login", err)
	}
	sa.logger.Info("login", zap.String("username", acct.Username), zap.String("client_ip", clientIP(r)))
	return seeOther(w, form.Next)
}

func (sa *SessionAuth) handleRegister(w http.ResponseWriter, r *http.Request) error {
	form := pageData{
		Heading:  "Create an account",
		Next:     safeNext(r.PostForm.Get("next")),
		Username: r.PostForm.Get("username"),
	}
	password := r.PostForm.Get("password")
	username, err := users.Normalize(form.Username)
	if err != nil {
		form.Error = err.Error()
		return sa.render(w, http.StatusBadRequest, "register.html", form)
	}
	if err := sa.policy.Check(password); err != nil {
		form.Error = err.Error()
		return sa.render(w, http.StatusBadRequest, "register.html", form)
	}
	if confirm, sent := r.PostForm["password_confirm"]; sent && confirm[0] != password {
		form.Error = "The two passwords are not the same."
		return sa.render(w, http.StatusBadRequest, "register.html", form)
	}
	hash, err := users.Hash(password, sa.BcryptCost)
	if err != nil {
		form.Error = err.Error()
		return sa.render(w, http.StatusBadRequest, "register.html", form)
	}
	err = sa.users.Create(r.Context(), users.Account{Username: username, Hash: hash, Created: now()})
	if errors.Is(err, users.ErrTaken) {
		form.Error = "That username is taken. Choose another."
		return sa.render(w, http.StatusConflict, "register.html", form)
	}
	if err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	sa.logger.Info("account created", zap.String("username", username), zap.String("client_ip", clientIP(r)))
	if err := sa.startSession(w, r, username, false); err != nil {
		return sa.unavailable(w, r, "registration", err)
	}
	return seeOther(w, form.Next)
}

func (sa *SessionAuth) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if err := sa.endSession(w, r); err != nil {
		return sa.unavailable(w, r, "logout", err)
	}
	return seeOther(w, sa.PathPrefix+"/login")
}

// unavailable answers a form whose backend failed: a "try again later"
// page, a warning in the log, and nothing about the failure for the user.
func (sa *SessionAuth) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) error {
	sa.logger.Warn(what+" failed: backend unavailable", zap.String("client_ip", clientIP(r)), zap.Error(err))
	w.Header().Set("Retry-After", "5")
	return sa.message(w, http.StatusServiceUnavailable, "Try again later",
		"The site cannot check logins right now. Please try again in a few moments.")
}

func seeOther(w http.ResponseWriter, location string) error {
	w.Header().Set("Location", location)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusSeeOther)
	return nil
}

// clientIP is Caddy's client_ip, which honours trusted_proxies; a raw
// X-Forwarded-For header is never believed.
func clientIP(r *http.Request) string {
	if ip, ok := caddyhttp.GetVar(r.Context(), caddyhttp.ClientIPVarKey).(string); ok {
		return ip
	}
	return r.RemoteAddr
}
