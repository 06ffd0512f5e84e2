package throttle

import (
	"fmt"
	"testing"
	"time"
)

func TestMemoryStoreForgetsExpiredRecords(t *testing.T) {
	s := NewMemoryStore()
	// Each record lives Window+MaxLockout = 1m; one new key a second keeps
	// about 60 alive, however many come in total.
	rule := Rule{Limit: 5, Window: 30 * time.Second, Lockout: 10 * time.Second, MaxLockout: 30 * time.Second}
	for i := range 10_000 {
		hit(t, s, fmt.Sprintf("ip:10.0.%d.%d", i/256, i%256), rule, at(time.Duration(i)*time.Second))
		if n := s.len(); n > 61 {
			t.Fatalf("after %d keys a second apart the store holds %d records; want at most 61", i+1, n)
		}
	}
}

func TestMemoryStoreExpiryKeepsTheLevelForMaxLockout(t *testing.T) {
	s := NewMemoryStore()
	// A lock at 0 keeps the record for max(Window, Lockout)+MaxLockout = 18m,
	// so a return just before then meets a doubled lock...
	lockKey(t, s, "alice", lock, at(0))
	life := lock.Window + lock.MaxLockout
	now := at(life - time.Millisecond)
	wantUntil(t, "second lock", lockKey(t, s, "alice", lock, now), now.Add(2*lock.Lockout))
	// ...and once it has expired, the key starts over at Lockout.
	later := now.Add(life)
	wantUntil(t, "lock after expiry", lockKey(t, s, "alice", lock, later), later.Add(lock.Lockout))
}

func TestMemoryStoreCapDropsNearestExpiryFirst(t *testing.T) {
	s := NewMemoryStore()
	s.maxKeys = 10
	long := Rule{Limit: 1, Window: time.Minute, Lockout: time.Hour, MaxLockout: time.Hour}
	short := Rule{Limit: 5, Window: time.Minute}
	wantUntil(t, "locking alice", hit(t, s, "alice", long, at(0)), at(time.Hour))
	// A flood of distinct keys, all alive at once, each living a minute.
	for i := range 1000 {
		hit(t, s, fmt.Sprintf("ip:10.0.%d.%d", i/256, i%256), short, at(time.Duration(i)*time.Millisecond))
		if n := s.len(); n > s.maxKeys {
			t.Fatalf("after %d keys the store holds %d records; cap %d", i+1, n, s.maxKeys)
		}
	}
	if s.len() != s.maxKeys {
		t.Fatalf("store holds %d records; want the cap, %d", s.len(), s.maxKeys)
	}
	wantUntil(t, "alice, whose record expires last", blocked(t, s, "alice", at(time.Second)), at(time.Hour))
	// The survivors are the newest flood keys; the oldest went first.
	if _, ok := s.records["ip:10.0.0.0"]; ok {
		t.Fatal("the oldest flood key survived the cap")
	}
	if _, ok := s.records["ip:10.0.3.231"]; !ok {
		t.Fatal("the newest flood key was dropped")
	}
}

func TestMemoryStoreForgetsExpiredLocks(t *testing.T) {
	s := NewMemoryStore()
	// Every hit locks; each record lives max(Window, Lockout)+MaxLockout = 1m.
	rule := Rule{Limit: 1, Window: 30 * time.Second, Lockout: 10 * time.Second, MaxLockout: 30 * time.Second}
	for i := range 10_000 {
		now := at(time.Duration(i) * time.Second)
		wantUntil(t, "hit", hit(t, s, fmt.Sprintf("user:%d", i), rule, now), now.Add(rule.Lockout))
		if n := s.len(); n > 61 {
			t.Fatalf("after %d locks a second apart the store holds %d records; want at most 61", i+1, n)
		}
	}
}

