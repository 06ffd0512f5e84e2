package sessionauth

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// People type their password into the username field. A login whose name
// is no account's (unknown, or no valid username at all) must not put what
// was typed into the audit log: the line has no user but user_hash, a
// keyed hash that is the same for the same name within the realm, so an
// operator can still tell one guesser's attempts apart. Known accounts'
// names stay in clear.

var userHash = regexp.MustCompile(`^[0-9a-f]{24}$`)

func TestAuditLogKeepsOnlyAHashOfNamesNobodyHas(t *testing.T) {
	hashes := map[string]string{} // backend → the unknown name's hash, under that backend's generated key
	forEachBackend(t, func(t *testing.T, b backend) {
		logFile := site(t, "session_auth /members/*", "registration open\n\t\tip_limit 100000 15m\n\t\taccount_limit 2 15m\n\t\t"+b.lines(t))
		const (
			unknown  = "nobody-at-all"
			typedPw  = "my secret passphrase" // no valid username: it has spaces
			apiGhost = "ghost.of.api"
		)
		if r := registerRetry(newClient(t), "alice", testPassword); r.status != http.StatusSeeOther {
			t.Fatalf("register alice: %d", r.status)
		}
		wantGenericFailure(t, loginRetry(newClient(t), "alice", "a wrong password"), "alice, wrong password")
		wantGenericFailure(t, loginRetry(newClient(t), unknown, "a wrong password"), "an unknown name")
		wantGenericFailure(t, loginRetry(newClient(t), unknown, "a wrong password"), "the same unknown name again: it locks")
		wantGenericFailure(t, loginRetry(newClient(t), typedPw, "a wrong password"), "a password typed as the username")
		for _, name := range []string{unknown, apiGhost} {
			r, v := newClient(t).api(http.MethodPost, "/auth/session", loginBody(name, "a wrong password"))
			wantAPIError(t, r, v, http.StatusUnauthorized, "invalid_credentials", "an API login of "+name)
		}

		readLog(t, logFile, `"reason":"invalid_name"`)
		var lines []map[string]any
		for _, e := range auditEvents(t, logFile) {
			if e["event"] == "login_failed" || e["event"] == "account_locked" {
				lines = append(lines, e)
			}
		}
		if len(lines) != 7 {
			t.Fatalf("want 7 lines (6 failed logins, 1 lock), got %d: %v", len(lines), lines)
		}
		hashOf := func(i int, event, reason string) string {
			t.Helper()
			e := lines[i]
			if e["event"] != event || reason != "" && e["reason"] != reason {
				t.Fatalf("line %d: %v; want %s %s", i, e, event, reason)
			}
			if e["user"] != "" {
				t.Fatalf("line %d (%s %s): user %q; want it empty for a name nobody has", i, event, reason, e["user"])
			}
			h, _ := e["user_hash"].(string)
			if !userHash.MatchString(h) {
				t.Fatalf("line %d (%s %s): user_hash %q; want 24 hex digits", i, event, reason, h)
			}
			return h
		}
		if lines[0]["user"] != "alice" || lines[0]["reason"] != "wrong_password" || lines[0]["user_hash"] != nil {
			t.Fatalf("a known account's failure: %v; want user alice in clear and no user_hash", lines[0])
		}
		first := hashOf(1, "login_failed", "unknown_user")
		locked := hashOf(2, "account_locked", "")
		second := hashOf(3, "login_failed", "unknown_user")
		typed := hashOf(4, "login_failed", "invalid_name")
		viaAPI := hashOf(5, "login_failed", "unknown_user")
		ghost := hashOf(6, "login_failed", "unknown_user")
		if first != second || first != locked || first != viaAPI {
			t.Errorf("one name, several hashes: %s, %s (lock), %s, %s (API); want one", first, locked, second, viaAPI)
		}
		if typed == first || ghost == first || ghost == typed {
			t.Errorf("different names with one hash: %s %s %s", first, typed, ghost)
		}
		for _, name := range []string{unknown, typedPw} {
			plain := sha256.Sum256([]byte(name))
			if strings.HasPrefix(hex.EncodeToString(plain[:]), first) || strings.HasPrefix(hex.EncodeToString(plain[:]), typed) {
				t.Errorf("user_hash of %q is its plain SHA-256: anyone could test guesses against it", name)
			}
		}
		log := readLog(t, logFile, "")
		for _, name := range []string{unknown, typedPw, apiGhost} {
			if strings.Contains(log, name) {
				t.Errorf("the log holds %q in clear", name)
			}
		}
		hashes[b.name] = first
	})
	if len(hashes) == 2 && hashes["files"] == hashes["redis"] {
		t.Errorf("one name has the same hash under two different keys (%s): the hash is not keyed", hashes["files"])
	}
}
