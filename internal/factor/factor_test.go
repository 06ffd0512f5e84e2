package factor

import (
	"strings"
	"testing"
	"time"
)

func mustCode(t *testing.T, secret string, at time.Time) string {
	t.Helper()
	c, err := Code(secret, at)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCheckTOTPWindowAndReplay: a code counts within one step either side
// of now, never beyond, and never for a step at or before the last used.
func TestCheckTOTPWindowAndReplay(t *testing.T) {
	secret := NewTOTPSecret()
	at := time.Unix(1_800_000_015, 0) // inside a step, 15 s from its start
	now := Step(at)
	for _, tc := range []struct {
		name   string
		offset time.Duration
		last   int64
		want   int64
	}{
		{"this step", 0, 0, now},
		{"one step early", -30 * time.Second, 0, now - 1},
		{"one step late", 30 * time.Second, 0, now + 1},
		{"two steps early", -60 * time.Second, 0, 0},
		{"two steps late", 60 * time.Second, 0, 0},
		{"used already", 0, now, 0},
		{"older than the last used", -30 * time.Second, now, 0},
		{"newer than the last used", 30 * time.Second, now, now + 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CheckTOTP(secret, mustCode(t, secret, at.Add(tc.offset)), at, tc.last)
			if err != nil || got != tc.want {
				t.Fatalf("CheckTOTP = %d, %v; want %d", got, err, tc.want)
			}
		})
	}
	for _, bad := range []string{"", "12345", "1234567", "12a456", "１２３４５６", "000000\n1"} {
		if got, err := CheckTOTP(secret, bad, at, 0); got != 0 || err == nil {
			t.Errorf("CheckTOTP(%q) = %d, %v; want a refusal", bad, got, err)
		}
	}
	other := NewTOTPSecret()
	if got, _ := CheckTOTP(other, mustCode(t, secret, at), at, 0); got != 0 {
		t.Errorf("another secret's code was accepted")
	}
}

func TestTOTPURLNamesSiteAndAccount(t *testing.T) {
	secret := NewTOTPSecret()
	u, err := TOTPURL("Example Site", "alice", secret)
	if err != nil || !strings.HasPrefix(u, "otpauth://totp/") || !strings.Contains(u, "secret="+secret) || !strings.Contains(u, "issuer=Example") || !strings.Contains(u, "alice") {
		t.Fatalf("TOTPURL = %q, %v", u, err)
	}
	png, err := QR(u, 200)
	if err != nil || !strings.HasPrefix(string(png), "\x89PNG") {
		t.Fatalf("QR: %v (%d bytes)", err, len(png))
	}
}

// TestRecoveryCodesAreReadAsTypedAndKeptHashed: a code matches its hash
// in any case, with or without dashes and spaces; the hash holds nothing
// of the code; no two codes are alike; anything else is refused.
func TestRecoveryCodesAreReadAsTypedAndKeptHashed(t *testing.T) {
	codes, hashes := NewRecoveryCodes()
	if len(codes) != RecoveryCodes || len(hashes) != RecoveryCodes {
		t.Fatalf("%d codes, %d hashes", len(codes), len(hashes))
	}
	seen := map[string]bool{}
	for i, c := range codes {
		if seen[c] {
			t.Fatalf("code %q twice", c)
		}
		seen[c] = true
		for _, typed := range []string{c, strings.ToUpper(c), strings.ReplaceAll(c, "-", ""), strings.ReplaceAll(c, "-", " ")} {
			if h, ok := HashRecoveryCode(typed); !ok || h != hashes[i] {
				t.Errorf("%q does not match its code's hash", typed)
			}
		}
		if strings.Contains(hashes[i], strings.ReplaceAll(c, "-", "")) {
			t.Errorf("the hash holds the code")
		}
	}
	for _, bad := range []string{"", "123456", "aaaa-bbbb-cccc", "aaaa-bbbb-cccc-ddd1", "aaaa-bbbb-cccc-dddd-e"} {
		if _, ok := HashRecoveryCode(bad); ok {
			t.Errorf("%q was taken for a recovery code", bad)
		}
	}
}

// TestSealerBindsOwnerAndRotates: a sealed secret opens only for its
// owner, under a configured key; after a rotation it still opens, marked
// stale; without its key it does not open.
func TestSealerBindsOwnerAndRotates(t *testing.T) {
	oldKey, newKey := []byte(strings.Repeat("o", 32)), []byte(strings.Repeat("n", 32))
	sealed, err := NewSealer([][]byte{oldKey}).Seal([]byte("JBSWY3DPEHPK3PXP"), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, "JBSWY3DPEHPK3PXP") {
		t.Fatal("the sealed form holds the secret")
	}
	if got, stale, err := NewSealer([][]byte{oldKey}).Open(sealed, "alice"); err != nil || stale || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("Open = %q, %v, %v", got, stale, err)
	}
	if _, _, err := NewSealer([][]byte{oldKey}).Open(sealed, "bob"); err == nil {
		t.Fatal("alice's secret opened for bob")
	}
	if got, stale, err := NewSealer([][]byte{newKey, oldKey}).Open(sealed, "alice"); err != nil || !stale || string(got) != "JBSWY3DPEHPK3PXP" {
		t.Fatalf("after a rotation: Open = %q, stale %v, %v; want the secret, stale", got, stale, err)
	}
	if _, _, err := NewSealer([][]byte{newKey}).Open(sealed, "alice"); err == nil {
		t.Fatal("opened without its key")
	}
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	if _, _, err := NewSealer([][]byte{oldKey}).Open(string(tampered), "alice"); err == nil {
		t.Fatal("a tampered secret opened")
	}
}
