// Package passkey is the WebAuthn layer: it registers passkeys and checks
// them, as a second factor after the password or, for a passkey made
// discoverable with user verification, instead of it. It wraps
// github.com/go-webauthn/webauthn and knows nothing of accounts, sessions or
// pages: the caller keeps the Credentials in the account, the ceremony
// state, and decides what a successful ceremony grants.
//
// Every ceremony has two halves. Begin returns the options JSON the
// browser's navigator.credentials.create/get needs (templates/passkey.js
// sends it there) and an opaque state. The caller keeps the state for at
// most StateLifetime, server-side or sealed (signed and encrypted, so that
// only it can read or change it) in the browser, and hands it to Finish
// together with the browser's answer. This package keeps nothing between
// the two calls, so the caller MUST make each challenge single-use: delete
// a server-side state when Finish runs, whatever the outcome; for a state
// the browser carries, record its Challenge as spent, until the state
// expires, once Finish has accepted an answer, and refuse a spent one. A
// state names its ceremony, so a registration's state finishes no login,
// a second-factor state no passwordless login.
package passkey

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
)

// StateLifetime is how long a ceremony state stays good: Finish refuses a
// state older than this, and the browser is told to give up a little
// before.
const StateLifetime = 5 * time.Minute

// browserTimeout is the timeout the options give the browser: less than
// StateLifetime, so the browser gives up before the state does.
const browserTimeout = 4 * time.Minute

// UserHandleSize is the length of a user handle from NewUserHandle.
const UserHandleSize = 32

// Errors the caller may want to tell apart (errors.Is). Every error from
// Finish wraps one of these or ErrRefused, never key material, and reads
// well in a log line.
var (
	// ErrRefused: the browser's answer did not verify (wrong challenge,
	// origin, site, signature, missing user verification, ...).
	ErrRefused = errors.New("passkey refused")
	// ErrState: the state is malformed, expired, or from another ceremony.
	ErrState = errors.New("passkey ceremony state is not valid for this step (expired, or from another ceremony)")
	// ErrUnknownCredential: the answer names a passkey the account does
	// not hold, or one the ceremony did not ask for.
	ErrUnknownCredential = errors.New("passkey is not registered for this account")
	// ErrNotPasswordless: a passkey registered for the second step only
	// was used to log in without a password.
	ErrNotPasswordless = errors.New("passkey is not registered for login without a password")
	// ErrCloned: the authenticator's sign count did not go up; the passkey
	// may have been copied. The stored credential is left as it was.
	ErrCloned = errors.New("passkey sign count did not increase; the authenticator may have been cloned")
	// ErrNoCredentials: a second-factor login was begun for an account
	// without passkeys.
	ErrNoCredentials = errors.New("account has no passkeys")
)

// Config says which site passkeys belong to.
type Config struct {
	// RPID is the relying party ID: the site's domain (no scheme, no
	// port), e.g. "example.com". A passkey made for one RP ID works only
	// for it; pages on its subdomains may use it by naming the same RP ID.
	RPID string
	// Origins are the full origins pages may run the ceremonies on,
	// e.g. "https://example.com" or "http://localhost:8080".
	Origins []string
	// RPName is the name the browser shows; default: RPID.
	RPName string
}

// SiteConfig fills what c leaves empty from the request: RPID from the
// Host (without port), Origins from the scheme and Host, RPName from the
// RPID. The Host can be anything the client sends, but the browser checks
// the RP ID against the page's own origin and signs the origin it really
// is on, so a forged Host only spoils the forger's own ceremony.
func SiteConfig(r *http.Request, c Config) Config {
	host := r.Host
	if c.RPID == "" {
		name := host
		if h, _, err := net.SplitHostPort(host); err == nil {
			name = h
		}
		c.RPID = strings.ToLower(strings.TrimSuffix(name, "."))
	}
	if len(c.Origins) == 0 {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		c.Origins = []string{scheme + "://" + strings.ToLower(host)}
	}
	if c.RPName == "" {
		c.RPName = c.RPID
	}
	return c
}

