package sessionauth

// Rule 19, first half: one client cannot starve the others. A known
// device has its own failure budget, checked before any bcrypt work;
// bcrypt admission is shared fairly per client; live sessions per account
// are capped.

import (
	"context"
	"fmt"
	"html"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// countBcrypt has the login's bcrypt comparisons counted until the test
// ends; the count is read with the function returned.
func countBcrypt(t *testing.T) func() int64 {
	t.Helper()
	var n atomic.Int64
	verify = func(hash []byte, password string) bool {
		n.Add(1)
		return users.Verify(hash, password)
	}
	t.Cleanup(func() { verify = users.Verify })
	return n.Load
}

// TestAKnownDeviceWithItsBudgetSpentCostsNoBcrypt: a browser that holds
// its own account's device cookie pays one bcrypt per guess while its
// budget lasts, and none once it is spent: the generic failure comes
// without any. (Every other browser still pays one for every failure,
// locked account or not: TestEveryFailedLoginCostsOneBcryptAtTheConfiguredCost.)
func TestAKnownDeviceWithItsBudgetSpentCostsNoBcrypt(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		site(t, "session_auth /members/*", deviceOptions+b.lines(t))
		registerRetry(newClient(t), "dora", testPassword)
		owner := knownBrowser(t, "dora")
		comparisons := countBcrypt(t)
		for i := range 3 {
			before := comparisons()
			wantGenericFailure(t, loginRetry(owner, "dora", fmt.Sprintf("mistyped %d", i)), "the known browser's wrong password")
			if n := comparisons() - before; n != 1 {
				t.Fatalf("wrong password %d of the budget's 3 cost %d bcrypt comparisons; want 1", i+1, n)
			}
		}
		for _, password := range []string{"mistyped again", testPassword} {
			before := comparisons()
			r := loginRetry(owner, "dora", password)
			wantGenericFailure(t, r, "the known browser with its budget spent")
			if n := comparisons() - before; n != 0 {
				t.Fatalf("a login from a known browser with its budget spent cost %d bcrypt comparisons; want none", n)
			}
			if slices.Contains(setCookieNames(r), defaultCookieName) {
				t.Fatal("the refused login set a session cookie")
			}
		}
		// The budget is the device's: a fresh browser still gets in.
		if r := loginRetry(newClient(t), "dora", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("a fresh browser while the device's budget is spent: want 303, got %d", r.status)
		}
	})
}

// TestAKnownDeviceWithItsBudgetSpentIsHeldToTheClientLimit: a known
// device is exempt from the client's limit (rule 15) only while its own
// budget lasts. Once spent, each refusal counts against the client like
// any failure, and the client's limit holds for it: a client cannot go
// on guessing past both limits by holding a device cookie of its own.
func TestAKnownDeviceWithItsBudgetSpentIsHeldToTheClientLimit(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			site(t, "session_auth /members/*", "ip_limit 5 15m\n\t\t"+deviceOptions+lines)
			createAccounts(t, store, "dino") // registering would count against the client
			owner := knownBrowser(t, "dino")
			for i := range 3 {
				wantGenericFailure(t, loginRetry(owner, "dino", fmt.Sprintf("mistyped %d", i)), fmt.Sprintf("the known browser's failure %d of its budget's 3", i+1))
			}
			// Failures 4 and 5 of the client: the device's spent budget answers.
			for i := range 2 {
				wantGenericFailure(t, loginRetry(owner, "dino", testPassword), fmt.Sprintf("the known browser's attempt %d past its budget", i+1))
			}
			wantClientRefused(t, loginRetry(owner, "dino", testPassword), "the known browser with its budget spent, its client past the limit")
		})
	}
}

// hammer sends wrong passwords for user from one client, from many
// goroutines at full speed, until stopped, and counts the answers.
type hammer struct {
	stop    chan struct{}
	done    sync.WaitGroup
	mu      sync.Mutex
	answers map[int]int // by status; 0 for a transport error
}

// newHammer starts goroutines that each post wrong passwords for user to
// the login form from the loopback address from, as one browser: the
// form's cookie and token, and the cookies given (a device cookie), are
// the same for all.
func newHammer(t *testing.T, from string, goroutines int, user string, cookies map[string]string) *hammer {
	t.Helper()
	dialer := &net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	hc := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
				return dialer.DialContext(ctx, "tcp4", onFreePorts("127.0.0.1:9080"))
			},
			MaxIdleConnsPerHost: goroutines, // no port churn
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	setup := newRawClient(t, from, nil)
	maps.Copy(setup.cookies, cookies)
	page := setup.do(http.MethodGet, "/auth/login", nil)
	m := tokenField.FindStringSubmatch(page.body)
	if m == nil {
		t.Fatalf("the login form has no token (%d)", page.status)
	}
	body := url.Values{"username": {user}, "password": {"hammered wrong password"}, formTokenField: {html.UnescapeString(m[1])}}.Encode()
	h := &hammer{stop: make(chan struct{}), answers: map[int]int{}}
	for range goroutines {
		h.done.Go(func() {
			for {
				select {
				case <-h.stop:
					return
				default:
				}
				req, _ := http.NewRequest(http.MethodPost, baseURL+"/auth/login", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("Sec-Fetch-Site", "same-origin")
				req.Header.Set("Accept", "text/html")
				for name, value := range setup.cookies {
					req.AddCookie(&http.Cookie{Name: name, Value: value})
				}
				status := 0
				if resp, err := hc.Do(req); err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					status = resp.StatusCode
				}
				h.mu.Lock()
				h.answers[status]++
				h.mu.Unlock()
			}
		})
	}
	t.Cleanup(h.halt)
	return h
}

