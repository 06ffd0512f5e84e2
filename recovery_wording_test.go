package sessionauth

import (
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey/passkeytest"
)

// TestRecoveryCodesSayWhatTheyStandInFor: the page that shows recovery
// codes names the factors they stand in for: a first passkey is not an
// authenticator app.
func TestRecoveryCodesSayWhatTheyStandInFor(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	says := func(r response, lost, what string) {
		t.Helper()
		wantRecoveryCodes(t, r, what)
		if want := "Each one logs you in once if you lose " + lost + "."; !strings.Contains(r.body, want) {
			t.Fatalf("%s: want the page to say %q:\n%s", what, want, clip(r.body))
		}
	}
	newCodes := func(c *client) response {
		return c.post("/auth/account", url.Values{"action": {"recovery-new"}, "current_password": {testPassword}})
	}

	alice := newClient(t)
	registerRetry(alice, "alice", testPassword)
	first := alice.addPasskey(passkeytest.New(baseURL), "laptop", false)
	says(first, "your passkey", "alice's first passkey")
	if strings.Contains(first.body, "authenticator app") {
		t.Fatalf("the codes of a first passkey speak of an authenticator app:\n%s", clip(first.body))
	}
	alice.addPasskey(passkeytest.New(baseURL), "phone", false)
	says(newCodes(alice), "your passkeys", "new codes of alice, who has two passkeys")

	bob := newClient(t)
	registerRetry(bob, "bob", testPassword)
	setup := bob.get("/auth/account?setup=totp")
	freshStep()
	says(bob.post("/auth/account", url.Values{"action": {"totp-confirm"}, "code": {codeAt(t, secretOf(t, setup), 0)}, "current_password": {testPassword}}),
		"your authenticator app", "bob's authenticator app")
	bob.addPasskey(passkeytest.New(baseURL), "key", false)
	says(newCodes(bob), "both your authenticator app and your passkey", "new codes of bob, who has an app and a passkey")
}
