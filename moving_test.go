package sessionauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Moving a realm between backends (issue 21): `caddy session-auth export`
// with the old config, `import` with the new one, and the accounts are in
// the new store as they were in the old, every field of them; a bad line
// or a taken name leaves the new store untouched; a realm that moved to
// Redis without its accounts is warned about at start.

// moveDirections are the two ways a realm moves.
func moveDirections() []struct {
	name     string
	from, to backend
} {
	return []struct {
		name     string
		from, to backend
	}{
		{"files to redis", fileBackend(), redisBackend()},
		{"redis to files", redisBackend(), fileBackend()},
	}
}

// accountsIn is a store that reads the accounts of testRealm in the
// backend that Caddyfile lines name, independently of the command.
func accountsIn(t *testing.T, lines string) users.Store {
	t.Helper()
	f := strings.Fields(lines)
	if i := slices.Index(f, "users_file"); i >= 0 {
		return users.NewFileStore(f[i+1])
	}
	pool := testRedis.Pool(0)
	t.Cleanup(func() { pool.Close() })
	return users.NewRedisStore(pool, keyPrefix(testRealm))
}

// putAccount stores a as it is, stamp included, as a realm that used
// everything would hold it.
func putAccount(t *testing.T, s users.Store, a users.Account) {
	t.Helper()
	ctx := context.Background()
	if err := s.Create(ctx, users.Account{Username: a.Username, Hash: a.Hash}); err != nil {
		t.Fatal(err)
	}
	if err := s.Update(ctx, a.Username, func(b *users.Account) error { *b = a; return nil }); err != nil {
		t.Fatal(err)
	}
}

// realmSealer seals as the server of testRealm with testSecret does.
func realmSealer(t *testing.T) factor.Sealer {
	t.Helper()
	keys, err := session.FixedKeys([][]byte{[]byte(testSecret)}).ForRealm(testRealm).Keys()
	if err != nil {
		t.Fatal(err)
	}
	return factor.NewSealer(keys)
}

// everyField is an account with every field set: an app (sealed as the
// realm seals it), one being set up, recovery codes, a passkey, a passkey
// being added, roles, and both states.
func everyField(t *testing.T, name string) users.Account {
	t.Helper()
	hash, err := users.Hash(cliPassword, bcryptfloor.Cost)
	if err != nil {
		t.Fatal(err)
	}
	sealer := realmSealer(t)
	app, err := sealer.Seal([]byte("JBSWY3DPEHPK3PXP"), name)
	if err != nil {
		t.Fatal(err)
	}
	setup, err := sealer.Seal([]byte("KRSXG5CTMVRXEZLU"), name+"\x00viewer")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	return users.Account{
		Username: name, Hash: hash, Stamp: "stamp-of-" + name, Created: at,
		Roles: []string{"editors", "staff"}, Disabled: true, Pending: true,
		TOTP:          &users.TOTP{Secret: app, LastStep: 58000000, Added: at.Add(time.Hour)},
		TOTPEnrolment: setup, TOTPEnrolmentUntil: at.Add(2 * time.Hour),
		Recovery: []string{"hash-of-code-1", "hash-of-code-2"},
		Passkeys: []passkey.Credential{{
			ID: []byte("credential id"), PublicKey: []byte("cose key"), SignCount: 7, AAGUID: []byte("aaguid"),
			Transports: []string{"usb"}, BackupEligible: true, BackupState: true, Name: "YubiKey",
			Created: at, LastUsed: at.Add(3 * time.Hour), Passwordless: true,
		}},
		PasskeyHandle: []byte("user handle"), PasskeyEnrolment: []byte(`{"kind":"register"}`),
		LastLogin: at.Add(4 * time.Hour),
	}
}

// wantEveryField asserts that an exported line holds every field of an
// account, each under its stored name.
func wantEveryField(t *testing.T, line string) {
	t.Helper()
	var got map[string]json.RawMessage
	if err := json.Unmarshal([]byte(line), &got); err != nil {
		t.Fatalf("an exported line is not a JSON object: %v", err)
	}
	typ := reflect.TypeFor[users.Account]()
	for i := range typ.NumField() {
		name, _, _ := strings.Cut(typ.Field(i).Tag.Get("json"), ",")
		if _, ok := got[name]; !ok {
			t.Errorf("the exported account lacks the field %q", name)
		}
	}
}

