package sessionauth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/atomicfile"
	"github.com/caddy-session-auth/caddy-session-auth/internal/factor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// Moving a realm from files to Redis, or back, is `caddy session-auth
// export` with the old config and `import` with the new one. The export is
// one JSON line per account, the account as the store keeps it (its hash,
// stamp, roles, state, sealed app secret, recovery code hashes and
// passkeys): nothing the store does not hold, and nothing of it left out.
// The import checks every line before it writes anything, and writes all
// the accounts at once (one write of the users file, one Redis script), so
// a bad line or a taken name leaves the new store as it was.
//
// An authenticator app's secret is sealed under a key derived from the
// realm's keys: the configured secret, or the key its store generated,
// which stays with the old store. So the import checks that the new realm
// can open each sealed secret; where it cannot, it seals it again, opened
// with the old config's keys (--keys-from), or refuses, saying so.

// maxExportLine is the longest account line the import reads (a hundred
// passkeys fit many times over).
const maxExportLine = 4 << 20

// moveFlags are how export or import was asked to work.
type moveFlags struct {
	file     string // the export file; "" for standard output or input
	replace  bool   // import over accounts that exist
	keysFrom string // the config whose keys open the sealed secrets
}

// readMoveFlags checks --file, --replace and --keys-from, which only
// export and import take. Not every caller defines them (tests build their
// own flag sets).
func readMoveFlags(fl caddycmd.Flags, action string) (moveFlags, error) {
	var mf moveFlags
	mf.file, _ = fl.GetString("file")
	mf.replace, _ = fl.GetBool("replace")
	mf.keysFrom, _ = fl.GetString("keys-from")
	switch {
	case action != "export" && action != "import" && (mf.file != "" || mf.replace || mf.keysFrom != ""):
		return mf, errors.New("--file goes with export and import, --replace and --keys-from with import")
	case action == "export" && (mf.replace || mf.keysFrom != ""):
		return mf, errors.New("--replace and --keys-from go with import")
	}
	return mf, nil
}

// exportCommand writes the realm's accounts, one JSON line each, to the
// file (made new, mode 0600: it holds password hashes) or standard output.
func exportCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, mf moveFlags) (int, error) {
	accounts, err := b.users.List(ctx)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if len(accounts) == 0 {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("realm %s has no accounts in %s: nothing to export (is it the config, and the user, the server runs with?)", sa.Realm, b.where)
	}
	var out bytes.Buffer
	apps := 0
	for _, a := range accounts {
		line, err := json.Marshal(a)
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("encoding the account %s: %v", a.Username, err)
		}
		out.Write(line)
		out.WriteByte('\n')
		if a.TOTP != nil {
			apps++
		}
	}
	done := fmt.Sprintf("Exported %d account%s of realm %s", len(accounts), plural(len(accounts)), sa.Realm)
	if mf.file == "" {
		if _, err := os.Stdout.Write(out.Bytes()); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		fmt.Fprintf(os.Stderr, "%s.\n", done)
	} else {
		if err := writeExportFile(mf.file, out.Bytes()); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		fmt.Printf("%s to %s.\n", done, mf.file)
	}
	if apps > 0 {
		fmt.Fprintf(os.Stderr, "(%d of them %s an authenticator app, sealed under this realm's keys; if the new config has other keys, import with --keys-from and this config.)\n",
			apps, map[bool]string{true: "has", false: "have"}[apps == 1])
	}
	return caddy.ExitCodeSuccess, nil
}