// count is how many answers of status the hammer has had (-1: of any).
func (h *hammer) count(status int) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	if status >= 0 {
		return h.answers[status]
	}
	n := 0
	for _, c := range h.answers {
		n += c
	}
	return n
}

// halt stops the hammer and waits for its goroutines.
func (h *hammer) halt() {
	select {
	case <-h.stop:
	default:
		close(h.stop)
	}
	h.done.Wait()
}

// TestOneClientHammeringCannotStarveAnotherClientsLogins is the rule as
// a measurement: while one client posts wrong passwords at full speed
// from more goroutines than the bcrypt admission has slots and places in
// its queue together (as the admission computes them: one slot per core,
// four places per core), another client's 10 right passwords all log in.
// They may take a while (the cores are shared), but none may be turned
// away as busy. The hammer comes as one address with fresh browsers, and
// as one device with its own account's cookie. The admission is the
// process's and the decision the handler's, the same on every backend, so
// the file backend stands for both.
func TestOneClientHammeringCannotStarveAnotherClientsLogins(t *testing.T) {
	capacity := 5 * runtime.GOMAXPROCS(0) // NewBcryptAdmission's slots and queue
	goroutines := max(24, 2*capacity)
	// A cost at which a hash outlasts an HTTP round trip, so that the
	// hammer fills the admission (at bcrypt's lowest it might not), yet
	// ends well within the admission's 2 s maxWait: the other client may
	// wait for one of the hammer's hashes to end, since the hammer may
	// take every slot nobody else wants. Under -race a hash at cost 8
	// takes seconds on a busy machine. The accounts are hashed at it too:
	// a comparison costs what the stored hash says.
	cost := 8
	if raceDetector {
		cost = 5
	}
	for _, tc := range []struct {
		name    string
		options string
		device  bool
	}{
		{"one address, fresh browsers", "ip_limit 100000 15m\n\t\taccount_limit 100000 15m", false},
		{"one device with its own account's cookie", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lines, store := cliStores()[0].setup(t)
			site(t, "session_auth /members/*", fmt.Sprintf("bcrypt_cost %d\n\t\t%s\n\t\t%s", cost, tc.options, lines))
			hash, err := users.Hash(testPassword, cost)
			if err != nil {
				t.Fatal(err)
			}
			for _, name := range []string{"mallory", "olga"} {
				if err := store.Create(context.Background(), users.Account{Username: name, Hash: hash}); err != nil {
					t.Fatalf("creating %s: %v", name, err)
				}
			}
			cookies := map[string]string{}
			if tc.device {
				m := newRawClient(t, "127.0.0.1", nil)
				if r := m.post("/auth/login", url.Values{"username": {"mallory"}, "password": {testPassword}}); r.status != http.StatusSeeOther {
					t.Fatalf("the hammer's own login: want 303, got %d", r.status)
				}
				cookies[deviceCookieName] = m.cookies[deviceCookieName]
				if cookies[deviceCookieName] == "" {
					t.Fatal("the hammer's login gave it no device cookie")
				}
			}

			h := newHammer(t, "127.0.0.1", goroutines, "mallory", cookies)
			eventually(t, "the hammer to saturate its share", func() bool {
				// Turned away as busy proves it asks for more than its
				// share; the device's spent budget spares it bcrypt instead.
				return h.count(http.StatusServiceUnavailable) > 0 || tc.device && h.count(-1) > 2*goroutines
			})

			olga := newRawClient(t, "127.0.0.2", nil)
			olga.hc.Timeout = 2 * time.Minute // slow is allowed, busy is not
			var took []time.Duration
			for i := range 10 {
				hammered := h.count(-1)
				started := time.Now()
				r := olga.post("/auth/login", url.Values{"username": {"olga"}, "password": {testPassword}})
				took = append(took, time.Since(started))
				if r.status != http.StatusSeeOther {
					t.Fatalf("another client's login %d of 10 while one client hammers: want 303, got %d %q (the hammer's answers so far: %v)", i+1, r.status, errorText(r.body), h.snapshot())
				}
				if h.count(-1) == hammered {
					t.Fatalf("the hammer was answered nothing during login %d: it is not hammering", i+1)
				}
			}
			h.halt()
			slices.Sort(took)
			t.Logf("%d goroutines hammering, admission capacity %d: the other client's 10 logins took %v (median %v, slowest %v); the hammer's answers by status: %v",
				goroutines, capacity, took, took[len(took)/2], took[len(took)-1], h.snapshot())
		})
	}
}

// snapshot is the hammer's answers by status so far.
func (h *hammer) snapshot() map[int]int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return maps.Clone(h.answers)
}

// TestALoginPastMaxSessionsEndsTheOldestSession: with max_sessions 3, a
// fourth login to one account ends its first session (its cookie is
// refused from then on) and keeps the other three.
func TestALoginPastMaxSessionsEndsTheOldestSession(t *testing.T) {
	for _, b := range cliStores() {
		t.Run(b.name, func(t *testing.T) {
			lines, store := b.setup(t)
			site(t, "session_auth /members/*", "max_sessions 3\n\t\t"+unthrottled+"\n\t\t"+lines)
			createAccounts(t, store, "nina") // no session of registration's
			var browsers []*client
			for i := range 4 {
				c := newClient(t)
				if r := loginRetry(c, "nina", testPassword); r.status != http.StatusSeeOther {
					t.Fatalf("login %d: want 303, got %d", i+1, r.status)
				}
				browsers = append(browsers, c)
				wantGranted(t, c.get("/members/x"), fmt.Sprintf("login %d's own session", i+1))
			}
			wantDenied(t, browsers[0].get("/members/x"), "the first of four sessions, with max_sessions 3")
			for i, c := range browsers[1:] {
				wantGranted(t, c.get("/members/x"), fmt.Sprintf("session %d of four, with max_sessions 3", i+2))
			}
		})
	}
}
