package sessionauth

import (
	"net/http"

	"github.com/caddy-session-auth/caddy-session-auth/templates"
)

func (sa *SessionAuth) serveLogoutPage(w http.ResponseWriter, r *http.Request) error {
	s, _ := sa.sessions.Current(r)
	return sa.form(w, r, http.StatusOK, "logout.html", templates.Data{Heading: "Log out", User: s.User})
}

// handleLogout ends the session on the server and expires its cookie,
// whatever the client's failures: nobody on a shared network can keep
// someone else logged in. A logout that ends nothing (a dead cookie sent
// again) counts as a failure against the client, and past the limit is
// answered 429: replaying dead cookies cannot keep the backend busy.
func (sa *SessionAuth) handleLogout(w http.ResponseWriter, r *http.Request) error {
	id, user := sa.sessions.Owner(r) // for the audit line only
	ended, err := sa.sessions.End(w, r)
	if err != nil {
		return sa.unavailable(w, r, "logout", err)
	}
	if !ended {
		if result, err := sa.clientRefused(w, r); result != "" {
			return err
		}
		if err := sa.countClientFailure(r.Context(), r); err != nil {
			return sa.unavailable(w, r, "logout", err)
		}
	} else {
		metrics.logouts.WithLabelValues(sa.Realm).Inc()
		if user != "" {
			sa.auditEvent(r, "logout", eventLogout, user, id)
		}
	}
	if isAPI(r) {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	return seeOther(w, sa.PathPrefix+"/login?logged_out=1")
}
