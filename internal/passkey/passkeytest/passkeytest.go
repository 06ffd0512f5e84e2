// Package passkeytest is a software authenticator for tests: it answers
// the options JSON of package passkey the way a browser and a platform
// authenticator would, with an ES256 key per passkey, "none" attestation
// and a sign count, so tests can register and log in with passkeys over
// plain HTTP without a browser. It is for tests only: its keys live in
// memory and it verifies no user.
package passkeytest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fxamacker/cbor/v2"
)

// Authenticator flags (WebAuthn §6.1).
const (
	flagUP = 0x01
	flagUV = 0x04
	flagBE = 0x08
	flagBS = 0x10
	flagAT = 0x40
)

// ErrExcluded is what Create returns when the options exclude a passkey
// this authenticator holds (a browser says InvalidStateError).
var ErrExcluded = errors.New("passkeytest: the authenticator already holds an excluded passkey")

// ErrNoCredential is what Get returns when it holds no passkey the options
// allow (a browser says NotAllowedError).
var ErrNoCredential = errors.New("passkeytest: no passkey for these options")

// Authenticator is a browser with one software authenticator. The exported
// fields shape the next answers, so tests can make it misbehave; the zero
// changes (empty strings, false) give a well-behaved authenticator.
type Authenticator struct {
	// Origin is the page's origin the browser reports in the client data,
	// e.g. "http://localhost:9080".
	Origin string
	// RPID, when set, is hashed into the authenticator data instead of the
	// RP ID the options name (an answer made for another site).
	RPID string
	// NoUV leaves the user-verified flag unset even when asked for.
	NoUV bool
	// Use, when set, is the ID of the passkey to answer with, whatever the
	// options allow.
	Use []byte
	// Challenge, when set, is signed instead of the options' challenge.
	Challenge []byte
	// BackupEligible marks new passkeys as synced ones (BE and BS flags).
	BackupEligible bool
	// NoSignCount keeps every sign count at 0, as synced passkeys do: the
	// site cannot tell a replayed answer by its count.
	NoSignCount bool

	mu    sync.Mutex
	creds []*credential
}

type credential struct {
	id       []byte
	key      *ecdsa.PrivateKey
	rpID     string
	user     []byte
	resident bool
	backup   bool
	count    uint32
}

// New returns an authenticator in a browser on origin.
func New(origin string) *Authenticator { return &Authenticator{Origin: origin} }

var b64 = base64.RawURLEncoding

// b64url accepts base64url with or without padding, as the options carry it.
type b64url []byte

func (b *b64url) UnmarshalJSON(data []byte) error {
	var s string
	if err := json.Unmarshal(data, &s); err != nil {
		return err
	}
	raw, err := base64.RawURLEncoding.DecodeString(trimPad(s))
	if err != nil {
		return fmt.Errorf("passkeytest: bad base64url: %v", err)
	}
	*b = raw
	return nil
}

func trimPad(s string) string {
	for len(s) > 0 && s[len(s)-1] == '=' {
		s = s[:len(s)-1]
	}
	return s
}

type descriptor struct {
	ID   b64url `json:"id"`
	Type string `json:"type"`
}

type creationOptions struct {
	PublicKey struct {
		Challenge b64url `json:"challenge"`
		RP        struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID   b64url `json:"id"`
			Name string `json:"name"`
		} `json:"user"`
		PubKeyCredParams []struct {
			Type string `json:"type"`
			Alg  int    `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials     []descriptor `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
	} `json:"publicKey"`
}

type requestOptions struct {
	PublicKey struct {
		Challenge        b64url       `json:"challenge"`
		RPID             string       `json:"rpId"`
		AllowCredentials []descriptor `json:"allowCredentials"`
		UserVerification string       `json:"userVerification"`
	} `json:"publicKey"`
}

