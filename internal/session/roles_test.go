package session

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// wantRoles asserts the roles a session shows, in each of its forms.
func wantRoles(t *testing.T, s Session, want ...string) {
	t.Helper()
	text := ""
	for i, r := range want {
		if i > 0 {
			text += ","
		}
		text += r
	}
	if !slices.Equal(s.Roles(), want) || s.RolesText() != text || s.RolesValue() != any(text) {
		t.Fatalf("the session of %q shows roles %q (text %q, value %v); want %q", s.User, s.Roles(), s.RolesText(), s.RolesValue(), want)
	}
}

func createWithRoles(t *testing.T, s users.Store, name string, roles ...string) users.Account {
	t.Helper()
	ctx := context.Background()
	must(t, s.Create(ctx, users.Account{Username: name, Hash: []byte("hash of " + name), Roles: roles}))
	a, err := s.Get(ctx, name)
	must(t, err)
	return a
}

// TestSessionShowsTheAccountsRolesAsRead: the roles come from the account
// on the read past memory, sorted, and a hit in memory shows the same.
// They are never part of the stored record (rule 3: the session holds the
// user and times only).
func TestSessionShowsTheAccountsRolesAsRead(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		m := newManager(t, testConfig(newFakeClock()), store, accounts)
		alice := createWithRoles(t, accounts, "alice", "staff", "Editors")
		c := login(t, m, alice, false, nil)
		wantRoles(t, remember(t, m, c, "alice"), "editors", "staff")
		wantRoles(t, wantUser(t, m, c, "alice"), "editors", "staff") // from memory

		s := wantUser(t, m, c, "alice")
		rec, err := store.Load(context.Background(), s.ID)
		must(t, err)
		if data := string(encodeRecord(nil, rec)); slices.ContainsFunc([]string{"staff", "editors"}, func(r string) bool { return strings.Contains(data, r) }) {
			t.Fatalf("the stored record holds the roles: %q", data)
		}

		bob := createWithRoles(t, accounts, "bob")
		wantRoles(t, remember(t, m, login(t, m, bob, false, nil), "bob"))
	})
}

// TestRoleChangeAppliesAtTheNextRequestOnEveryInstance: two instances
// remember alice's sessions; a role change made through a third party
// that no instance hears directly (the CLI's store, without a Listener)
// returns only once both have forgotten them, so the very next request on
// either shows the new roles, and the session goes on: no one is logged
// out by a role change.
func TestRoleChangeAppliesAtTheNextRequestOnEveryInstance(t *testing.T) {
	ctx := context.Background()
	prefix := uniquePrefix()
	a, b := newInstance(t, testRedis, prefix), newInstance(t, testRedis, prefix)
	pool := newPool(t, testRedis)
	cliStore, cliAccounts := NewRedis(pool, prefix, Channel(prefix, 0), nil), users.NewRedisStore(pool, prefix)
	clock := newFakeClock()
	ma := newManager(t, testConfig(clock), a.store, a.accounts)
	mb := newManager(t, testConfig(clock), b.store, b.accounts)
	alice := createWithRoles(t, a.accounts, "alice", "staff")
	holdBack(b)
	cookies := []*http.Cookie{login(t, ma, alice, false, nil), login(t, mb, alice, true, nil)}
	for round := range 5 {
		for _, m := range []*Manager{ma, mb} {
			for _, c := range cookies {
				wantRoles(t, remember(t, m, c, "alice"), "staff")
			}
		}
		must(t, UpdateAccount(ctx, cliAccounts, cliStore, "alice", users.RevokeRoles("staff")))
		for _, m := range []*Manager{ma, mb} {
			for _, c := range cookies {
				wantRoles(t, wantUser(t, m, c, "alice")) // still logged in, without the role
			}
		}
		for _, m := range []*Manager{ma, mb} {
			for _, c := range cookies {
				remember(t, m, c, "alice")
			}
		}
		must(t, UpdateAccount(ctx, cliAccounts, cliStore, "alice", users.GrantRoles("staff")))
		for _, m := range []*Manager{ma, mb} {
			for _, c := range cookies {
				wantRoles(t, wantUser(t, m, c, "alice"), "staff")
			}
		}
		t.Logf("round %d: both instances saw both changes at once", round)
	}
}

// TestRoleChangeAppliesAtOnceInTheProcess: on either backend, every
// Manager of the store in this process shows the change when
// UpdateAccount returns.
func TestRoleChangeAppliesAtOnceInTheProcess(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		store, accounts := b.open(t)
		clock := newFakeClock()
		m1 := newManager(t, testConfig(clock), store, accounts)
		m2 := newManager(t, testConfig(clock), store, accounts)
		c := login(t, m1, createWithRoles(t, accounts, "alice", "staff"), false, nil)
		for _, m := range []*Manager{m1, m2} {
			wantRoles(t, remember(t, m, c, "alice"), "staff")
		}
		must(t, UpdateAccount(context.Background(), accounts, store, "alice", users.GrantRoles("admin")))
		for _, m := range []*Manager{m1, m2} {
			wantRoles(t, wantUser(t, m, c, "alice"), "admin", "staff")
		}
	})
}
