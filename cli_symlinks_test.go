package sessionauth

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCommandAsRootFollowsNoSymlinkInTheDataFolder: the server's user may
// plant symlinks in its data folder, and often in the folder that holds
// it. Run as root, the command refuses a symlink on the way to the realm's
// files (the realm's folder, the folder the config names, the users file,
// the sessions folder or a file in it), saying which symlink and what to
// do, and writes nothing where the symlink points, whether the target
// exists or not.
func TestCommandAsRootFollowsNoSymlinkInTheDataFolder(t *testing.T) {
	needRoot(t)
	const realm = "cli-links-test"
	realmDir := filepath.Join(dataDir(), realm)
	for _, tc := range []struct {
		name     string
		explicit bool     // the config names users_file and sessions_dir in a folder of the test's
		link     string   // below the realm's folder ("" for the folder itself)
		target   string   // "folder" or "file": what the link points to, outside
		exists   bool     // the target exists
		action   []string // the command
	}{
		{name: "the realm's folder", target: "folder", exists: true, action: []string{"add", "erin"}},
		{name: "the folder the config names", explicit: true, target: "folder", exists: true, action: []string{"add", "erin"}},
		{name: "the folder the config names, for a change", explicit: true, target: "folder", exists: true, action: []string{"disable", "erin"}},
		{name: "users.json to a missing file", link: "users.json", target: "file", action: []string{"add", "erin"}},
		{name: "users.json to a file", link: "users.json", target: "file", exists: true, action: []string{"list"}},
		{name: "users.json named by the config", explicit: true, link: "users.json", target: "file", action: []string{"add", "erin"}},
		{name: "the sessions folder", link: "sessions", target: "folder", exists: true, action: []string{"add", "erin"}},
		{name: "the links folder", link: "sessions/links", target: "folder", exists: true, action: []string{"reset-link", "erin"}},
		{name: "a user's index in the sessions folder", explicit: true, link: "sessions/u_6572696e", target: "folder", exists: true, action: []string{"password", "erin"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			os.RemoveAll(realmDir)
			t.Cleanup(func() { os.RemoveAll(realmDir) })
			base, lines := realmDir, "realm "+realm
			if tc.explicit {
				base = filepath.Join(t.TempDir(), "realm")
				lines += "\n\t\t" + fileBackendAt(filepath.Join(base, "users.json"))
			}
			config := cliCaddyfile(t, lines)
			if tc.action[0] != "add" {
				mustRunCLI(t, cliPassword+"\n", "--config", config, "add", "erin")
			}
			if err := os.MkdirAll(filepath.Join(base, "sessions"), 0o700); err != nil {
				t.Fatal(err)
			}

			outside := t.TempDir()
			target := outside
			if tc.target == "file" {
				target = filepath.Join(outside, "x")
				if tc.exists {
					if err := os.WriteFile(target, []byte("outside\n"), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			link := filepath.Join(base, tc.link)
			if err := os.MkdirAll(filepath.Dir(link), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.RemoveAll(link); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}

			_, code, err := runCLI(t, cliOtherPassword+"\n", append([]string{"--config", config}, tc.action...)...)
			if err == nil || code == 0 {
				t.Fatalf("%s through a link: exit %d, %v; want a refusal", tc.action[0], code, err)
			}
			for _, part := range []string{"as root, the command follows no symlink", link + " is a symlink (to " + target + ")", "sudo -u caddy"} {
				if !strings.Contains(err.Error(), part) {
					t.Fatalf("the refusal must say which link it met and what to do (%q): %q", part, err)
				}
			}
			switch {
			case tc.target == "file" && tc.exists:
				if data, err := os.ReadFile(target); err != nil || string(data) != "outside\n" {
					t.Fatalf("the file the link points to changed: %q, %v", data, err)
				}
			case tc.target == "file":
				if _, err := os.Stat(target); !errors.Is(err, fs.ErrNotExist) {
					t.Fatalf("the command made the file the link points to: %v", err)
				}
			}
			if entries, _ := os.ReadDir(outside); tc.target == "folder" && len(entries) != 0 || len(entries) > 1 {
				t.Fatalf("the command wrote where the link points: %v", entries)
			}
			if info, err := os.Lstat(link); err != nil || info.Mode()&fs.ModeSymlink == 0 {
				t.Fatalf("the link itself was replaced: %v, %v", info, err)
			}
		})
	}
}
