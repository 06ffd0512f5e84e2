package sessionauth

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
)

// `caddy session-auth unlock` lifts every lock that failed logins put on
// an account: the account's own, which strangers' guesses set, and that of
// each browser known to the account, which its owner's own mistypes set
// (rule 15 judges a known browser on its own budget). With the file
// backend the locks live in the running server's memory, and the command
// asks the server by the realm's name; when no running server holds the
// realm, it says so and fails rather than report an unlock it did not do.

// lockBrowser makes limit wrong logins as user from the browser c, which
// then refuses even the right password.
func lockBrowser(t *testing.T, c *client, user string, limit int) {
	t.Helper()
	for i := range limit {
		wantGenericFailure(t, loginRetry(c, user, fmt.Sprintf("mistyped %d", i)), "a known browser's wrong password")
	}
	wantGenericFailure(t, loginRetry(c, user, testPassword), "the right password from a known browser after its own failures")
}

func TestUnlockCommandLiftsTheLocksOfTheOwnersKnownBrowsers(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		options := "bcrypt_cost 10\n\t\t" + deviceOptions + b.lines(t)
		site(t, "session_auth /members/*", options)
		caddyfile := writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(t.TempDir(), "cli.log"), "session_auth /members/*", options))
		// erin.b's name starts as erin's does: its locks are its own.
		registerRetry(newClient(t), "erin", testPassword)
		registerRetry(newClient(t), "erin.b", testPassword)
		home, work := knownBrowser(t, "erin"), knownBrowser(t, "erin")
		neighbour := knownBrowser(t, "erin.b")
		for _, c := range []*client{home, work, neighbour} {
			c.logout()
		}
		lockBrowser(t, home, "erin", 3)
		lockBrowser(t, work, "erin", 3)
		lockBrowser(t, neighbour, "erin.b", 3)
		lockAccount(t, "erin", 3)

		if out := mustRunCLI(t, "", "--config", caddyfile, "unlock", "erin"); out != "Unlocked erin.\n" {
			t.Fatalf("unlock printed %q", out)
		}
		for name, c := range map[string]*client{"home": home, "work": work, "a fresh browser": newClient(t)} {
			if r := loginRetry(c, "erin", testPassword); r.status != http.StatusSeeOther {
				t.Fatalf("erin's %s after the unlock: want 303, got %d %q", name, r.status, errorText(r.body))
			}
			wantGranted(t, c.get("/members/x"), "the session erin's "+name+" made after the unlock")
		}
		wantGenericFailure(t, loginRetry(neighbour, "erin.b", testPassword), "erin.b's known browser, locked by its own failures, not unlocked")
	})
}

// TestUnlockCommandFindsTheServersRealmWhateverItsOwnPaths: the command may
// see other paths than the server (run as root, its default users file is
// root's); the server finds the realm by its name.
func TestUnlockCommandFindsTheServersRealmWhateverItsOwnPaths(t *testing.T) {
	options := "bcrypt_cost 10\n\t\t" + deviceOptions
	logFile := site(t, "session_auth /members/*", options+fileBackend().lines(t))
	defaults := writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(t.TempDir(), "cli.log"), "session_auth /members/*", options))
	registerRetry(newClient(t), "erin", testPassword)
	lockAccount(t, "erin", 3)
	wantGenericFailure(t, loginRetry(newClient(t), "erin", testPassword), "locked, before the unlock")
	if out := mustRunCLI(t, "", "--config", defaults, "unlock", "erin"); out != "Unlocked erin.\n" {
		t.Fatalf("unlock printed %q", out)
	}
	if r := loginRetry(newClient(t), "erin", testPassword); r.status != http.StatusSeeOther {
		t.Fatalf("a fresh browser after an unlock through a config with other paths: want 303, got %d %q", r.status, errorText(r.body))
	}
	readLog(t, logFile, `"event":"unlock"`)
	var unlocks []map[string]any
	for _, e := range auditEvents(t, logFile) {
		if e["event"] == "unlock" {
			unlocks = append(unlocks, e)
		}
	}
	if len(unlocks) != 1 || unlocks[0]["user"] != "erin" || unlocks[0]["realm"] != testRealm {
		t.Fatalf("audit lines of the unlock: %v; want one for erin in %s", unlocks, testRealm)
	}
}

