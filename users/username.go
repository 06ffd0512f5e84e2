package users

import (
	"errors"
	"strings"
)

// MaxUsernameBytes is the longest username accepted, after trimming.
const MaxUsernameBytes = 64

// ErrBadUsername means a username breaks the rules of Normalize.
var ErrBadUsername = errors.New("username breaks the rules")

// usernameRules is what Explain shows for a refused username.
const usernameRules = "Usernames are 1 to 64 characters: letters, digits, and . _ - @, starting with a letter or digit."

// Normalize turns what a person typed into the username an account is kept
// under, so that "Alice", "ALICE" and " alice " are one account and look-alike
// names cannot be registered twice. The rules, shown to users:
//
//   - white space around the name is ignored;
//   - the name is 1 to 64 characters long;
//   - it uses only the letters a-z (capitals count as lower case), the
//     digits 0-9, and . _ - @ (so an e-mail address works);
//   - it starts with a letter or a digit.
//
// Anything else (inner spaces, control characters, accented or other
// non-ASCII letters) is refused with a Refusal wrapping ErrBadUsername. The
// character set is checked before case folding, so no non-ASCII character
// (such as the Kelvin sign, which Unicode lower-cases to "k") can fold into
// someone else's name.
func Normalize(name string) (string, error) {
	name = strings.TrimSpace(name)
	switch {
	case name == "":
		return "", refuse(ErrBadUsername, "empty", usernameRules+" This one is empty.")
	case len(name) > MaxUsernameBytes:
		return "", refuse(ErrBadUsername, "too long", usernameRules+" This one is longer.")
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !usernameByte(c) {
			return "", refuse(ErrBadUsername, "a character outside the set", usernameRules+" This one has a character outside that set.")
		}
		if i == 0 && !alnum(c) {
			return "", refuse(ErrBadUsername, "starts with a symbol", usernameRules+" This one starts with a symbol.")
		}
	}
	return strings.ToLower(name), nil
}

// usernameByte reports whether c may appear in a username, before folding.
func usernameByte(c byte) bool {
	return alnum(c) || c == '.' || c == '_' || c == '-' || c == '@'
}

func alnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}