// Create answers navigator.credentials.create with the options JSON from
// passkey.BeginRegistration, and returns the JSON the browser script posts
// back (the "credential" form field).
func (a *Authenticator) Create(optionsJSON []byte) ([]byte, error) {
	var o creationOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: creation options: %v", err)
	}
	p := o.PublicKey
	if len(p.Challenge) == 0 || p.RP.ID == "" || len(p.User.ID) == 0 {
		return nil, errors.New("passkeytest: creation options lack a challenge, RP ID or user ID")
	}
	if !slices.ContainsFunc(p.PubKeyCredParams, func(c struct {
		Type string `json:"type"`
		Alg  int    `json:"alg"`
	}) bool {
		return c.Type == "public-key" && c.Alg == -7
	}) {
		return nil, errors.New("passkeytest: the options do not allow ES256")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, ex := range p.ExcludeCredentials {
		for _, c := range a.creds {
			if c.rpID == p.RP.ID && slices.Equal(c.id, ex.ID) {
				return nil, ErrExcluded
			}
		}
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	c := &credential{
		id:       make([]byte, 16),
		key:      key,
		rpID:     p.RP.ID,
		user:     slices.Clone(p.User.ID),
		resident: p.AuthenticatorSelection.ResidentKey == "required" || p.AuthenticatorSelection.ResidentKey == "preferred" || p.AuthenticatorSelection.RequireResidentKey,
		backup:   a.BackupEligible,
	}
	if _, err := rand.Read(c.id); err != nil {
		return nil, err
	}
	a.creds = append(a.creds, c)

	clientData, err := a.clientData("webauthn.create", p.Challenge)
	if err != nil {
		return nil, err
	}
	pub, err := coseKey(&key.PublicKey)
	if err != nil {
		return nil, err
	}
	auth := a.authData(c, flagAT)
	auth = append(auth, make([]byte, 16)...) // AAGUID: none
	auth = binary.BigEndian.AppendUint16(auth, uint16(len(c.id)))
	auth = append(auth, c.id...)
	auth = append(auth, pub...)
	att, err := encMode.Marshal(map[string]any{
		"fmt":      "none",
		"attStmt":  map[string]any{},
		"authData": auth,
	})
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{
		"id":    b64.EncodeToString(c.id),
		"rawId": b64.EncodeToString(c.id),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(clientData),
			"attestationObject": b64.EncodeToString(att),
			"transports":        []string{"internal"},
		},
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
}

// Get answers navigator.credentials.get with the options JSON from
// passkey.BeginLogin or BeginDiscoverable, and returns the JSON the
// browser script posts back. With an empty allow list it answers with the
// newest discoverable passkey it holds for the RP ID.
func (a *Authenticator) Get(optionsJSON []byte) ([]byte, error) {
	var o requestOptions
	if err := json.Unmarshal(optionsJSON, &o); err != nil {
		return nil, fmt.Errorf("passkeytest: request options: %v", err)
	}
	p := o.PublicKey
	if len(p.Challenge) == 0 || p.RPID == "" {
		return nil, errors.New("passkeytest: request options lack a challenge or RP ID")
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	var c *credential
	for i := len(a.creds) - 1; i >= 0 && c == nil; i-- {
		k := a.creds[i]
		switch {
		case a.Use != nil:
			if slices.Equal(k.id, a.Use) {
				c = k
			}
		case k.rpID != p.RPID:
		case len(p.AllowCredentials) == 0:
			if k.resident {
				c = k
			}
		default:
			if slices.ContainsFunc(p.AllowCredentials, func(d descriptor) bool { return slices.Equal(d.ID, k.id) }) {
				c = k
			}
		}
	}
	if c == nil {
		return nil, ErrNoCredential
	}
	if !a.NoSignCount {
		c.count++
	}
	clientData, err := a.clientData("webauthn.get", p.Challenge)
	if err != nil {
		return nil, err
	}
	rpID := p.RPID
	auth := a.authDataFor(c, rpID, 0)
	// ES256: ECDSA P-256 over SHA-256(authenticatorData | SHA-256(clientDataJSON)).
	sum := sha256.Sum256(clientData)
	digest := sha256.Sum256(append(slices.Clone(auth), sum[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, c.key, digest[:])
	if err != nil {
		return nil, err
	}
	response := map[string]any{
		"clientDataJSON":    b64.EncodeToString(clientData),
		"authenticatorData": b64.EncodeToString(auth),
		"signature":         b64.EncodeToString(sig),
	}
	if c.resident {
		response["userHandle"] = b64.EncodeToString(c.user)
	}
	return json.Marshal(map[string]any{
		"id":                      b64.EncodeToString(c.id),
		"rawId":                   b64.EncodeToString(c.id),
		"type":                    "public-key",
		"response":                response,
		"clientExtensionResults":  map[string]any{},
		"authenticatorAttachment": "platform",
	})
}

// IDs returns the IDs of the passkeys the authenticator holds, oldest
// first.
func (a *Authenticator) IDs() [][]byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	ids := make([][]byte, len(a.creds))
	for i, c := range a.creds {
		ids[i] = slices.Clone(c.id)
	}
	return ids
}

// SetSignCount sets the counter of the passkey id; the next answer with it
// carries n+1. Setting it back makes the authenticator look cloned.
func (a *Authenticator) SetSignCount(id []byte, n uint32) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if slices.Equal(c.id, id) {
			c.count = n
		}
	}
}

// SignCount returns the counter of the passkey id (the last one it sent).
func (a *Authenticator) SignCount(id []byte) uint32 {
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, c := range a.creds {
		if slices.Equal(c.id, id) {
			return c.count
		}
	}
	return 0
}

func (a *Authenticator) clientData(typ string, challenge []byte) ([]byte, error) {
	if a.Challenge != nil {
		challenge = a.Challenge
	}
	return json.Marshal(map[string]any{
		"type":        typ,
		"challenge":   b64.EncodeToString(challenge),
		"origin":      a.Origin,
		"crossOrigin": false,
	})
}

func (a *Authenticator) authData(c *credential, extra byte) []byte {
	return a.authDataFor(c, c.rpID, extra)
}

// authDataFor is rpIdHash | flags | signCount, WebAuthn §6.1.
func (a *Authenticator) authDataFor(c *credential, rpID string, extra byte) []byte {
	if a.RPID != "" {
		rpID = a.RPID
	}
	h := sha256.Sum256([]byte(rpID))
	flags := flagUP | extra
	if !a.NoUV {
		flags |= flagUV
	}
	if c.backup {
		flags |= flagBE | flagBS
	}
	out := append(h[:], flags)
	return binary.BigEndian.AppendUint32(out, c.count)
}

var encMode, _ = cbor.CTAP2EncOptions().EncMode()

// coseKey is the EC2 P-256 public key as a COSE_Key (RFC 9053).
func coseKey(k *ecdsa.PublicKey) ([]byte, error) {
	raw, err := k.Bytes() // 0x04 | X | Y
	if err != nil {
		return nil, err
	}
	return encMode.Marshal(map[int]any{
		1:  2,  // kty: EC2
		3:  -7, // alg: ES256
		-1: 1,  // crv: P-256
		-2: raw[1:33],
		-3: raw[33:65],
	})
}
