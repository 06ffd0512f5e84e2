package sessionauth

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/caddyserver/caddy/v2"

	"github.com/caddy-session-auth/caddy-session-auth/internal/atomicfile"
)

// The server's data folder belongs to the user the server runs as, who may
// put a symlink anywhere in it: users.json pointing at /etc/shadow, the
// realm's folder pointing at /etc. The command run as root must not read,
// write, give away or delete what such a symlink points to. So as root it
// reaches the file backend only through a confined atomicfile.FS, whose
// every operation stays below an anchor the operator named (the data
// directory, or the folders the config names), opened once, however the
// symlinks change while it runs; an anchor that is itself a symlink (the
// server's user may often write the folder that holds it) is refused.
// Before it starts, the command looks for symlinks on the way and refuses,
// naming the symlink, rather than fail half-way with a bare "path escapes
// from parent".

// cliFiles are how the command reaches the file backend's users file and
// sessions folder. Close them when the command ends.
type cliFiles struct {
	users, sessions atomicfile.FS
}

// Close closes the confined file systems' roots.
func (f cliFiles) Close() {
	f.users.Close()
	f.sessions.Close()
}

// cliFilesFor returns the file systems the command uses for the realm's
// files: the os package's own for anyone but root; for root, confined to
// Caddy's data directory for the default paths, and to the folders the
// config names otherwise (the users file's folder, the sessions folder),
// after it checked that no symlink is on the way.
func (sa *SessionAuth) cliFilesFor(explicitUsers, explicitSessions bool) (cliFiles, error) {
	if os.Geteuid() != 0 {
		return cliFiles{}, nil
	}
	anchor := func(explicit bool, folder string) atomicfile.FS {
		if explicit {
			return atomicfile.Confined(folder)
		}
		return atomicfile.Confined(caddy.AppDataDir())
	}
	files := cliFiles{
		users:    anchor(explicitUsers, filepath.Dir(sa.UsersFile)),
		sessions: anchor(explicitSessions, sa.SessionsDir),
	}
	links := linksDir(sa.SessionsDir)
	for _, p := range []struct {
		fs   atomicfile.FS
		path string
	}{{files.users, sa.UsersFile}, {files.sessions, sa.SessionsDir}, {files.sessions, links}} {
		link, err := p.fs.FindSymlink(p.path)
		if err != nil {
			files.Close()
			return cliFiles{}, err
		}
		if link != "" {
			files.Close()
			return cliFiles{}, symlinkRefused(link, p.fs.Anchor())
		}
	}
	// The sessions folder's own entries (session files, the users' index
	// folders, the links folder's token files), one level down each.
	for _, dir := range []string{sa.SessionsDir, links} {
		entries, err := files.sessions.ReadDir(dir)
		if err != nil {
			continue // missing, or refused below: the store will say so
		}
		for _, e := range entries {
			if e.Type()&fs.ModeSymlink != 0 {
				files.Close()
				return cliFiles{}, symlinkRefused(filepath.Join(dir, e.Name()), files.sessions.Anchor())
			}
		}
	}
	return files, nil
}

// symlinkRefused says which symlink the command, run as root, will not
// follow: one inside the data folder, the data folder itself, or one on
// the way to it.
func symlinkRefused(link, anchor string) error {
	to, _ := os.Readlink(link) // reads the symlink itself, never what it points to
	return fmt.Errorf("as root, the command follows no symlink to or inside the data folder %s, and %s is a symlink (to %s): "+
		"remove it if you did not make it, name the folder by its real path, "+
		"or run the command as the user Caddy runs as (sudo -u caddy caddy session-auth ...)",
		anchor, link, to)
}
