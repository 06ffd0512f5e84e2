package users

import (
	"errors"
	"strings"
	"testing"
)

func TestNormalizeFoldsCaseAndSpace(t *testing.T) {
	for _, in := range []string{"alice", "Alice", "ALICE", " alice ", "\talice\n", "\u00a0Alice\u3000"} {
		got, err := Normalize(in)
		if err != nil || got != "alice" {
			t.Errorf("Normalize(%q) = %q, %v; want \"alice\", nil", in, got, err)
		}
	}
}

func TestNormalizeAcceptsUsernames(t *testing.T) {
	for in, want := range map[string]string{
		"a":                           "a",
		"7":                           "7",
		"Bob.Smith":                   "bob.smith",
		"bob_smith-2":                 "bob_smith-2",
		"Alice@Example.COM":           "alice@example.com",
		"0day":                        "0day",
		"a.":                          "a.",
		strings.Repeat("x", 64):       strings.Repeat("x", 64),
		" " + strings.Repeat("Y", 64): strings.Repeat("y", 64),
	} {
		got, err := Normalize(in)
		if err != nil || got != want {
			t.Errorf("Normalize(%q) = %q, %v; want %q, nil", in, got, err, want)
		}
	}
}

func TestNormalizeRefusesBadUsernames(t *testing.T) {
	for _, in := range []string{
		"",
		"   ",
		strings.Repeat("x", 65),
		"al ice",
		"al\tice",
		"alice\x00",
		"\x00alice",
		"ali\x7fce",
		"ali\x1bce",
		"ali\u200bce", // zero-width space
		"ali\u2028ce", // line separator
		"élodie",
		"ali\u0301ce",   // combining accent
		"аlice",         // Cyrillic а
		"\u212aelvin",   // Kelvin sign, which strings.ToLower folds to "k"
		"\u0130stanbul", // dotted capital I
		"ｆｕｌｌｗｉｄｔｈ",     // fullwidth letters
		"alice\xff",     // invalid UTF-8
		".alice",
		"_alice",
		"-alice",
		"@alice",
		"alice!",
		"a/b",
		"a:b",
		"a+b",
		"a%2fb",
		"<script>",
	} {
		got, err := Normalize(in)
		if !errors.Is(err, ErrBadUsername) {
			t.Errorf("Normalize(%q) = %q, %v; want ErrBadUsername", in, got, err)
		}
	}
}

func TestNormalizeErrorIsShowable(t *testing.T) {
	_, err := Normalize("no spaces")
	if err == nil || !strings.Contains(Explain(err), "1 to 64 characters") {
		t.Fatalf("error %v is explained as %q, which does not give the rules", err, Explain(err))
	}
}
