package passkey

import (
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/internal/passkey/passkeytest"
)

const (
	testOrigin = "https://example.com"
	testRPID   = "example.com"
)

func newRelying(t *testing.T) *Relying {
	t.Helper()
	r, err := New(Config{RPID: testRPID, Origins: []string{testOrigin}, RPName: "Example"})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func newUser(t *testing.T, name string) User {
	t.Helper()
	h, err := NewUserHandle()
	if err != nil {
		t.Fatal(err)
	}
	return User{Handle: h, Name: name}
}

// register makes a passkey for u on a and returns it as the account would
// store it (through JSON, as the account files and Redis do).
func register(t *testing.T, r *Relying, a *passkeytest.Authenticator, u User, existing []Credential, passwordless bool) Credential {
	t.Helper()
	options, st, err := r.BeginRegistration(u, existing, passwordless)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Create(options)
	if err != nil {
		t.Fatal(err)
	}
	c, err := r.FinishRegistration(u, st, body)
	if err != nil {
		t.Fatalf("registration refused: %v", err)
	}
	c.Name = u.Name + "'s passkey"
	return roundTrip(t, c)
}

func roundTrip(t *testing.T, c Credential) Credential {
	t.Helper()
	data, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	var back Credential
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	return back
}

func secondFactor(t *testing.T, r *Relying, a *passkeytest.Authenticator, u User, creds []Credential) (int, Credential, error) {
	t.Helper()
	options, st, err := r.BeginLogin(u, creds)
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return r.FinishLogin(u, creds, st, body)
}

type account struct {
	user  User
	creds []Credential
}

func lookupIn(accounts ...*account) func([]byte) (User, []Credential, error) {
	return func(handle []byte) (User, []Credential, error) {
		for _, a := range accounts {
			if bytes.Equal(a.user.Handle, handle) {
				return a.user, a.creds, nil
			}
		}
		return User{}, nil, errors.New("no such account")
	}
}

func discoverable(t *testing.T, r *Relying, a *passkeytest.Authenticator, accounts ...*account) ([]byte, int, Credential, error) {
	t.Helper()
	options, st, err := r.BeginDiscoverable()
	if err != nil {
		t.Fatal(err)
	}
	body, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	return r.FinishDiscoverable(st, body, lookupIn(accounts...))
}

func TestPasskeyRegistersThenServesAsSecondFactorThenLogsInWithoutPassword(t *testing.T) {
	r := newRelying(t)
	a := passkeytest.New(testOrigin)
	alice := &account{user: newUser(t, "alice")}

	before := time.Now().UTC()
	c := register(t, r, a, alice.user, nil, true)
	if !c.Passwordless || len(c.ID) == 0 || len(c.PublicKey) == 0 || c.Created.Before(before) {
		t.Fatalf("registered credential %+v: want passwordless, ID, key, creation time", c)
	}
	if c.Name != "alice's passkey" || !slices.Equal(c.Transports, []string{"internal"}) {
		t.Fatalf("stored form lost name or transports: %+v", c)
	}
	alice.creds = []Credential{c}

	i, used, err := secondFactor(t, r, a, alice.user, alice.creds)
	if err != nil {
		t.Fatalf("second factor refused: %v", err)
	}
	if i != 0 || used.SignCount != a.SignCount(c.ID) || used.SignCount == 0 || used.LastUsed.IsZero() {
		t.Fatalf("second factor: index %d, credential %+v; want 0 with the new sign count %d and LastUsed", i, used, a.SignCount(c.ID))
	}
	if used.Name != c.Name || !used.Passwordless || !bytes.Equal(used.PublicKey, c.PublicKey) {
		t.Fatalf("login changed what it must keep: %+v", used)
	}
	alice.creds[0] = roundTrip(t, used)

	handle, i, used, err := discoverable(t, r, a, alice)
	if err != nil {
		t.Fatalf("login without password refused: %v", err)
	}
	if !bytes.Equal(handle, alice.user.Handle) || i != 0 || used.SignCount != a.SignCount(c.ID) {
		t.Fatalf("discoverable login: handle %x index %d count %d; want alice's handle, 0, %d", handle, i, used.SignCount, a.SignCount(c.ID))
	}
}

func TestAccountMayHoldSeveralPasskeysAndLogsInWithAny(t *testing.T) {
	r := newRelying(t)
	phone, key := passkeytest.New(testOrigin), passkeytest.New(testOrigin)
	phone.BackupEligible = true // a synced passkey
	u := newUser(t, "bob")
	c0 := register(t, r, phone, u, nil, false)
	c1 := register(t, r, key, u, []Credential{c0}, false)
	if !c0.BackupEligible || c1.BackupEligible {
		t.Fatalf("backup eligibility not kept: %v, %v", c0.BackupEligible, c1.BackupEligible)
	}
	creds := []Credential{c0, c1}
	for want, a := range []*passkeytest.Authenticator{phone, key} {
		i, _, err := secondFactor(t, r, a, u, creds)
		if err != nil || i != want {
			t.Fatalf("authenticator %d: index %d, error %v", want, i, err)
		}
	}
}

func TestRegistrationExcludesPasskeysAlreadyRegistered(t *testing.T) {
	r := newRelying(t)
	a := passkeytest.New(testOrigin)
	u := newUser(t, "alice")
	c := register(t, r, a, u, nil, false)
	options, _, err := r.BeginRegistration(u, []Credential{c}, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.Create(options); !errors.Is(err, passkeytest.ErrExcluded) {
		t.Fatalf("authenticator that holds the passkey made another: %v", err)
	}
}

func TestRegistrationOptionsAskWhatTheKindOfPasskeyNeeds(t *testing.T) {
	r := newRelying(t)
	u := newUser(t, "alice")
	for _, tc := range []struct {
		passwordless  bool
		residentKey   string
		requireRK     bool
		userVerifying string
	}{
		{passwordless: true, residentKey: "required", requireRK: true, userVerifying: "required"},
		{passwordless: false, residentKey: "discouraged", requireRK: false, userVerifying: "preferred"},
	} {
		options, _, err := r.BeginRegistration(u, nil, tc.passwordless)
		if err != nil {
			t.Fatal(err)
		}
		var o struct {
			PublicKey struct {
				RP   struct{ ID, Name string }
				User struct {
					ID          string `json:"id"`
					Name        string `json:"name"`
					DisplayName string `json:"displayName"`
				} `json:"user"`
				Challenge string `json:"challenge"`
				Timeout   int    `json:"timeout"`
				Selection struct {
					ResidentKey        string `json:"residentKey"`
					RequireResidentKey bool   `json:"requireResidentKey"`
					UserVerification   string `json:"userVerification"`
				} `json:"authenticatorSelection"`
			} `json:"publicKey"`
		}
		if err := json.Unmarshal(options, &o); err != nil {
			t.Fatal(err)
		}
		p := o.PublicKey
		if p.Selection.ResidentKey != tc.residentKey || p.Selection.RequireResidentKey != tc.requireRK || p.Selection.UserVerification != tc.userVerifying {
			t.Errorf("passwordless=%v: authenticatorSelection %+v", tc.passwordless, p.Selection)
		}
		if p.RP.ID != testRPID || p.RP.Name != "Example" {
			t.Errorf("rp %+v", p.RP)
		}
		handle, err := base64.RawURLEncoding.DecodeString(p.User.ID)
		if err != nil || !bytes.Equal(handle, u.Handle) || p.User.Name != "alice" {
			t.Errorf("user entity %+v: want the random handle, not the name", p.User)
		}
		if ch, err := base64.RawURLEncoding.DecodeString(p.Challenge); err != nil || len(ch) < 16 {
			t.Errorf("challenge %q: want ≥ 16 random bytes", p.Challenge)
		}
		if p.Timeout <= 0 || time.Duration(p.Timeout)*time.Millisecond >= StateLifetime {
			t.Errorf("browser timeout %d ms: want less than the state lifetime", p.Timeout)
		}
	}
}

func TestUserHandlesAreRandomAndLongEnough(t *testing.T) {
	a, b := newUser(t, "x"), newUser(t, "x")
	if len(a.Handle) != 32 || bytes.Equal(a.Handle, b.Handle) {
		t.Fatalf("handles %x and %x: want two different 32-byte values", a.Handle, b.Handle)
	}
}

// TestCeremoniesRefuseAnswersThatDoNotVerify: every way an answer can be
// wrong, each in the ceremony where it matters. A refused login leaves the
// stored sign count as it was (the caller keeps the old credential).
func TestCeremoniesRefuseAnswersThatDoNotVerify(t *testing.T) {
	type setup struct {
		r       *Relying
		a       *passkeytest.Authenticator // alice's
		alice   *account                   // one passwordless passkey
		mallory *account                   // one passkey on mallory's own authenticator
		m       *passkeytest.Authenticator
	}
	cases := []struct {
		name string
		want error
		run  func(t *testing.T, s setup) error
	}{
		{"answer to another challenge (replay of an earlier login)", ErrRefused, func(t *testing.T, s setup) error {
			options1, _, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			old, err := s.a.Get(options1)
			if err != nil {
				t.Fatal(err)
			}
			_, st2, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			_, _, err = s.r.FinishLogin(s.alice.user, s.alice.creds, st2, old)
			return err
		}},
		{"answer signing a challenge of the attacker's choosing", ErrRefused, func(t *testing.T, s setup) error {
			s.a.Challenge = bytes.Repeat([]byte{7}, 32)
			_, _, err := secondFactor(t, s.r, s.a, s.alice.user, s.alice.creds)
			return err
		}},
		{"wrong origin at login", ErrRefused, func(t *testing.T, s setup) error {
			s.a.Origin = "https://evil.example.net"
			_, _, err := secondFactor(t, s.r, s.a, s.alice.user, s.alice.creds)
			return err
		}},
		{"origin with another scheme", ErrRefused, func(t *testing.T, s setup) error {
			s.a.Origin = "http://example.com"
			_, _, _, err := discoverable(t, s.r, s.a, s.alice)
			return err
		}},
		{"wrong origin at registration", ErrRefused, func(t *testing.T, s setup) error {
			s.a.Origin = "https://evil.example.net"
			options, st, _ := s.r.BeginRegistration(s.alice.user, nil, false)
			body, err := s.a.Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.r.FinishRegistration(s.alice.user, st, body)
			return err
		}},
		{"wrong RP ID hash at login", ErrRefused, func(t *testing.T, s setup) error {
			s.a.RPID = "evil.example.net"
			_, _, err := secondFactor(t, s.r, s.a, s.alice.user, s.alice.creds)
			return err
		}},
		{"wrong RP ID hash at registration", ErrRefused, func(t *testing.T, s setup) error {
			s.a.RPID = "evil.example.net"
			options, st, _ := s.r.BeginRegistration(s.alice.user, nil, false)
			body, err := s.a.Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.r.FinishRegistration(s.alice.user, st, body)
			return err
		}},
		{"another account's passkey at alice's second step", ErrUnknownCredential, func(t *testing.T, s setup) error {
			options, st, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			s.m.Use = s.mallory.creds[0].ID
			body, err := s.m.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.r.FinishLogin(s.alice.user, s.alice.creds, st, body)
			return err
		}},
		{"another account's passkey listed in the account but not asked for", ErrUnknownCredential, func(t *testing.T, s setup) error {
			// The allow list is what Begin asked for; a passkey added to
			// the account since then does not count.
			options, st, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			s.m.Use = s.mallory.creds[0].ID
			body, err := s.m.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.r.FinishLogin(s.alice.user, append(slices.Clone(s.alice.creds), s.mallory.creds[0]), st, body)
			return err
		}},
		{"user verification missing at login without password", ErrRefused, func(t *testing.T, s setup) error {
			s.a.NoUV = true
			_, _, _, err := discoverable(t, s.r, s.a, s.alice)
			return err
		}},
		{"user verification missing at passwordless registration", ErrRefused, func(t *testing.T, s setup) error {
			s.a.NoUV = true
			options, st, _ := s.r.BeginRegistration(s.alice.user, nil, true)
			body, err := s.a.Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.r.FinishRegistration(s.alice.user, st, body)
			return err
		}},
		{"sign count went backwards", ErrCloned, func(t *testing.T, s setup) error {
			s.alice.creds[0].SignCount = 10
			s.a.SetSignCount(s.alice.creds[0].ID, 4)
			_, _, err := secondFactor(t, s.r, s.a, s.alice.user, s.alice.creds)
			return err
		}},
		{"sign count did not move", ErrCloned, func(t *testing.T, s setup) error {
			s.alice.creds[0].SignCount = 10
			s.a.SetSignCount(s.alice.creds[0].ID, 9)
			_, _, _, err := discoverable(t, s.r, s.a, s.alice)
			return err
		}},
		{"signature by another key", ErrRefused, func(t *testing.T, s setup) error {
			// alice's record holds mallory's public key under alice's ID.
			s.alice.creds[0].PublicKey = s.mallory.creds[0].PublicKey
			_, _, err := secondFactor(t, s.r, s.a, s.alice.user, s.alice.creds)
			return err
		}},
		{"passkey presenting another account's user handle", ErrUnknownCredential, func(t *testing.T, s setup) error {
			// The lookup answers with another account than the handle names.
			options, st, _ := s.r.BeginDiscoverable()
			body, err := s.a.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, err = s.r.FinishDiscoverable(st, body, func([]byte) (User, []Credential, error) {
				return s.mallory.user, s.mallory.creds, nil
			})
			return err
		}},
		{"lookup answering with another account that lists the same passkey", ErrUnknownCredential, func(t *testing.T, s setup) error {
			options, st, _ := s.r.BeginDiscoverable()
			body, err := s.a.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, _, err = s.r.FinishDiscoverable(st, body, func([]byte) (User, []Credential, error) {
				return s.mallory.user, s.alice.creds, nil
			})
			return err
		}},
		{"answer to a login for another account", ErrState, func(t *testing.T, s setup) error {
			options, st, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			s.m.Use = s.mallory.creds[0].ID
			body, err := s.m.Get(options)
			if err != nil {
				t.Fatal(err)
			}
			_, _, err = s.r.FinishLogin(s.mallory.user, s.mallory.creds, st, body)
			return err
		}},
		{"registration finished for another account", ErrState, func(t *testing.T, s setup) error {
			options, st, _ := s.r.BeginRegistration(s.alice.user, nil, false)
			body, err := s.a.Create(options)
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.r.FinishRegistration(s.mallory.user, st, body)
			return err
		}},
		{"malformed answer", ErrRefused, func(t *testing.T, s setup) error {
			_, st, _ := s.r.BeginLogin(s.alice.user, s.alice.creds)
			_, _, err := s.r.FinishLogin(s.alice.user, s.alice.creds, st, []byte(`{"id":"AA","type":"public-key"}`))
			return err
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := newRelying(t)
			s := setup{r: r, a: passkeytest.New(testOrigin), m: passkeytest.New(testOrigin)}
			s.alice = &account{user: newUser(t, "alice")}
			s.alice.creds = []Credential{register(t, r, s.a, s.alice.user, nil, true)}
			s.mallory = &account{user: newUser(t, "mallory")}
			s.mallory.creds = []Credential{register(t, r, s.m, s.mallory.user, nil, true)}
			err := tc.run(t, s)
			if err == nil {
				t.Fatal("accepted")
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %q: want %q", err, tc.want)
			}
			t.Logf("refused: %v", err)
			mustNotCarrySecrets(t, err)
		})
	}
}

// mustNotCarrySecrets: an error names what went wrong, not the values
// compared (challenges, hashes, keys, IDs, handles).
func mustNotCarrySecrets(t *testing.T, err error) {
	t.Helper()
	msg := err.Error()
	if len(msg) > 200 || strings.ContainsAny(msg, "\n{}") {
		t.Errorf("error %q: want one short line", msg)
	}
	for _, w := range strings.Fields(msg) {
		w = strings.Trim(w, ".,:;()\"'")
		if len(w) >= 16 && !strings.Contains(w, "-") {
			if _, e := base64.RawURLEncoding.DecodeString(w); e == nil {
				t.Errorf("error %q carries an encoded value %q", msg, w)
			}
			if _, e := hex.DecodeString(w); e == nil {
				t.Errorf("error %q carries a hex value %q", msg, w)
			}
		}
	}
}

func TestStateFinishesOnlyItsOwnCeremony(t *testing.T) {
	r := newRelying(t)
	a := passkeytest.New(testOrigin)
	alice := &account{user: newUser(t, "alice")}
	alice.creds = []Credential{register(t, r, a, alice.user, nil, true)}

	regOptions, regState, _ := r.BeginRegistration(alice.user, nil, true)
	loginOptions, loginState, _ := r.BeginLogin(alice.user, alice.creds)
	discOptions, discState, _ := r.BeginDiscoverable()
	a2 := passkeytest.New(testOrigin)
	regAnswer, err := a2.Create(regOptions)
	if err != nil {
		t.Fatal(err)
	}
	loginAnswer, err := a.Get(loginOptions)
	if err != nil {
		t.Fatal(err)
	}
	discAnswer, err := a.Get(discOptions)
	if err != nil {
		t.Fatal(err)
	}
	finishes := map[string]func(st, body []byte) error{
		"registration": func(st, body []byte) error { _, err := r.FinishRegistration(alice.user, st, body); return err },
		"login": func(st, body []byte) error {
			_, _, err := r.FinishLogin(alice.user, alice.creds, st, body)
			return err
		},
		"discoverable": func(st, body []byte) error {
			_, _, _, err := r.FinishDiscoverable(st, body, lookupIn(alice))
			return err
		},
	}
	states := map[string][]byte{"registration": regState, "login": loginState, "discoverable": discState}
	answers := map[string][]byte{"registration": regAnswer, "login": loginAnswer, "discoverable": discAnswer}
	for stateKind, st := range states {
		for finishKind, finish := range finishes {
			if stateKind == finishKind {
				continue
			}
			// Whichever answer: the state alone must stop it.
			for answerKind, body := range answers {
				if err := finish(st, body); !errors.Is(err, ErrState) {
					t.Errorf("%s state, %s answer, finishing %s: %v; want ErrState", stateKind, answerKind, finishKind, err)
				}
			}
		}
	}
	for name, st := range map[string][]byte{"empty": nil, "garbage": []byte("x"), "no challenge": []byte(`{"kind":"login","expires":"2999-01-01T00:00:00Z"}`)} {
		if _, _, err := r.FinishLogin(alice.user, alice.creds, st, loginAnswer); !errors.Is(err, ErrState) {
			t.Errorf("%s state: %v; want ErrState", name, err)
		}
	}
	// Each state does finish its own ceremony with its own answer.
	for kind, st := range states {
		if err := finishes[kind](st, answers[kind]); err != nil {
			t.Errorf("%s state with its own answer: %v", kind, err)
		}
	}
}

func TestSecondStepPasskeyCannotLogInWithoutPassword(t *testing.T) {
	r := newRelying(t)
	a := passkeytest.New(testOrigin)
	alice := &account{user: newUser(t, "alice")}
	c := register(t, r, a, alice.user, nil, false)
	if c.Passwordless {
		t.Fatal("second-step registration came out passwordless")
	}
	alice.creds = []Credential{c}
	options, st, _ := r.BeginDiscoverable()
	a.Use = c.ID
	body, err := a.Get(options)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(body), "userHandle") {
		// Make the answer carry the handle, as it would if the
		// authenticator had made the passkey discoverable anyway (some
		// do): the account's choice at registration decides, not the
		// authenticator's.
		var m map[string]any
		_ = json.Unmarshal(body, &m)
		m["response"].(map[string]any)["userHandle"] = base64.RawURLEncoding.EncodeToString(alice.user.Handle)
		body, _ = json.Marshal(m)
	}
	if _, _, _, err := r.FinishDiscoverable(st, body, lookupIn(alice)); !errors.Is(err, ErrNotPasswordless) {
		t.Fatalf("second-step passkey logged in without password: %v", err)
	}
	// It still serves as the second step.
	a.Use = nil
	if _, _, err := secondFactor(t, r, a, alice.user, alice.creds); err != nil {
		t.Fatalf("second step refused: %v", err)
	}
}

func TestStateExpiresAfterFiveMinutes(t *testing.T) {
	r := newRelying(t)
	a := passkeytest.New(testOrigin)
	alice := &account{user: newUser(t, "alice")}
	alice.creds = []Credential{register(t, r, a, alice.user, nil, true)}
	start := time.Now()
	for _, tc := range []struct {
		after time.Duration
		ok    bool
	}{{StateLifetime - time.Second, true}, {StateLifetime, false}, {time.Hour, false}} {
		r.now = func() time.Time { return start }
		options, st, _ := r.BeginLogin(alice.user, alice.creds)
		body, err := a.Get(options)
		if err != nil {
			t.Fatal(err)
		}
		r.now = func() time.Time { return start.Add(tc.after) }
		_, _, err = r.FinishLogin(alice.user, alice.creds, st, body)
		if tc.ok && err != nil {
			t.Errorf("after %v: %v", tc.after, err)
		}
		if !tc.ok && !errors.Is(err, ErrState) {
			t.Errorf("after %v: %v; want ErrState", tc.after, err)
		}
	}
}

func TestSecondFactorNeedsAPasskey(t *testing.T) {
	r := newRelying(t)
	if _, _, err := r.BeginLogin(newUser(t, "alice"), nil); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("login begun without passkeys: %v", err)
	}
}

