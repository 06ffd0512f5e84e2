package users

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

// TestExplainGivesASentenceForEveryRefusal: every rule that refuses a
// username or a password has a sentence for the form: capitalised, ended
// with a full stop, in words rather than Go-error style, and different from
// the error text that goes to logs. errors.Is still finds the rule.
func TestExplainGivesASentenceForEveryRefusal(t *testing.T) {
	hashTooLong := func() error {
		_, err := Hash(strings.Repeat("p", MaxPasswordBytes+1), MinBcryptCost)
		return err
	}
	normalize := func(name string) func() error {
		return func() error {
			_, err := Normalize(name)
			return err
		}
	}
	for _, tc := range []struct {
		name     string
		refuse   func() error
		rule     error
		mentions string // a detail the person needs to fix the input
	}{
		{"password not text", func() error { return Policy{}.Check("pass\x00word") }, ErrPasswordInvalid, "ordinary text"},
		{"password invalid UTF-8", func() error { return Policy{}.Check("password\xff") }, ErrPasswordInvalid, "ordinary text"},
		{"password too long", func() error { return Policy{}.Check(strings.Repeat("a", 80)) }, ErrPasswordTooLong, "80 bytes"},
		{"password too long to hash", hashTooLong, ErrPasswordTooLong, "73 bytes"},
		{"password too short", func() error { return Policy{}.Check("short") }, ErrPasswordTooShort, "at least 8 characters"},
		{"password too short for a raised minimum", func() error { return Policy{MinLength: 12}.Check("k3v9m2xq") }, ErrPasswordTooShort, "at least 12 characters"},
		{"password common", func() error { return Policy{}.Check("password1") }, ErrPasswordCommon, "Choose another"},
		{"username empty", normalize("  "), ErrBadUsername, "empty"},
		{"username too long", normalize(strings.Repeat("x", MaxUsernameBytes+1)), ErrBadUsername, "longer"},
		{"username bad character", normalize("al ice"), ErrBadUsername, "outside that set"},
		{"username starts with a symbol", normalize(".alice"), ErrBadUsername, "starts with a symbol"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.refuse()
			if !errors.Is(err, tc.rule) {
				t.Fatalf("error %v; want one that errors.Is %v", err, tc.rule)
			}
			if wrapped := fmt.Errorf("registering: %w", err); !errors.Is(wrapped, tc.rule) || Explain(wrapped) != Explain(err) {
				t.Errorf("a wrapped refusal lost its rule or its sentence")
			}
			var r *Refusal
			if !errors.As(err, &r) || r.Sentence() != Explain(err) {
				t.Errorf("%v is not a Refusal whose Sentence is what Explain says", err)
			}
			sentence := Explain(err)
			wantSentence(t, sentence)
			if sentence == err.Error() {
				t.Errorf("the sentence is the log error %q", sentence)
			}
			if !strings.Contains(sentence, tc.mentions) {
				t.Errorf("sentence %q does not mention %q", sentence, tc.mentions)
			}
		})
	}
}

func TestExplainOfOtherErrorsIsAPlainSentence(t *testing.T) {
	for _, err := range []error{errors.New("redis: connection refused"), ErrTaken, ErrNotFound, nil} {
		sentence := Explain(err)
		wantSentence(t, sentence)
		if err != nil && strings.Contains(sentence, err.Error()) {
			t.Errorf("Explain(%v) = %q repeats the error text", err, sentence)
		}
	}
}

// wantSentence checks that s reads as a sentence for a person.
func wantSentence(t *testing.T, s string) {
	t.Helper()
	first, _ := utf8.DecodeRuneInString(s)
	if !unicode.IsUpper(first) {
		t.Errorf("%q does not start with a capital letter", s)
	}
	if !strings.HasSuffix(s, ".") {
		t.Errorf("%q does not end with a full stop", s)
	}
	for _, bad := range []string{"%", ";", "%!", "<nil>", "\n"} {
		if strings.Contains(s, bad) {
			t.Errorf("%q contains %q, which is Go-error or format style", s, bad)
		}
	}
}
