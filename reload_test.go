package sessionauth

import (
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/users"
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

// TestSimultaneousRegistrationsOfOneNameMakeOneAccount: of registrations of
// one name sent together, exactly one creates the account and exactly one
// password works. A registration turned away as busy (503, on a loaded
// machine) is sent again, so the rule holds whatever the load.
func TestSimultaneousRegistrationsOfOneNameMakeOneAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\taccount_limit 100 15m\n\t\tip_limit 10000 15m\n\t\t"+b.lines(t))
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Spellings that normalise to the same account.
				name := []string{"Olga", "olga", "OLGA ", " olga"}[i%4]
				for range 100 {
					statuses[i] = newClient(t).register(name, testPassword+string(rune('a'+i)), "/").status
					if statuses[i] != http.StatusServiceUnavailable {
						return
					}
					time.Sleep(50 * time.Millisecond)
				}
			})
		}
		wg.Wait()
		created, taken := 0, 0
		for _, s := range statuses {
			switch s {
			case http.StatusSeeOther:
				created++
			case http.StatusConflict:
				taken++
			default:
				t.Errorf("unexpected status %d", s)
			}
		}
		if created != 1 || taken != n-1 {
			t.Fatalf("want 1 created and %d taken, got %d and %d", n-1, created, taken)
		}
		// Exactly one password works: the winner's.
		works := 0
		for i := range n {
			if newClient(t).login("olga", testPassword+string(rune('a'+i)), "/").status == http.StatusSeeOther {
				works++
			}
		}
		if works != 1 {
			t.Fatalf("%d passwords log in to the one account, want 1", works)
		}
	})
}

// TestEveryFailedLoginCostsOneBcryptAtTheConfiguredCost counts the bcrypt
// comparisons a login makes and the cost of the hash each uses: a wrong
// password, an unknown name, a name that is no valid username and a locked
// account all cost exactly one comparison at the configured cost, so their
// time does not tell them apart.
func TestEveryFailedLoginCostsOneBcryptAtTheConfiguredCost(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 11\n\t\taccount_limit 2 15m\n\t\t"+fileBackend().lines(t))
	newClient(t).register("pete", testPassword, "/")
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
