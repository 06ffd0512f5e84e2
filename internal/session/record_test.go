package session

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestRecordRoundTrip(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123)
	for _, tc := range []struct {
		name string
		rec  Record
	}{
		{"plain", Record{User: "alice", Stamp: "ABC", Created: at, Seen: at.Add(time.Minute), Expires: at.Add(24 * time.Hour)}},
		{"password proved after login", Record{User: "erin", Stamp: "ABC", Created: at, Seen: at.Add(time.Hour), Expires: at.Add(24 * time.Hour), AuthenticatedAt: at.Add(time.Hour)}},
		{"second factor", Record{User: "dave", Stamp: "ABC", Created: at, Seen: at, Expires: at, Factors: "password,totp"}},
		{"remembered", Record{User: "bob", Stamp: "ABC", Created: at, Seen: at, Expires: at.Add(30 * 24 * time.Hour), Remember: true}},
		{"no stamp", Record{User: "carol", Created: at, Seen: at, Expires: at}},
		{"separator in the username", Record{User: "a|b|c", Stamp: "S", Created: at, Seen: at, Expires: at}},
		{"epoch", Record{User: "x", Stamp: "S", Created: time.UnixMilli(0), Seen: time.UnixMilli(0), Expires: time.UnixMilli(0), AuthenticatedAt: time.UnixMilli(0)}},
		{"before the epoch", Record{User: "x", Stamp: "S", Created: time.UnixMilli(-5), Seen: time.UnixMilli(-5), Expires: time.UnixMilli(-5), AuthenticatedAt: time.UnixMilli(-5)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := string(encodeRecord(nil, tc.rec))
			if strings.ContainsAny(line, "\n\r") || len(line) > 200 {
				t.Fatalf("record line %q is not one short line", line)
			}
			got, err := parseRecord(line)
			if err != nil || !sameRecord(got, tc.rec) {
				t.Fatalf("parseRecord(%q) = %+v, %v; want %+v", line, got, err, tc.rec)
			}
		})
	}
}

// TestRecordsOfEarlierReleasesStillRead: version 1 records have no stamp;
// they read with an empty one, which matches only an account that has none
// (an account of that time), so no session outlives a later password change.
func TestRecordsOfEarlierReleasesStillRead(t *testing.T) {
	got, err := parseRecord("1|1700000000000|1700000000001|1700086400000|1|alice")
	want := Record{User: "alice", Created: time.UnixMilli(1700000000000), Seen: time.UnixMilli(1700000000001), Expires: time.UnixMilli(1700086400000), Remember: true, Factors: "password",
		AuthenticatedAt: time.UnixMilli(1700000000000)}
	if err != nil || !sameRecord(got, want) {
		t.Fatalf("version 1 record = %+v, %v; want %+v", got, err, want)
	}
}

// TestRecordsBeforeVersion5ReadTheLoginAsTheLastProof: records written
// before AuthenticatedAt was kept read it as Created, the login, which was
// the last proof those releases knew of; everything else reads as before.
func TestRecordsBeforeVersion5ReadTheLoginAsTheLastProof(t *testing.T) {
	created, seen, expires := time.UnixMilli(1700000000000), time.UnixMilli(1700000600000), time.UnixMilli(1700086400000)
	for _, tc := range []struct {
		name, line string
		want       Record
	}{
		{"version 2", "2|1700000000000|1700000600000|1700086400000|0|S|alice",
			Record{User: "alice", Stamp: "S", Factors: "password"}},
		{"version 3", "3|1700000000000|1700000600000|1700086400000|1|S|192.0.2.1|Firefox on Linux|a|b",
			Record{User: "a|b", Stamp: "S", Remember: true, IP: "192.0.2.1", Agent: "Firefox on Linux", Factors: "password"}},
		{"version 4", "4|1700000000000|1700000600000|1700086400000|0|S|192.0.2.1|Firefox on Linux|password,totp|carol",
			Record{User: "carol", Stamp: "S", IP: "192.0.2.1", Agent: "Firefox on Linux", Factors: "password,totp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want := tc.want
			want.Created, want.Seen, want.Expires, want.AuthenticatedAt = created, seen, expires, created
			got, err := parseRecord(tc.line)
			if err != nil || !sameRecord(got, want) || got.IP != want.IP || got.Agent != want.Agent {
				t.Fatalf("parseRecord(%q) = %+v, %v; want %+v", tc.line, got, err, want)
			}
			if line := string(encodeRecord(nil, got)); !strings.HasPrefix(line, "5|") {
				t.Fatalf("written back as %q; want version 5", line)
			}
		})
	}
	got, err := parseRecord("5|1700000000000|1700000600000|1700086400000|0|S|||password|1700000300000|dave")
	if err != nil || !got.AuthenticatedAt.Equal(time.UnixMilli(1700000300000)) || !got.Created.Equal(created) || got.User != "dave" {
		t.Fatalf("a version 5 record = %+v, %v; want AuthenticatedAt 1700000300000 apart from Created", got, err)
	}
}

func TestCorruptRecordsAreErrCorrupt(t *testing.T) {
	for _, tc := range []struct{ name, data string }{
		{"empty", ""},
		{"version only", "2"},
		{"too few fields", "2|1|2|3|0|S"},
		{"empty username", "2|1|2|3|0|S|"},
		{"version 1 with empty username", "1|1|2|3|0|"},
		{"unknown version", "3|1|2|3|0|S|alice"},
		{"version 5 without the authentication time", "5|1|2|3|0|S|ip|agent|password|alice"},
		{"version 5 authentication time not a number", "5|1|2|3|0|S|ip|agent|password|x|alice"},
		{"version 5 authentication time empty", "5|1|2|3|0|S|ip|agent|password||alice"},
		{"version 5 empty username", "5|1|2|3|0|S|ip|agent|password|4|"},
		{"version 6", "6|1|2|3|0|S|ip|agent|password|4|x|alice"},
		{"no version", "|1|2|3|0|S|alice"},
		{"created not a number", "2|x|2|3|0|S|alice"},
		{"seen not a number", "2|1|2.5|3|0|S|alice"},
		{"expires empty", "2|1|2||0|S|alice"},
		{"expires overflows", "2|1|2|99999999999999999999|0|S|alice"},
		{"spaces in numbers", "2| 1|2|3|0|S|alice"},
		{"JSON", `{"user":"alice"}`},
		{"gob from an old store", "\x0e\xff\x81\x04\x01\x02\xff\x82\x00\x01\x10\x01\x10\x00\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, err := parseRecord(tc.data)
			if !errors.Is(err, ErrCorrupt) || IsBackendError(err) {
				t.Fatalf("parseRecord(%q) = %v; want ErrCorrupt", tc.data, err)
			}
			if rec.User != "" {
				t.Fatalf("parseRecord(%q) failed but returned user %q", tc.data, rec.User)
			}
		})
	}
}