// sameAccounts asserts that two stores hold the same accounts, compared
// in the form the stores keep them.
func sameAccounts(t *testing.T, want, got users.Store) {
	t.Helper()
	ctx := context.Background()
	a, errA := want.List(ctx)
	b, errB := got.List(ctx)
	if errA != nil || errB != nil {
		t.Fatal(errA, errB)
	}
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	if !bytes.Equal(ja, jb) {
		t.Fatalf("the accounts differ:\nwant %s\ngot  %s", ja, jb)
	}
}

// exportLine is an account as one line of an export.
func exportLine(t *testing.T, a users.Account) string {
	t.Helper()
	line, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	return string(line)
}

// plainAccount is an account with a password and nothing else.
func plainAccount(t *testing.T, name, password string) users.Account {
	t.Helper()
	hash, err := users.Hash(password, bcryptfloor.Cost)
	if err != nil {
		t.Fatal(err)
	}
	return users.Account{Username: name, Hash: hash, Stamp: "stamp-of-" + name, Created: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC)}
}

// TestExportThenImportIntoTheOtherBackendKeepsEveryAccount: an export
// from one backend imported into the other gives the same accounts, every
// field of them (stamps, sealed secrets, passkeys, states); the export
// file is new and its owner's alone; and an imported account logs in
// through a real Caddy on the new backend.
func TestExportThenImportIntoTheOtherBackendKeepsEveryAccount(t *testing.T) {
	for _, d := range moveDirections() {
		t.Run(d.name, func(t *testing.T) {
			fromLines := "secret " + testSecret + "\n\t\t" + d.from.lines(t)
			toLines := "secret " + testSecret + "\n\t\t" + d.to.lines(t)
			from, to := accountsIn(t, fromLines), accountsIn(t, toLines)
			oldConfig, newConfig := cliCaddyfile(t, fromLines), cliCaddyfile(t, toLines)

			mustRunCLI(t, cliPassword+"\n", "--config", oldConfig, "add", "--role", "editors", "alice")
			putAccount(t, from, everyField(t, "bob"))
			carol := plainAccount(t, "carol", cliPassword)
			carol.Pending = true
			putAccount(t, from, carol)

			export := filepath.Join(t.TempDir(), "accounts.jsonl")
			out := mustRunCLI(t, "", "--config", oldConfig, "export", "--file", export)
			if want := "Exported 3 accounts of realm " + testRealm + " to " + export + ".\n"; out != want {
				t.Fatalf("export said %q, want %q", out, want)
			}
			info, err := os.Stat(export)
			if err != nil || info.Mode().Perm() != 0o600 {
				t.Fatalf("the export file: %v, %v; want mode 0600", info, err)
			}
			data, _ := os.ReadFile(export)
			lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
			if len(lines) != 3 || !strings.Contains(lines[1], `"username":"bob"`) {
				t.Fatalf("the export holds %d lines, want alice, bob and carol one a line:\n%s", len(lines), data)
			}
			wantEveryField(t, lines[1])
			if stdout := mustRunCLI(t, "", "--config", oldConfig, "export"); stdout != string(data) {
				t.Fatalf("export to standard output wrote\n%s\nbut to the file\n%s", stdout, data)
			}
			wantCLIFailure(t, "", export+" exists already", "--config", oldConfig, "export", "--file", export)
			if again, _ := os.ReadFile(export); !bytes.Equal(again, data) {
				t.Fatal("a refused export changed the existing file")
			}

			if out := mustRunCLI(t, "", "--config", newConfig, "import", "--file", export); out != "Imported 3 accounts into realm "+testRealm+".\n" {
				t.Fatalf("import said %q", out)
			}
			sameAccounts(t, from, to)

			site(t, "session_auth /members/*", toLines)
			c := newClient(t)
			if r := c.login("alice", cliPassword, "/"); r.status != http.StatusSeeOther {
				t.Fatalf("the imported alice logging in on the new backend: %d", r.status)
			}
			wantGranted(t, c.get("/members/x"), "the imported account's session")
			if r := newClient(t).login("carol", cliPassword, "/"); r.status == http.StatusSeeOther || sessionCookie(r) != nil {
				t.Fatalf("the imported carol, still waiting for approval, logged in: %d", r.status)
			}
		})
	}
}

