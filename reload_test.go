package sessionauth

import (
	"net/http"
	"sync"
	"testing"
	"time"
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

func TestSimultaneousRegistrationsOfOneNameMakeOneAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 10\n\t\taccount_limit 100 15m\n\t\t"+b.lines(t))
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				// Spellings that normalise to the same account.
				name := []string{"Olga", "olga", "OLGA ", " olga"}[i%4]
				statuses[i] = newClient(t).register(name, testPassword+string(rune('a'+i)), "/").status
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
			case http.StatusServiceUnavailable:
				// bcrypt admission may turn a few away on a small machine.
			default:
				t.Errorf("unexpected status %d", s)
			}
		}
		if created != 1 || taken < n/2 {
			t.Fatalf("want 1 created and the rest (at least %d) taken, got %d and %d", n/2, created, taken)
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

func TestUnknownUserCostsTheSameBcryptWorkAsAWrongPassword(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tbcrypt_cost 12\n\t\t"+fileBackend().lines(t))
	newClient(t).register("pete", testPassword, "/")
	// The slowest of a few tries: a lower bound that load cannot fake.
	slowest := func(user string) time.Duration {
		var worst time.Duration
		for range 3 {
			start := time.Now()
			if r := newClient(t).login(user, "wrong password!", "/"); r.status != http.StatusUnauthorized {
				t.Fatalf("login as %s: want 401, got %d", user, r.status)
			}
			worst = max(worst, time.Since(start))
		}
		return worst
	}
	known, unknown := slowest("pete"), slowest("nobody-here")
	// A bcrypt check at cost 12 takes a good part of a second here; a
	// missing check takes microseconds. Half is a wide, safe margin.
	if unknown < known/2 {
		t.Fatalf("an unknown user took %v, a wrong password %v: the time tells who exists", unknown, known)
	}
}
