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
	s, err := testredis.Start()
	if err != nil {
		fmt.Fprintf(os.Stderr, "users tests need redis-server: %v\n", err)
		os.Exit(1)
	}
	testServer = s
	code := m.Run()
	s.Close()
	os.Exit(code)
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

	if err := s.SetHash(ctx, "alice", []byte("hash-alice-2")); err != nil {
		t.Fatalf("SetHash: %v", err)
	}
	got, err = s.Get(ctx, "alice")
	if err != nil || string(got.Hash) != "hash-alice-2" || !got.Created.Equal(created) {
		t.Fatalf("after SetHash Get = %+v, %v", got, err)
	}
	if err := s.SetHash(ctx, "nobody", []byte("x")); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetHash on missing account: %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "nobody"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("SetHash on missing account created it: %v", err)
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
	t.Run("SimultaneousSetHashesAllLand", func(t *testing.T) {
		testSimultaneousSetHashes(t, s)
	})
}

// testSimultaneousSetHashes races password changes of one account: each
// succeeds, the account ends with one of the new hashes, and its other
// fields survive.
func testSimultaneousSetHashes(t *testing.T, s Store) {
	const n = 8
	ctx := context.Background()
	created := time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)
	if err := s.Create(ctx, Account{Username: "changer", Hash: []byte("old"), Created: created}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() { errs[i] = s.SetHash(ctx, "changer", fmt.Appendf(nil, "new-%d", i)) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("SetHash %d: %v", i, err)
		}
	}
	got, err := s.Get(ctx, "changer")
	if err != nil || !strings.HasPrefix(string(got.Hash), "new-") || !got.Created.Equal(created) {
		t.Fatalf("after simultaneous SetHash: %+v, %v", got, err)
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
