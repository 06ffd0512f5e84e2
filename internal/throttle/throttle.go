// Package throttle counts login events per key (an account, a client IP) and
// blocks a key that has too many, so password guessing against one account
// and floods from one client are stopped. The counters live in a backend:
// in Redis every Caddy instance shares them; in memory they serve one server.
//
// Every decision is made from the now passed in, never from the wall clock,
// so tests can move time and instances agree on what they stored. Times are
// kept to the millisecond.
package throttle

import (
	"context"
	"errors"
	"time"
)

// Rule limits events for one key: at most Limit events per Window.
// With Lockout > 0, reaching Limit locks the key for Lockout, and each
// further lock of the same key (while its record lives) doubles the time, up to MaxLockout.
// With Lockout == 0, the key is simply blocked until its window ends.
//
// A MaxLockout below Lockout means no doubling: every lock lasts Lockout.
// Limit must be at least 1, Window at least a millisecond, and Lockout 0 or at
// least a millisecond.
type Rule struct {
	Limit      int
	Window     time.Duration
	Lockout    time.Duration
	MaxLockout time.Duration
}

// Store keeps the counters. Implementations are safe for concurrent use, and
// a Hit is atomic: simultaneous hits on one key are each counted once, and
// only one of them can raise the lock level.
type Store interface {
	// Blocked tells until when key is blocked at now (zero Time: not blocked).
	Blocked(ctx context.Context, key string, now time.Time) (time.Time, error)
	// Hit records one event for key at now under rule and returns until when the key is
	// blocked after it (zero: not blocked). Fixed window: the window starts at the first
	// event after the previous window ended. The event that reaches Limit blocks:
	// with Limit 5, hits 1-4 return zero, hit 5 returns now+Lockout (or window end when Lockout==0).
	// While blocked, further hits do not extend or escalate the block; they return the same until.
	// After a lock ends, the count starts again from 0 but the lock level is remembered,
	// so the next lock lasts twice as long (capped by MaxLockout).
	Hit(ctx context.Context, key string, rule Rule, now time.Time) (time.Time, error)
	// Reset forgets key entirely (count and lock level), e.g. after a successful login.
	Reset(ctx context.Context, key string) error
	// ResetPrefix forgets every key that starts with prefix, as Reset
	// would each: an operator's unlock lifts an account's lock and those
	// of all its known browsers, whose keys share a prefix.
	ResetPrefix(ctx context.Context, prefix string) error
}

// params is a Rule in whole milliseconds, the unit both stores keep, so the
// Go and Lua versions of Hit compute with the same numbers.
type params struct {
	limit      int64
	window     int64
	lockout    int64
	maxLockout int64 // never below lockout
}

// params checks r and converts it. A bad rule is a configuration mistake,
// reported as an error rather than guessed at, since a wrong guess would
// either lock everyone out or throttle nothing.
func (r Rule) params() (params, error) {
	switch {
	case r.Limit < 1:
		return params{}, errors.New("throttle: invalid rule: limit must be at least 1")
	case r.Window < time.Millisecond:
		return params{}, errors.New("throttle: invalid rule: window must be at least 1ms")
	case r.Lockout < 0 || r.Lockout > 0 && r.Lockout < time.Millisecond:
		return params{}, errors.New("throttle: invalid rule: lockout must be 0 or at least 1ms")
	case r.MaxLockout < 0:
		return params{}, errors.New("throttle: invalid rule: max lockout must not be negative")
	}
	p := params{
		limit:      int64(r.Limit),
		window:     r.Window.Milliseconds(),
		lockout:    r.Lockout.Milliseconds(),
		maxLockout: max(r.MaxLockout.Milliseconds(), r.Lockout.Milliseconds()),
	}
	return p, nil
}

// ttl is how long a record must live after an event at now that left it
// blocked until until (0: not blocked): through its window or its lock,
// whichever ends later, and then MaxLockout more, so a key that comes back
// soon after a lock still finds its level and gets a longer one.
func (p params) ttl(now, until int64) int64 {
	return max(p.window, until-now) + p.maxLockout
}

// blockedAt is the answer to Blocked for a record blocked until until.
func blockedAt(until, now int64) time.Time {
	if until > now {
		return time.UnixMilli(until)
	}
	return time.Time{}
}

// fromMillis turns a stored time back into a Time; 0 is "not blocked".
func fromMillis(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
