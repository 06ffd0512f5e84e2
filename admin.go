package sessionauth

import (
	"fmt"
	"net"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI adds routes to Caddy's admin endpoint for what the CLI cannot do
// from outside the server process: the file backend keeps its login
// counters in the server's memory.
type adminAPI struct {
	// audit is the handlers' audit logger, as the config's logs route
	// it. caddy.Log() would not do: it is the default log alone, which the
	// README's log block tells to drop the audit lines.
	audit *zap.Logger
}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.session_auth",
		New: func() caddy.Module { return new(adminAPI) },
	}
}

// Provision runs at each config load, before the routes are taken: it
// gets the audit logger exactly as a handler gets its own (the handler
// module's logger, named audit), so the log blocks that route the
// handlers' audit lines route this one too.
func (a *adminAPI) Provision(ctx caddy.Context) error {
	a.audit = ctx.Logger(SessionAuth{}).Named(auditName)
	return nil
}

// unlockPath lifts a user's locks in a file-backend realm: POST with realm
// and user. It answers 204 once the account's lock and its known browsers'
// locks are lifted in every loaded handler of the realm, and 404 when no
// loaded handler keeps that realm in files.
const unlockPath = "/session-auth/unlock"

// Routes returns the admin routes.
func (a *adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: unlockPath, Handler: caddy.AdminHandlerFunc(a.handleUnlock)}}
}

func (a *adminAPI) handleUnlock(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	q := r.URL.Query()
	realm := q.Get("realm")
	user, err := users.Normalize(q.Get("user"))
	if err != nil || !validRealm.MatchString(realm) {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("want a realm and a user")}
	}
	// The realm alone finds the counters: the command may see other paths
	// than the server does (run as root, its default users file is root's).
	scopes := fileRealmScopes(realm)
	if len(scopes) == 0 {
		return caddy.APIError{HTTPStatus: http.StatusNotFound, Err: fmt.Errorf("no loaded session_auth handler keeps realm %s in files", realm)}
	}
	for _, scope := range scopes {
		if err := unlockAccount(r.Context(), memoryThrottle, scope, user); err != nil {
			return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
		}
	}
	// The line a handler's auditEvent writes, from the admin endpoint.
	from, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		from = r.RemoteAddr
	}
	audit(a.audit, r, "locks lifted by an operator", eventUnlock, user, realm, from, "")
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unlockQuery is what the CLI posts to unlockPath.
func unlockQuery(realm, user string) string {
	return unlockPath + "?" + url.Values{"realm": {realm}, "user": {user}}.Encode()
}

// Interface guards
var (
	_ caddy.AdminRouter = (*adminAPI)(nil)
	_ caddy.Provisioner = (*adminAPI)(nil)
)
