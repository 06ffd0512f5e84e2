// Package sessionauth is a Caddy HTTP handler that puts a login wall in front
// of a site: login, registration and logout pages, bcrypt-hashed accounts,
// server-side sessions in Redis or in files, and protected routes chosen with
// Caddy's own matchers.
package sessionauth

import (
	"cmp"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"
	"go.uber.org/zap"

	"github.com/caddy-session-auth/caddy-session-auth/internal/bcryptfloor"
	"github.com/caddy-session-auth/caddy-session-auth/internal/onetime"
	"github.com/caddy-session-auth/caddy-session-auth/internal/session"
	"github.com/caddy-session-auth/caddy-session-auth/internal/throttle"
	"github.com/caddy-session-auth/caddy-session-auth/templates"
	"github.com/caddy-session-auth/caddy-session-auth/users"
)

func init() {
	caddy.RegisterModule(SessionAuth{})
}

// SessionAuth serves the login, registration and logout pages under
// PathPrefix and guards the requests that Protect selects: a request with a
// valid session goes on with `{http.auth.user.id}` set to the username and
// `{http.auth.user.roles}` to the account's roles (sorted, comma-separated);
// a browser without one is sent to the login page, any other client gets
// 401. Access rules (Allow) narrow who may see what among logged-in users.
//
// Everything belongs to a realm: accounts, sessions, the generated cookie
// key and the login counters. They live in Redis when Redis is set, so that
// several Caddy instances share them, and otherwise in files under Caddy's
// data directory.
type SessionAuth struct {
	// Protect selects the protected requests with Caddy request matchers;
	// any one matcher set that matches protects the request, and so does
	// any rule of Allow that selects it. Default: every request except the
	// plugin's own pages under PathPrefix.
	Protect caddyhttp.RawMatcherSets `json:"protect,omitempty" caddy:"namespace=http.matchers"`

	// Allow are the access rules: which logged-in users may see what. A
	// request must pass every rule that selects it, and passes a rule when
	// its user is named in it or holds one of its roles; the order of the
	// rules does not matter, so a broader rule added later can never open
	// a narrower area. A request that a rule selects is protected (needs a
	// session) even when Protect leaves it out. A request no rule selects
	// needs only a valid session. A logged-in user who fails a rule gets
	// 403: a page for browsers, a bare error otherwise. Role changes apply
	// at the user's next request. Default: none, so any account sees every
	// protected page.
	Allow []AccessRule `json:"allow,omitempty"`

	// DefaultRoles are the roles every new account gets, at registration
	// and from the CLI's add. Default: none.
	DefaultRoles []string `json:"default_roles,omitempty"`

	// AdminRole is the role that opens the admin page at PathPrefix/admin
	// (accounts, approval, roles, disable, links, sessions). Nobody has it
	// until the CLI gives it (caddy session-auth role add alice admin); it
	// may not be among DefaultRoles. Default: admin.
	AdminRole string `json:"admin_role,omitempty"`

	// Realm names the accounts, sessions, cookie key and counters this
	// handler uses: handlers with the same realm (and backend) share them,
	// handlers with different realms never do. 1 to 64 characters of
	// a-z 0-9 . _ -, starting with a letter or digit. Required; the
	// Caddyfile sets it from the site's addresses when the block names none.
	Realm string `json:"realm,omitempty"`

	// Redis is the URL of the Redis server that keeps the realm's sessions,
	// accounts, counters and generated cookie key:
	// redis://[user:pass@]host[:port][/db] or rediss:// for TLS; or, for a
	// master that Redis Sentinel watches and replaces when it fails,
	// redis+sentinel://[user:pass@]host:port[,host:port...]/<master>[/db]
	// (rediss+sentinel:// for TLS), which lists the sentinels and names
	// the master. The user and password are the data server's (an ACL user
	// or the default one); {env.*} and {file.*} placeholders are resolved
	// (a password with characters that URLs reserve must be percent-encoded).
	// Default: none, so files under Caddy's data directory.
	Redis string `json:"redis,omitempty"`

	// RedisTLS are the CA, client certificate and server name of a
	// rediss:// or rediss+sentinel:// connection (the sentinels' too).
	// Default: the system's roots, no client certificate.
	RedisTLS *RedisTLS `json:"redis_tls,omitempty"`

	// RedisSentinelUsername is the ACL user the sentinels of a
	// redis+sentinel:// URL want; {env.*} and {file.*} placeholders are
	// resolved. Default: none (the default user).
	RedisSentinelUsername string `json:"redis_sentinel_username,omitempty"`

	// RedisSentinelPassword is the sentinels' password (their
	// requirepass, or RedisSentinelUsername's); {env.*} and {file.*}
	// placeholders are resolved. Default: none.
	RedisSentinelPassword string `json:"redis_sentinel_password,omitempty"`

	// UsersFile is the accounts file of the file backend. Default:
	// session_auth/<realm>/users.json in Caddy's data directory.
	UsersFile string `json:"users_file,omitempty"`

	// SessionsDir is the folder of the file backend's session records and
	// generated cookie key. Default: session_auth/<realm>/sessions in Caddy's
	// data directory.
	SessionsDir string `json:"sessions_dir,omitempty"`

	// Secrets are the cookie signing keys, newest first: the first signs,
	// all verify, so a key can be rotated without logging anyone out. Each
	// must be at least 32 characters; {env.*} and {file.*} placeholders are
	// resolved. Default: a random key generated once and kept in the backend.
	Secrets []string `json:"secrets,omitempty"`

	// Registration is "open" to let anyone create an account at
	// PathPrefix/register; "approval" to let anyone register an account
	// that cannot log in until an operator approves it (caddy session-auth
	// approve); "invite" to let only holders of a one-time invitation link
	// register (caddy session-auth invite); or "closed". Default: closed.
	Registration string `json:"registration,omitempty"`

	// PathPrefix is where the login, register and logout pages live.
	// Default: /auth.
	PathPrefix string `json:"path_prefix,omitempty"`

	// CookieName is the session cookie's name; over HTTPS the cookie is
	// called "__Host-" followed by it. Default: caddy_session.
	CookieName string `json:"cookie_name,omitempty"`

	// SecureCookies is "auto" to mark cookies Secure (and give them the
	// __Host- prefix) when the browser reached Caddy over HTTPS: a TLS
	// connection, or a request from one of the server's trusted_proxies
	// that says X-Forwarded-Proto: https. "always" does so for every
	// request, for a site that browsers only reach over HTTPS through a
	// proxy Caddy does not trust. Default: auto.
	SecureCookies string `json:"secure_cookies,omitempty"`

	// IdleTimeout ends a session that has not been used for this long; each
	// use pushes it back. Remembered sessions have none. Default: 2h.
	IdleTimeout caddy.Duration `json:"idle_timeout,omitempty"`

	// Lifetime ends a session this long after login, however active it is.
	// Its cookie ends with the browser. Default: 24h.
	Lifetime caddy.Duration `json:"lifetime,omitempty"`

	// RememberMe is the lifetime of a session whose user ticked "remember
	// me", whose cookie then outlives the browser; 0 hides the checkbox and
	// remembers nobody. Default: 30d.
	RememberMe *caddy.Duration `json:"remember_me,omitempty"`

	// BcryptCost is the work factor of password hashes, at least 10. An
	// account hashed at another cost is hashed again at this one when its
	// user next logs in. Default: 12 (about 0.23 s per check on one core).
	BcryptCost int `json:"bcrypt_cost,omitempty"`

	// MinPasswordLength is the fewest characters a new password may have, at
	// least 8. Default: 8.
	MinPasswordLength int `json:"min_password_length,omitempty"`

	// MaxSessions caps the live sessions of one account: a login that
	// would pass it ends that account's oldest sessions first, so no
	// client can fill the backend with one account's sessions by logging
	// in over and over. At least 1. Default: 100.
	MaxSessions int `json:"max_sessions,omitempty"`

	// AccountLimit locks an account after this many failed logins within the
	// window, for browsers that have not logged in as its user before; a
	// browser that has (it holds a device cookie) has a budget of its own,
	// so a stranger's guesses cannot lock the owner out. A locked account
	// answers every login, even with the right password, with the same
	// failure as a wrong password. Default: 5 per 15m.
	AccountLimit *RateLimit `json:"account_limit,omitempty"`

	// AccountLockout is how long the first lock of an account lasts; each
	// further lock doubles it, up to AccountMaxLockout. Default: 15m.
	AccountLockout caddy.Duration `json:"account_lockout,omitempty"`

	// AccountMaxLockout caps the doubling lock. Default: 24h.
	AccountMaxLockout caddy.Duration `json:"account_max_lockout,omitempty"`

	// IPLimit is how many failed logins, registrations and logouts of dead
	// sessions one client IP (Caddy's client_ip, which honours
	// trusted_proxies; IPv6 by /64) may cause per window; then its login,
	// registration and logout posts get 429 with Retry-After. Successful
	// logins never count, so an office or a mobile network behind one
	// address is not shut out by its own users. Default: 100 per 15m.
	IPLimit *RateLimit `json:"ip_limit,omitempty"`

	// TemplateDir names a folder whose files replace the embedded pages and
	// assets of the same name (layout.html, login.html, register.html,
	// logout.html, message.html, forbidden.html, account.html, reset.html,
	// admin.html, second-factor.html, enrol.html, recovery.html, style.css,
	// show-password.js, passkey.js, copy.js). Default: none.
	TemplateDir string `json:"template_dir,omitempty"`

	// Title is the site's name, shown on every page and in each page's
	// title ("Log in · Title"). Default: none, so pages show only their
	// own heading.
	Title string `json:"title,omitempty"`

	// UserHeader names a request header set to the logged-in username for
	// the handlers after this one (an app behind reverse_proxy). Whatever a
	// client sends in it is removed from every request this handler sees,
	// logged in or not, protected or not, so the app can trust it.
	// Default: none.
	UserHeader string `json:"user_header,omitempty"`

	// RolesHeader names a request header set to the logged-in user's
	// roles, sorted and joined with commas ("editors,staff"; empty for an
	// account without roles), for the handlers after this one. Like
	// UserHeader, whatever a client sends in it is removed from every
	// request this handler sees. Default: none.
	RolesHeader string `json:"roles_header,omitempty"`

	// SecondFactor is which logins ask for a second factor (a code from an
	// authenticator app, a passkey, or a recovery code) after the
	// password: "off"
	// asks none, and hides the setup from the account page; "optional"
	// asks every account that has set one up on its account page;
	// "required" asks every account, or only the holders of
	// SecondFactorRoles, and sends those who have none to set one up right
	// after their password, before they reach anything else. A session
	// whose login did not use a second factor that is now required (a
	// role granted since) counts as none. Default: optional.
	SecondFactor string `json:"second_factor,omitempty"`

	// SecondFactorRoles, with SecondFactor "required", limits the
	// requirement to the holders of these roles (such as admin). Default:
	// none, so everyone.
	SecondFactorRoles []string `json:"second_factor_roles,omitempty"`

	// PasskeyRPID is the WebAuthn relying party ID that passkeys are made
	// for: the site's domain, or a parent domain of it to share passkeys
	// with sibling sites. A passkey works only where its RP ID matches.
	// Default: the host the browser asked for.
	PasskeyRPID string `json:"passkey_rp_id,omitempty"`

	// PasskeyOrigins are the origins (scheme://host[:port]) whose pages
	// may use passkeys. Default: the origin the browser asked for.
	PasskeyOrigins []string `json:"passkey_origins,omitempty"`

	protect      caddyhttp.MatcherSets
	prefixHead   string    // PathPrefix's first segment, with its slash
	userHeader   string    // UserHeader in canonical form, for direct map access
	rolesHeader  string    // RolesHeader in canonical form
	defaultRoles []string  // DefaultRoles, normalised
	factorRoles  []string  // SecondFactorRoles, normalised
	handles      *sync.Map // passkey user handle → username, found by passwordless logins
	pages        *templates.Pages
	keys         *session.Keyring
	sessions     *session.Manager
	users        users.Store
	throttle     throttle.Store
	tokens       onetime.Store // invite and reset links
	scope        string        // keeps this realm's counters apart in a shared memory store
	policy       users.Policy
	crossOrig    *http.CrossOriginProtection
	keyed        *lazyKeyed // form tokens and device cookies, once the keys can be had
	release      []func()   // what Provision acquired, for Cleanup
	logger       *zap.Logger
	audit        *zap.Logger // the audit log (audit.go), under a name of its own to route with Caddy's log
	gateCount    gateCounters
}

