package sessionauth

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"time"

	"github.com/caddyserver/caddy/v2"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/caddy-session-auth/caddy-session-auth/sessionstore"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "session-auth",
		Usage: "add|password|remove|list [--config <path>] [--adapter <name>] [--handler <n>] [<username>]",
		Short: "Manages the accounts of a session_auth site",
		Long: `
Adds, lists and removes the accounts of the session_auth handler in a config,
and sets their passwords, in the backend that config names: its Redis, or its
users file. Registration is closed by default; this is how an owner lets
people in.

  caddy session-auth add alice        asks for a password, creates the account
  caddy session-auth password alice   sets a new password
  caddy session-auth remove alice     deletes the account
  caddy session-auth list             prints the usernames

On a terminal the password is read twice without echo; otherwise one line is
read from stdin, for scripts: printf '%s\n' "$PW" | caddy session-auth add bob

--config and --adapter work as for 'caddy run'. A config with several
session_auth handlers picks one with --handler (0 is the first).`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("config", "c", "", "Configuration file (default: ./Caddyfile)")
			cmd.Flags().StringP("adapter", "a", "", "Name of config adapter to apply")
			cmd.Flags().Int("handler", 0, "Which session_auth handler of the config, counting from 0")
			cmd.Args = cobra.RangeArgs(1, 2)
			cmd.RunE = caddycmd.WrapCommandFuncForCobra(cmdSessionAuth)
		},
	})
}

func cmdSessionAuth(fl caddycmd.Flags) (int, error) {
	args := fl.Args()
	action := args[0]
	sa, err := handlerFromConfig(fl.String("config"), fl.String("adapter"), fl.Int("handler"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	store, revoke, closeStore, err := sa.openBackend()
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	defer closeStore()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if action == "list" {
		accounts, err := store.List(ctx)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		for _, a := range accounts {
			fmt.Printf("%s\t%s\n", a.Username, a.Created.Format(time.RFC3339))
		}
		return caddy.ExitCodeSuccess, nil
	}
	if len(args) != 2 {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("%s needs a username", action)
	}
	username, err := users.Normalize(args[1])
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	switch action {
	case "add", "password":
		hash, err := sa.readNewPassword()
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		if action == "add" {
			err = store.Create(ctx, users.Account{Username: username, Hash: hash, Created: time.Now()})
		} else {
			err = store.SetHash(ctx, username, hash)
		}
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("%s: %w", username, err)
		}
	case "remove":
		if err := store.Delete(ctx, username); err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("%s: %w", username, err)
		}
	default:
		return caddy.ExitCodeFailedStartup, fmt.Errorf("unknown action %q: use add, password, remove or list", action)
	}
	if action != "add" {
		// A removed account or a reset password must not leave someone
		// logged in with the old credentials.
		n, err := revoke(ctx, username)
		if err == nil {
			// A login that checked the old password just before the change
			// may create its session just after the first pass: look again
			// once such a login has had time to finish.
			time.Sleep(revokeAgainAfter)
			var more int
			more, err = revoke(ctx, username)
			n += more
		}
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("%s: %s done, but ending its sessions failed: %w", username, action, err)
		}
		fmt.Fprintf(os.Stderr, "%s: ended %d session(s)\n", username, n)
	}
	fmt.Fprintf(os.Stderr, "%s: %s done\n", username, action)
	return caddy.ExitCodeSuccess, nil
}

// handlerFromConfig finds the n-th session_auth handler in a config.
func handlerFromConfig(configFile, adapter string, n int) (*SessionAuth, error) {
	cfg, _, _, err := caddycmd.LoadConfig(configFile, adapter)
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		return nil, errors.New("no config found: pass --config")
	}
	var tree any
	if err := json.Unmarshal(cfg, &tree); err != nil {
		return nil, fmt.Errorf("reading config: %v", err)
	}
	var found []map[string]any
	findHandlers(tree, &found)
	if n < 0 || n >= len(found) {
		return nil, fmt.Errorf("the config has %d session_auth handler(s); --handler %d is not one of them", len(found), n)
	}
	raw, err := json.Marshal(found[n])
	if err != nil {
		return nil, err
	}
	sa := new(SessionAuth)
	if err := json.Unmarshal(raw, sa); err != nil {
		return nil, fmt.Errorf("reading the session_auth handler: %v", err)
	}
	sa.applyDefaults()
	return sa, nil
}

func findHandlers(node any, found *[]map[string]any) {
	switch v := node.(type) {
	case map[string]any:
		if v["handler"] == "session_auth" {
			*found = append(*found, v)
		}
		// Sorted, so that --handler names the same handler on every run.
		for _, k := range slices.Sorted(maps.Keys(v)) {
			findHandlers(v[k], found)
		}
	case []any:
		for _, child := range v {
			findHandlers(child, found)
		}
	}
}

// revokeAgainAfter outlasts a login in flight: a bcrypt check at a high cost
// plus its wait for a free core.
var revokeAgainAfter = 3 * time.Second

// revokeFunc ends every session of a user and says how many it ended.
type revokeFunc func(ctx context.Context, username string) (int, error)

// openBackend opens the accounts and sessions the handler's config names,
// as the server would, without starting anything else.
func (sa *SessionAuth) openBackend() (users.Store, revokeFunc, func(), error) {
	if sa.Redis != "" {
		if err := checkRedisURL(sa.Redis); err != nil {
			return nil, nil, nil, err
		}
		pool := newRedisPool(sa.Redis)
		revoke := func(ctx context.Context, username string) (int, error) {
			return sessionstore.RevokeRedisUser(ctx, pool, redisSessionPrefix, username)
		}
		return users.NewRedisStore(pool, redisKeyPrefix), revoke, func() { pool.Close() }, nil
	}
	sa.defaultFilePaths()
	files := &sessionstore.Files{Dir: sa.SessionsDir}
	revoke := func(_ context.Context, username string) (int, error) { return files.RevokeUser(username) }
	return users.NewFileStore(sa.UsersFile), revoke, func() {}, nil
}

// readNewPassword reads a password, checks it against the same rules as
// registration, and hashes it at the configured cost.
func (sa *SessionAuth) readNewPassword() ([]byte, error) {
	password, err := readPassword(os.Stdin)
	if err != nil {
		return nil, err
	}
	if err := (users.Policy{MinLength: sa.MinPasswordLength}).Check(password); err != nil {
		return nil, err
	}
	return users.Hash(password, sa.BcryptCost)
}

// readPassword prompts twice without echo on a terminal, and otherwise
// reads one line, as `caddy hash-password` does.
func readPassword(in *os.File) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(in).ReadBytes('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", err
		}
		line = bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
		return string(line), nil
	}
	state, _ := term.GetState(fd)
	c := make(chan os.Signal, 1)
	signal.Notify(c, os.Interrupt)
	go func() {
		if _, ok := <-c; ok {
			_ = term.Restore(fd, state)
			os.Exit(caddy.ExitCodeFailedStartup)
		}
	}()
	defer func() { signal.Stop(c); close(c) }()
	fmt.Fprint(os.Stderr, "Password: ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(os.Stderr, "Repeat it: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(os.Stderr)
	if err != nil {
		return "", err
	}
	if !bytes.Equal(first, second) {
		return "", errors.New("the two passwords are not the same")
	}
	return string(first), nil
}
