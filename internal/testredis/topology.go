package testredis

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gomodule/redigo/redis"
)

// TLSFiles are PEM files made for one test: a CA, a server certificate it
// signed (for 127.0.0.1 and localhost), a client certificate it signed,
// and a second CA (the wrong one), which signed only a client certificate
// of its own that a server trusting the first CA refuses.
type TLSFiles struct {
	CA, ServerCert, ServerKey, ClientCert, ClientKey, OtherCA string
	OtherClientCert, OtherClientKey                           string
}

// NewTLSFiles writes a fresh set of certificates into dir.
func NewTLSFiles(dir string) (TLSFiles, error) {
	f := TLSFiles{
		CA: filepath.Join(dir, "ca.pem"), OtherCA: filepath.Join(dir, "other-ca.pem"),
		ServerCert: filepath.Join(dir, "server.pem"), ServerKey: filepath.Join(dir, "server-key.pem"),
		ClientCert: filepath.Join(dir, "client.pem"), ClientKey: filepath.Join(dir, "client-key.pem"),
		OtherClientCert: filepath.Join(dir, "other-client.pem"), OtherClientKey: filepath.Join(dir, "other-client-key.pem"),
	}
	ca, caKey, err := makeCert("test redis CA", nil, nil, true, f.CA, "")
	if err != nil {
		return f, err
	}
	other, otherKey, err := makeCert("another CA", nil, nil, true, f.OtherCA, "")
	if err != nil {
		return f, err
	}
	if _, _, err := makeCert("a client of another CA", other, otherKey, false, f.OtherClientCert, f.OtherClientKey); err != nil {
		return f, err
	}
	if _, _, err := makeCert("redis server", ca, caKey, false, f.ServerCert, f.ServerKey); err != nil {
		return f, err
	}
	if _, _, err := makeCert("session-auth client", ca, caKey, false, f.ClientCert, f.ClientKey); err != nil {
		return f, err
	}
	return f, nil
}

func makeCert(name string, parent *x509.Certificate, parentKey *ecdsa.PrivateKey, isCA bool, certPath, keyPath string) (*x509.Certificate, *ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	serial, _ := rand.Int(rand.Reader, big.NewInt(1<<62))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	if isCA {
		tmpl.IsCA, tmpl.BasicConstraintsValid = true, true
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
		parent, parentKey = tmpl, key
	} else {
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
		tmpl.DNSNames = []string{"localhost"}
		tmpl.IPAddresses = []net.IP{net.ParseIP("127.0.0.1")}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, nil, err
	}
	if keyPath != "" {
		kder, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			return nil, nil, err
		}
		if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
			return nil, nil, err
		}
	}
	cert, err := x509.ParseCertificate(der)
	return cert, key, err
}

// StartTLS launches a redis-server that speaks only TLS (no plain port),
// demands a client certificate signed by files.CA, and takes extra
// arguments (an ACL user: "--user", "alice", "on", ">pw", "~*", "+@all").
// Addr is its TLS port.
func StartTLS(files TLSFiles, extra ...string) (*Server, error) {
	return startWith(func(s *Server) []string {
		return append([]string{
			"--port", "0",
			"--tls-port", strconv.Itoa(s.port),
			"--bind", "127.0.0.1",
			"--dir", s.dir,
			"--save", "", "--appendonly", "no",
			"--tls-cert-file", files.ServerCert,
			"--tls-key-file", files.ServerKey,
			"--tls-ca-cert-file", files.CA,
			"--tls-auth-clients", "yes",
		}, extra...)
	}, func(s *Server) error {
		cert, err := tls.LoadX509KeyPair(files.ClientCert, files.ClientKey)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pem, _ := os.ReadFile(files.CA)
		pool.AppendCertsFromPEM(pem)
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", s.Addr,
			&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{cert}, ServerName: "localhost"})
		if err != nil {
			return err
		}
		return c.Close()
	})
}

// StartReplica launches a redis-server that replicates master, and waits
// until its link to the master is up.
func StartReplica(master *Server) (*Server, error) {
	host, port, _ := net.SplitHostPort(master.Addr)
	return startWith(func(s *Server) []string {
		return []string{
			"--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--dir", s.dir,
			"--save", "", "--appendonly", "no",
			"--replicaof", host, port,
		}
	}, func(s *Server) error {
		c, err := redis.Dial("tcp", s.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		info, err := redis.String(c.Do("INFO", "replication"))
		if err != nil {
			return err
		}
		if !strings.Contains(info, "master_link_status:up") {
			return errors.New("replica not linked yet")
		}
		return nil
	})
}

// StartSentinel launches `redis-server <conf> --sentinel` watching master
// under the name masterName with the given quorum; it considers the
// master down after downAfter without an answer.
func StartSentinel(masterName string, master *Server, quorum int, downAfter time.Duration) (*Server, error) {
	host, port, _ := net.SplitHostPort(master.Addr)
	return startWith(func(s *Server) []string {
		conf := filepath.Join(s.dir, "sentinel.conf")
		if _, err := os.Stat(conf); err != nil {
			// Sentinel rewrites its config (the failovers it saw): it must
			// be a file of its own, written once.
			text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsentinel monitor %s %s %s %d\n"+
				"sentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 3000\nsentinel parallel-syncs %s 1\n",
				s.port, s.dir, masterName, host, port, quorum, masterName, downAfter.Milliseconds(), masterName, masterName)
			if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
				return []string{"--sentinel-config-not-written", err.Error()}
			}
		}
		return []string{conf, "--sentinel"}
	}, func(s *Server) error {
		c, err := redis.Dial("tcp", s.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Do("SENTINEL", "get-master-addr-by-name", masterName)
		return err
	})
}