// writeExportFile makes the file, never over an existing one (nor through
// a link: O_EXCL refuses both), readable by its owner alone.
func writeExportFile(path string, data []byte) (err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s exists already: give another name, or remove it first", path)
	}
	if err != nil {
		return fmt.Errorf("cannot make the export file: %v", err)
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	if err := f.Chmod(0o600); err != nil { // whatever the umask
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	return f.Sync()
}

// importCommand reads an export into the realm's store: every line
// checked, then all accounts stored at once, or none.
func importCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, mf moveFlags, adapter string) (int, error) {
	in := io.Reader(os.Stdin)
	if mf.file != "" {
		f, err := os.Open(mf.file)
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("cannot read the export: %v", err)
		}
		defer f.Close()
		in = f
	}
	accounts, err := readExport(in)
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("%w; nothing was imported", err)
	}
	if err := sa.sealForThisRealm(ctx, b, accounts, mf.keysFrom, adapter); err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("%w; nothing was imported", err)
	}
	importer, ok := b.users.(users.Importer)
	if !ok {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("the store %s cannot import", b.where)
	}
	replaced, err := importer.Import(ctx, accounts, mf.replace)
	var taken *users.TakenError
	if errors.As(err, &taken) {
		return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("realm %s has %s already: nothing was imported. To overwrite them with the imported ones, pass --replace",
			sa.Realm, accountsNamed(taken.Usernames)), err}
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	done := fmt.Sprintf("Imported %d account%s into realm %s", len(accounts), plural(len(accounts)), sa.Realm)
	if len(replaced) > 0 {
		// A replaced account is another account now: its sessions end,
		// as after a password change.
		ended := 0
		for _, name := range replaced {
			n, err := b.sessions.EndUser(ctx, name)
			if err != nil {
				return caddy.ExitCodeFailedStartup, fmt.Errorf("%s, but ending the sessions of the replaced accounts failed (they are refused at their next request): %w", done, err)
			}
			ended += n
		}
		b.settle()
		done += fmt.Sprintf(", replacing %s, and ended %d session%s", namesPhrase(replaced), ended, plural(ended))
	}
	fmt.Printf("%s.\n", done)
	return caddy.ExitCodeSuccess, nil
}

// readExport reads and checks every line of an export; any bad line
// refuses the whole of it, naming the line (never its content: it holds a
// hash).
func readExport(in io.Reader) ([]users.Account, error) {
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 64<<10), maxExportLine)
	var accounts []users.Account
	seen := map[string]int{}
	n := 0
	for sc.Scan() {
		n++
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		a, err := readExportLine(line)
		if err != nil {
			return nil, fmt.Errorf("line %d of the export: %v", n, err)
		}
		if first, ok := seen[a.Username]; ok {
			return nil, fmt.Errorf("line %d of the export: %s is on line %d already", n, a.Username, first)
		}
		seen[a.Username] = n
		accounts = append(accounts, a)
	}
	if errors.Is(sc.Err(), bufio.ErrTooLong) {
		return nil, fmt.Errorf("line %d of the export is longer than %d bytes", n+1, maxExportLine)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading the export: %v", err)
	}
	if len(accounts) == 0 {
		return nil, errors.New("the export holds no accounts")
	}
	return accounts, nil
}

