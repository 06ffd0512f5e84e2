package sessionauth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisconn"
	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

// A realm keeps one site's accounts apart from another's. In the Caddyfile
// a block that names none gets one from its site's addresses: the lowest
// of their hosts in sort order, with a port other than 80 and 443 added
// ("example.com", "localhost-8080"). Adding an address that sorts after it,
// or reordering them, keeps the realm; and the start-up log says which
// realm a handler uses and how many accounts it holds, with a warning when
// it holds none but other realms in the same store do.
//
// Distinct addresses always make distinct realms: a host that cannot be a
// realm as it is (other characters, too long, not starting with a letter
// or digit, a reserved name) or that could be read as another address
// (a host "any", which stands for no host, or one ending in "-" and
// digits, which a port would add) gets a realm that ends in a hash of its
// host and port ("site-_.example.com-7b7a3063ee03"). A name that needs no
// change never ends like that, so the two kinds cannot meet either.

// realmFromAddresses derives the default realm from a site block's keys.
func realmFromAddresses(keys []string) (string, bool) {
	var names []string
	for _, key := range keys {
		addr, err := httpcaddyfile.ParseAddress(key)
		if err != nil {
			continue
		}
		port := addr.Port
		if port == "80" || port == "443" {
			port = "" // the site over http and https is one site
		}
		names = append(names, realmName(strings.ToLower(addr.Host), port))
	}
	if len(names) == 0 {
		return "", false
	}
	slices.Sort(names)
	return names[0], true
}

// realmHashLen is how many hex digits of the address's hash end a realm
// name that had to be changed; realmKeptLen is how much of the name is
// kept before them, so that the whole fits in 64 characters.
const (
	realmHashLen = 12
	realmKeptLen = 64 - 1 - realmHashLen
)

// endsInDigits and endsInHash match the ends a port or a hash gives a name.
var (
	endsInDigits = regexp.MustCompile(`-[0-9]+$`)
	endsInHash   = regexp.MustCompile(`-[0-9a-f]{12}$`)
)

// realmName is the realm of one address: host (lower-case, "" for none)
// and port ("" for none, 80 or 443). Without a host it is "any"; a port is
// added after "-". When that is a valid realm and nothing else could make
// it, it is the realm. Otherwise every character a realm may not hold
// becomes "_", "site-" goes in front of a name that does not start with a
// letter or digit, and the name is cut to 51 characters and ends in "-"
// and 12 hex digits of the SHA-256 of host and port: "*.example.com"
// becomes "site-_.example.com-" and its hash.
func realmName(host, port string) string {
	name := host
	if host == "" {
		name = "any"
	}
	if port != "" {
		name += "-" + port
	}
	if !realmNeedsChange(host, port, name) {
		return name
	}
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	name = string(b)
	if c := name[0]; !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
		name = "site-" + name
	}
	sum := sha256.Sum256([]byte(host + "\x00" + port))
	return name[:min(len(name), realmKeptLen)] + "-" + hex.EncodeToString(sum[:])[:realmHashLen]
}

// realmNeedsChange tells whether the plain name of an address (host and
// port as realmName joins them) cannot serve as its realm: it is no valid
// realm, or a reserved one, or another address could have the same plain
// name, or it ends like a changed name.
func realmNeedsChange(host, port, name string) bool {
	switch {
	case !validRealm.MatchString(name) || reservedRealm(name):
		return true
	case host == "any":
		return true // "any" stands for no host
	case port == "" && endsInDigits.MatchString(host):
		return true // "web-8080" could be the host web on port 8080
	case endsInHash.MatchString(name):
		return true // it could be a changed name
	}
	return false
}

// siteAddresses reads the addresses of the site block a directive sits in.
// Caddy's Helper keeps its block unexported, so reflection reads it; the
// golden adapt tests fail the day Caddy renames the field, and until then
// an explicit realm always works.
func siteAddresses(h httpcaddyfile.Helper) []string {
	block := reflect.ValueOf(h).FieldByName("parentBlock")
	if !block.IsValid() {
		return nil
	}
	keys := block.FieldByName("Keys")
	if !keys.IsValid() || keys.Kind() != reflect.Slice {
		return nil
	}
	var out []string
	for i := range keys.Len() {
		if text := keys.Index(i).FieldByName("Text"); text.IsValid() && text.Kind() == reflect.String {
			out = append(out, text.String())
		}
	}
	return out
}

