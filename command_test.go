package sessionauth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/pflag"
	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The `caddy session-auth` tests run the command in this process, as the
// caddy binary would: a Caddyfile on disk, flags parsed by pflag, the
// password on a piped stdin, and the accounts checked in the real backend.

const (
	cliPassword      = "first password 1"
	cliOtherPassword = "second password 2"
)

// cliStore is one accounts backend for the command: the session_auth
// options that name it, and a store that reads it independently.
type cliStore struct {
	name  string
	setup func(t *testing.T) (options string, store users.Store)
}

func cliStores() []cliStore {
	return []cliStore{
		{"files", func(t *testing.T) (string, users.Store) {
			dir := t.TempDir()
			usersFile := filepath.Join(dir, "users.json")
			return fmt.Sprintf("users_file %s\n\t\tsessions_dir %s", usersFile, filepath.Join(dir, "s")),
				users.NewFileStore(usersFile)
		}},
		{"redis", func(t *testing.T) (string, users.Store) {
			if err := testRedis.FlushAll(); err != nil {
				t.Fatalf("flushing redis: %v", err)
			}
			pool := testRedis.Pool(0)
			t.Cleanup(func() { pool.Close() })
			return "redis " + testRedis.URL(0), users.NewRedisStore(pool, keyPrefix(testRealm))
		}},
	}
}

// forEachCLIBackend runs a command test once per backend, with a Caddyfile
// whose one session_auth handler uses it at bcrypt cost 10.
func forEachCLIBackend(t *testing.T, test func(t *testing.T, config string, store users.Store)) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			options, store := b.setup(t)
			config := writeCLICaddyfile(t, "Caddyfile", fmt.Sprintf(`http://localhost:9080 {
	session_auth {
		%s
		bcrypt_cost 10
	}
	file_server
}
`, options))
			test(t, config, store)
		})
	}
}

func writeCLICaddyfile(t *testing.T, name, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(onFreePorts(body)), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// runCLI runs `caddy session-auth <args>` with stdin as its standard input
// and returns what it printed on standard output, its exit code and error.
func runCLI(t *testing.T, stdin string, args ...string) (string, int, error) {
	t.Helper()
	fs := pflag.NewFlagSet("session-auth", pflag.ContinueOnError)
	fs.StringP("config", "c", "", "")
	fs.StringP("adapter", "a", "", "")
	fs.String("realm", "", "")
	fs.BoolP("verbose", "v", false, "")
	fs.StringArray("role", nil, "")
	fs.String("expires", "", "")
	fs.String("site", "", "")
	fs.String("file", "", "")
	fs.Bool("replace", false, "")
	fs.String("keys-from", "", "")
	if err := fs.Parse(args); err != nil {
		t.Fatalf("parsing %q: %v", args, err)
	}

	inR, inW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		_, _ = io.WriteString(inW, stdin)
		inW.Close()
	}()
	outR, outW, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	printed := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(outR)
		printed <- string(b)
	}()

	oldIn, oldOut := os.Stdin, os.Stdout
	os.Stdin, os.Stdout = inR, outW
	var code int
	func() {
		defer func() {
			os.Stdin, os.Stdout = oldIn, oldOut
			outW.Close()
			inR.Close()
		}()
		code, err = cmdSessionAuth(caddycmd.Flags{FlagSet: fs})
	}()
	out := <-printed
	outR.Close()
	return out, code, err
}

// mustRunCLI is runCLI for a command that must succeed.
func mustRunCLI(t *testing.T, stdin string, args ...string) string {
	t.Helper()
	out, code, err := runCLI(t, stdin, args...)
	if err != nil || code != 0 {
		t.Fatalf("caddy session-auth %s: exit %d, %v", strings.Join(args, " "), code, err)
	}
	return out
}

// wantCLIFailure runs a command that must fail with a non-zero exit code and
// an error containing want.
func wantCLIFailure(t *testing.T, stdin, want string, args ...string) {
	t.Helper()
	_, code, err := runCLI(t, stdin, args...)
	if err == nil || code == 0 {
		t.Fatalf("caddy session-auth %s: exit %d, error %v; want a failure", strings.Join(args, " "), code, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("caddy session-auth %s: error %q; want it to contain %q", strings.Join(args, " "), err, want)
	}
}

func getAccount(t *testing.T, store users.Store, username string) users.Account {
	t.Helper()
	a, err := store.Get(context.Background(), username)
	if err != nil {
		t.Fatalf("reading account %q: %v", username, err)
	}
	return a
}

func TestSessionAuthCommandAddCreatesAccountWithVerifiableHash(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "alice")
		a := getAccount(t, store, "alice")
		if !users.Verify(a.Hash, cliPassword) {
			t.Fatal("the stored hash does not verify the password given on stdin")
		}
		if users.Verify(a.Hash, cliPassword+"\n") || users.Verify(a.Hash, "wrong password") {
			t.Fatal("the stored hash verifies a password it should not")
		}
		if cost, err := bcrypt.Cost(a.Hash); err != nil || cost != 10 {
			t.Fatalf("bcrypt cost = %d, %v; want the configured 10", cost, err)
		}
		if a.Created.IsZero() {
			t.Fatal("the account has no creation time")
		}
	})
}

