package sessionauth

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
)

// The command's output is what an operator reads, so these tests run the
// real thing: cmd/caddy (Caddy with this plugin) built once per test run
// and started as a separate process, with its standard output, standard
// error and exit code taken apart. In this process the command could not
// show how it exits, and Caddy's own logging would mix into stderr.

var caddyBuild struct {
	once sync.Once
	path string
	out  []byte
	err  error
}

// caddyBinary builds cmd/caddy once and returns its path.
func caddyBinary(t *testing.T) string {
	t.Helper()
	caddyBuild.once.Do(func() {
		caddyBuild.path = filepath.Join(scratch, "caddy")
		cmd := exec.Command("go", "build", "-buildvcs=false", "-o", caddyBuild.path, "./cmd/caddy")
		// TestMain moved XDG_CONFIG_HOME; Go's own settings stay where they were.
		cmd.Env = append(os.Environ(), "GOENV="+filepath.Join(os.Getenv("HOME"), ".config", "go", "env"))
		caddyBuild.out, caddyBuild.err = cmd.CombinedOutput()
	})
	if caddyBuild.err != nil {
		t.Fatalf("building cmd/caddy for the command tests: %v\n%s", caddyBuild.err, caddyBuild.out)
	}
	return caddyBuild.path
}

// cliRun is what one run of the binary printed, and how it exited.
type cliRun struct {
	stdout, stderr string
	code           int
}

// runCaddy runs the built caddy with args, stdin piped from the string.
func runCaddy(t *testing.T, stdin string, args ...string) cliRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, caddyBinary(t), args...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	code := 0
	switch {
	case errors.As(err, &exit):
		code = exit.ExitCode()
	case err != nil:
		t.Fatalf("running caddy %s: %v", strings.Join(args, " "), err)
	}
	return cliRun{stdout.String(), stderr.String(), code}
}

// cliCaddyfile writes a formatted Caddyfile (an unformatted one makes the
// adapter warn, which --verbose shows) whose site has the test site's
// address, and so its realm, and whose session_auth block has lines.
func cliCaddyfile(t *testing.T, lines string) string {
	t.Helper()
	body := "http://localhost:9080 {\n\tsession_auth {\n\t\tbcrypt_cost 10\n\t\t" + lines + "\n\t}\n}\n"
	return writeCLICaddyfile(t, "Caddyfile", string(caddyfile.Format([]byte(body))))
}

// storeOf is what the command names as a backend's store: the users file,
// or the Redis URL.
func storeOf(lines string) string {
	for _, line := range strings.Split(lines, "\n") {
		f := strings.Fields(line)
		if len(f) == 2 && (f[0] == "users_file" || f[0] == "redis") {
			return f[1]
		}
	}
	return ""
}

// wantAnswer asserts a successful run that printed exactly stdout and
// nothing on stderr: no log lines, no warnings.
func wantAnswer(t *testing.T, r cliRun, stdout, what string) {
	t.Helper()
	if r.code != 0 || r.stdout != stdout || r.stderr != "" {
		t.Fatalf("%s: want exit 0, stdout %q and nothing on stderr; got exit %d, stdout %q, stderr %q", what, stdout, r.code, r.stdout, r.stderr)
	}
}

// TestCommandAnswersInOneLine: on success the command prints one sentence
// on stdout, saying what it did (and how many sessions it ended), and
// nothing else anywhere; --verbose adds which store it acted on, on stderr.
func TestCommandAnswersInOneLine(t *testing.T) {
	caddyBinary(t)
	forEachBackend(t, func(t *testing.T, b backend) {
		lines := b.lines(t)
		site(t, "session_auth /members/*", lines)
		config := cliCaddyfile(t, lines)

		wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", config, "erin"), "Added user erin.\n", "add")
		c := newClient(t)
		if r := c.login("erin", cliPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login as the added user: %d", r.status)
		}
		wantGranted(t, c.get("/members/x"), "the added user's session")
		wantAnswer(t, runCaddy(t, cliOtherPassword+"\n", "session-auth", "password", "--config", config, "erin"),
			"Set a new password for erin and ended 1 session.\n", "password")
		wantDenied(t, c.get("/members/x"), "the session from before the new password")
		wantAnswer(t, runCaddy(t, "", "session-auth", "remove", "--config", config, "erin"),
			"Removed user erin and ended 0 sessions.\n", "remove")

		r := runCaddy(t, cliPassword+"\n", "session-auth", "add", "--verbose", "--config", config, "fred")
		want := "Realm " + testRealm + ", accounts in " + storeOf(lines) + ".\n"
		if r.code != 0 || r.stdout != "Added user fred.\n" || r.stderr != want {
			t.Fatalf("add --verbose: want stdout %q and stderr %q, got exit %d, stdout %q, stderr %q", "Added user fred.\n", want, r.code, r.stdout, r.stderr)
		}
	})
}