func TestSiteConfigComesFromTheRequestUnlessConfigured(t *testing.T) {
	plain := httptest.NewRequest("GET", "http://Localhost:9080/auth/login", nil)
	secure := httptest.NewRequest("GET", "https://example.com/auth/login", nil)
	secure.TLS = &tls.ConnectionState{}
	for _, tc := range []struct {
		name string
		got  Config
		want Config
	}{
		{"plain with port", SiteConfig(plain, Config{}), Config{RPID: "localhost", Origins: []string{"http://localhost:9080"}, RPName: "localhost"}},
		{"https", SiteConfig(secure, Config{}), Config{RPID: "example.com", Origins: []string{"https://example.com"}, RPName: "example.com"}},
		{"configured", SiteConfig(secure, Config{RPID: "example.org", Origins: []string{"https://login.example.org"}, RPName: "Ex"}),
			Config{RPID: "example.org", Origins: []string{"https://login.example.org"}, RPName: "Ex"}},
	} {
		if tc.got.RPID != tc.want.RPID || !slices.Equal(tc.got.Origins, tc.want.Origins) || tc.got.RPName != tc.want.RPName {
			t.Errorf("%s: %+v, want %+v", tc.name, tc.got, tc.want)
		}
	}
}

func TestConfigIsChecked(t *testing.T) {
	for name, c := range map[string]Config{
		"no RP ID":     {Origins: []string{testOrigin}},
		"RP ID with :": {RPID: "example.com:443", Origins: []string{testOrigin}},
		"RP ID an IP":  {RPID: "127.0.0.1", Origins: []string{"http://127.0.0.1"}},
		"no origins":   {RPID: testRPID},
		"RP ID scheme": {RPID: "https://example.com", Origins: []string{testOrigin}},
		"RP ID a path": {RPID: "example.com/x", Origins: []string{testOrigin}},
	} {
		if _, err := New(c); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestPlainHTTPLocalhostWorks: the root package's tests run the site on
// http://localhost:9080; browsers allow passkeys there.
func TestPlainHTTPLocalhostWorks(t *testing.T) {
	req := httptest.NewRequest("GET", "http://localhost:9080/", nil)
	r, err := New(SiteConfig(req, Config{}))
	if err != nil {
		t.Fatal(err)
	}
	a := passkeytest.New("http://localhost:9080")
	alice := &account{user: newUser(t, "alice")}
	alice.creds = []Credential{register(t, r, a, alice.user, nil, true)}
	if _, _, _, err := discoverable(t, r, a, alice); err != nil {
		t.Fatal(err)
	}
}
