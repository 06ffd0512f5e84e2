package users

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// testServer is the private redis-server the Redis tests share; each test
// uses its own key prefix, so they cannot see each other's accounts.
var testServer *testredis.Server

func TestMain(m *testing.M) {
	if os.Getenv(helperFileEnv) != "" {
		os.Exit(m.Run()) // a helper process (TestHelperProcess) needs no Redis
	}
	testredis.Main(m, &testServer)
}

// testStore is the contract every Store keeps.
func testStore(t *testing.T, s Store) {
	ctx := context.Background()
	created := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

	if _, err := s.Get(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty store: %v, want ErrNotFound", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 0 {
		t.Fatalf("List on empty store = %v, %v", list, err)
	}

	alice := Account{Username: "alice", Hash: []byte("hash-alice-1"), Created: created}
	if err := s.Create(ctx, alice); err != nil {
		t.Fatalf("Create: %v", err)
	}
	got, err := s.Get(ctx, "alice")
	if err != nil || got.Username != "alice" || string(got.Hash) != "hash-alice-1" || !got.Created.Equal(created) {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, alice)
	}

	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("other")}); !errors.Is(err, ErrTaken) {
		t.Fatalf("second Create: %v, want ErrTaken", err)
	}
	if got, _ := s.Get(ctx, "alice"); string(got.Hash) != "hash-alice-1" {
		t.Fatalf("failed Create changed the hash to %q", got.Hash)
	}

	if err := s.Create(ctx, Account{Username: "Bob", Hash: []byte("h")}); err == nil {
		t.Error("Create accepted an unnormalised username")
	}
	if err := s.Create(ctx, Account{Username: "carol"}); err == nil {
		t.Error("Create accepted an empty hash")
	}

	if err := SetPassword(ctx, s, "alice", []byte("hash-alice-2")); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	got, err = s.Get(ctx, "alice")
	if err != nil || string(got.Hash) != "hash-alice-2" || !got.Created.Equal(created) {
		t.Fatalf("after SetPassword Get = %+v, %v", got, err)
	}

	for _, name := range []string{"zed", "bob", "a.b@example.com"} {
		if err := s.Create(ctx, Account{Username: name, Hash: []byte("h-" + name), Created: created}); err != nil {
			t.Fatalf("Create %s: %v", name, err)
		}
	}
	list, err := s.List(ctx)
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	var names []string
	for _, a := range list {
		names = append(names, a.Username)
	}
	if fmt.Sprint(names) != "[a.b@example.com alice bob zed]" {
		t.Fatalf("List names = %v, want sorted [a.b@example.com alice bob zed]", names)
	}
	if string(list[2].Hash) != "h-bob" {
		t.Errorf("List gave bob hash %q", list[2].Hash)
	}

	if err := s.Delete(ctx, "alice"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if err := s.Delete(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
	if list, err := s.List(ctx); err != nil || len(list) != 3 {
		t.Fatalf("List after Delete = %d accounts, %v; want 3", len(list), err)
	}
	// A deleted name can be registered again.
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("hash-alice-3")}); err != nil {
		t.Fatalf("Create after Delete: %v", err)
	}
	if got, err := s.Get(ctx, "alice"); err != nil || got.Created.IsZero() {
		t.Fatalf("Create did not fill in Created: %+v, %v", got, err)
	}

	t.Run("SimultaneousCreatesMakeOneAccount", func(t *testing.T) {
		testSimultaneousCreates(t, s)
	})
	t.Run("UpdateAppliesTheChangeAndKeepsTheRest", func(t *testing.T) {
		testUpdateKeepsOtherFields(t, s)
	})
	t.Run("UpdateOfMissingAccountIsNotFoundAndCreatesNothing", func(t *testing.T) {
		testUpdateOfMissing(t, s)
	})
	t.Run("RefusedChangeStoresNothing", func(t *testing.T) {
		testRefusedChangeStoresNothing(t, s)
	})
	t.Run("UpdateCannotRename", func(t *testing.T) {
		testUpdateCannotRename(t, s)
	})
	t.Run("SimultaneousUpdatesAllLand", func(t *testing.T) {
		testSimultaneousUpdates(t, s)
	})
	t.Run("SetPasswordChangesStamp", func(t *testing.T) {
		testSetPasswordChangesStamp(t, s)
	})
	t.Run("ChangePasswordNeedsTheStampItWasAskedWith", func(t *testing.T) {
		testChangePassword(t, s)
	})
	t.Run("RehashKeepsStampUnlessThePasswordChanged", func(t *testing.T) {
		testRehash(t, s)
	})
	t.Run("CreateGivesFreshStamps", func(t *testing.T) {
		testCreateGivesFreshStamps(t, s)
	})
}

