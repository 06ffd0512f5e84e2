package session

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// MemoryBound is the longest a Manager serves a session from memory: an
// entry lives until one MemoryBound after the read that filled it began.
// It is what makes a revocation final: a revoking call returns once every
// instance has dropped the session or this much time has passed, and a
// process that is told nothing (the CLI editing the file backend from
// outside) waits this long before it returns.
const MemoryBound = time.Second

// memory remembers sessions this Manager has just read, keyed by the exact
// cookie value that named them: a value seen before has had its signature
// checked, so a hit skips the signature and the store. A revocation drops
// every entry of a session or of a user at once.
//
// Reads take no lock (a sync.Map, whose keys here are written once and read
// many times); puts and drops, which are rare, take mu, so that a put can
// tell whether a drop happened while its read was under way.
type memory struct {
	values sync.Map // cookie value → *entry

	mu    sync.Mutex
	ids   map[string][]string // session id → cookie values
	users map[string][]string // username → cookie values
	count int                 // entries in values
	gen   atomic.Uint64       // moved by every drop and clear
}

type entry struct {
	name    string // the cookie's name: a value verified under one is not taken under another
	id      string
	rec     Record
	user    any // rec.User, boxed once, for Caddy's replacer
	factors any // rec.Factors, likewise
	roles   roles
	until   int64 // monotonic nanoseconds (see clock)
}

// memoryMax bounds the entries; past it, expired ones are swept, and if
// none are, nothing more is remembered until some expire.
const memoryMax = 100_000

func newMemory() *memory {
	return &memory{ids: map[string][]string{}, users: map[string][]string{}}
}

// epoch and clock give monotonic time in nanoseconds, so that a wall clock
// set back cannot make an entry outlive MemoryBound.
var epoch = time.Now()

func clock() int64 { return int64(time.Since(epoch)) }

// get returns the entry for a cookie value if it is still fresh at at
// (see clock).
func (m *memory) get(value string, at int64) (*entry, bool) {
	v, ok := m.values.Load(value)
	if !ok {
		return nil, false
	}
	e := v.(*entry)
	if at >= e.until {
		return nil, false
	}
	return e, true
}

// generation is read before a store read begins, and handed to put.
func (m *memory) generation() uint64 { return m.gen.Load() }

// put remembers what a read that began at started (see clock) found,
// unless something was dropped since the read began (gen moved): that drop
// may have been this very session's end, and the read may predate it.
func (m *memory) put(value string, e entry, gen uint64, started int64) {
	e.until = started + int64(MemoryBound)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen.Load() != gen {
		return
	}
	if _, known := m.values.Load(value); !known {
		if m.count >= memoryMax {
			m.sweep()
			if m.count >= memoryMax {
				return
			}
		}
		m.ids[e.id] = append(m.ids[e.id], value)
		m.users[e.rec.User] = append(m.users[e.rec.User], value)
		m.count++
	}
	m.values.Store(value, &e)
}

// dropSession forgets a session, and makes every read in flight unfit to keep.
func (m *memory) dropSession(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, value := range m.ids[id] {
		if v, ok := m.values.Load(value); ok {
			// The user's row goes too, or every logout would leave one
			// behind for good.
			m.unindexUser(v.(*entry).rec.User, value)
			m.forget(value)
		}
	}
	delete(m.ids, id)
	m.gen.Add(1)
}

// forget removes one value's entry; the caller holds mu.
func (m *memory) forget(value string) {
	if _, ok := m.values.LoadAndDelete(value); ok {
		m.count--
	}
}

func (m *memory) unindexUser(user, value string) {
	values := slices.DeleteFunc(m.users[user], func(v string) bool { return v == value })
	if len(values) == 0 {
		delete(m.users, user)
	} else {
		m.users[user] = values
	}
}

// dropUser forgets every session of user, and makes every read in flight
// unfit to keep.
func (m *memory) dropUser(user string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, value := range m.users[user] {
		if v, ok := m.values.Load(value); ok {
			delete(m.ids, v.(*entry).id)
			m.forget(value)
		}
	}
	delete(m.users, user)
	m.gen.Add(1)
}

func (m *memory) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.values.Clear()
	clear(m.ids)
	clear(m.users)
	m.count = 0
	m.gen.Add(1)
}

// sweep drops expired entries and the index rows left without one; the
// caller holds mu.
func (m *memory) sweep() {
	now := clock()
	m.values.Range(func(value, e any) bool {
		if now >= e.(*entry).until {
			m.forget(value.(string))
		}
		return true
	})
	for _, index := range []map[string][]string{m.ids, m.users} {
		for key, values := range index {
			kept := values[:0]
			for _, v := range values {
				if _, ok := m.values.Load(v); ok {
					kept = append(kept, v)
				}
			}
			if len(kept) == 0 {
				delete(index, key)
			} else {
				index[key] = kept
			}
		}
	}
}
