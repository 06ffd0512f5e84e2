package sessionstore

import (
	"sync"
	"time"
)

// recent remembers sessions this instance has just read, keyed by the exact
// cookie value that named them (with a prefix naming the store that read
// it): a value seen before has had its signature checked already, so a hit
// skips both the signature check and the store. Entries live for ttl; drop
// removes every entry of a session at once.
type recent struct {
	ttl time.Duration

	mu      sync.RWMutex
	entries map[string]recentEntry // cookie value → entry
	ids     map[string][]string    // session id → its entries' keys
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
	return &recent{ttl: ttl, entries: make(map[string]recentEntry), ids: make(map[string][]string)}
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
	if _, known := m.entries[value]; !known {
		m.ids[e.id] = append(m.ids[e.id], value)
	}
	m.entries[value] = e
}

// update replaces the record of a session this instance just wrote.
func (m *recent) update(id string, rec Record, check any) {
	m.mu.Lock()
	for _, value := range m.ids[id] {
		if e, ok := m.entries[value]; ok {
			e.rec, e.check, e.until = rec, check, time.Now().Add(m.ttl).UnixNano()
			m.entries[value] = e
		}
	}
	m.mu.Unlock()
}

// drop forgets a session, and makes every read in flight unfit to keep.
func (m *recent) drop(id string) {
	m.mu.Lock()
	for _, value := range m.ids[id] {
		delete(m.entries, value)
	}
	delete(m.ids, id)
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
		}
	}
	for id, values := range m.ids {
		kept := values[:0]
		for _, v := range values {
			if _, ok := m.entries[v]; ok {
				kept = append(kept, v)
			}
		}
		if len(kept) == 0 {
			delete(m.ids, id)
		} else {
			m.ids[id] = kept
		}
	}
}