// TestImportRefusesTakenNamesUnlessToldToReplace: an import that meets an
// account of the same name imports nothing and says which and how to
// overwrite; with --replace it overwrites, and the replaced account's
// sessions end.
func TestImportRefusesTakenNamesUnlessToldToReplace(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", lines)
		config := cliCaddyfile(t, lines)
		store := accountsIn(t, lines)
		mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "bob")
		c := newClient(t)
		if r := c.login("bob", cliPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("bob's login: %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "bob's session")

		export := filepath.Join(t.TempDir(), "accounts.jsonl")
		body := exportLine(t, plainAccount(t, "alice", cliOtherPassword)) + "\n" + exportLine(t, plainAccount(t, "bob", cliOtherPassword)) + "\n"
		if err := os.WriteFile(export, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		wantCLIFailure(t, "", "realm "+testRealm+" has an account named bob already: nothing was imported. To overwrite them with the imported ones, pass --replace",
			"--config", config, "import", "--file", export)
		if _, err := store.Get(context.Background(), "alice"); !errors.Is(err, users.ErrNotFound) {
			t.Fatalf("a refused import stored alice: %v", err)
		}
		if !users.Verify(getAccount(t, store, "bob").Hash, cliPassword) {
			t.Fatal("a refused import changed bob's password")
		}
		wantGranted(t, c.get("/members/x"), "bob's session after a refused import")

		out := mustRunCLI(t, "", "--config", config, "import", "--replace", "--file", export)
		if want := "Imported 2 accounts into realm " + testRealm + ", replacing bob, and ended 1 session.\n"; out != want {
			t.Fatalf("import --replace said %q, want %q", out, want)
		}
		wantDenied(t, c.get("/members/x"), "the replaced account's session")
		if !users.Verify(getAccount(t, store, "bob").Hash, cliOtherPassword) || !users.Verify(getAccount(t, store, "alice").Hash, cliOtherPassword) {
			t.Fatal("after import --replace, bob and alice do not have the imported passwords")
		}
	})
}

// TestImportWritesNothingWhenALineIsBad: every line is checked before
// anything is written, so a bad third line leaves the store as it was
// (the two good lines before it are not imported either), and the
// refusal names the line and why.
func TestImportWritesNothingWhenALineIsBad(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		good := func(name string) string { return exportLine(t, plainAccount(t, name, cliPassword)) }
		shouting := plainAccount(t, "carol", cliPassword)
		shouting.Username = "Carol"
		clear := plainAccount(t, "carol", cliPassword)
		clear.Hash = []byte(cliPassword)
		badRole := plainAccount(t, "carol", cliPassword)
		badRole.Roles = []string{"a,b"}
		for _, tc := range []struct{ name, line, want string }{
			{"not JSON", `{"username":"carol","hash":`, "not an account"},
			{"an unknown field", strings.TrimSuffix(good("carol"), "}") + `,"colour":"red"}`, `not an account (json: unknown field "colour")`},
			{"a name as nobody could log in with", exportLine(t, shouting), `username "Carol" is not written as the stores keep it`},
			{"a password in clear", exportLine(t, clear), "carol: the password hash is not a bcrypt hash"},
			{"a role no rule could name", exportLine(t, badRole), "carol: Role names are"},
			{"the name of line 1", good("alice"), "alice is on line 1 already"},
			{"two accounts on one line", good("carol") + good("dave"), "more than one account on one line"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				input := good("alice") + "\n" + good("bob") + "\n" + tc.line + "\n" + good("erin") + "\n"
				wantCLIFailure(t, input, "line 3 of the export: "+tc.want, "--config", config, "import")
				if list, err := store.List(context.Background()); err != nil || len(list) != 0 {
					t.Fatalf("an import with a bad third line stored %d accounts (%v)", len(list), err)
				}
			})
		}
		wantCLIFailure(t, "", "the export holds no accounts; nothing was imported", "--config", config, "import")
	})
}

