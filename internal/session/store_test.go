package session

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// storeKind is one Store implementation, with what the contract tests need
// to reach behind it.
type storeKind struct {
	name string
	open func(t *testing.T) Store
	// overwrite replaces the stored record of id with data (a file keeps
	// its first line, the purge deadline).
	overwrite func(t *testing.T, s Store, id, data string)
	// vanish removes id's record behind the store's back, as an expiry
	// in Redis does; indexSize counts the ids in user's index.
	vanish    func(t *testing.T, s Store, id string)
	indexSize func(t *testing.T, s Store, user string) int
}

var storeKinds = []storeKind{
	{
		name: "files",
		open: func(t *testing.T) Store { return NewFiles(filepath.Join(t.TempDir(), "sessions")) },
		overwrite: func(t *testing.T, s Store, id, data string) {
			if err := os.WriteFile(s.(*Files).path(id), []byte("9999999999\n"+data), 0o600); err != nil {
				t.Fatal(err)
			}
		},
		vanish: func(t *testing.T, s Store, id string) {
			f := s.(*Files)
			rec, err := f.Load(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.Remove(f.path(id)); err != nil {
				t.Fatal(err)
			}
			// Old enough that no Create can still be writing it.
			old := time.Now().Add(-2 * time.Minute)
			if err := os.Chtimes(filepath.Join(f.userDir(rec.User), id), old, old); err != nil {
				t.Fatal(err)
			}
		},
		indexSize: func(t *testing.T, s Store, user string) int {
			entries, err := os.ReadDir(s.(*Files).userDir(user))
			if err != nil {
				t.Fatal(err)
			}
			return len(entries)
		},
	},
	{
		name: "redis",
		open: func(t *testing.T) Store { return newInstance(t, testRedis, uniquePrefix()).store },
		overwrite: func(t *testing.T, s Store, id, data string) {
			rs := s.(*Redis)
			c := rs.pool.Get()
			defer c.Close()
			if _, err := c.Do("SET", rs.prefix+id, data, "KEEPTTL"); err != nil {
				t.Fatal(err)
			}
		},
		vanish: func(t *testing.T, s Store, id string) {
			rs := s.(*Redis)
			c := rs.pool.Get()
			defer c.Close()
			if _, err := c.Do("DEL", rs.prefix+id); err != nil {
				t.Fatal(err)
			}
		},
		indexSize: func(t *testing.T, s Store, user string) int {
			rs := s.(*Redis)
			c := rs.pool.Get()
			defer c.Close()
			n, err := redis.Int(c.Do("ZCARD", rs.indexKey(user)))
			if err != nil {
				t.Fatal(err)
			}
			return n
		},
	},
}

func forEachStore(t *testing.T, test func(t *testing.T, k storeKind, s Store)) {
	for _, k := range storeKinds {
		t.Run(k.name, func(t *testing.T) { test(t, k, k.open(t)) })
	}
}

// testRecord is a record made now, with times that are not whole
// milliseconds (the stores keep milliseconds).
func testRecord(user string) Record {
	now := time.Now()
	return Record{User: user, Stamp: "STAMP" + strings.ToUpper(user), Created: now, Seen: now, Expires: now.Add(24 * time.Hour)}
}

func mustCreate(t *testing.T, s Store, rec Record) string {
	t.Helper()
	id, err := s.Create(context.Background(), rec, time.Hour)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return id
}

func wantLoad(t *testing.T, s Store, id string, want Record) {
	t.Helper()
	got, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if !sameRecord(got, stored(want)) {
		t.Fatalf("Load = %+v; want %+v", got, stored(want))
	}
}

func wantGone(t *testing.T, s Store, id string) {
	t.Helper()
	_, err := s.Load(context.Background(), id)
	if !errors.Is(err, ErrNotFound) || IsBackendError(err) {
		t.Fatalf("Load of an ended session = %v; want ErrNotFound", err)
	}
}

func TestStoreCreateLoadRoundTrip(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		for _, tc := range []struct {
			name string
			rec  Record
		}{
			{"plain", testRecord("alice")},
			{"remembered", Record{User: "bob", Stamp: "S1", Created: at, Seen: at.Add(time.Minute), Expires: at.Add(30 * 24 * time.Hour), Remember: true}},
			{"e-mail username", Record{User: "carol.d-e_f@example.com", Stamp: "S2", Created: at, Seen: at, Expires: at}},
			{"separator in the username", Record{User: "a|b|c", Stamp: "S3", Created: at, Seen: at, Expires: at}},
			{"64-byte username", Record{User: strings.Repeat("z", 64), Stamp: "S4", Created: at, Seen: at, Expires: at}},
			{"no stamp", Record{User: "old", Created: at, Seen: at, Expires: at}},
			{"before the epoch", Record{User: "x", Stamp: "S5", Created: time.UnixMilli(-5), Seen: time.UnixMilli(-5), Expires: time.UnixMilli(-5)}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				id := mustCreate(t, s, tc.rec)
				if !validID(id) {
					t.Fatalf("Create returned id %q; want 52 base32 characters", id)
				}
				wantLoad(t, s, id, tc.rec)
			})
		}
		a, b := mustCreate(t, s, testRecord("alice")), mustCreate(t, s, testRecord("alice"))
		if a == b {
			t.Fatal("two Creates of one record returned the same id")
		}
	})
}

