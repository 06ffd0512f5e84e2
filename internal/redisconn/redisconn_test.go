package redisconn

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

const aclPassword = "s3cret-acl-pw-Zq9"

func dial(t *testing.T, target Target) (redis.Conn, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return target.Dial(ctx)
}

// TestTLSWithClientCertificatesAndACLUsers: a rediss:// target with the
// right CA, client certificate and ACL password connects; the wrong CA,
// no client certificate or the wrong password each fail with an error
// that says which, and no error holds a password.
func TestTLSWithClientCertificatesAndACLUsers(t *testing.T) {
	files, err := testredis.NewTLSFiles(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	srv, err := testredis.StartTLS(files, "--user", "default", "off", "--user", "sessions", "on", ">"+aclPassword, "~*", "&*", "+@all")
	if err != nil {
		t.Fatalf("these tests need a real redis-server with TLS: %v", err)
	}
	defer srv.Close()
	good := TLS{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey}
	for _, tc := range []struct {
		name     string
		url      string
		tls      TLS
		want     string // "" = connects
		password string // must not appear in the error
	}{
		{"right CA, client certificate and password", "rediss://sessions:" + aclPassword + "@" + srv.Addr + "/2", good, "", aclPassword},
		{"server name given", "rediss://sessions:" + aclPassword + "@" + srv.Addr + "/0", TLS{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey, ServerName: "localhost"}, "", aclPassword},
		{"wrong CA", "rediss://sessions:" + aclPassword + "@" + srv.Addr, TLS{CAFile: files.OtherCA, CertFile: files.ClientCert, KeyFile: files.ClientKey}, "TLS: the server's certificate does not verify", aclPassword},
		{"system roots only", "rediss://sessions:" + aclPassword + "@" + srv.Addr, TLS{CertFile: files.ClientCert, KeyFile: files.ClientKey}, "TLS: the server's certificate does not verify", aclPassword},
		{"server name the certificate lacks", "rediss://sessions:" + aclPassword + "@" + srv.Addr, TLS{CAFile: files.CA, CertFile: files.ClientCert, KeyFile: files.ClientKey, ServerName: "redis.example"}, "TLS: the server's certificate does not verify", aclPassword},
		{"no client certificate", "rediss://sessions:" + aclPassword + "@" + srv.Addr, TLS{CAFile: files.CA}, "refused the client certificate (check cert_file and key_file)", aclPassword},
		{"client certificate of a CA the server does not trust", "rediss://sessions:" + aclPassword + "@" + srv.Addr, TLS{CAFile: files.CA, CertFile: files.OtherClientCert, KeyFile: files.OtherClientKey}, "refused the client certificate (check cert_file and key_file)", aclPassword},
		{"wrong ACL password", "rediss://sessions:wrong-pw-Kx7@" + srv.Addr, good, "WRONGPASS", "wrong-pw-Kx7"},
		{"unknown ACL user", "rediss://mallory:" + aclPassword + "@" + srv.Addr, good, "WRONGPASS", aclPassword},
		{"no credentials, default user off", "rediss://" + srv.Addr, good, "NOAUTH", aclPassword},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target, err := Parse(tc.url, Options{TLS: tc.tls})
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			conn, err := dial(t, target)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Dial: %v", err)
				}
				defer conn.Close()
				if _, err := conn.Do("SET", "k", "v"); err != nil {
					t.Fatalf("SET over TLS as the ACL user: %v", err)
				}
				if who, err := redis.String(conn.Do("ACL", "WHOAMI")); err != nil || who != "sessions" {
					t.Fatalf("ACL WHOAMI = %q, %v; want sessions", who, err)
				}
				return
			}
			if err == nil {
				conn.Close()
				t.Fatalf("Dial succeeded; want an error saying %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Dial error %q; want it to say %q", err, tc.want)
			}
			if strings.Contains(err.Error(), tc.password) {
				t.Fatalf("Dial error holds the password: %q", err)
			}
			if !strings.Contains(err.Error(), srv.Addr) {
				t.Fatalf("Dial error %q does not say which server", err)
			}
		})
	}
}

