package session

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// Listener keeps one subscription to a realm's channel for this process
// and passes what it hears to every Manager of the realm here. Managers
// serve from memory only while it is subscribed: when the subscription
// breaks, every memory is emptied and stays unused until Redis has
// confirmed a new one, since announcements made in between were missed.
type Listener struct {
	hub
	dial    func(ctx context.Context) (redis.Conn, error)
	pool    *redis.Pool // for confirmations
	channel string

	alive atomic.Bool
	stop  chan struct{}
	done  chan struct{}

	// heard, when set, runs before an announcement is applied: tests use
	// it to hold an instance back and prove that publishers wait.
	heard atomic.Pointer[func(msg string)]
}

// pingEvery keeps the subscription's connection in use, so that a dead
// one is noticed and replaced; trust does not depend on it (entries age
// out after MemoryBound whatever the connection does).
const pingEvery = time.Second

// NewListener subscribes to channel on connections from dial, and
// confirms announcements through pool. Close stops it.
func NewListener(dial func(ctx context.Context) (redis.Conn, error), pool *redis.Pool, channel string) *Listener {
	l := &Listener{dial: dial, pool: pool, channel: channel, stop: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// setHeard installs a hook that runs before each announcement is applied;
// for tests.
func (l *Listener) setHeard(f func(msg string)) { l.heard.Store(&f) }

// subscribed tells whether memories may be served now.
func (l *Listener) subscribed() bool { return l.alive.Load() }

// Close ends the subscription; every memory is empty after it.
func (l *Listener) Close() {
	close(l.stop)
	<-l.done
}

func (l *Listener) run() {
	defer close(l.done)
	backoff := 50 * time.Millisecond
	for {
		l.subscribe()
		l.alive.Store(false)
		l.clear()
		select {
		case <-l.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (l *Listener) subscribe() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	conn, err := l.dial(ctx)
	cancel()
	if err != nil {
		return
	}
	psc := redis.PubSubConn{Conn: conn}
	defer psc.Close()
	if err := psc.Subscribe(l.channel); err != nil {
		return
	}
	quit := make(chan struct{})
	defer close(quit)
	go func() {
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-l.stop:
				psc.Close() // ends the receive loop below
				return
			case <-t.C:
				if psc.Ping("") != nil {
					psc.Close()
					return
				}
			}
		}
	}()
	for {
		switch v := psc.ReceiveWithTimeout(3 * pingEvery).(type) {
		case redis.Message:
			l.apply(string(v.Data))
		case redis.Subscription:
			if v.Kind == "subscribe" && v.Count > 0 {
				// Whatever was announced before now was missed: start empty.
				l.clear()
				l.alive.Store(true)
			}
		case error:
			return
		}
	}
}

// apply drops what an announcement names, then confirms it.
func (l *Listener) apply(msg string) {
	if heard := l.heard.Load(); heard != nil {
		(*heard)(msg)
	}
	kind, key, ack, ok := parseAnnouncement(msg)
	if !ok {
		return
	}
	switch kind {
	case "s":
		l.dropSession(key)
	case "u":
		l.dropUser(key)
	default:
		l.clear()
	}
	go l.confirm(ack)
}

func (l *Listener) confirm(ack string) {
	conn, err := redisutil.Conn(context.Background(), l.pool)
	if err != nil {
		return // the publisher waits out MemoryBound instead
	}
	defer conn.Close()
	_ = conn.Send("RPUSH", ack, 1)
	_ = conn.Send("PEXPIRE", ack, (10 * MemoryBound).Milliseconds())
	_ = conn.Flush()
	_, _ = conn.Receive()
	_, _ = conn.Receive()
}