// readExportLine decodes one account, refusing fields it does not know:
// they would be lost on the way.
func readExportLine(line []byte) (users.Account, error) {
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	var a users.Account
	if err := dec.Decode(&a); err != nil {
		return a, fmt.Errorf("not an account (%v)", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return a, errors.New("more than one account on one line")
	}
	return users.CheckImported(a)
}

// sealForThisRealm makes sure this realm can open every imported app
// secret: those sealed under other keys are sealed again, opened with the
// keys of the config keysFrom names; without it, they are refused.
func (sa *SessionAuth) sealForThisRealm(ctx context.Context, b *cliBackend, accounts []users.Account, keysFrom, adapter string) error {
	var withApp []*users.Account
	for i := range accounts {
		if accounts[i].TOTP != nil {
			withApp = append(withApp, &accounts[i])
		}
	}
	if len(withApp) == 0 {
		return nil
	}
	// This realm's keys, made as the server would make them at start.
	keys, err := sa.cliKeys(ctx, b, true)
	if err != nil {
		return fmt.Errorf("reading the realm's keys: %v", err)
	}
	ours := factor.NewSealer(keys)
	var foreign []*users.Account
	var names []string
	for _, a := range withApp {
		if _, _, err := ours.Open(a.TOTP.Secret, a.Username); err != nil {
			foreign = append(foreign, a)
			names = append(names, a.Username)
		}
	}
	if len(foreign) == 0 {
		return nil
	}
	if keysFrom == "" {
		return fmt.Errorf("the authenticator app%s of %s %s sealed under keys realm %s does not have (the old config's secret, or the key its store generated). "+
			"Pass --keys-from with the config the export was made with, and the import seals %s again under this realm's keys",
			plural(len(names)), namesPhrase(names), map[bool]string{true: "is", false: "are"}[len(names) == 1], sa.Realm, map[bool]string{true: "it", false: "them"}[len(names) == 1])
	}
	theirs, err := sealerOf(ctx, keysFrom, adapter, sa.Realm)
	if err != nil {
		return err
	}
	for _, a := range foreign {
		secret, _, err := theirs.Open(a.TOTP.Secret, a.Username)
		if err != nil {
			return fmt.Errorf("the authenticator app of %s opens with neither config's keys", a.Username)
		}
		a.TOTP.Secret, err = ours.Seal(secret, a.Username)
		clear(secret)
		if err != nil {
			return err
		}
	}
	return nil
}

// sealerOf opens the sealed secrets of realm (or of the only realm) of the
// config at file, with its keys as they are: nothing is made.
func sealerOf(ctx context.Context, file, adapter, realm string) (factor.Sealer, error) {
	cfg, err := loadConfig(file, adapter, false)
	if err != nil {
		return factor.Sealer{}, fmt.Errorf("--keys-from: %w", err)
	}
	old, err := handlerForRealm(cfg, realm)
	if err != nil {
		if old, err = handlerForRealm(cfg, ""); err != nil {
			return factor.Sealer{}, fmt.Errorf("--keys-from: %w", err)
		}
	}
	b, err := old.openBackend(cfg, "export")
	if err != nil {
		return factor.Sealer{}, fmt.Errorf("--keys-from: %w", err)
	}
	defer b.close()
	keys, err := old.cliKeys(ctx, b, false)
	if err != nil {
		return factor.Sealer{}, fmt.Errorf("--keys-from: reading the keys of realm %s: %v", old.Realm, err)
	}
	if len(keys) == 0 {
		return factor.Sealer{}, fmt.Errorf("--keys-from: realm %s of %s has no keys: no secret, and %s holds no generated key", old.Realm, file, b.where)
	}
	return factor.NewSealer(keys), nil
}

// cliKeys are the realm's keys as the server derives them: from the
// configured secrets, or from the key its store generated (made now if
// create, as the server makes it at start; none if not).
func (sa *SessionAuth) cliKeys(ctx context.Context, b *cliBackend, create bool) ([][]byte, error) {
	secrets, err := resolveSecrets(sa.Secrets)
	if err != nil {
		return nil, err
	}
	if secrets == nil {
		key, err := b.key(ctx, create)
		if err != nil || key == nil {
			return nil, err
		}
		secrets = [][]byte{key}
	}
	return session.FixedKeys(secrets).ForRealm(sa.Realm).Keys()
}

// redisKey is the generated key at key, or nil when there is none and
// create is false.
func redisKey(ctx context.Context, pool *redis.Pool, key string, create bool) ([]byte, error) {
	if create {
		return session.RedisKey(ctx, pool, key)
	}
	conn, err := redisutil.Conn(ctx, pool)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	k, err := redis.Bytes(redis.DoContext(conn, ctx, "GET", key))
	if errors.Is(err, redis.ErrNil) {
		return nil, nil
	}
	return k, err
}

// fileKey is the generated key in the sessions folder, or nil when there
// is none and create is false.
func fileKey(files atomicfile.FS, sessionsDir string, create bool) ([]byte, error) {
	path := filepath.Join(sessionsDir, "cookie.key")
	if create {
		return session.FileKeyIn(files, path)
	}
	k, err := files.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return k, err
}

// accountsNamed says "an account named bob" or "accounts named bob and
// carol".
func accountsNamed(names []string) string {
	if len(names) == 1 {
		return "an account named " + names[0]
	}
	return "accounts named " + namesPhrase(names)
}

// namesPhrase lists names: "bob", "bob and carol", "a, b and c", or the
// first ten and how many more.
func namesPhrase(names []string) string {
	switch {
	case len(names) > 10:
		return strings.Join(names[:10], ", ") + fmt.Sprintf(" and %d more", len(names)-10)
	case len(names) > 1:
		return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
	}
	return strings.Join(names, "")
}
