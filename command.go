package sessionauth

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/throttle"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "session-auth",
		Usage: "add|password|remove|disable|enable|approve|invite|reset-link|unlock|list|role|second-factor|export|import [--config <path>] [--adapter <name>] [--realm <name>] [--role <role>]... [--expires <duration>] [--site <url>] [--file <path>] [--replace] [--keys-from <path>] [--verbose] [add|remove] [<username>] [<role>...]",
		Short: "Manages the accounts of a session_auth realm",
		Long: `
Adds, lists and removes the accounts of a session_auth realm, sets their
passwords and roles and lifts their locks, in the store the config names for
it: its Redis, or its users file. Registration is closed by default; this is
how an owner lets people in.

  caddy session-auth add alice        asks for a password, creates the account
                                      (with the config's default_roles; add
                                      more with --role editors --role staff)
  caddy session-auth password alice   sets a new password; ends alice's sessions
  caddy session-auth remove alice     deletes the account; ends its sessions
  caddy session-auth disable alice    keeps the account but refuses its logins;
                                      ends its sessions (enable undoes it)
  caddy session-auth approve alice    lets an account registered under
                                      "registration approval" log in
  caddy session-auth invite [--role staff] [--expires 7d] [--site https://example.com]
                                      prints a one-time link to register with, under
                                      "registration invite" (default: valid 7 days)
  caddy session-auth reset-link alice [--expires 1h] [--site https://example.com]
                                      prints a one-time link where alice sets a new
                                      password; using it ends her sessions
  caddy session-auth unlock alice     lifts the locks that failed logins put on
                                      the account and on its known browsers
  caddy session-auth list             prints each username, when it was made,
                                      its roles, and "disabled" or "pending"
  caddy session-auth role add alice editors [<role>...]
  caddy session-auth role remove alice editors [<role>...]
                                      gives or takes roles; every server applies
                                      the change at alice's next request, and
                                      no one is logged out
  caddy session-auth second-factor reset alice
                                      removes alice's authenticator app,
                                      passkeys and recovery codes (a lost
                                      phone) and ends
                                      her sessions; she logs in with the
                                      password alone, or sets up a new app at
                                      once where the site requires one
  caddy session-auth export [--file accounts.jsonl]
                                      writes every account of the realm, as
                                      its store keeps it (password hashes
                                      included), one JSON line each, to the
                                      file (made new, mode 0600) or stdout
  caddy session-auth import [--file accounts.jsonl] [--replace] [--keys-from old/Caddyfile]
                                      reads an export into the realm's store:
                                      all of it or, at a bad line or a taken
                                      name (without --replace), nothing. To
                                      move a realm from files to Redis or
                                      back: export with the old config,
                                      import with the new

On a terminal the password is read twice without echo; otherwise one line is
read from stdin, for scripts: printf '%s\n' "$PW" | caddy session-auth add bob

--config and --adapter work as for 'caddy run'. A config with several realms
picks one with --realm. Run it as the user Caddy runs as (for example
sudo -u caddy caddy session-auth ...), so that it finds the same data
directory; as root it refuses to start a store the server would not read.`,
		CobraFunc: func(cmd *cobra.Command) {
			cmd.Flags().StringP("config", "c", "", "Configuration file (default: ./Caddyfile)")
			cmd.Flags().StringP("adapter", "a", "", "Name of config adapter to apply")
			cmd.Flags().String("realm", "", "Which realm of the config (needed when it has several)")
			cmd.Flags().BoolP("verbose", "v", false, "Say which store is used, and show the config adapter's warnings")
			cmd.Flags().StringArray("role", nil, "With add or invite: a role to give the new account (repeat it for more)")
			cmd.Flags().String("expires", "", "With invite or reset-link: how long the link works (default: 7d for invite, 1h for reset-link)")
			cmd.Flags().String("site", "", "With invite or reset-link: the site's address, to print a whole link (https://example.com)")
			cmd.Flags().String("file", "", "With export or import: the export file (default: standard output or input)")
			cmd.Flags().Bool("replace", false, "With import: overwrite accounts of the same names (default: refuse, importing nothing)")
			cmd.Flags().String("keys-from", "", "With import: the config the export was made with, to seal authenticator apps again for this realm")
			cmd.Args = cobra.MinimumNArgs(1)
			cmd.SilenceErrors = true
			cmd.SilenceUsage = true
			cmd.RunE = func(cmd *cobra.Command, _ []string) error {
				code, err := cmdSessionAuth(caddycmd.Flags{FlagSet: cmd.Flags()})
				if err != nil {
					fmt.Fprintln(os.Stderr, sentence(err.Error()))
					os.Exit(code)
				}
				return nil
			}
		},
	})
}