// mustCreate creates an account with the given hash and creation time.
func mustCreate(t *testing.T, s Store, name, hash string, created time.Time) Account {
	t.Helper()
	if err := s.Create(context.Background(), Account{Username: name, Hash: []byte(hash), Created: created}); err != nil {
		t.Fatalf("Create %s: %v", name, err)
	}
	return mustGet(t, s, name)
}

func mustGet(t *testing.T, s Store, name string) Account {
	t.Helper()
	a, err := s.Get(context.Background(), name)
	if err != nil {
		t.Fatalf("Get %s: %v", name, err)
	}
	return a
}

func testUpdateKeepsOtherFields(t *testing.T, s Store) {
	ctx := context.Background()
	created := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	before := mustCreate(t, s, "upd", "hash-1", created)
	if err := s.Update(ctx, "upd", func(a *Account) error {
		if a.Username != "upd" || string(a.Hash) != "hash-1" || a.Stamp != before.Stamp || !a.Created.Equal(created) {
			t.Errorf("change was handed %+v; want the stored account %+v", a, before)
		}
		a.Hash = []byte("hash-2")
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	after := mustGet(t, s, "upd")
	if string(after.Hash) != "hash-2" {
		t.Errorf("Update did not store the change: hash %q", after.Hash)
	}
	if after.Stamp != before.Stamp || !after.Created.Equal(created) || after.Username != "upd" {
		t.Errorf("Update lost other fields: %+v, before %+v", after, before)
	}
}

func testUpdateOfMissing(t *testing.T, s Store) {
	ctx := context.Background()
	called := false
	err := s.Update(ctx, "ghost", func(a *Account) error {
		called = true
		a.Hash = []byte("h")
		return nil
	})
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of a missing account: %v; want ErrNotFound", err)
	}
	if called {
		t.Error("Update ran change on an account that does not exist")
	}
	if _, err := s.Get(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Update of a missing account created it: %v", err)
	}
	for _, update := range []func() error{
		func() error { return SetPassword(ctx, s, "ghost", []byte("h")) },
		func() error { return Rehash(ctx, s, "ghost", []byte("old"), []byte("h")) },
	} {
		if err := update(); !errors.Is(err, ErrNotFound) {
			t.Errorf("SetPassword/Rehash of a missing account: %v; want ErrNotFound", err)
		}
	}
	if _, err := s.Get(ctx, "ghost"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetPassword/Rehash of a missing account created it: %v", err)
	}
}

func testRefusedChangeStoresNothing(t *testing.T, s Store) {
	ctx := context.Background()
	before := mustCreate(t, s, "refused", "hash-1", time.Time{})
	refusal := errors.New("not today")
	err := s.Update(ctx, "refused", func(a *Account) error {
		a.Hash = []byte("half-made change")
		a.Stamp = "half-made stamp"
		return refusal
	})
	if !errors.Is(err, refusal) {
		t.Fatalf("Update with a refusing change: %v; want the change's error", err)
	}
	after := mustGet(t, s, "refused")
	if string(after.Hash) != "hash-1" || after.Stamp != before.Stamp {
		t.Fatalf("a refused change was stored: %+v, before %+v", after, before)
	}
}

func testUpdateCannotRename(t *testing.T, s Store) {
	ctx := context.Background()
	mustCreate(t, s, "named", "hash-1", time.Time{})
	if err := s.Update(ctx, "named", func(a *Account) error {
		a.Username = "mallory"
		a.Hash = []byte("hash-2")
		return nil
	}); err != nil {
		t.Fatalf("Update: %v", err)
	}
	if a := mustGet(t, s, "named"); a.Username != "named" || string(a.Hash) != "hash-2" {
		t.Errorf("account after a renaming change: %+v", a)
	}
	if _, err := s.Get(ctx, "mallory"); !errors.Is(err, ErrNotFound) {
		t.Errorf("a change of Username made an account under the new name: %v", err)
	}
}

// testSimultaneousUpdates races read-modify-write changes of one account:
// each appends a byte to the hash, so a lost update shows as a short hash.
// (n stays below the Redis store's retry bound: each failed try of one
// writer is another writer's success.)
func testSimultaneousUpdates(t *testing.T, s Store) {
	const n = 8
	ctx := context.Background()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	before := mustCreate(t, s, "changer", "h", created)
	start := make(chan struct{})
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Update(ctx, "changer", func(a *Account) error {
				a.Hash = append(a.Hash, byte('a'+i))
				return nil
			})
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("Update %d: %v", i, err)
		}
	}
	got := mustGet(t, s, "changer")
	if len(got.Hash) != 1+n {
		t.Fatalf("after %d simultaneous Updates the hash is %q: some were lost", n, got.Hash)
	}
	for i := range n {
		if !strings.ContainsRune(string(got.Hash[1:]), rune('a'+i)) {
			t.Errorf("Update %d is missing from %q", i, got.Hash)
		}
	}
	if !got.Created.Equal(created) || got.Stamp != before.Stamp {
		t.Errorf("simultaneous Updates lost other fields: %+v", got)
	}
}