// TestImportRefusesHashesCheaperThanTheFloor: a hash below bcrypt's floor
// would answer a login faster than an unknown name's dummy hash, telling
// that the account exists: the import refuses it, naming the line and the
// account, and writes nothing.
func TestImportRefusesHashesCheaperThanTheFloor(t *testing.T) {
	realBcrypt(t)
	forEachCLIBackend(t, func(t *testing.T, config string, store users.Store) {
		cheap := plainAccount(t, "carol", cliPassword)
		hash, err := bcrypt.GenerateFromPassword([]byte(cliPassword), bcrypt.MinCost)
		if err != nil {
			t.Fatal(err)
		}
		cheap.Hash = hash
		input := exportLine(t, plainAccount(t, "alice", cliPassword)) + "\n" + exportLine(t, cheap) + "\n"
		wantCLIFailure(t, input, fmt.Sprintf("line 2 of the export: carol: the password hash has bcrypt cost %d, below the lowest this plugin accepts (%d)",
			bcrypt.MinCost, users.MinBcryptCost), "--config", config, "import")
		if list, err := store.List(context.Background()); err != nil || len(list) != 0 {
			t.Fatalf("an import with a cheap hash on line 2 stored %d accounts (%v)", len(list), err)
		}
	})
}

// TestImportSealsAuthenticatorAppsAgainWithTheOldConfigsKeys: an app's
// secret is sealed under keys of the old store (its generated key, here),
// which the new store does not have. Without the old config the import
// refuses, naming the account, and writes nothing; with --keys-from it
// seals the secret again, and the user logs in on the new backend with
// the same app.
func TestImportSealsAuthenticatorAppsAgainWithTheOldConfigsKeys(t *testing.T) {
	fileLines := fileBackend().lines(t)
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileLines)
	secret, _ := registerEnrolled(t, "tina")
	oldConfig := cliCaddyfile(t, fileLines)
	export := filepath.Join(t.TempDir(), "accounts.jsonl")
	mustRunCLI(t, "", "--config", oldConfig, "export", "--file", export)

	redisLines := redisBackend().lines(t)
	newConfig := cliCaddyfile(t, redisLines)
	wantCLIFailure(t, "", "the authenticator app of tina is sealed under keys realm "+testRealm+" does not have", "--config", newConfig, "import", "--file", export)
	if list, err := accountsIn(t, redisLines).List(context.Background()); err != nil || len(list) != 0 {
		t.Fatalf("a refused import stored %d accounts (%v)", len(list), err)
	}
	if out := mustRunCLI(t, "", "--config", newConfig, "import", "--file", export, "--keys-from", oldConfig); out != "Imported 1 account into realm "+testRealm+".\n" {
		t.Fatalf("import --keys-from said %q", out)
	}

	site(t, "session_auth /members/*", redisLines)
	advance(2 * time.Minute) // past the step of the code the setup used
	freshStep()
	c := newClient(t)
	c.passwordStep("tina", "/members/x")
	wantLoggedInWith(t, c, c.sendCode(codeAt(t, secret, 0)), "/members/x", session.FactorPassword+","+session.FactorTOTP, "the moved account's app")
	wantGranted(t, c.get("/members/x"), "the moved account's session")
}

