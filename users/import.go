package users

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/gomodule/redigo/redis"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
)

// Moving a realm to another backend takes its accounts as they are stored,
// stamps and sealed secrets included, and puts them into the other store
// whole or not at all: a move that stopped half-way would leave some
// people without their accounts and nobody able to tell which.

// Importer is a store that takes many accounts at once, all or none.
type Importer interface {
	// Import stores accounts as given (nothing is renewed: not the stamp,
	// not the creation time). Without replace, it stores nothing if any
	// of the usernames has an account already, and says which in a
	// *TakenError; with replace, those accounts are overwritten, and
	// their usernames returned. Either every account is stored or none.
	Import(ctx context.Context, accounts []Account, replace bool) (replaced []string, err error)
}

var (
	_ Importer = (*FileStore)(nil)
	_ Importer = (*RedisStore)(nil)
)

// TakenError is Import's refusal of accounts whose usernames are taken.
type TakenError struct {
	Usernames []string // sorted
}

func (e *TakenError) Error() string {
	return fmt.Sprintf("%d of the accounts exist already: %s", len(e.Usernames), strings.Join(e.Usernames, ", "))
}

func (e *TakenError) Unwrap() error { return ErrTaken }

// CheckImported checks an account read from an export, as strictly as
// Create checks a new one, and returns it with its roles in the form the
// stores keep. It keeps everything else as it came: the point is that
// nothing changes on the way.
func CheckImported(a Account) (Account, error) {
	n, err := Normalize(a.Username)
	switch {
	case a.Username == "":
		return a, errors.New("no username")
	case err != nil:
		return a, fmt.Errorf("username %q: %s", a.Username, Explain(err))
	case n != a.Username:
		return a, fmt.Errorf("username %q is not written as the stores keep it (%q)", a.Username, n)
	}
	cost, err := bcrypt.Cost(a.Hash)
	if err != nil {
		return a, fmt.Errorf("%s: the password hash is not a bcrypt hash", a.Username)
	}
	if cost < bcryptfloor.Cost {
		// A cheap hash answers a login faster than the dummy hash of an
		// unknown name does: the timing would tell that the account
		// exists, until its next login hashed it again.
		return a, fmt.Errorf("%s: the password hash has bcrypt cost %d, below the lowest this plugin accepts (%d); "+
			"log the account in once where it is now (its hash is then made again at bcrypt_cost) and export again, "+
			"or leave it out and set its password after the import", a.Username, cost, bcryptfloor.Cost)
	}
	roles, err := NormalizeRoles(a.Roles)
	if err != nil {
		return a, fmt.Errorf("%s: %s", a.Username, Explain(err))
	}
	a.Roles = roles
	return a, nil
}

// Import stores the accounts in one write of the file.
func (s *FileStore) Import(ctx context.Context, accounts []Account, replace bool) ([]string, error) {
	var replaced []string
	err := s.modify(ctx, func(m map[string]Account) error {
		replaced = nil
		for _, a := range accounts {
			if _, ok := m[a.Username]; ok {
				replaced = append(replaced, a.Username)
			}
		}
		slices.Sort(replaced)
		if len(replaced) > 0 && !replace {
			return &TakenError{Usernames: replaced}
		}
		for _, a := range accounts {
			m[a.Username] = cloneAccount(a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return replaced, nil
}

// importAccounts stores the accounts in one script, which Redis runs with
// no other command in between. It first looks for every key; without
// replace (ARGV[1] "0") it stops there when any exists, having written
// nothing, and returns their positions. Then it sets the keys one by one,
// and should a SET fail (Redis out of memory), it puts back what it had
// changed before it returns the error. Otherwise it returns the positions
// of the keys it replaced, with a 0 in front (so that the answer is never
// an empty list, which Lua cannot tell from a nil).
var importAccounts = redis.NewScript(-1, `
local n = #KEYS
local old = {}
local taken = {}
for i = 1, n do
  old[i] = redis.call('GET', KEYS[i])
  if old[i] then table.insert(taken, i) end
end
if ARGV[1] ~= '1' and #taken > 0 then
  table.insert(taken, 1, 1)
  return taken
end
for i = 1, n do
  local r = redis.pcall('SET', KEYS[i], ARGV[i + 1])
  if type(r) == 'table' and r.err then
    for j = 1, i - 1 do
      if old[j] then redis.call('SET', KEYS[j], old[j]) else redis.call('DEL', KEYS[j]) end
    end
    return redis.error_reply(r.err)
  end
end
table.insert(taken, 1, 0)
return taken
`)

// Import stores the accounts in one script: see importAccounts.
func (s *RedisStore) Import(ctx context.Context, accounts []Account, replace bool) ([]string, error) {
	args := make([]any, 0, 2*len(accounts)+2)
	args = append(args, len(accounts))
	for _, a := range accounts {
		args = append(args, s.key(a.Username))
	}
	args = append(args, map[bool]string{false: "0", true: "1"}[replace])
	for _, a := range accounts {
		raw, err := json.Marshal(a)
		if err != nil {
			return nil, fmt.Errorf("redis: encoding user %q: %w", a.Username, err)
		}
		args = append(args, raw)
	}
	c, err := s.Conn(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	reply, err := redis.Ints(importAccounts.DoContext(ctx, c, args...))
	if err != nil {
		return nil, fmt.Errorf("redis: importing accounts: %w", err)
	}
	if len(reply) == 0 {
		return nil, errors.New("redis: importing accounts: an empty answer")
	}
	var names []string
	for _, i := range reply[1:] {
		if i < 1 || i > len(accounts) {
			return nil, fmt.Errorf("redis: importing accounts: position %d in the answer", i)
		}
		names = append(names, accounts[i-1].Username)
	}
	slices.Sort(names)
	if reply[0] == 1 {
		return nil, &TakenError{Usernames: names}
	}
	return names, nil
}
