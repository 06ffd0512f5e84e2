package sessionauth

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Rule 15, second half: the per-IP limit counts failed logins,
// registrations and logouts of dead sessions, never a successful login, so
// an office, a school or a mobile network behind one address is not shut
// out by its own people logging in.

// createAccounts puts accounts straight into the store, all with
// testPassword at cost 10: registering them would count against the client.
func createAccounts(t *testing.T, store users.Store, names ...string) {
	t.Helper()
	hash, err := users.Hash(testPassword, bcryptfloor.Cost)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		if err := store.Create(context.Background(), users.Account{Username: name, Hash: hash}); err != nil {
			t.Fatalf("creating %s: %v", name, err)
		}
	}
}

// wantClientRefused asserts the answer of a client over its limit.
func wantClientRefused(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("%s: want 429, got %d", what, r.status)
	}
	if s, err := strconv.Atoi(r.header.Get("Retry-After")); err != nil || s < 1 {
		t.Fatalf("%s: want Retry-After in whole seconds, got %q", what, r.header.Get("Retry-After"))
	}
}

// TestManySuccessfulLoginsFromOneAddressAllSucceedWhileFailuresAreCutOff
// runs on the file backend only: 200 logins are 200 bcrypt comparisons,
// minutes of CPU under the race detector, and whether a login counts is
// decided in the handler, the same for every backend;
// TestSuccessfulLoginsNeitherResetNorAddToTheFailureCount holds both
// backends to it.
func TestManySuccessfulLoginsFromOneAddressAllSucceedWhileFailuresAreCutOff(t *testing.T) {
	for _, b := range cliStores() {
		if b.name != "files" {
			continue
		}
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			const limit = 20
			site(t, "session_auth /members/*", fmt.Sprintf("ip_limit %d 15m\n\t\t%s", limit, lines))
			const people = 200
			names := make([]string, people)
			for i := range names {
				names[i] = fmt.Sprintf("member%03d", i)
			}
			createAccounts(t, store, names...)

			// 200 people behind one address log in, some at once.
			statuses := make([]int, people)
			var wg sync.WaitGroup
			work := make(chan int)
			for range 8 {
				wg.Go(func() {
					for i := range work {
						statuses[i] = loginRetry(newClient(t), names[i], testPassword).status
					}
				})
			}
			for i := range people {
				work <- i
			}
			close(work)
			wg.Wait()
			for i, s := range statuses {
				if s != http.StatusSeeOther {
					t.Fatalf("successful login %d of %d from one address: want 303, got %d", i+1, people, s)
				}
			}

			// Failures from the same address are still cut off at the limit.
			for i := range limit {
				wantGenericFailure(t, loginRetry(newClient(t), fmt.Sprintf("guess%d", i), "wrong password here"), fmt.Sprintf("failure %d of %d", i+1, limit))
			}
			wantClientRefused(t, loginRetry(newClient(t), "guess-over", "wrong password here"), "a failure past the limit")
			wantClientRefused(t, loginRetry(newClient(t), names[0], testPassword), "the right password from the blocked address")
		})
	}
}

func TestSuccessfulLoginsNeitherResetNorAddToTheFailureCount(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			site(t, "session_auth /members/*", "ip_limit 20 15m\n\t\t"+lines)
			createAccounts(t, store, "kim")
			fail := func(n int) {
				t.Helper()
				for i := range n {
					wantGenericFailure(t, loginRetry(newClient(t), fmt.Sprintf("nobody%d", i), "wrong password here"), "a failure under the limit")
				}
			}
			succeed := func(what string) {
				t.Helper()
				if r := loginRetry(newClient(t), "kim", testPassword); r.status != http.StatusSeeOther {
					t.Fatalf("%s: want 303, got %d", what, r.status)
				}
			}
			fail(10)
			succeed("a success after 10 failures")
			fail(9)
			succeed("a success after 19 failures") // had it counted, this would be the 21st
			fail(1)                                // the 20th failure: the limit is reached
			wantClientRefused(t, loginRetry(newClient(t), "nobody-more", "wrong password here"), "after 20 failures with 2 successes among them")
		})
	}
}

