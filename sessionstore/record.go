// Package sessionstore keeps session records on the server, in Redis (through
// github.com/boj/redistore) or in files, behind gorilla/sessions' Store
// interface. A record holds who is logged in and when, never the account.
package sessionstore

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/sessions"
)

// Record is everything the server keeps for one session.
type Record struct {
	User     string    // normalised username
	Created  time.Time // login time; the absolute lifetime counts from here
	Seen     time.Time // last time the idle deadline was pushed back
	Expires  time.Time // absolute deadline, Created plus the lifetime
	Remember bool      // the user asked to be remembered
}

// The one key under which a Record sits in a session's Values.
const recordKey = "r"

// ErrCorrupt marks a stored record that cannot be read back; callers treat
// the session as absent rather than as a backend failure.
var ErrCorrupt = errors.New("session record is corrupt")

// ErrNotFound means the session's record is gone (logged out or expired).
var ErrNotFound = errors.New("session not found")

// Put stores rec in the session's values.
func Put(s *sessions.Session, rec Record) {
	s.Values[recordKey] = rec
}

// Get reads the record from a loaded session; false when there is none.
func Get(s *sessions.Session) (Record, bool) {
	rec, ok := s.Values[recordKey].(Record)
	return rec, ok
}

// Serializer writes a Record as one short line, far smaller and faster than
// gob: "1|created|seen|expires|remember|user", times in Unix milliseconds.
type Serializer struct{}

// Serialize encodes the session's record.
func (Serializer) Serialize(s *sessions.Session) ([]byte, error) {
	rec, ok := Get(s)
	if !ok {
		return nil, errors.New("session has no record to store")
	}
	return appendRecord(make([]byte, 0, 64), rec), nil
}

// Deserialize decodes a record into the session's values.
func (Serializer) Deserialize(d []byte, s *sessions.Session) error {
	rec, err := parseRecord(string(d))
	if err != nil {
		return err
	}
	Put(s, rec)
	return nil
}

func appendRecord(b []byte, rec Record) []byte {
	b = append(b, "1|"...)
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
	return append(b, rec.User...)
}

func parseRecord(s string) (Record, error) {
	parts := strings.SplitN(s, "|", 6)
	if len(parts) != 6 || parts[0] != "1" || parts[5] == "" {
		return Record{}, ErrCorrupt
	}
	var ms [3]int64
	for i := range ms {
		v, err := strconv.ParseInt(parts[i+1], 10, 64)
		if err != nil {
			return Record{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		ms[i] = v
	}
	return Record{
		User:     parts[5],
		Created:  time.UnixMilli(ms[0]),
		Seen:     time.UnixMilli(ms[1]),
		Expires:  time.UnixMilli(ms[2]),
		Remember: parts[4] == "1",
	}, nil
}

// Store is a gorilla sessions.Store that can also push a live session's idle
// deadline back without ever bringing a deleted one back to life.
type Store interface {
	sessions.Store
	// Touch rewrites the record of an existing session and gives it ttl more
	// to live; ErrNotFound when logout or expiry removed it meanwhile.
	Touch(s *sessions.Session, ttl time.Duration) error
	// Forget deletes a session's record by id, for when the caller has no
	// response to expire a cookie on (revoking a user's sessions).
	Forget(id string) error
	// Lookup finds the session a cookie value names, without building a
	// gorilla session: the gate's fast path. With fresh set it reads the
	// store itself, never a memory of an earlier read. A cookie that does not
	// verify, and a record that is gone or corrupt, are errors for which
	// IsBackendError is false.
	Lookup(name, value string, fresh bool) (id string, rec Record, err error)
}
