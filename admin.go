package sessionauth

import (
	"fmt"
	"net/http"
	"net/url"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	caddy.RegisterModule(adminAPI{})
}

// adminAPI adds routes to Caddy's admin endpoint for what the CLI cannot do
// from outside the server process: the file backend keeps its login
// counters in the server's memory.
type adminAPI struct{}

// CaddyModule returns the Caddy module information.
func (adminAPI) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "admin.api.session_auth",
		New: func() caddy.Module { return adminAPI{} },
	}
}

// unlockPath lifts a lock: POST with realm, users_file and user.
const unlockPath = "/session-auth/unlock"

// Routes returns the admin routes.
func (adminAPI) Routes() []caddy.AdminRoute {
	return []caddy.AdminRoute{{Pattern: unlockPath, Handler: caddy.AdminHandlerFunc(handleUnlock)}}
}

func handleUnlock(w http.ResponseWriter, r *http.Request) error {
	if r.Method != http.MethodPost {
		return caddy.APIError{HTTPStatus: http.StatusMethodNotAllowed, Err: fmt.Errorf("method %s not allowed", r.Method)}
	}
	q := r.URL.Query()
	user, err := users.Normalize(q.Get("user"))
	if err != nil || !validRealm.MatchString(q.Get("realm")) {
		return caddy.APIError{HTTPStatus: http.StatusBadRequest, Err: fmt.Errorf("want a realm and a user")}
	}
	scope := fileScope(q.Get("realm"), q.Get("users_file"))
	if err := memoryThrottle.Reset(r.Context(), scope+"account:"+user); err != nil {
		return caddy.APIError{HTTPStatus: http.StatusInternalServerError, Err: err}
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// unlockQuery is what the CLI posts to unlockPath.
func unlockQuery(realm, usersFile, user string) string {
	return unlockPath + "?" + url.Values{"realm": {realm}, "users_file": {usersFile}, "user": {user}}.Encode()
}

// Interface guard
var _ caddy.AdminRouter = adminAPI{}
