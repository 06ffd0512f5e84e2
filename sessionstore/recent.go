package sessionstore

import (
	"sync"
	"time"
)

// recent remembers sessions this instance has just read, keyed by the exact
// cookie value that named them: a value seen before has had its signature
// checked already, so a hit skips both the signature check and the store.
// Entries live for ttl; drop removes one at once. One session id has one
// cookie value (a login issues both), so an id names at most one entry.
type recent struct {
	ttl time.Duration

	mu      sync.RWMutex
	entries map[string]recentEntry // cookie value → entry
	ids     map[string]string      // session id → cookie value
	gen     uint64                 // bumped by every drop and clear
}

type recentEntry struct {
	id    string
	rec   Record
	check any   // what the store checks on a hit (a file's identity), or nil
	until int64 // unix nanoseconds, wall clock
}

// recentMax bounds the memory: past it, expired entries are swept, and if
// none are, nothing more is remembered until some expire.
const recentMax = 100_000

func newRecent(ttl time.Duration) *recent {
	return &recent{ttl: ttl, entries: make(map[string]recentEntry), ids: make(map[string]string)}
}

// get returns the fresh entry for a cookie value, and the generation to
// hand to put after reading the store on a miss.
func (m *recent) get(value string) (recentEntry, bool, uint64) {
	m.mu.RLock()
	e, ok := m.entries[value]
	gen := m.gen
	m.mu.RUnlock()
	if !ok || time.Now().UnixNano() > e.until {
		return recentEntry{}, false, gen
	}
	return e, true, gen
}

// put remembers what a read found, unless something was dropped since the
// read began (gen moved): that drop may have been this very session's
// logout, and the read may predate it.
func (m *recent) put(value string, e recentEntry, gen uint64) {
	e.until = time.Now().Add(m.ttl).UnixNano()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.gen != gen {
		return
	}
	if len(m.entries) >= recentMax {
		m.sweep()
		if len(m.entries) >= recentMax {
			return
		}
	}
	if old, ok := m.ids[e.id]; ok && old != value {
		delete(m.entries, old)
	}
	m.entries[value] = e
	m.ids[e.id] = value
}

// update replaces the record of a session this instance just wrote.
func (m *recent) update(id string, rec Record, check any) {
	m.mu.Lock()
	if value, ok := m.ids[id]; ok {
		e := m.entries[value]
		e.rec, e.check, e.until = rec, check, time.Now().Add(m.ttl).UnixNano()
		m.entries[value] = e
	}
	m.mu.Unlock()
}

// drop forgets a session, and makes every read in flight unfit to keep.
func (m *recent) drop(id string) {
	m.mu.Lock()
	if value, ok := m.ids[id]; ok {
		delete(m.entries, value)
		delete(m.ids, id)
	}
	m.gen++
	m.mu.Unlock()
}

func (m *recent) clear() {
	m.mu.Lock()
	clear(m.entries)
	clear(m.ids)
	m.gen++
	m.mu.Unlock()
}

func (m *recent) sweep() {
	now := time.Now().UnixNano()
	for value, e := range m.entries {
		if now > e.until {
			delete(m.entries, value)
			delete(m.ids, e.id)
		}
	}
}
