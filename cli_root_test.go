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

// TestNewUsersFileInANewFolderBelongsToTheFoldersOwner: a users file the
// command, run as root, makes in a folder it has to make first (the realm's
// folder in the service's data directory, before the server ever started)
// is readable by the service: the new folder is the service's, like the
// folder it was made in, not root's with mode 0700.
func TestNewUsersFileInANewFolderBelongsToTheFoldersOwner(t *testing.T) {
	needRoot(t)
	data := filepath.Join(sharedFolder(t), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, serviceUID, serviceUID); err != nil {
		t.Fatal(err)
	}
	usersFile := filepath.Join(data, "session_auth", "realm", "users.json")
	lines := fmt.Sprintf("users_file %s\n\t\tsessions_dir %s", usersFile, t.TempDir())
	mustRunCLI(t, cliPassword+"\n", "--config", cliCaddyfile(t, lines), "add", "erin")
	for _, folder := range []string{filepath.Dir(filepath.Dir(usersFile)), filepath.Dir(usersFile)} {
		wantOwnerAndMode(t, folder, serviceUID, serviceUID, 0o700, "a folder the command made")
	}
	wantOwnerAndMode(t, usersFile, serviceUID, serviceUID, 0o600, "a new users file in a new folder")
	readableBy(t, serviceUID, usersFile, "erin")
}

// useDataDirs plays a machine for checkDataDirectory: the caddy user's
// data directory ("" for no caddy user) and the service data directories.
func useDataDirs(t *testing.T, caddyUser string, services ...string) {
	t.Helper()
	oldUser, oldServices := caddyUserDataDir, serviceDataDirs
	caddyUserDataDir = func() string { return caddyUser }
	serviceDataDirs = func() []string { return services }
	t.Cleanup(func() { caddyUserDataDir, serviceDataDirs = oldUser, oldServices })
}

// TestCommandRefusesToStartAStoreTheServerDoesNotRead: with default paths
// the command's store lies in its own data directory, and a server running
// as the caddy user reads another. So when the store does not exist yet,
// the command refuses, naming both paths and what to do, and creates
// nothing: when a service's data directory holds the realm's folder (the
// server makes it at start), or when it runs as root and a caddy user
// exists whose data directory is not root's. That is the first account of
// a fresh install with closed registration, made with sudo. It goes ahead
// when its own store exists, when the config names the paths, when there
// is neither a caddy user nor a service holding the realm (root runs the
// server), and when the caddy user's data directory is its own.
func TestCommandRefusesToStartAStoreTheServerDoesNotRead(t *testing.T) {
	needRoot(t)
	const realm = "cli-root-test"
	ours := caddy.AppDataDir()
	rootFile := filepath.Join(ours, "session_auth", realm, "users.json")
	for _, tc := range []struct {
		name      string
		caddyUser string // "elsewhere", "ours", or "" for no caddy user
		service   string // the service's data directory holds the realm's "folder", its "store", or ""
		ownStore  bool   // root's users file exists
		explicit  bool   // the config names users_file and sessions_dir
		refused   bool
	}{
		{name: "fresh install, a caddy user, the server never started", caddyUser: "elsewhere", refused: true},
		{name: "the service started the realm, no caddy user", service: "folder", refused: true},
		{name: "the service holds the realm's accounts, no caddy user", service: "store", refused: true},
		{name: "the service started the realm, and a caddy user", caddyUser: "elsewhere", service: "folder", refused: true},
		{name: "root's own store exists", caddyUser: "elsewhere", service: "store", ownStore: true},
		{name: "the config names the paths", caddyUser: "elsewhere", service: "store", explicit: true},
		{name: "no caddy user and no service holds the realm", service: ""},
		{name: "the caddy user's data directory is ours", caddyUser: "ours", service: "folder"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(filepath.Dir(rootFile))
			t.Cleanup(func() { os.RemoveAll(filepath.Dir(rootFile)) })
			service := t.TempDir()
			var caddyUser string
			switch tc.caddyUser {
			case "elsewhere":
				caddyUser = service
			case "ours":
				caddyUser, service = ours, ours
			}
			useDataDirs(t, caddyUser, service)
			serviceFile := filepath.Join(service, "session_auth", realm, "users.json")
			switch tc.service {
			case "folder":
				if err := os.MkdirAll(filepath.Join(filepath.Dir(serviceFile), "sessions"), 0o700); err != nil {
					t.Fatal(err)
				}
			case "store":
				if err := os.MkdirAll(filepath.Dir(serviceFile), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(serviceFile, []byte("[]\n"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if tc.ownStore {
				if err := os.MkdirAll(filepath.Dir(rootFile), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(rootFile, nil, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			want, lines := rootFile, "realm "+realm
			if tc.explicit {
				want = filepath.Join(t.TempDir(), "users.json")
				lines += "\n\t\t" + fileBackendAt(want)
			}
			config := cliCaddyfile(t, lines)

			if !tc.refused {
				mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "erin")
				getAccount(t, users.NewFileStore(want), "erin")
				if want != serviceFile {
					if _, err := users.NewFileStore(serviceFile).Get(context.Background(), "erin"); !errors.Is(err, users.ErrNotFound) {
						t.Fatalf("the command wrote the service's store at %s: %v", serviceFile, err)
					}
				}
				return
			}
			for _, action := range [][]string{{"add", "erin"}, {"list"}, {"password", "erin"}} {
				_, code, err := runCLI(t, cliPassword+"\n", append([]string{"--config", config}, action...)...)
				if err == nil || code == 0 {
					t.Fatalf("%s: exit %d, %v; want a refusal", action[0], code, err)
				}
				for _, part := range []string{rootFile, serviceFile, "sudo -u caddy caddy session-auth", "users_file"} {
					if !strings.Contains(err.Error(), part) {
						t.Fatalf("%s: the refusal must name both stores and what to do (%q): %q", action[0], part, err)
					}
				}
				if _, err := os.Stat(rootFile); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("%s: a refused command made root's store: %v", action[0], err)
				}
			}
			if tc.service == "store" {
				if data, err := os.ReadFile(serviceFile); err != nil || string(data) != "[]\n" {
					t.Fatalf("the service's store changed: %q, %v", data, err)
				}
			}
		})
	}
}
