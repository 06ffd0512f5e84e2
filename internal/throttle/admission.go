package throttle

import (
	"context"
	"runtime"
	"slices"
	"sync"
	"time"
)

// Admission bounds the one expensive thing the plugin does: a login flood
// is a flood of bcrypt. It lets a few computations run at a time and a few
// more wait a short while behind them; past that a login or registration
// is turned away at once with 503, so page serving keeps its CPU.
//
// It is fair per client (DESIGN rule 19): one client may hold at most half
// the slots (at least one) and a small share of the queue, so a client
// that hammers at full speed is turned away from its own excess while the
// others still find a slot free, or a place in the queue; a freed slot
// goes to the longest waiting computation whose client is under its share.
// With a single slot a client's share is all of it, and fairness is the
// queue's order alone: a hammering client waits its turn like the others.
type Admission struct {
	mu        sync.Mutex
	slots     int // computations that may run at once
	queue     int // computations that may wait at once
	perClient int // slots one client may hold
	perQueue  int // places in the queue one client may hold
	maxWait   time.Duration
	running   int
	waiters   []*waiter        // in order of arrival
	clients   map[string]*load // the clients that run or wait now, no others
}

// load is what one client holds.
type load struct{ running, waiting int }

// waiter is a computation in the queue; admitted is closed when it is
// given a slot.
type waiter struct {
	client   string
	admitted chan struct{}
}

// NewAdmission lets running computations run at once, waiting more wait,
// none for longer than maxWait. One client may run max(1, running/2) of
// them and have max(1, waiting/4) waiting.
func NewAdmission(running, waiting int, maxWait time.Duration) *Admission {
	return &Admission{
		slots:     running,
		queue:     waiting,
		perClient: max(1, running/2),
		perQueue:  max(1, waiting/4),
		maxWait:   maxWait,
		clients:   map[string]*load{},
	}
}

// NewBcryptAdmission is the process's bcrypt admission: as many running as
// cores, four per core waiting (about one second of work at the default
// cost), and no one waiting longer than two seconds.
func NewBcryptAdmission() *Admission {
	return NewAdmission(runtime.GOMAXPROCS(0), 4*runtime.GOMAXPROCS(0), 2*time.Second)
}

// Enter waits for a slot for a computation of client (a key that stands
// for one client, such as ClientKey of its IP); false means the server,
// or this client's share of it, is too busy, so answer 503 now. Call the
// returned release when the computation is done.
func (a *Admission) Enter(ctx context.Context, client string) (release func(), ok bool) {
	a.mu.Lock()
	c := a.clients[client]
	if c == nil {
		c = &load{}
		a.clients[client] = c
	}
	// A slot that is free while computations wait is one none of them may
	// take (see dispatch), so taking it jumps no queue.
	if a.running < a.slots && c.running < a.perClient {
		c.running++
		a.running++
		a.mu.Unlock()
		return a.releaser(client), true
	}
	if len(a.waiters) >= a.queue || c.waiting >= a.perQueue {
		a.forget(client, c)
		a.mu.Unlock()
		return nil, false // the queue, or the client's share of it, is full
	}
	w := &waiter{client: client, admitted: make(chan struct{})}
	a.waiters = append(a.waiters, w)
	c.waiting++
	a.mu.Unlock()

	timer := time.NewTimer(a.maxWait)
	defer timer.Stop()
	select {
	case <-w.admitted:
		return a.releaser(client), true
	case <-timer.C:
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.admitted:
		// Given a slot as the wait ended: the caller has given up, so the
		// slot goes to the next in line.
		a.leave(client)
		return nil, false
	default:
	}
	a.waiters = slices.DeleteFunc(a.waiters, func(x *waiter) bool { return x == w })
	c.waiting--
	a.forget(client, c)
	return nil, false
}

// releaser is the release of one slot of client's, which gives it to the
// next in line.
func (a *Admission) releaser(client string) func() {
	return func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		a.leave(client)
	}
}

// leave frees a slot of client's and hands out what is free; a.mu is held.
func (a *Admission) leave(client string) {
	c := a.clients[client]
	c.running--
	a.running--
	a.forget(client, c)
	a.dispatch()
}

// dispatch gives each free slot to the longest waiting computation whose
// client holds less than its share; a.mu is held.
func (a *Admission) dispatch() {
	for a.running < a.slots {
		i := slices.IndexFunc(a.waiters, func(w *waiter) bool { return a.clients[w.client].running < a.perClient })
		if i < 0 {
			return
		}
		w := a.waiters[i]
		a.waiters = slices.Delete(a.waiters, i, i+1)
		c := a.clients[w.client]
		c.waiting--
		c.running++
		a.running++
		close(w.admitted)
	}
}

// forget drops a client that holds nothing, so the map holds no more
// clients than there are slots and places in the queue; a.mu is held.
func (a *Admission) forget(client string, c *load) {
	if c.running == 0 && c.waiting == 0 {
		delete(a.clients, client)
	}
}

// Running is how many computations hold a slot now.
func (a *Admission) Running() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.running
}

// Waiting is how many wait for a slot now.
func (a *Admission) Waiting() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.waiters)
}