// User is the account a ceremony is about, as WebAuthn sees it.
type User struct {
	// Handle is the WebAuthn user handle: random, stable for the account's
	// life, from NewUserHandle and stored in the account. Never the
	// username, which the authenticator may show or sync.
	Handle []byte
	// Name is the username; the browser shows it when choosing a passkey.
	Name string
}

// NewUserHandle returns a fresh random user handle for an account.
func NewUserHandle() ([]byte, error) {
	h := make([]byte, UserHandleSize)
	if _, err := rand.Read(h); err != nil {
		return nil, fmt.Errorf("making a passkey user handle: %v", err)
	}
	return h, nil
}

// Credential is what an account keeps per passkey. Nothing in it is
// secret (the private key never leaves the authenticator), but it must
// not be changed by anyone but the account's owner.
type Credential struct {
	ID        []byte `json:"id"`
	PublicKey []byte `json:"public_key"` // COSE_Key
	SignCount uint32 `json:"sign_count,omitempty"`
	// AAGUID names the authenticator model (all zero for most passkeys
	// without attestation).
	AAGUID     []byte   `json:"aaguid,omitempty"`
	Transports []string `json:"transports,omitempty"`
	// BackupEligible is fixed at registration (a synced passkey);
	// WebAuthn refuses a login whose answer says otherwise.
	BackupEligible bool `json:"backup_eligible,omitempty"`
	BackupState    bool `json:"backup_state,omitempty"`
	// Name is the user's label for it ("phone", "YubiKey").
	Name     string    `json:"name"`
	Created  time.Time `json:"created"`
	LastUsed time.Time `json:"last_used,omitzero"`
	// Passwordless: registered as a discoverable credential with user
	// verification, so it may log in without a password.
	Passwordless bool `json:"passwordless,omitempty"`
}

func (c Credential) webauthn() webauthn.Credential {
	flags := protocol.FlagUserPresent
	if c.BackupEligible {
		flags |= protocol.FlagBackupEligible
	}
	if c.BackupState {
		flags |= protocol.FlagBackupState
	}
	transports := make([]protocol.AuthenticatorTransport, len(c.Transports))
	for i, t := range c.Transports {
		transports[i] = protocol.AuthenticatorTransport(t)
	}
	return webauthn.Credential{
		ID:        c.ID,
		PublicKey: c.PublicKey,
		Transport: transports,
		Flags:     webauthn.NewCredentialFlags(flags),
		Authenticator: webauthn.Authenticator{
			AAGUID:    c.AAGUID,
			SignCount: c.SignCount,
		},
	}
}

// user adapts User and its credentials to webauthn.User.
type user struct {
	u     User
	creds []webauthn.Credential
}

func (u user) WebAuthnID() []byte                         { return u.u.Handle }
func (u user) WebAuthnName() string                       { return u.u.Name }
func (u user) WebAuthnDisplayName() string                { return u.u.Name }
func (u user) WebAuthnCredentials() []webauthn.Credential { return u.creds }

func adapt(u User, creds []Credential) user {
	w := user{u: u, creds: make([]webauthn.Credential, len(creds))}
	for i, c := range creds {
		w.creds[i] = c.webauthn()
	}
	return w
}

// Relying is the relying party of one site.
type Relying struct {
	wa  *webauthn.WebAuthn
	now func() time.Time
}

// New checks c and returns its relying party.
func New(c Config) (*Relying, error) {
	if c.RPName == "" {
		c.RPName = c.RPID
	}
	if c.RPID == "" {
		return nil, errors.New("passkey config: the RP ID (the site's domain) is empty")
	}
	if err := protocol.ValidateRPID(c.RPID); err != nil {
		return nil, fmt.Errorf("passkey config: RP ID %q: %v", c.RPID, err)
	}
	if len(c.Origins) == 0 {
		return nil, errors.New("passkey config: no origins")
	}
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          c.RPID,
		RPDisplayName: c.RPName,
		RPOrigins:     slices.Clone(c.Origins),
		// "none": we do not check authenticator models, so asking for
		// attestation would only cost the user a privacy prompt.
		AttestationPreference: protocol.PreferNoAttestation,
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Timeout: browserTimeout, TimeoutUVD: browserTimeout},
			Registration: webauthn.TimeoutConfig{Timeout: browserTimeout, TimeoutUVD: browserTimeout},
		},
	})
	if err != nil {
		return nil, fmt.Errorf("passkey config: %v", err)
	}
	return &Relying{wa: wa, now: time.Now}, nil
}

