package sessionauth

// Rule 6: passwords of at least 8 characters, any Unicode, at most bcrypt's
// 72 bytes: a clear form error at registration, a plain failure at login.

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPasswordRulesAtRegistrationAndLogin(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+fileBackend().lines(t))
	if r := newClient(t).register("alice", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("register alice: %d", r.status)
	}

	ascii72 := strings.Repeat("p", 72)
	ascii73 := ascii72 + "q"
	cjk25 := strings.Repeat("語", 25)
	emoji30 := "🙂🔒äöüßé" + "abcdefghijklmnopqrstuvw" // 30 characters, 41 bytes
	if n := utf8.RuneCountInString(emoji30); n != 30 || len(emoji30) > 72 {
		t.Fatalf("fixture: %d characters, %d bytes", n, len(emoji30))
	}
	if len(cjk25) != 75 || utf8.RuneCountInString(cjk25) != 25 {
		t.Fatal("fixture: cjk25")
	}

	refused := []struct {
		name, user, password, confirm string
		status                        int
		mention                       string // in the error message
	}{
		{"7 characters", "short7", "abcdefg", "abcdefg", 400, "8"},
		{"7 emoji (28 bytes)", "emoji7", strings.Repeat("😀", 7), strings.Repeat("😀", 7), 400, "8"},
		{"73 ASCII bytes", "long73", ascii73, ascii73, 400, "72 bytes"},
		{"25 CJK characters (75 bytes)", "cjk25", cjk25, cjk25, 400, "72 bytes"},
		{"1000 bytes", "long1000", strings.Repeat("x", 1000), strings.Repeat("x", 1000), 400, "72 bytes"},
		{"NUL byte", "nulpw", "abcdefgh\x00ij", "abcdefgh\x00ij", 400, ""},
		{"confirm mismatch", "mismatch", "first password", "second password", 400, ""},
		{"name taken, capitals", "Alice", "another password", "another password", 409, "taken"},
		{"name taken, trailing space", "alice ", "another password", "another password", 409, "taken"},
		{"name taken, both", " ALICE ", "another password", "another password", 409, "taken"},
		{"name with a space", "bad name", "valid password", "valid password", 400, ""},
		{"name with a slash", "a/b", "valid password", "valid password", 400, ""},
		{"name with markup", `<b>x</b>"`, "valid password", "valid password", 400, ""},
		{"empty name", "", "valid password", "valid password", 400, ""},
	}
	for _, tc := range refused {
		t.Run("register/"+tc.name, func(t *testing.T) {
			c := newClient(t)
			r := c.post("/auth/register", url.Values{"username": {tc.user}, "password": {tc.password}, "password_confirm": {tc.confirm}, "next": {"/members/x"}})
			if r.status != tc.status {
				t.Fatalf("want %d, got %d %q", tc.status, r.status, errorText(r.body))
			}
			msg := errorText(r.body)
			if msg == "" || !strings.Contains(msg, tc.mention) {
				t.Fatalf("error message %q should mention %q", msg, tc.mention)
			}
			if !strings.Contains(r.body, `name="password_confirm"`) {
				t.Fatal("the registration form did not come back")
			}
			if got, ok := usernameValue(r.body); !ok || got != tc.user {
				t.Fatalf("the form kept username %q (found %v), want %q", got, ok, tc.user)
			}
			for _, pw := range []string{tc.password, tc.confirm} {
				if containsSecretText(r.body, pw) {
					t.Fatalf("the form came back with the password %q in it", pw)
				}
			}
			if sessionCookie(r) != nil || c.cookie() != "" {
				t.Fatal("a refused registration set a session cookie")
			}
			if hiddenNext(r.body) != "/members/x" {
				t.Fatalf("the form lost next: %q", hiddenNext(r.body))
			}
			// No account was created, under any spelling, with any prefix
			// of the password.
			if tc.status == http.StatusBadRequest && tc.user != "" && !strings.ContainsAny(tc.user, " /<") {
				for _, pw := range []string{tc.password, tc.confirm, first72(tc.password)} {
					if r := newClient(t).login(tc.user, pw, "/"); r.status != http.StatusUnauthorized {
						t.Fatalf("login after a refused registration: want 401, got %d", r.status)
					}
				}
			}
		})
	}
	if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the original alice must still log in: %d", r.status)
	}
	if r := newClient(t).login("alice", "another password", "/"); r.status != http.StatusUnauthorized {
		t.Fatalf("a 409 must not change alice's password: %d", r.status)
	}

	accepted := []struct{ name, user, password string }{
		{"30 Unicode characters with emoji", "unicode", emoji30},
		{"exactly 72 bytes", "exact72", ascii72},
		{"8 two-byte characters", "umlaut8", strings.Repeat("ä", 8)},
		{"24 CJK characters (72 bytes)", "cjk24", strings.Repeat("語", 24)},
	}
	for _, tc := range accepted {
		t.Run("register/"+tc.name, func(t *testing.T) {
			c := newClient(t)
			if r := c.register(tc.user, tc.password, "/members/x"); r.status != http.StatusSeeOther || c.cookie() == "" {
				t.Fatalf("register: want 303 with a session, got %d %q", r.status, errorText(r.body))
			}
			wantGranted(t, c.get("/members/x"), "after registering")
			c.logout()
			if r := c.login(tc.user, tc.password, "/"); r.status != http.StatusSeeOther {
				t.Fatalf("login: want 303, got %d", r.status)
			}
			wantGranted(t, c.get("/members/x"), "after login")
		})
	}

	// At login, an over-long password is an ordinary failure: in particular
	// one that starts with the real 72 bytes must not be accepted.
	generic := errorText(newClient(t).login("alice", "wrong password", "/").body)
	for _, tc := range []struct{ name, user, password string }{
		{"73 bytes, real 72-byte prefix", "exact72", ascii72 + "x"},
		{"73 bytes", "alice", ascii73},
		{"25 CJK characters", "alice", cjk25},
		{"10000 bytes", "alice", strings.Repeat("z", 10000)},
		{"real password plus one byte", "alice", testPassword + strings.Repeat("!", 73-len(testPassword))},
	} {
		t.Run("login/"+tc.name, func(t *testing.T) {
			r := newClient(t).login(tc.user, tc.password, "/")
			wantNo5xx(t, r, "login")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("want 401, got %d", r.status)
			}
			if msg := errorText(r.body); msg != generic {
				t.Fatalf("want the generic message %q, got %q", generic, msg)
			}
			if containsSecretText(r.body, tc.password) {
				t.Fatal("the login form came back with the password in it")
			}
		})
	}
}

func first72(s string) string {
	if len(s) > 72 {
		return s[:72]
	}
	return s
}
