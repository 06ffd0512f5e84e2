package session

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// subscriber is a bare subscription to a realm's channel, as another
// instance's Listener would hold, that confirms only when the test says.
type subscriber struct {
	messages chan string
}

func subscribe(t *testing.T, srv *testredis.Server, channel string) *subscriber {
	t.Helper()
	conn, err := srv.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	psc := redis.PubSubConn{Conn: conn}
	if err := psc.Subscribe(channel); err != nil {
		t.Fatal(err)
	}
	if v, ok := psc.Receive().(redis.Subscription); !ok || v.Count != 1 {
		t.Fatalf("subscribing: %v", v)
	}
	s := &subscriber{messages: make(chan string, 100)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			switch v := psc.Receive().(type) {
			case redis.Message:
				s.messages <- string(v.Data)
			case error:
				return
			}
		}
	}()
	t.Cleanup(func() {
		psc.Close()
		<-done
	})
	return s
}

// next is the next announcement, within a bound that only turns a hang
// into a failure. It runs in goroutines, so it reports with Error.
func (s *subscriber) next(t *testing.T) string {
	t.Helper()
	select {
	case msg := <-s.messages:
		return msg
	case <-time.After(30 * time.Second):
		t.Error("no announcement within 30s")
		return ""
	}
}

// confirm does what a Listener does after dropping what msg names.
func confirm(t *testing.T, pool *redis.Pool, msg string) {
	t.Helper()
	_, _, ack, ok := parseAnnouncement(msg)
	if !ok {
		t.Errorf("announcement %q is malformed", msg)
		return
	}
	c := pool.Get()
	defer c.Close()
	if _, err := c.Do("RPUSH", ack, 1); err != nil {
		t.Error(err)
	}
}

// TestRedisEndOfADeadSessionAnnouncesNothing: a dead cookie sent again and
// again must cost one DEL and wake no instance. Announcements arrive in
// order, so if ending the dead ids had published anything, it would come
// before the live session's announcement.
func TestRedisEndOfADeadSessionAnnouncesNothing(t *testing.T) {
	prefix := uniquePrefix()
	pool := newPool(t, testRedis)
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	sub := subscribe(t, testRedis, Channel(prefix, 0))
	ctx := context.Background()

	ended := mustCreate(t, s, testRecord("alice"))
	go func() { confirm(t, pool, sub.next(t)) }()
	if ok, err := s.End(ctx, ended); !ok || err != nil {
		t.Fatalf("End of a live session = %v, %v", ok, err)
	}
	for _, dead := range []string{ended, NewID(), "forged", ""} {
		if ok, err := s.End(ctx, dead); ok || err != nil {
			t.Fatalf("End(%q) = %v, %v; want false, nil", dead, ok, err)
		}
	}
	live := mustCreate(t, s, testRecord("bob"))
	done := make(chan string, 1)
	go func() {
		msg := sub.next(t)
		confirm(t, pool, msg)
		done <- msg
	}()
	if ok, err := s.End(ctx, live); !ok || err != nil {
		t.Fatalf("End of a live session = %v, %v", ok, err)
	}
	if msg := <-done; !strings.HasPrefix(msg, "s "+live+" ") {
		t.Fatalf("after ending dead ids the first announcement is %q; want the live session's", msg)
	}
}

func pttl(t *testing.T, pool *redis.Pool, key string) time.Duration {
	t.Helper()
	c := pool.Get()
	defer c.Close()
	ms, err := redis.Int64(c.Do("PTTL", key))
	if err != nil {
		t.Fatal(err)
	}
	return time.Duration(ms) * time.Millisecond
}

