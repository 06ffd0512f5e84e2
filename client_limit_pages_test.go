package sessionauth

import (
	"net/http"
	"net/url"
	"testing"
)

// TestAccountPageWrongPasswordsCountAgainstTheClient: a wrong current
// password on the account page counts toward the client's limit as a
// failed login does, so a client with a session gets no guesses beyond
// ip_limit: once over it, even the login form answers 429.
func TestAccountPageWrongPasswordsCountAgainstTheClient(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "ip_limit 3 15m\n\t\taccount_limit 1000 15m\n\t\t"+lines)
		addUser(t, lines, "alice")
		alice := loggedIn(t, "alice") // a success counts nothing
		for i := range 3 {
			r := alice.accountAction(url.Values{"action": {"password"}, "current_password": {"guess " + string(rune('a'+i))}, "password": {"a new fine passphrase"}, "password_confirm": {"a new fine passphrase"}})
			if r.status != http.StatusUnauthorized {
				t.Fatalf("wrong current password %d on the account page: %d; want 401", i+1, r.status)
			}
		}
		wantClientRefused(t, newClient(t).login("alice", testPassword, "/"), "the login form, for the client whose 3 wrong passwords on the account page reached ip_limit 3")
		wantGranted(t, alice.get("/members/x"), "alice's session: the client limit ends no session")
	})
}
