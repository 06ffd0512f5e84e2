package onetime_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// testRedis is a private redis-server for this package's tests; without it
// the tests fail, never skip.
var testRedis *testredis.Server

func TestMain(m *testing.M) { testredis.Main(m, &testRedis) }

// store is one backend of tokens as a test sees it: the Store, and a look
// at everything it keeps, by the name it keeps it under.
type store struct {
	onetime.Store
	// contents is every name in the backend with what it holds.
	contents func(t *testing.T) map[string][]byte
	// nameOf is the name the backend keeps a token under, given the
	// token's SHA-256 in hex.
	nameOf func(hashHex string) string
	// spoil makes the entry named by a token's hash unreadable (a folder
	// where a file belongs; a list where a string belongs).
	spoil func(t *testing.T, hashHex string)
}

type backend struct {
	name string
	open func(t *testing.T) store
}

var backends = []backend{
	{"files", func(t *testing.T) store { return filesStore(t, filepath.Join(t.TempDir(), "links")) }},
	{"redis", redisStore},
}

// forEachStore runs test on every backend, each with a store of its own.
func forEachStore(t *testing.T, test func(t *testing.T, s store)) {
	t.Helper()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) { test(t, b.open(t)) })
	}
}

func filesStore(t *testing.T, dir string) store {
	return store{
		Store: onetime.NewFiles(dir),
		contents: func(t *testing.T) map[string][]byte {
			t.Helper()
			all := map[string][]byte{}
			if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
				return all
			}
			err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(dir, p)
				if p == dir {
					return nil
				}
				if d.IsDir() {
					all[rel+"/"] = nil
					return nil
				}
				data, err := os.ReadFile(p)
				all[rel] = data
				return err
			})
			if err != nil {
				t.Fatalf("reading the token folder: %v", err)
			}
			return all
		},
		nameOf: func(h string) string { return h },
		spoil: func(t *testing.T, h string) {
			t.Helper()
			if err := os.MkdirAll(filepath.Join(dir, h), 0o700); err != nil {
				t.Fatal(err)
			}
		},
	}
}

func redisStore(t *testing.T) store {
	pool := testRedis.Pool(0)
	pool.MaxIdle = 32
	t.Cleanup(func() { pool.Close() })
	prefix := "test:" + randomToken(t)[:12] + ":"
	do := func(t *testing.T, cmd string, args ...any) any {
		t.Helper()
		conn := pool.Get()
		defer conn.Close()
		reply, err := conn.Do(cmd, args...)
		if err != nil {
			t.Fatalf("redis %s: %v", cmd, err)
		}
		return reply
	}
	return store{
		Store: onetime.NewRedis(pool, prefix),
		contents: func(t *testing.T) map[string][]byte {
			t.Helper()
			keys, err := redis.Strings(do(t, "KEYS", prefix+"*"), nil)
			if err != nil {
				t.Fatal(err)
			}
			all := map[string][]byte{}
			for _, k := range keys {
				v, err := redis.Bytes(do(t, "GET", k), nil)
				if err != nil {
					t.Fatalf("GET %s: %v", k, err)
				}
				all[k] = v
			}
			return all
		},
		nameOf: func(h string) string { return prefix + "token:" + h },
		spoil: func(t *testing.T, h string) {
			t.Helper()
			do(t, "RPUSH", prefix+"token:"+h, "not a grant")
			do(t, "PEXPIRE", prefix+"token:"+h, time.Hour.Milliseconds())
		},
	}
}

// randomToken looks like a real token (256 random bits, base64url) but
// was never issued.
func randomToken(t testing.TB) string {
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:])
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// grantFor is a reset grant that expires an hour from now, in
// milliseconds as stored.
func grantFor(user string) onetime.Grant {
	now := time.UnixMilli(time.Now().UnixMilli())
	return onetime.Grant{
		Kind:    onetime.Reset,
		User:    user,
		Stamp:   "stamp-" + user,
		Roles:   []string{"admin", "editor"},
		By:      "command line",
		Created: now,
		Expires: now.Add(time.Hour),
	}
}

func sameGrant(a, b onetime.Grant) bool {
	return a.Kind == b.Kind && a.User == b.User && a.Stamp == b.Stamp && a.By == b.By &&
		slices.Equal(a.Roles, b.Roles) && a.Created.Equal(b.Created) && a.Expires.Equal(b.Expires)
}

