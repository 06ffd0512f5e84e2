package session

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// capSessions keeps acct's live sessions within Config.MaxPerUser once
// made has been stored (rule 19): the oldest, by Created, end first, so a
// client that logs in over and over (or a leaked password in many hands)
// cannot fill the store with one account's sessions, and the ones that
// end are those the user is least likely to be using. made itself never
// ends, nor does any session made in a later millisecond: of two logins
// at once in different milliseconds, the later one trims for both.
// Sessions made in made's own millisecond count as older, so that logins
// one after another within a millisecond still keep to the cap; two that
// race in one millisecond may end each other (each sees the other as
// older), and their users log in again.
func (m *Manager) capSessions(ctx context.Context, acct users.Account, made Stored) error {
	if m.cfg.MaxPerUser <= 0 {
		return nil
	}
	live, err := m.live(ctx, acct)
	if err != nil || len(live) <= m.cfg.MaxPerUser {
		return err
	}
	excess := len(live) - m.cfg.MaxPerUser
	made.Created = time.UnixMilli(made.Created.UnixMilli()) // as stored
	older := slices.DeleteFunc(live, func(st Stored) bool { return st.ID == made.ID || st.Created.After(made.Created) })
	slices.SortFunc(older, oldestFirst)
	for _, st := range older[:min(excess, len(older))] {
		if _, err := m.store.End(ctx, st.ID); err != nil {
			return err
		}
	}
	return nil
}

// oldestFirst orders sessions by Created, and by id between two made in
// the same millisecond, so that of any two one is always the older.
func oldestFirst(a, b Stored) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return strings.Compare(a.ID, b.ID)
}