// sentence makes an error read as one: a capital first letter and a full stop.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if first, size := utf8.DecodeRuneInString(s); first != utf8.RuneError {
		s = string(unicode.ToUpper(first)) + s[size:]
	}
	if !strings.HasSuffix(s, ".") {
		s += "."
	}
	return s
}

func cmdSessionAuth(fl caddycmd.Flags) (int, error) {
	args := fl.Args()
	action := args[0]
	verbose := fl.Bool("verbose")
	if !slices.Contains([]string{"add", "password", "remove", "disable", "enable", "approve", "invite", "reset-link", "unlock", "list", "role", "second-factor", "export", "import"}, action) {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("there is no action %q. Use add, password, remove, disable, enable, approve, invite, reset-link, unlock, list, role, second-factor, export or import", action)
	}
	if err := checkArgs(args); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	// Not every caller defines --role (tests build their own flag sets).
	flagRoles, _ := fl.GetStringArray("role")
	if len(flagRoles) > 0 && action != "add" && action != "invite" {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("--role goes with add or invite; to change the roles of an account, use role add or role remove")
	}
	link, err := readLinkFlags(fl, action)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	move, err := readMoveFlags(fl, action)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	newRoles, err := users.NormalizeRoles(flagRoles)
	if err != nil {
		return caddy.ExitCodeFailedStartup, said{users.Explain(err), err}
	}
	cfg, err := loadConfig(fl.String("config"), fl.String("adapter"), verbose)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	sa, err := handlerForRealm(cfg, fl.String("realm"))
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	b, err := sa.openBackend(cfg, action)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	defer b.close()
	if verbose {
		fmt.Fprintf(os.Stderr, "Realm %s, accounts in %s.\n", sa.Realm, b.where)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	if action == "list" {
		accounts, err := b.users.List(ctx)
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		for _, a := range accounts {
			line := a.Username + "\t" + a.Created.Format(time.RFC3339) + "\t" + strings.Join(a.Roles, ",")
			switch {
			case a.Disabled:
				line += "\tdisabled"
			case a.Pending:
				line += "\tpending"
			}
			fmt.Println(line)
		}
		return caddy.ExitCodeSuccess, nil
	}
	if action == "role" {
		return roleCommand(ctx, sa, b, args[1], args[2], args[3:])
	}
	if action == "invite" {
		return inviteCommand(ctx, sa, b, newRoles, link)
	}
	if action == "second-factor" {
		return resetFactorsCommand(ctx, sa, b, args[2])
	}
	if action == "export" {
		return exportCommand(ctx, sa, b, move)
	}
	if action == "import" {
		return importCommand(ctx, sa, b, move, fl.String("adapter"))
	}
	username, err := users.Normalize(args[1])
	if err != nil {
		return caddy.ExitCodeFailedStartup, said{users.Explain(err), err}
	}
	notFound := func(err error) error {
		if errors.Is(err, users.ErrNotFound) {
			return said{fmt.Sprintf("there is no user %s in realm %s (%s)", username, sa.Realm, b.where), err}
		}
		return err
	}
	var done string
	switch action {
	case "add":
		defaults, err := users.NormalizeRoles(sa.DefaultRoles)
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("the config's default_roles: %s", users.Explain(err))
		}
		roles, _ := users.NormalizeRoles(append(defaults, newRoles...))
		hash, err := sa.readNewPassword()
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		err = b.users.Create(ctx, users.Account{Username: username, Hash: hash, Created: time.Now(), Roles: roles})
		if errors.Is(err, users.ErrTaken) {
			return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("there is a user %s in realm %s already", username, sa.Realm), err}
		}
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		done = "Added user " + username
		if len(roles) > 0 {
			done += " with the " + rolesPhrase(roles)
		}
	case "password":
		if _, err := b.users.Get(ctx, username); err != nil {
			return caddy.ExitCodeFailedStartup, notFound(err)
		}
		hash, err := sa.readNewPassword()
		if err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		if err := users.SetPassword(ctx, b.users, username, hash); err != nil {
			return caddy.ExitCodeFailedStartup, notFound(err)
		}
		done = "Set a new password for " + username
	case "remove":
		if err := b.users.Delete(ctx, username); err != nil {
			return caddy.ExitCodeFailedStartup, notFound(err)
		}
		done = "Removed user " + username
	case "disable", "enable", "approve":
		return switchCommand(ctx, sa, b, action, username)
	case "reset-link":
		return resetLinkCommand(ctx, sa, b, username, link)
	case "unlock":
		if err := b.unlock(ctx, username); err != nil {
			return caddy.ExitCodeFailedStartup, err
		}
		fmt.Printf("Unlocked %s.\n", username)
		return caddy.ExitCodeSuccess, nil
	}
	if action != "add" {
		// Sessions made with the old password, or of the removed account,
		// end: their stamp no longer matches. Deleting them here is for
		// tidiness and for the servers' memories, which must not serve
		// them even for the moment they may remember a session.
		n, err := b.sessions.EndUser(ctx, username)
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("%s, but ending the sessions failed: %w", done, err)
		}
		b.settle()
		done += fmt.Sprintf(" and ended %d session%s", n, plural(n))
	}
	fmt.Printf("%s.\n", done)
	return caddy.ExitCodeSuccess, nil
}

