package throttle

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// patience bounds how long these tests wait for something that should
// happen at once; it is only ever reached when the code is wrong.
const patience = 30 * time.Second

// enter runs a.Enter for client in the background; its outcome arrives on
// the channel.
func enter(ctx context.Context, a *Admission, client string) <-chan func() {
	done := make(chan func(), 1)
	go func() {
		release, ok := a.Enter(ctx, client)
		if !ok {
			release = nil
		}
		done <- release
	}()
	return done
}

// outcome waits for an Enter started by enter: its release, or nil when
// it was turned away.
func outcome(t *testing.T, what string, done <-chan func()) func() {
	t.Helper()
	select {
	case release := <-done:
		return release
	case <-time.After(patience):
		t.Fatalf("%s: Enter still waiting after %v", what, patience)
		return nil
	}
}

// waitQueued waits until n computations wait in a's queue.
func waitQueued(t *testing.T, a *Admission, n int) {
	t.Helper()
	deadline := time.Now().Add(patience)
	for a.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting; want %d", a.Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// The global bounds hold whoever asks: each computation below comes from a
// client of its own, so no client's share is what turns one away.

func TestAdmissionRunsUpToItsSlotsAtOnce(t *testing.T) {
	a := NewAdmission(2, 0, time.Hour)
	for _, client := range []string{"a", "b"} {
		if release := outcome(t, "a free slot", enter(context.Background(), a, client)); release == nil {
			t.Fatalf("client %s's computation was turned away with a slot free", client)
		}
	}
	if outcome(t, "no slot and no queue", enter(context.Background(), a, "c")) != nil {
		t.Fatal("a third computation ran with two slots and no queue")
	}
}

func TestAdmissionReleaseFreesTheSlot(t *testing.T) {
	a := NewAdmission(1, 0, time.Hour)
	release := outcome(t, "the free slot", enter(context.Background(), a, "a"))
	if release == nil {
		t.Fatal("the first computation was turned away")
	}
	if outcome(t, "the busy slot", enter(context.Background(), a, "b")) != nil {
		t.Fatal("a second computation ran while the slot was busy")
	}
	release()
	if outcome(t, "the released slot", enter(context.Background(), a, "b")) == nil {
		t.Fatal("the slot stayed busy after its release")
	}
}

// With the slot busy and the queue full, the next is turned away at once:
// with an hour's maxWait, waiting would show as the test's patience.
func TestAdmissionQueuesWhatItCanAndTurnsAwayTheRest(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	running := outcome(t, "the free slot", enter(context.Background(), a, "a"))
	if running == nil {
		t.Fatal("the first computation was turned away")
	}
	queued := enter(context.Background(), a, "b")
	waitQueued(t, a, 1)
	if outcome(t, "a full queue", enter(context.Background(), a, "c")) != nil {
		t.Fatal("a computation ran past a busy slot and a full queue")
	}
	select {
	case <-queued:
		t.Fatal("the queued computation left the queue while the slot was busy")
	default:
	}
	running()
	release := outcome(t, "the queued computation", queued)
	if release == nil {
		t.Fatal("the queued computation was turned away when the slot came free")
	}
	if a.Waiting() != 0 || a.Running() != 1 {
		t.Fatalf("%d waiting, %d running; want 0 and 1", a.Waiting(), a.Running())
	}
	release()
	if a.Running() != 0 {
		t.Fatalf("%d running after every release; want 0", a.Running())
	}
}

func TestAdmissionTurnsAwayAWaitLongerThanMaxWait(t *testing.T) {
	a := NewAdmission(1, 1, 50*time.Millisecond)
	hold := outcome(t, "the free slot", enter(context.Background(), a, "a"))
	defer hold()
	if outcome(t, "a wait past maxWait", enter(context.Background(), a, "b")) != nil {
		t.Fatal("a computation ran while the slot stayed busy")
	}
	if n := a.Waiting(); n != 0 {
		t.Fatalf("%d still waiting after the refusal; the place must be given back", n)
	}
}

func TestAdmissionGivesUpWhenTheRequestIsCancelled(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	hold := outcome(t, "the free slot", enter(context.Background(), a, "a"))
	defer hold()
	ctx, cancel := context.WithCancel(context.Background())
	waiting := enter(ctx, a, "b")
	waitQueued(t, a, 1)
	cancel()
	if outcome(t, "a cancelled wait", waiting) != nil {
		t.Fatal("a cancelled computation ran while the slot was busy")
	}
	if n := a.Waiting(); n != 0 {
		t.Fatalf("%d still waiting after the cancel; the place must be given back", n)
	}
}

// Rule 19: bcrypt admission is shared fairly per client. Slots are held
// by computations that have not called their release yet, so nothing
// here depends on how long anything takes.

// mustRun enters for client and fails unless the computation runs at once
// (with an hour's maxWait, a wait shows as the test's patience).
func mustRun(t *testing.T, a *Admission, client, what string) func() {
	t.Helper()
	release := outcome(t, what, enter(context.Background(), a, client))
	if release == nil {
		t.Fatalf("%s: client %s was turned away", what, client)
	}
	return release
}

// mustWait enters for client in the background and returns once the
// computation waits in the queue; it fails at once if it is answered
// instead. Its outcome comes on the channel returned.
func mustWait(t *testing.T, a *Admission, client, what string) <-chan func() {
	t.Helper()
	before := a.Waiting()
	done := enter(context.Background(), a, client)
	deadline := time.Now().Add(patience)
	for a.Waiting() == before {
		notYet(t, done, what)
		if time.Now().After(deadline) {
			t.Fatalf("%s: not waiting after %v", what, patience)
		}
		time.Sleep(time.Millisecond)
	}
	return done
}

// notYet fails if the computation whose outcome comes on done has one.
func notYet(t *testing.T, done <-chan func(), what string) {
	t.Helper()
	select {
	case release := <-done:
		if release != nil {
			t.Fatalf("%s ran", what)
		}
		t.Fatalf("%s was turned away; want it waiting", what)
	default:
	}
}

func TestAdmissionOneClientHoldsAtMostHalfTheSlots(t *testing.T) {
	a := NewAdmission(4, 8, time.Hour)
	for i := range 2 {
		defer mustRun(t, a, "hammer", fmt.Sprintf("the hammer's computation %d of its 2", i+1))()
	}
	third := mustWait(t, a, "hammer", "the hammer's third computation, with two of four slots free")
	// The slots the hammer may not take are everyone else's.
	other := mustRun(t, a, "other", "another client, beside the hammer's two")
	second := mustRun(t, a, "second", "a third client, in the last free slot")
	if a.Running() != 4 || a.Waiting() != 1 {
		t.Fatalf("%d running, %d waiting; want 4 and 1", a.Running(), a.Waiting())
	}
	// A slot freed by another client still goes to no client past its share.
	other()
	notYet(t, third, "the hammer's third computation, with a slot freed by another client")
	mustRun(t, a, "fourth", "a fourth client, in the freed slot")()
	second()
}

func TestAdmissionOneClientWaitsInAtMostItsShareOfTheQueue(t *testing.T) {
	a := NewAdmission(2, 8, time.Hour) // one running and two waiting per client
	defer mustRun(t, a, "hammer", "the hammer's first computation")()
	var queued []<-chan func()
	for i := range 2 {
		queued = append(queued, mustWait(t, a, "hammer", fmt.Sprintf("the hammer's queued computation %d of its 2", i+1)))
	}
	if outcome(t, "the hammer past its share of the queue", enter(context.Background(), a, "hammer")) != nil {
		t.Fatal("the hammer ran past its share of slots and queue")
	}
	// The others find the slot the hammer may not take, and places in the
	// queue, ahead of the hammer's: it is at its share of the slots.
	other := mustRun(t, a, "other", "another client in the slot the hammer may not take")
	third := mustWait(t, a, "third", "a third client while both slots are held")
	other()
	release := outcome(t, "the third client once the other's slot came free", third)
	if release == nil {
		t.Fatal("the third client was turned away when a slot came free")
	}
	defer release()
	for _, q := range queued {
		notYet(t, q, "the hammer's queued computation")
	}
}

// A freed slot goes to the longest waiting computation that may take it:
// past a waiting client that holds its share already.
func TestAdmissionAFreedSlotSkipsAClientAtItsShare(t *testing.T) {
	a := NewAdmission(2, 8, time.Hour)
	hammer := mustRun(t, a, "hammer", "the hammer's first computation")
	other := mustRun(t, a, "other", "another client's computation")
	hammerNext := mustWait(t, a, "hammer", "the hammer's second computation while both slots are held")
	late := mustWait(t, a, "late", "a late client's computation while both slots are held")
	other()
	release := outcome(t, "the client that came after the hammer's wait", late)
	if release == nil {
		t.Fatal("the late client was turned away with a slot freed")
	}
	notYet(t, hammerNext, "the hammer's second computation while it holds its one slot")
	hammer()
	if outcome(t, "the hammer's second computation once its first ended", hammerNext) == nil {
		t.Fatal("the hammer's queued computation was turned away when its own slot came free")
	}
	release()
}

// Waiting is counted once per computation, and what a client held is
// forgotten once it holds nothing: a million clients one after another
// cost no memory.
func TestAdmissionForgetsClientsThatHoldNothing(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	for i := range 100 {
		mustRun(t, a, fmt.Sprintf("client%d", i), "a client alone")()
	}
	hold := mustRun(t, a, "a", "the first computation")
	waiting := enter(context.Background(), a, "b")
	waitQueued(t, a, 1)
	if outcome(t, "a full queue", enter(context.Background(), a, "c")) != nil {
		t.Fatal("a computation ran past a busy slot and a full queue")
	}
	hold()
	outcome(t, "the waiting computation", waiting)()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.clients) != 0 || a.running != 0 || len(a.waiters) != 0 {
		t.Fatalf("after every release: %d clients remembered, %d running, %d waiting; want none", len(a.clients), a.running, len(a.waiters))
	}
}