// TestRedisRecordsExpireWithTheirSession: the TTL set on Create and on
// every Refresh is what cleans Redis up; a key without one would live for
// ever.
func TestRedisRecordsExpireWithTheirSession(t *testing.T) {
	prefix := uniquePrefix()
	pool := newPool(t, testRedis)
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	rec := testRecord("alice")
	id, err := s.Create(context.Background(), rec, 90*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	key := prefix + "session:" + id
	if got := pttl(t, pool, key); got <= 0 || got > 90*time.Second {
		t.Fatalf("PTTL after Create(90s) = %v; want at most 90s", got)
	}
	if err := s.Refresh(context.Background(), id, rec, 3*time.Hour); err != nil {
		t.Fatal(err)
	}
	if got := pttl(t, pool, key); got <= 90*time.Second || got > 3*time.Hour {
		t.Fatalf("PTTL after Refresh(3h) = %v; want more than before, at most 3h", got)
	}
}

// TestRedisStoresOneShortRecord: one key per session, holding the record
// line and nothing else (rule 3: never the hash or the account), and the
// user's index, holding the id.
func TestRedisStoresOneShortRecord(t *testing.T) {
	prefix := uniquePrefix()
	pool := newPool(t, testRedis)
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	rec := testRecord("alice")
	id := mustCreate(t, s, rec)
	c := pool.Get()
	defer c.Close()
	keys, err := redis.Strings(c.Do("KEYS", prefix+"*"))
	slices.Sort(keys)
	if err != nil || !slices.Equal(keys, []string{prefix + "session:" + id, prefix + "sessions-of:alice"}) {
		t.Fatalf("keys = %q, %v; want only %[3]ssession:<id> and %[3]ssessions-of:alice", keys, err, prefix)
	}
	if ids, err := redis.Strings(c.Do("ZRANGE", prefix+"sessions-of:alice", 0, -1)); err != nil || !slices.Equal(ids, []string{id}) {
		t.Fatalf("alice's index holds %q, %v; want only the id", ids, err)
	}
	data, err := redis.String(c.Do("GET", prefix+"session:"+id))
	if err != nil || data != string(encodeRecord(nil, rec)) {
		t.Fatalf("stored %q, %v; want the record line", data, err)
	}
}

func TestRedisRefusesAnOversizeRecord(t *testing.T) {
	prefix := uniquePrefix()
	s := NewRedis(newPool(t, testRedis), prefix, Channel(prefix, 0), nil)
	if _, err := s.Create(context.Background(), testRecord(strings.Repeat("x", maxRecordBytes)), time.Hour); err == nil {
		t.Fatal("Create stored a record over maxRecordBytes")
	}
}

// TestEndWaitsForEveryConfirmation: End returns only once each subscriber
// that Redis delivered the announcement to has confirmed it, or after
// MemoryBound (then every entry read before the announcement has aged out
// anyway). Two instances hear the announcement and are held by the test
// until it lets each confirm; a confirmation counts only once End has
// taken it off the announcement's list, so an End that returned without
// waiting is caught however long the subscribers took, and one that
// waited out MemoryBound on a slow machine is not blamed.
func TestEndWaitsForEveryConfirmation(t *testing.T) {
	prefix := uniquePrefix()
	pool := newPool(t, testRedis)
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	subs := []*subscriber{subscribe(t, testRedis, Channel(prefix, 0)), subscribe(t, testRedis, Channel(prefix, 0))}
	id := mustCreate(t, s, testRecord("alice"))

	type ended struct {
		ok     bool
		err    error
		waited time.Duration
	}
	done := make(chan ended, 1)
	start := time.Now()
	go func() {
		ok, err := s.End(context.Background(), id)
		done <- ended{ok, err, time.Since(start)}
	}()
	// Each instance hears the announcement and waits for the test.
	heard := make([]string, len(subs))
	for i, sub := range subs {
		if heard[i] = sub.next(t); heard[i] == "" {
			t.FailNow()
		}
	}
	_, _, ack, ok := parseAnnouncement(heard[0])
	if !ok || heard[1] != heard[0] {
		t.Fatalf("announcements %q; want one well-formed announcement to both", heard)
	}
	returnedEarly := func(e ended, how string) {
		t.Helper()
		if e.waited < MemoryBound {
			t.Fatalf("End returned %s, after %v: before MemoryBound (%v)", how, e.waited, MemoryBound)
		}
	}
	confirm(t, pool, heard[0])
	select {
	case e := <-done:
		returnedEarly(e, "before the second instance confirmed")
	default:
	}
	confirm(t, pool, heard[1])
	var e ended
	select {
	case e = <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("End did not return within 30s of the last confirmation")
	}
	if !e.ok || e.err != nil {
		t.Fatalf("End = %v, %v; want true, nil", e.ok, e.err)
	}
	// What End did not take off the list, it returned without.
	c := pool.Get()
	defer c.Close()
	left, err := redis.Int(c.Do("LLEN", ack))
	if err != nil {
		t.Fatal(err)
	}
	if left > 0 {
		returnedEarly(e, fmt.Sprintf("without taking %d of the 2 confirmations", left))
	}
}

// TestEndWaitsOutMemoryBoundForASilentSubscriber: an instance that was
// delivered the announcement but never confirms (hung, or its confirmation
// lost) holds the publisher back for MemoryBound, after which everything
// that instance read before the announcement has aged out of its memory.
// Then End returns, without an error: the session is ended.
func TestEndWaitsOutMemoryBoundForASilentSubscriber(t *testing.T) {
	prefix := uniquePrefix()
	pool := newPool(t, testRedis)
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	subscribe(t, testRedis, Channel(prefix, 0))
	id := mustCreate(t, s, testRecord("alice"))
	start := time.Now()
	ok, err := s.End(context.Background(), id)
	if !ok || err != nil {
		t.Fatalf("End = %v, %v; want true, nil", ok, err)
	}
	if waited := time.Since(start); waited < MemoryBound-time.Millisecond {
		t.Fatalf("End returned after %v; a silent subscriber must hold it back MemoryBound (%v)", waited, MemoryBound)
	}
	wantGone(t, s, id)
}

// TestAnnouncementWaitNeverBecomesForever: BLPOP reads a timeout of 0 as
// "block for ever", so a wait of a fraction of a millisecond, left when a
// confirmation arrives just before the deadline, must not be rounded down
// to 0, which would hang the logout on a subscriber that never confirms.
func TestAnnouncementWaitNeverBecomesForever(t *testing.T) {
	for _, wait := range []time.Duration{time.Nanosecond, 400 * time.Microsecond, 999 * time.Microsecond, time.Millisecond, 1500 * time.Microsecond, 999_999 * time.Microsecond, MemoryBound} {
		got := blpopTimeout(wait)
		secs, err := strconv.ParseFloat(got, 64)
		if err != nil || secs <= 0 {
			t.Errorf("blpopTimeout(%v) = %q, which BLPOP reads as for ever", wait, got)
			continue
		}
		if secs < wait.Seconds() || secs > wait.Seconds()+0.001 {
			t.Errorf("blpopTimeout(%v) = %q; want the wait rounded up to a millisecond", wait, got)
		}
	}
}

// redisCalls is how many times srv has run cmd since it started.
func redisCalls(t *testing.T, srv *testredis.Server, cmd string) int {
	t.Helper()
	c, err := srv.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	info, err := redis.String(c.Do("INFO", "commandstats"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(info, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "cmdstat_"+cmd+":calls="); ok {
			n, err := strconv.Atoi(rest[:strings.IndexByte(rest+",", ',')])
			if err != nil {
				t.Fatalf("reading %q: %v", line, err)
			}
			return n
		}
	}
	return 0
}

// TestRedisUserIndexIsAllThatEndingAndListingRead: ending or listing one
// user's sessions reads that user's index, never the realm: with thousands
// of other sessions, no SCAN, KEYS or GET runs, and the user's sessions,
// and only theirs, are listed and end.
func TestRedisUserIndexIsAllThatEndingAndListingRead(t *testing.T) {
	srv := ownRedis(t) // its own, so that its command counts are this test's
	pool := newPool(t, srv)
	prefix := uniquePrefix()
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	sub := subscribe(t, srv, Channel(prefix, 0))
	const others, alices = 4000, 40
	var alice, kept []string
	for i := range others + alices {
		if i%(others/alices+1) == 0 && len(alice) < alices {
			alice = append(alice, mustCreate(t, s, testRecord("alice")))
		} else {
			kept = append(kept, mustCreate(t, s, testRecord(fmt.Sprintf("user%d", i))))
		}
	}
	kept = append(kept, mustCreate(t, s, testRecord("alice2")), mustCreate(t, s, testRecord("alic")))
	announced := make(chan string, 1)
	go func() {
		msg := sub.next(t)
		confirm(t, pool, msg)
		announced <- msg
	}()
	walks := func() int {
		return redisCalls(t, srv, "scan") + redisCalls(t, srv, "keys") + redisCalls(t, srv, "get")
	}
	before := walks()
	listed, err := s.Sessions(context.Background(), "alice")
	if err != nil || len(listed) != len(alice) {
		t.Fatalf("Sessions(alice) = %d sessions, %v; want %d", len(listed), err, len(alice))
	}
	for _, st := range listed {
		if st.User != "alice" || !slices.Contains(alice, st.ID) {
			t.Fatalf("Sessions(alice) lists %q of %q", st.ID, st.User)
		}
	}
	n, err := s.EndUser(context.Background(), "alice")
	if n != len(alice) || err != nil {
		t.Fatalf("EndUser(alice) = %d, %v; want %d, nil", n, err, len(alice))
	}
	if w := walks() - before; w != 0 {
		t.Fatalf("listing and ending alice's sessions ran SCAN, KEYS or GET %d times; want none", w)
	}
	if msg := <-announced; !strings.HasPrefix(msg, "u alice ") {
		t.Fatalf("announced %q; want the user alice", msg)
	}
	for _, id := range alice {
		wantGone(t, s, id)
	}
	for _, id := range kept {
		if _, err := s.Load(context.Background(), id); err != nil {
			t.Fatalf("another user's session: Load = %v", err)
		}
	}
}

// TestRedisEndUserAnnouncesEvenWhenTheWalkFails: the caller changed the
// account before ending its sessions, so the new stamp ends those the walk
// did not reach; the announcement must still go out, so that no instance
// serves them from memory meanwhile. Here Redis refuses DEL to the store's
// connection (an ACL, which holds inside scripts too), so the ending fails.
func TestRedisEndUserAnnouncesEvenWhenTheWalkFails(t *testing.T) {
	srv := ownRedis(t)
	admin := newPool(t, srv)
	c := admin.Get()
	_, err := c.Do("ACL", "SETUSER", "walker", "on", ">walker password", "~*", "&*", "+@all", "-del")
	c.Close()
	if err != nil {
		t.Fatalf("making an ACL user: %v", err)
	}
	pool := &redis.Pool{Dial: func() (redis.Conn, error) {
		return redis.Dial("tcp", srv.Addr, redis.DialUsername("walker"), redis.DialPassword("walker password"))
	}}
	t.Cleanup(func() { pool.Close() })
	prefix := uniquePrefix()
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	sub := subscribe(t, srv, Channel(prefix, 0))
	id := mustCreate(t, s, testRecord("alice"))
	announced := make(chan string, 1)
	go func() {
		msg := sub.next(t)
		confirm(t, admin, msg)
		announced <- msg
	}()
	if _, err := s.EndUser(context.Background(), "alice"); err == nil || !strings.Contains(err.Error(), "ending sessions") {
		t.Fatalf("EndUser with DEL refused = %v; want the ending's error", err)
	}
	if msg := <-announced; !strings.HasPrefix(msg, "u alice ") {
		t.Fatalf("announced %q; want the user alice", msg)
	}
	testRecordLike(t, s, id) // not ended by the walk: the account's stamp ends it
}