// The ceremonies a state can belong to.
const (
	kindRegister     = "register"
	kindLogin        = "login"
	kindDiscoverable = "discoverable"
)

// state is what the caller keeps between Begin and Finish.
type state struct {
	Kind         string               `json:"kind"`
	Passwordless bool                 `json:"passwordless,omitempty"`
	Expires      time.Time            `json:"expires"`
	Session      webauthn.SessionData `json:"session"`
}

func (r *Relying) seal(kind string, passwordless bool, s *webauthn.SessionData) ([]byte, error) {
	st := state{Kind: kind, Passwordless: passwordless, Expires: r.now().Add(StateLifetime), Session: *s}
	st.Session.Expires = st.Expires
	return json.Marshal(st)
}

// open returns the state if it is of the ceremony kind and still good.
func (r *Relying) open(kind string, data []byte) (state, error) {
	var st state
	if err := json.Unmarshal(data, &st); err != nil || st.Kind != kind || st.Session.Challenge == "" {
		return state{}, ErrState
	}
	if !r.now().Before(st.Expires) {
		return state{}, ErrState
	}
	return st, nil
}

// Challenge returns a state's challenge and when the state expires, for a
// caller that keeps states in the browser and so must remember which
// challenges were answered (see the package comment).
func Challenge(st []byte) (challenge string, expires time.Time, err error) {
	var s state
	if err := json.Unmarshal(st, &s); err != nil || s.Session.Challenge == "" {
		return "", time.Time{}, ErrState
	}
	return s.Session.Challenge, s.Expires, nil
}

func descriptors(creds []Credential) []protocol.CredentialDescriptor {
	d := make([]protocol.CredentialDescriptor, len(creds))
	for i, c := range creds {
		wc := c.webauthn()
		d[i] = wc.Descriptor()
	}
	return d
}

func checkUser(u User) error {
	if len(u.Handle) == 0 || len(u.Handle) > 64 {
		return errors.New("passkey: the account has no valid user handle")
	}
	return nil
}

// BeginRegistration starts making a new passkey for u. The browser is told
// not to make a second one on an authenticator that holds one of existing.
// With passwordless, the passkey must be discoverable and verify the user
// (PIN, biometrics), so it can log in without a password.
func (r *Relying) BeginRegistration(u User, existing []Credential, passwordless bool) (options, st []byte, err error) {
	if err := checkUser(u); err != nil {
		return nil, nil, err
	}
	sel := protocol.AuthenticatorSelection{
		ResidentKey:        protocol.ResidentKeyRequirementDiscouraged,
		RequireResidentKey: protocol.ResidentKeyNotRequired(),
		UserVerification:   protocol.VerificationPreferred,
	}
	if passwordless {
		sel.ResidentKey = protocol.ResidentKeyRequirementRequired
		sel.RequireResidentKey = protocol.ResidentKeyRequired()
		sel.UserVerification = protocol.VerificationRequired
	}
	creation, session, err := r.wa.BeginRegistration(adapt(u, nil),
		webauthn.WithAuthenticatorSelection(sel),
		webauthn.WithExclusions(descriptors(existing)))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey registration: %v", err)
	}
	return r.begin(kindRegister, passwordless, creation, session)
}

func (r *Relying) begin(kind string, passwordless bool, options any, session *webauthn.SessionData) ([]byte, []byte, error) {
	o, err := json.Marshal(options)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey %s options: %v", kind, err)
	}
	s, err := r.seal(kind, passwordless, session)
	if err != nil {
		return nil, nil, fmt.Errorf("passkey %s state: %v", kind, err)
	}
	return o, s, nil
}

