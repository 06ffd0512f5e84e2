package users

import (
	"errors"
	"strings"
	"testing"

	"golang.org/x/crypto/bcrypt"
)

func TestPolicyCountsCharactersNotBytes(t *testing.T) {
	var p Policy
	for _, tc := range []struct {
		pw   string
		want error
	}{
		{"1234567", ErrPasswordTooShort},
		{"k3v9m2xq", nil},
		{"12345678", ErrPasswordCommon}, // long enough, but on the common list
		{"", ErrPasswordTooShort},
		{"ééééééé", ErrPasswordTooShort}, // 7 characters, 14 bytes
		{"éééééééé", nil},                // 8 characters
		{"日本語日本語日本", nil},                // 8 characters, 24 bytes
		{"🔑🔑🔑🔑🔑🔑🔑", ErrPasswordTooShort}, // 7 characters, 28 bytes
		{"correct horse battery staple", nil},
	} {
		if err := p.Check(tc.pw); !errors.Is(err, tc.want) || (tc.want == nil) != (err == nil) {
			t.Errorf("Check(%q) = %v, want %v", tc.pw, err, tc.want)
		}
	}
}

func TestPolicyMinimumCanOnlyBeRaised(t *testing.T) {
	if err := (Policy{MinLength: 12}).Check("12345678901"); !errors.Is(err, ErrPasswordTooShort) {
		t.Errorf("11 characters with MinLength 12: %v", err)
	}
	if err := (Policy{MinLength: 12}).Check("123456789012"); err != nil {
		t.Errorf("12 characters with MinLength 12: %v", err)
	}
	if err := (Policy{MinLength: 4}).Check("12345"); !errors.Is(err, ErrPasswordTooShort) {
		t.Errorf("MinLength 4 lowered the minimum below %d: %v", DefaultMinPasswordLength, err)
	}
}

func TestPolicyRefusesOver72Bytes(t *testing.T) {
	var p Policy
	if err := p.Check(strings.Repeat("a", 72)); err != nil {
		t.Errorf("72 bytes: %v", err)
	}
	err := p.Check(strings.Repeat("a", 73))
	if !errors.Is(err, ErrPasswordTooLong) {
		t.Fatalf("73 bytes: %v, want ErrPasswordTooLong", err)
	}
	if !strings.Contains(err.Error(), "72") || !strings.Contains(Explain(err), "72 bytes") {
		t.Errorf("error %q or its sentence %q does not give the limit", err, Explain(err))
	}
	// 30 characters, but 90 bytes: bcrypt would keep only the first 24.
	if err := p.Check(strings.Repeat("語", 30)); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("30 three-byte characters: %v, want ErrPasswordTooLong", err)
	}
	// 24 three-byte characters are exactly 72 bytes.
	if err := p.Check(strings.Repeat("語", 24)); err != nil {
		t.Errorf("24 three-byte characters: %v", err)
	}
}

func TestPolicyRefusesInvalidText(t *testing.T) {
	var p Policy
	for _, pw := range []string{"password\xff", "\xc3\x28abcdefgh", "pass\x00word"} {
		if err := p.Check(pw); !errors.Is(err, ErrPasswordInvalid) {
			t.Errorf("Check(%q) = %v, want ErrPasswordInvalid", pw, err)
		}
	}
}

func TestPolicyMessagesGiveNumbers(t *testing.T) {
	err := Policy{MinLength: 10}.Check("short")
	if err == nil || !strings.Contains(err.Error(), "10") || !strings.Contains(Explain(err), "at least 10 characters") {
		t.Errorf("too short error %v, sentence %q, does not say 10", err, Explain(err))
	}
}

func TestHashAndVerify(t *testing.T) {
	h, err := Hash("correct horse", MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := bcrypt.Cost(h); err != nil || c != MinBcryptCost {
		t.Errorf("cost = %d, %v; want %d", c, err, MinBcryptCost)
	}
	if !Verify(h, "correct horse") {
		t.Error("right password refused")
	}
	for _, wrong := range []string{"correct horsE", ""} {
		if Verify(h, wrong) {
			t.Errorf("wrong password %q accepted", wrong)
		}
	}
	if Verify([]byte("not a hash"), "correct horse") || Verify(nil, "") {
		t.Error("malformed hash accepted")
	}
}

func TestHashRefusesWeakCost(t *testing.T) {
	if _, err := Hash("correct horse", MinBcryptCost-1); err == nil {
		t.Error("cost 9 accepted")
	}
	if _, err := Hash("correct horse", bcrypt.MaxCost+1); err == nil {
		t.Error("cost above bcrypt.MaxCost accepted")
	}
}

func TestPasswordsAreNeverTruncated(t *testing.T) {
	long := strings.Repeat("p", 73)
	if _, err := Hash(long, MinBcryptCost); !errors.Is(err, ErrPasswordTooLong) {
		t.Errorf("Hash of 73 bytes: %v, want ErrPasswordTooLong", err)
	}
	h, err := Hash(long[:72], MinBcryptCost)
	if err != nil {
		t.Fatal(err)
	}
	if !Verify(h, long[:72]) {
		t.Error("72-byte password refused")
	}
	if Verify(h, long) {
		t.Error("73-byte password matched the hash of its first 72 bytes")
	}
}

func TestDummyHashNeverMatchesAndCostsBcryptWork(t *testing.T) {
	h := DummyHash(MinBcryptCost)
	if c, err := bcrypt.Cost(h); err != nil || c != MinBcryptCost {
		t.Fatalf("dummy hash cost = %d, %v; want %d", c, err, MinBcryptCost)
	}
	for _, pw := range []string{"", "password", "12345678"} {
		if Verify(h, pw) {
			t.Errorf("dummy hash matched %q", pw)
		}
	}
	if again := DummyHash(MinBcryptCost); string(again) != string(h) {
		t.Error("dummy hash was not cached")
	}
	h[0] = 'X' // callers cannot spoil the cached copy
	if again := DummyHash(MinBcryptCost); again[0] != '$' {
		t.Error("cached dummy hash was changed through a returned slice")
	}
	if c, err := bcrypt.Cost(DummyHash(1)); err != nil || c != MinBcryptCost {
		t.Errorf("DummyHash(1) cost = %d, %v; want clamped to %d", c, err, MinBcryptCost)
	}
}