// describeRealm logs, once at start, which realm and store this handler
// uses and how many accounts it holds, and warns when the realm is empty
// while the store holds others (a site's addresses changed, say), or the
// file backend holds the realm's accounts while it uses Redis (a move that
// left them behind), or the layout of a release before realms.
func (sa *SessionAuth) describeRealm() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	accounts, err := sa.users.List(ctx)
	if err != nil {
		sa.logger.Info("session_auth realm", zap.String("realm", sa.Realm), zap.String("store", sa.storeName()), zap.NamedError("accounts", err))
		return
	}
	sa.logger.Info("session_auth realm", zap.String("realm", sa.Realm), zap.String("store", sa.storeName()), zap.Int("accounts", len(accounts)))
	if len(accounts) > 0 {
		return
	}
	sa.warnIfLeftInFiles(ctx)
	others, legacy := sa.otherRealms(ctx)
	if len(others) > 0 {
		sa.logger.Warn("this realm has no accounts, but others in the same store do; if the site's addresses changed, name its old realm with the realm subdirective",
			zap.String("realm", sa.Realm), zap.Strings("other_realms", others))
	}
	if legacy {
		sa.logger.Warn("accounts from a release before realms are in this store; move them into a realm (see the README, \"Realms\")",
			zap.String("realm", sa.Realm))
	}
}

// leftInFiles is the start-up warning of a realm that moved to Redis
// without its accounts.
const leftInFiles = "this realm has no accounts in Redis, but the file backend's users file of the realm holds some: " +
	"to move them, run caddy session-auth export with the config that used files, then caddy session-auth import with this one " +
	"(see the README, \"Moving between backends\")"

// warnIfLeftInFiles warns, at start, when this realm is empty in Redis
// while the file backend's users file of the realm, at its default place
// under Caddy's data directory, holds accounts: a site moved to Redis
// whose accounts stayed behind. The other way round cannot be seen: a
// realm kept in files does not know which Redis it might have used.
func (sa *SessionAuth) warnIfLeftInFiles(ctx context.Context) {
	if sa.Redis == "" {
		return
	}
	path := filepath.Join(dataDir(), sa.Realm, "users.json")
	accounts, err := users.NewFileStore(path).List(ctx)
	if err != nil || len(accounts) == 0 {
		return
	}
	sa.logger.Warn(leftInFiles, zap.String("realm", sa.Realm), zap.String("users_file", path), zap.Int("accounts", len(accounts)))
}

func (sa *SessionAuth) storeName() string {
	if sa.Redis != "" {
		return "redis " + redisconn.Redact(sa.Redis) + " " + keyPrefix(sa.Realm) + "*"
	}
	return sa.UsersFile
}

// otherRealms lists the realms with accounts in the same store, and tells
// whether accounts of the pre-realm layout are there.
func (sa *SessionAuth) otherRealms(ctx context.Context) ([]string, bool) {
	found := map[string]bool{}
	legacy := false
	if sa.Redis == "" {
		entries, _ := os.ReadDir(dataDir())
		for _, e := range entries {
			if e.IsDir() && e.Name() != sa.Realm {
				if _, err := os.Stat(filepath.Join(dataDir(), e.Name(), "users.json")); err == nil {
					found[e.Name()] = true
				}
			}
		}
		_, err := os.Stat(filepath.Join(dataDir(), "users.json"))
		legacy = err == nil
	} else {
		target, err := sa.redisTarget()
		if err != nil {
			return nil, false
		}
		pool, err := acquireRedisPool(target, sa.logger)
		if err != nil {
			return nil, false
		}
		defer releaseRedisPool(target)
		conn, err := redisutil.Conn(ctx, pool)
		if err != nil {
			return nil, false
		}
		defer conn.Close()
		pages := 0
		errStop := errors.New("enough")
		_ = redisutil.Scan(ctx, conn, "session_auth:", func(keys []string) error {
			for _, k := range keys {
				realm, rest, ok := strings.Cut(strings.TrimPrefix(k, "session_auth:"), ":")
				switch {
				case realm == "user" || realm == "session" || realm == "cookie_key":
					legacy = true
				case ok && strings.HasPrefix(rest, "user:") && realm != sa.Realm:
					found[realm] = true
				}
			}
			if pages++; pages >= 100 {
				return errStop // enough for a hint; never walk a huge Redis at start
			}
			return nil
		})
	}
	others := make([]string, 0, len(found))
	for r := range found {
		others = append(others, r)
	}
	slices.Sort(others)
	return others, legacy
}
