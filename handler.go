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
	"go.uber.org/zap/zapcore"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// ServeHTTP serves the pages under PathPrefix itself and guards the rest:
// protected requests need a live session whose user passes every access
// rule that selects the request; others pass on, with the user's
// placeholders set when they bring one. Both are judged on every reading
// of the path an app may make (pathreadings.go). Whatever passes on goes
// without the plugin's own cookies (owncookies.go), and so does whatever
// it refuses: a refusal is an error that Caddy's error routes handle, and
// those may pass the request on too (handle_errors { reverse_proxy app }).
// The identity headers are set only on what passes on.
func (sa *SessionAuth) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	err := sa.gate(w, r, next)
	if err != nil {
		// An error of the next handler comes back with them gone already.
		sa.dropOwnCookies(r.Header)
	}
	return err
}

// gate is ServeHTTP but for what follows an error.
func (sa *SessionAuth) gate(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if sa.userHeader != "" || sa.rolesHeader != "" {
		// A client must never speak for the user or the user's roles: its
		// copies go, on every request, before anything can pass them on.
		sa.stripIdentityHeaders(r.Header)
	}
	if route, ok := sa.authRoute(r.URL.Path); ok {
		return sa.serveAuthPage(w, r, route)
	}
	rs := readingsOf(r)
	protected, err := sa.isProtected(rs)
	if err != nil {
		return caddyhttp.Error(http.StatusInternalServerError, err)
	}
	s, err := sa.currentSession(r)
	if err != nil {
		if !protected {
			sa.debug("no session placeholders: backend unavailable", err)
			return sa.passOn(w, r, next, session.Session{})
		}
		sa.logger.Warn("protected request refused: session backend unavailable",
			zap.String("client_ip", clientIP(r)), zap.Error(err))
		sa.gateCount.backendDown.Inc()
		return sa.backendDown(w, r)
	}
	if s.LoggedIn() {
		repl := r.Context().Value(caddy.ReplacerCtxKey).(*caddy.Replacer)
		repl.Set("http.auth.user.id", s.UserValue())
		repl.Set("http.auth.user.roles", s.RolesValue())
		repl.Set("http.auth.user.factors", s.FactorsValue())
		// The page may greet this user: no shared cache may keep it, and
		// protected content must not stay in the browser after logout.
		// (Canonical keys, set directly: this runs on every request.)
		h := w.Header()
		if protected {
			h["Cache-Control"] = []string{"private, no-store"}
		} else {
			h["Cache-Control"] = []string{"private"}
		}
		h["Vary"] = append(h["Vary"], "Cookie")
	}
	if !protected {
		return sa.passOn(w, r, next, s)
	}
	if !s.LoggedIn() {
		return sa.challenge(w, r)
	}
	if len(sa.Allow) > 0 {
		refusing, err := sa.refusingRule(rs, s)
		if err != nil {
			return caddyhttp.Error(http.StatusInternalServerError, err)
		}
		if refusing != nil {
			sa.gateCount.forbidden.Inc()
			return sa.forbid(w, r, s, refusing)
		}
	}
	sa.gateCount.allowed.Inc()
	return sa.passOn(w, r, next, s)
}

// passOn hands r to the next handler: with the identity headers of s's
// user, when there is one, and without the plugin's own cookies.
func (sa *SessionAuth) passOn(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler, s session.Session) error {
	if s.LoggedIn() {
		if sa.userHeader != "" {
			r.Header[sa.userHeader] = []string{s.User}
		}
		if sa.rolesHeader != "" {
			r.Header[sa.rolesHeader] = []string{s.RolesText()}
		}
	}
	sa.dropOwnCookies(r.Header)
	return next.ServeHTTP(w, r)
}

// authRoute tells whether a request is for one of the plugin's own pages,
// judged on the cleaned path, as file_server would serve it, so that
// "/auth/../members/x" is judged as "/members/x"; route is the part after
// PathPrefix.
func (sa *SessionAuth) authRoute(p string) (string, bool) {
	// Cleaning only drops segments, so a path whose cleaned form starts with
	// the prefix holds the prefix's first segment as it is: most requests
	// are decided here without cleaning.
	if !strings.Contains(p, sa.prefixHead) {
		return "", false
	}
	if !strings.HasPrefix(p, "/") {
		p = "/" + p
	}
	p = path.Clean(p)
	if rest, ok := strings.CutPrefix(p, sa.PathPrefix); ok && (rest == "" || rest[0] == '/') {
		return rest, true
	}
	return "", false
}

// isProtected tells whether a request needs a session: the handler's
// matcher selects any reading of its path, or an access rule does (see
// pathreadings.go).
func (sa *SessionAuth) isProtected(rs readings) (bool, error) {
	if len(sa.protect) == 0 {
		return true, nil
	}
	if ok, err := rs.selectedBy(sa.protect); ok || err != nil {
		return ok, err
	}
	return sa.ruleSelects(rs)
}

// challenge sends a browser to the login page and tells anything else 401,
// through Caddy's error handling so handle_errors can shape it.
func (sa *SessionAuth) challenge(w http.ResponseWriter, r *http.Request) error {
	if isBrowserPageLoad(r) {
		sa.gateCount.redirected.Inc()
		return seeOther(w, sa.PathPrefix+"/login?next="+url.QueryEscape(r.URL.RequestURI()))
	}
	sa.gateCount.refused.Inc()
	return caddyhttp.Error(http.StatusUnauthorized, errors.New("not authenticated"))
}

