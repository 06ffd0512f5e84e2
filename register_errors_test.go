package sessionauth

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestRegisterShowsEveryFieldsErrorAtOnce: a form with several problems
// gets them all in one answer, each next to its field, the summary linking
// to each, the first one focused; a taken name is said together with the
// other problems. The JSON API answers the first problem's code.
func TestRegisterShowsEveryFieldsErrorAtOnce(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	registerRetry(newClient(t), "taken", testPassword)
	invalid := regexp.MustCompile(`<input id="([a-z_]+)"[^>]*aria-invalid="true"`)
	focused := regexp.MustCompile(`<input id="([a-z_]+)"[^>]*autofocus`)
	for _, tc := range []struct {
		name, user, password, confirm string
		fields                        []string
		says                          []string // in the order of fields
		summary                       string
	}{
		{"all three", "a/b", "Tiny7pw", "Tiny7pw!", []string{"username", "password", "password_confirm"},
			[]string{"outside that set", "at least 8 characters", "not the same"},
			`Please correct the <a href="#username">username</a>, the <a href="#password">password</a> and the <a href="#password_confirm">repeated password</a>.`},
		{"a taken name and a short password", "Taken", "Tiny7pw", "Tiny7pw", []string{"username", "password"},
			[]string{"taken", "at least 8 characters"},
			`Please correct the <a href="#username">username</a> and the <a href="#password">password</a>.`},
		{"password and confirmation", "newbie", "Tiny7pw", "Tiny7pw!", []string{"password", "password_confirm"},
			[]string{"at least 8 characters", "not the same"},
			`Please correct the <a href="#password">password</a> and the <a href="#password_confirm">repeated password</a>.`},
		{"the confirmation alone", "newbie", testPassword, testPassword + "!", []string{"password_confirm"},
			[]string{"not the same"},
			`Please correct the <a href="#password_confirm">repeated password</a>.`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newClient(t).post("/auth/register", url.Values{"username": {tc.user}, "password": {tc.password}, "password_confirm": {tc.confirm}})
			if r.status != http.StatusBadRequest {
				t.Fatalf("want 400, got %d", r.status)
			}
			var marked []string
			for _, m := range invalid.FindAllStringSubmatch(r.body, -1) {
				marked = append(marked, m[1])
			}
			if strings.Join(marked, " ") != strings.Join(tc.fields, " ") {
				t.Fatalf("fields marked invalid: %v; want %v\n%s", marked, tc.fields, r.body)
			}
			for i, field := range tc.fields {
				m := regexp.MustCompile(`<p class="error" id="` + field + `-error">([^<]*)</p>`).FindStringSubmatch(r.body)
				if m == nil || !strings.Contains(m[1], tc.says[i]) {
					t.Errorf("the %s field's error: %v; want it to say %q", field, m, tc.says[i])
				}
			}
			if !strings.Contains(r.body, `<p class="summary" role="alert" id="form-error">`+tc.summary+`</p>`) {
				t.Errorf("want the summary %q:\n%s", tc.summary, r.body)
			}
			if f := focused.FindAllStringSubmatch(r.body, -1); len(f) != 1 || f[0][1] != tc.fields[0] {
				t.Errorf("focused fields: %v; want only %s", f, tc.fields[0])
			}
			if got, _ := usernameValue(r.body); got != tc.user {
				t.Errorf("the username came back as %q, want %q", got, tc.user)
			}
		})
	}
	r, v := newClient(t).api(http.MethodPost, "/auth/session/register", `{"username":"a/b","password":"Tiny7pw","password_confirm":"Tiny7pw!"}`)
	wantAPIError(t, r, v, http.StatusBadRequest, "invalid_username", "an API registration with three problems")
}

// TestRegistrationWithoutAnInvitationSaysOneIsNeeded: where only
// invitations register, a registration that brings none is told that an
// invitation is needed, with a code of its own, and not that a link was
// used already or copied in part, which is what a spoilt one is told.
func TestRegistrationWithoutAnInvitationSaysOneIsNeeded(t *testing.T) {
	lines := "registration invite\n\t\tip_limit 100000 15m\n\t\t" + fileBackend().lines(t)
	site(t, "session_auth /members/*", lines)
	path, _ := linkFrom(t, cliFor(t, lines)("invite"))
	c := newClient(t)
	csrf := pageToken(t, c.get(path))
	for _, emptyField := range []bool{false, true} {
		form := url.Values{"username": {"ida"}, "password": {testPassword}, "password_confirm": {testPassword}, formTokenField: {csrf}}
		if emptyField {
			form.Set("invite", "")
		}
		r := c.post("/auth/register", form)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "needs an invitation") || strings.Contains(r.body, "used already") {
			t.Fatalf("the form without an invitation (an empty invite field: %v): %d; want 404 saying an invitation is needed:\n%s", emptyField, r.status, r.body)
		}
	}
	r, v := newClient(t).api(http.MethodPost, "/auth/session/register", `{"username":"ida","password":"`+testPassword+`","password_confirm":"`+testPassword+`"}`)
	wantAPIError(t, r, v, http.StatusNotFound, "invitation_required", "an API registration without an invitation")
	if msg, _ := v["message"].(string); !strings.Contains(msg, "needs an invitation") || strings.Contains(msg, "used already") {
		t.Fatalf("an API registration without an invitation: message %q; want it to say an invitation is needed", msg)
	}
	r, v = newClient(t).api(http.MethodPost, "/auth/session/register", `{"username":"ida","password":"`+testPassword+`","password_confirm":"`+testPassword+`","invite":"not-a-real-one"}`)
	wantAPIError(t, r, v, http.StatusNotFound, "invalid_link", "an API registration with a made-up invitation")
	if r := loginRetry(newClient(t), "ida", testPassword); r.status != http.StatusUnauthorized {
		t.Fatalf("a registration without an invitation made an account: login %d", r.status)
	}
}