// TestUnlockCommandSaysWhenNoRunningServerHoldsTheRealm: when the server
// holds no such realm in files, nothing can be unlocked: the command says
// so in one sentence and exits non-zero.
func TestUnlockCommandSaysWhenNoRunningServerHoldsTheRealm(t *testing.T) {
	caddyBinary(t)
	for _, tc := range []struct {
		name, realm string
		server      backend
		command     string // the command's session_auth lines
	}{
		{"another realm", "elsewhere", fileBackend(), "realm elsewhere\n\t\t"},
		{"the realm on Redis", testRealm, redisBackend(), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			site(t, "session_auth /members/*", "registration open\n\t\t"+tc.server.lines(t))
			registerRetry(newClient(t), "erin", testPassword)
			config := writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(t.TempDir(), "cli.log"), "session_auth /members/*", tc.command+fileBackend().lines(t)))
			r := runCaddy(t, "", "session-auth", "unlock", "--config", config, "erin")
			want := "No running server holds realm " + tc.realm + ":"
			if r.code == 0 || r.stdout != "" || !strings.HasPrefix(r.stderr, want) || !strings.HasSuffix(r.stderr, ".\n") || strings.Count(r.stderr, "\n") != 1 {
				t.Fatalf("unlock in a realm no server holds: want a non-zero exit, nothing on stdout and one sentence starting %q on stderr; got exit %d, stdout %q, stderr %q", want, r.code, r.stdout, r.stderr)
			}
		})
	}
}

// TestUnlockLineReachesTheAuditLogOfTheREADMEsLogBlock: with the audit log
// routed to a file of its own by the README's very log block (its default
// log excludes the audit logger), the unlock line lands in that file, as
// every handler's audit line does, and not in the default log.
func TestUnlockLineReachesTheAuditLogOfTheREADMEsLogBlock(t *testing.T) {
	const readmeFile = "/var/log/caddy/auth-audit.log"
	block := readmeBlock(t, "### Audit log")
	if !strings.Contains(block, readmeFile) || !strings.HasPrefix(block, "{\n") || !strings.HasSuffix(block, "}\n") {
		t.Fatalf("the README's audit log block changed; this test reads it as a global options block writing %s:\n%s", readmeFile, block)
	}
	dir := t.TempDir()
	auditFile, defaultFile := filepath.Join(dir, "audit.log"), filepath.Join(dir, "default.log")
	globals := strings.Replace(block, readmeFile, auditFile, 1)
	// The tests' own globals, and the default log in a file rather than
	// on stderr, so the test can read it: the README's lines unchanged.
	globals = strings.Replace(globals, "{\n", "{\n\tadmin localhost:2999\n\thttp_port 9080\n\thttps_port 9443\n\tgrace_period 1ns\n\tskip_install_trust\n", 1)
	globals = strings.Replace(globals, "\tlog default {\n", "\tlog default {\n\t\toutput file "+defaultFile+"\n", 1)
	options := "bcrypt_cost 10\n\t\t" + deviceOptions + fileBackend().lines(t)
	clockSkew.Store(0)
	loadCaddyfile(t, globals+fmt.Sprintf(`
http://localhost:9080 {
	root * %s
	session_auth /members/* {
		%s
	}
	file_server
}
`, siteDir, options))
	caddyfile := writeCLICaddyfile(t, "Caddyfile", siteConfig(filepath.Join(dir, "cli.log"), "session_auth /members/*", options))
	registerRetry(newClient(t), "erin", testPassword)
	lockAccount(t, "erin", 3)
	if out := mustRunCLI(t, "", "--config", caddyfile, "unlock", "erin"); out != "Unlocked erin.\n" {
		t.Fatalf("unlock printed %q", out)
	}
	readLog(t, auditFile, `"event":"unlock"`)
	var events []string
	for _, e := range auditEvents(t, auditFile) {
		events = append(events, fmt.Sprint(e["event"], " ", e["user"]))
	}
	if want := "register erin, login_failed erin, login_failed erin, account_locked erin, login_failed erin, unlock erin"; strings.Join(events, ", ") != want {
		t.Fatalf("the audit file of the README's log block holds:\n%s\nwant:\n%s", strings.Join(events, ", "), want)
	}
	if lines := auditEvents(t, defaultFile); len(lines) != 0 {
		t.Fatalf("the default log, which the README's block tells to exclude the audit log, holds %d audit lines: %v", len(lines), lines)
	}
}
