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

// counts fails unless running computations hold a slot and waiting wait.
// A release hands its slot on before it returns, so right after one the
// counts are already what they will stay.
func counts(t *testing.T, a *Admission, running, waiting int, when string) {
	t.Helper()
	if r, w := a.Running(), a.Waiting(); r != running || w != waiting {
		t.Fatalf("%s: %d running, %d waiting; want %d and %d", when, r, w, running, waiting)
	}
}

// holds fails unless client holds running slots and waits in waiting
// places: who a release gave its slot to, known as it returns.
func holds(t *testing.T, a *Admission, client string, running, waiting int, when string) {
	t.Helper()
	a.mu.Lock()
	var got load
	if c := a.clients[client]; c != nil {
		got = *c
	}
	a.mu.Unlock()
	if got.running != running || got.waiting != waiting {
		t.Fatalf("%s: client %s holds %d slots and %d places; want %d and %d", when, client, got.running, got.waiting, running, waiting)
	}
}

// drained fails unless a holds nothing and remembers no client.
func drained(t *testing.T, a *Admission) {
	t.Helper()
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(a.clients) != 0 || a.running != 0 || len(a.waiters) != 0 {
		t.Fatalf("after every release: %d clients remembered, %d running, %d waiting; want none", len(a.clients), a.running, len(a.waiters))
	}
}

// Fair is not a per-client rate limit: on an idle server one client (an
// office, a classroom, a site behind a CDN) gets every slot and the whole
// queue, and each slot freed goes on to its next computation at once.
func TestAdmissionAClientAloneUsesEverySlotAndTheWholeQueue(t *testing.T) {
	a := NewAdmission(2, 8, time.Hour) // a client's share: 1 slot, 2 places
	var running []func()
	for i := range 2 {
		running = append(running, mustRun(t, a, "office", fmt.Sprintf("login %d of 10 from one client on an idle server", i+1)))
	}
	var queued []<-chan func()
	for i := range 8 {
		queued = append(queued, mustWait(t, a, "office", fmt.Sprintf("login %d of 10 from one client on an idle server", i+3)))
	}
	counts(t, a, 2, 8, "10 logins from one client")
	if outcome(t, "an 11th login past every slot and the whole queue", enter(context.Background(), a, "office")) != nil {
		t.Fatal("an 11th computation ran past two busy slots and a full queue")
	}
	// Only the client at its share waits: each freed slot is still its.
	for i, q := range queued {
		running[0]()
		running = running[1:]
		counts(t, a, 2, 7-i, fmt.Sprintf("release %d, with only a client at its share waiting", i+1))
		release := outcome(t, fmt.Sprintf("queued login %d once a slot came free", i+1), q)
		if release == nil {
			t.Fatalf("queued login %d was turned away when a slot came free", i+1)
		}
		running = append(running, release)
	}
	for _, release := range running {
		release()
	}
	drained(t, a)
}