func issue(t *testing.T, s store, g onetime.Grant) string {
	t.Helper()
	token, err := s.Issue(context.Background(), g)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return token
}

func wantGrant(t *testing.T, what string, got onetime.Grant, err error, want onetime.Grant) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v, want the grant", what, err)
	}
	if !sameGrant(got, want) {
		t.Fatalf("%s: grant %+v, want %+v", what, got, want)
	}
}

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: error %v, want %v", what, err, want)
	}
}

func TestPeekShowsTheGrantWithoutUsingItAndUseTakesItOnce(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		for _, g := range []onetime.Grant{
			grantFor("alice"),
			{Kind: onetime.Invite, Roles: []string{"viewer"}, By: "root",
				Created: time.UnixMilli(time.Now().UnixMilli()), Expires: time.UnixMilli(time.Now().Add(48 * time.Hour).UnixMilli())},
		} {
			token := issue(t, s, g)
			now := g.Expires.Add(-time.Minute)
			for i := range 2 {
				got, err := s.Peek(ctx, token, now)
				wantGrant(t, "Peek #"+string(rune('1'+i)), got, err, g)
			}
			got, err := s.Use(ctx, token, now)
			wantGrant(t, "Use after two Peeks", got, err, g)
			_, err = s.Use(ctx, token, now)
			wantErr(t, "Use of a used token", err, onetime.ErrInvalid)
			_, err = s.Peek(ctx, token, now)
			wantErr(t, "Peek of a used token", err, onetime.ErrInvalid)
		}
	})
}

func TestOnlyOneOfSimultaneousUsesGetsTheGrant(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		const callers = 32
		g := grantFor("bob")
		now := g.Created
		for round := range 100 {
			token := issue(t, s, g)
			var (
				start   = make(chan struct{})
				wg      sync.WaitGroup
				mu      sync.Mutex
				winners int
				others  []error
			)
			for range callers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					got, err := s.Use(context.Background(), token, now)
					mu.Lock()
					defer mu.Unlock()
					switch {
					case err == nil && sameGrant(got, g):
						winners++
					case errors.Is(err, onetime.ErrInvalid):
					default:
						others = append(others, err)
					}
				}()
			}
			close(start)
			wg.Wait()
			if winners != 1 || len(others) > 0 {
				t.Fatalf("round %d: %d of %d simultaneous Uses got the grant (want exactly 1), other outcomes: %v",
					round, winners, callers, others)
			}
		}
	})
}

func TestAnExpiredTokenSaysExpiredNotInvalid(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		g := grantFor("carol")
		for _, c := range []struct {
			name    string
			now     time.Time
			expired bool
		}{
			{"an hour past Expires", g.Expires.Add(time.Hour), true},
			{"a day past Expires", g.Expires.Add(24 * time.Hour), true},
			{"at Expires", g.Expires, true},
			{"one ms before Expires", g.Expires.Add(-time.Millisecond), false},
		} {
			t.Run(c.name, func(t *testing.T) {
				ctx := context.Background()
				token := issue(t, s, g)
				peeked, err := s.Peek(ctx, token, c.now)
				if c.expired {
					wantErr(t, "Peek", err, onetime.ErrExpired)
				} else {
					wantGrant(t, "Peek", peeked, err, g)
				}
				used, err := s.Use(ctx, token, c.now)
				if c.expired {
					wantErr(t, "Use", err, onetime.ErrExpired)
				} else {
					wantGrant(t, "Use", used, err, g)
				}
			})
		}
	})
}

func TestTheStoreKeepsOnlyTheTokensHash(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		token := issue(t, s, grantFor("dave"))
		raw, err := base64.RawURLEncoding.DecodeString(token)
		if err != nil {
			t.Fatalf("the token %q is not base64url: %v", token, err)
		}
		clear := [][]byte{
			[]byte(token),
			raw,
			[]byte(hex.EncodeToString(raw)),
			[]byte(base64.StdEncoding.EncodeToString(raw)),
		}
		contents := s.contents(t)
		want := s.nameOf(sha256Hex(token))
		if _, ok := contents[want]; !ok || len(contents) != 1 {
			t.Fatalf("the store holds %v, want exactly one entry, named %s (the token's SHA-256)", keys(contents), want)
		}
		for name, data := range contents {
			for _, c := range clear {
				if strings.Contains(name, string(c)) || bytes.Contains(data, c) {
					t.Fatalf("the clear token is in the store: %s = %q", name, data)
				}
			}
		}
	})
}

