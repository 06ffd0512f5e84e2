package sessionauth

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestJSONAPIRefusesTextPlain: text/plain is what another site's form or
// simple fetch may send without a preflight. Whatever its body holds, the
// API answers 415 to it, on every call that changes anything, and does
// nothing: no login, no account, no logout, no use of the login's step.
func TestJSONAPIRefusesTextPlain(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	secret, _ := registerEnrolled(t, "alice")
	bob := newClient(t)
	registerRetry(bob, "bob", testPassword)
	plain := []string{"Content-Type", "text/plain;charset=UTF-8"}
	refused := func(r response, v map[string]any, what string) {
		t.Helper()
		wantAPIError(t, r, v, http.StatusUnsupportedMediaType, "unsupported_media_type", what+" sent as text/plain")
		if sessionCookie(r) != nil {
			t.Fatalf("%s sent as text/plain set a session cookie", what)
		}
	}

	c := newClient(t)
	r, v := c.api(http.MethodPost, "/auth/session", loginBody("bob", testPassword), plain...)
	refused(r, v, "a login")
	r, v = c.api(http.MethodPost, "/auth/session/register", `{"username":"carl","password":"`+testPassword+`","password_confirm":"`+testPassword+`"}`, plain...)
	refused(r, v, "a registration")
	if r := loginRetry(newClient(t), "carl", testPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("the registration sent as text/plain made an account: login %d", r.status)
	}
	for _, body := range []string{"", "{}"} {
		r, v = bob.api(http.MethodDelete, "/auth/session", body, plain...)
		refused(r, v, fmt.Sprintf("a logout with the body %q", body))
		wantGranted(t, bob.get("/members/x"), "bob after a logout sent as text/plain")
	}

	step := newClient(t)
	freshStep()
	if r, v := step.api(http.MethodPost, "/auth/session", loginBody("alice", testPassword)); r.status != http.StatusAccepted {
		t.Fatalf("alice's API login: %d %v; want 202 and the step", r.status, v)
	}
	code := fmt.Sprintf(`{"code":%q}`, codeAt(t, secret, 0))
	r, v = step.api(http.MethodPost, "/auth/session/second-factor", code, plain...)
	refused(r, v, "the second step's right code")

	// The same calls as JSON do what they say: the step was left as it was.
	if r, v := step.api(http.MethodPost, "/auth/session/second-factor", code); r.status != http.StatusOK || v["user"] != "alice" {
		t.Fatalf("the same code as JSON: %d %v; want alice's session", r.status, v)
	}
	if r, v := c.api(http.MethodPost, "/auth/session", loginBody("bob", testPassword)); r.status != http.StatusOK {
		t.Fatalf("bob's login as JSON: %d %v", r.status, v)
	}
	if r, _ := bob.api(http.MethodDelete, "/auth/session", "", "Content-Type", ""); r.status != http.StatusNoContent {
		t.Fatalf("a logout without a body or Content-Type, as curl sends it: %d; want 204", r.status)
	}
}

// TestAPIPendingAnswersAsTheREADMESays: under approval, registering answers
// 202 pending and logging in answers 403 pending, and the README says the
// same in its table and in its example.
func TestAPIPendingAnswersAsTheREADMESays(t *testing.T) {
	site(t, "session_auth /members/*", "registration approval\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	c := newClient(t)
	c.get("/auth/login") // a GET first: it is retried on a connection the last config's server closed, a POST is not
	r, v := c.api(http.MethodPost, "/auth/session/register", loginBody("pat", testPassword))
	if r.status != http.StatusAccepted || v["status"] != "pending" || c.cookie() != "" {
		t.Fatalf("registration under approval: %d %v; want 202, status pending, no cookie", r.status, v)
	}
	r, v = c.api(http.MethodPost, "/auth/session", loginBody("pat", testPassword))
	wantAPIError(t, r, v, http.StatusForbidden, "pending", "login of an account that waits for approval")

	readme := readmeText(t)
	if !strings.Contains(readme, "401 `invalid_credentials`, 403 `pending`") {
		t.Error("the README's table no longer says 403 pending for a login")
	}
	if example := readmeBlock(t, "From a page of the site:"); strings.Contains(example, `status: "pending"`) {
		t.Errorf("the README's login example says a login may answer {status: \"pending\"}; it answers 403 pending:\n%s", example)
	}
}