// testChangePassword: a user's own change gives a new stamp, and lands only
// on the account as the user's session knew it: not after a reset, nor on
// a disabled or pending account.
func testChangePassword(t *testing.T, s Store) {
	ctx := context.Background()
	before := mustCreate(t, s, "chg", "hash-1", time.Now())
	changed, err := ChangePassword(ctx, s, "chg", before.Stamp, []byte("hash-2"))
	if err != nil {
		t.Fatal(err)
	}
	after := mustGet(t, s, "chg")
	if string(after.Hash) != "hash-2" || after.Stamp == before.Stamp || after.Stamp == "" || changed.Stamp != after.Stamp {
		t.Fatalf("after ChangePassword: hash %q, stamp %q (before %q, returned %q); want the new hash and a new stamp, returned", after.Hash, after.Stamp, before.Stamp, changed.Stamp)
	}
	if _, err := ChangePassword(ctx, s, "chg", before.Stamp, []byte("hash-3")); !errors.Is(err, ErrChanged) {
		t.Fatalf("ChangePassword with an old stamp = %v; want ErrChanged", err)
	}
	for _, block := range []func(*Account) error{
		func(a *Account) error { a.Disabled = true; return nil },
		func(a *Account) error { a.Disabled, a.Pending = false, true; return nil },
	} {
		if err := s.Update(ctx, "chg", block); err != nil {
			t.Fatal(err)
		}
		if _, err := ChangePassword(ctx, s, "chg", after.Stamp, []byte("hash-4")); !errors.Is(err, ErrChanged) {
			t.Fatalf("ChangePassword of a disabled or pending account = %v; want ErrChanged", err)
		}
	}
	if got := mustGet(t, s, "chg"); string(got.Hash) != "hash-2" {
		t.Fatalf("a refused ChangePassword stored hash %q", got.Hash)
	}
	if _, err := ChangePassword(ctx, s, "nobody", "x", []byte("h")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("ChangePassword of a missing account = %v; want ErrNotFound", err)
	}
	other := mustCreate(t, s, "renew", "hash-r", time.Now())
	renewed, err := RenewStamp(ctx, s, "renew", other.Stamp)
	if err != nil || renewed.Stamp == other.Stamp || string(renewed.Hash) != "hash-r" || mustGet(t, s, "renew").Stamp != renewed.Stamp {
		t.Fatalf("RenewStamp = %+v, %v; want a new stamp stored, the hash kept", renewed, err)
	}
	if _, err := RenewStamp(ctx, s, "renew", other.Stamp); !errors.Is(err, ErrChanged) {
		t.Fatalf("RenewStamp with an old stamp = %v; want ErrChanged", err)
	}
}