// TestLoggingOutADeadSessionCountsAgainstTheClient: any signed cookie, even
// one whose session has ended, may post a logout; each one that ends
// nothing counts as a failure, so replaying them cannot keep the backend
// busy. Logging out a live session never counts.
func TestLoggingOutADeadSessionCountsAgainstTheClient(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			const limit = 3
			site(t, "session_auth /members/*", fmt.Sprintf("ip_limit %d 15m\n\t\t%s", limit, lines))
			createAccounts(t, store, "lena")
			var dead string
			for i := range limit + 2 {
				c := newClient(t)
				if r := loginRetry(c, "lena", testPassword); r.status != http.StatusSeeOther {
					t.Fatalf("login %d: want 303, got %d", i+1, r.status)
				}
				dead = c.cookie()
				if r := c.logout(); r.status != http.StatusSeeOther {
					t.Fatalf("logout %d of a live session: want 303, got %d", i+1, r.status)
				}
			}
			for i := range limit {
				if r := withCookie(t, dead).logout(); r.status != http.StatusSeeOther {
					t.Fatalf("replayed logout %d of a dead session: want 303, got %d", i+1, r.status)
				}
			}
			wantClientRefused(t, withCookie(t, dead).logout(), "a dead session's logout past the limit")
		})
	}
}

// TestAKnownBrowserIsNotShutOutByItsNetworksFailures: the client limit
// stops guessing from one address, but a browser that has logged in as a
// user before is judged on its own budget (rule 15): strangers who share
// its network (an office, a school, a mobile carrier) and have used up
// the address's failures cannot keep its owner out. Fresh browsers from
// the address are refused, even with the right password.
func TestAKnownBrowserIsNotShutOutByItsNetworksFailures(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			const limit = 5
			site(t, "session_auth /members/*", fmt.Sprintf("ip_limit %d 15m\n\t\t%s", limit, lines))
			createAccounts(t, store, "omar")
			owner := newClient(t)
			if r := loginRetry(owner, "omar", testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("the owner's first login: want 303, got %d", r.status)
			}
			if cookieOf(owner, deviceCookieName) == "" {
				t.Fatalf("a successful login gave the browser no %s cookie", deviceCookieName)
			}

			for i := range limit {
				wantGenericFailure(t, loginRetry(newClient(t), fmt.Sprintf("nobody%d", i), "wrong password here"), fmt.Sprintf("a stranger's failure %d of %d", i+1, limit))
			}
			wantClientRefused(t, loginRetry(newClient(t), "omar", testPassword), "the right password from a fresh browser on the blocked address")
			if r := loginRetry(owner, "omar", testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("the owner's known browser on the blocked address: want 303, got %d %q", r.status, errorText(r.body))
			}
			wantGranted(t, owner.get("/members/x"), "the owner's session made on the blocked address")
			// Its own mistakes are answered as mistakes, not as the address's block.
			wantGenericFailure(t, loginRetry(owner, "omar", "mistyped password"), "a wrong password from the known browser on the blocked address")
		})
	}
}

// TestLogoutIsNeverRefused: whatever the address's failures, logging out
// a live session ends it: nobody on a shared network can keep someone
// else logged in by using up the address's limit. Only a logout that ends
// nothing (a dead cookie sent again) is refused past the limit.
func TestLogoutIsNeverRefused(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			const limit = 3
			site(t, "session_auth /members/*", fmt.Sprintf("ip_limit %d 15m\n\t\t%s", limit, lines))
			createAccounts(t, store, "lena")
			c := newClient(t)
			if r := loginRetry(c, "lena", testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("login: want 303, got %d", r.status)
			}
			copied := withCookie(t, c.cookie())

			for i := range limit {
				wantGenericFailure(t, loginRetry(newClient(t), fmt.Sprintf("nobody%d", i), "wrong password here"), fmt.Sprintf("a stranger's failure %d of %d", i+1, limit))
			}
			wantClientRefused(t, loginRetry(newClient(t), "nobody-more", "wrong password here"), "a failure past the limit")

			r := c.logout()
			if r.status != http.StatusSeeOther || r.header.Get("Location") != "/auth/login?logged_out=1" {
				t.Fatalf("logging out a live session on the blocked address: want 303 to /auth/login?logged_out=1, got %d %q", r.status, r.header.Get("Location"))
			}
			wantDenied(t, copied.get("/members/x"), "a copy of the session's cookie after its logout")
			wantClientRefused(t, copied.logout(), "a dead session's logout on the blocked address")
		})
	}
}