func TestStoreKeepsMillisecondPrecision(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		id := mustCreate(t, s, Record{User: "alice", Stamp: "S", Created: at, Seen: at, Expires: at})
		got, err := s.Load(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if want := at.Truncate(time.Millisecond); !got.Created.Equal(want) || !got.Seen.Equal(want) || !got.Expires.Equal(want) {
			t.Fatalf("times came back as %v, %v, %v; want %v", got.Created, got.Seen, got.Expires, want)
		}
	})
}

// TestStoreLoadOfUnknownForgedOrCorruptIsNoSession: whatever id a cookie
// carries, Load answers "no session", never a backend failure.
func TestStoreLoadOfUnknownForgedOrCorruptIsNoSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, s Store) {
		ctx := context.Background()
		live := mustCreate(t, s, testRecord("alice"))
		for _, tc := range []struct {
			name string
			id   string
			want error
		}{
			{"unknown", NewID(), ErrNotFound},
			{"empty", "", ErrCorrupt},
			{"path", "../../../../etc/passwd", ErrCorrupt},
			{"lower case", strings.ToLower(live), ErrCorrupt},
			{"one character short", live[:51], ErrCorrupt},
			{"one character long", live + "A", ErrCorrupt},
			{"slash inside", live[:20] + "/" + live[21:], ErrCorrupt},
			{"glob", live[:51] + "*", ErrCorrupt},
		} {
			t.Run(tc.name, func(t *testing.T) {
				rec, err := s.Load(ctx, tc.id)
				if !errors.Is(err, tc.want) || IsBackendError(err) {
					t.Fatalf("Load(%q) = %v; want %v, which is no backend error", tc.id, err, tc.want)
				}
				if rec.User != "" {
					t.Fatalf("Load(%q) returned a record of %q", tc.id, rec.User)
				}
			})
		}
		for _, data := range []string{"", "garbage", "3|1|2|3|0|S|alice", "2|x|2|3|0|S|alice", "2|1|2|3|0|S|"} {
			t.Run("corrupt record "+data, func(t *testing.T) {
				id := mustCreate(t, s, testRecord("alice"))
				k.overwrite(t, s, id, data)
				_, err := s.Load(ctx, id)
				if !errors.Is(err, ErrCorrupt) || IsBackendError(err) {
					t.Fatalf("Load of record %q = %v; want ErrCorrupt", data, err)
				}
			})
		}
	})
}

func TestStoreRefreshRewritesALiveSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		rec := testRecord("alice")
		id := mustCreate(t, s, rec)
		rec.Seen = rec.Seen.Add(7 * time.Minute)
		if err := s.Refresh(context.Background(), id, rec, 3*time.Hour); err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		wantLoad(t, s, id, rec)
	})
}

func TestRefreshNeverResurrectsEndedSession(t *testing.T) {
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		ctx := context.Background()
		rec := testRecord("alice")
		id := mustCreate(t, s, rec)
		if ended, err := s.End(ctx, id); !ended || err != nil {
			t.Fatalf("End = %v, %v; want true", ended, err)
		}
		if err := s.Refresh(ctx, id, rec, time.Hour); !errors.Is(err, ErrNotFound) || IsBackendError(err) {
			t.Fatalf("Refresh after End = %v; want ErrNotFound", err)
		}
		wantGone(t, s, id)
		if err := s.Refresh(ctx, NewID(), rec, time.Hour); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Refresh of a session never made = %v; want ErrNotFound", err)
		}
	})
}

