package users

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestNormalizeRoleKeepsTheRules: role names are 1 to 64 characters of
// a-z 0-9 _ -, starting with a letter or digit, folded to lower case and
// trimmed like usernames; everything else is refused with a sentence.
func TestNormalizeRoleKeepsTheRules(t *testing.T) {
	for _, tc := range []struct {
		in, want string // want "" means refused
		why      string // in the refusal's sentence
	}{
		{"staff", "staff", ""},
		{"Staff", "staff", ""},
		{" ADMIN\t", "admin", ""},
		{"client-acme", "client-acme", ""},
		{"team_2", "team_2", ""},
		{"7up", "7up", ""},
		{"x", "x", ""},
		{strings.Repeat("r", 64), strings.Repeat("r", 64), ""},
		{"", "", "This one is empty."},
		{"   ", "", "This one is empty."},
		{strings.Repeat("r", 65), "", "This one is longer."},
		{"-staff", "", "starts with a symbol"},
		{"_staff", "", "starts with a symbol"},
		{"staff,admin", "", "outside that set"}, // a comma would split in the placeholder
		{"staff admin", "", "outside that set"},
		{"staff.admin", "", "outside that set"},
		{"a@b", "", "outside that set"},
		{"staff/x", "", "outside that set"},
		{"ståff", "", "outside that set"},
		{"staﬀ", "", "outside that set"},        // a ligature that folds to "ff" elsewhere
		{"\u212aelvin", "", "outside that set"}, // the Kelvin sign lower-cases to k
		{"st\x00aff", "", "outside that set"},
	} {
		got, err := NormalizeRole(tc.in)
		switch {
		case tc.want != "" && (err != nil || got != tc.want):
			t.Errorf("NormalizeRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		case tc.want == "" && (err == nil || !errors.Is(err, ErrBadRole)):
			t.Errorf("NormalizeRole(%q) = %q, %v; want a refusal wrapping ErrBadRole", tc.in, got, err)
		case tc.want == "" && !strings.Contains(Explain(err), tc.why):
			t.Errorf("NormalizeRole(%q): sentence %q; want it to say %q", tc.in, Explain(err), tc.why)
		case tc.want == "" && !strings.HasPrefix(Explain(err), "Role names are 1 to 64 characters"):
			t.Errorf("NormalizeRole(%q): sentence %q does not state the rules", tc.in, Explain(err))
		}
	}
}

func TestNormalizeRolesSortsAndDropsRepeats(t *testing.T) {
	got, err := NormalizeRoles([]string{"staff", "Admin", "STAFF", "editors", "admin"})
	if err != nil || !slices.Equal(got, []string{"admin", "editors", "staff"}) {
		t.Fatalf("NormalizeRoles = %q, %v; want [admin editors staff]", got, err)
	}
	if got, err := NormalizeRoles(nil); got != nil || err != nil {
		t.Fatalf("NormalizeRoles(nil) = %q, %v; want nil, nil", got, err)
	}
	if _, err := NormalizeRoles([]string{"staff", "bad role"}); !errors.Is(err, ErrBadRole) {
		t.Fatalf("NormalizeRoles with a bad name = %v; want ErrBadRole", err)
	}
}

// testRolesInStore: both stores keep roles normalised and sorted, give
// them at creation, change them through Update without touching the
// stamp, and refuse a change that holds a bad name, storing nothing.
func testRolesInStore(t *testing.T, s Store) {
	ctx := context.Background()
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("h"), Roles: []string{"Staff", "editors", "staff"}}); err != nil {
		t.Fatalf("Create with roles: %v", err)
	}
	a, err := s.Get(ctx, "alice")
	if err != nil || !slices.Equal(a.Roles, []string{"editors", "staff"}) {
		t.Fatalf("roles after Create = %q, %v; want [editors staff]", a.Roles, err)
	}
	stamp := a.Stamp
	if err := s.Update(ctx, "alice", GrantRoles("Admin", "editors")); err != nil {
		t.Fatalf("GrantRoles: %v", err)
	}
	a, _ = s.Get(ctx, "alice")
	if !slices.Equal(a.Roles, []string{"admin", "editors", "staff"}) || a.Stamp != stamp {
		t.Fatalf("after GrantRoles: roles %q, stamp changed %v; want [admin editors staff], same stamp", a.Roles, a.Stamp != stamp)
	}
	if err := s.Update(ctx, "alice", RevokeRoles("editors", "nosuch")); err != nil {
		t.Fatalf("RevokeRoles: %v", err)
	}
	a, _ = s.Get(ctx, "alice")
	if !slices.Equal(a.Roles, []string{"admin", "staff"}) || a.Stamp != stamp {
		t.Fatalf("after RevokeRoles: roles %q, stamp changed %v; want [admin staff], same stamp", a.Roles, a.Stamp != stamp)
	}
	if err := s.Update(ctx, "alice", GrantRoles("bad role")); !errors.Is(err, ErrBadRole) {
		t.Fatalf("GrantRoles with a bad name = %v; want ErrBadRole", err)
	}
	if a, _ = s.Get(ctx, "alice"); !slices.Equal(a.Roles, []string{"admin", "staff"}) {
		t.Fatalf("a refused change stored roles %q", a.Roles)
	}
	if err := s.Update(ctx, "alice", RevokeRoles("admin", "staff")); err != nil {
		t.Fatal(err)
	}
	if a, _ = s.Get(ctx, "alice"); len(a.Roles) != 0 {
		t.Fatalf("after taking every role: %q", a.Roles)
	}
	if err := s.Create(ctx, Account{Username: "bob", Hash: []byte("h"), Roles: []string{"-x"}}); !errors.Is(err, ErrBadRole) {
		t.Fatalf("Create with a bad role = %v; want ErrBadRole", err)
	}
	if _, err := s.Get(ctx, "bob"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("a refused Create stored the account: %v", err)
	}
}

func TestFileStoreKeepsRoles(t *testing.T) {
	testRolesInStore(t, NewFileStore(filepath.Join(t.TempDir(), "users.json")))
}

func TestRedisStoreKeepsRoles(t *testing.T) {
	s, _ := newTestRedisStore(t)
	testRolesInStore(t, s)
}

// TestHandEditedRolesAreReadNormalised: an operator who edits users.json
// by hand and writes "Staff" gets the role staff; a name no rule could
// ever hold is left out instead of failing the account.
func TestHandEditedRolesAreReadNormalised(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	body := `[{"username": "alice", "hash": "aGFzaA==", "created": "2025-01-02T03:04:05Z", "roles": ["Staff", "bad role", "admin", "staff"]}]`
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := NewFileStore(path).Get(context.Background(), "alice")
	if err != nil || !slices.Equal(a.Roles, []string{"admin", "staff"}) {
		t.Fatalf("hand-edited roles read as %q, %v; want [admin staff]", a.Roles, err)
	}
}

func TestFileStoreReturnsCopiesOfRoles(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "users.json"))
	ctx := context.Background()
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("hash"), Roles: []string{"staff"}}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Get(ctx, "alice")
	a.Roles[0] = "admin"
	if b, _ := s.Get(ctx, "alice"); !slices.Equal(b.Roles, []string{"staff"}) {
		t.Fatalf("changing a returned account's roles changed the store: %q", b.Roles)
	}
}
