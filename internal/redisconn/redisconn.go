// Package redisconn turns the plugin's Redis settings into connections: a
// Target is parsed once from the config (a redis://, rediss://,
// redis+sentinel:// or rediss+sentinel:// URL plus TLS files and the
// sentinels' credentials), refuses at config load whatever a dial would
// refuse later, and dials the current master. Errors say what failed (TLS
// verification, WRONGPASS, no sentinel answered, an unknown master name)
// and never hold a password.
package redisconn

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Form is how a Redis URL is written, for error messages.
const Form = "redis://[user:password@]host[:port][/db], rediss://..., or redis+sentinel://[user:password@]host:port[,host:port...]/<master-name>[/db]"

// Timeouts of one dial: the data server's, and each sentinel's (several
// may be asked in turn before the data server is dialled).
const (
	dialTimeout     = 2 * time.Second
	sentinelTimeout = time.Second
)

// TLS names the files of a rediss connection; all optional. CAFile
// replaces the system roots; CertFile and KeyFile are the client
// certificate (both or neither); ServerName is the name the server's
// certificate must carry (default: the host dialled).
type TLS struct {
	CAFile     string
	CertFile   string
	KeyFile    string
	ServerName string
}

func (t TLS) empty() bool { return t == TLS{} }

// Options are the settings a URL cannot carry.
type Options struct {
	TLS TLS
	// The sentinels' own credentials (the URL's user and password are the
	// data server's).
	SentinelUsername string
	SentinelPassword string
}

// Target is where the realm's data lives: one server, or a master that
// sentinels name. The zero Target is not usable; make one with Parse.
type Target struct {
	raw      string
	tls      *tls.Config // nil without TLS
	sentinel bool
	addrs    []string // the server, or the sentinels
	master   string
	username string
	password string
	db       int
	opts     Options
}

// Parse checks a URL and its options and reads the TLS files, so that
// malformed settings fail at config load. Its errors never echo the URL,
// which may hold a password.
func Parse(raw string, opts Options) (Target, error) {
	t := Target{raw: raw, opts: opts}
	// A sentinel URL lists several hosts, which net/url refuses: parse it
	// with one stand-in host, and split the list apart.
	hosts, parsed := "", raw
	if scheme, rest, ok := strings.Cut(raw, "://"); ok && strings.HasSuffix(scheme, "+sentinel") {
		authority, path, _ := strings.Cut(rest, "/")
		if at := strings.LastIndex(authority, "@"); at >= 0 {
			hosts, authority = authority[at+1:], authority[:at+1]+"sentinels"
		} else {
			hosts, authority = authority, "sentinels"
		}
		parsed = scheme + "://" + authority + "/" + path
		if hosts == "" {
			parsed = scheme + ":///" + path
		}
	}
	u, err := url.Parse(parsed)
	if err != nil {
		return t, fmt.Errorf("redis: the URL does not parse; write it as %s", Form)
	}
	var secure bool
	switch u.Scheme {
	case "redis":
	case "rediss":
		secure = true
	case "redis+sentinel":
		t.sentinel = true
	case "rediss+sentinel":
		t.sentinel, secure = true, true
	default:
		if u.Opaque != "" || u.Scheme != "" && u.Host == "" {
			// "localhost:6379" parses as scheme "localhost".
			return t, fmt.Errorf("redis: the URL needs a scheme: redis://%s", hostHint(raw))
		}
		return t, fmt.Errorf("redis: the URL must start with redis+sentinel://, rediss+sentinel://, redis:// or rediss://, not %q", u.Scheme+"://")
	}
	if u.Host == "" {
		return t, fmt.Errorf("redis: the URL has no host; write it as %s", Form)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return t, fmt.Errorf("redis: the URL takes no query or fragment; write it as %s", Form)
	}
	if u.User != nil {
		t.username = u.User.Username()
		t.password, _ = u.User.Password()
	}
	path := strings.TrimPrefix(u.Path, "/")
	if t.sentinel {
		for _, h := range strings.Split(hosts, ",") {
			host, port, err := net.SplitHostPort(h)
			if err != nil || host == "" || port == "" {
				return t, errors.New("redis: each sentinel needs a host and a port, such as 10.0.0.1:26379; write the URL as redis+sentinel://[user:password@]host:port[,host:port...]/<master-name>[/db]")
			}
			if !validPort(port) {
				return t, fmt.Errorf("redis: the port must be a number from 1 to 65535; write the URL as %s", Form)
			}
			t.addrs = append(t.addrs, h)
		}
		t.master, path, _ = strings.Cut(path, "/")
		if t.master == "" {
			return t, errors.New("redis: a sentinel URL needs the master's name as its path: redis+sentinel://host:26379[,host:26379...]/<master-name>[/db]")
		}
	} else {
		if u.Hostname() == "" {
			return t, fmt.Errorf("redis: the URL has no host; write it as %s", Form)
		}
		port := u.Port()
		if port == "" {
			port = "6379"
		} else if !validPort(port) {
			return t, fmt.Errorf("redis: the port must be a number from 1 to 65535; write the URL as %s", Form)
		}
		t.addrs = []string{net.JoinHostPort(u.Hostname(), port)}
	}
	if path != "" {
		n, err := strconv.Atoi(path)
		if err != nil || n < 0 {
			return t, fmt.Errorf("redis: the path must be a database number, such as /0; write the URL as %s", Form)
		}
		t.db = n
	}
	if !t.sentinel && (opts.SentinelUsername != "" || opts.SentinelPassword != "") {
		return t, errors.New("redis: the sentinel username and password are for redis+sentinel:// and rediss+sentinel:// URLs")
	}
	if !secure {
		if !opts.TLS.empty() {
			return t, errors.New("redis: the TLS files and server name are for rediss:// and rediss+sentinel:// URLs; this one is not TLS")
		}
		return t, nil
	}
	if t.tls, err = tlsConfig(opts.TLS); err != nil {
		return t, err
	}
	return t, nil
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 1 && n <= 65535
}

