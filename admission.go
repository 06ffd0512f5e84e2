package sessionauth

import (
	"context"
	"runtime"
	"time"
)

// bcrypt is the one expensive thing the plugin does, and a login flood is a
// flood of bcrypt. Admission lets at most one bcrypt computation per core
// run at a time and a short queue wait behind them; past that a login or
// registration is turned away at once with 503, so page serving keeps its
// CPU. It is process-wide, like the cores it shares out.
type admission struct {
	slots   chan struct{} // a token per running computation
	queue   chan struct{} // a token per waiting computation
	maxWait time.Duration
}

func newAdmission(running, waiting int, maxWait time.Duration) *admission {
	return &admission{
		slots:   make(chan struct{}, running),
		queue:   make(chan struct{}, waiting),
		maxWait: maxWait,
	}
}

// bcryptAdmission: as many running as cores, four per core waiting (about
// one second of work at the default cost), and no one waits longer than
// two seconds.
var bcryptAdmission = newAdmission(runtime.GOMAXPROCS(0), 4*runtime.GOMAXPROCS(0), 2*time.Second)

// enter waits for a slot; false means the server is too busy, so answer
// 503 now. Call the returned release when the computation is done.
func (a *admission) enter(ctx context.Context) (release func(), ok bool) {
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

func (a *admission) leave() { <-a.slots }