// TestCommandFailuresArePlainSentences: a failure exits non-zero, prints
// nothing on stdout and one plain sentence on stderr: never a JSON log
// line, never a Go error chain.
func TestCommandFailuresArePlainSentences(t *testing.T) {
	caddyBinary(t)
	b := fileBackend()
	lines := b.lines(t)
	config := cliCaddyfile(t, lines)
	wantAnswer(t, runCaddy(t, cliPassword+"\n", "session-auth", "add", "--config", config, "erin"), "Added user erin.\n", "add")
	for _, tc := range []struct {
		name  string
		stdin string
		args  []string
		want  string
	}{
		{"password too short", "short\n", []string{"add", "ann"}, "Use at least 8 characters in the password. This one has 5.\n"},
		{"common password", "baseball\n", []string{"add", "ann"}, "This password is on a list of passwords that attackers try first. Choose another.\n"},
		{"name with a space", cliPassword + "\n", []string{"add", "bad name"}, "Usernames are 1 to 64 characters: letters, digits, and . _ - @, starting with a letter or digit. This one has a character outside that set.\n"},
		{"name taken", cliPassword + "\n", []string{"add", "erin"}, "There is a user erin in realm " + testRealm + " already.\n"},
		{"no such user", "", []string{"remove", "nobody"}, "There is no user nobody in realm " + testRealm + " (" + storeOf(lines) + ").\n"},
		{"no username", "", []string{"remove"}, "Remove needs a username.\n"},
		{"unknown action", "", []string{"frobnicate", "erin"}, "There is no action \"frobnicate\". Use add, password, remove, disable, enable, approve, invite, reset-link, unlock, list, role, second-factor, export or import.\n"},
		{"unknown realm", "", []string{"list", "--realm", "elsewhere"}, "The config has no realm \"elsewhere\". Its realms: " + testRealm + ".\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCaddy(t, tc.stdin, append([]string{"session-auth", "--config", config}, tc.args...)...)
			if r.code == 0 || r.stdout != "" {
				t.Fatalf("want a non-zero exit and nothing on stdout, got exit %d, stdout %q", r.code, r.stdout)
			}
			if strings.Contains(r.stderr, "{") || strings.Contains(r.stderr, `"level"`) {
				t.Fatalf("the error came out as a log line: %q", r.stderr)
			}
			if r.stderr != tc.want {
				t.Fatalf("stderr %q, want %q", r.stderr, tc.want)
			}
		})
	}
	// A missing config: whatever the cause's wording, one plain line.
	r := runCaddy(t, "", "session-auth", "list", "--config", filepath.Join(t.TempDir(), "Caddyfile"))
	if r.code == 0 || r.stdout != "" || strings.Count(r.stderr, "\n") != 1 || !strings.HasPrefix(r.stderr, "Cannot read the config: ") || !strings.HasSuffix(r.stderr, ".\n") {
		t.Fatalf("missing config: want a non-zero exit and one sentence on stderr, got exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}

// TestSentenceMakesErrorsReadAsSentences: the command's errors are built
// like Go errors, in lower case; sentence gives them a capital and a stop.
func TestSentenceMakesErrorsReadAsSentences(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"there is no user erin in realm x (users.json)", "There is no user erin in realm x (users.json)."},
		{"Use at least 8 characters in the password. This one has 5.", "Use at least 8 characters in the password. This one has 5."},
		{"remove needs a username", "Remove needs a username."},
		{"x", "X."},
		{"", ""},
	} {
		if got := sentence(tc.in); got != tc.want {
			t.Errorf("sentence(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
