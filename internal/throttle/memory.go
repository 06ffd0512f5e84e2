package throttle

import (
	"container/heap"
	"context"
	"strings"
	"sync"
	"time"
)

// defaultMaxKeys bounds a MemoryStore. A record costs about 100 bytes plus
// its key, so the cap holds memory near 10-20 MB whatever clients send.
const defaultMaxKeys = 100_000

// MemoryStore keeps the counters in this process, for the file backend
// (one server). It forgets them on restart, which costs an attacker's victim
// nothing but gives the attacker a fresh count; Redis is the backend for
// counters that must outlive a restart or be shared.
//
// Memory stays bounded two ways. Each record carries the expiry Redis would
// give it, and records sit in heaps by expiry, so every Hit drops the expired
// ones in O(log n) each: no periodic scan, no goroutine to stop. And past
// maxKeys live records (a flood of distinct usernames or IPs within one
// record's life), a new key evicts a record: a plain counter if there is
// one, the one nearest its expiry; a lock, or a lock level kept after the
// lock, only when nothing else is left. So a flood of distinct names
// costs other keys their counts, not a victim's lock and its doubling.
// The cap is a memory guard, not a rule: refusing new keys instead would
// lock everyone out. Once it is all locks, a new key's count lasts only
// until the next new key; that takes maxKeys locks alive at once, which
// the per-IP rule makes a distributed attack.
type MemoryStore struct {
	mu      sync.Mutex
	records map[string]*memRecord
	plain   expiryHeap // records that hold no lock and no lock level
	locked  expiryHeap // the others, evicted only when plain is empty
	maxKeys int
}

// NewMemoryStore returns an empty store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{records: map[string]*memRecord{}, maxKeys: defaultMaxKeys}
}

var _ Store = (*MemoryStore)(nil)

// record is one key's state, in unix milliseconds; the Lua script in
// redis.go keeps the same four fields with the same meaning.
type record struct {
	count int64 // events in the current window (or since the lock began)
	start int64 // when the current window began
	until int64 // blocked until; 0 when never blocked since the last reset
	level int64 // locks so far; the next one lasts Lockout·2^level
}

// hit applies one event at now and returns until (0: not blocked). The Lua
// script in redis.go is a line-by-line copy; keep them in step.
func (r *record) hit(now int64, p params) int64 {
	if r.until > now {
		// Counted for the record, but neither extends nor escalates the lock.
		r.count++
		return r.until
	}
	if r.until != 0 {
		// A block ended: count afresh from here, but keep the level.
		r.count, r.start, r.until = 0, 0, 0
	}
	if r.count == 0 || now >= r.start+p.window {
		r.count, r.start = 0, now
	}
	r.count++
	if r.count < p.limit {
		return 0
	}
	if p.lockout == 0 {
		r.until = r.start + p.window
		return r.until
	}
	r.level++
	d := p.lockout
	for i := int64(1); i < r.level && d < p.maxLockout; i++ {
		d *= 2
	}
	r.until = now + min(d, p.maxLockout)
	return r.until
}

// holdsLock tells whether eviction should spare r: it is blocked, or was
// (until stays set until the next hit after the block), or it remembers
// a lock level that doubles the next lock.
func (r *record) holdsLock() bool { return r.until != 0 || r.level != 0 }

// memRecord is a record with its place in the store.
type memRecord struct {
	record
	key    string
	expiry int64 // unix ms at which Redis would have deleted it
	locked bool  // in MemoryStore.locked, else in MemoryStore.plain
	index  int   // in that heap
}

// Blocked tells until when key is blocked at now.
func (s *MemoryStore) Blocked(_ context.Context, key string, now time.Time) (time.Time, error) {
	ms := now.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.records[key]
	if r == nil || r.expiry <= ms {
		return time.Time{}, nil
	}
	return blockedAt(r.until, ms), nil
}

// Hit records one event for key at now under rule; see Store.
func (s *MemoryStore) Hit(_ context.Context, key string, rule Rule, now time.Time) (time.Time, error) {
	p, err := rule.params()
	if err != nil {
		return time.Time{}, err
	}
	ms := now.UnixMilli()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dropExpired(ms)
	r := s.records[key]
	if r == nil {
		for len(s.records) >= s.maxKeys {
			s.evictOne()
		}
		r = &memRecord{key: key}
		s.records[key] = r
		heap.Push(&s.plain, r)
	}
	until := r.hit(ms, p)
	r.expiry = ms + p.ttl(ms, until)
	if r.holdsLock() != r.locked {
		heap.Remove(s.heapOf(r), r.index)
		r.locked = !r.locked
		heap.Push(s.heapOf(r), r)
	} else {
		heap.Fix(s.heapOf(r), r.index)
	}
	return fromMillis(until), nil
}

// Reset forgets key entirely.
func (s *MemoryStore) Reset(_ context.Context, key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r := s.records[key]; r != nil {
		s.remove(r)
	}
	return nil
}

// ResetPrefix forgets every key that starts with prefix. It walks every
// record: an operator's rare action, on a store bounded by maxKeys.
func (s *MemoryStore) ResetPrefix(_ context.Context, prefix string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, r := range s.records {
		if strings.HasPrefix(key, prefix) {
			s.remove(r)
		}
	}
	return nil
}

// dropExpired removes the records whose expiry has passed at now.
func (s *MemoryStore) dropExpired(now int64) {
	for _, h := range []*expiryHeap{&s.plain, &s.locked} {
		for len(*h) > 0 && (*h)[0].expiry <= now {
			s.remove((*h)[0])
		}
	}
}

// evictOne makes room for a new key: the plain counter nearest its
// expiry, or, when there is none, the lock nearest its expiry.
func (s *MemoryStore) evictOne() {
	if len(s.plain) > 0 {
		s.remove(s.plain[0])
		return
	}
	s.remove(s.locked[0])
}

func (s *MemoryStore) heapOf(r *memRecord) *expiryHeap {
	if r.locked {
		return &s.locked
	}
	return &s.plain
}

func (s *MemoryStore) remove(r *memRecord) {
	heap.Remove(s.heapOf(r), r.index)
	delete(s.records, r.key)
}

// len is the number of records held, for tests.
func (s *MemoryStore) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.records)
}

// expiryHeap orders records by expiry, soonest first (container/heap).
type expiryHeap []*memRecord

func (h expiryHeap) Len() int           { return len(h) }
func (h expiryHeap) Less(i, j int) bool { return h[i].expiry < h[j].expiry }
func (h expiryHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].index = i
	h[j].index = j
}

func (h *expiryHeap) Push(x any) {
	r := x.(*memRecord)
	r.index = len(*h)
	*h = append(*h, r)
}

func (h *expiryHeap) Pop() any {
	old := *h
	r := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	return r
}
