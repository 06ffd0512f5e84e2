package sessionauth

import (
	"testing"
)

func TestConfigReloadKeepsSessions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		// No secret: the generated key must survive the reload.
		site(t, "session_auth /members/*", "registration open\n\t\t"+lines)
		c := newClient(t)
		c.register("nora", testPassword, "/")
		wantGranted(t, c.get("/members/x"), "before the reload")
		site(t, "session_auth /members/*", "registration open\n\t\tidle_timeout 3h\n\t\t"+lines)
		wantGranted(t, c.get("/members/x"), "after a reload with another config")
		site(t, "session_auth /members/*", "registration open\n\t\t"+lines)
		wantGranted(t, c.get("/members/x"), "after reloading back")
	})
}
