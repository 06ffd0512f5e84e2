package session

import (
	"slices"
	"sync"
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
type memory struct {
	mu     sync.RWMutex
	values map[string]entry    // cookie value → entry
	ids    map[string][]string // session id → cookie values
	users  map[string][]string // username → cookie values
	gen    uint64              // moved by every drop and clear
}

type entry struct {
	id    string
	rec   Record
	user  any   // rec.User, boxed once, for Caddy's replacer
	until int64 // monotonic nanoseconds (see clock)
}

// memoryMax bounds the entries; past it, expired ones are swept, and if
// none are, nothing more is remembered until some expire.
const memoryMax = 100_000

func newMemory() *memory {
	return &memory{values: map[string]entry{}, ids: map[string][]string{}, users: map[string][]string{}}
}

// epoch and clock give monotonic time in nanoseconds, so that a wall clock
// set back cannot make an entry outlive MemoryBound.
var epoch = time.Now()

func clock() int64 { return int64(time.Since(epoch)) }

// get returns the entry for a cookie value if it is still fresh.
func (m *memory) get(value string) (entry, bool) {
	m.mu.RLock()
	e, ok := m.values[value]
	m.mu.RUnlock()
	if !ok || clock() >= e.until {
		return entry{}, false
	}
	return e, true
}

// generation is read before a store read begins, and handed to put.
func (m *memory) generation() uint64 {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.gen
}

// put remembers what a read that began at started (see clock) found,
// unless something was dropped since the read began (gen moved): that drop
// may have been this very session's end, and the read may predate it.
func (m *memory) put(value string, e entry, gen uint64, started int64) {
	e.until = started + int64(MemoryBound)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen {
		return
	}
	if len(m.values) >= memoryMax {
		m.sweep()
		if len(m.values) >= memoryMax {
			return
		}
	}
	if _, known := m.values[value]; !known {
		m.ids[e.id] = append(m.ids[e.id], value)
		m.users[e.rec.User] = append(m.users[e.rec.User], value)
	}
	m.values[value] = e
}

// update replaces the record of a session this Manager just wrote back,
// keeping each entry's deadline.
func (m *memory) update(id string, rec Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, value := range m.ids[id] {
		if e, ok := m.values[value]; ok {
			e.rec = rec
			m.values[value] = e
		}
	}
}

// dropSession forgets a session, and makes every read in flight unfit to keep.
func (m *memory) dropSession(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, value := range m.ids[id] {
		if e, ok := m.values[value]; ok {
			// The user's row goes too, or every logout would leave one
			// behind for good.
			m.unindexUser(e.rec.User, value)
			delete(m.values, value)
		}
	}
	delete(m.ids, id)
	m.gen++
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
		if e, ok := m.values[value]; ok {
			delete(m.ids, e.id)
			delete(m.values, value)
		}
	}
	delete(m.users, user)
	m.gen++
}

func (m *memory) clear() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.values)
	clear(m.ids)
	clear(m.users)
	m.gen++
}

// sweep drops expired entries and the index rows left without one.
func (m *memory) sweep() {
	now := clock()
	for value, e := range m.values {
		if now >= e.until {
			delete(m.values, value)
		}
	}
	for _, index := range []map[string][]string{m.ids, m.users} {
		for key, values := range index {
			kept := values[:0]
			for _, v := range values {
				if _, ok := m.values[v]; ok {
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
