package session

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
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
}

// ErrCorrupt marks a stored record that cannot be read back; it reads as
// "no session", never as a backend failure.
var ErrCorrupt = errors.New("session record is corrupt")

// ErrNotFound means the session's record is gone (logged out or expired).
var ErrNotFound = errors.New("session not found")

// encodeRecord writes a record as one short line, far smaller and faster
// than gob: "2|created|seen|expires|remember|stamp|user", times in Unix
// milliseconds. The stamp never holds a '|'.
func encodeRecord(b []byte, rec Record) []byte {
	b = append(b, "2|"...)
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
	return append(b, rec.User...)
}

// parseRecord reads what encodeRecord wrote, and the version 1 records of
// earlier releases, which had no stamp (accounts of that time had none).
func parseRecord(s string) (Record, error) {
	version, rest, _ := strings.Cut(s, "|")
	fields := 5
	switch version {
	case "1":
	case "2":
		fields = 6
	default:
		return Record{}, ErrCorrupt
	}
	parts := strings.SplitN(rest, "|", fields)
	if len(parts) != fields || parts[fields-1] == "" {
		return Record{}, ErrCorrupt
	}
	var ms [3]int64
	for i := range ms {
		v, err := strconv.ParseInt(parts[i], 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		ms[i] = v
	}
	rec := Record{
		User:     parts[fields-1],
		Created:  time.UnixMilli(ms[0]),
		Seen:     time.UnixMilli(ms[1]),
		Expires:  time.UnixMilli(ms[2]),
		Remember: parts[3] == "1",
	}
	if version == "2" {
		rec.Stamp = parts[4]
	}
	return rec, nil
}
