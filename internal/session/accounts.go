package session

import (
	"context"
	"fmt"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// UpdateAccount applies change to user's account and then has every
// instance forget what it remembers of that user's sessions, so that the
// change (a role granted or taken) applies from the user's very next
// request on every instance, without ending any session: the stamp stays,
// the next read finds the account as changed. The command line changes
// roles through here; the admin page writes first and then calls
// Manager.UserChanged itself, so that its audit line follows the write.
//
// When it returns without error, no instance of this process, and (Redis)
// no instance subscribed to the realm, serves the user's sessions as they
// were. Should the announcement fail, it waits MemoryBound before it
// returns the error, after which nothing read before the change is
// remembered anywhere either. A process that no server hears (the CLI on
// the file backend) must wait MemoryBound itself.
func UpdateAccount(ctx context.Context, accounts users.Store, store Store, user string, change func(*users.Account) error) error {
	if err := accounts.Update(ctx, user, change); err != nil {
		return err
	}
	if err := store.UserChanged(ctx, user); err != nil {
		select {
		case <-time.After(MemoryBound):
		case <-ctx.Done():
		}
		return fmt.Errorf("the account changed, but telling the other instances failed (they notice within %s): %w", MemoryBound, err)
	}
	return nil
}
