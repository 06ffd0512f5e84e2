package users

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey"
)

// FullAccount is an account with every field set, as a realm that used
// everything would store it.
func fullAccount(t *testing.T, name string) Account {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte("password of "+name), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	return Account{
		Username:           name,
		Hash:               hash,
		Stamp:              "stamp-of-" + name,
		Created:            at,
		Roles:              []string{"editors", "staff"},
		Disabled:           true,
		Pending:            true,
		TOTP:               &TOTP{Secret: "sealed-secret", LastStep: 123456, Added: at.Add(time.Hour)},
		TOTPEnrolment:      "sealed-enrolment",
		TOTPEnrolmentUntil: at.Add(2 * time.Hour),
		Recovery:           []string{"hash-1", "hash-2"},
		Passkeys: []passkey.Credential{{
			ID: []byte("credential id"), PublicKey: []byte("cose key"), SignCount: 7, AAGUID: []byte("aaguid"),
			Transports: []string{"usb"}, BackupEligible: true, BackupState: true, Name: "YubiKey",
			Created: at, LastUsed: at.Add(3 * time.Hour), Passwordless: true,
		}},
		PasskeyHandle:    []byte("user handle"),
		PasskeyEnrolment: []byte(`{"kind":"register"}`),
		LastLogin:        at.Add(4 * time.Hour),
	}
}

// TestFullAccountSetsEveryField keeps fullAccount whole: a field added to
// Account (or to the structs it holds) must be set there, so that the
// round-trip tests of the stores and of the export cover it too.
func TestFullAccountSetsEveryField(t *testing.T) {
	var check func(v reflect.Value, path string)
	check = func(v reflect.Value, path string) {
		switch v.Kind() {
		case reflect.Pointer:
			if v.IsNil() {
				t.Errorf("fullAccount leaves %s nil", path)
				return
			}
			check(v.Elem(), path)
		case reflect.Struct:
			if v.Type() == reflect.TypeFor[time.Time]() {
				if v.Interface().(time.Time).IsZero() {
					t.Errorf("fullAccount leaves %s zero", path)
				}
				return
			}
			for i := range v.NumField() {
				check(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		case reflect.Slice:
			if v.Len() == 0 {
				t.Errorf("fullAccount leaves %s empty", path)
				return
			}
			if v.Type().Elem().Kind() == reflect.Struct {
				check(v.Index(0), path+"[0]")
			}
		default:
			if v.IsZero() {
				t.Errorf("fullAccount leaves %s zero", path)
			}
		}
	}
	check(reflect.ValueOf(fullAccount(t, "alice")), "Account")
}

// sameAccount compares accounts as the stores keep them, in JSON, where
// an empty list and none are one.
func sameAccount(t *testing.T, a, b Account) bool {
	t.Helper()
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	return string(ja) == string(jb)
}

// importStores are the two stores, empty, for the import tests.
func importStores(t *testing.T) map[string]Store {
	s, _ := newTestRedisStore(t)
	return map[string]Store{"files": NewFileStore(filepath.Join(t.TempDir(), "users.json")), "redis": s}
}

// TestImportStoresEveryAccountAsGiven: imported accounts come back equal
// in every field, their stamps and creation times included.
func TestImportStoresEveryAccountAsGiven(t *testing.T) {
	for name, s := range importStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			in := []Account{fullAccount(t, "alice"), {Username: "bob", Hash: fullAccount(t, "bob").Hash, Stamp: "bobs", Created: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)}}
			replaced, err := s.(Importer).Import(ctx, in, false)
			if err != nil || len(replaced) != 0 {
				t.Fatalf("Import = %v, %v", replaced, err)
			}
			for _, want := range in {
				if got := mustGet(t, s, want.Username); !sameAccount(t, got, want) {
					t.Errorf("%s came back as\n%+v\nwant\n%+v", want.Username, got, want)
				}
			}
		})
	}
}

