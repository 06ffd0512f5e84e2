package users

import (
	_ "embed"
	"errors"
	"strings"
	"sync"
)

// ErrPasswordCommon means the password is on the list of common passwords
// that attackers try first.
var ErrPasswordCommon = errors.New("password is too common")

// commonPasswordsFile is the list of common passwords refused at
// registration, one lowercase entry a line; its header says where it comes
// from and how it was made.
//
//go:embed common_passwords.txt
var commonPasswordsFile string

// commonPasswords parses commonPasswordsFile the first time it is needed,
// skipping blank lines and # comments.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	set := make(map[string]struct{}, 4096)
	for line := range strings.Lines(commonPasswordsFile) {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		set[line] = struct{}{}
	}
	return set
})

// isCommonPassword reports whether password, ignoring case, is on the list.
func isCommonPassword(password string) bool {
	_, ok := commonPasswords()[strings.ToLower(password)]
	return ok
}
