package users

import (
	"errors"
	"os"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPolicyRefusesCommonPasswords(t *testing.T) {
	var p Policy
	// All checked to be in common_passwords.txt; case does not matter.
	for _, pw := range []string{
		"password", "Password", "PASSWORD", "12345678", "iloveyou1",
		"password1", "PASSWORD1", "Sunshine", "qwertyuiop", "1q2w3e4r",
	} {
		err := p.Check(pw)
		if !errors.Is(err, ErrPasswordCommon) {
			t.Errorf("Check(%q) = %v, want ErrPasswordCommon", pw, err)
			continue
		}
		if msg := err.Error(); !strings.Contains(msg, "too common") {
			t.Errorf("Check(%q) error %q does not say what rule refused it", pw, msg)
		}
		if sentence := Explain(err); !strings.Contains(sentence, "Choose another") {
			t.Errorf("Check(%q) is explained as %q, which does not say what to do", pw, sentence)
		}
	}
}

func TestPolicyAcceptsUncommonPasswords(t *testing.T) {
	var p Policy
	// The last four are used by other tests in the module, so they must
	// stay acceptable.
	for _, pw := range []string{
		"k3v9m2xq",
		"tangerine ladder quietly 42 orbit",
		"correct horse battery",
		"first password 1",
		"second password 2",
		"a brand new password",
	} {
		if err := p.Check(pw); err != nil {
			t.Errorf("Check(%q) = %v, want nil", pw, err)
		}
	}
}

func TestCommonCheckComesAfterTextAndLengthChecks(t *testing.T) {
	var p Policy
	// "qwerty" and "123456" are among the most common of all, but too short
	// is what the user needs to hear.
	for _, pw := range []string{"qwerty", "123456"} {
		if err := p.Check(pw); !errors.Is(err, ErrPasswordTooShort) {
			t.Errorf("Check(%q) = %v, want ErrPasswordTooShort", pw, err)
		}
	}
	if err := p.Check("password\xff"); !errors.Is(err, ErrPasswordInvalid) {
		t.Errorf("invalid UTF-8 after a common password: %v, want ErrPasswordInvalid", err)
	}
	if err := (Policy{MinLength: 10}).Check("password"); !errors.Is(err, ErrPasswordTooShort) {
		t.Errorf("common password below a raised minimum: %v, want ErrPasswordTooShort", err)
	}
}

func TestCommonPasswordsList(t *testing.T) {
	set := commonPasswords()
	if n := len(set); n < 1000 || n > 10000 {
		t.Errorf("list has %d entries, want between 1,000 and 10,000", n)
	}
	entries := 0
	var header []string
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSuffix(line, "\n")
		if strings.HasPrefix(line, "#") {
			if entries > 0 {
				t.Errorf("comment %q after the first entry", line)
			}
			header = append(header, line)
			continue
		}
		entries++
		if line != strings.TrimSpace(line) || line == "" {
			t.Errorf("entry %q is blank or has surrounding space", line)
		}
		if line != strings.ToLower(line) {
			t.Errorf("entry %q is not lowercase", line)
		}
		if n := utf8.RuneCountInString(line); n < DefaultMinPasswordLength {
			t.Errorf("entry %q has %d characters, fewer than %d", line, n, DefaultMinPasswordLength)
		}
	}
	if entries != len(set) {
		t.Errorf("file has %d entries but %d distinct ones", entries, len(set))
	}
	h := strings.Join(header, "\n")
	for _, want := range []string{"@zxcvbn-ts/language-common", "4.1.3", "MIT", "common_passwords_LICENSE.txt", "xato", "jq "} {
		if !strings.Contains(h, want) {
			t.Errorf("header does not mention %q", want)
		}
	}
	license, err := os.ReadFile("common_passwords_LICENSE.txt")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(license), "Permission is hereby granted, free of charge") ||
		!strings.Contains(string(license), "Dropbox") {
		t.Error("common_passwords_LICENSE.txt is not the upstream MIT license")
	}
}