// TestImportOfATakenNameStoresNothing: without replace, one account whose
// name is taken makes the import store none of them, and leaves the
// existing account as it was; the refusal names it.
func TestImportOfATakenNameStoresNothing(t *testing.T) {
	for name, s := range importStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			before := mustCreate(t, s, "bob", "old hash", time.Now())
			_, err := s.(Importer).Import(ctx, []Account{fullAccount(t, "alice"), fullAccount(t, "bob"), fullAccount(t, "carol")}, false)
			var taken *TakenError
			if !errors.As(err, &taken) || !errors.Is(err, ErrTaken) || !slices.Equal(taken.Usernames, []string{"bob"}) {
				t.Fatalf("Import = %v; want a TakenError naming bob", err)
			}
			for _, other := range []string{"alice", "carol"} {
				if _, err := s.Get(ctx, other); !errors.Is(err, ErrNotFound) {
					t.Errorf("%s was stored by a refused import: %v", other, err)
				}
			}
			if got := mustGet(t, s, "bob"); !sameAccount(t, got, before) {
				t.Errorf("the existing bob changed: %+v", got)
			}
		})
	}
}

// TestImportWithReplaceOverwritesAndSaysWhom: with replace, taken names
// get the imported accounts, and Import says which it replaced; accounts
// it was not given stay.
func TestImportWithReplaceOverwritesAndSaysWhom(t *testing.T) {
	for name, s := range importStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			mustCreate(t, s, "bob", "old hash", time.Now())
			kept := mustCreate(t, s, "dave", "dave's hash", time.Now())
			in := []Account{fullAccount(t, "alice"), fullAccount(t, "bob")}
			replaced, err := s.(Importer).Import(ctx, in, true)
			if err != nil || !slices.Equal(replaced, []string{"bob"}) {
				t.Fatalf("Import = %v, %v; want bob replaced", replaced, err)
			}
			for _, want := range in {
				if got := mustGet(t, s, want.Username); !sameAccount(t, got, want) {
					t.Errorf("%s came back as %+v", want.Username, got)
				}
			}
			if got := mustGet(t, s, "dave"); !sameAccount(t, got, kept) {
				t.Errorf("dave, not in the import, changed: %+v", got)
			}
		})
	}
}

// TestCheckImportedRefusesWhatCreateWouldRefuse: an account line that no
// store would have written is refused, saying why. (fullAccount's hash is
// at bcrypt's lowest cost: the floor is lowered to it, as the root
// package's tests do, but for the case about the cost.)
func TestCheckImportedRefusesWhatCreateWouldRefuse(t *testing.T) {
	bcryptfloor.Cost = bcrypt.MinCost
	t.Cleanup(func() { bcryptfloor.Cost = MinBcryptCost })
	good := fullAccount(t, "alice")
	for _, tc := range []struct {
		name   string
		change func(*Account)
	}{
		{"no username", func(a *Account) { a.Username = "" }},
		{"a username not normalised", func(a *Account) { a.Username = "Alice" }},
		{"a username with a space", func(a *Account) { a.Username = "al ice" }},
		{"no hash", func(a *Account) { a.Hash = nil }},
		{"a hash that is not bcrypt", func(a *Account) { a.Hash = []byte("plain text") }},
		{"a bad role", func(a *Account) { a.Roles = []string{"a,b"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := good
			tc.change(&a)
			if _, err := CheckImported(a); err == nil {
				t.Fatalf("CheckImported accepted %+v", a)
			}
		})
	}
	bcryptfloor.Cost = MinBcryptCost
	if _, err := CheckImported(good); err == nil || !strings.Contains(err.Error(), "alice: the password hash has bcrypt cost 4, below the lowest this plugin accepts (10)") {
		t.Fatalf("a hash at cost 4 with the floor at %d: %v; want it refused, naming the account and both costs", MinBcryptCost, err)
	}
	bcryptfloor.Cost = bcrypt.MinCost

	a := good
	a.Roles = []string{"Staff", "editors", "staff"}
	got, err := CheckImported(a)
	if err != nil || !slices.Equal(got.Roles, []string{"editors", "staff"}) {
		t.Fatalf("roles as typed: %v, %v; want them normalised", got.Roles, err)
	}
	if got, err := CheckImported(good); err != nil || !reflect.DeepEqual(got, good) {
		t.Fatalf("a whole account: %v; want it unchanged", err)
	}
}
