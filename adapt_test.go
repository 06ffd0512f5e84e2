package sessionauth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig"
	"github.com/caddyserver/caddy/v2/caddytest"
)

// TestCaddyfileAdaptsToGoldenJSON adapts each testdata/caddyfile_adapt/*.caddyfiletest
// (a Caddyfile, a line of dashes, then the JSON it must become, as in
// Caddy's own caddytest/integration/caddyfile_adapt) and compares the result.
func TestCaddyfileAdaptsToGoldenJSON(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "caddyfile_adapt", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no golden files in testdata/caddyfile_adapt")
	}
	for _, path := range files {
		name := filepath.Base(path)
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			caddyfile, expected, ok := strings.Cut(strings.ReplaceAll(string(data), "\r\n", "\n"), "----------")
			if !ok {
				t.Fatalf("%s has no ---------- line between the Caddyfile and the JSON", name)
			}
			caddyfile, expected = strings.TrimSpace(caddyfile)+"\n", strings.TrimSpace(expected)
			if !caddytest.CompareAdapt(t, name, caddyfile, "caddyfile", expected) {
				t.Errorf("%s does not adapt to its golden JSON (diff printed above)", name)
			}
		})
	}
}

// TestCaddyfileErrors feeds bad session_auth blocks through the Caddyfile
// adapter; each must fail with a message that names the problem.
func TestCaddyfileErrors(t *testing.T) {
	for _, tc := range []struct {
		name      string
		directive string // the session_auth line and its block
		want      string
	}{
		{"unknown subdirective", "session_auth {\n\t\tfrobnicate yes\n\t}", "unrecognized subdirective frobnicate"},
		{"option given twice", "session_auth {\n\t\tcookie_name a\n\t\tcookie_name b\n\t}", "cookie_name given more than once"},
		{"secret given twice", "session_auth {\n\t\tsecret a\n\t\tsecret b\n\t}", "secret given more than once"},
		{"missing argument", "session_auth {\n\t\tcookie_name\n\t}", "wrong argument count"},
		{"missing secret", "session_auth {\n\t\tsecret\n\t}", "wrong argument count"},
		{"extra argument", "session_auth {\n\t\tcookie_name a b\n\t}", "wrong argument count"},
		{"title in two words, unquoted", "session_auth {\n\t\ttitle Example Members\n\t}", "wrong argument count"},
		{"extra argument on a duration", "session_auth {\n\t\tlifetime 1h 2h\n\t}", "wrong argument count"},
		{"bad duration", "session_auth {\n\t\tidle_timeout soon\n\t}", `bad duration "soon"`},
		{"negative remember_me", "session_auth {\n\t\tremember_me -1h\n\t}", "remember_me cannot be negative"},
		{"idle_timeout 0", "session_auth {\n\t\tidle_timeout 0\n\t}", "idle_timeout must be longer than 0"},
		{"lifetime 0", "session_auth {\n\t\tlifetime 0s\n\t}", "lifetime must be longer than 0"},
		{"non-numeric bcrypt_cost", "session_auth {\n\t\tbcrypt_cost high\n\t}", `bad number "high"`},
		{"non-numeric min_password_length", "session_auth {\n\t\tmin_password_length 1e3\n\t}", `bad number "1e3"`},
		{"non-numeric max_sessions", "session_auth {\n\t\tmax_sessions many\n\t}", `bad number "many"`},
		{"max_sessions 0", "session_auth {\n\t\tmax_sessions 0\n\t}", "max_sessions must be at least 1, not 0"},
		{"max_sessions given twice", "session_auth {\n\t\tmax_sessions 5\n\t\tmax_sessions 6\n\t}", "max_sessions given more than once"},
		{"extra args on the directive line", "session_auth foo bar", "wrong argument count"},
		{"one stray arg on the directive line", "session_auth foo", "wrong argument count"},
		{"extra args after a matcher", "session_auth /members/* extra", "wrong argument count"},
		{"allow without anything", "session_auth {\n\t\tallow\n\t}", "allow needs a matcher first"},
		{"allow without a matcher", "session_auth {\n\t\tallow role staff\n\t}", "allow needs a matcher first"},
		{"allow with an undefined named matcher", "session_auth {\n\t\tallow @nobody role staff\n\t}", "unrecognized matcher name: @nobody"},
		{"allow without names", "session_auth {\n\t\tallow /admin/*\n\t}", "allow /admin/* names no one: add role <name>... or user <name>..."},
		{"allow role without names", "session_auth {\n\t\tallow /admin/* role\n\t}", "allow /admin/*: role needs at least one name"},
		{"allow user without names before role", "session_auth {\n\t\tallow /admin/* user role admin\n\t}", "allow /admin/*: user needs at least one name"},
		{"allow with an unknown word for role or user", "session_auth {\n\t\tallow /admin/* roles admin\n\t}", `allow /admin/*: want role or user before the names, not "roles"`},
		{"allow with a name but no kind", "session_auth {\n\t\tallow /admin/* alice\n\t}", `want role or user before the names, not "alice"`},
		{"allow with an invalid role name", "session_auth {\n\t\tallow /admin/* role staff ad.min\n\t}", `Role names are 1 to 64 characters: letters a-z, digits, _ and -, starting with a letter or digit. "ad.min" has a character outside that set.`},
		{"allow with a role that starts with a symbol", "session_auth {\n\t\tallow /admin/* role -admin\n\t}", `"-admin" starts with a symbol`},
		{"allow with an invalid username", "session_auth {\n\t\tallow /admin/* user al/ice\n\t}", `user "al/ice": Usernames are 1 to 64 characters`},
		{"default_roles without roles", "session_auth {\n\t\tdefault_roles\n\t}", "wrong argument count"},
		{"default_roles with an invalid role", "session_auth {\n\t\tdefault_roles member st@ff\n\t}", `default_roles: Role names are 1 to 64 characters`},
		{"default_roles given twice", "session_auth {\n\t\tdefault_roles a\n\t\tdefault_roles b\n\t}", "default_roles given more than once"},
		{"roles_header given twice", "session_auth {\n\t\troles_header A\n\t\troles_header B\n\t}", "roles_header given more than once"},
		{"roles_header without a name", "session_auth {\n\t\troles_header\n\t}", "wrong argument count"},
		{"redis block with an unknown subdirective", "session_auth {\n\t\tredis rediss://h:6380 {\n\t\t\tpassword x\n\t\t}\n\t}", "unrecognized subdirective password in the redis block"},
		{"redis block with a file given twice", "session_auth {\n\t\tredis rediss://h:6380 {\n\t\t\tca_file a\n\t\t\tca_file b\n\t\t}\n\t}", "redis ca_file given more than once"},
		{"redis block subdirective without a value", "session_auth {\n\t\tredis rediss://h:6380 {\n\t\t\tserver_name\n\t\t}\n\t}", "wrong argument count"},
		{"redis without a URL", "session_auth {\n\t\tredis\n\t}", "wrong argument count"},
		{"redis with two URLs", "session_auth {\n\t\tredis redis://a redis://b\n\t}", "wrong argument count"},
		{"second_factor without a policy", "session_auth {\n\t\tsecond_factor\n\t}", "wrong argument count"},
		{"second_factor with an invalid role", "session_auth {\n\t\tsecond_factor required op$\n\t}", `second_factor: Role names are 1 to 64 characters`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			caddyfile := "example.com {\n\t" + tc.directive + "\n}\n"
			_, _, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), nil)
			if err == nil {
				t.Fatalf("adapting\n%s\nsucceeded; want an error containing %q", caddyfile, tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("adapting\n%s\nerror = %q; want it to contain %q", caddyfile, err, tc.want)
			}
		})
	}
}

