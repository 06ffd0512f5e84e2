package sessionauth

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	httpcaddyfile.RegisterDirective("session_auth", parseCaddyfile)
	// With the other authentication handlers, so no `order` option is needed.
	httpcaddyfile.RegisterDirectiveOrder("session_auth", httpcaddyfile.Before, "basic_auth")
}

// parseCaddyfile sets up the handler from Caddyfile tokens:
//
//	session_auth [<matcher>] {
//		realm         <name>
//		redis         <url> {
//			ca_file           <path>
//			cert_file         <path>
//			key_file          <path>
//			server_name       <name>
//			sentinel_username <name>
//			sentinel_password <password>
//		}
//		users_file    <path>
//		sessions_dir  <path>
//		secret        <key> [<older>...]
//		registration  open|approval|invite|closed
//		admin_role    <role>
//		path_prefix   <path>
//		cookie_name   <name>
//		secure_cookies auto|always
//		idle_timeout  <duration>
//		lifetime      <duration>
//		remember_me   <duration>
//		bcrypt_cost   <int>
//		min_password_length <int>
//		max_sessions  <int>
//		template_dir  <path>
//		title         <site name>
//		user_header   <name>
//		roles_header  <name>
//		default_roles <role>...
//		allow         <matcher> role|user <name>... [role|user <name>...] [second_factor]
//		second_factor off|optional|required [<role>...]
//		passkeys      <rp id> [<origin>...]
//		account_limit <failures> <window>
//		account_lockout <first> [<max>]
//		ip_limit      <failures> <window>
//	}
//
// The matcher does not wrap the handler in a route: it becomes the
// handler's protect setting, because the login pages must be served
// whatever the matcher says. Without realm, the realm comes from the site
// block's addresses (see realm.go).
//
// allow, the one option that may repeat, adds an access rule: its matcher
// is a path (/admin/*), * for every request, or a named matcher of the
// site block (@staff); then role and user each start a list of names, and
// the rule lets through whoever is named in either; second_factor makes it
// also want a login that used a second factor. (So a role or user
// literally called "role", "user" or "second_factor" can only be named in
// JSON.)
func parseCaddyfile(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next() // the directive name
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	sa := new(SessionAuth)
	if err := sa.unmarshalBlock(h.Dispenser, h.MatcherToken); err != nil {
		return nil, err
	}
	if matcherSet != nil {
		sa.Protect = caddyhttp.RawMatcherSets{matcherSet}
	}
	if sa.Realm == "" {
		realm, ok := realmFromAddresses(siteAddresses(h))
		if !ok {
			return nil, h.Err("session_auth needs a realm here (no site address to take one from): add 'realm <name>'")
		}
		sa.Realm = realm
	}
	return h.NewRoute(nil, sa), nil
}

// UnmarshalCaddyfile reads the directive's block. Every option but allow
// may be given once; unknown ones are errors. Outside a site block (where
// named matchers are defined) allow takes paths and * only.
func (sa *SessionAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	return sa.unmarshalBlock(d, inlineMatcher(d))
}

// matcherReader reads an allow rule's matcher token, as
// httpcaddyfile.Helper.MatcherToken does: the set, and whether the token
// was a matcher at all (a nil set with true is "*", every request).
type matcherReader func() (caddy.ModuleMap, bool, error)

func (sa *SessionAuth) unmarshalBlock(d *caddyfile.Dispenser, matcher matcherReader) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		opt := d.Val()
		if opt == "allow" {
			rule, err := readRule(d, matcher)
			if err != nil {
				return err
			}
			sa.Allow = append(sa.Allow, rule)
			continue
		}
		if seen[opt] {
			return d.Errf("%s given more than once", opt)
		}
		seen[opt] = true
		if err := sa.unmarshalOption(d, opt); err != nil {
			return err
		}
	}
	return nil
}