// hostHint is what a URL without a scheme looked like, minus any password.
func hostHint(raw string) string {
	if at := strings.LastIndex(raw, "@"); at >= 0 {
		raw = raw[at+1:]
	}
	return raw
}

// tlsConfig reads the files now: a missing or bad one is a config error,
// not an outage later.
func tlsConfig(o TLS) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: o.ServerName}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("redis TLS ca_file: %v", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("redis TLS ca_file %s holds no PEM certificate", o.CAFile)
		}
	}
	switch {
	case o.CertFile == "" && o.KeyFile == "":
	case o.CertFile == "" || o.KeyFile == "":
		return nil, errors.New("redis TLS: cert_file and key_file go together: give both (the client certificate and its key) or neither")
	default:
		cert, err := tls.LoadX509KeyPair(o.CertFile, o.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("redis TLS cert_file and key_file: %v", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

// Key tells targets apart, for a pool per target: two targets with the
// same key reach the same data the same way. It holds passwords: never
// log it.
func (t Target) Key() string {
	return strings.Join([]string{t.raw, t.opts.TLS.CAFile, t.opts.TLS.CertFile, t.opts.TLS.KeyFile,
		t.opts.TLS.ServerName, t.opts.SentinelUsername, t.opts.SentinelPassword}, "\x00")
}

// String describes the target for logs and messages, without passwords.
func (t Target) String() string { return Redact(t.raw) }

// Redact hides the password of a Redis URL (any of its forms), for logs.
func Redact(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "://")
	if !ok {
		return "(a Redis URL without a scheme)"
	}
	authority, path, slash := strings.Cut(rest, "/")
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if hasPassword {
		user += ":xxxxx"
	}
	out := scheme + "://" + user + authority[at:]
	if slash {
		out += "/" + path
	}
	return out
}

// DB is the database number the target selects.
func (t Target) DB() int { return t.db }

// Sentinel tells whether the master is found through sentinels.
func (t Target) Sentinel() bool { return t.sentinel }

// SentinelAuthenticated tells whether the sentinels are asked with a
// password.
func (t Target) SentinelAuthenticated() bool { return t.opts.SentinelPassword != "" }

// Dial connects to the server, or to the master the sentinels name now,
// authenticated and on the target's database, with bounded connect, read
// and write times, and checks that it answers.
func (t Target) Dial(ctx context.Context) (redis.Conn, error) {
	if !t.sentinel {
		conn, err := t.dialData(ctx, t.addrs[0])
		if err != nil {
			return nil, err
		}
		if _, err := conn.Do("PING"); err != nil {
			conn.Close()
			return nil, fmt.Errorf("redis at %s: %v", t.addrs[0], explain(err, t.tls != nil))
		}
		return conn, nil
	}
	var failures []string
	for _, s := range t.addrs {
		addr, err := t.askSentinel(ctx, s)
		if err != nil {
			failures = append(failures, err.Error())
			continue
		}
		conn, err := t.dialData(ctx, addr)
		if err != nil {
			// Early in a failover a sentinel may still name the master
			// that died: another may know better.
			failures = append(failures, fmt.Sprintf("sentinel %s named %s: %v", s, addr, err))
			continue
		}
		if err := checkMaster(conn); err != nil {
			conn.Close()
			failures = append(failures, fmt.Sprintf("sentinel %s named %s: %v", s, addr, err))
			continue
		}
		return conn, nil
	}
	return nil, fmt.Errorf("redis master %q: no sentinel named a master that answers as one: %s", t.master, strings.Join(failures, "; "))
}

// checkMaster refuses a server that is not a master (now): a demoted one,
// or a replica the sentinels have not caught up with.
func checkMaster(conn redis.Conn) error {
	reply, err := redis.Values(conn.Do("ROLE"))
	if err != nil {
		return fmt.Errorf("ROLE: %v", explain(err, false))
	}
	if len(reply) == 0 {
		return errors.New("ROLE gave an empty answer")
	}
	role, _ := redis.String(reply[0], nil)
	if role != "master" {
		return fmt.Errorf("it is a %s, not the master (a failover in progress?)", role)
	}
	return nil
}

// askSentinel asks one sentinel where the master is.
func (t Target) askSentinel(ctx context.Context, addr string) (string, error) {
	opts := []redis.DialOption{
		redis.DialConnectTimeout(sentinelTimeout),
		redis.DialReadTimeout(sentinelTimeout),
		redis.DialWriteTimeout(sentinelTimeout),
	}
	if t.opts.SentinelPassword != "" {
		opts = append(opts, redis.DialUsername(t.opts.SentinelUsername), redis.DialPassword(t.opts.SentinelPassword))
	}
	opts = append(opts, t.tlsOptions()...)
	conn, err := redis.DialContext(ctx, "tcp", addr, opts...)
	if err != nil {
		return "", fmt.Errorf("sentinel %s: %v", addr, explain(err, t.tls != nil))
	}
	defer conn.Close()
	reply, err := redis.Strings(conn.Do("SENTINEL", "get-master-addr-by-name", t.master))
	switch {
	case errors.Is(err, redis.ErrNil):
		return "", fmt.Errorf("sentinel %s does not know a master named %q", addr, t.master)
	case err != nil:
		return "", fmt.Errorf("sentinel %s: %v", addr, explain(err, t.tls != nil))
	case len(reply) != 2:
		return "", fmt.Errorf("sentinel %s gave no address for master %q", addr, t.master)
	}
	return net.JoinHostPort(reply[0], reply[1]), nil
}

func (t Target) tlsOptions() []redis.DialOption {
	if t.tls == nil {
		return nil
	}
	return []redis.DialOption{redis.DialUseTLS(true), redis.DialTLSConfig(t.tls)}
}

// dialData connects to one data server with the URL's credentials and
// database.
func (t Target) dialData(ctx context.Context, addr string) (redis.Conn, error) {
	opts := []redis.DialOption{
		redis.DialConnectTimeout(dialTimeout),
		redis.DialReadTimeout(dialTimeout),
		redis.DialWriteTimeout(dialTimeout),
		redis.DialDatabase(t.db),
	}
	if t.password != "" {
		opts = append(opts, redis.DialUsername(t.username), redis.DialPassword(t.password))
	}
	opts = append(opts, t.tlsOptions()...)
	conn, err := redis.DialContext(ctx, "tcp", addr, opts...)
	if err != nil {
		return nil, fmt.Errorf("redis at %s: %v", addr, explain(err, t.tls != nil))
	}
	return conn, nil
}

// explain adds what an operator needs to the errors that are hard to read
// alone. None of them carries a password: redigo never puts one in an
// error, and the URL is never formatted into one.
func explain(err error, tlsTarget bool) string {
	msg := err.Error()
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &verify):
		return "TLS: the server's certificate does not verify (check ca_file and server_name): " + msg
	case remoteCertAlert(msg) == "unknown certificate authority":
		// Not ca_file, which is for the server's certificate: the server
		// does not trust the CA that signed ours.
		return "TLS: the server refused the client certificate (check cert_file and key_file): it was signed by a CA the server does not trust (its tls-ca-cert-file): " + msg
	case remoteCertAlert(msg) != "" || strings.Contains(msg, "certificate required") || strings.Contains(msg, "bad certificate"):
		return "TLS: the server refused the client certificate (check cert_file and key_file): " + msg
	case tlsTarget && (errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)):
		// TLS 1.3 finishes the client's handshake before the server checks
		// the client's certificate: a refusal shows up as a closed
		// connection at the first command, often without the alert.
		return "TLS: the server closed the connection after the handshake; it probably refused the client certificate (check cert_file and key_file): " + msg
	case strings.HasPrefix(msg, "WRONGPASS"):
		return "authentication failed (WRONGPASS: wrong username or password, or the user is disabled)"
	case strings.HasPrefix(msg, "NOAUTH"):
		return "the server needs a password (NOAUTH): put user:password@ in the URL"
	case strings.HasPrefix(msg, "NOPERM"):
		return "the ACL user may not run this command (NOPERM): " + msg
	}
	return msg
}