func TestSessionAuthCommandAddReadsCRLFPassword(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\r\n", "--config", config, "add", "alice")
		if !users.Verify(getAccount(t, store, "alice").Hash, cliPassword) {
			t.Fatal("a password piped with CRLF does not verify without the CR")
		}
	})
}

func TestSessionAuthCommandAddRefusesTakenName(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "alice")
		_, code, err := runCLI(t, cliOtherPassword+"\n", "--config", config, "add", "alice")
		if err == nil || code == 0 || !errors.Is(err, users.ErrTaken) {
			t.Fatalf("second add: exit %d, %v; want a failure wrapping ErrTaken", code, err)
		}
		if !users.Verify(getAccount(t, store, "alice").Hash, cliPassword) {
			t.Fatal("the failed add changed the existing account's password")
		}
	})
}

func TestSessionAuthCommandAddEnforcesPasswordPolicy(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		for _, tc := range []struct{ name, password, want string }{
			{"too short", "short\n", "Use at least 8 characters"},
			{"empty", "\n", "Use at least 8 characters"},
			{"no input", "", "Use at least 8 characters"},
			{"over 72 bytes", strings.Repeat("x", 73) + "\n", "Use at most 72 bytes"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				wantCLIFailure(t, tc.password, tc.want, "--config", config, "add", "alice")
				if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
					t.Fatalf("after a refused password, Get = %v; want ErrNotFound", err)
				}
			})
		}
	})
}

func TestSessionAuthCommandUsesConfiguredMinPasswordLength(t *testing.T) {
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users.json")
	config := writeCLICaddyfile(t, "Caddyfile", fmt.Sprintf(`http://localhost:9080 {
	session_auth {
		users_file %s
		sessions_dir %s
		bcrypt_cost 10
		min_password_length 20
	}
}
`, usersFile, filepath.Join(dir, "s")))
	wantCLIFailure(t, "only 19 characters\n", "Use at least 20 characters", "--config", config, "add", "alice")
	mustRunCLI(t, "twenty characters!!!\n", "--config", config, "add", "alice")
	if !users.Verify(getAccount(t, users.NewFileStore(usersFile), "alice").Hash, "twenty characters!!!") {
		t.Fatal("the account does not verify its password")
	}
}

func TestSessionAuthCommandPasswordReplacesHash(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "alice")
		before := getAccount(t, store, "alice")
		mustRunCLI(t, cliOtherPassword+"\n", "--config", config, "password", "alice")
		after := getAccount(t, store, "alice")
		if string(after.Hash) == string(before.Hash) {
			t.Fatal("the hash did not change")
		}
		if users.Verify(after.Hash, cliPassword) {
			t.Fatal("the old password still verifies")
		}
		if !users.Verify(after.Hash, cliOtherPassword) {
			t.Fatal("the new password does not verify")
		}
		if !after.Created.Equal(before.Created) {
			t.Fatalf("the creation time changed from %v to %v", before.Created, after.Created)
		}
	})
}

func TestSessionAuthCommandPasswordOfMissingUserFails(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		_, code, err := runCLI(t, cliPassword+"\n", "--config", config, "password", "nobody")
		if err == nil || code == 0 || !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("password for a missing user: exit %d, %v; want a failure wrapping ErrNotFound", code, err)
		}
		if _, err := store.Get(context.Background(), "nobody"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("password created the account: Get = %v", err)
		}
	})
}

func TestSessionAuthCommandPasswordEnforcesPolicy(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "alice")
		wantCLIFailure(t, "short\n", "Use at least 8 characters", "--config", config, "password", "alice")
		if !users.Verify(getAccount(t, store, "alice").Hash, cliPassword) {
			t.Fatal("a refused new password changed the account")
		}
	})
}

func TestSessionAuthCommandListPrintsUsernames(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		if out := mustRunCLI(t, "", "--config", config, "list"); out != "" {
			t.Fatalf("list with no accounts printed %q", out)
		}
		for _, name := range []string{"carol", "alice", "bob"} {
			mustRunCLI(t, cliPassword+"\n", "--config", config, "add", name)
		}
		out := mustRunCLI(t, "", "--config", config, "list")
		var names []string
		for _, line := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
			name, _, _ := strings.Cut(line, "\t")
			names = append(names, name)
		}
		if got := strings.Join(names, ","); got != "alice,bob,carol" {
			t.Fatalf("list printed usernames %q (output %q); want alice,bob,carol in order", got, out)
		}
		if strings.Contains(out, "$2a$") || strings.Contains(out, cliPassword) {
			t.Fatalf("list printed a hash or password: %q", out)
		}
	})
}

func TestSessionAuthCommandRemoveDeletesAccount(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "alice")
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "bob")
		mustRunCLI(t, "", "--config", config, "remove", "alice")
		if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("after remove, Get = %v; want ErrNotFound", err)
		}
		getAccount(t, store, "bob") // the other account stays
	})
}

