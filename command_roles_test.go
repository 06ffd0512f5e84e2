package sessionauth

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// The role commands run through the real binary (see cli_output_test.go),
// so that cobra's handling of `role add <user> <role>...` and of the
// repeatable --role flag is what is tested.

// roleCLIConfig writes a formatted Caddyfile for the command whose one
// session_auth block holds lines, for the test site's realm.
func roleCLIConfig(t *testing.T, lines string) string {
	t.Helper()
	body := "http://localhost:9080 {\n\tsession_auth {\n\t\tbcrypt_cost 10\n\t\t" + lines + "\n\t}\n}\n"
	path := filepath.Join(t.TempDir(), "Caddyfile")
	if err := os.WriteFile(path, caddyfile.Format([]byte(onFreePorts(body))), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func wantRolesStored(t *testing.T, store users.Store, user string, want ...string) users.Account {
	t.Helper()
	a, err := store.Get(context.Background(), user)
	if err != nil || !slices.Equal(a.Roles, want) && (len(a.Roles) != 0 || len(want) != 0) {
		t.Fatalf("%s's roles in the store: %q, %v; want %q", user, a.Roles, err, want)
	}
	return a
}

// TestRoleCommandsAnswerInOneLine: add --role gives roles at creation,
// role add and role remove change them, each saying what it did in one
// sentence; list shows them; nothing that had to change is said as such;
// and no role change touches the credential stamp.
func TestRoleCommandsAnswerInOneLine(t *testing.T) {
	caddyBinary(t)
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		config := roleCLIConfig(t, lines)
		cli := func(stdin string, args ...string) cliRun {
			return runCaddy(t, stdin, append([]string{"session-auth", "--config", config}, args...)...)
		}
		wantAnswer(t, cli(cliPassword+"\n", "add", "--role", "editors", "--role", "Staff", "erin"), "Added user erin with the roles editors and staff.\n", "add --role")
		stamp := wantRolesStored(t, store, "erin", "editors", "staff").Stamp
		wantAnswer(t, cli(cliPassword+"\n", "add", "fred"), "Added user fred.\n", "add without roles")
		wantRolesStored(t, store, "fred")

		wantAnswer(t, cli("", "role", "add", "erin", "admin"), "Gave erin the role admin.\n", "role add")
		wantRolesStored(t, store, "erin", "admin", "editors", "staff")
		wantAnswer(t, cli("", "role", "add", "ERIN", "Admin", "staff"), "Nothing to do: erin has the roles admin and staff already.\n", "role add of held roles")
		wantAnswer(t, cli("", "role", "add", "erin", "x", "y", "admin"), "Gave erin the roles x and y.\n", "role add of two new roles and a held one")
		wantAnswer(t, cli("", "role", "remove", "erin", "x", "y", "z"), "Took the roles x and y from erin.\n", "role remove")
		wantAnswer(t, cli("", "role", "remove", "erin", "z"), "Nothing to do: erin does not have the role z.\n", "role remove of a role not held")
		wantAnswer(t, cli("", "role", "remove", "erin", "editors"), "Took the role editors from erin.\n", "role remove of one")
		if a := wantRolesStored(t, store, "erin", "admin", "staff"); a.Stamp != stamp {
			t.Fatal("a role change changed the credential stamp, which would log the user out")
		}

		r := cli("", "list")
		created := func(u string) string {
			a, _ := store.Get(context.Background(), u)
			return a.Created.Format(time.RFC3339)
		}
		wantAnswer(t, r, "erin\t"+created("erin")+"\tadmin,staff\nfred\t"+created("fred")+"\t\n", "list")
	})
}

// TestAddGivesTheConfiguredDefaultRoles: the command's add gives a new
// account the config's default_roles, as registration does, and --role
// adds to them.
func TestAddGivesTheConfiguredDefaultRoles(t *testing.T) {
	caddyBinary(t)
	lines, store := accessStores()[0].setup(t, testRealm)
	config := roleCLIConfig(t, "default_roles member\n\t\t"+lines)
	wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", config, "gail"), "Added user gail with the role member.\n", "add with default_roles")
	wantRolesStored(t, store, "gail", "member")
	wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", config, "--role", "staff", "hal"), "Added user hal with the roles member and staff.\n", "add --role with default_roles")
	wantRolesStored(t, store, "hal", "member", "staff")
}