// TestStartupWarnsWhenARealmMovedToRedisLeftItsAccountsInFiles: a realm
// that starts empty on Redis while its users file under Caddy's data
// directory holds accounts (the site switched backends and nothing was
// moved) gets a warning that names the commands that move them; once the
// realm holds accounts in Redis, it does not.
func TestStartupWarnsWhenARealmMovedToRedisLeftItsAccountsInFiles(t *testing.T) {
	const realm = "left-in-files" // a realm of its own: other tests keep the site's realm in the data directory
	path := filepath.Join(dataDir(), realm, "users.json")
	if _, err := os.Stat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("%s exists before the test: %v", path, err)
	}
	t.Cleanup(func() { os.Remove(path) })
	putAccount(t, users.NewFileStore(path), plainAccount(t, "olga", cliPassword))

	redisLines := "realm " + realm + "\n\t\t" + redisBackend().lines(t)
	logFile := site(t, "session_auth /members/*", redisLines)
	warned := byRealm(waitForLogLines(t, logFile, leftInFiles, func(ls []map[string]any) bool { return byRealm(ls)[realm] != nil }))[realm]
	msg, _ := warned["msg"].(string)
	for _, part := range []string{"caddy session-auth export", "caddy session-auth import", "no accounts in Redis"} {
		if !strings.Contains(msg, part) {
			t.Errorf("the warning does not say %q: %q", part, msg)
		}
	}
	if warned["level"] != "warn" || warned["users_file"] != path || warned["accounts"] != float64(1) {
		t.Errorf("the warning is %v; want level warn, users_file %s, accounts 1", warned, path)
	}

	export := filepath.Join(t.TempDir(), "accounts.jsonl")
	mustRunCLI(t, "", "--config", cliCaddyfile(t, "realm "+realm), "export", "--file", export)
	mustRunCLI(t, "", "--config", cliCaddyfile(t, redisLines), "import", "--file", export)
	logFile = site(t, "session_auth /members/*", redisLines)
	waitForLogLines(t, logFile, "session_auth realm", func(ls []map[string]any) bool { return byRealm(ls)[realm] != nil })
	data, _ := os.ReadFile(logFile)
	if lines := logLines(t, string(data), leftInFiles); len(lines) != 0 {
		t.Fatalf("warned after the move: %v", lines)
	}
	if r := newClient(t).login("olga", cliPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the moved account's login: %d", r.status)
	}
}

// TestExportRefusesAnEmptyRealm: an export of a realm with no accounts is
// most likely the wrong config or the wrong user; it says so and makes no
// file.
func TestExportRefusesAnEmptyRealm(t *testing.T) {
	forEachCLIBackend(t, func(t *testing.T, config string, _ users.Store) {
		export := filepath.Join(t.TempDir(), "accounts.jsonl")
		wantCLIFailure(t, "", "realm "+testRealm+" has no accounts in", "--config", config, "export", "--file", export)
		if _, err := os.Stat(export); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("a refused export made the file: %v", err)
		}
	})
}

// TestExportAndImportAnswerPlainly: run as the caddy binary, export to
// standard output prints the accounts alone there (its one sentence goes
// to standard error), and import answers in one sentence, or fails with
// one on standard error.
func TestExportAndImportAnswerPlainly(t *testing.T) {
	caddyBinary(t)
	fileLines := fileBackend().lines(t)
	oldConfig := cliCaddyfile(t, fileLines)
	wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", oldConfig, "erin"), "Added user erin.\n", "add")

	r := runCaddy(t, "", "session-auth", "export", "--config", oldConfig)
	if r.code != 0 || !strings.HasPrefix(r.stdout, `{"username":"erin",`) || strings.Count(r.stdout, "\n") != 1 || r.stderr != "Exported 1 account of realm "+testRealm+".\n" {
		t.Fatalf("export to standard output: exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}

	newConfig := cliCaddyfile(t, redisBackend().lines(t))
	bad := runCaddy(t, "not an account\n", "session-auth", "import", "--config", newConfig)
	if bad.code == 0 || bad.stdout != "" || strings.Count(bad.stderr, "\n") != 1 || !strings.HasPrefix(bad.stderr, "Line 1 of the export: not an account") || !strings.HasSuffix(bad.stderr, "; nothing was imported.\n") {
		t.Fatalf("import of a bad line: exit %d, stdout %q, stderr %q", bad.code, bad.stdout, bad.stderr)
	}
	wantAnswer(t, runCaddy(t, r.stdout, "session-auth", "import", "--config", newConfig), "Imported 1 account into realm "+testRealm+".\n", "import")
}
