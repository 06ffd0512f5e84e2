package sessionauth

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

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

// TestRepeatedRequestsAreServedFromTheSessionCache: a read of a session
// (two GETs: the record and its account) fills the memory for
// session.MemoryBound from when it began, so a session used without pause
// is read from Redis at most once per MemoryBound, however slowly a loaded
// machine serves the requests.
func TestRepeatedRequestsAreServedFromTheSessionCache(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+redisBackend().lines(t))
	c := newClient(t)
	c.register("uma", testPassword, "/")
	wantGranted(t, c.get("/members/x"), "first request")
	// The memory serves only once the subscription to announcements is
	// up, which a loaded machine may take a while to confirm.
	eventually(t, "a request answered from memory", func() bool {
		before := redisCalls(t, "get")
		wantGranted(t, c.get("/members/x"), "request while the subscription comes up")
		return redisCalls(t, "get") == before
	})
	before := redisCalls(t, "get")
	start := time.Now()
	for range 20 {
		wantGranted(t, c.get("/members/x"), "repeated request")
	}
	elapsed := time.Since(start)
	reads := redisCalls(t, "get") - before
	if allowed := 2 * (int(elapsed/session.MemoryBound) + 1); reads > allowed {
		t.Fatalf("20 requests of one session in %v read Redis %d times, want at most %d (two GETs per %v); the memory should answer the rest", elapsed, reads, allowed, session.MemoryBound)
	}
}

// The cache must never let a revoked session through: a session deleted by
// another instance (or the CLI) is refused on the very next request here.
func TestCachedSessionRevokedElsewhereIsRefusedAtOnce(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\tsecret "+testSecret+"\n\t\t"+redisBackend().lines(t))
	newClient(t).register("vera", testPassword, "/")
	pool := testRedis.Pool(0)
	defer pool.Close()
	elsewhere := session.NewRedis(pool, keyPrefix(testRealm), redisChannel(mustTarget(t, testRedis.URL(0)), testRealm), nil) // another instance, or the CLI
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