// checkArgs holds each action to its words: a username, and for role
// add|remove a username and at least one role.
func checkArgs(args []string) error {
	action := args[0]
	switch {
	case (action == "list" || action == "export" || action == "import") && len(args) > 1:
		return fmt.Errorf("%s takes no username", action)
	case action == "invite" && len(args) > 1:
		return errors.New("invite takes no username: the invited person chooses one")
	case action == "role" && (len(args) < 2 || args[1] != "add" && args[1] != "remove"):
		return errors.New("role takes add or remove, as in role add alice editors or role remove alice editors")
	case action == "role" && len(args) < 3:
		return fmt.Errorf("role %s needs a username and at least one role", args[1])
	case action == "role" && len(args) < 4:
		return fmt.Errorf("role %s %s needs at least one role", args[1], args[2])
	case action == "second-factor" && (len(args) != 3 || args[1] != "reset"):
		return errors.New("second-factor takes reset and a username, as in second-factor reset alice")
	case action == "second-factor":
	case action != "role" && action != "list" && action != "invite" && action != "export" && action != "import" && len(args) < 2:
		return fmt.Errorf("%s needs a username", action)
	case action != "role" && len(args) > 2:
		return fmt.Errorf("%s takes one username, not %d words", action, len(args)-1)
	}
	return nil
}

// roleCommand gives (sub "add") or takes (sub "remove") roles, through
// the backend's changeAccount, so that every server applies the change at
// the user's next request. It says what changed, or that nothing had to.
func roleCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, sub, name string, names []string) (int, error) {
	username, err := users.Normalize(name)
	if err != nil {
		return caddy.ExitCodeFailedStartup, said{users.Explain(err), err}
	}
	roles, err := users.NormalizeRoles(names)
	if err != nil {
		return caddy.ExitCodeFailedStartup, said{users.Explain(err), err}
	}
	before, err := b.users.Get(ctx, username)
	if errors.Is(err, users.ErrNotFound) {
		return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("there is no user %s in realm %s (%s)", username, sa.Realm, b.where), err}
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	held := func(r string) bool { return slices.Contains(before.Roles, r) }
	var changing []string
	change := users.GrantRoles(roles...)
	if sub == "add" {
		changing = slices.DeleteFunc(slices.Clone(roles), held)
	} else {
		changing = slices.DeleteFunc(slices.Clone(roles), func(r string) bool { return !held(r) })
		change = users.RevokeRoles(roles...)
	}
	switch {
	case len(changing) == 0 && sub == "add":
		fmt.Printf("Nothing to do: %s has the %s already.\n", username, rolesPhrase(roles))
		return caddy.ExitCodeSuccess, nil
	case len(changing) == 0:
		fmt.Printf("Nothing to do: %s does not have the %s.\n", username, rolesPhrase(roles))
		return caddy.ExitCodeSuccess, nil
	}
	if err := b.changeAccount(ctx, username, change); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if sub == "add" {
		fmt.Printf("Gave %s the %s.\n", username, rolesPhrase(changing))
	} else {
		fmt.Printf("Took the %s from %s.\n", rolesPhrase(changing), username)
	}
	return caddy.ExitCodeSuccess, nil
}

