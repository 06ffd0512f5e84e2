package sessionstore

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gorilla/securecookie"
	"github.com/gorilla/sessions"
)

// FuzzParseRecord: any stored bytes are a record or ErrCorrupt, and a
// record written back reads the same.
func FuzzParseRecord(f *testing.F) {
	f.Add("1|1700000000000|1700000000000|1700086400000|0|alice")
	f.Add("1|1|2|3|1|a|b")
	f.Add("2|1|2|3|0|alice")
	f.Add("")
	f.Fuzz(func(t *testing.T, data string) {
		rec, err := parseRecord(data)
		if err != nil {
			return
		}
		back, err := parseRecord(string(appendRecord(nil, rec)))
		if err != nil || back != rec {
			t.Fatalf("record %q does not survive a round trip: %+v vs %+v (%v)", data, rec, back, err)
		}
	})
}

// FuzzCookie: whatever cookie a client sends, loading it from the file
// store gives no session, and never a panic or a "backend" error.
func FuzzCookie(f *testing.F) {
	codecs := securecookie.CodecsFromPairs([]byte("fuzz hash key fuzz hash key 1234"))
	valid, _ := securecookie.EncodeMulti("s", NewID(), codecs...)
	traversal, _ := securecookie.EncodeMulti("s", "../../etc/passwd", codecs...)
	f.Add(valid)
	f.Add(traversal)
	f.Add("")
	f.Add("MTc5NTczMDE0MnxOd3dB")
	dir := f.TempDir()
	store := &Files{Dir: dir, Codecs: codecs, Options: &sessions.Options{Path: "/", MaxAge: 60}}
	f.Fuzz(func(t *testing.T, value string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Cookie", "s="+value)
		sess, err := store.New(r, "s")
		if sess == nil || !sess.IsNew {
			t.Fatalf("cookie %q loaded a session from an empty store", value)
		}
		if IsBackendError(err) {
			t.Fatalf("cookie %q reported as a backend failure: %v", value, err)
		}
	})
}