// TestRefreshRacingEndNeverResurrects runs logouts against refreshes:
// whichever wins, an ended session never comes back.
func TestRefreshRacingEndNeverResurrects(t *testing.T) {
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		ctx := context.Background()
		for range 50 {
			rec := testRecord("alice")
			id := mustCreate(t, s, rec)
			start := make(chan struct{})
			var wg sync.WaitGroup
			wg.Go(func() { <-start; _ = s.Refresh(ctx, id, rec, time.Hour) })
			wg.Go(func() { <-start; _, _ = s.End(ctx, id) })
			close(start)
			wg.Wait()
			wantGone(t, s, id)
		}
	})
}

func TestStoreEndTellsWhetherThereWasASession(t *testing.T) {
	forEachStore(t, func(t *testing.T, _ storeKind, s Store) {
		ctx := context.Background()
		id := mustCreate(t, s, testRecord("alice"))
		other := mustCreate(t, s, testRecord("alice"))
		for _, tc := range []struct {
			name string
			id   string
			want bool
		}{
			{"live", id, true},
			{"just ended", id, false},
			{"never made", NewID(), false},
			{"forged", "../" + other, false},
			{"empty", "", false},
		} {
			if ended, err := s.End(ctx, tc.id); ended != tc.want || err != nil {
				t.Fatalf("End of a %s id = %v, %v; want %v, nil", tc.name, ended, err, tc.want)
			}
		}
		wantGone(t, s, id)
		testRecordLike(t, s, other)
	})
}

// testRecordLike loads id's record, failing if it is gone.
func testRecordLike(t *testing.T, s Store, id string) Record {
	t.Helper()
	rec, err := s.Load(context.Background(), id)
	if err != nil {
		t.Fatalf("another session was hurt: Load = %v", err)
	}
	return rec
}

func TestStoreEndUserEndsOnlyThatUsersSessions(t *testing.T) {
	forEachStore(t, func(t *testing.T, k storeKind, s Store) {
		ctx := context.Background()
		var alice, others []string
		for range 3 {
			alice = append(alice, mustCreate(t, s, testRecord("alice")))
		}
		for _, user := range []string{"bob", "bob", "alice2", "alic", "Alice"} {
			others = append(others, mustCreate(t, s, testRecord(user)))
		}
		// A corrupt record on the way does not stop the walk.
		k.overwrite(t, s, mustCreate(t, s, testRecord("zed")), "garbage")

		n, err := s.EndUser(ctx, "alice")
		if n != 3 || err != nil {
			t.Fatalf("EndUser(alice) = %d, %v; want 3", n, err)
		}
		for _, id := range alice {
			wantGone(t, s, id)
		}
		for _, id := range others {
			testRecordLike(t, s, id)
		}
		if n, err := s.EndUser(ctx, "alice"); n != 0 || err != nil {
			t.Fatalf("a second EndUser(alice) = %d, %v; want 0", n, err)
		}
		if n, err := s.EndUser(ctx, "nobody"); n != 0 || err != nil {
			t.Fatalf("EndUser(nobody) = %d, %v; want 0", n, err)
		}
	})
}

// TestRedisDownIsABackendError: with Redis unreachable, every store call
// fails as a backend failure (503), never as "no session" (a login
// page) and never as a session.
func TestRedisDownIsABackendError(t *testing.T) {
	srv, err := testredis.Start()
	if err != nil {
		t.Fatalf("starting a second redis-server: %v", err)
	}
	t.Cleanup(srv.Close)
	pool := newPool(t, srv)
	prefix := uniquePrefix()
	s := NewRedis(pool, prefix, Channel(prefix, 0), nil)
	ctx := context.Background()
	rec := testRecord("alice")
	id := mustCreate(t, s, rec)
	srv.Stop()

	checks := map[string]error{}
	_, checks["Create"] = s.Create(ctx, rec, time.Hour)
	_, checks["Load"] = s.Load(ctx, id)
	checks["Refresh"] = s.Refresh(ctx, id, rec, time.Hour)
	_, checks["End"] = s.End(ctx, id)
	_, checks["EndUser"] = s.EndUser(ctx, "alice")
	checks["UserChanged"] = s.UserChanged(ctx, "alice")
	for op, err := range checks {
		if !IsBackendError(err) {
			t.Errorf("%s with Redis down = %v; want a backend error", op, err)
		}
		if err != nil && strings.Contains(err.Error(), id) {
			t.Errorf("%s error %q names the session id", op, err)
		}
	}
	// A forged id is still no session, whether or not Redis answers.
	if _, err := s.Load(ctx, "forged"); IsBackendError(err) {
		t.Errorf("Load of a forged id with Redis down = %v; want no session", err)
	}
}