// Under contention a client holds at most its share of the slots: a slot
// it frees goes to another client that waits, until it holds its share;
// a slot another client frees goes to a third, not to it; and only when
// nobody under its share waits does a slot go back to it.
func TestAdmissionOneClientHoldsAtMostHalfTheSlotsWhileOthersWait(t *testing.T) {
	a := NewAdmission(4, 8, time.Hour) // a client's share: 2 slots
	var hammer []func()
	for i := range 4 {
		hammer = append(hammer, mustRun(t, a, "hammer", fmt.Sprintf("the hammer's computation %d of 4 on an idle server", i+1)))
	}
	next := mustWait(t, a, "hammer", "the hammer's fifth computation")
	other := mustWait(t, a, "other", "another client behind the hammer's fifth")
	second := mustWait(t, a, "second", "a third client behind the hammer's fifth")
	hammer[0]()
	holds(t, a, "hammer", 3, 1, "the hammer's first slot freed while others wait")
	otherRelease := outcome(t, "another client once the hammer freed a slot", other)
	if otherRelease == nil {
		t.Fatal("another client was turned away when the hammer freed a slot")
	}
	notYet(t, next, "the hammer's fifth computation, past its share, while others wait")
	hammer[1]()
	holds(t, a, "hammer", 2, 1, "the hammer's second slot freed while another waits")
	secondRelease := outcome(t, "a third client once the hammer freed a second slot", second)
	if secondRelease == nil {
		t.Fatal("a third client was turned away when the hammer freed a second slot")
	}
	notYet(t, next, "the hammer's fifth computation, at its share, while another waits")
	// The hammer holds its share now: a slot another client frees goes to
	// a fourth, come after the hammer's fifth.
	fourth := mustWait(t, a, "fourth", "a fourth client while every slot is held")
	otherRelease()
	holds(t, a, "hammer", 2, 1, "another client's slot freed while a fourth waits")
	fourthRelease := outcome(t, "a fourth client once another's slot came free", fourth)
	if fourthRelease == nil {
		t.Fatal("a fourth client was turned away when a slot came free")
	}
	notYet(t, next, "the hammer's fifth computation, at its share, when another client's slot came free")
	// Nobody under its share waits: the slot is the hammer's, not idle.
	secondRelease()
	counts(t, a, 4, 0, "a slot freed with only the hammer waiting")
	nextRelease := outcome(t, "the hammer's fifth computation with nobody else waiting", next)
	if nextRelease == nil {
		t.Fatal("the hammer's fifth computation was turned away with a slot free")
	}
	for _, release := range []func(){hammer[2], hammer[3], fourthRelease, nextRelease} {
		release()
	}
	drained(t, a)
}

// takesPlace enters for client while the queue is full and returns once
// it waits in the queue in the place of the computation whose outcome
// comes on evicted: that one must be turned away at once. It fails at
// once if client is turned away instead.
func takesPlace(t *testing.T, a *Admission, client string, evicted <-chan func(), what string) <-chan func() {
	t.Helper()
	done := enter(context.Background(), a, client)
	select {
	case release := <-evicted:
		if release != nil {
			t.Fatalf("%s: the computation it should have displaced ran", what)
		}
	case release := <-done:
		if release != nil {
			t.Fatalf("%s ran past busy slots", what)
		}
		t.Fatalf("%s was turned away from a full queue held by a client over its share", what)
	case <-time.After(patience):
		t.Fatalf("%s: no one answered after %v", what, patience)
	}
	notYet(t, done, what)
	return done
}