// switchCommand disables, enables or approves an account. Disabling ends
// the account's sessions; the flag alone would refuse them at their next
// request, and ending them has every server forget them now.
func switchCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, action, username string) (int, error) {
	acct, err := b.users.Get(ctx, username)
	if errors.Is(err, users.ErrNotFound) {
		return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("there is no user %s in realm %s (%s)", username, sa.Realm, b.where), err}
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	var nothing string
	var change func(*users.Account) error
	switch action {
	case "disable":
		nothing = username + " is disabled already"
		change = users.Disable
		if acct.Disabled {
			change = nil
		}
	case "enable":
		nothing = username + " is not disabled"
		change = func(a *users.Account) error { a.Disabled = false; return nil }
		if !acct.Disabled {
			change = nil
		}
	case "approve":
		nothing = username + " is not waiting for approval"
		change = func(a *users.Account) error { a.Pending = false; return nil }
		if !acct.Pending {
			change = nil
		}
	}
	if change == nil {
		fmt.Printf("Nothing to do: %s.\n", nothing)
		return caddy.ExitCodeSuccess, nil
	}
	if err := b.users.Update(ctx, username, change); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	switch action {
	case "disable":
		n, err := b.sessions.EndUser(ctx, username)
		if err != nil {
			return caddy.ExitCodeFailedStartup, fmt.Errorf("disabled %s, but ending the sessions failed (they are refused at their next request): %w", username, err)
		}
		b.settle()
		fmt.Printf("Disabled %s and ended %d session%s.\n", username, n, plural(n))
	case "enable":
		fmt.Printf("Enabled %s.\n", username)
	case "approve":
		fmt.Printf("Approved %s; the account can log in now.\n", username)
	}
	return caddy.ExitCodeSuccess, nil
}

// linkFlags are how a link command was asked to make its link.
type linkFlags struct {
	expires time.Duration // 0: the default of the kind
	site    string        // "https://example.com", or "" to print the path only
}

// readLinkFlags checks --expires and --site, which only the link commands
// take.
func readLinkFlags(fl caddycmd.Flags, action string) (linkFlags, error) {
	var lf linkFlags
	expires, site := fl.String("expires"), fl.String("site")
	if action != "invite" && action != "reset-link" {
		if expires != "" || site != "" {
			return lf, errors.New("--expires and --site go with invite and reset-link")
		}
		return lf, nil
	}
	if expires != "" {
		// A reset link is as good as the password: it lives a week at most.
		most, say := 90*24*time.Hour, "90d"
		if action == "reset-link" {
			most, say = 7*24*time.Hour, "7d"
		}
		d, err := caddy.ParseDuration(expires)
		if err != nil || d < time.Minute || d > most {
			return lf, fmt.Errorf("--expires %q: give a duration from 1m to %s, such as 1h or 2d", expires, say)
		}
		lf.expires = d
	}
	if site != "" {
		u, err := url.Parse(site)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" || strings.Trim(u.Path, "/") != "" {
			return lf, fmt.Errorf("--site %q: give the site's address, such as https://example.com", site)
		}
		lf.site = u.Scheme + "://" + u.Host
	}
	return lf, nil
}

