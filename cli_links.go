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
// put a link anywhere in it: users.json pointing at /etc/shadow, the
// realm's folder pointing at /etc. The command run as root must not read,
// write, give away or delete what such a link points to. So as root it
// reaches the file backend only through a confined atomicfile.FS, whose
// every operation stays below an anchor the operator named (the data
// directory, or the folders the config names), however the links change
// while it runs; and before it starts, it looks for links on the way and
// refuses, naming the link, rather than fail half-way with a bare
// "path escapes from parent".

// cliFiles are how the command reaches the file backend's users file and
// sessions folder.
type cliFiles struct {
	users, sessions atomicfile.FS
}

// cliFilesFor returns the file systems the command uses for the realm's
// files: the os package's own for anyone but root; for root, confined to
// Caddy's data directory for the default paths, and to the folders the
// config names otherwise (the users file's folder, the sessions folder),
// after it checked that no link is on the way.
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
		link, err := p.fs.FindLink(p.path)
		if err != nil {
			return cliFiles{}, err
		}
		if link != "" {
			return cliFiles{}, linkRefused(link, p.fs.Anchor())
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
				return cliFiles{}, linkRefused(filepath.Join(dir, e.Name()), files.sessions.Anchor())
			}
		}
	}
	return files, nil
}

// linkRefused says which link the command, run as root, will not follow.
func linkRefused(link, anchor string) error {
	to, _ := os.Readlink(link) // reads the link itself, never what it points to
	return fmt.Errorf("as root, the command follows no link inside the data folder %s, and %s is a link (to %s): "+
		"remove it if you did not make it, or run the command as the user Caddy runs as (sudo -u caddy caddy session-auth ...)",
		anchor, link, to)
}
