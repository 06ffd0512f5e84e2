package sessionauth

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"unicode"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// wantSentence asserts that a message shown to a person reads as a
// sentence: a capital letter first, a full stop last, no semicolons, and
// none of the Go errors it may have been made from ("password is too
// common: ...").
func wantSentence(t *testing.T, msg, what string) {
	t.Helper()
	first := []rune(msg)
	if len(first) == 0 || !unicode.IsUpper(first[0]) || !strings.HasSuffix(msg, ".") || strings.Contains(msg, ";") {
		t.Fatalf("%s: %q does not read as a sentence (capital first, full stop last, no semicolons)", what, msg)
	}
	for _, goErr := range []error{users.ErrBadUsername, users.ErrTaken, users.ErrPasswordTooShort, users.ErrPasswordTooLong, users.ErrPasswordInvalid, users.ErrPasswordCommon} {
		if strings.Contains(strings.ToLower(msg), goErr.Error()+":") {
			t.Fatalf("%s: %q carries the Go error %q", what, msg, goErr)
		}
	}
}

// TestRegistrationRefusalsAreSentences: every refusal of the registration
// form is shown as sentences next to its field, like "The two passwords are
// not the same.", never as a Go error ("password is too common: ...;
// choose another").
func TestRegistrationRefusalsAreSentences(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	if r := newClient(t).register("taken", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register: %d", r.status)
	}
	fieldError := regexp.MustCompile(`<p class="error" id="([a-z_]+)-error">([^<]*)</p>`)
	for _, tc := range []struct {
		name, user, password, confirm string
		field, says                   string
	}{
		{"name taken", "Taken", testPassword, testPassword, "username", "taken"},
		{"empty name", "", testPassword, testPassword, "username", "empty"},
		{"name with a slash", "a/b", testPassword, testPassword, "username", "outside that set"},
		{"name starting with a symbol", "_ann", testPassword, testPassword, "username", "starts with a symbol"},
		{"name too long", strings.Repeat("n", 65), testPassword, testPassword, "username", "64 characters"},
		{"password too short", "newbie", "Tiny7pw", "Tiny7pw", "password", "at least 8 characters"},
		{"password over 72 bytes", "newbie", strings.Repeat("p", 73), strings.Repeat("p", 73), "password", "at most 72 bytes"},
		{"common password", "newbie", "Baseball", "Baseball", "password", "passwords that attackers try first"},
		{"password with a NUL", "newbie", "correct\x00horse battery", "correct\x00horse battery", "password", "ordinary text characters"},
		{"passwords differ", "newbie", testPassword, testPassword + "!", "password_confirm", "not the same"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newClient(t).post("/auth/register", url.Values{"username": {tc.user}, "password": {tc.password}, "password_confirm": {tc.confirm}})
			if r.status != http.StatusBadRequest && r.status != http.StatusConflict {
				t.Fatalf("want 400 or 409, got %d", r.status)
			}
			m := fieldError.FindAllStringSubmatch(r.body, -1)
			if len(m) != 1 || m[0][1] != tc.field {
				t.Fatalf("want one error, next to %s; got %v", tc.field, m)
			}
			msg := html.UnescapeString(m[0][2])
			if !strings.Contains(msg, tc.says) {
				t.Fatalf("the message %q does not say %q", msg, tc.says)
			}
			wantSentence(t, msg, tc.name)
		})
	}
}
