package sessionstore

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/sessions"
)

func newBareSession() *sessions.Session {
	return sessions.NewSession(nil, "sid")
}

func TestSerializerRoundTrip(t *testing.T) {
	created := time.UnixMilli(1_700_000_000_123)
	for _, tc := range []struct {
		name string
		rec  Record
	}{
		{"plain", Record{User: "alice", Created: created, Seen: created.Add(time.Minute), Expires: created.Add(24 * time.Hour)}},
		{"remembered", Record{User: "bob", Created: created, Seen: created, Expires: created.Add(30 * 24 * time.Hour), Remember: true}},
		{"e-mail username", Record{User: "carol.d-e_f@example.com", Created: created, Seen: created, Expires: created}},
		{"separator in the username", Record{User: "a|b|c", Created: created, Seen: created, Expires: created}},
		{"64-byte username", Record{User: strings.Repeat("z", 64), Created: created, Seen: created, Expires: created}},
		{"epoch", Record{User: "x", Created: time.UnixMilli(0), Seen: time.UnixMilli(0), Expires: time.UnixMilli(0)}},
		{"before the epoch", Record{User: "x", Created: time.UnixMilli(-5), Seen: time.UnixMilli(-5), Expires: time.UnixMilli(-5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := newBareSession()
			Put(in, tc.rec)
			data, err := Serializer{}.Serialize(in)
			if err != nil {
				t.Fatalf("Serialize: %v", err)
			}
			out := newBareSession()
			if err := (Serializer{}).Deserialize(data, out); err != nil {
				t.Fatalf("Deserialize(%q): %v", data, err)
			}
			got, ok := Get(out)
			if !ok {
				t.Fatalf("Deserialize(%q) put no record", data)
			}
			if got.User != tc.rec.User || got.Remember != tc.rec.Remember ||
				!got.Created.Equal(tc.rec.Created) || !got.Seen.Equal(tc.rec.Seen) || !got.Expires.Equal(tc.rec.Expires) {
				t.Fatalf("round trip of %+v through %q gave %+v", tc.rec, data, got)
			}
		})
	}
}

func TestSerializerKeepsMillisecondPrecision(t *testing.T) {
	at := time.Date(2030, 1, 2, 3, 4, 5, 678_901_234, time.UTC)
	in := newBareSession()
	Put(in, Record{User: "alice", Created: at, Seen: at, Expires: at})
	data, err := Serializer{}.Serialize(in)
	if err != nil {
		t.Fatal(err)
	}
	out := newBareSession()
	if err := (Serializer{}).Deserialize(data, out); err != nil {
		t.Fatal(err)
	}
	got, _ := Get(out)
	if want := at.Truncate(time.Millisecond); !got.Created.Equal(want) {
		t.Fatalf("Created = %v; want %v", got.Created, want)
	}
}

func TestSerializerRefusesSessionWithoutRecord(t *testing.T) {
	s := newBareSession()
	s.Values["other"] = "value"
	if _, err := (Serializer{}).Serialize(s); err == nil {
		t.Fatal("Serialize of a session without a record succeeded")
	}
	s.Values[recordKey] = "not a Record"
	if _, err := (Serializer{}).Serialize(s); err == nil {
		t.Fatal("Serialize of a session whose record has the wrong type succeeded")
	}
}

func TestSerializerRejectsCorruptRecords(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"version only", "1"},
		{"too few fields", "1|1|2|3|0"},
		{"empty username", "1|1|2|3|0|"},
		{"unknown version", "2|1|2|3|0|alice"},
		{"no version", "|1|2|3|0|alice"},
		{"created not a number", "1|x|2|3|0|alice"},
		{"seen not a number", "1|1|2.5|3|0|alice"},
		{"expires not a number", "1|1|2||0|alice"},
		{"expires overflows", "1|1|2|99999999999999999999|0|alice"},
		{"gob from another store", "\x0e\xff\x81\x04\x01\x02\xff\x82\x00\x01\x10\x01\x10\x00\x00"},
		{"JSON", `{"user":"alice"}`},
		{"spaces in numbers", "1| 1|2|3|0|alice"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newBareSession()
			err := Serializer{}.Deserialize([]byte(tc.data), s)
			if !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Deserialize(%q) = %v; want ErrCorrupt", tc.data, err)
			}
			if _, ok := Get(s); ok {
				t.Fatalf("Deserialize(%q) failed but left a record in the session", tc.data)
			}
			if IsBackendError(err) {
				t.Fatalf("IsBackendError(%v) = true; a corrupt record means no session", err)
			}
		})
	}
}
