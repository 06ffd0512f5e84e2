package throttle

import (
	"context"
	"runtime"
	"time"
)

// Admission bounds the one expensive thing the plugin does: a login flood
// is a flood of bcrypt. It lets a few computations run at a time and a few
// more wait a short while behind them; past that a login or registration
// is turned away at once with 503, so page serving keeps its CPU.
type Admission struct {
	slots   chan struct{} // a token per running computation
	queue   chan struct{} // a token per waiting computation
	maxWait time.Duration
}

// NewAdmission lets running computations run at once, waiting more wait,
// none for longer than maxWait.
func NewAdmission(running, waiting int, maxWait time.Duration) *Admission {
	return &Admission{
		slots:   make(chan struct{}, running),
		queue:   make(chan struct{}, waiting),
		maxWait: maxWait,
	}
}

// NewBcryptAdmission is the process's bcrypt admission: as many running as
// cores, four per core waiting (about one second of work at the default
// cost), and no one waiting longer than two seconds.
func NewBcryptAdmission() *Admission {
	return NewAdmission(runtime.GOMAXPROCS(0), 4*runtime.GOMAXPROCS(0), 2*time.Second)
}

// Enter waits for a slot; false means the server is too busy, so answer
// 503 now. Call the returned release when the computation is done.
func (a *Admission) Enter(ctx context.Context) (release func(), ok bool) {
	select {
	case a.slots <- struct{}{}:
		return a.leave, true
	default:
	}
	select {
	case a.queue <- struct{}{}:
	default:
		return nil, false // the queue is full
	}
	defer func() { <-a.queue }()
	timer := time.NewTimer(a.maxWait)
	defer timer.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.leave, true
	case <-timer.C:
		return nil, false
	case <-ctx.Done():
		return nil, false
	}
}

func (a *Admission) leave() { <-a.slots }

// Running is how many computations hold a slot now.
func (a *Admission) Running() int { return len(a.slots) }

// Waiting is how many wait for a slot now.
func (a *Admission) Waiting() int { return len(a.queue) }
