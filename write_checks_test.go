package sessionauth

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// What a page checked on the account it read holds at the write too: the
// admin page changes no account that became another admin after the page
// read it, and a reset link sets no password for an account whose roles
// changed after the link was read. The window between the read and the
// write is made wide open by a store whose reads lag one change behind
// (laggingReads): the page sees the account as it was, the write meets it
// as it is.

// laggingReads is a real store whose Get answers a snapshot for one
// account, as a read just before another instance changed it would.
type laggingReads struct {
	users.Store
	was users.Account
}

func (s laggingReads) Get(ctx context.Context, username string) (users.Account, error) {
	if username == s.was.Username {
		return s.was, nil
	}
	return s.Store.Get(ctx, username)
}

// liveHandler is the one handler of the config the test loaded.
func liveHandler(t *testing.T) *SessionAuth {
	t.Helper()
	grants.mu.Lock()
	defer grants.mu.Unlock()
	var live []*SessionAuth
	for sa, load := range grants.handlers {
		select {
		case <-load:
		default:
			live = append(live, sa)
		}
	}
	if len(live) != 1 {
		t.Fatalf("%d handlers of the loaded config; want 1", len(live))
	}
	return live[0]
}

// readsLagFor has the live handler read user as it is now, whatever
// happens to the account afterwards, until the test ends; it returns the
// store itself.
func readsLagFor(t *testing.T, user string) users.Store {
	t.Helper()
	sa := liveHandler(t)
	was, err := sa.users.Get(context.Background(), user)
	if err != nil {
		t.Fatal(err)
	}
	real := sa.users
	sa.users = laggingReads{Store: real, was: was}
	t.Cleanup(func() { sa.users = real })
	return real
}

// TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin: carl,
// read by the page as an ordinary account but made an admin from the
// command line before the write, is neither approved, enabled, disabled,
// given other roles nor logged out by another admin.
func TestAdminActionsRecheckAtTheWriteThatTheAccountIsNoOtherAdmin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, carl, cli, _ := adminSetup(t, b, "closed")
		store := readsLagFor(t, "carl")
		cli("role", "add", "carl", "admin")
		before, err := store.Get(context.Background(), "carl")
		if err != nil {
			t.Fatal(err)
		}
		for _, action := range []struct {
			name  string
			extra []string
		}{{"approve", nil}, {"enable", nil}, {"disable", nil}, {"roles", []string{"roles", "staff"}}, {"end-sessions", nil}} {
			r := ada.adminDo(action.name, "carl", action.extra...)
			if r.status != http.StatusConflict || !strings.Contains(r.body, "changed or went away meanwhile") {
				t.Fatalf("%s of carl, an admin since the page read him: %d; want 409 changed meanwhile:\n%s", action.name, r.status, clip(r.body))
			}
		}
		if after, err := store.Get(context.Background(), "carl"); err != nil || !after.CanLogIn() || after.Stamp != before.Stamp || strings.Join(after.Roles, ",") != "admin" {
			t.Fatalf("carl after the refused actions: %+v, %v; want him as he was, an admin", after, err)
		}
		wantGranted(t, carl.get("/members/x"), "carl's session after the refused actions")
	})
}

// TestResetRechecksTheRolesAtTheWrite: a reset link read before its
// account's roles changed sets no password once they have.
func TestResetRechecksTheRolesAtTheWrite(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		ada, _, cli, _ := adminSetup(t, b, "closed")
		carl := newClient(t)
		path := adminResetLink(t, ada, "carl")
		formToken := openResetLink(t, carl, path, "ada's reset link for carl")
		store := readsLagFor(t, "carl")
		cli("role", "add", "carl", "staff")
		token, _ := url.ParseQuery(strings.SplitN(path, "?", 2)[1])
		const stolen = "the passphrase of a takeover"
		form := url.Values{"token": {token.Get("token")}, "password": {stolen}, "password_confirm": {stolen}, formTokenField: {formToken}}
		if r := carl.post("/auth/reset", form); r.status != http.StatusNotFound {
			t.Fatalf("the link after carl's roles changed behind the page's read: %d; want 404:\n%s", r.status, clip(r.body))
		}
		if after, err := store.Get(context.Background(), "carl"); err != nil || !users.Verify(after.Hash, testPassword) {
			t.Fatalf("carl's password after the refused reset: %v; want the one from before", err)
		}
	})
}