// RateLimit is a number of events per window of time.
type RateLimit struct {
	// Limit is how many events one window allows.
	Limit int `json:"limit,omitempty"`
	// Window is how long a count runs before it starts again.
	Window caddy.Duration `json:"window,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (SessionAuth) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.session_auth",
		New: func() caddy.Module { return new(SessionAuth) },
	}
}

// Defaults, as the JSON field docs state them.
const (
	defaultPathPrefix  = "/auth"
	defaultCookieName  = "caddy_session"
	defaultIdleTimeout = 2 * time.Hour
	defaultLifetime    = 24 * time.Hour
	defaultRememberMe  = 30 * 24 * time.Hour
	defaultAdminRole   = "admin"
	defaultMaxSessions = 100

	defaultAccountFailures   = 5
	defaultAccountWindow     = 15 * time.Minute
	defaultAccountLockout    = 15 * time.Minute
	defaultAccountMaxLockout = 24 * time.Hour
	defaultIPFailures        = 100
	defaultIPWindow          = 15 * time.Minute
)

// Provision fills in defaults, loads matchers and pages, and connects the
// backend. It never waits for Redis: Caddy must start while Redis is down.
func (sa *SessionAuth) Provision(ctx caddy.Context) error {
	sa.logger = ctx.Logger()
	sa.audit = sa.logger.Named(auditName)
	sa.applyDefaults()
	// The realm names folders and Redis keys, and Caddy provisions before
	// it validates: a bad one must not reach the disk.
	if err := checkRealm(sa.Realm); err != nil {
		return err
	}
	sa.prefixHead, _, _ = strings.Cut(strings.TrimPrefix(sa.PathPrefix, "/"), "/")
	sa.prefixHead = "/" + sa.prefixHead
	sa.userHeader = http.CanonicalHeaderKey(sa.UserHeader)
	sa.rolesHeader = http.CanonicalHeaderKey(sa.RolesHeader)
	sa.provisionSecondFactor()
	if err := sa.provisionRules(ctx); err != nil {
		return err
	}
	if sa.Protect != nil {
		mods, err := ctx.LoadModule(sa, "Protect")
		if err != nil {
			return fmt.Errorf("loading protect matchers: %v", err)
		}
		if err := sa.protect.FromInterface(mods); err != nil {
			return fmt.Errorf("loading protect matchers: %v", err)
		}
	}
	var err error
	if sa.pages, err = templates.Load(sa.TemplateDir); err != nil {
		return err
	}
	secrets, err := resolveSecrets(sa.Secrets)
	if err != nil {
		return err
	}
	sa.policy = users.Policy{MinLength: sa.MinPasswordLength}
	// Make the dummy hash now, off the request path: the first login of an
	// unknown user must not pay for it and so stand out by its time.
	go users.DummyHash(sa.BcryptCost)
	sa.crossOrig = http.NewCrossOriginProtection()
	if err := registerMetrics(ctx.GetMetricsRegistry()); err != nil {
		return fmt.Errorf("metrics: %v", err)
	}
	sa.gateCount = newGateCounters(sa.Realm)

	var store session.Store
	if sa.Redis != "" {
		store, err = sa.provisionRedis(secrets)
	} else {
		store, err = sa.provisionFiles(secrets)
	}
	if err != nil {
		return err
	}
	sa.sessions = session.NewManager(session.Config{
		CookieName: sa.CookieName,
		Secure:     sa.secure,
		Idle:       time.Duration(sa.IdleTimeout),
		Lifetime:   time.Duration(sa.Lifetime),
		RememberMe: time.Duration(*sa.RememberMe),
		MaxPerUser: sa.MaxSessions,
		Logger:     sa.logger,
		Now:        now,
		ClientIP:   clientIP,
		Hits:       metrics.cache.WithLabelValues(sa.Realm, "hit"),
		Misses:     metrics.cache.WithLabelValues(sa.Realm, "miss"),
	}, store, sa.users, sa.keys)
	sa.release = append(sa.release, sa.sessions.Close)
	sa.keyed = &lazyKeyed{keys: sa.keys}
	go sa.describeRealm()
	return nil
}

func (sa *SessionAuth) applyDefaults() {
	if sa.PathPrefix == "" {
		sa.PathPrefix = defaultPathPrefix
	}
	if sa.CookieName == "" {
		sa.CookieName = defaultCookieName
	}
	if sa.SecureCookies == "" {
		sa.SecureCookies = "auto"
	}
	if sa.IdleTimeout == 0 {
		sa.IdleTimeout = caddy.Duration(defaultIdleTimeout)
	}
	if sa.Lifetime == 0 {
		sa.Lifetime = caddy.Duration(defaultLifetime)
	}
	if sa.RememberMe == nil {
		d := caddy.Duration(defaultRememberMe)
		sa.RememberMe = &d
	}
	if sa.BcryptCost == 0 {
		sa.BcryptCost = users.DefaultBcryptCost
	}
	if sa.MinPasswordLength == 0 {
		sa.MinPasswordLength = users.DefaultMinPasswordLength
	}
	if sa.MaxSessions == 0 {
		sa.MaxSessions = defaultMaxSessions
	}
	if sa.Registration == "" {
		sa.Registration = "closed"
	}
	if sa.AdminRole == "" {
		sa.AdminRole = defaultAdminRole
	}
	if sa.AccountLimit == nil {
		sa.AccountLimit = &RateLimit{defaultAccountFailures, caddy.Duration(defaultAccountWindow)}
	}
	if sa.AccountLockout == 0 {
		sa.AccountLockout = caddy.Duration(defaultAccountLockout)
	}
	if sa.AccountMaxLockout == 0 {
		sa.AccountMaxLockout = caddy.Duration(defaultAccountMaxLockout)
	}
	if sa.IPLimit == nil {
		sa.IPLimit = &RateLimit{defaultIPFailures, caddy.Duration(defaultIPWindow)}
	}
}

// validRealm is what a realm may be called: it names folders and Redis keys.
var validRealm = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)

// checkRealm refuses a realm that could not name a folder or a key prefix.
func checkRealm(realm string) error {
	if realm == "" {
		return errors.New("realm is required: name the accounts this handler uses (the Caddyfile derives one from the site's addresses)")
	}
	if !validRealm.MatchString(realm) {
		return fmt.Errorf("realm %q must be 1 to 64 characters of a-z 0-9 . _ -, starting with a letter or digit", realm)
	}
	if reservedRealm(realm) {
		return fmt.Errorf("realm %q is reserved: the layout from before realms keeps its own data under that name; choose another name", realm)
	}
	return nil
}

// reservedRealm tells whether realm is a name that the layout before
// realms used for its own data, which the start-up check reads as such
// (see otherRealms): a realm of that name would be taken for old data,
// and its keys would mix with the old ones.
func reservedRealm(realm string) bool {
	switch realm {
	case "user", "session", "sessions", "cookie_key", "throttle", "users.json":
		return true
	}
	return false
}

// registrationOpen tells whether anyone may register, at once or pending
// approval.
func (sa *SessionAuth) registrationOpen() bool {
	return sa.Registration == "open" || sa.Registration == "approval"
}

// registrationOffered tells whether registration answers at all: open to
// anyone, or to holders of an invitation.
func (sa *SessionAuth) registrationOffered() bool {
	return sa.registrationOpen() || sa.Registration == "invite"
}

// Validate checks the configuration without touching the backend.
func (sa *SessionAuth) Validate() error {
	adminRole := cmp.Or(sa.AdminRole, defaultAdminRole)
	if role, err := users.NormalizeRole(adminRole); err != nil || role != adminRole {
		return fmt.Errorf("admin_role %q: give a role name in lower case (letters, digits, _ and -)", adminRole)
	}
	if defaults, _ := users.NormalizeRoles(sa.DefaultRoles); slices.Contains(defaults, adminRole) {
		return fmt.Errorf("default_roles may not hold the admin role %q: every new account would run the site", adminRole)
	}
	if err := checkRealm(sa.Realm); err != nil {
		return err
	}
	if sa.Registration != "open" && sa.Registration != "closed" && sa.Registration != "approval" && sa.Registration != "invite" {
		return fmt.Errorf(`registration must be "open", "approval", "invite" or "closed", not %q`, sa.Registration)
	}
	if sa.SecureCookies != "auto" && sa.SecureCookies != "always" {
		return fmt.Errorf(`secure_cookies must be "auto" or "always", not %q`, sa.SecureCookies)
	}
	if !strings.HasPrefix(sa.PathPrefix, "/") || strings.HasSuffix(sa.PathPrefix, "/") || strings.ContainsAny(sa.PathPrefix, "?#%\\ ") {
		return fmt.Errorf("path_prefix must start with / and not end with one: %q", sa.PathPrefix)
	}
	if sa.UserHeader != "" && !isToken(sa.UserHeader) {
		return fmt.Errorf("user_header %q is not a valid header name", sa.UserHeader)
	}
	if err := sa.validateRules(); err != nil {
		return err
	}
	if err := sa.validateSecondFactor(); err != nil {
		return err
	}
	if err := sa.validatePasskeys(); err != nil {
		return err
	}
	if !isToken(sa.CookieName) {
		return fmt.Errorf("cookie_name %q is not a valid cookie name", sa.CookieName)
	}
	if strings.HasPrefix(sa.CookieName, "__") {
		return fmt.Errorf("cookie_name %q: leave out the __ prefix; the cookie is called __Host-%s over HTTPS by itself", sa.CookieName, strings.TrimLeft(sa.CookieName, "_"))
	}
	if sa.IdleTimeout < 0 || sa.Lifetime < 0 || *sa.RememberMe < 0 {
		return errors.New("idle_timeout, lifetime and remember_me cannot be negative")
	}
	if sa.BcryptCost < bcryptfloor.Cost || sa.BcryptCost > 31 {
		return fmt.Errorf("bcrypt_cost must be from %d to 31, not %d", bcryptfloor.Cost, sa.BcryptCost)
	}
	if sa.MinPasswordLength < users.DefaultMinPasswordLength || sa.MinPasswordLength > users.MaxPasswordBytes {
		return fmt.Errorf("min_password_length must be from %d to %d, not %d", users.DefaultMinPasswordLength, users.MaxPasswordBytes, sa.MinPasswordLength)
	}
	if sa.MaxSessions < 1 {
		return fmt.Errorf("max_sessions must be at least 1, not %d", sa.MaxSessions)
	}
	for _, rl := range []struct {
		name string
		*RateLimit
	}{{"account_limit", sa.AccountLimit}, {"ip_limit", sa.IPLimit}} {
		if rl.Limit < 1 || rl.Window < caddy.Duration(time.Second) {
			return fmt.Errorf("%s needs at least 1 event and a window of at least 1s", rl.name)
		}
	}
	if sa.AccountLockout < caddy.Duration(time.Second) || sa.AccountMaxLockout < sa.AccountLockout {
		return errors.New("account_lockout must be at least 1s, and its maximum no shorter")
	}
	if sa.Redis != "" {
		if sa.UsersFile != "" || sa.SessionsDir != "" {
			return errors.New("users_file and sessions_dir belong to the file backend; with redis, accounts and sessions live in Redis")
		}
		if _, err := sa.redisTarget(); err != nil {
			return err
		}
	} else if sa.RedisTLS != nil || sa.RedisSentinelUsername != "" || sa.RedisSentinelPassword != "" {
		return errors.New("redis_tls and the sentinel credentials need a redis URL")
	}
	return nil
}

// Cleanup releases what Provision acquired; safe even when Provision
// stopped half-way.
func (sa *SessionAuth) Cleanup() error {
	for i := len(sa.release) - 1; i >= 0; i-- {
		sa.release[i]()
	}
	sa.release = nil
	return nil
}

// isToken accepts an HTTP token (RFC 9110), the form of a header field's
// name and of a cookie's.
func isToken(name string) bool {
	for _, c := range name {
		if c <= ' ' || c >= 0x7f || strings.ContainsRune("()<>@,;:\\\"/[]?={}", c) {
			return false
		}
	}
	return name != ""
}

// Interface guards
var (
	_ caddy.Provisioner           = (*SessionAuth)(nil)
	_ caddy.Validator             = (*SessionAuth)(nil)
	_ caddy.CleanerUpper          = (*SessionAuth)(nil)
	_ caddyhttp.MiddlewareHandler = (*SessionAuth)(nil)
)