// Under contention a client keeps at most its share of a full queue: a
// client under its share takes the place of the newest waiter of the
// client most over its share, which is turned away at once; a client at
// its share is turned away.
func TestAdmissionAClientUnderItsShareTakesAPlaceInAFullQueue(t *testing.T) {
	a := NewAdmission(2, 8, time.Hour) // a client's share: 1 slot, 2 places
	hammer := []func(){mustRun(t, a, "hammer", "the hammer's first computation"), mustRun(t, a, "hammer", "the hammer's second computation")}
	var queued []<-chan func()
	for i := range 8 {
		queued = append(queued, mustWait(t, a, "hammer", fmt.Sprintf("the hammer's queued computation %d of 8", i+1)))
	}
	other := takesPlace(t, a, "other", queued[7], "another client at a queue full of the hammer's")
	counts(t, a, 2, 8, "another client in the hammer's newest place")
	if outcome(t, "the hammer again, at a full queue", enter(context.Background(), a, "hammer")) != nil {
		t.Fatal("the hammer ran past busy slots and a full queue")
	}
	counts(t, a, 2, 8, "the hammer turned away at a full queue")
	otherNext := takesPlace(t, a, "other", queued[6], "another client's second computation, under its share of two")
	if outcome(t, "another client's third computation, at its share of the queue", enter(context.Background(), a, "other")) != nil {
		t.Fatal("another client's third computation ran past busy slots and a full queue")
	}
	counts(t, a, 2, 8, "another client turned away at its share of the queue")
	for _, q := range queued[:6] {
		notYet(t, q, "the hammer's older queued computation")
	}
	// The other client waits behind six of the hammer's, and holds no slot:
	// the slot the hammer frees is the other's.
	hammer[0]()
	holds(t, a, "other", 1, 1, "the hammer's slot freed while another client waits")
	release := outcome(t, "another client once the hammer freed a slot", other)
	if release == nil {
		t.Fatal("another client was turned away when a slot came free")
	}
	hammer[1]()
	next := outcome(t, "the hammer's oldest queued computation", queued[0])
	if next == nil {
		t.Fatal("the hammer's oldest computation was turned away when its own slot came free")
	}
	counts(t, a, 2, 6, "the hammer's oldest computation in the hammer's freed slot")
	// The other's slot freed while both wait: the other is under its
	// share, the hammer at it.
	release()
	holds(t, a, "other", 1, 0, "another client's slot freed while it waits again")
	nextRelease := outcome(t, "another client's second computation, behind five of the hammer's", otherNext)
	if nextRelease == nil {
		t.Fatal("another client's second computation was turned away when a slot came free")
	}
	for _, q := range queued[1:6] {
		notYet(t, q, "the hammer's queued computation, at its share, while another client under its share waits")
	}
	next()
	nextRelease()
	for i, q := range queued[1:6] {
		r := outcome(t, fmt.Sprintf("the hammer's queued computation %d", i+2), q)
		if r == nil {
			t.Fatalf("the hammer's queued computation %d was turned away when a slot came free", i+2)
		}
		r()
	}
	drained(t, a)
}

// The place taken is the newest of the client most over its share, not
// the newest in the queue.
func TestAdmissionAFullQueueGivesUpAPlaceOfTheClientMostOverItsShare(t *testing.T) {
	a := NewAdmission(1, 8, time.Hour) // a client's share: 2 places
	hold := mustRun(t, a, "holder", "the one slot")
	var most, less []<-chan func()
	for i := range 5 {
		most = append(most, mustWait(t, a, "most", fmt.Sprintf("the first client's queued computation %d of 5", i+1)))
	}
	for i := range 3 {
		less = append(less, mustWait(t, a, "less", fmt.Sprintf("the second client's queued computation %d of 3", i+1)))
	}
	late := takesPlace(t, a, "late", most[4], "a third client at a full queue")
	for _, q := range append(most[:4], less...) {
		notYet(t, q, "a queued computation of another client")
	}
	later := takesPlace(t, a, "later", most[3], "a fourth client at a full queue")
	for _, q := range append(most[:3], less...) {
		notYet(t, q, "a queued computation of another client")
	}
	hold()
	for _, q := range append(append(most[:3], less...), late, later) {
		if r := outcome(t, "a queued computation as the slot came free", q); r != nil {
			r()
		} else {
			t.Fatal("a queued computation was turned away with the slot free")
		}
	}
	drained(t, a)
}

// A release called twice frees one slot: the second must not free the
// slot another computation holds by then.
func TestAdmissionASecondReleaseDoesNothing(t *testing.T) {
	a := NewAdmission(1, 1, time.Hour)
	first := mustRun(t, a, "a", "the first computation")
	queued := mustWait(t, a, "a", "the second computation")
	first()
	second := outcome(t, "the second computation once the first released", queued)
	if second == nil {
		t.Fatal("the second computation was turned away when the slot came free")
	}
	first()
	counts(t, a, 1, 0, "the first computation released twice")
	third := mustWait(t, a, "b", "another client's computation while the second holds the slot")
	second()
	second()
	counts(t, a, 1, 0, "the second computation released twice")
	outcome(t, "the third computation", third)()
	drained(t, a)
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
	drained(t, a)
}
