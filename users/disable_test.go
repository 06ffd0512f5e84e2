package users

import "testing"

// TestDisableRenewsTheStamp: a disable must end what it found for good,
// so that "enable" brings back no session, no login that was in flight
// and no reset link from before.
func TestDisableRenewsTheStamp(t *testing.T) {
	a := Account{Username: "alice", Stamp: "OLDSTAMP"}
	if err := Disable(&a); err != nil {
		t.Fatal(err)
	}
	if !a.Disabled || a.Stamp == "OLDSTAMP" || a.Stamp == "" || a.CanLogIn() {
		t.Fatalf("after Disable: %+v; want disabled, with a new stamp", a)
	}
}
