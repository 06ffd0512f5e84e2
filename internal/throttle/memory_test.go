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