// anyID finds something shaped like a session id.
var anyID = regexp.MustCompile(`[A-Z2-7]{52}`)

// TestFileErrorsNeverNameTheSessionFile: a session file is named after its
// id, and errors end up in logs. A folder where a session file should be
// makes every operation on it fail, even as root.
func TestFileErrorsNeverNameTheSessionFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "sessions")
	s := NewFiles(dir)
	ctx := context.Background()
	rec := testRecord("alice")
	id := mustCreate(t, s, rec)
	if err := os.Remove(s.path(id)); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(s.path(id), "in the way"), 0o700); err != nil {
		t.Fatal(err)
	}
	// A session file that cannot even be opened: a link to itself.
	loop := mustCreate(t, s, rec)
	if err := os.Remove(s.path(loop)); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(s.path(loop), s.path(loop)); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["Load"] = s.Load(ctx, id)
	_, checks["Load of an unopenable file"] = s.Load(ctx, loop)
	checks["Refresh"] = s.Refresh(ctx, id, rec, time.Hour)
	_, checks["End"] = s.End(ctx, id)
	_, checks["EndUser"] = s.EndUser(ctx, "alice")
	_, checks["Purge"] = s.Purge(time.Now().Add(48 * time.Hour))

	// The folder itself unusable: a regular file in its place.
	blocked := NewFiles(filepath.Join(t.TempDir(), "not-a-folder"))
	if err := os.WriteFile(blocked.dir, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, checks["Create in a blocked folder"] = blocked.Create(ctx, rec, time.Hour)
	_, checks["Purge of a blocked folder"] = blocked.Purge(time.Now())

	for op, err := range checks {
		if op == "EndUser" || op == "Purge" {
			// The walk skips what it cannot read; if it reports, it too
			// must not name the file.
			if err == nil {
				continue
			}
		} else if !IsBackendError(err) {
			t.Errorf("%s = %v; want a backend error", op, err)
			continue
		}
		if anyID.MatchString(err.Error()) || strings.Contains(err.Error(), fileNamePrefix+id) {
			t.Errorf("%s error %q names a session file", op, err)
		}
	}
}

func TestHidePathKeepsTheCauseAndDropsTheName(t *testing.T) {
	id := NewID()
	path := filepath.Join(t.TempDir(), fileNamePrefix+id)
	for _, err := range []error{
		&os.PathError{Op: "open", Path: path, Err: os.ErrPermission},
		&os.LinkError{Op: "rename", Old: path + ".tmp", New: path, Err: os.ErrExist},
		errors.Join(errors.New("writing"), &os.PathError{Op: "write", Path: path, Err: os.ErrClosed}),
	} {
		hidden := hidePath(err)
		if strings.Contains(hidden.Error(), id) {
			t.Errorf("%q names the session id", hidden)
		}
		if !errors.Is(hidden, os.ErrPermission) && !errors.Is(hidden, os.ErrExist) && !errors.Is(hidden, os.ErrClosed) {
			t.Errorf("%q lost its cause", hidden)
		}
	}
	if hidePath(nil) != nil {
		t.Error("hidePath(nil) is an error")
	}
}

func TestIsBackendError(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"not found", ErrNotFound, false},
		{"corrupt", ErrCorrupt, false},
		{"wrapped corrupt", errors.Join(errors.New("x"), ErrCorrupt), false},
		{"disk", errors.New("session file: open: permission denied"), true},
		{"redis", redis.ErrPoolExhausted, true},
	} {
		if got := IsBackendError(tc.err); got != tc.want {
			t.Errorf("%s: IsBackendError(%v) = %v; want %v", tc.name, tc.err, got, tc.want)
		}
	}
}

func TestNewIDIs256BitsOfBase32(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		id := NewID()
		if len(id) != 52 || !validID(id) {
			t.Fatalf("NewID() = %q (%d chars); want 52 base32 characters", id, len(id))
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
