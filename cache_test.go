package sessionauth

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
)

// redisCalls counts the commands of one kind Redis has answered so far.
func redisCalls(t *testing.T, cmd string) int {
	t.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	info, err := redis.String(conn.Do("INFO", "commandstats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(line, "cmdstat_"+cmd+":calls="); ok {
			n := 0
			for _, c := range rest {
				if c < '0' || c > '9' {
					break
				}
				n = n*10 + int(c-'0')
			}
			return n
		}
	}
	return 0
}

func TestRepeatedRequestsAreServedFromTheSessionCache(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+redisBackend().lines(t))
	c := newClient(t)
	c.register("uma", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "first request")
	before := redisCalls(t, "get")
	for range 20 {
		wantGranted(t, c.get("/members/x"), "repeated request")
	}
	if reads := redisCalls(t, "get") - before; reads > 2 {
		t.Fatalf("20 requests of one session read Redis %d times; the cache should answer them", reads)
	}
}

// The cache must never let a revoked session through: a session deleted by
// another instance (or the CLI) is refused on the very next request here.
func TestCachedSessionRevokedElsewhereIsRefusedAtOnce(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+redisBackend().lines(t))
	newClient(t).register("vera", testPassword, "/")
	pool := testRedis.Pool(0)
	defer pool.Close()
	elsewhere := session.NewRedis(pool, keyPrefix(testRealm), nil) // another instance, or the CLI
	for i := range 30 {
		c := newClient(t)
		if r := c.login("vera", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i, r.status)
		}
		wantGranted(t, c.get("/members/x"), "before the revocation")
		wantGranted(t, c.get("/members/x"), "from the cache")
		if _, err := elsewhere.End(context.Background(), sessionID(t, c.cookie())); err != nil {
			t.Fatal(err)
		}
		wantDenied(t, c.get("/members/x"), "right after another instance revoked the session")
	}
}