// printLink prints a one-time link on standard output (it is the
// command's answer; it goes nowhere else, and no log ever holds it).
func printLink(what string, expires time.Time, lf linkFlags, path string) {
	fmt.Printf("%s, for one use, until %s:\n%s%s\n", what, shownTime(expires), lf.site, path)
	if lf.site == "" {
		fmt.Fprintln(os.Stderr, "(Put your site's address in front of it, or pass --site https://example.com.)")
	}
}

// inviteCommand makes an invitation to register, with roles for the new
// account; it needs "registration invite", where only such links register.
func inviteCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, roles []string, lf linkFlags) (int, error) {
	if sa.Registration != "invite" {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("realm %s has registration %s, so an invitation would not work: set registration invite in the config first", sa.Realm, cmp.Or(sa.Registration, "closed"))
	}
	now := time.Now()
	g := onetime.Grant{Kind: onetime.Invite, Roles: roles, By: byCommandLine, Created: now, Expires: now.Add(cmp.Or(lf.expires, defaultInviteLifetime))}
	token, err := b.tokens.Issue(ctx, g)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	what := "Invitation"
	if len(roles) > 0 {
		what += " with the " + rolesPhrase(roles)
	}
	printLink(what, g.Expires, lf, sa.PathPrefix+"/register?invite="+token)
	return caddy.ExitCodeSuccess, nil
}

// resetLinkCommand makes a link where the user sets a new password. The
// link dies with any password or role change before it is used.
func resetLinkCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, username string, lf linkFlags) (int, error) {
	acct, err := b.users.Get(ctx, username)
	if errors.Is(err, users.ErrNotFound) {
		return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("there is no user %s in realm %s (%s)", username, sa.Realm, b.where), err}
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if !acct.CanLogIn() {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("%s is disabled or waits for approval: enable or approve the account first", username)
	}
	now := time.Now()
	g := onetime.Grant{Kind: onetime.Reset, User: username, Stamp: acct.Stamp, HeldRoles: acct.Roles, By: byCommandLine, Created: now, Expires: now.Add(cmp.Or(lf.expires, defaultResetLifetime))}
	token, err := b.tokens.Issue(ctx, g)
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	printLink("Password reset link for "+username, g.Expires, lf, sa.PathPrefix+"/reset?token="+token)
	return caddy.ExitCodeSuccess, nil
}

// rolesPhrase says "role editors", "roles editors and staff" or "roles a,
// b and c".
func rolesPhrase(roles []string) string {
	if len(roles) == 1 {
		return "role " + roles[0]
	}
	return "roles " + strings.Join(roles[:len(roles)-1], ", ") + " and " + roles[len(roles)-1]
}

// said is an error worded for the operator that still wraps its cause.
type said struct {
	msg string
	err error
}

func (s said) Error() string { return s.msg }
func (s said) Unwrap() error { return s.err }

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}

// loadConfig reads and adapts a config as 'caddy run' would, without
// logging: the command's output is its answer alone.
func loadConfig(file, adapter string, verbose bool) ([]byte, error) {
	if file == "" {
		file = "Caddyfile"
	}
	body, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("cannot read the config: %v", err)
	}
	base := strings.ToLower(filepath.Base(file))
	if adapter == "" && (strings.HasPrefix(base, "caddyfile") || strings.HasSuffix(base, ".caddyfile")) {
		adapter = "caddyfile"
	}
	if adapter == "" || adapter == "json" {
		return body, nil
	}
	a := caddyconfig.GetAdapter(adapter)
	if a == nil {
		return nil, fmt.Errorf("there is no config adapter %q", adapter)
	}
	adapted, warnings, err := a.Adapt(body, map[string]any{"filename": file})
	if err != nil {
		return nil, fmt.Errorf("adapting the config: %v", err)
	}
	if verbose {
		for _, w := range warnings {
			fmt.Fprintf(os.Stderr, "Warning: %s\n", w)
		}
	}
	return adapted, nil
}

