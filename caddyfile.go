package sessionauth

import (
	"strconv"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
)

func init() {
	httpcaddyfile.RegisterDirective("session_auth", parseCaddyfile)
	// With the other authentication handlers, so no `order` option is needed.
	httpcaddyfile.RegisterDirectiveOrder("session_auth", httpcaddyfile.Before, "basic_auth")
}

// parseCaddyfile sets up the handler from Caddyfile tokens:
//
//	session_auth [<matcher>] {
//		redis         <url>
//		users_file    <path>
//		sessions_dir  <path>
//		secret        <key> [<older>...]
//		registration  open|closed
//		path_prefix   <path>
//		cookie_name   <name>
//		idle_timeout  <duration>
//		lifetime      <duration>
//		remember_me   <duration>
//		bcrypt_cost   <int>
//		min_password_length <int>
//		template_dir  <path>
//		title         <site name>
//		account_limit <failures> <window>
//		account_lockout <first> [<max>]
//		ip_limit      <attempts> <window>
//	}
//
// The matcher does not wrap the handler in a route: it becomes the
// handler's protect setting, because the login pages must be served
// whatever the matcher says.
func parseCaddyfile(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	h.Next() // the directive name
	matcherSet, err := h.ExtractMatcherSet()
	if err != nil {
		return nil, err
	}
	sa := new(SessionAuth)
	if err := sa.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	if matcherSet != nil {
		sa.Protect = caddyhttp.RawMatcherSets{matcherSet}
	}
	return h.NewRoute(nil, sa), nil
}

// UnmarshalCaddyfile reads the directive's block. Every option may be given
// once; unknown ones are errors.
func (sa *SessionAuth) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive name
	if d.NextArg() {
		return d.ArgErr()
	}
	seen := map[string]bool{}
	for d.NextBlock(0) {
		opt := d.Val()
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

func (sa *SessionAuth) unmarshalOption(d *caddyfile.Dispenser, opt string) error {
	switch opt {
	case "secret":
		sa.Secrets = d.RemainingArgs()
		if len(sa.Secrets) == 0 {
			return d.ArgErr()
		}
		return nil
	case "redis", "users_file", "sessions_dir", "registration", "path_prefix", "cookie_name", "template_dir", "title":
		return oneString(d, map[string]*string{
			"redis":        &sa.Redis,
			"users_file":   &sa.UsersFile,
			"sessions_dir": &sa.SessionsDir,
			"registration": &sa.Registration,
			"path_prefix":  &sa.PathPrefix,
			"cookie_name":  &sa.CookieName,
			"template_dir": &sa.TemplateDir,
			"title":        &sa.Title,
		}[opt])
	case "idle_timeout", "lifetime":
		dst := &sa.IdleTimeout
		if opt == "lifetime" {
			dst = &sa.Lifetime
		}
		v, err := oneDuration(d)
		if err == nil && v <= 0 {
			return d.Errf("%s must be longer than 0", opt)
		}
		*dst = v
		return err
	case "remember_me":
		v, err := oneDuration(d)
		if err == nil && v < 0 {
			return d.Errf("remember_me cannot be negative")
		}
		sa.RememberMe = &v
		return err
	case "bcrypt_cost", "min_password_length":
		dst := &sa.BcryptCost
		if opt == "min_password_length" {
			dst = &sa.MinPasswordLength
		}
		return oneInt(d, dst)
	case "account_limit", "ip_limit":
		rl, err := rateLimit(d)
		if opt == "account_limit" {
			sa.AccountLimit = rl
		} else {
			sa.IPLimit = rl
		}
		return err
	case "account_lockout":
		args := d.RemainingArgs()
		if len(args) < 1 || len(args) > 2 {
			return d.ArgErr()
		}
		for i, dst := range []*caddy.Duration{&sa.AccountLockout, &sa.AccountMaxLockout}[:len(args)] {
			v, err := caddy.ParseDuration(args[i])
			if err != nil || v <= 0 {
				return d.Errf("bad duration %q for account_lockout", args[i])
			}
			*dst = caddy.Duration(v)
		}
		return nil
	}
	return d.Errf("unrecognized subdirective %s", opt)
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

// Interface guard
var _ caddyfile.Unmarshaler = (*SessionAuth)(nil)