func keys(m map[string][]byte) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

func TestATokenFileIsReadableOnlyByItsOwner(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "links")
	s := filesStore(t, dir)
	token := issue(t, s, grantFor("erin"))
	info, err := os.Stat(filepath.Join(dir, sha256Hex(token)))
	if err != nil {
		t.Fatal(err)
	}
	if perm := info.Mode().Perm(); perm&0o077 != 0 {
		t.Fatalf("the token file has mode %v, want no access for group or others", perm)
	}
}

func TestRedisKeepsAnExpiredTokenForSevenDays(t *testing.T) {
	s := redisStore(t)
	g := grantFor("frank")
	token := issue(t, s, g)
	conn := testRedis.Pool(0).Get()
	defer conn.Close()
	pttl, err := redis.Int64(conn.Do("PTTL", s.nameOf(sha256Hex(token))))
	if err != nil {
		t.Fatal(err)
	}
	ttl := time.Duration(pttl) * time.Millisecond
	want := time.Until(g.Expires.Add(7 * 24 * time.Hour))
	if ttl > want+time.Second || ttl < want-time.Minute {
		t.Fatalf("the token's key lives %v, want Expires + 7 days (%v)", ttl, want)
	}
}

// invalidTokens are strings that are not a token any store issued.
func invalidTokens(t testing.TB) []struct{ name, token string } {
	valid := randomToken(t)
	return []struct{ name, token string }{
		{"empty", ""},
		{"short", "short"},
		{"43 chars, not base64url", strings.Repeat("!", 43)},
		{"43 chars, standard base64", "+" + valid[1:]},
		{"never issued", valid},
		{"a slash", valid[:20] + "/" + valid[21:]},
		{"a slash and dots", "../" + valid[3:]},
		{"dot-dot", ".."},
		{"a path", "../../../../etc/passwd"},
		{"a glob", "*"},
		{"44 chars", valid + "A"},
		{"42 chars", valid[:42]},
		{"a newline", valid[:42] + "\n"},
		{"a NUL", valid[:42] + "\x00"},
		{"padded", valid + "="},
	}
}

func TestWhatWasNeverIssuedIsInvalid(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		issued := issue(t, s, grantFor("gina"))
		before := s.contents(t)
		now := time.Now()
		for _, c := range invalidTokens(t) {
			t.Run(c.name, func(t *testing.T) {
				_, err := s.Peek(ctx, c.token, now)
				wantErr(t, "Peek", err, onetime.ErrInvalid)
				_, err = s.Use(ctx, c.token, now)
				wantErr(t, "Use", err, onetime.ErrInvalid)
			})
		}
		if after := s.contents(t); !slices.Equal(keys(before), keys(after)) {
			t.Fatalf("looking up invalid tokens changed the store: %v, was %v", keys(after), keys(before))
		}
		if _, err := s.Peek(ctx, issued, now); err != nil {
			t.Fatalf("the issued token after the invalid ones: %v", err)
		}
	})
}

func TestRestoreRefusesWhatIsNotAToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		for _, c := range invalidTokens(t) {
			if c.name == "never issued" {
				continue // a well-formed token may be restored
			}
			t.Run(c.name, func(t *testing.T) {
				err := s.Restore(context.Background(), c.token, grantFor("hank"))
				wantErr(t, "Restore", err, onetime.ErrInvalid)
			})
		}
		if c := s.contents(t); len(c) != 0 {
			t.Fatalf("Restore of invalid tokens wrote %v", keys(c))
		}
	})
}

func TestARestoredTokenWorksOnceMore(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		g := grantFor("ivy")
		now := g.Created
		token := issue(t, s, g)
		used, err := s.Use(ctx, token, now)
		wantGrant(t, "Use", used, err, g)
		if err := s.Restore(ctx, token, used); err != nil {
			t.Fatalf("Restore: %v", err)
		}
		peeked, err := s.Peek(ctx, token, now)
		wantGrant(t, "Peek after Restore", peeked, err, g)
		again, err := s.Use(ctx, token, now)
		wantGrant(t, "Use after Restore", again, err, g)
		_, err = s.Use(ctx, token, now)
		wantErr(t, "a second Use after Restore", err, onetime.ErrInvalid)
	})
}

