package session

import (
	"net/http/httptest"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The file store's End removes the session's file before it has this
// process's memories forget the session: a read that begins after a
// memory's drop then finds no file, and one that began before cannot keep
// what it read (memory.put refuses it, the drop having moved the
// generation). The other order lets a read that begins between the drop
// and the removal find the file and remember it, and the session is then
// served from memory after End has returned.

// TestFilesEndRemovesTheFileBeforeItForgets holds End between two drops:
// a second Manager of the folder (another site block of the realm) has
// its memory locked by the test, so End, having dropped the first
// Manager's memory, waits there. A read by the first Manager then begins
// after its drop, and must not find the session, which must not be served
// once End returns. The hub walks memories in no set order, so rounds in
// which End reached the locked memory first prove nothing and are run
// again.
func TestFilesEndRemovesTheFileBeforeItForgets(t *testing.T) {
	dir := t.TempDir()
	store := NewFiles(filepath.Join(dir, "sessions"))
	accounts := users.NewFileStore(filepath.Join(dir, "users.json"))
	m := newManager(t, testConfig(newFakeClock()), store, accounts)
	other := newManager(t, testConfig(newFakeClock()), store, accounts)
	alice := createAccount(t, accounts, "alice")
	untilProved(t, "a read between End's drops", func() bool {
		c := login(t, m, alice, false, nil)
		remember(t, m, c, "alice")
		gen := m.mem.generation()
		other.mem.mu.Lock()
		ended := make(chan error, 1)
		go func() {
			ok, err := m.End(httptest.NewRecorder(), get(c))
			if err == nil && !ok {
				t.Error("End found no session to end")
			}
			ended <- err
		}()
		dropped := false
		for deadline := time.Now().Add(time.Second); !dropped && time.Now().Before(deadline); {
			dropped = m.mem.generation() != gen
			time.Sleep(time.Millisecond)
		}
		if dropped {
			// End is held after m's drop: a read that begins now.
			_, _ = m.Current(get(c))
		}
		other.mem.mu.Unlock()
		must(t, <-ended)
		wantNoSession(t, m, c, "after End returned")
		wantNoSession(t, other, c, "after End returned, on the other Manager")
		return dropped
	})
}

// TestFilesEndIsFinalForReadsRacingIt: however many reads of a session
// race its End, none is served from memory once End has returned. (A
// stress test of the same rule, by the review that found the wrong order:
// with it, a read was caught in a few rounds of every hundred.)
func TestFilesEndIsFinalForReadsRacingIt(t *testing.T) {
	dir := t.TempDir()
	store := NewFiles(filepath.Join(dir, "sessions"))
	accounts := users.NewFileStore(filepath.Join(dir, "users.json"))
	m := newManager(t, testConfig(newFakeClock()), store, accounts)
	alice := createAccount(t, accounts, "alice")
	const rounds = 200
	served := 0
	for range rounds {
		c := login(t, m, alice, false, nil)
		var stop atomic.Bool
		var wg sync.WaitGroup
		for range 6 {
			wg.Go(func() {
				for !stop.Load() {
					_, _ = m.Current(get(c))
				}
			})
		}
		wantUser(t, m, c, "alice")
		if ended, err := m.End(httptest.NewRecorder(), get(c)); !ended || err != nil {
			t.Fatalf("End = %v, %v; want true, nil", ended, err)
		}
		stop.Store(true)
		wg.Wait()
		if s, err := m.Current(get(c)); s.LoggedIn() || err != nil {
			served++
		}
	}
	if served > 0 {
		t.Fatalf("in %d of %d rounds, the session was served after End returned", served, rounds)
	}
}