func startWith(args func(*Server) []string, ready func(*Server) error) (*Server, error) {
	bin, s, err := prepare()
	if err != nil {
		return nil, err
	}
	s.args, s.ready = args, ready
	if err := s.launch(bin); err != nil {
		os.RemoveAll(s.dir)
		if strings.Contains(strings.Join(args(s), " "), "--sentinel") {
			return nil, fmt.Errorf("redis-server --sentinel did not start; these tests need a redis-server built with Sentinel mode (Debian: apt-get install redis-server redis-sentinel): %v", err)
		}
		return nil, err
	}
	return s, nil
}

// Sentinels is one master watched by sentinels, with replicas.
type Sentinels struct {
	Name      string
	Master    *Server // the first master; after a failover, no longer it
	Replicas  []*Server
	Sentinels []*Server
}

// StartSentinels launches a master, replicas replicas and sentinels
// sentinels (quorum: a majority), and waits until every sentinel knows
// every replica and every other sentinel, so a failover can happen.
func StartSentinels(name string, replicas, sentinels int, downAfter time.Duration) (*Sentinels, error) {
	set := &Sentinels{Name: name}
	var err error
	if set.Master, err = Start(); err != nil {
		return nil, err
	}
	for range replicas {
		r, err := StartReplica(set.Master)
		if err != nil {
			set.Close()
			return nil, err
		}
		set.Replicas = append(set.Replicas, r)
	}
	for range sentinels {
		s, err := StartSentinel(name, set.Master, sentinels/2+1, downAfter)
		if err != nil {
			set.Close()
			return nil, err
		}
		set.Sentinels = append(set.Sentinels, s)
	}
	deadline := time.Now().Add(30 * time.Second)
	for !set.ready(replicas, sentinels) {
		if time.Now().After(deadline) {
			set.Close()
			return nil, errors.New("the sentinels did not discover every replica and each other within 30s")
		}
		time.Sleep(100 * time.Millisecond)
	}
	return set, nil
}

func (set *Sentinels) ready(replicas, sentinels int) bool {
	for _, s := range set.Sentinels {
		c, err := redis.Dial("tcp", s.Addr)
		if err != nil {
			return false
		}
		r, err1 := redis.Values(c.Do("SENTINEL", "replicas", set.Name))
		o, err2 := redis.Values(c.Do("SENTINEL", "sentinels", set.Name))
		c.Close()
		if err1 != nil || err2 != nil || len(r) < replicas || len(o) < sentinels-1 {
			return false
		}
	}
	return true
}

// Addrs are the sentinels' addresses, comma-separated, as a
// redis+sentinel:// URL lists them.
func (set *Sentinels) Addrs() string {
	addrs := make([]string, len(set.Sentinels))
	for i, s := range set.Sentinels {
		addrs[i] = s.Addr
	}
	return strings.Join(addrs, ",")
}

// URL is the redis+sentinel:// URL of the set, database db.
func (set *Sentinels) URL(db int) string {
	return fmt.Sprintf("redis+sentinel://%s/%s/%d", set.Addrs(), set.Name, db)
}

// MasterAddr is where the first sentinel says the master is now.
func (set *Sentinels) MasterAddr() (string, error) {
	c, err := redis.Dial("tcp", set.Sentinels[0].Addr)
	if err != nil {
		return "", err
	}
	defer c.Close()
	r, err := redis.Strings(c.Do("SENTINEL", "get-master-addr-by-name", set.Name))
	if err != nil {
		return "", err
	}
	return net.JoinHostPort(r[0], r[1]), nil
}

// WaitForNewMaster waits until every sentinel names a master other than
// old, and that server answers ROLE as a master; it returns its address.
func (set *Sentinels) WaitForNewMaster(old string, within time.Duration) (string, error) {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		if addr, ok := set.agreedMaster(); ok && addr != old {
			if c, err := redis.Dial("tcp", addr); err == nil {
				role, err := redis.Values(c.Do("ROLE"))
				c.Close()
				if err == nil && len(role) > 0 {
					if r, _ := redis.String(role[0], nil); r == "master" {
						return addr, nil
					}
				}
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", fmt.Errorf("no sentinel-agreed master other than %s within %v", old, within)
}

func (set *Sentinels) agreedMaster() (string, bool) {
	agreed := ""
	for _, s := range set.Sentinels {
		c, err := redis.Dial("tcp", s.Addr)
		if err != nil {
			return "", false
		}
		r, err := redis.Strings(c.Do("SENTINEL", "get-master-addr-by-name", set.Name))
		c.Close()
		if err != nil || len(r) != 2 {
			return "", false
		}
		addr := net.JoinHostPort(r[0], r[1])
		if agreed != "" && addr != agreed {
			return "", false
		}
		agreed = addr
	}
	return agreed, agreed != ""
}

// Server is the set's server at addr (the master or a replica).
func (set *Sentinels) Server(addr string) *Server {
	for _, s := range append([]*Server{set.Master}, set.Replicas...) {
		if s.Addr == addr {
			return s
		}
	}
	return nil
}

// Close stops every process of the set.
func (set *Sentinels) Close() {
	for _, s := range set.Sentinels {
		s.Close()
	}
	for _, s := range set.Replicas {
		s.Close()
	}
	if set.Master != nil {
		set.Master.Close()
	}
}