// wantBackendError: a failing backend is neither "no such link" nor
// "expired", and its error names neither the token nor its hash.
func wantBackendError(t *testing.T, what string, err error, token string) {
	t.Helper()
	if err == nil || errors.Is(err, onetime.ErrInvalid) || errors.Is(err, onetime.ErrExpired) {
		t.Fatalf("%s on a failing backend: error %v, want a backend failure", what, err)
	}
	if msg := err.Error(); token != "" && (strings.Contains(msg, token) || strings.Contains(msg, sha256Hex(token))) {
		t.Fatalf("%s: the error names the token or its hash: %s", what, msg)
	}
}

// exerciseFailingStore calls every method of a store whose backend fails.
func exerciseFailingStore(t *testing.T, s onetime.Store) {
	t.Helper()
	ctx := context.Background()
	g := grantFor("jack")
	token, err := s.Issue(ctx, g)
	wantBackendError(t, "Issue", err, token)
	token = randomToken(t)
	_, err = s.Peek(ctx, token, g.Created)
	wantBackendError(t, "Peek", err, token)
	_, err = s.Use(ctx, token, g.Created)
	wantBackendError(t, "Use", err, token)
	err = s.Restore(ctx, token, g)
	wantBackendError(t, "Restore", err, token)
	_, err = s.Spend(ctx, token, g.Created, g.Expires)
	wantBackendError(t, "Spend", err, token)
}

func TestRedisDownIsABackendFailureNotAnInvalidLink(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	pool := &redis.Pool{Dial: func() (redis.Conn, error) { return redis.Dial("tcp", addr) }}
	defer pool.Close()
	exerciseFailingStore(t, onetime.NewRedis(pool, "test:down:"))
}

func TestAFilesFolderThatIsAFileIsABackendFailureNotAnInvalidLink(t *testing.T) {
	file := filepath.Join(t.TempDir(), "links")
	if err := os.WriteFile(file, []byte("not a folder"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, dir := range []string{file, filepath.Join(file, "inside")} {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			s := onetime.NewFiles(dir)
			exerciseFailingStore(t, s)
			if _, err := s.Purge(time.Now()); err == nil {
				t.Fatal("Purge of a folder that is a file: no error")
			}
		})
	}
}

func TestAnUnreadableEntryIsABackendFailureNamingNoHash(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		ctx := context.Background()
		token := randomToken(t)
		s.spoil(t, sha256Hex(token))
		_, err := s.Peek(ctx, token, time.Now())
		wantBackendError(t, "Peek", err, token)
		_, err = s.Use(ctx, token, time.Now())
		wantBackendError(t, "Use", err, token)
	})
}

func TestPurgeForgetsLinksAWeekPastExpiryAndUnfinishedUses(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "links")
	s := filesStore(t, dir)
	files := s.Store.(*onetime.Files)
	ctx := context.Background()
	now := time.UnixMilli(time.Now().UnixMilli())
	week := 7 * 24 * time.Hour
	grants := []struct {
		name    string
		expires time.Time
		kept    bool
	}{
		{"live", now.Add(time.Hour), true},
		{"expired a minute ago", now.Add(-time.Minute), true},
		{"expired a week less a minute ago", now.Add(-week + time.Minute), true},
		{"expired a week ago", now.Add(-week), false},
		{"expired a week and a minute ago", now.Add(-week - time.Minute), false},
		{"expired a year ago", now.Add(-365 * 24 * time.Hour), false},
	}
	tokens := make([]string, len(grants))
	for i, c := range grants {
		g := grantFor(c.name)
		g.Created, g.Expires = c.expires.Add(-time.Hour), c.expires
		tokens[i] = issue(t, s, g)
	}
	// Leftovers of Uses: a live grant stays whatever the file's age (a Use
	// may be under way: Rename keeps the time of issue), one past keeping
	// goes, and one that cannot be read goes after a day.
	leftovers := []struct {
		name    string
		content string // "" for tokens[0]'s grant (live), "old" for the year-old one
		age     time.Duration
		kept    bool
	}{
		{sha256Hex(randomToken(t)) + ".used-0123456789abcdef", "", 2 * time.Hour, true},
		{sha256Hex(randomToken(t)) + ".used-fedcba9876543210", "old", time.Minute, false},
		{sha256Hex(randomToken(t)) + ".used-aaaaaaaaaaaaaaaa", "not json", 25 * time.Hour, false},
		{sha256Hex(randomToken(t)) + ".used-bbbbbbbbbbbbbbbb", "not json", 10 * time.Minute, true},
	}
	for _, l := range leftovers {
		p := filepath.Join(dir, l.name)
		data, _ := os.ReadFile(filepath.Join(dir, sha256Hex(tokens[0])))
		switch l.content {
		case "old":
			data, _ = os.ReadFile(filepath.Join(dir, sha256Hex(tokens[len(tokens)-1])))
		case "not json":
			data = []byte(l.content)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, now.Add(-l.age), now.Add(-l.age)); err != nil {
			t.Fatal(err)
		}
	}
	wantGone := 0
	for _, c := range grants {
		if !c.kept {
			wantGone++
		}
	}
	for _, l := range leftovers {
		if !l.kept {
			wantGone++
		}
	}
	n, err := files.Purge(now)
	if err != nil {
		t.Fatalf("Purge: %v", err)
	}
	if n != wantGone {
		t.Errorf("Purge says it removed %d, want %d", n, wantGone)
	}
	for i, c := range grants {
		_, statErr := os.Stat(filepath.Join(dir, sha256Hex(tokens[i])))
		if c.kept != (statErr == nil) {
			t.Errorf("%s: kept = %v, want %v", c.name, statErr == nil, c.kept)
		}
		_, err := files.Peek(ctx, tokens[i], now)
		switch {
		case !c.kept:
			wantErr(t, c.name+", purged", err, onetime.ErrInvalid)
		case c.expires.After(now):
			if err != nil {
				t.Errorf("%s: Peek after Purge: %v", c.name, err)
			}
		default:
			wantErr(t, c.name+", kept", err, onetime.ErrExpired)
		}
	}
	for _, l := range leftovers {
		_, statErr := os.Stat(filepath.Join(dir, l.name))
		if l.kept != (statErr == nil) {
			t.Errorf("leftover %v old: kept = %v, want %v", l.age, statErr == nil, l.kept)
		}
	}
}