// TestValidateRejects checks the configuration rules Validate enforces,
// after the defaults are filled in, as Provision does.
func TestValidateRejects(t *testing.T) {
	realBcrypt(t)
	for _, tc := range []struct {
		name string
		sa   SessionAuth
		want string
	}{
		{"registration maybe", SessionAuth{Registration: "maybe"}, `registration must be "open", "approval", "invite" or "closed"`},
		{"registration Open (case matters)", SessionAuth{Registration: "Open"}, `registration must be "open", "approval", "invite" or "closed"`},
		{"path_prefix without a leading slash", SessionAuth{PathPrefix: "auth"}, "path_prefix"},
		{"path_prefix with a trailing slash", SessionAuth{PathPrefix: "/auth/"}, "path_prefix"},
		{"path_prefix of just a slash", SessionAuth{PathPrefix: "/"}, "path_prefix"},
		{"path_prefix with a query", SessionAuth{PathPrefix: "/auth?x"}, "path_prefix"},
		{"cookie_name with a space", SessionAuth{CookieName: "a b"}, "cookie_name"},
		{"cookie_name with a semicolon", SessionAuth{CookieName: "a;b"}, "cookie_name"},
		{"bcrypt_cost 9", SessionAuth{BcryptCost: 9}, "bcrypt_cost must be from 10 to 31"},
		{"bcrypt_cost 32", SessionAuth{BcryptCost: 32}, "bcrypt_cost must be from 10 to 31"},
		{"min_password_length 7", SessionAuth{MinPasswordLength: 7}, "min_password_length must be from 8 to 72"},
		{"min_password_length 73", SessionAuth{MinPasswordLength: 73}, "min_password_length must be from 8 to 72"},
		{"negative max_sessions", SessionAuth{MaxSessions: -1}, "max_sessions must be at least 1, not -1"},
		{"negative idle_timeout", SessionAuth{IdleTimeout: -1}, "cannot be negative"},
		{"redis with users_file", SessionAuth{Redis: "redis://localhost:6379", UsersFile: "/tmp/users.json"}, "users_file and sessions_dir belong to the file backend"},
		{"redis with sessions_dir", SessionAuth{Redis: "redis://localhost:6379", SessionsDir: "/tmp/s"}, "users_file and sessions_dir belong to the file backend"},
		{"redis URL with http scheme", SessionAuth{Redis: "http://x"}, "redis:// or rediss://"},
		{"redis URL without a host", SessionAuth{Redis: "redis://"}, "no host"},
		{"redis URL that does not parse", SessionAuth{Redis: "redis://user:hunter2@[bad"}, "does not parse"},
		{"redis URL with a database that is no number", SessionAuth{Redis: "redis://localhost:6391/abc"}, "must be a database number, such as /0"},
		{"redis URL without a scheme", SessionAuth{Redis: "localhost:6391"}, "needs a scheme: redis://localhost:6391"},
		{"redis URL without a scheme, with a password", SessionAuth{Redis: "user:pw@localhost:6391"}, "needs a scheme: redis://localhost:6391"},
		{"redis URL with a port out of range", SessionAuth{Redis: "redis://localhost:99999"}, "port must be a number from 1 to 65535"},
		{"redis URL with a query", SessionAuth{Redis: "redis://localhost:6379/0?db=1"}, "takes no query"},
		{"redis URL with a fragment", SessionAuth{Redis: "redis://localhost:6379/0#main"}, "takes no query or fragment"},
		{"redis URL with a negative database", SessionAuth{Redis: "redis://localhost:6379/-1"}, "must be a database number, such as /0"},
		{"redis URL with a path below the database", SessionAuth{Redis: "redis://localhost:6379/0/1"}, "must be a database number, such as /0"},
		{"redis URL with port 0", SessionAuth{Redis: "redis://localhost:0"}, "port must be a number from 1 to 65535"},
		{"redis URL with another scheme", SessionAuth{Redis: "tcp://localhost:6379"}, `redis:// or rediss://, not "tcp://"`},
		{"redis URL of a bare host", SessionAuth{Redis: "localhost"}, "redis:// or rediss://"},
		{"sentinel URL without a master name", SessionAuth{Redis: "redis+sentinel://u:hunter2@10.0.0.1:26379"}, "needs the master's name"},
		{"sentinel URL with a sentinel without a port", SessionAuth{Redis: "redis+sentinel://10.0.0.1:26379,10.0.0.2/main"}, "each sentinel needs a host and a port"},
		{"redis_tls on a plain URL", SessionAuth{Redis: "redis://localhost:6379", RedisTLS: &RedisTLS{ServerName: "x"}}, "are for rediss://"},
		{"redis_tls key without a cert", SessionAuth{Redis: "rediss://localhost:6379", RedisTLS: &RedisTLS{KeyFile: "/nonexistent/key.pem"}}, "cert_file and key_file go together"},
		{"redis_tls unreadable CA", SessionAuth{Redis: "rediss://localhost:6379", RedisTLS: &RedisTLS{CAFile: "/nonexistent/ca.pem"}}, "ca_file: open /nonexistent/ca.pem"},
		{"sentinel password on a direct URL", SessionAuth{Redis: "redis://localhost:6379", RedisSentinelPassword: "hunter2"}, "are for redis+sentinel://"},
		{"redis_tls without redis", SessionAuth{RedisTLS: &RedisTLS{CAFile: "/x"}}, "need a redis URL"},
		{"redis URL without a scheme, with an @ in the password", SessionAuth{Redis: "user:p@ss@localhost:6391"}, "needs a scheme: redis://localhost:6391"},
		{"redis URL without the slashes after the scheme", SessionAuth{Redis: "redis:pw@localhost:6391"}, "no host"},
		{"no realm", SessionAuth{Realm: "-"}, "realm"},
		{"realm with a slash", SessionAuth{Realm: "../x"}, "realm"},
		{"realm in capitals", SessionAuth{Realm: "Example"}, "realm"},
		{"realm too long", SessionAuth{Realm: strings.Repeat("a", 65)}, "realm"},
		{"secure_cookies sometimes", SessionAuth{SecureCookies: "sometimes"}, `secure_cookies must be "auto" or "always"`},
		{"cookie_name with a __Host- prefix", SessionAuth{CookieName: "__Host-x"}, "leave out the __ prefix"},
		{"allow rule that names no one", SessionAuth{Allow: []AccessRule{{Roles: []string{"staff"}}, {}}}, "allow rule 2 names no role and no user, so it would refuse everyone"},
		{"allow rule with an invalid role", SessionAuth{Allow: []AccessRule{{Roles: []string{"staff", "st,aff"}}}}, `allow rule 1: Role names are 1 to 64 characters`},
		{"allow rule with an empty role", SessionAuth{Allow: []AccessRule{{Roles: []string{""}}}}, "allow rule 1: Role names are 1 to 64 characters: letters a-z, digits, _ and -, starting with a letter or digit. This one is empty."},
		{"allow rule with an invalid user", SessionAuth{Allow: []AccessRule{{Users: []string{"bad name"}}}}, "allow rule 1: Usernames are 1 to 64 characters"},
		{"default_roles with an invalid role", SessionAuth{DefaultRoles: []string{"member", "-x"}}, `default_roles: Role names are 1 to 64 characters`},
		{"roles_header with a space", SessionAuth{RolesHeader: "X Roles"}, "roles_header"},
		{"roles_header the same as user_header", SessionAuth{UserHeader: "X-Remote-User", RolesHeader: "x-remote-user"}, "roles_header and user_header are both"},
		{"roles_header the same as user_header to CGI", SessionAuth{UserHeader: "X-Remote-User", RolesHeader: "X_Remote.user"}, "roles_header and user_header are both"},
		{"second_factor sometimes", SessionAuth{SecondFactor: "sometimes"}, `second_factor "sometimes": want off, optional or required`},
		{"second_factor Required (case matters)", SessionAuth{SecondFactor: "Required"}, `second_factor "Required": want off, optional or required`},
		{"second_factor optional with roles", SessionAuth{SecondFactor: "optional", SecondFactorRoles: []string{"ops"}}, "second_factor optional takes no roles"},
		{"second_factor off with roles", SessionAuth{SecondFactor: "off", SecondFactorRoles: []string{"ops"}}, "second_factor off takes no roles"},
		{"second_factor required with an invalid role", SessionAuth{SecondFactor: "required", SecondFactorRoles: []string{"op s"}}, "second_factor: Role names are 1 to 64 characters"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := tc.sa
			withRealm(&sa)
			sa.applyDefaults()
			err := sa.Validate()
			if err == nil {
				t.Fatalf("Validate() = nil; want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %q; want it to contain %q", err, tc.want)
			}
		})
	}
}