// clientCertAlerts are the TLS alerts (RFC 8446, 6.2) a server sends about
// the certificate it was shown. Sent by the server ("remote error"), they
// can only be about the client's: the client checks the server's itself,
// and fails with a CertificateVerificationError when it does not verify.
var clientCertAlerts = []string{
	"bad certificate", "unsupported certificate", "revoked certificate", "expired certificate",
	"unknown certificate", "unknown certificate authority", "certificate required",
}

// remoteCertAlert is the alert about the client's certificate that an
// error reports the server sent, or "".
func remoteCertAlert(msg string) string {
	_, alert, found := strings.Cut(msg, "remote error: tls: ")
	if found && slices.Contains(clientCertAlerts, alert) {
		return alert
	}
	return ""
}

// NewPool is the pool of a target. It bounds everything: dial and I/O
// timeouts, the number of connections, and (in redisutil) the wait for
// one. It checks a pooled connection only after it sat idle a while, not
// on every borrow, which would cost a round trip per request: with PING,
// or for a sentinel target with ROLE, so that a connection to a master
// that was demoted meanwhile is dropped. A connection that answers
// READONLY (a write reached a replica) is never reused either.
func NewPool(t Target) *redis.Pool {
	idle := 30 * time.Second
	if t.sentinel {
		idle = time.Second
	}
	return &redis.Pool{
		MaxIdle:     32,
		MaxActive:   128,
		Wait:        true,
		IdleTimeout: 4 * time.Minute,
		DialContext: func(ctx context.Context) (redis.Conn, error) {
			conn, err := t.Dial(ctx)
			if err != nil {
				return nil, err
			}
			return &guarded{Conn: conn}, nil
		},
		TestOnBorrow: func(c redis.Conn, lastUsed time.Time) error {
			if now().Sub(lastUsed) < idle {
				return nil
			}
			if t.sentinel {
				return checkMaster(c)
			}
			_, err := c.Do("PING")
			return err
		},
	}
}

