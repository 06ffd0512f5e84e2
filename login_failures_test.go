package sessionauth

// Rule 5: one generic login failure, and the same bcrypt work for every
// kind of failure.

import (
	"context"
	"html"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
	"golang.org/x/crypto/bcrypt"
)

func TestLoginFailuresAreIndistinguishable(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\t"+unthrottled+"\n\t\t"+b.lines(t))
		newClient(t).register("gina", testPassword, "/")

		type attempt struct{ name, user, password string }
		attempts := []attempt{
			{"wrong password", "gina", "not her password"},
			{"unknown user", "nobody", "not her password"},
			{"unknown user, right password", "nobody", testPassword},
			{"invalid username", "a/b", "not her password"},
			{"empty password", "gina", ""},
			{"over-long password", "gina", strings.Repeat("x", 100)},
		}
		var first response
		var firstUser string
		for i, a := range attempts {
			r := newClient(t).login(a.user, a.password, "/")
			if r.status != http.StatusUnauthorized {
				t.Fatalf("%s: want 401, got %d", a.name, r.status)
			}
			msg := errorText(r.body)
			if msg == "" {
				t.Fatalf("%s: no error message", a.name)
			}
			if i == 0 {
				first, firstUser = r, a.user
				continue
			}
			if want := errorText(first.body); msg != want {
				t.Fatalf("%s: message %q differs from %q", a.name, msg, want)
			}
			// The whole page is the same but for the username typed back
			// and the form token, which is per browser.
			got := tokenField.ReplaceAllString(strings.ReplaceAll(r.body, `value="`+html.EscapeString(a.user)+`"`, `value="USER"`), "TOKEN")
			want := tokenField.ReplaceAllString(strings.ReplaceAll(first.body, `value="`+firstUser+`"`, `value="USER"`), "TOKEN")
			if got != want {
				t.Fatalf("%s: the page differs from the wrong-password page:\n%s\n---\n%s", a.name, got, want)
			}
			if sessionCookie(r) != nil {
				t.Fatalf("%s: a failed login set a cookie", a.name)
			}
		}
	})
}

// TestEveryFailedLoginCostsOneBcryptAtTheConfiguredCost counts the bcrypt
// comparisons a login makes and the cost of the hash each uses: a wrong
// password, an unknown name, a name that is no valid username and a locked
// account all cost exactly one comparison at the configured cost, so their
// time does not tell them apart.
func TestEveryFailedLoginCostsOneBcryptAtTheConfiguredCost(t *testing.T) {
	lines := fileBackend().lines(t)
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 11\n\t\taccount_limit 2 15m\n\t\t"+lines)
	newClient(t).register("pete", testPassword, "/")
	// An account whose stored hash is no bcrypt hash (edited by hand).
	broken := users.Account{Username: "broken", Hash: []byte("not a bcrypt hash"), Created: time.Now()}
	if err := users.NewFileStore(strings.Fields(lines)[1]).Create(context.Background(), broken); err != nil {
		t.Fatal(err)
	}
	newClient(t).register("lockme", testPassword, "/")
	for range 2 {
		newClient(t).login("lockme", "wrong password!", "/")
	}
	var mu sync.Mutex
	var costs []int
	verify = func(hash []byte, password string) bool {
		cost, err := bcrypt.Cost(hash)
		if err != nil {
			cost = -1
		}
		mu.Lock()
		costs = append(costs, cost)
		mu.Unlock()
		return users.Verify(hash, password)
	}
	t.Cleanup(func() { verify = users.Verify })
	for _, tc := range []struct{ name, user, password string }{
		{"wrong password", "pete", "wrong password!"},
		{"unknown name", "nobody-here", "wrong password!"},
		{"invalid name", "no such name!", "wrong password!"},
		{"empty name", "", "wrong password!"},
		{"locked account, right password", "lockme", testPassword},
		{"stored hash not bcrypt", "broken", "wrong password!"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mu.Lock()
			costs = nil
			mu.Unlock()
			if r := newClient(t).login(tc.user, tc.password, "/"); r.status != http.StatusUnauthorized {
				t.Fatalf("login: want 401, got %d", r.status)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(costs) != 1 || costs[0] != 11 {
				t.Fatalf("bcrypt comparisons made, by cost: %v; want exactly one at cost 11", costs)
			}
		})
	}
}
