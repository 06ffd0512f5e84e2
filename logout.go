package sessionauth

import (
	"net/http"

	"github.com/caddy-session-auth/caddy-session-auth/templates"
)

func (sa *SessionAuth) serveLogoutPage(w http.ResponseWriter, r *http.Request) error {
	s, _ := sa.sessions.Current(r)
	return sa.form(w, r, http.StatusOK, "logout.html", templates.Data{Heading: "Log out", User: s.User})
}

// handleLogout ends the session on the server and expires its cookie. A
// signed cookie whose session is gone already ends nothing and counts as a
// failure against the client: replaying dead cookies cannot keep the
// backend busy.
func (sa *SessionAuth) handleLogout(w http.ResponseWriter, r *http.Request) error {
	if answered, err := sa.clientRefused(w, r); answered {
		return err
	}
	ended, err := sa.sessions.End(w, r)
	if err != nil {
		return sa.unavailable(w, r, "logout", err)
	}
	if !ended {
		if err := sa.countClientFailure(r.Context(), r); err != nil {
			return sa.unavailable(w, r, "logout", err)
		}
	}
	return seeOther(w, sa.PathPrefix+"/login?logged_out=1")
}