// readRule reads "<matcher> role|user <name>... [role|user <name>...]".
// Names are normalised here, so the JSON holds them as they are kept.
func readRule(d *caddyfile.Dispenser, matcher matcherReader) (AccessRule, error) {
	var rule AccessRule
	set, ok, err := matcher()
	if err != nil {
		return rule, d.Errf("allow: %v", err)
	}
	if !ok {
		return rule, d.Errf("allow needs a matcher first (a path such as /admin/*, or a named matcher such as @staff), then role or user and the names it lets through")
	}
	where := d.Val()
	if set != nil {
		rule.Match = caddyhttp.RawMatcherSets{set}
	}
	var list *[]string
	kind := ""
	for d.NextArg() {
		word := d.Val()
		switch {
		case word == "second_factor":
			rule.SecondFactor = true
		case word == "role" || word == "user":
			if list != nil && len(*list) == 0 {
				return rule, d.Errf("allow %s: %s needs at least one name", where, kind)
			}
			list, kind = &rule.Roles, word
			if word == "user" {
				list = &rule.Users
			}
		case list == nil:
			return rule, d.Errf("allow %s: want role or user before the names, not %q", where, word)
		case kind == "role":
			role, err := users.NormalizeRole(word)
			if err != nil {
				return rule, d.Errf("allow %s: %s", where, users.Explain(err))
			}
			*list = append(*list, role)
		default:
			name, err := users.Normalize(word)
			if err != nil {
				return rule, d.Errf("allow %s: user %q: %s", where, word, users.Explain(err))
			}
			*list = append(*list, name)
		}
	}
	if list == nil {
		return rule, d.Errf("allow %s names no one: add role <name>... or user <name>...", where)
	}
	if len(*list) == 0 {
		return rule, d.Errf("allow %s: %s needs at least one name", where, kind)
	}
	rule.Roles, _ = users.NormalizeRoles(rule.Roles) // sorted, once each
	rule.Users, _ = normalizeUsers(rule.Users)
	return rule, nil
}

// inlineMatcher reads a matcher token without a site block: "*" or a path.
func inlineMatcher(d *caddyfile.Dispenser) matcherReader {
	return func() (caddy.ModuleMap, bool, error) {
		if !d.NextArg() {
			return nil, false, nil
		}
		switch v := d.Val(); {
		case v == "*":
			return nil, true, nil
		case strings.HasPrefix(v, "/"):
			return caddy.ModuleMap{"path": caddyconfig.JSON(caddyhttp.MatchPath{v}, nil)}, true, nil
		case strings.HasPrefix(v, "@"):
			return nil, false, fmt.Errorf("named matcher %s: only the session_auth directive of a site block can use named matchers", v)
		}
		return nil, false, nil
	}
}

func (sa *SessionAuth) unmarshalOption(d *caddyfile.Dispenser, opt string) error {
	var err error
	switch opt {
	case "realm":
		err = oneString(d, &sa.Realm)
	case "redis":
		err = sa.unmarshalRedis(d)
	case "users_file":
		err = oneString(d, &sa.UsersFile)
	case "sessions_dir":
		err = oneString(d, &sa.SessionsDir)
	case "secret":
		sa.Secrets = d.RemainingArgs()
		if len(sa.Secrets) == 0 {
			err = d.ArgErr()
		}
	case "registration":
		err = oneString(d, &sa.Registration)
	case "path_prefix":
		err = oneString(d, &sa.PathPrefix)
	case "cookie_name":
		err = oneString(d, &sa.CookieName)
	case "secure_cookies":
		err = oneString(d, &sa.SecureCookies)
	case "idle_timeout":
		err = positiveDuration(d, opt, &sa.IdleTimeout)
	case "lifetime":
		err = positiveDuration(d, opt, &sa.Lifetime)
	case "remember_me":
		var v caddy.Duration
		if v, err = oneDuration(d); err == nil && v < 0 {
			err = d.Errf("remember_me cannot be negative")
		}
		sa.RememberMe = &v
	case "bcrypt_cost":
		err = oneInt(d, &sa.BcryptCost)
	case "min_password_length":
		err = oneInt(d, &sa.MinPasswordLength)
	case "max_sessions":
		if err = oneInt(d, &sa.MaxSessions); err == nil && sa.MaxSessions < 1 {
			err = d.Errf("max_sessions must be at least 1, not %d", sa.MaxSessions)
		}
	case "template_dir":
		err = oneString(d, &sa.TemplateDir)
	case "title":
		err = oneString(d, &sa.Title)
	case "user_header":
		err = oneString(d, &sa.UserHeader)
	case "roles_header":
		err = oneString(d, &sa.RolesHeader)
	case "admin_role":
		err = oneString(d, &sa.AdminRole)
	case "default_roles":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return d.ArgErr()
		}
		if sa.DefaultRoles, err = users.NormalizeRoles(args); err != nil {
			err = d.Errf("default_roles: %s", users.Explain(err))
		}
	case "account_limit":
		sa.AccountLimit, err = rateLimit(d)
	case "ip_limit":
		sa.IPLimit, err = rateLimit(d)
	case "account_lockout":
		err = lockout(d, &sa.AccountLockout, &sa.AccountMaxLockout)
	case "passkeys":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return d.ArgErr()
		}
		sa.PasskeyRPID, sa.PasskeyOrigins = args[0], args[1:]
	case "second_factor":
		args := d.RemainingArgs()
		if len(args) == 0 {
			return d.ArgErr()
		}
		sa.SecondFactor = args[0]
		if len(args) > 1 {
			if sa.SecondFactorRoles, err = users.NormalizeRoles(args[1:]); err != nil {
				err = d.Errf("second_factor: %s", users.Explain(err))
			}
		}
	default:
		err = d.Errf("unrecognized subdirective %s", opt)
	}
	return err
}