// TestParseRefusesMalformedSettings: everything a dial would refuse or
// misread is an error at config load, with a message that says how to
// write it and never echoes a password.
func TestParseRefusesMalformedSettings(t *testing.T) {
	dir := t.TempDir()
	files, err := testredis.NewTLSFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		url  string
		opts Options
		want string
	}{
		{"sentinel URL without a master name", "redis+sentinel://u:hunter2@127.0.0.1:26379", Options{}, "needs the master's name"},
		{"sentinel URL with only a slash", "redis+sentinel://127.0.0.1:26379/", Options{}, "needs the master's name"},
		{"sentinel without a port", "redis+sentinel://u:hunter2@127.0.0.1:26379,10.0.0.2/main", Options{}, "each sentinel needs a host and a port"},
		{"sentinel with an empty entry", "redis+sentinel://127.0.0.1:26379,/main", Options{}, "each sentinel needs a host and a port"},
		{"sentinel with a port out of range", "redis+sentinel://127.0.0.1:0/main", Options{}, "port must be a number from 1 to 65535"},
		{"sentinel URL with a database that is no number", "redis+sentinel://127.0.0.1:26379/main/x", Options{}, "must be a database number"},
		{"sentinel URL with a query", "redis+sentinel://127.0.0.1:26379/main?x=1", Options{}, "no query"},
		{"TLS files on a plain URL", "redis://u:hunter2@localhost:6379", Options{TLS: TLS{CAFile: files.CA}}, "are for rediss://"},
		{"server name on a plain sentinel URL", "redis+sentinel://127.0.0.1:26379/main", Options{TLS: TLS{ServerName: "x"}}, "are for rediss://"},
		{"sentinel password on a direct URL", "redis://localhost:6379", Options{SentinelPassword: "hunter2"}, "are for redis+sentinel://"},
		{"a key without a certificate", "rediss://localhost:6379", Options{TLS: TLS{KeyFile: files.ClientKey}}, "cert_file and key_file go together"},
		{"a certificate without a key", "rediss://localhost:6379", Options{TLS: TLS{CertFile: files.ClientCert}}, "cert_file and key_file go together"},
		{"unreadable CA file", "rediss://localhost:6379", Options{TLS: TLS{CAFile: filepath.Join(dir, "missing.pem")}}, "ca_file: open"},
		{"CA file that is no PEM", "rediss://localhost:6379", Options{TLS: TLS{CAFile: notPEM}}, "holds no PEM certificate"},
		{"unreadable certificate", "rediss://localhost:6379", Options{TLS: TLS{CertFile: filepath.Join(dir, "missing.pem"), KeyFile: files.ClientKey}}, "cert_file and key_file: open"},
		{"key of another certificate", "rediss+sentinel://127.0.0.1:26379/main", Options{TLS: TLS{CertFile: files.ClientCert, KeyFile: files.ServerKey}}, "private key does not match"},
		{"another scheme", "tcp://u:hunter2@localhost:6379", Options{}, `not "tcp://"`},
		{"no scheme", "u:hunter2@localhost:6379", Options{}, "needs a scheme: redis://localhost:6379"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.url, tc.opts)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Parse(%q) = %v; want an error saying %q", tc.url, err, tc.want)
			}
			if strings.Contains(err.Error(), "hunter2") {
				t.Fatalf("the error echoes the password: %q", err)
			}
		})
	}
	for _, ok := range []string{
		"redis://localhost", "rediss://u:p@localhost:6380/3", "redis+sentinel://a:26379,b:26379,[::1]:26379/main/2",
		"rediss+sentinel://u:p@a:26379/main",
	} {
		if _, err := Parse(ok, Options{}); err != nil {
			t.Errorf("Parse(%q): %v", ok, err)
		}
	}
}

