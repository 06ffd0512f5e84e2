package sessionauth

import (
	"net/http"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// The README's ACL lines must survive what Redis does when it restarts: it
// replays its append-only file, and Redis 7.0 re-checks each replayed
// MULTI/EXEC against the default user's permissions (redis/redis#14541).
// With a bare `user default off` that check fails, and every write made
// in a transaction or a script of several writes (sessions, one-time
// links, locks) is silently dropped at the restart.

// readmeACL is the README's redis.conf example, and the password its
// sessions user logs in with.
func readmeACL(t *testing.T) (conf, password string) {
	t.Helper()
	conf = readmeBlock(t, "The ACL user needs the commands")
	for _, field := range strings.Fields(conf) {
		if strings.HasPrefix(field, ">") {
			password = field[1:]
		}
	}
	if !strings.Contains(conf, "user sessions on ") || password == "" {
		t.Fatalf("the README's ACL example changed; this test reads it as redis.conf lines with a user sessions and its >password:\n%s", conf)
	}
	return conf, password
}

// TestTheREADMEsACLKeepsEverythingAcrossARestartWithAOF runs a Redis on the
// README's ACL lines with AOF on, writes accounts, sessions, a role, a
// link and a lock through the plugin and the command, restarts Redis, and
// finds them all again; and checks that the lines still refuse a client without
// credentials.
func TestTheREADMEsACLKeepsEverythingAcrossARestartWithAOF(t *testing.T) {
	conf, password := readmeACL(t)
	srv, err := testredis.StartWithConfig(conf)
	if err != nil {
		t.Fatalf("redis-server with the README's ACL lines: %v", err)
	}
	t.Cleanup(srv.Close)
	refusesStrangers := func(when string) {
		t.Helper()
		c, err := redis.Dial("tcp", srv.Addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Do("SET", "planted", "1"); err == nil || !strings.HasPrefix(err.Error(), "NOAUTH") {
			t.Fatalf("%s: a client without credentials wrote: %v; want NOAUTH", when, err)
		}
		if _, err := c.Do("AUTH", "default", "anything"); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
			t.Fatalf("%s: AUTH as the default user: %v; want WRONGPASS", when, err)
		}
	}
	refusesStrangers("before the restart")

	// No secret: the generated cookie key lives in this Redis too.
	lines := "registration open\n\t\taccount_limit 3 15m\n\t\tredis redis://sessions:" + password + "@" + srv.Addr + "/0"
	site(t, "session_auth /members/*", lines)
	cli := cliFor(t, lines)
	alice := newClient(t)
	registerRetry(alice, "alice", testPassword)
	addUser(t, lines, "bob")
	cli("role", "add", "bob", "staff")
	bob := loggedIn(t, "bob")
	wantGranted(t, alice.get("/members/x"), "alice's session before the restart")
	wantGranted(t, bob.get("/members/x"), "bob's session before the restart")
	link, _ := linkFrom(t, cli("reset-link", "alice"))
	addUser(t, lines, "carol")
	lockAccount(t, "carol", 3)

	srv.Stop()
	if err := srv.Restart(); err != nil {
		t.Fatal(err)
	}
	refusesStrangers("after the restart")
	eventually(t, "the plugin reaching Redis again", func() bool {
		return newClient(t).login("nobody", "a guess", "/").status == http.StatusUnauthorized
	})
	// Everything written before the restart is still there.
	if r := alice.get("/members/x"); r.status != http.StatusOK {
		t.Errorf("alice's session after the restart: %d; want the page", r.status)
	}
	if r := bob.get("/members/x"); r.status != http.StatusOK {
		t.Errorf("bob's session after the restart: %d; want the page", r.status)
	}
	if out := cli("list"); !strings.Contains(out, "alice") || !strings.Contains(out, "bob") || !strings.Contains(out, "staff") {
		t.Errorf("the accounts after the restart:\n%s\nwant alice, and bob with staff", out)
	}
	if r := loginRetry(newClient(t), "bob", testPassword); r.status != http.StatusSeeOther {
		t.Errorf("bob's login after the restart: %d", r.status)
	}
	if r := newClient(t).get(link); r.status != http.StatusOK {
		t.Errorf("the reset link made before the restart: %d; want its form", r.status)
	}
	if r := loginRetry(newClient(t), "carol", testPassword); r.status != http.StatusUnauthorized {
		t.Errorf("carol's login after the restart: %d; want 401, her account still locked by the guesses before it", r.status)
	}
}
