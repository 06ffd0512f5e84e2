package sessionauth

import (
	"net/http"
	"sync"
	"testing"
	"time"
)

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
				deadline := time.Now().Add(patience)
				for {
					statuses[i] = newClient(t).register(name, testPassword+string(rune('a'+i)), "/").status
					if statuses[i] != http.StatusServiceUnavailable || time.Now().After(deadline) {
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