// handlerForRealm finds the config's session_auth handler of realm, or its
// only realm when realm is "".
func handlerForRealm(cfg []byte, realm string) (*SessionAuth, error) {
	var tree any
	if err := json.Unmarshal(cfg, &tree); err != nil {
		return nil, fmt.Errorf("reading the config: %v", err)
	}
	var found []map[string]any
	findHandlers(tree, &found)
	byRealm := map[string]*SessionAuth{}
	for _, raw := range found {
		data, _ := json.Marshal(raw)
		sa := new(SessionAuth)
		if err := json.Unmarshal(data, sa); err != nil {
			return nil, fmt.Errorf("reading a session_auth handler: %v", err)
		}
		sa.applyDefaults()
		if sa.Realm == "" {
			return nil, errors.New("a session_auth handler in the config has no realm")
		}
		if err := checkRealm(sa.Realm); err != nil {
			return nil, err // it names the folder the command would write
		}
		if other, ok := byRealm[sa.Realm]; ok && !sameStore(other, sa) {
			return nil, fmt.Errorf("realm %s is used with two different stores in this config; give them different realms", sa.Realm)
		}
		byRealm[sa.Realm] = sa
	}
	realms := slices.Sorted(maps.Keys(byRealm))
	switch {
	case len(realms) == 0:
		return nil, errors.New("the config has no session_auth handler")
	case realm != "":
		if sa, ok := byRealm[realm]; ok {
			return sa, nil
		}
		return nil, fmt.Errorf("the config has no realm %q. Its realms: %s", realm, strings.Join(realms, ", "))
	case len(realms) > 1:
		return nil, fmt.Errorf("the config has several realms (%s); pick one with --realm", strings.Join(realms, ", "))
	}
	return byRealm[realms[0]], nil
}

func sameStore(a, b *SessionAuth) bool {
	return a.Redis == b.Redis && a.UsersFile == b.UsersFile && a.SessionsDir == b.SessionsDir
}

func findHandlers(node any, found *[]map[string]any) {
	switch v := node.(type) {
	case map[string]any:
		if v["handler"] == "session_auth" {
			*found = append(*found, v)
		}
		for _, k := range slices.Sorted(maps.Keys(v)) {
			findHandlers(v[k], found)
		}
	case []any:
		for _, child := range v {
			findHandlers(child, found)
		}
	}
}

// cliBackend is a realm's store as the command sees it.
type cliBackend struct {
	where    string // said in messages: the users file, or the Redis URL without password
	users    users.Store
	sessions session.Store
	tokens   onetime.Store
	unlock   func(ctx context.Context, username string) error
	settle   func() // waits until no server serves a session from before a change
	close    func()
	// key reads the realm's generated key, or makes it as the server
	// would when create is set (see cliKeys).
	key func(ctx context.Context, create bool) ([]byte, error)
}

// changeAccount changes an account, has every server forget what it
// remembers of the user's sessions, and returns once none serves them as
// they were: the one way the command changes what sessions show.
func (b *cliBackend) changeAccount(ctx context.Context, username string, change func(*users.Account) error) error {
	if err := session.UpdateAccount(ctx, b.users, b.sessions, username, change); err != nil {
		return err
	}
	b.settle()
	return nil
}