func testSetPasswordChangesStamp(t *testing.T, s Store) {
	ctx := context.Background()
	created := time.Date(2023, 3, 3, 3, 3, 3, 0, time.UTC)
	before := mustCreate(t, s, "pw", "hash-1", created)
	hash := []byte("hash-2")
	if err := SetPassword(ctx, s, "pw", hash); err != nil {
		t.Fatal(err)
	}
	hash[0] = 'X' // the store must have kept its own copy
	after := mustGet(t, s, "pw")
	if string(after.Hash) != "hash-2" {
		t.Errorf("SetPassword stored hash %q", after.Hash)
	}
	if after.Stamp == "" || after.Stamp == before.Stamp {
		t.Errorf("SetPassword kept the stamp %q (before %q): old sessions would live on", after.Stamp, before.Stamp)
	}
	if !after.Created.Equal(created) {
		t.Errorf("SetPassword changed Created to %v", after.Created)
	}
	// Setting the same hash again is still a new password event.
	if err := SetPassword(ctx, s, "pw", []byte("hash-2")); err != nil {
		t.Fatal(err)
	}
	if again := mustGet(t, s, "pw"); again.Stamp == after.Stamp {
		t.Error("a second SetPassword kept the stamp")
	}
}

func testRehash(t *testing.T, s Store) {
	ctx := context.Background()
	before := mustCreate(t, s, "cost", "cheap-hash", time.Time{})
	if err := Rehash(ctx, s, "cost", []byte("cheap-hash"), []byte("dear-hash")); err != nil {
		t.Fatalf("Rehash: %v", err)
	}
	after := mustGet(t, s, "cost")
	if string(after.Hash) != "dear-hash" || after.Stamp != before.Stamp {
		t.Fatalf("after Rehash: %+v; want the new hash and the old stamp %q", after, before.Stamp)
	}
	// The password changed between the check and the rehash: the rehash
	// of the old password must not undo the change.
	if err := SetPassword(ctx, s, "cost", []byte("new-password-hash")); err != nil {
		t.Fatal(err)
	}
	changed := mustGet(t, s, "cost")
	if err := Rehash(ctx, s, "cost", []byte("dear-hash"), []byte("dearer-hash")); !errors.Is(err, ErrChanged) {
		t.Fatalf("Rehash after a password change: %v; want ErrChanged", err)
	}
	if got := mustGet(t, s, "cost"); string(got.Hash) != "new-password-hash" || got.Stamp != changed.Stamp {
		t.Fatalf("a refused Rehash changed the account: %+v", got)
	}
}

func testCreateGivesFreshStamps(t *testing.T, s Store) {
	ctx := context.Background()
	seen := map[string]bool{}
	for round := range 3 {
		// A stamp the caller brings is not kept: only Create makes stamps.
		if err := s.Create(ctx, Account{Username: "again", Hash: []byte("h"), Stamp: "chosen"}); err != nil {
			t.Fatalf("round %d: Create: %v", round, err)
		}
		a := mustGet(t, s, "again")
		if a.Stamp == "" || a.Stamp == "chosen" || seen[a.Stamp] {
			t.Fatalf("round %d: stamp %q is empty, the caller's, or seen before", round, a.Stamp)
		}
		seen[a.Stamp] = true
		if err := s.Delete(ctx, "again"); err != nil {
			t.Fatal(err)
		}
	}
	other := mustCreate(t, s, "stamped", "h", time.Time{})
	if seen[other.Stamp] {
		t.Fatalf("two accounts got the stamp %q", other.Stamp)
	}
}

// testSimultaneousCreates races 50 creations of one name: exactly one wins
// and the stored account is the winner's.
func testSimultaneousCreates(t *testing.T, s Store) {
	const n = 50
	ctx := context.Background()
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = s.Create(ctx, Account{Username: "racer", Hash: fmt.Appendf(nil, "hash-%d", i)})
		})
	}
	close(start)
	wg.Wait()
	winner, taken := -1, 0
	for i, err := range errs {
		switch {
		case err == nil:
			if winner >= 0 {
				t.Fatalf("creations %d and %d both succeeded", winner, i)
			}
			winner = i
		case errors.Is(err, ErrTaken):
			taken++
		default:
			t.Fatalf("creation %d: %v", i, err)
		}
	}
	if winner < 0 || taken != n-1 {
		t.Fatalf("%d winners and %d ErrTaken, want 1 and %d", min(winner+1, 1), taken, n-1)
	}
	got, err := s.Get(ctx, "racer")
	if err != nil || string(got.Hash) != fmt.Sprintf("hash-%d", winner) {
		t.Fatalf("Get = %q, %v; want the winner's hash-%d", got.Hash, err, winner)
	}
}
