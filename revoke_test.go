package sessionauth

import (
	"fmt"
	"testing"
)

// An operator who removes an account or resets its password must not leave
// someone logged in with the old credentials.
func TestRemovingAUserOrResettingThePasswordEndsTheirSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", "registration open\n\t\t"+lines)
		config := writeCLICaddyfile(t, "Caddyfile", fmt.Sprintf("http://localhost:9080 {\n\tsession_auth {\n\t\t%s\n\t}\n}\n", lines))

		victim, bystander := newClient(t), newClient(t)
		victim.register("rita", testPassword, "/")
		bystander.register("sam", testPassword, "/")
		wantGranted(t, victim.get("/members/x"), "before the reset")

		mustRunCLI(t, "a brand new password\n", "password", "rita", "--config", config)
		wantDenied(t, victim.get("/members/x"), "after the operator reset the password")
		wantGranted(t, bystander.get("/members/x"), "another user, untouched")

		mustRunCLI(t, "", "remove", "sam", "--config", config)
		wantDenied(t, bystander.get("/members/x"), "after the operator removed the account")
	})
}
