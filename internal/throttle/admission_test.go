package throttle

import (
	"context"
	"testing"
	"time"
)

// patience bounds how long these tests wait for something that should
// happen at once; it is only ever reached when the code is wrong.
const patience = 30 * time.Second

// enter runs a.Enter in the background; its outcome arrives on the channel.
func enter(ctx context.Context, a *Admission) <-chan func() {
	done := make(chan func(), 1)
	go func() {
		release, ok := a.Enter(ctx)
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
	for len(a.queue) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d waiting; want %d", len(a.queue), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestAdmissionRunsUpToItsSlotsAtOnce(t *testing.T) {
	a := NewAdmission(2, 0, time.Hour)
	for i := range 2 {
		if release := outcome(t, "a free slot", enter(context.Background(), a)); release == nil {
			t.Fatalf("computation %d of 2 was turned away", i+1)
		}
	}
	if outcome(t, "no slot and no queue", enter(context.Background(), a)) != nil {
		t.Fatal("a third computation ran with two slots and no queue")
	}
}

func TestAdmissionReleaseFreesTheSlot(t *testing.T) {
	a := NewAdmission(1, 0, time.Hour)
	release := outcome(t, "the free slot", enter(context.Background(), a))
	if release == nil {
		t.Fatal("the first computation was turned away")
	}
	if outcome(t, "the busy slot", enter(context.Background(), a)) != nil {
		t.Fatal("a second computation ran while the slot was busy")
	}
	release()
	if outcome(t, "the released slot", enter(context.Background(), a)) == nil {
		t.Fatal("the slot stayed busy after its release")
	}
}

// With the slot busy and the queue full, the next is turned away at once:
// with an hour's maxWait, waiting would show as the test's patience.
func TestAdmissionQueuesWhatItCanAndTurnsAwayTheRest(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	running := outcome(t, "the free slot", enter(context.Background(), a))
	if running == nil {
		t.Fatal("the first computation was turned away")
	}
	queued := enter(context.Background(), a)
	waitQueued(t, a, 1)
	if outcome(t, "a full queue", enter(context.Background(), a)) != nil {
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
	if len(a.queue) != 0 || len(a.slots) != 1 {
		t.Fatalf("%d waiting, %d running; want 0 and 1", len(a.queue), len(a.slots))
	}
	release()
	if len(a.slots) != 0 {
		t.Fatalf("%d running after every release; want 0", len(a.slots))
	}
}

func TestAdmissionTurnsAwayAWaitLongerThanMaxWait(t *testing.T) {
	a := NewAdmission(1, 1, 50*time.Millisecond)
	hold := outcome(t, "the free slot", enter(context.Background(), a))
	defer hold()
	if outcome(t, "a wait past maxWait", enter(context.Background(), a)) != nil {
		t.Fatal("a computation ran while the slot stayed busy")
	}
	if n := len(a.queue); n != 0 {
		t.Fatalf("%d still waiting after the refusal; the place must be given back", n)
	}
}

func TestAdmissionGivesUpWhenTheRequestIsCancelled(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	hold := outcome(t, "the free slot", enter(context.Background(), a))
	defer hold()
	ctx, cancel := context.WithCancel(context.Background())
	waiting := enter(ctx, a)
	waitQueued(t, a, 1)
	cancel()
	if outcome(t, "a cancelled wait", waiting) != nil {
		t.Fatal("a cancelled computation ran while the slot was busy")
	}
	if n := len(a.queue); n != 0 {
		t.Fatalf("%d still waiting after the cancel; the place must be given back", n)
	}
}
