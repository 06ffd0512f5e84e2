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
// It is work-conserving and fair per client (DESIGN rule 19): a client may
// use any slot or place in the queue that nobody else wants, but a freed
// slot goes first to a client under its share of the slots (half of them),
// and a client under its share of a full queue (a quarter of it) takes the
// place of the newest waiter of the client most over its share, so one
// client hammering at full speed never keeps another out.
type Admission struct {
	mu        sync.Mutex
	slots     int // computations that may run at once
	queue     int // computations that may wait at once
	perClient int // slots one client holds while others wait: its share
	perQueue  int // places in a full queue one client keeps: its share
	maxWait   time.Duration
	running   int
	waiters   []*waiter        // in order of arrival
	clients   map[string]*load // the clients that run or wait now, no others
}

// load is what one client holds.
type load struct{ running, waiting int }

// waiter is a computation in the queue. answered is closed when it leaves
// the queue for a slot (admitted) or is turned away to make room for
// another client (not admitted).
type waiter struct {
	client   string
	admitted bool
	answered chan struct{}
}

// NewAdmission lets running computations run at once, waiting more wait,
// none for longer than maxWait. A client's share is max(1, running/2) of
// the slots and max(1, waiting/4) of the queue.
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
// for one client, such as ClientKey of its IP); false means the server is
// saturated and this client holds its share of the queue or more, so
// answer 503 now. Call the returned release when the computation is done;
// calling it again does nothing.
func (a *Admission) Enter(ctx context.Context, client string) (release func(), ok bool) {
	a.mu.Lock()
	c := a.clients[client]
	if c == nil {
		c = &load{}
		a.clients[client] = c
	}
	// dispatch leaves no slot free while anyone waits, so taking a free
	// slot jumps no queue.
	if a.running < a.slots {
		c.running++
		a.running++
		a.mu.Unlock()
		return a.releaser(client), true
	}
	if len(a.waiters) >= a.queue && (c.waiting >= a.perQueue || !a.evict()) {
		a.forget(client, c)
		a.mu.Unlock()
		return nil, false // a full queue, and this client has its share of it
	}
	w := &waiter{client: client, answered: make(chan struct{})}
	a.waiters = append(a.waiters, w)
	c.waiting++
	a.mu.Unlock()

	timer := time.NewTimer(a.maxWait)
	defer timer.Stop()
	select {
	case <-w.answered:
		if w.admitted {
			return a.releaser(client), true
		}
		return nil, false
	case <-timer.C:
	case <-ctx.Done():
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	select {
	case <-w.answered:
		if w.admitted {
			// Given a slot as the wait ended: the caller has given up, so
			// the slot goes to the next in line.
			a.leave(client)
		}
		return nil, false
	default:
	}
	a.waiters = slices.DeleteFunc(a.waiters, func(x *waiter) bool { return x == w })
	c.waiting--
	a.forget(client, c)
	return nil, false
}

// evict turns away the newest waiter of the client most over its share of
// the queue, to make room for a client under its share; false when no
// client is over its share. a.mu is held.
func (a *Admission) evict() bool {
	most := a.perQueue
	for _, c := range a.clients {
		most = max(most, c.waiting)
	}
	if most == a.perQueue {
		return false
	}
	for i := len(a.waiters) - 1; i >= 0; i-- {
		w := a.waiters[i]
		if c := a.clients[w.client]; c.waiting == most {
			a.waiters = slices.Delete(a.waiters, i, i+1)
			c.waiting--
			close(w.answered) // not admitted: the same quick 503 as a full queue
			return true
		}
	}
	return false
}

// releaser is the release of one slot of client's, which gives it to the
// next in line. Only its first call counts: a second would free a slot
// that another computation holds by then.
func (a *Admission) releaser(client string) func() {
	var once sync.Once
	return func() {
		once.Do(func() {
			a.mu.Lock()
			defer a.mu.Unlock()
			a.leave(client)
		})
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
// client holds less than its share, or, when every waiting client holds
// its share, to the longest waiting: a slot is never idle while anyone
// waits. a.mu is held.
func (a *Admission) dispatch() {
	for a.running < a.slots && len(a.waiters) > 0 {
		i := slices.IndexFunc(a.waiters, func(w *waiter) bool { return a.clients[w.client].running < a.perClient })
		if i < 0 {
			i = 0 // only clients at their share wait: one of them, not an idle slot
		}
		w := a.waiters[i]
		a.waiters = slices.Delete(a.waiters, i, i+1)
		c := a.clients[w.client]
		c.waiting--
		c.running++
		a.running++
		w.admitted = true
		close(w.answered)
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
