package sessionstore

import (
	"context"
	"net"
	"sync/atomic"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Cache keeps records read from Redis in memory for a short while, so most
// protected requests cost no round trip. Revocation stays immediate: every
// delete of a session publishes its id on a channel, every instance's
// Cache listens there and drops it, and the Cache is trusted only while
// that subscription is provably alive (a PING answered within the last
// moment). When the subscription breaks (Redis down, network cut), the
// Cache empties and every request goes to Redis again, which then fails
// closed with 503.
type Cache struct {
	dial    Dialer
	channel string
	mem     *recent

	alive     atomic.Bool
	lastHeard atomic.Int64                // unix nanoseconds of the last message or pong
	conn      atomic.Pointer[watchedConn] // the live subscription's connection
	stop      chan struct{}
	done      chan struct{}
}

const (
	// pingEvery and trustFor bound how long a silent failure of Redis can
	// go unnoticed: a cache not heard from within trustFor is not used.
	pingEvery = 200 * time.Millisecond
	trustFor  = 750 * time.Millisecond
)

// Dialer opens a new connection to Redis with extra options; the cache
// passes one that lets it watch the subscription's socket.
type Dialer func(ctx context.Context, options ...redis.DialOption) (redis.Conn, error)

// NewCache starts listening on channel; Close stops it.
func NewCache(dial Dialer, channel string, ttl time.Duration) *Cache {
	c := &Cache{
		dial:    dial,
		channel: channel,
		mem:     newRecent(ttl),
		stop:    make(chan struct{}),
		done:    make(chan struct{}),
	}
	go c.listen()
	return c
}

// Close stops the subscription; the cache is empty and unused after it.
func (c *Cache) Close() {
	close(c.stop)
	<-c.done
}

// trusted tells whether cached records may be served right now: the
// subscription is up, was heard from a moment ago, and every revocation it
// has received has been applied.
func (c *Cache) trusted() bool {
	if !c.alive.Load() || time.Now().UnixNano()-c.lastHeard.Load() >= int64(trustFor) {
		return false
	}
	conn := c.conn.Load()
	return conn != nil && conn.drained()
}

// get returns the session a cookie value named when last read, if that
// was a moment ago and the cache may be trusted now; and the generation to
// hand to put after a read.
func (c *Cache) get(value string) (recentEntry, bool, uint64) {
	if c == nil {
		return recentEntry{}, false, 0
	}
	e, ok, gen := c.mem.get(value)
	if !ok || !c.trusted() {
		return recentEntry{}, false, gen
	}
	return e, true, gen
}

// put remembers a session read from Redis (see recent.put).
func (c *Cache) put(value, id string, rec Record, gen uint64) {
	if c != nil && c.trusted() {
		c.mem.put(value, recentEntry{id: id, rec: rec}, gen)
	}
}

// update replaces a record this instance itself just wrote to Redis.
func (c *Cache) update(id string, rec Record) {
	if c != nil {
		c.mem.update(id, rec, nil)
	}
}

// drop forgets a session at once.
func (c *Cache) drop(id string) {
	if c != nil {
		c.mem.drop(id)
	}
}

func (c *Cache) clear() { c.mem.clear() }

// listen keeps a subscription to the revocation channel, reconnecting
// after a failure; while it is down the cache is empty and untrusted.
func (c *Cache) listen() {
	defer close(c.done)
	backoff := 50 * time.Millisecond
	for {
		c.subscribe()
		c.alive.Store(false)
		c.clear()
		select {
		case <-c.stop:
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, time.Second)
	}
}

func (c *Cache) subscribe() {
	var watched *watchedConn
	netDial := func(ctx context.Context, network, addr string) (net.Conn, error) {
		var d net.Dialer
		nc, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		watched = &watchedConn{Conn: nc}
		return watched, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	conn, err := c.dial(ctx, redis.DialContextFunc(netDial))
	cancel()
	if err != nil || watched == nil {
		if conn != nil {
			conn.Close()
		}
		return
	}
	psc := redis.PubSubConn{Conn: conn}
	defer func() {
		c.conn.Store(nil)
		psc.Close()
	}()
	c.conn.Store(watched)
	if err := psc.Subscribe(c.channel); err != nil {
		return
	}
	quit := make(chan struct{})
	defer close(quit)
	go func() { // the heartbeat; a failed write ends the receive loop too
		t := time.NewTicker(pingEvery)
		defer t.Stop()
		for {
			select {
			case <-quit:
				return
			case <-c.stop:
				psc.Close()
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
		switch v := psc.ReceiveWithTimeout(2 * trustFor).(type) {
		case redis.Message:
			c.drop(string(v.Data))
			c.lastHeard.Store(time.Now().UnixNano())
		case redis.Subscription:
			if v.Kind == "subscribe" && v.Count > 0 {
				// Anything published before now was missed: start empty.
				c.clear()
				c.lastHeard.Store(time.Now().UnixNano())
				c.alive.Store(true)
			}
		case redis.Pong:
			c.lastHeard.Store(time.Now().UnixNano())
		case error:
			return
		}
	}
}