func TestPurgeOfAFolderNeverMadeIsNothing(t *testing.T) {
	n, err := onetime.NewFiles(filepath.Join(t.TempDir(), "never")).Purge(time.Now())
	if n != 0 || err != nil {
		t.Fatalf("Purge of a missing folder: %d, %v; want 0, nil", n, err)
	}
}

// FuzzUseNeverPanics: whatever string a visitor brings, Peek and Use on
// the files store never panic, never fail as a backend would, and find no
// grant, since none was issued under it; the store is left as it was.
func FuzzUseNeverPanics(f *testing.F) {
	dir := filepath.Join(f.TempDir(), "links")
	s := onetime.NewFiles(dir)
	issued, err := s.Issue(context.Background(), grantFor("fuzz"))
	if err != nil {
		f.Fatal(err)
	}
	for _, c := range invalidTokens(f) {
		f.Add(c.token)
	}
	f.Add(sha256Hex(issued))
	f.Add(issued[:42])
	f.Add(issued[:42] + "_")
	f.Add(issued + ".used-0123456789abcdef")
	f.Fuzz(func(t *testing.T, token string) {
		if token == issued {
			return
		}
		now := time.Now()
		_, err := s.Peek(context.Background(), token, now)
		if !errors.Is(err, onetime.ErrInvalid) {
			t.Fatalf("Peek(%q): %v, want ErrInvalid", token, err)
		}
		_, err = s.Use(context.Background(), token, now)
		if !errors.Is(err, onetime.ErrInvalid) {
			t.Fatalf("Use(%q): %v, want ErrInvalid", token, err)
		}
		entries, err := os.ReadDir(dir)
		if err != nil || len(entries) != 1 || entries[0].Name() != sha256Hex(issued) {
			t.Fatalf("after Use(%q) the folder holds %v (%v), want only the issued token", token, entries, err)
		}
	})
}

// TestAnExpiredLinkStillSaysExpiredAfterAUse: a form loaded while its link
// was live and sent after it expired must not turn the link into "not
// valid" for the next look.
func TestAnExpiredLinkStillSaysExpiredAfterAUse(t *testing.T) {
	forEachStore(t, func(t *testing.T, s store) {
		g := grantFor("late")
		token := issue(t, s, g)
		late := g.Expires.Add(time.Minute)
		_, err := s.Use(context.Background(), token, late)
		wantErr(t, "Use", err, onetime.ErrExpired)
		_, err = s.Peek(context.Background(), token, late)
		wantErr(t, "Peek after an expired Use", err, onetime.ErrExpired)
	})
}