// rateLimit reads "<count> <window>".
func rateLimit(d *caddyfile.Dispenser) (*RateLimit, error) {
	args := d.RemainingArgs()
	if len(args) != 2 {
		return nil, d.ArgErr()
	}
	n, err := strconv.Atoi(args[0])
	if err != nil || n < 1 {
		return nil, d.Errf("bad count %q: want a whole number of at least 1", args[0])
	}
	w, err := caddy.ParseDuration(args[1])
	if err != nil || w <= 0 {
		return nil, d.Errf("bad window %q", args[1])
	}
	return &RateLimit{Limit: n, Window: caddy.Duration(w)}, nil
}

// lockout reads "<first> [<max>]".
func lockout(d *caddyfile.Dispenser, first, most *caddy.Duration) error {
	args := d.RemainingArgs()
	if len(args) < 1 || len(args) > 2 {
		return d.ArgErr()
	}
	for i, dst := range []*caddy.Duration{first, most}[:len(args)] {
		v, err := caddy.ParseDuration(args[i])
		if err != nil || v <= 0 {
			return d.Errf("bad duration %q for account_lockout", args[i])
		}
		*dst = caddy.Duration(v)
	}
	return nil
}

func oneString(d *caddyfile.Dispenser, dst *string) error {
	if !d.NextArg() {
		return d.ArgErr()
	}
	*dst = d.Val()
	if d.NextArg() {
		return d.ArgErr()
	}
	return nil
}

func oneDuration(d *caddyfile.Dispenser) (caddy.Duration, error) {
	var s string
	if err := oneString(d, &s); err != nil {
		return 0, err
	}
	v, err := caddy.ParseDuration(s)
	if err != nil {
		return 0, d.Errf("bad duration %q: %v", s, err)
	}
	return caddy.Duration(v), nil
}

func positiveDuration(d *caddyfile.Dispenser, opt string, dst *caddy.Duration) error {
	v, err := oneDuration(d)
	if err != nil {
		return err
	}
	if v <= 0 {
		return d.Errf("%s must be longer than 0", opt)
	}
	*dst = v
	return nil
}

func oneInt(d *caddyfile.Dispenser, dst *int) error {
	var s string
	if err := oneString(d, &s); err != nil {
		return err
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		return d.Errf("bad number %q", s)
	}
	*dst = v
	return nil
}

// unmarshalRedis reads "redis <url>" and its optional block: the TLS
// files (for rediss:// and rediss+sentinel://) and the sentinels'
// credentials (for the +sentinel forms).
func (sa *SessionAuth) unmarshalRedis(d *caddyfile.Dispenser) error {
	if err := oneString(d, &sa.Redis); err != nil {
		return err
	}
	seen := map[string]bool{}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		opt := d.Val()
		if seen[opt] {
			return d.Errf("redis %s given more than once", opt)
		}
		seen[opt] = true
		var dst *string
		switch opt {
		case "ca_file", "cert_file", "key_file", "server_name":
			if sa.RedisTLS == nil {
				sa.RedisTLS = new(RedisTLS)
			}
			dst = map[string]*string{
				"ca_file": &sa.RedisTLS.CAFile, "cert_file": &sa.RedisTLS.CertFile,
				"key_file": &sa.RedisTLS.KeyFile, "server_name": &sa.RedisTLS.ServerName,
			}[opt]
		case "sentinel_username":
			dst = &sa.RedisSentinelUsername
		case "sentinel_password":
			dst = &sa.RedisSentinelPassword
		default:
			return d.Errf("unrecognized subdirective %s in the redis block", opt)
		}
		if err := oneString(d, dst); err != nil {
			return err
		}
	}
	return nil
}

// Interface guard
var _ caddyfile.Unmarshaler = (*SessionAuth)(nil)