// TestTargetsDescribeThemselvesWithoutPasswords: the description for logs
// hides the password; the pool key tells apart targets that differ in
// anything, the sentinels' password included.
func TestTargetsDescribeThemselvesWithoutPasswords(t *testing.T) {
	a, err := Parse("redis+sentinel://u:hunter2@127.0.0.1:26379/main/3", Options{SentinelPassword: "s1"})
	if err != nil {
		t.Fatal(err)
	}
	if s := a.String(); s != "redis+sentinel://u:xxxxx@127.0.0.1:26379/main/3" {
		t.Fatalf("String() = %q", s)
	}
	for raw, want := range map[string]string{
		"rediss://:p%40ss@h:1/2":         "rediss://:xxxxx@h:1/2",
		"redis://u:p@ss@h":               "redis://u:xxxxx@h",
		"redis://h:6379/0":               "redis://h:6379/0",
		"redis+sentinel://a:1,b:2/m":     "redis+sentinel://a:1,b:2/m",
		"user:hunter2@localhost:6379/0":  "(a Redis URL without a scheme)",
		"redis://only-user@h:6379":       "redis://only-user@h:6379",
		"rediss+sentinel://u:pw@a:1,b:2": "rediss+sentinel://u:xxxxx@a:1,b:2",
	} {
		if got := Redact(raw); got != want {
			t.Errorf("Redact(%q) = %q; want %q", raw, got, want)
		}
	}
	if a.DB() != 3 || !a.Sentinel() {
		t.Fatalf("DB() = %d, Sentinel() = %v", a.DB(), a.Sentinel())
	}
	b, _ := Parse("redis+sentinel://u:hunter2@127.0.0.1:26379/main/3", Options{SentinelPassword: "s2"})
	if a.Key() == b.Key() {
		t.Fatal("two targets with different sentinel passwords share a pool key")
	}
}