// FinishRegistration checks the browser's answer to BeginRegistration's
// options and returns the new passkey. The caller sets its Name, checks
// that its ID is not already stored (in this account or another), and
// stores it.
func (r *Relying) FinishRegistration(u User, st, body []byte) (Credential, error) {
	s, err := r.open(kindRegister, st)
	if err != nil {
		return Credential{}, err
	}
	if !bytes.Equal(s.Session.UserID, u.Handle) {
		return Credential{}, ErrState
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(body)
	if err != nil {
		return Credential{}, unreadable("registration")
	}
	wc, err := r.wa.CreateCredential(adapt(u, nil), s.Session, parsed)
	if err != nil {
		return Credential{}, refused("registration", err)
	}
	c := Credential{
		ID:             wc.ID,
		PublicKey:      wc.PublicKey,
		SignCount:      wc.Authenticator.SignCount,
		BackupEligible: wc.Flags.BackupEligible,
		BackupState:    wc.Flags.BackupState,
		Created:        r.now().UTC(),
		Passwordless:   s.Passwordless,
	}
	if !isZero(wc.Authenticator.AAGUID) {
		c.AAGUID = wc.Authenticator.AAGUID
	}
	for _, t := range wc.Transport {
		c.Transports = append(c.Transports, string(t))
	}
	return c, nil
}

func isZero(b []byte) bool {
	for _, x := range b {
		if x != 0 {
			return false
		}
	}
	return true
}

// BeginLogin starts the second step of a login: u has given the password
// and proves it holds one of creds.
func (r *Relying) BeginLogin(u User, creds []Credential) (options, st []byte, err error) {
	if err := checkUser(u); err != nil {
		return nil, nil, err
	}
	if len(creds) == 0 {
		return nil, nil, ErrNoCredentials
	}
	assertion, session, err := r.wa.BeginLogin(adapt(u, creds),
		webauthn.WithUserVerification(protocol.VerificationPreferred))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey login: %v", err)
	}
	return r.begin(kindLogin, false, assertion, session)
}

// FinishLogin checks the browser's answer to BeginLogin's options. It
// returns the index in creds of the passkey used, and that passkey with its
// new sign count and LastUsed, for the caller to store.
func (r *Relying) FinishLogin(u User, creds []Credential, st, body []byte) (int, Credential, error) {
	s, err := r.open(kindLogin, st)
	if err != nil {
		return -1, Credential{}, err
	}
	if len(s.Session.UserID) == 0 || !bytes.Equal(s.Session.UserID, u.Handle) {
		return -1, Credential{}, ErrState
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return -1, Credential{}, unreadable("login")
	}
	i := IndexOf(creds, parsed.RawID)
	if i < 0 || !slices.ContainsFunc(s.Session.AllowedCredentialIDs, func(id []byte) bool { return bytes.Equal(id, parsed.RawID) }) {
		return -1, Credential{}, ErrUnknownCredential
	}
	wc, err := r.wa.ValidateLogin(adapt(u, creds), s.Session, parsed)
	if err != nil {
		return -1, Credential{}, refused("login", err)
	}
	c, err := r.used(creds[i], wc)
	if err != nil {
		return -1, Credential{}, err
	}
	return i, c, nil
}

// BeginDiscoverable starts a login without a password: the browser offers
// whichever passkeys it holds for the site, and the one chosen must verify
// the user.
func (r *Relying) BeginDiscoverable() (options, st []byte, err error) {
	assertion, session, err := r.wa.BeginDiscoverableLogin(
		webauthn.WithUserVerification(protocol.VerificationRequired))
	if err != nil {
		return nil, nil, fmt.Errorf("passkey login: %v", err)
	}
	return r.begin(kindDiscoverable, true, assertion, session)
}