// A flood of distinct keys past the cap evicts plain counters, even ones
// that would live far longer, before it touches a lock or a lock level.
func TestMemoryStoreCapNeverEvictsALockBeforeACounter(t *testing.T) {
	short := Rule{Limit: 2, Window: time.Minute, Lockout: time.Minute, MaxLockout: 4 * time.Minute}
	flood := Rule{Limit: 100, Window: time.Hour} // each flood record lives an hour
	for _, tc := range []struct {
		name string
		// victim leaves alice holding a lock that expires long before the
		// flood's records, and returns the time the flood starts.
		victim func(t *testing.T, s *MemoryStore) time.Time
		// check runs once the flood is over and alice's record would still be alive.
		check func(t *testing.T, s *MemoryStore, now time.Time)
	}{
		{
			name: "locked now, and its level",
			victim: func(t *testing.T, s *MemoryStore) time.Time {
				wantUntil(t, "locking alice", lockKey(t, s, "alice", short, at(0)), at(time.Minute))
				return at(time.Second)
			},
			check: func(t *testing.T, s *MemoryStore, now time.Time) {
				wantUntil(t, "alice after the flood", blocked(t, s, "alice", now), at(time.Minute))
				// Her level survived too: the next lock is twice as long.
				wantUntil(t, "alice's next lock", lockKey(t, s, "alice", short, at(time.Minute)), at(3*time.Minute))
			},
		},
		{
			name: "a level kept after the lock ended",
			victim: func(t *testing.T, s *MemoryStore) time.Time {
				lockKey(t, s, "alice", short, at(0))
				// One more failure after the lock: the lock is gone, the level stays.
				wantUntil(t, "a failure after the lock", hit(t, s, "alice", short, at(time.Minute)), time.Time{})
				return at(time.Minute + time.Second)
			},
			check: func(t *testing.T, s *MemoryStore, now time.Time) {
				wantUntil(t, "alice's next lock", hit(t, s, "alice", short, now), now.Add(2*time.Minute))
			},
		},
		{
			name: "blocked to the end of its window, without a lockout",
			victim: func(t *testing.T, s *MemoryStore) time.Time {
				ip := Rule{Limit: 1, Window: time.Minute}
				wantUntil(t, "blocking the IP", hit(t, s, "ip:192.0.2.1", ip, at(0)), at(time.Minute))
				return at(time.Second)
			},
			check: func(t *testing.T, s *MemoryStore, now time.Time) {
				wantUntil(t, "the IP after the flood", blocked(t, s, "ip:192.0.2.1", now), at(time.Minute))
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := NewMemoryStore()
			s.maxKeys = 10
			start := tc.victim(t, s)
			for i := range 1000 {
				hit(t, s, fmt.Sprintf("user:flood%d", i), flood, start.Add(time.Duration(i)*time.Millisecond))
				if n := s.len(); n > s.maxKeys {
					t.Fatalf("after %d flood keys the store holds %d records; cap %d", i+1, n, s.maxKeys)
				}
			}
			if n := s.len(); n != s.maxKeys {
				t.Fatalf("store holds %d records; want the cap, %d", n, s.maxKeys)
			}
			tc.check(t, s, start.Add(2*time.Second))
		})
	}
}

func TestMemoryStoreCapHoldsWhenOnlyLocksAreLeft(t *testing.T) {
	s := NewMemoryStore()
	s.maxKeys = 10
	rule := Rule{Limit: 2, Window: time.Minute, Lockout: time.Hour, MaxLockout: time.Hour}
	for i := range 30 {
		now := at(time.Duration(i) * time.Second)
		wantUntil(t, fmt.Sprintf("locking user %d", i), lockKey(t, s, fmt.Sprintf("user:%d", i), rule, now), now.Add(time.Hour))
		if n := s.len(); n > s.maxKeys {
			t.Fatalf("after %d locks the store holds %d records; cap %d", i+1, n, s.maxKeys)
		}
	}
	if n := s.len(); n != s.maxKeys {
		t.Fatalf("store holds %d records; want the cap, %d", n, s.maxKeys)
	}
	// The locks nearest their expiry went; the last ten are kept.
	now := at(30 * time.Second)
	wantUntil(t, "the first lock", blocked(t, s, "user:0", now), time.Time{})
	wantUntil(t, "the eleventh-last lock", blocked(t, s, "user:19", now), time.Time{})
	wantUntil(t, "the tenth-last lock", blocked(t, s, "user:20", now), at(20*time.Second+time.Hour))
	wantUntil(t, "the last lock", blocked(t, s, "user:29", now), at(29*time.Second+time.Hour))
}

// A block without a lock level holds nothing once it has ended and the key
// is hit again: it is a plain counter, evicted before any lock.
func TestMemoryStoreEndedBlockIsAPlainCounterAgain(t *testing.T) {
	s := NewMemoryStore()
	s.maxKeys = 2
	ip := Rule{Limit: 2, Window: time.Minute}
	hit(t, s, "ip:192.0.2.1", ip, at(0))
	// Blocked to the window's end, 1m; the record lives to 1m30s.
	wantUntil(t, "the blocking hit", hit(t, s, "ip:192.0.2.1", ip, at(30*time.Second)), at(time.Minute))
	// A hit once the block is over, which does not block; the record lives to 2m.
	wantUntil(t, "a hit after the block", hit(t, s, "ip:192.0.2.1", ip, at(time.Minute)), time.Time{})
	// A lock whose record expires well before that (at 1m02s).
	brief := Rule{Limit: 1, Window: time.Second, Lockout: time.Second}
	wantUntil(t, "locking alice", hit(t, s, "alice", brief, at(time.Minute)), at(time.Minute+time.Second))
	// The store is full; a new key must take the counter's place, not the lock's.
	hit(t, s, "bob", ip, at(time.Minute))
	wantUntil(t, "alice", blocked(t, s, "alice", at(time.Minute)), at(time.Minute+time.Second))
	if _, ok := s.records["ip:192.0.2.1"]; ok {
		t.Fatal("the ended block was kept over the lock")
	}
}
