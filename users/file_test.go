package users

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFileStoreKeepsTheContract(t *testing.T) {
	testStore(t, NewFileStore(filepath.Join(t.TempDir(), "users.json")))
}

func TestFileStoreCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data", "auth")
	path := filepath.Join(dir, "users.json")
	s := NewFileStore(path)
	if err := s.Create(context.Background(), Account{Username: "alice", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := info.Mode().Perm(); mode != 0o600 {
		t.Errorf("users file mode = %v, want 0600", mode)
	}
	if info, err := os.Stat(dir); err != nil || info.Mode().Perm() != 0o700 {
		t.Errorf("created directory: %v, %v; want mode 0700", info.Mode().Perm(), err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name() != "users.json" {
		var names []string
		for _, e := range entries {
			names = append(names, e.Name())
		}
		t.Errorf("directory holds %v, want only users.json (no temp files)", names)
	}
}

func TestFileStoreMissingFileIsEmpty(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "none", "users.json"))
	if list, err := s.List(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("List = %v, %v; want empty", list, err)
	}
	if _, err := s.Get(context.Background(), "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}
}

func TestFileStoreCorruptFileIsAnErrorAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	corrupt := `[{"username":"alice","hash":"aGFzaA==","created":"2025-01-01T00:00:00Z"},`
	if err := os.WriteFile(path, []byte(corrupt), 0o600); err != nil {
		t.Fatal(err)
	}
	s := NewFileStore(path)
	ctx := context.Background()
	_, err := s.Get(ctx, "alice")
	if err == nil || errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), path) {
		t.Fatalf("Get on corrupt file: %v; want an error naming %s", err, path)
	}
	if _, err := s.List(ctx); err == nil {
		t.Fatal("List on corrupt file succeeded")
	}
	if err := s.Create(ctx, Account{Username: "bob", Hash: []byte("h")}); err == nil || errors.Is(err, ErrTaken) {
		t.Fatalf("Create on corrupt file: %v; want a backend error", err)
	}
	if data, _ := os.ReadFile(path); string(data) != corrupt {
		t.Fatalf("corrupt file was overwritten with %q", data)
	}
}

func TestFileStoreRefusesDuplicateUsernames(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	dup := `[{"username":"alice","hash":"YQ=="},{"username":"alice","hash":"Yg=="}]`
	if err := os.WriteFile(path, []byte(dup), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := NewFileStore(path).Get(context.Background(), "alice"); err == nil || errors.Is(err, ErrNotFound) {
		t.Fatalf("Get with duplicate entries: %v; want an error", err)
	}
}

func TestFileStoreSeesWritesFromAnotherInstance(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	ctx := context.Background()
	server := NewFileStore(path)
	if _, err := server.Get(ctx, "alice"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get = %v, want ErrNotFound", err)
	}

	cli := NewFileStore(path)
	if err := cli.Create(ctx, Account{Username: "alice", Hash: []byte("hash-1")}); err != nil {
		t.Fatal(err)
	}
	if a, err := server.Get(ctx, "alice"); err != nil || string(a.Hash) != "hash-1" {
		t.Fatalf("server Get after CLI Create = %q, %v", a.Hash, err)
	}
	before, _ := server.Get(ctx, "alice")
	if err := SetPassword(ctx, cli, "alice", []byte("hash-2")); err != nil {
		t.Fatal(err)
	}
	if a, err := server.Get(ctx, "alice"); err != nil || string(a.Hash) != "hash-2" || a.Stamp == before.Stamp {
		t.Fatalf("server Get after CLI SetPassword = %q (stamp %q, before %q), %v", a.Hash, a.Stamp, before.Stamp, err)
	}
}

func TestFileStoreSeesEditsByAnotherProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "users.json")
	ctx := context.Background()
	s := NewFileStore(path)
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("hash-1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "alice"); err != nil { // fills the cache
		t.Fatal(err)
	}
	// Another process replaces the file with one of the same size: only
	// the file's identity and time tell it apart.
	other := `[{"username":"alice","hash":"aGFzaC0y","created":"0001-01-01T00:00:00Z"}]`
	tmp := path + ".cli"
	if err := os.WriteFile(tmp, []byte(other), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	if a, err := s.Get(ctx, "alice"); err != nil || string(a.Hash) != "hash-2" {
		t.Fatalf("Get after outside edit = %q, %v; want hash-2", a.Hash, err)
	}
	if err := s.Create(ctx, Account{Username: "bob", Hash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	if a, err := NewFileStore(path).Get(ctx, "alice"); err != nil || string(a.Hash) != "hash-2" {
		t.Fatalf("Create lost the outside edit: %q, %v", a.Hash, err)
	}
}

func TestFileStoreReturnsCopies(t *testing.T) {
	s := NewFileStore(filepath.Join(t.TempDir(), "users.json"))
	ctx := context.Background()
	if err := s.Create(ctx, Account{Username: "alice", Hash: []byte("hash")}); err != nil {
		t.Fatal(err)
	}
	a, _ := s.Get(ctx, "alice")
	a.Hash[0] = 'X'
	if b, _ := s.Get(ctx, "alice"); string(b.Hash) != "hash" {
		t.Fatalf("changing a returned account changed the store: %q", b.Hash)
	}
}
