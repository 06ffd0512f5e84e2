package sessionauth

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// TestLastLoginIsWrittenAtMostOnceAMinute: the last login the admin page
// shows is stored at most once a minute per account, so a login loop
// cannot keep the server rewriting the users file (with the file backend,
// every write rewrites the whole file, and the CLI waits for it). A login
// a minute or more after the stored one is stored again.
func TestLastLoginIsWrittenAtMostOnceAMinute(t *testing.T) {
	usersFile := filepath.Join(t.TempDir(), "users.json")
	lines := "registration closed\n\t\t" + noLimits + "\n\t\t" + fileBackendAt(usersFile)
	site(t, "session_auth /members/*", lines)
	mustRunCLI(t, testPassword+"\n", "--config", roleCLIConfig(t, lines), "add", "ann")
	store := users.NewFileStore(usersFile)

	loggedIn(t, "ann")
	first := getAccount(t, store, "ann").LastLogin
	if first.IsZero() {
		t.Fatal("the first login stored no last login")
	}
	before, err := os.Stat(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		advance(10 * time.Second)
		if r := newClient(t).login("ann", testPassword, "/"); r.status != http.StatusSeeOther {
			t.Fatalf("login %d: %d", i+2, r.status)
		}
	}
	after, err := os.Stat(usersFile)
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("logins within a minute of the stored last login rewrote the users file")
	}
	if got := getAccount(t, store, "ann").LastLogin; !got.Equal(first) {
		t.Fatalf("the last login moved from %v to %v within a minute", first, got)
	}

	advance(20 * time.Second) // a minute after the stored one
	loggedIn(t, "ann")
	if got := getAccount(t, store, "ann").LastLogin; got.Sub(first) < time.Minute {
		t.Fatalf("a login a minute after the stored one left the last login at %v (was %v)", got, first)
	}
}
