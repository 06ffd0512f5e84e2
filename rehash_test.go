package sessionauth

import (
	"net/http"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// TestLoginRehashesAtTheConfiguredCostAndKeepsSessions: after bcrypt_cost
// is raised, an account hashed at the old cost would answer faster than an
// unknown name (which pays the new cost) and so tell who exists; its next
// login hashes it again at the new cost. The password is the same, so the
// stamp stays and the user's other sessions live on.
func TestLoginRehashesAtTheConfiguredCostAndKeepsSessions(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\t"+lines)
			first := newClient(t)
			registerRetry(first, "kurt", testPassword)
			before := getAccount(t, store, "kurt")
			if cost, _ := bcrypt.Cost(before.Hash); cost != 10 {
				t.Fatalf("registered at cost %d, want 10", cost)
			}

			site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 11\n\t\t"+lines)
			wantGranted(t, first.get("/members/x"), "the first session after the reload")
			// The rehash needs a free bcrypt slot and is skipped when
			// there is none (on a loaded machine, as long as it stays
			// loaded), so log in again until it has happened.
			var second *client
			deadline := time.Now().Add(patience)
			for attempt := 1; ; attempt++ {
				second = newClient(t)
				if r := loginRetry(second, "kurt", testPassword); r.status != http.StatusSeeOther {
					t.Fatalf("login at the raised cost: want 303, got %d", r.status)
				}
				if cost, _ := bcrypt.Cost(getAccount(t, store, "kurt").Hash); cost == 11 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the stored hash is still at cost 10 after %d logins in %v under bcrypt_cost 11", attempt, patience)
				}
			}
			after := getAccount(t, store, "kurt")
			if !bcryptMatches(after.Hash, testPassword) {
				t.Fatal("the rehashed password does not verify")
			}
			if after.Stamp != before.Stamp {
				t.Fatalf("the rehash changed the stamp from %q to %q, which ends the user's sessions", before.Stamp, after.Stamp)
			}
			time.Sleep(session.MemoryBound + 100*time.Millisecond) // the next requests read the store
			wantGranted(t, first.get("/members/x"), "the session from before the rehash")
			wantGranted(t, second.get("/members/x"), "the session of the login that rehashed")
			if r := loginRetry(newClient(t), "kurt", testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("the password after the rehash: want 303, got %d", r.status)
			}
		})
	}
}

func bcryptMatches(hash []byte, password string) bool {
	return bcrypt.CompareHashAndPassword(hash, []byte(password)) == nil
}