// now is the clock of NewPool's idle check; tests move it instead of
// waiting.
var now = time.Now

// errReadOnly marks a connection that reached a replica; the pool closes
// a connection whose Err is set instead of keeping it.
var errReadOnly = errors.New("redis: the server became a read-only replica")

// guarded is a connection that turns a READONLY reply into a broken
// connection.
type guarded struct {
	redis.Conn
	broken error
}

func (g *guarded) check(reply any, err error) (any, error) {
	if err != nil && strings.HasPrefix(err.Error(), "READONLY") {
		g.broken = errReadOnly
	}
	if e, ok := reply.(redis.Error); ok && strings.HasPrefix(string(e), "READONLY") {
		g.broken = errReadOnly
	}
	return reply, err
}

func (g *guarded) Err() error {
	if g.broken != nil {
		return g.broken
	}
	return g.Conn.Err()
}

func (g *guarded) Do(cmd string, args ...any) (any, error) { return g.check(g.Conn.Do(cmd, args...)) }

func (g *guarded) Receive() (any, error) { return g.check(g.Conn.Receive()) }

func (g *guarded) DoContext(ctx context.Context, cmd string, args ...any) (any, error) {
	return g.check(redis.DoContext(g.Conn, ctx, cmd, args...))
}

func (g *guarded) DoWithTimeout(d time.Duration, cmd string, args ...any) (any, error) {
	return g.check(redis.DoWithTimeout(g.Conn, d, cmd, args...))
}

func (g *guarded) ReceiveContext(ctx context.Context) (any, error) {
	return g.check(redis.ReceiveContext(g.Conn, ctx))
}

func (g *guarded) ReceiveWithTimeout(d time.Duration) (any, error) {
	return g.check(redis.ReceiveWithTimeout(g.Conn, d))
}

var (
	_ redis.ConnWithContext = (*guarded)(nil)
	_ redis.ConnWithTimeout = (*guarded)(nil)
)
