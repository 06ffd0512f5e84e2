package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Listed is one of a user's live sessions as the account page shows it.
// It carries no session id: Ref names it in forms instead.
type Listed struct {
	Ref string // see Ref
	Record
	Current bool // the session of the request that asked
}

// Ref names a session on a page and in the log without giving its id
// away: a hash of the 256-bit id cannot be turned back into it, and so not
// into a cookie either.
func Ref(id string) string {
	sum := sha256.Sum256([]byte("caddy-session-auth session ref\x00" + id))
	return hex.EncodeToString(sum[:12])
}

// List returns the live sessions of acct's user, current's first, then the
// most recently used. Sessions found expired, or made with an older
// password, are ended on the way.
func (m *Manager) List(ctx context.Context, acct users.Account, current Session) ([]Listed, error) {
	stored, err := m.live(ctx, acct)
	if err != nil {
		return nil, err
	}
	list := make([]Listed, 0, len(stored))
	for _, st := range stored {
		list = append(list, Listed{Ref: Ref(st.ID), Record: st.Record, Current: st.ID == current.ID})
	}
	slices.SortFunc(list, func(a, b Listed) int {
		if a.Current != b.Current {
			if a.Current {
				return -1
			}
			return 1
		}
		return b.Seen.Compare(a.Seen)
	})
	return list, nil
}

// live is the stored sessions of acct's user that are still valid; those
// past their deadlines or made with an older stamp are ended here.
func (m *Manager) live(ctx context.Context, acct users.Account) ([]Stored, error) {
	stored, err := m.store.Sessions(ctx, acct.Username)
	if err != nil {
		return nil, err
	}
	now := m.cfg.Now()
	live := stored[:0]
	for _, st := range stored {
		if m.expired(st.Record, now) || st.Stamp != acct.Stamp {
			if _, err := m.store.End(ctx, st.ID); err != nil {
				return nil, err
			}
			continue
		}
		live = append(live, st)
	}
	return live, nil
}

// EndRef ends the session of user that ref names, on every instance, and
// tells whether there was one. A ref of someone else's session names
// nothing: only user's own index is searched.
func (m *Manager) EndRef(ctx context.Context, user, ref string) (bool, error) {
	stored, err := m.store.Sessions(ctx, user)
	if err != nil {
		return false, err
	}
	for _, st := range stored {
		if Ref(st.ID) == ref {
			return m.store.End(ctx, st.ID)
		}
	}
	return false, nil
}