// TestSentinelDialFollowsTheFailover: Dial reaches the master the
// sentinels name; after the master dies and a replica is promoted, it
// reaches the new one without anything being reconfigured.
func TestSentinelDialFollowsTheFailover(t *testing.T) {
	set, err := testredis.StartSentinels("main", 1, 3, time.Second)
	if err != nil {
		t.Fatalf("these tests need real redis-server and redis-server --sentinel: %v", err)
	}
	defer set.Close()
	target, err := Parse(set.URL(1), Options{})
	if err != nil {
		t.Fatal(err)
	}
	conn, err := dial(t, target)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	if _, err := conn.Do("SET", "before", "1"); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	old := set.Master.Addr
	// The write must reach the replica before its master dies.
	waitFor(t, 10*time.Second, func() bool {
		c, err := set.Replicas[0].Dial(1)
		if err != nil {
			return false
		}
		defer c.Close()
		n, _ := redis.Int(c.Do("EXISTS", "before"))
		return n == 1
	})
	set.Master.Stop()
	if _, err := dial(t, target); err == nil || !strings.Contains(err.Error(), "main") {
		t.Fatalf("Dial while the master is dead and not yet replaced = %v; want an error naming the master", err)
	}
	newAddr, err := set.WaitForNewMaster(old, 60*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if newAddr != set.Replicas[0].Addr {
		t.Fatalf("new master %s is not the replica %s", newAddr, set.Replicas[0].Addr)
	}
	conn, err = dial(t, target)
	if err != nil {
		t.Fatalf("Dial after the failover: %v", err)
	}
	defer conn.Close()
	if v, err := redis.String(conn.Do("GET", "before")); err != nil || v != "1" {
		t.Fatalf("GET before on the new master, database 1 = %q, %v", v, err)
	}
	if _, err := conn.Do("SET", "after", "1"); err != nil {
		t.Fatalf("SET on the new master: %v", err)
	}
}

// TestSentinelDialAndPoolRefuseAReplica: when the server the sentinels
// name answers ROLE as a replica (demoted, the sentinels not caught up
// yet), Dial refuses it; a pooled connection that a write finds read-only
// is dropped rather than handed out again; and a sentinel that knows no
// such master says so.
func TestSentinelDialAndPoolRefuseAReplica(t *testing.T) {
	set, err := testredis.StartSentinels("solo", 1, 1, 10*time.Second)
	if err != nil {
		t.Fatalf("these tests need real redis-server and redis-server --sentinel: %v", err)
	}
	defer set.Close()
	target, err := Parse(set.URL(0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(target)
	defer pool.Close()
	c := pool.Get()
	if _, err := c.Do("SET", "k", "v"); err != nil {
		t.Fatalf("SET through the pool: %v", err)
	}
	c.Close()

	// Demote the master behind the sentinel's back.
	admin, err := set.Master.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(set.Replicas[0].Addr, ":")
	if _, err := admin.Do("REPLICAOF", host, port); err != nil {
		t.Fatal(err)
	}
	admin.Close()

	c = pool.Get()
	_, err = c.Do("SET", "k", "w")
	c.Close()
	if err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
		t.Fatalf("SET on the demoted master through a pooled connection = %v; want READONLY", err)
	}
	if n := pool.IdleCount(); n != 0 {
		t.Fatalf("the pool kept %d connection(s) to a read-only server", n)
	}
	if addr, _ := set.MasterAddr(); addr != set.Master.Addr {
		t.Fatalf("the sentinel already names %s; this test needs it to still name the demoted %s", addr, set.Master.Addr)
	}
	_, err = dial(t, target)
	if err == nil || !strings.Contains(err.Error(), "not the master") {
		t.Fatalf("Dial with the sentinel naming a replica = %v; want a refusal saying it is not the master", err)
	}
	c = pool.Get()
	_, err = c.Do("GET", "k")
	c.Close()
	if err == nil || !strings.Contains(err.Error(), "not the master") {
		t.Fatalf("a pooled connection with the sentinel naming a replica = %v; want a refusal", err)
	}

	unknown, _ := Parse("redis+sentinel://"+set.Addrs()+"/nosuch", Options{})
	if _, err := dial(t, unknown); err == nil || !strings.Contains(err.Error(), `does not know a master named "nosuch"`) {
		t.Fatalf("Dial of an unknown master name = %v", err)
	}
	dead, _ := Parse("redis+sentinel://127.0.0.1:1,127.0.0.1:2/solo", Options{})
	if _, err := dial(t, dead); err == nil || !strings.Contains(err.Error(), "no sentinel named a master") || !strings.Contains(err.Error(), "127.0.0.1:2") {
		t.Fatalf("Dial with no sentinel up = %v", err)
	}
}

// TestSentinelPoolRechecksAnIdleConnectionForTheMasterRole: a pooled
// connection that sat idle past the check interval is asked ROLE before
// it is handed out again; one to a server that became a replica
// meanwhile is dropped, never used, even for a read that a replica
// would answer (with data that may be stale, or another master's).
func TestSentinelPoolRechecksAnIdleConnectionForTheMasterRole(t *testing.T) {
	set, err := testredis.StartSentinels("idle", 1, 1, 10*time.Second)
	if err != nil {
		t.Fatalf("these tests need real redis-server and redis-server --sentinel: %v", err)
	}
	defer set.Close()
	target, err := Parse(set.URL(0), Options{})
	if err != nil {
		t.Fatal(err)
	}
	pool := NewPool(target)
	defer pool.Close()
	c := pool.Get()
	if _, err := c.Do("SET", "k", "v"); err != nil {
		t.Fatalf("SET through the pool: %v", err)
	}
	c.Close()
	if n := pool.IdleCount(); n != 1 {
		t.Fatalf("the pool holds %d idle connections; want the one just used", n)
	}

	// Demote the master behind the sentinel's back, and let the pooled
	// connection sit idle past the interval: the clock moves, nobody waits.
	admin, err := set.Master.Dial(0)
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := strings.Cut(set.Replicas[0].Addr, ":")
	if _, err := admin.Do("REPLICAOF", host, port); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	now = func() time.Time { return time.Now().Add(2 * time.Second) }
	defer func() { now = time.Now }()

	c = pool.Get()
	v, err := redis.String(c.Do("GET", "k"))
	c.Close()
	if err == nil || !strings.Contains(err.Error(), "not the master") {
		t.Fatalf("a read through a connection idle past the check, to a demoted master = %q, %v; want a refusal saying it is not the master", v, err)
	}
	if n := pool.IdleCount(); n != 0 {
		t.Fatalf("the pool kept %d connection(s) to a replica", n)
	}
}

func waitFor(t *testing.T, within time.Duration, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("not within %v", within)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