// TestValidateAcceptsDefaultsAndEdges guards the table above against
// rejecting everything: the defaults and the limits themselves are valid.
func TestValidateAcceptsDefaultsAndEdges(t *testing.T) {
	zero := new(caddy.Duration)
	for _, tc := range []struct {
		name string
		sa   SessionAuth
	}{
		{"defaults", SessionAuth{}},
		{"open registration", SessionAuth{Registration: "open"}},
		{"nested path_prefix", SessionAuth{PathPrefix: "/login-area/x"}},
		{"bcrypt_cost 10", SessionAuth{BcryptCost: 10}},
		{"bcrypt_cost 31", SessionAuth{BcryptCost: 31}},
		{"min_password_length 72", SessionAuth{MinPasswordLength: 72}},
		{"max_sessions 1", SessionAuth{MaxSessions: 1}},
		{"remember_me 0", SessionAuth{RememberMe: zero}},
		{"redis", SessionAuth{Redis: "redis://user:pw@localhost:6379/2"}},
		{"rediss", SessionAuth{Redis: "rediss://localhost:6380"}},
		{"redis without a port", SessionAuth{Redis: "redis://redis.internal"}},
		{"redis on an IPv6 address", SessionAuth{Redis: "redis://[::1]:6379/0"}},
		{"redis with a trailing slash and no database", SessionAuth{Redis: "redis://localhost:6379/"}},
		{"redis on port 65535", SessionAuth{Redis: "redis://localhost:65535/15"}},
		{"redis with only a password", SessionAuth{Redis: "redis://:pw@localhost:1"}},
		{"secure_cookies always", SessionAuth{SecureCookies: "always"}},
		{"realm of 64 characters", SessionAuth{Realm: strings.Repeat("a", 64)}},
		{"realm with dots, dashes and underscores", SessionAuth{Realm: "a.b-c_d"}},
		{"allow rules by role, by user, and both", SessionAuth{Allow: []AccessRule{{Roles: []string{"Staff"}}, {Users: []string{"Alice"}}, {Roles: []string{"a-b_c"}, Users: []string{"bob@example.com"}}}}},
		{"default_roles and both headers", SessionAuth{DefaultRoles: []string{"member"}, UserHeader: "X-User", RolesHeader: "X-Roles"}},
		{"second_factor off", SessionAuth{SecondFactor: "off"}},
		{"second_factor required", SessionAuth{SecondFactor: "required"}},
		{"second_factor required for two roles", SessionAuth{SecondFactor: "required", SecondFactorRoles: []string{"Admin", "ops"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sa := tc.sa
			withRealm(&sa)
			sa.applyDefaults()
			if err := sa.Validate(); err != nil {
				t.Fatalf("Validate() = %v; want nil", err)
			}
		})
	}
}

// TestValidateNeverEchoesRedisPassword: the Redis URL carries a password, and
// Validate's errors end up in Caddy's logs and on the operator's terminal.
func TestValidateNeverEchoesRedisPassword(t *testing.T) {
	for _, raw := range []string{
		"redis://user:hunter2@[bad",
		"redis://user:hunter2@host:6379/%zz",
		"http://user:hunter2@host:6379",
		"redis://user:hunter2@",
		"redis://:hunter2@/0",
		"redis:hunter2@host",
		"user:hunter2@localhost:6379",
		"user:hunter2@x@localhost:6379",
		"user:x@hunter2@localhost:6379",
		"redis://user:hunter2@host:0",
		"redis://user:hunter2@host:6379/0#x",
		"redis://user:hunter2@host:6379/-1",
	} {
		t.Run(raw, func(t *testing.T) {
			sa := SessionAuth{Realm: "test", Redis: raw}
			sa.applyDefaults()
			err := sa.Validate()
			if err == nil {
				t.Fatalf("Validate() accepted %q", raw)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("Validate() error echoes the password: %q", err)
			}
		})
	}
}

// withRealm gives a handler under test a realm unless the case is about
// realms ("-" stands for none).
func withRealm(sa *SessionAuth) {
	switch sa.Realm {
	case "":
		sa.Realm = "test"
	case "-":
		sa.Realm = ""
	}
}
