package sessionauth

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/webform"
)

// ServeHTTP serves the pages under PathPrefix itself and guards the rest:
// protected requests need a live session, others pass on, with the user's
// placeholders set when they bring one.
func (sa *SessionAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	// Decide on the cleaned path, as file_server will serve it, so that
	// "/auth/../members/x" is judged as "/members/x".
	clean := r.URL.Path
	if !strings.HasPrefix(clean, "/") {
		clean = "/" + clean
	}
	clean = path.Clean(clean)
	if clean == sa.PathPrefix || strings.HasPrefix(clean, sa.PathPrefix+"/") {
		return sa.serveAuthPage(w, r, strings.TrimPrefix(clean, sa.PathPrefix))
	}
	protected, err := sa.isProtected(r)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	rec, err := sa.currentSession(r)
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
		// The page may greet this user: no shared cache may keep it.
		w.Header().Set("Cache-Control", "private")
		w.Header().Add("Vary", "Cookie")
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
		return sa.byMethod(w, r, "login", sa.serveLoginForm, sa.handleLogin)
	case "/register":
		if sa.Registration != "open" {
			return sa.message(w, r, http.StatusNotFound, "Not found", "Registration is closed on this site.")
		}
		return sa.byMethod(w, r, "register", sa.serveRegisterForm, sa.handleRegister)
	case "/logout":
		return sa.byMethod(w, r, "logout", sa.serveLogoutPage, sa.handleLogout)
	case "/style.css", "/show-password.js":
		return sa.serveAsset(w, r, route[1:])
	}
	return sa.message(w, r, http.StatusNotFound, "Not found", "There is no such page.")
}

// byMethod sends GET and HEAD to the form, and POST to the action once it
// passed the cross-origin check, its body parsed, and its form token held.
func (sa *SessionAuth) byMethod(w http.ResponseWriter, r *http.Request, name string, form, action func(http.ResponseWriter, *http.Request) error) error {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		return form(w, r)
	case http.MethodPost:
		if err := sa.crossOrig.Check(r); err != nil {
			sa.logger.Info("cross-origin form post refused", zap.String("client_ip", clientIP(r)), zap.String("path", r.URL.Path))
			return sa.message(w, r, http.StatusForbidden, "Request refused", "This form was sent from another site, so it was refused. Open the page on this site and try again.")
		}
		if problem := webform.Parse(w, r); problem != nil {
			return sa.message(w, r, problem.Status, "Request refused", problem.Message)
		}
		if err := sa.checkFormToken(r, name); err != nil {
			return sa.refuseFormToken(w, r, name, err)
		}
		return action(w, r)
	}
	w.Header().Set("Allow", "GET, HEAD, POST")
	return sa.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page takes GET and POST only.")
}

// unavailable answers a form whose backend failed: a "try again later"
// page, a warning in the log, and nothing about the failure for the user.
func (sa *SessionAuth) unavailable(w http.ResponseWriter, r *http.Request, what string, err error) error {
	sa.logger.Warn(what+" failed: backend unavailable", zap.String("client_ip", clientIP(r)), zap.Error(err))
	w.Header().Set("Retry-After", "5")
	return sa.message(w, r, http.StatusServiceUnavailable, "Try again later",
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