// FinishDiscoverable checks the browser's answer to BeginDiscoverable's
// options. lookup finds the account by the user handle the passkey
// carries (an unknown handle is an error). It returns that handle, the
// index of the passkey in the account's credentials, and the passkey with
// its new sign count and LastUsed. Only a Passwordless passkey logs in
// this way.
func (r *Relying) FinishDiscoverable(st, body []byte, lookup func(userHandle []byte) (User, []Credential, error)) ([]byte, int, Credential, error) {
	s, err := r.open(kindDiscoverable, st)
	if err != nil {
		return nil, -1, Credential{}, err
	}
	if len(s.Session.UserID) != 0 {
		return nil, -1, Credential{}, ErrState
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(body)
	if err != nil {
		return nil, -1, Credential{}, unreadable("login")
	}
	handle := parsed.Response.UserHandle
	if len(handle) == 0 {
		return nil, -1, Credential{}, fmt.Errorf("%w: the passkey gave no user handle", ErrRefused)
	}
	u, creds, err := lookup(handle)
	if err != nil {
		return nil, -1, Credential{}, fmt.Errorf("passkey login: finding the account: %w", err)
	}
	if !bytes.Equal(u.Handle, handle) {
		return nil, -1, Credential{}, ErrUnknownCredential
	}
	i := IndexOf(creds, parsed.RawID)
	if i < 0 {
		return nil, -1, Credential{}, ErrUnknownCredential
	}
	if !creds[i].Passwordless {
		return nil, -1, Credential{}, ErrNotPasswordless
	}
	// Only that passkey is offered to the check, so nothing else in the
	// account can be matched by accident.
	w := adapt(u, creds[i:i+1])
	_, wc, err := r.wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return w, nil }, s.Session, parsed)
	if err != nil {
		return nil, -1, Credential{}, refused("login", err)
	}
	c, err := r.used(creds[i], wc)
	if err != nil {
		return nil, -1, Credential{}, err
	}
	return slices.Clone(handle), i, c, nil
}

// used returns c after a verified login with it.
func (r *Relying) used(c Credential, wc *webauthn.Credential) (Credential, error) {
	if wc.Authenticator.CloneWarning {
		return Credential{}, ErrCloned
	}
	c.SignCount = wc.Authenticator.SignCount
	c.BackupState = wc.Flags.BackupState
	c.LastUsed = r.now().UTC()
	return c, nil
}

// IndexOf is the index of the passkey with that credential ID in creds,
// or -1.
func IndexOf(creds []Credential, id []byte) int {
	return slices.IndexFunc(creds, func(c Credential) bool { return bytes.Equal(c.ID, id) })
}

// unreadable is the error for an answer that is not a credential's JSON.
func unreadable(step string) error {
	return fmt.Errorf("%w: %s: the answer could not be read", ErrRefused, step)
}

// refused turns a go-webauthn error into one that names the step and the
// reason without the values compared (challenges, hashes, key bytes).
func refused(step string, err error) error {
	reason := "the answer could not be read"
	var pe *protocol.Error
	if errors.As(err, &pe) {
		reason = pe.Details
		switch {
		case strings.HasPrefix(pe.DevInfo, "RP Hash mismatch"):
			reason = "the passkey answered for another site (RP ID)"
		case strings.HasPrefix(pe.DevInfo, "User verification required"):
			reason = "the passkey did not verify the user (PIN or biometrics)"
		case strings.HasPrefix(pe.DevInfo, "User presence required"):
			reason = "the passkey did not check that the user is present"
		case pe.Details == "Error validating origin":
			reason = "the answer comes from another origin"
		case pe.Details == "Error validating challenge":
			reason = "the answer is for another challenge"
		case pe.Details == "Error validating ceremony type":
			reason = "the answer is for another kind of ceremony"
		case strings.HasPrefix(pe.Details, "Error validating the assertion signature"),
			strings.HasPrefix(pe.Details, "Error parsing the assertion public key"):
			reason = "the signature does not verify"
		}
	}
	return fmt.Errorf("%w: %s: %s", ErrRefused, step, reason)
}
