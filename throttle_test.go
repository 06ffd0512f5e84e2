package sessionauth

import (
	"net/http"
	"testing"
	"time"
)

// wantGenericFailure asserts the answer every failed login gets.
func wantGenericFailure(t *testing.T, r response, what string) {
	t.Helper()
	if r.status != http.StatusUnauthorized || errorText(r.body) != loginFailed {
		t.Fatalf("%s: want 401 %q, got %d %q", what, loginFailed, r.status, errorText(r.body))
	}
}

const lockoutOptions = "registration open\n\t\tbcrypt_cost 10\n\t\taccount_limit 3 15m\n\t\taccount_lockout 10m 30m\n\t\t"

func TestPasswordGuessingLocksTheAccountWithoutSayingSo(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("alice", testPassword, "/")
		attacker := newClient(t)
		for i := range 3 {
			wantGenericFailure(t, attacker.login("alice", "guess number "+string(rune('0'+i)), "/"), "a wrong guess")
		}
		// Locked: even the right password gets the very same failure.
		wantGenericFailure(t, newClient(t).login("alice", testPassword, "/"), "the right password on a locked account")
		advance(9 * time.Minute)
		wantGenericFailure(t, newClient(t).login("alice", testPassword, "/"), "still locked after 9 of 10 minutes")
		advance(2 * time.Minute)
		if r := newClient(t).login("alice", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("after the lock: want 303, got %d", r.status)
		}
		locks := 0
		for _, e := range auditEvents(t, logFile) {
			if e["event"] == "account_locked" && e["user"] == "alice" {
				locks++
			}
		}
		if locks != 1 {
			t.Fatalf("the lockout must be in the audit log once, with the username; found %d", locks)
		}
	})
}

func TestRepeatedLockoutsGrowLonger(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("bert", testPassword, "/")
		lock := func() {
			for range 3 {
				newClient(t).login("bert", "wrong password here", "/")
			}
		}
		lock()
		advance(11 * time.Minute) // the first lock was 10 minutes
		lock()
		advance(11 * time.Minute)
		wantGenericFailure(t, newClient(t).login("bert", testPassword, "/"), "second lock, 11 of 20 minutes")
		advance(10 * time.Minute)
		if r := newClient(t).login("bert", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("after the second, 20 minute lock: want 303, got %d", r.status)
		}
	})
}

func TestSuccessfulLoginResetsTheFailureCount(t *testing.T) {
	site(t, "session_auth /members/*", lockoutOptions+fileBackend().lines(t))
	newClient(t).register("cleo", testPassword, "/")
	for range 2 {
		newClient(t).login("cleo", "wrong password here", "/")
	}
	newClient(t).login("cleo", testPassword, "/")
	for range 2 {
		newClient(t).login("cleo", "wrong password here", "/")
	}
	if r := newClient(t).login("cleo", testPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("2 failures after a success must not lock: got %d", r.status)
	}
}

func TestUsernameSpellingsShareOneCounter(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", lockoutOptions+b.lines(t))
		newClient(t).register("dora", testPassword, "/")
		for _, spelling := range []string{"Dora", "DORA ", " dora"} {
			newClient(t).login(spelling, "wrong password here", "/")
		}
		wantGenericFailure(t, newClient(t).login("dora", testPassword, "/"), "locked through three spellings")
	})
}

func TestUnknownAccountsLockLikeRealOnes(t *testing.T) {
	site(t, "session_auth /members/*", lockoutOptions+fileBackend().lines(t))
	for range 3 {
		wantGenericFailure(t, newClient(t).login("ghost", "wrong password here", "/"), "unknown user")
	}
	wantGenericFailure(t, newClient(t).login("ghost", "wrong password here", "/"), "unknown user, locked")
}
