package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Record is everything the server keeps for one session: who, which
// credentials, and when. Never the password hash or the account.
type Record struct {
	User     string    // normalised username
	Stamp    string    // the account's credential stamp at login; see users.Account
	Created  time.Time // login time; the absolute lifetime counts from here
	Seen     time.Time // last time the idle deadline was pushed back
	Expires  time.Time // absolute deadline, Created plus the lifetime
	Remember bool      // the user asked to be remembered
	// AuthenticatedAt is when the user last proved a credential (a
	// password, a second factor, a passkey) in this login: at login, or
	// later at a password check that re-issued the session. "Recent"
	// actions count from here, never from Created (DESIGN.md rule 18).
	AuthenticatedAt time.Time
	// IP and Agent are where the login came from, shown to the user on the
	// account page: the client IP and a short browser/OS summary. Neither
	// ever holds a '|' (see clean).
	IP    string
	Agent string
	// Factors are the ways the user proved who they are at login, in the
	// order used, joined with commas: "password", "password,totp",
	// "password,recovery", "passkey". Never holds a '|'.
	Factors string
}

// Second factors, as Factors names them.
const (
	FactorPassword = "password"
	FactorTOTP     = "totp"
	FactorRecovery = "recovery"
	FactorPasskey  = "passkey"
)

// SecondFactor tells whether the login proved more than a password: a
// code, a recovery code, or a passkey (which is a device and its PIN or
// biometric in one).
func (rec Record) SecondFactor() bool {
	for f := range strings.SplitSeq(rec.Factors, ",") {
		if f == FactorTOTP || f == FactorRecovery || f == FactorPasskey {
			return true
		}
	}
	return false
}

// ErrCorrupt marks a stored record that cannot be read back; it reads as
// "no session", never as a backend failure.
var ErrCorrupt = errors.New("session record is corrupt")

// ErrNotFound means the session's record is gone (logged out or expired).
var ErrNotFound = errors.New("session not found")

// encodeRecord writes a record as one short line, far smaller and faster
// than gob:
// "5|created|seen|expires|remember|stamp|ip|agent|factors|authenticated|user",
// times in Unix milliseconds. The stamp and the factors never hold a '|';
// the username, last, may.
func encodeRecord(b []byte, rec Record) []byte {
	b = append(b, "5|"...)
	b = strconv.AppendInt(b, rec.Created.UnixMilli(), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, rec.Seen.UnixMilli(), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, rec.Expires.UnixMilli(), 10)
	if rec.Remember {
		b = append(b, "|1|"...)
	} else {
		b = append(b, "|0|"...)
	}
	b = append(b, rec.Stamp...)
	b = append(b, '|')
	b = append(b, clean(rec.IP)...)
	b = append(b, '|')
	b = append(b, clean(rec.Agent)...)
	b = append(b, '|')
	b = append(b, clean(rec.Factors)...)
	b = append(b, '|')
	b = strconv.AppendInt(b, rec.AuthenticatedAt.UnixMilli(), 10)
	b = append(b, '|')
	return append(b, rec.User...)
}

// clean keeps a shown field to 64 bytes of valid UTF-8 without '|' or
// control characters, so that it can never split a record or forge a
// field; cleaning twice changes nothing.
func clean(s string) string {
	s = strings.Map(func(r rune) rune {
		if r == '|' || r < ' ' || r == 0x7f || r == utf8.RuneError {
			return -1
		}
		return r
	}, s)
	for len(s) > 64 {
		_, size := utf8.DecodeLastRuneInString(s)
		s = s[:len(s)-size]
	}
	return s
}

// parseRecord reads what encodeRecord wrote, and the records of earlier
// releases: version 4 had no authentication time (it reads as Created,
// the login, which was the only proof those releases knew of), version 3
// no factors either (a password was the only one), version 2 no IP and
// agent, version 1 no stamp either (accounts of that time had none).
func parseRecord(s string) (Record, error) {
	version, rest, _ := strings.Cut(s, "|")
	var fields int // how many follow the version, the username last
	switch version {
	case "1":
		fields = 5
	case "2":
		fields = 6
	case "3":
		fields = 8
	case "4":
		fields = 9
	case "5":
		fields = 10
	default:
		return Record{}, ErrCorrupt
	}
	v := int(version[0] - '0')
	parts := strings.SplitN(rest, "|", fields)
	if len(parts) != fields || parts[fields-1] == "" {
		return Record{}, ErrCorrupt
	}
	// created, seen, expires, authenticated (a login's own time before
	// version 5)
	var ms [4]int64
	times := [4]string{parts[0], parts[1], parts[2], parts[0]}
	if v >= 5 {
		times[3] = parts[8]
	}
	for i, text := range times {
		n, err := strconv.ParseInt(text, 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		ms[i] = n
	}
	rec := Record{
		User:            parts[fields-1],
		Created:         time.UnixMilli(ms[0]),
		Seen:            time.UnixMilli(ms[1]),
		Expires:         time.UnixMilli(ms[2]),
		AuthenticatedAt: time.UnixMilli(ms[3]),
		Remember:        parts[3] == "1",
		Factors:         FactorPassword,
	}
	if v >= 2 {
		rec.Stamp = parts[4]
	}
	if v >= 3 {
		rec.IP, rec.Agent = clean(parts[5]), clean(parts[6])
	}
	if v >= 4 {
		rec.Factors = clean(parts[7])
	}
	return rec, nil
}