// TestRoleCommandFailuresArePlainSentences: every misuse of the role
// commands exits non-zero with one sentence on stderr that says what to
// write instead, and changes nothing.
func TestRoleCommandFailuresArePlainSentences(t *testing.T) {
	caddyBinary(t)
	lines, store := accessStores()[0].setup(t, testRealm)
	config := roleCLIConfig(t, lines)
	wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", config, "--role", "staff", "erin"), "Added user erin with the role staff.\n", "add")
	const rules = "Role names are 1 to 64 characters: letters a-z, digits, _ and -, starting with a letter or digit."
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"role alone", "", []string{"role"}, "Role takes add or remove, as in role add alice editors or role remove alice editors.\n"},
		{"role with another verb", "", []string{"role", "give", "erin", "x"}, "Role takes add or remove, as in role add alice editors or role remove alice editors.\n"},
		{"role add without a user", "", []string{"role", "add"}, "Role add needs a username and at least one role.\n"},
		{"role add without a role", "", []string{"role", "add", "erin"}, "Role add erin needs at least one role.\n"},
		{"role remove without a role", "", []string{"role", "remove", "erin"}, "Role remove erin needs at least one role.\n"},
		{"role add to nobody", "", []string{"role", "add", "nobody", "x"}, "There is no user nobody in realm " + testRealm + " (" + storeNamed(lines) + ").\n"},
		{"role add of a bad name", "", []string{"role", "add", "erin", "ok", "bad.role"}, rules + " \"bad.role\" has a character outside that set.\n"},
		{"role remove of a bad name", "", []string{"role", "remove", "erin", "st,aff"}, rules + " \"st,aff\" has a character outside that set.\n"},
		{"role add for a bad username", "", []string{"role", "add", "bad name", "x"}, "Usernames are 1 to 64 characters: letters, digits, and . _ - @, starting with a letter or digit. This one has a character outside that set.\n"},
		{"add --role with a bad name", cliPassword + "\n", []string{"add", "--role", "bad.role", "ann"}, rules + " \"bad.role\" has a character outside that set.\n"},
		{"--role with another action", cliPassword + "\n", []string{"password", "--role", "x", "erin"}, "--role goes with add or invite; to change the roles of an account, use role add or role remove.\n"},
		{"add with two names", cliPassword + "\n", []string{"add", "ann", "bob"}, "Add takes one username, not 2 words.\n"},
		{"list with a name", "", []string{"list", "erin"}, "List takes no username.\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCaddy(t, tc.stdin, append([]string{"session-auth", "--config", config}, tc.args...)...)
			if r.code == 0 || r.stdout != "" || r.stderr != tc.want {
				t.Fatalf("want a non-zero exit, nothing on stdout and stderr %q; got exit %d, stdout %q, stderr %q", tc.want, r.code, r.stdout, r.stderr)
			}
		})
	}
	wantRolesStored(t, store, "erin", "staff")
	for _, u := range []string{"ann", "bob"} {
		if _, err := store.Get(context.Background(), u); err == nil {
			t.Fatalf("a refused command created %s", u)
		}
	}
}

// TestRoleChangeByTheCLIAppliesAtTheNextRequest: on one server, with
// either backend, a role taken or given by the command applies to the
// user's next request, which the server had just served from memory, and
// the user stays logged in throughout.
func TestRoleChangeByTheCLIAppliesAtTheNextRequest(t *testing.T) {
	caddyBinary(t)
	forEachAccessStore(t, func(t *testing.T, lines string, store users.Store) {
		loadCaddyfile(t, accessConfig(t, accessSiteDir(t), "session_auth /members/*", "allow @staff role staff\n\t\t"+lines))
		seedAccounts(t, store, map[string][]string{"sam": {"staff"}})
		config := roleCLIConfig(t, lines)
		c := loggedIn(t, "sam")
		for round := range 3 {
			wantOutcome(t, c, "sam", "/members/staff/x", seen)
			wantAnswer(t, runCaddy(t, "", "session-auth", "role", "remove", "--config", config, "sam", "staff"), "Took the role staff from sam.\n", "role remove")
			wantOutcome(t, c, "sam", "/members/staff/x", forbidden)
			wantOutcome(t, c, "sam", "/members/x", seen) // still logged in
			wantAnswer(t, runCaddy(t, "", "session-auth", "role", "add", "--config", config, "sam", "staff"), "Gave sam the role staff.\n", "role add")
			wantOutcome(t, c, "sam", "/members/staff/x", seen)
			t.Logf("round %d: both changes applied at the next request", round)
		}
	})
}

// storeNamed is what the command names as a backend's store: the users
// file, or the Redis URL.
func storeNamed(lines string) string {
	for _, line := range strings.Split(lines, "\n") {
		if f := strings.Fields(line); len(f) == 2 && (f[0] == "users_file" || f[0] == "redis") {
			return f[1]
		}
	}
	return ""
}
