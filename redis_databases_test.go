package sessionauth

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// One realm on two databases of one Redis is two deployments: their
// sessions and accounts are apart, and so must their announcements be.
// PUBLISH reaches subscribers on every database, while the confirmation
// lists are per database, so a logout on one would wake the other's
// servers and wait out the memory bound for confirmations that never come.

// announcementChannels watches every channel under the realm's prefix,
// whatever the names, and delivers the name each announcement came on.
func announcementChannels(t *testing.T, realm string) <-chan string {
	t.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	psc := redis.PubSubConn{Conn: conn}
	if err := psc.PSubscribe(keyPrefix(realm) + "*"); err != nil {
		t.Fatal(err)
	}
	if v, ok := psc.Receive().(redis.Subscription); !ok || v.Kind != "psubscribe" {
		t.Fatalf("subscribing to the realm's channels: %v", v)
	}
	heard := make(chan string, 16)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			switch v := psc.Receive().(type) {
			case redis.Message:
				heard <- v.Channel
			case error:
				return
			}
		}
	}()
	t.Cleanup(func() {
		psc.Close()
		<-done
	})
	return heard
}

// nextChannel is the channel of the next announcement.
func nextChannel(t *testing.T, heard <-chan string, what string) string {
	t.Helper()
	select {
	case ch := <-heard:
		return ch
	case <-time.After(patience):
		t.Fatalf("%s announced nothing within %v", what, patience)
		return ""
	}
}

// listeners counts the servers' subscriptions to each channel of the
// realm, waiting until there are want in all.
func listeners(t *testing.T, realm string, want int) map[string]int {
	t.Helper()
	conn, err := testRedis.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	deadline := time.Now().Add(patience)
	for {
		channels, err := redis.Strings(conn.Do("PUBSUB", "CHANNELS", keyPrefix(realm)+"*"))
		if err != nil {
			t.Fatal(err)
		}
		counts := map[string]int{}
		total := 0
		if len(channels) > 0 {
			reply, err := redis.Values(conn.Do("PUBSUB", append([]any{"NUMSUB"}, anySlice(channels)...)...))
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i+1 < len(reply); i += 2 {
				name, _ := redis.String(reply[i], nil)
				n, _ := redis.Int(reply[i+1], nil)
				counts[name] = n
				total += n
			}
		}
		if total >= want {
			return counts
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited %v for %d subscriptions to the realm's channels; there are %v", patience, want, counts)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

func TestOneRealmOnTwoRedisDatabasesAnnouncesOnItsOwnDatabaseOnly(t *testing.T) {
	const realm = "members-on-two-databases"
	if err := testRedis.FlushAll(); err != nil {
		t.Fatal(err)
	}
	twoSites(t,
		"registration open\n\t\trealm "+realm+"\n\t\tredis "+testRedis.URL(0),
		"registration open\n\t\trealm "+realm+"\n\t\tredis "+testRedis.URL(1))
	heard := announcementChannels(t, realm)

	// Each database's server listens on a channel of its own, alone.
	counts := listeners(t, realm, 2)
	if len(counts) != 2 {
		t.Fatalf("one realm on databases 0 and 1 listens on %v; want a channel for each database, with one server on each", counts)
	}

	// A logout on each announces on its own database's channel.
	logoutOn := func(base string) string {
		c := at(t, base)
		if r := c.register("dana", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("registering on %s: want 303, got %d", base, r.status)
		}
		if r := c.post("/auth/logout", url.Values{}); r.status != http.StatusSeeOther {
			t.Fatalf("logging out on %s: want 303, got %d", base, r.status)
		}
		return nextChannel(t, heard, "a logout on "+base)
	}
	onA, onB := logoutOn(siteA), logoutOn(siteB)
	if onA == onB || counts[onA] != 1 || counts[onB] != 1 {
		t.Fatalf("the logout on database 0 was announced on %q, the one on database 1 on %q (listeners: %v); want two channels with one listener each", onA, onB, counts)
	}

	// The command, on database 1, announces where database 1's server listens.
	config := cliCaddyfile(t, "realm "+realm+"\n\t\tredis "+testRedis.URL(1))
	mustRunCLI(t, "", "--config", config, "remove", "dana")
	if got := nextChannel(t, heard, "the command's remove"); got != onB {
		t.Fatalf("the command on database 1 announced on %q; want %q, where database 1's server listens", got, onB)
	}
}
