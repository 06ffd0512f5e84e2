package sessionauth

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// An operator often runs the command as root (sudo), while the server runs
// as another user ("caddy"; here uid 65534, nobody). The command must leave
// the users file readable by the server, and must not quietly keep accounts
// in root's own data directory, which the server never reads.

const serviceUID = 65534

// needRoot fails a test that needs root: it must give files away.
func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("this test needs root: it gives files to another user, as a service account owns them, and checks what the command does as root")
	}
}

// sharedFolder is a folder that other users may enter, as a service's data
// folder is (t.TempDir's are root's alone).
func sharedFolder(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "session-auth-owner-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// wantOwnerAndMode asserts a file's owner, group and permission bits.
func wantOwnerAndMode(t *testing.T, path string, uid, gid int, mode fs.FileMode, what string) {
	t.Helper()
	info, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := info.Sys().(*syscall.Stat_t)
	if int(st.Uid) != uid || int(st.Gid) != gid || info.Mode().Perm() != mode {
		t.Fatalf("%s: %s is owned by %d:%d with mode %v, want %d:%d with mode %v", what, path, st.Uid, st.Gid, info.Mode().Perm(), uid, gid, mode)
	}
}

// readableBy asserts that the user uid (as a server running as it would)
// can read the file, and that it names the account.
func readableBy(t *testing.T, uid int, path, account string) {
	t.Helper()
	cmd := exec.Command("cat", path)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(uid)}}
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"`+account+`"`) {
		t.Fatalf("user %d cannot read %s (%v): %s", uid, path, err, out)
	}
}

// fileBackendAt is the file backend's Caddyfile lines for a users file.
func fileBackendAt(usersFile string) string {
	return fmt.Sprintf("users_file %s\n\t\tsessions_dir %s", usersFile, filepath.Join(filepath.Dir(usersFile), "sessions"))
}

// TestCommandKeepsTheUsersFileOwnerAndMode: the users file of a server that
// runs as another user keeps its owner, group and mode when the command,
// run as root, rewrites it; the server goes on reading it.
func TestCommandKeepsTheUsersFileOwnerAndMode(t *testing.T) {
	needRoot(t)
	usersFile := filepath.Join(sharedFolder(t), "users.json")
	if err := os.WriteFile(usersFile, []byte("[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(usersFile, serviceUID, serviceUID); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(usersFile, 0o640); err != nil {
		t.Fatal(err)
	}
	site(t, "session_auth /members/*", fileBackendAt(usersFile))
	config := cliCaddyfile(t, fileBackendAt(usersFile))

	mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "erin")
	wantOwnerAndMode(t, usersFile, serviceUID, serviceUID, 0o640, "after add")
	readableBy(t, serviceUID, usersFile, "erin")
	c := newClient(t)
	if r := c.login("erin", cliPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the server's login of the added user: %d", r.status)
	}
	wantGranted(t, c.get("/members/x"), "the added user's session")

	mustRunCLI(t, cliOtherPassword+"\n", "--config", config, "password", "erin")
	wantOwnerAndMode(t, usersFile, serviceUID, serviceUID, 0o640, "after password")
	if r := newClient(t).login("erin", cliOtherPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the server's login with the new password: %d", r.status)
	}
}

// TestNewUsersFileBelongsToItsFolderOwner: a users file the command makes
// in the service's folder belongs to the folder's owner, not to root.
func TestNewUsersFileBelongsToItsFolderOwner(t *testing.T) {
	needRoot(t)
	folder := filepath.Join(sharedFolder(t), "realm")
	if err := os.Mkdir(folder, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(folder, serviceUID, serviceUID); err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(folder, "users.json")
	site(t, "session_auth /members/*", fileBackendAt(usersFile))
	mustRunCLI(t, cliPassword+"\n", "--config", cliCaddyfile(t, fileBackendAt(usersFile)), "add", "erin")
	wantOwnerAndMode(t, usersFile, serviceUID, serviceUID, 0o600, "a new users file")
	readableBy(t, serviceUID, usersFile, "erin")
	if r := newClient(t).login("erin", cliPassword, "/"); r.status != http.StatusSeeOther {
		t.Fatalf("the server's login of the added user: %d", r.status)
	}
}

// TestCommandAsRootRefusesAStoreTheServiceDoesNotUse: with default paths,
// root's data directory is not the service's. When the service's holds the
// realm's accounts and root's does not, the command refuses, naming both
// paths, and creates nothing; it goes ahead when root's store exists (root
// runs the server) or the config names the users file.
func TestCommandAsRootRefusesAStoreTheServiceDoesNotUse(t *testing.T) {
	needRoot(t)
	service := t.TempDir()
	old := serviceDataDirs
	serviceDataDirs = func() []string { return []string{service} }
	t.Cleanup(func() { serviceDataDirs = old })

	const realm = "cli-root-test"
	serviceFile := filepath.Join(service, "session_auth", realm, "users.json")
	if err := os.MkdirAll(filepath.Dir(serviceFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(serviceFile, []byte("[]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	rootFile := filepath.Join(caddy.AppDataDir(), "session_auth", realm, "users.json")
	os.RemoveAll(filepath.Dir(rootFile))
	t.Cleanup(func() { os.RemoveAll(filepath.Dir(rootFile)) })
	defaults := cliCaddyfile(t, "realm "+realm)

	for _, action := range [][]string{{"add", "erin"}, {"list"}} {
		stdin := cliPassword + "\n"
		_, code, err := runCLI(t, stdin, append([]string{"--config", defaults}, action...)...)
		if err == nil || code == 0 {
			t.Fatalf("%s as root with the realm in the service's data directory only: exit %d, %v; want a refusal", action[0], code, err)
		}
		if !strings.Contains(err.Error(), rootFile) || !strings.Contains(err.Error(), serviceFile) {
			t.Fatalf("%s: the refusal must name both stores, %s and %s: %q", action[0], rootFile, serviceFile, err)
		}
		if _, err := os.Stat(rootFile); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("%s: a refused command made root's store: %v", action[0], err)
		}
	}
	if data, err := os.ReadFile(serviceFile); err != nil || string(data) != "[]\n" {
		t.Fatalf("the service's store changed: %q, %v", data, err)
	}

	// Explicit paths: the operator said where.
	explicit := filepath.Join(t.TempDir(), "users.json")
	mustRunCLI(t, cliPassword+"\n", "--config", cliCaddyfile(t, "realm "+realm+"\n\t\t"+fileBackendAt(explicit)), "add", "erin")
	getAccount(t, users.NewFileStore(explicit), "erin")

	// Root's own store exists: root runs this realm's server.
	if err := os.MkdirAll(filepath.Dir(rootFile), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rootFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	mustRunCLI(t, cliPassword+"\n", "--config", defaults, "add", "erin")
	getAccount(t, users.NewFileStore(rootFile), "erin")
	if _, err := users.NewFileStore(serviceFile).Get(context.Background(), "erin"); !errors.Is(err, users.ErrNotFound) {
		t.Fatalf("the command wrote the service's store: %v", err)
	}
}
