package sessionauth

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/redisutil"
)

// A realm keeps one site's accounts apart from another's. In the Caddyfile
// a block that names none gets one from its site's addresses: the lowest
// of their hosts in sort order, with a port other than 80 and 443 added
// ("example.com", "localhost-8080"). Adding an address that sorts after it,
// or reordering them, keeps the realm; and the start-up log says which
// realm a handler uses and how many accounts it holds, with a warning when
// it holds none but other realms in the same store do.

// realmFromAddresses derives the default realm from a site block's keys.
func realmFromAddresses(keys []string) (string, bool) {
	var names []string
	for _, key := range keys {
		addr, err := httpcaddyfile.ParseAddress(key)
		if err != nil {
			continue
		}
		host := strings.ToLower(addr.Host)
		if host == "" {
			host = "any"
		}
		if addr.Port != "" && addr.Port != "80" && addr.Port != "443" {
			host += "-" + addr.Port
		}
		names = append(names, realmName(host))
	}
	if len(names) == 0 {
		return "", false
	}
	slices.Sort(names)
	return names[0], true
}

// realmName maps a host to the characters a realm may hold, any other
// becoming "_"; a name that then starts with a symbol gets "site-" in
// front ("*.example.com" becomes "site-_.example.com"), and one longer
// than 64 characters is cut.
func realmName(host string) string {
	b := []byte(host)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	name := string(b)
	// Checked as it will be cut, so that length alone never earns the prefix.
	if !validRealm.MatchString(name[:min(len(name), 64)]) {
		name = "site-" + name
	}
	if len(name) > 64 {
		name = name[:64]
	}
	return name
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
// while the store holds others (a site's addresses changed, say) or the
// layout of a release before realms.
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

func (sa *SessionAuth) storeName() string {
	if sa.Redis != "" {
		return "redis " + redactURL(sa.Redis) + " " + keyPrefix(sa.Realm) + "*"
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
		pool, err := acquireRedisPool(sa.Redis, sa.logger)
		if err != nil {
			return nil, false
		}
		defer releaseRedisPool(sa.Redis)
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