// openBackend opens the accounts and sessions the handler's config names,
// as the server would, without starting anything else, for action.
func (sa *SessionAuth) openBackend(cfg []byte, action string) (*cliBackend, error) {
	if sa.Redis != "" {
		// The server's Redis, reached as the server reaches it: the same
		// sentinels, TLS files and credentials.
		target, err := sa.redisTarget()
		if err != nil {
			return nil, err
		}
		pool := newRedisPool(target)
		prefix := keyPrefix(sa.Realm)
		counters := throttle.NewRedisStore(pool, prefix+"throttle:")
		return &cliBackend{
			where:    target.String(),
			users:    users.NewRedisStore(pool, prefix),
			sessions: session.NewRedis(pool, prefix, redisChannel(target, sa.Realm), nil),
			tokens:   onetime.NewRedis(pool, prefix),
			unlock: func(ctx context.Context, username string) error {
				return unlockAccount(ctx, counters, "", username)
			},
			key: func(ctx context.Context, create bool) ([]byte, error) {
				return redisKey(ctx, pool, prefix+"cookie_key", create)
			},
			settle: func() {}, // the announcement has waited for every server
			close:  func() { pool.Close() },
		}, nil
	}
	explicit, explicitSessions := sa.UsersFile != "", sa.SessionsDir != ""
	sa.defaultFilePaths()
	var files cliFiles
	// unlock asks the server, by realm, and touches no file.
	if action != "unlock" {
		if err := sa.checkDataDirectory(explicit); err != nil {
			return nil, err
		}
		var err error
		if files, err = sa.cliFilesFor(explicit, explicitSessions); err != nil {
			return nil, err
		}
	}
	return &cliBackend{
		where:    sa.UsersFile,
		users:    users.NewFileStoreIn(files.users, sa.UsersFile),
		sessions: session.NewFilesIn(files.sessions, sa.SessionsDir),
		tokens:   onetime.NewFilesIn(files.sessions, linksDir(sa.SessionsDir)),
		unlock: func(_ context.Context, username string) error {
			return unlockInServer(cfg, sa.Realm, username)
		},
		key: func(_ context.Context, create bool) ([]byte, error) {
			return fileKey(files.sessions, sa.SessionsDir, create)
		},
		// The server cannot be told; it forgets within MemoryBound.
		settle: func() { time.Sleep(session.MemoryBound) },
		close:  files.Close,
	}, nil
}

// checkDataDirectory refuses to start a store where the server will not
// look. With default paths the users file lies in this user's own data
// directory, and a server running as another user keeps the realm in its
// own. So when the store would be created (no users file yet), it refuses
// if a service's data directory holds the realm's folder already (the
// server makes it at start), or if we are root and a caddy user exists
// whose data directory is not ours: the first account of a fresh install
// would land where the server never reads. A store that exists, or paths
// the config names, are the operator's word.
func (sa *SessionAuth) checkDataDirectory(explicit bool) error {
	if explicit {
		return nil
	}
	if _, err := os.Stat(sa.UsersFile); !errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	const what = "run the command as the user Caddy runs as (sudo -u caddy caddy session-auth ...), or set users_file in the config"
	ours := filepath.Dir(sa.UsersFile)
	for _, other := range serviceDataDirs() {
		theirs := filepath.Join(other, "session_auth", sa.Realm)
		if sameFolder(ours, theirs) {
			continue
		}
		if info, err := os.Stat(theirs); err == nil && info.IsDir() {
			return fmt.Errorf("this would start a new store at %s, but a Caddy service keeps realm %s at %s: %s",
				sa.UsersFile, sa.Realm, filepath.Join(theirs, "users.json"), what)
		}
	}
	if os.Geteuid() == 0 {
		if theirs := caddyUserDataDir(); theirs != "" && !sameFolder(caddy.AppDataDir(), theirs) {
			return fmt.Errorf("as root, this would start a new store at %s, but a Caddy service running as the caddy user reads realm %s from %s: %s",
				sa.UsersFile, sa.Realm, filepath.Join(theirs, "session_auth", sa.Realm, "users.json"), what)
		}
	}
	return nil
}

// sameFolder tells whether two paths name one folder: the same path, or
// (through links) the same folder on disk.
func sameFolder(a, b string) bool {
	if filepath.Clean(a) == filepath.Clean(b) {
		return true
	}
	ia, errA := os.Stat(a)
	ib, errB := os.Stat(b)
	return errA == nil && errB == nil && os.SameFile(ia, ib)
}

