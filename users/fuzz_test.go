package users

import (
	"strings"
	"testing"
)

// FuzzNormalize: a name that normalises does so to a fixed point in the
// documented character set and length, so two spellings of one account
// can never normalise apart, nor one spelling to two accounts.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"alice", " ALICE ", "Alice", "a.b_c-d@e", "\u212aelvin", "bad name", "", "é", strings.Repeat("a", 65)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got, err := Normalize(name)
		if err != nil {
			return
		}
		again, err := Normalize(got)
		if err != nil || again != got {
			t.Fatalf("Normalize(%q) = %q, but that normalises to %q, %v", name, got, again, err)
		}
		if got == "" || len(got) > MaxUsernameBytes {
			t.Fatalf("Normalize(%q) = %q has a bad length", name, got)
		}
		for i := 0; i < len(got); i++ {
			if !usernameByte(got[i]) {
				t.Fatalf("Normalize(%q) = %q has byte %q outside the set", name, got, got[i])
			}
		}
		if got != strings.ToLower(got) {
			t.Fatalf("Normalize(%q) = %q is not lower case", name, got)
		}
	})
}