func TestSessionAuthCommandRemoveMissingFails(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		_, code, err := runCLI(t, "", "--config", config, "remove", "nobody")
		if err == nil || code == 0 || !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("remove of a missing user: exit %d, %v; want a failure wrapping ErrNotFound", code, err)
		}
	})
}

func TestSessionAuthCommandNormalisesUsernames(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "Alice")
		a := getAccount(t, store, "alice")
		if a.Username != "alice" {
			t.Fatalf("stored username = %q; want alice", a.Username)
		}
		if _, err := store.Get(context.Background(), "Alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("an account was stored under the unnormalised name: Get(Alice) = %v", err)
		}
		_, _, err := runCLI(t, cliOtherPassword+"\n", "--config", config, "add", " ALICE ")
		if !errors.Is(err, users.ErrTaken) {
			t.Fatalf("add ' ALICE ' after Alice: %v; want ErrTaken", err)
		}
		mustRunCLI(t, cliOtherPassword+"\n", "--config", config, "password", "ALICE")
		if !users.Verify(getAccount(t, store, "alice").Hash, cliOtherPassword) {
			t.Fatal("password ALICE did not change alice's password")
		}
		mustRunCLI(t, "", "--config", config, "remove", "aLiCe")
		if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("remove aLiCe left alice: Get = %v", err)
		}
		wantCLIFailure(t, cliPassword+"\n", "Usernames are", "--config", config, "add", "bad name")
	})
}

func TestSessionAuthCommandUnknownRealmFails(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		wantCLIFailure(t, cliPassword+"\n", `no realm "elsewhere". Its realms: `+testRealm, "--config", config, "--realm", "elsewhere", "add", "alice")
		if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("a failed --realm created the account: Get = %v", err)
		}
	})
}

func TestSessionAuthCommandWithoutHandlerInConfigFails(t *testing.T) {
	config := writeCLICaddyfile(t, "Caddyfile", "http://localhost:9080 {\n\tfile_server\n}\n")
	wantCLIFailure(t, "", "the config has no session_auth handler", "--config", config, "list")
}

func TestSessionAuthCommandUnknownActionFails(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		wantCLIFailure(t, cliPassword+"\n", `there is no action "frobnicate"`, "--config", config, "frobnicate", "alice")
		if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("an unknown action touched the account: Get = %v", err)
		}
	})
}

func TestSessionAuthCommandNeedsUsername(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		for _, action := range []string{"add", "password", "remove"} {
			wantCLIFailure(t, cliPassword+"\n", action+" needs a username", "--config", config, action)
		}
	})
}

func TestSessionAuthCommandAdapterFlag(t *testing.T) {
	dir := t.TempDir()
	usersFile := filepath.Join(dir, "users.json")
	// Not named Caddyfile, so only --adapter says how to read it.
	config := writeCLICaddyfile(t, "site.conf", fmt.Sprintf("http://localhost:9080 {\n\tsession_auth {\n\t\tusers_file %s\n\t\tbcrypt_cost 10\n\t}\n}\n", usersFile))
	mustRunCLI(t, cliPassword+"\n", "--config", config, "--adapter", "caddyfile", "add", "alice")
	if !users.Verify(getAccount(t, users.NewFileStore(usersFile), "alice").Hash, cliPassword) {
		t.Fatal("the account does not verify its password")
	}
}

// TestSessionAuthCommandRealmPicksTheSite: two sites have two realms; the
// command refuses to guess between them, and --realm names one.
func TestSessionAuthCommandRealmPicksTheSite(t *testing.T) {
	// Nothing listens: ports outside ports_test.go's nominal ones.
	dir := t.TempDir()
	first, second := filepath.Join(dir, "first.json"), filepath.Join(dir, "second.json")
	config := writeCLICaddyfile(t, "Caddyfile", fmt.Sprintf(`http://localhost:7081 {
	session_auth {
		users_file %s
		bcrypt_cost 10
	}
}

http://localhost:7082 {
	session_auth {
		users_file %s
		bcrypt_cost 10
	}
}
`, first, second))
	wantCLIFailure(t, cliPassword+"\n", "several realms (localhost-7081, localhost-7082); pick one with --realm", "--config", config, "add", "alice")
	mustRunCLI(t, cliPassword+"\n", "--config", config, "--realm", "localhost-7082", "add", "alice")
	getAccount(t, users.NewFileStore(second), "alice")
	if _, err := users.NewFileStore(first).Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("--realm localhost-7082 also wrote the other realm: %v", err)
	}
}

// TestSentence: an error the command prints reads as a sentence: a capital
// first letter (whatever its script) and one full stop at the end.
func TestSentence(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""},
		{"a", "A."},
		{"no such user", "No such user."},
		{"no such user.", "No such user."},
		{"Already a sentence.", "Already a sentence."},
		{`unknown action "x": use add, password, remove, unlock or list`, `Unknown action "x": use add, password, remove, unlock or list.`},
		{"loading config: open /etc/caddy/Caddyfile: no such file", "Loading config: open /etc/caddy/Caddyfile: no such file."},
		{"3 accounts", "3 accounts."},
		{"élan gone", "Élan gone."},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := sentence(tc.in); got != tc.want {
				t.Fatalf("sentence(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