// unlockInServer lifts the locks of the file backend, which live in the
// running server's memory, through Caddy's admin endpoint. The server finds
// the realm's counters by its name; it answers 404 when it holds no such
// realm in files, and then nothing was unlocked.
func unlockInServer(cfg []byte, realm, username string) error {
	// Not caddycmd.DetermineAdminAPIAddress: given no config file name, it
	// ignores the config and answers the default address.
	var admin struct {
		Admin *caddy.AdminConfig `json:"admin"`
	}
	if err := json.Unmarshal(cfg, &admin); err != nil {
		return fmt.Errorf("finding Caddy's admin endpoint in the config: %v", err)
	}
	addr := caddy.DefaultAdminListen
	if a := admin.Admin; a != nil {
		if a.Disabled {
			return errors.New("the file backend keeps its locks in the running server's memory, and the config turns the admin endpoint off, so the server cannot be asked; the lock ends by itself, or when the server restarts")
		}
		if a.Listen != "" {
			addr = a.Listen
		}
	}
	resp, err := caddycmd.AdminAPIRequest(addr, http.MethodPost, unlockQuery(realm, username), nil, nil)
	// AdminAPIRequest tells an answer from no answer only in its text:
	// "performing request: ..." when the server did not answer, "caddy
	// responded with error: HTTP <status>: <body>" when it refused.
	switch {
	case err != nil && strings.Contains(err.Error(), "HTTP 404"):
		return fmt.Errorf("no running server holds realm %s: the Caddy at admin endpoint %s keeps no such realm in files, so nothing was unlocked", realm, addr)
	case err != nil && strings.Contains(err.Error(), "caddy responded with error"):
		return fmt.Errorf("the server at admin endpoint %s could not lift the lock: %v", addr, err)
	case err != nil:
		return fmt.Errorf("the file backend keeps its locks in the running server's memory, and the server did not answer at its admin endpoint %s (%v); a server that is not running holds no locks", addr, err)
	}
	resp.Body.Close()
	return nil
}

// readNewPassword reads a password, checks it against the same rules as
// registration, and hashes it at the configured cost.
func (sa *SessionAuth) readNewPassword() ([]byte, error) {
	password, err := readPassword(os.Stdin)
	if err != nil {
		return nil, err
	}
	if err := (users.Policy{MinLength: sa.MinPasswordLength}).Check(password); err != nil {
		return nil, said{users.Explain(err), err}
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

// serviceDataDirs are the data directories a Caddy service keeps when it
// runs as the caddy user (as the official packages install it), where
// XDG_DATA_HOME is not set. A test hook: a variable only so that tests can
// point it at folders of their own (cli_root_test.go); nothing else sets it.
var serviceDataDirs = func() []string {
	var dirs []string
	if dir := caddyUserDataDir(); dir != "" {
		dirs = append(dirs, dir)
	}
	return append(dirs, "/var/lib/caddy/.local/share/caddy")
}

// caddyUserDataDir is the data directory of the caddy system user, as a
// service running as it keeps it, or "" when there is no such user. A test
// hook: a variable only so that tests can play a machine with or without
// that user (cli_root_test.go); nothing else sets it.
var caddyUserDataDir = func() string {
	if u, err := user.Lookup("caddy"); err == nil && u.HomeDir != "" {
		return filepath.Join(u.HomeDir, ".local", "share", "caddy")
	}
	return ""
}

// resetFactorsCommand removes the second factors of an account whose user
// lost the device, and ends the account's sessions (the new stamp ends
// them everywhere; deleting them makes every server forget them now).
func resetFactorsCommand(ctx context.Context, sa *SessionAuth, b *cliBackend, name string) (int, error) {
	username, err := users.Normalize(name)
	if err != nil {
		return caddy.ExitCodeFailedStartup, said{users.Explain(err), err}
	}
	acct, err := b.users.Get(ctx, username)
	if errors.Is(err, users.ErrNotFound) {
		return caddy.ExitCodeFailedStartup, said{fmt.Sprintf("there is no user %s in realm %s (%s)", username, sa.Realm, b.where), err}
	}
	if err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	if !acct.HasSecondFactor() && len(acct.Recovery) == 0 && acct.TOTPEnrolment == "" {
		fmt.Printf("Nothing to do: %s has no second factor.\n", username)
		return caddy.ExitCodeSuccess, nil
	}
	if err := b.users.Update(ctx, username, users.ResetSecondFactors); err != nil {
		return caddy.ExitCodeFailedStartup, err
	}
	n, err := b.sessions.EndUser(ctx, username)
	if err != nil {
		return caddy.ExitCodeFailedStartup, fmt.Errorf("reset the second factors of %s, but ending the sessions failed (they are refused at their next request): %w", username, err)
	}
	b.settle()
	fmt.Printf("Reset the second factors of %s and ended %d session%s.\n", username, n, plural(n))
	return caddy.ExitCodeSuccess, nil
}