// backendDown refuses a protected request while the backend cannot answer:
// a browser gets the styled "try again later" page, anything else a bare
// 503 through Caddy's error handling.
func (sa *SessionAuth) backendDown(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Retry-After", "5")
	if isBrowserPageLoad(r) {
		return sa.message(w, r, http.StatusServiceUnavailable, "unavailable", "Try again later",
			"The site cannot check logins right now. Please try again in a few moments.")
	}
	return caddyhttp.Error(http.StatusServiceUnavailable, errBackendDown)
}

// errBackendDown is what a request learns when the store cannot answer.
var errBackendDown = errors.New("session backend unavailable")

// isBrowserPageLoad tells a browser opening a page (GET or HEAD that
// accepts HTML) from an API client or a script.
func isBrowserPageLoad(r *http.Request) bool {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		return false
	}
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
	case "/session", "/session/register", "/session/second-factor":
		return sa.serveAPI(w, r, route)
	case "/login":
		return sa.byMethod(w, r, "login", sa.serveLoginForm, sa.handleLogin)
	case "/register":
		if !sa.registrationOffered() {
			return sa.message(w, r, http.StatusNotFound, "registration_closed", "Not found", "Registration is closed on this site.")
		}
		return sa.byMethod(w, r, "register", sa.serveRegisterForm, sa.handleRegister)
	case "/logout":
		return sa.byMethod(w, r, "logout", sa.serveLogoutPage, sa.handleLogout)
	case "/reset":
		return sa.byMethod(w, r, "reset", sa.serveResetForm, sa.handleReset)
	case "/admin":
		return sa.byMethod(w, r, "admin", sa.serveAdminPage, sa.handleAdmin)
	case "/account":
		return sa.byMethod(w, r, "account", sa.serveAccountPage, sa.handleAccount)
	case "/second-factor":
		return sa.byMethod(w, r, "second-factor", sa.serveSecondFactor, sa.handleSecondFactor)
	case "/second-factor/passkey":
		return sa.byMethod(w, r, "second-factor", sa.postOnly, sa.stepPasskeyOptions)
	case "/account/passkey":
		return sa.byMethod(w, r, "account", sa.postOnly, sa.passkeyRegisterOptions)
	case "/login/passkey":
		return sa.byMethod(w, r, "login", sa.postOnly, sa.passkeyLoginOptions)
	case "/second-factor/qr.png":
		g, acct, token, answered, err := sa.stepState(w, r, false)
		if answered {
			return err
		}
		if !g.Enrol || acct.HasSecondFactor() {
			return sa.message(w, r, http.StatusNotFound, "not_found", "Not found", "There is no such page.")
		}
		return sa.serveQR(w, r, acct, stepViewer(token))
	case "/account/qr.png":
		s, acct, answered, err := sa.accountOwner(w, r)
		if answered {
			return err
		}
		if sa.SecondFactor == factorsOff || acct.TOTP != nil {
			return sa.message(w, r, http.StatusNotFound, "not_found", "Not found", "There is no such page.")
		}
		if refused, err := sa.factorChangeRefused(w, r, s, acct); refused {
			return err
		}
		return sa.serveQR(w, r, acct, sessionViewer(s))
	}
	if name := strings.TrimPrefix(route, "/"); sa.pages.IsAsset(name) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			return caddyhttp.Error(http.StatusMethodNotAllowed, nil)
		}
		return sa.pages.ServeAsset(w, r, name)
	}
	return sa.message(w, r, http.StatusNotFound, "not_found", "Not found", "There is no such page.")
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

// secure tells whether the browser reached this request over HTTPS: a TLS
// connection, or a trusted proxy that says so; or always, when the
// operator says every browser does.
func (sa *SessionAuth) secure(r *http.Request) bool {
	if r.TLS != nil || sa.SecureCookies == "always" {
		return true
	}
	proto := r.Header["X-Forwarded-Proto"] // canonical key: no parsing on every request
	if len(proto) == 0 || !strings.EqualFold(proto[0], "https") {
		return false
	}
	trusted, _ := caddyhttp.GetVar(r.Context(), caddyhttp.TrustedProxyVarKey).(bool)
	return trusted
}

func (sa *SessionAuth) debug(msg string, err error) {
	if c := sa.logger.Check(zapcore.DebugLevel, msg); c != nil {
		c.Write(zap.Error(err))
	}
}

// stripIdentityHeaders removes every header that an upstream could read as
// the user or roles header: any spelling of the name, with "_" or "." for
// "-" too. CGI and FastCGI (php_fastcgi among them) and many WSGI servers
// turn "X-Remote-User", "X_Remote_User" and "X.Remote.User" alike into
// HTTP_X_REMOTE_USER, and Go keeps them under different keys. Caddy drops
// names with "_" or "." before any handler runs, unless the server's
// expected_underscore_headers or expected_dot_headers lets one through.
func (sa *SessionAuth) stripIdentityHeaders(h http.Header) {
	for name := range h {
		if sameHeaderName(name, sa.userHeader) || sameHeaderName(name, sa.rolesHeader) {
			delete(h, name)
		}
	}
}

// sameHeaderName compares header names as CGI does: case-insensitive, with
// "_", "." and "-" the same. An empty want matches nothing.
func sameHeaderName(name, want string) bool {
	if want == "" || len(name) != len(want) {
		return false
	}
	for i := 0; i < len(name); i++ {
		if cgiFold(name[i]) != cgiFold(want[i]) {
			return false
		}
	}
	return true
}

// cgiFold maps a header name's byte to the one CGI makes of it.
func cgiFold(c byte) byte {
	switch {
	case c == '_' || c == '.':
		return '-'
	case 'a' <= c && c <= 'z':
		return c - 'a' + 'A'
	}
	return c
}
