package session

import (
	"fmt"
	"testing"
	"time"
)

func memEntry(id, user string) entry {
	return entry{id: id, rec: Record{User: user}, user: user}
}

// fresh is a read start that keeps an entry fresh for the whole test,
// however slow the machine: for tests about something other than age.
func fresh() int64 { return clock() + int64(time.Hour) }

// TestMemoryRefusesAReadThatADropOvertook: a read that began before a drop
// may have read the session before it ended; what it found must not be
// remembered, whichever session or user the drop named.
func TestMemoryRefusesAReadThatADropOvertook(t *testing.T) {
	for _, tc := range []struct {
		name string
		drop func(m *memory)
	}{
		{"this session ended", func(m *memory) { m.dropSession("ID1") }},
		{"another session ended", func(m *memory) { m.dropSession("OTHER") }},
		{"this user's sessions ended", func(m *memory) { m.dropUser("alice") }},
		{"another user's sessions ended", func(m *memory) { m.dropUser("bob") }},
		{"everything forgotten", func(m *memory) { m.clear() }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMemory()
			gen := m.generation() // the read begins ...
			tc.drop(m)            // ... something ends meanwhile ...
			m.put("v1", memEntry("ID1", "alice"), gen, fresh())
			if _, ok := m.get("v1", clock()); ok {
				t.Fatal("a read that began before a drop was remembered")
			}
		})
	}
	m := newMemory()
	gen := m.generation()
	m.put("v1", memEntry("ID1", "alice"), gen, fresh())
	if e, ok := m.get("v1", clock()); !ok || e.id != "ID1" {
		t.Fatal("a read that nothing overtook was not remembered")
	}
}

// TestMemoryEntriesLiveMemoryBoundFromTheReadStart: the bound counts from
// the moment the read began, not from when it was put: a slow read must
// not stretch how long a revoked session can be served.
func TestMemoryEntriesLiveMemoryBoundFromTheReadStart(t *testing.T) {
	m := newMemory()
	m.put("slow", memEntry("ID1", "alice"), m.generation(), clock()-int64(MemoryBound))
	if _, ok := m.get("slow", clock()); ok {
		t.Fatal("an entry whose read began MemoryBound ago is served")
	}
	m.put("now", memEntry("ID2", "alice"), m.generation(), clock())
	if _, ok := m.get("now", clock()); !ok {
		t.Fatal("an entry just read is not served")
	}
	time.Sleep(MemoryBound + 50*time.Millisecond)
	if _, ok := m.get("now", clock()); ok {
		t.Fatal("an entry is served longer than MemoryBound after its read began")
	}
}

func TestMemoryDropSessionDropsEveryCookieValueOfIt(t *testing.T) {
	m := newMemory()
	// One session under two cookie values (signed with two keys).
	m.put("v1", memEntry("ID1", "alice"), m.generation(), fresh())
	m.put("v2", memEntry("ID1", "alice"), m.generation(), fresh())
	m.put("v3", memEntry("ID2", "alice"), m.generation(), fresh())
	m.dropSession("ID1")
	for _, v := range []string{"v1", "v2"} {
		if _, ok := m.get(v, clock()); ok {
			t.Errorf("%s of the ended session is still served", v)
		}
	}
	if _, ok := m.get("v3", clock()); !ok {
		t.Error("another session of the same user was dropped")
	}
}

func TestMemoryDropUserDropsAllOfThatUsersValues(t *testing.T) {
	m := newMemory()
	for i, e := range []entry{
		memEntry("A1", "alice"), memEntry("A1", "alice"), memEntry("A2", "alice"), memEntry("A3", "alice"),
		memEntry("B1", "bob"), memEntry("C1", "alice2"),
	} {
		m.put(fmt.Sprintf("v%d-%s", i, e.id), e, m.generation(), fresh())
	}
	m.dropUser("alice")
	m.values.Range(func(value, e any) bool {
		if e.(*entry).rec.User == "alice" {
			t.Errorf("%s of alice is still remembered", value)
		}
		return true
	})
	if m.count != 2 {
		t.Errorf("%d entries left; want bob's and alice2's", m.count)
	}
	for _, id := range []string{"A1", "A2", "A3"} {
		if _, ok := m.ids[id]; ok {
			t.Errorf("the index still names alice's session %s", id)
		}
	}
	if _, ok := m.users["alice"]; ok {
		t.Error("the index still names alice")
	}
	if _, ok := m.get("v4-B1", clock()); !ok {
		t.Error("bob's session was dropped with alice's")
	}
}

// TestMemoryIndexesNeverOutgrowEntries: logins and logouts for ever must
// not grow the indexes; every row names an entry that is still there.
func TestMemoryIndexesNeverOutgrowEntries(t *testing.T) {
	m := newMemory()
	for i := range 1000 {
		id := fmt.Sprintf("ID%d", i)
		m.put("v"+id, memEntry(id, "alice"), m.generation(), fresh())
		m.put("w"+id, memEntry(id, "alice"), m.generation(), fresh())
		m.dropSession(id)
	}
	m.put("kept", memEntry("K", "bob"), m.generation(), fresh())
	wantIndexesMatchEntries(t, m)
	if len(m.users) != 1 || len(m.ids) != 1 {
		t.Fatalf("after 1000 logouts the indexes hold %d users and %d ids; want only bob's one", len(m.users), len(m.ids))
	}
}

// wantIndexesMatchEntries checks that ids and users name exactly the
// remembered values.
func wantIndexesMatchEntries(t *testing.T, m *memory) {
	t.Helper()
	for name, index := range map[string]map[string][]string{"ids": m.ids, "users": m.users} {
		rows, stale := 0, 0
		for key, values := range index {
			for _, v := range values {
				rows++
				if e, ok := m.values.Load(v); !ok || key != e.(*entry).id && key != e.(*entry).rec.User {
					stale++
				}
			}
		}
		if stale > 0 || rows != m.count {
			t.Errorf("%s has %d rows (%d naming no entry of theirs) for %d entries", name, rows, stale, m.count)
		}
	}
}

// TestMemorySweepsAtMemoryMax: memory is bounded; when full, aged-out
// entries make room, and if none have aged out nothing more is remembered
// (a read still works, it is just not remembered).
func TestMemorySweepsAtMemoryMax(t *testing.T) {
	m := newMemory()
	old := clock() - int64(MemoryBound)
	for i := range memoryMax {
		id := fmt.Sprintf("OLD%d", i)
		m.put("v"+id, memEntry(id, fmt.Sprintf("user%d", i%100)), m.generation(), old)
	}
	if m.count != memoryMax {
		t.Fatalf("%d entries after filling; want memoryMax", m.count)
	}
	m.put("new", memEntry("NEW", "alice"), m.generation(), fresh())
	if _, ok := m.get("new", clock()); !ok {
		t.Fatal("a full memory of aged-out entries did not make room")
	}
	if m.count != 1 {
		t.Fatalf("%d entries after the sweep; want only the new one", m.count)
	}
	wantIndexesMatchEntries(t, m)

	for i := range memoryMax - 1 {
		id := fmt.Sprintf("FRESH%d", i)
		m.put("v"+id, memEntry(id, "bob"), m.generation(), fresh())
	}
	m.put("one too many", memEntry("X", "carol"), m.generation(), fresh())
	if _, ok := m.get("one too many", clock()); ok || m.count != memoryMax {
		t.Fatalf("a memory full of fresh entries took one more (%d entries)", m.count)
	}
}
