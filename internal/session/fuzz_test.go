package session

import (
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/securecookie"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// FuzzParseRecord: any stored bytes are a record or ErrCorrupt, and a
// record written back reads the same.
func FuzzParseRecord(f *testing.F) {
	f.Add("1|1700000000000|1700000000000|1700086400000|0|alice")
	f.Add("2|1700000000000|1700000000000|1700086400000|1|STAMP|alice")
	f.Add("1|1|2|3|1|a|b")
	f.Add("2|1|2|3|0|alice")
	f.Add("3|1700000000000|1700000000000|1700086400000|1|STAMP|192.0.2.1|Firefox on Linux|alice")
	f.Add("3|1|2|3|0|S|\x01ip|\xff\xfeagent|bob")
	f.Add("4|1700000000000|1700000000000|1700086400000|0|STAMP|192.0.2.1|Firefox on Linux|password,totp|carol")
	f.Add("5|1700000000000|1700000600000|1700086400000|1|STAMP|192.0.2.1|Firefox on Linux|password,totp|1700000300000|dave")
	f.Add("5|1|2|3|0|S|||passkey|-4|a|b")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		rec, err := parseRecord(data)
		if err != nil {
			return
		}
		if len(rec.Stamp) > 0 && rec.Stamp[0] == '|' {
			return
		}
		back, err := parseRecord(string(encodeRecord(nil, rec)))
		if err != nil || back != rec {
			t.Fatalf("record %q does not survive a round trip: %+v vs %+v (%v)", data, rec, back, err)
		}
	})
}

// FuzzCookie: whatever cookie a client sends, the gate finds no session in
// an empty store, and never panics or reports a backend failure.
func FuzzCookie(f *testing.F) {
	secret := []byte("fuzz hash key fuzz hash key 1234")
	codec := NewIDCodec(secret, 3600)
	valid, _ := securecookie.EncodeMulti("s", NewID(), codec)
	traversal, _ := securecookie.EncodeMulti("s", "../../etc/passwd", codec)
	f.Add(valid)
	f.Add(traversal)
	f.Add("")
	f.Add("MTc5NTczMDE0MnxOd3dB")
	dir := f.TempDir()
	m := NewManager(Config{
		CookieName: "s",
		Secure:     func(*http.Request) bool { return false },
		Idle:       time.Hour, Lifetime: time.Hour,
		Now: time.Now,
	}, NewFiles(filepath.Join(dir, "sessions")), users.NewFileStore(filepath.Join(dir, "users.json")), FixedKeys([][]byte{secret}))
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "s="+value)
		s, err := m.Current(r)
		if s.LoggedIn() {
			t.Fatalf("cookie %q found a session in an empty store", value)
		}
		if err != nil {
			t.Fatalf("cookie %q reported as a backend failure: %v", value, err)
		}
	})
}
