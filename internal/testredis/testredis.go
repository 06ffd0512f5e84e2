// Package testredis starts a private redis-server for tests: on a free
// loopback port (never the shared 6379), with no persistence, stopped when
// the test binary ends. Tests that need Redis fail, never skip, without it.
package testredis

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gomodule/redigo/redis"
)

// Server is a running redis-server owned by the test binary.
type Server struct {
	Addr       string // host:port
	cmd        *exec.Cmd
	dir        string
	port       int
	persistent bool
	// args replace the default arguments (TLS, replica and sentinel
	// servers); ready then says when the server answers.
	args  func(s *Server) []string
	ready func(s *Server) error
	// exited closes when the process has ended and been reaped.
	exited chan struct{}
}

// Main runs a package's tests with a private redis-server in *srv, which
// it stops afterwards, and exits with the tests' result. Without
// redis-server the tests fail, never skip. Use it as the whole TestMain:
//
//	func TestMain(m *testing.M) { testredis.Main(m, &testServer) }
func Main(m *testing.M, srv **Server) {
	os.Exit(run(m, srv))
}

func run(m *testing.M, srv **Server) int {
	s, err := Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: these tests need a real redis-server:", err)
		return 1
	}
	defer s.Close()
	*srv = s
	return m.Run()
}

// Start launches redis-server on a free port and waits until it answers.
func Start() (*Server, error) { return start(false) }

// StartPersistent is Start with an append-only file synced on every write,
// so data survives Stop and Restart as it would on a production Redis.
func StartPersistent() (*Server, error) { return start(true) }

func start(persistent bool) (*Server, error) {
	bin, s, err := prepare()
	if err != nil {
		return nil, err
	}
	s.persistent = persistent
	if err := s.launch(bin); err != nil {
		os.RemoveAll(s.dir)
		return nil, err
	}
	return s, nil
}

// prepare finds redis-server and makes a Server, not yet started, with a
// folder of its own and a free port.
func prepare() (bin string, s *Server, err error) {
	bin, err = exec.LookPath("redis-server")
	if err != nil {
		return "", nil, fmt.Errorf("redis-server is not installed (run scripts/test, or apt-get install redis-server): %v", err)
	}
	dir, err := os.MkdirTemp("", "session-auth-redis-")
	if err != nil {
		return "", nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	return bin, &Server{dir: dir, port: port, Addr: "127.0.0.1:" + strconv.Itoa(port)}, nil
}

func (s *Server) launch(bin string) error {
	aof := "no"
	if s.persistent {
		aof = "yes"
	}
	args := []string{
		"--port", strconv.Itoa(s.port),
		"--bind", "127.0.0.1",
		"--dir", s.dir,
		"--save", "",
		"--appendonly", aof,
		"--appendfsync", "always",
		"--protected-mode", "yes",
	}
	if s.args != nil {
		args = s.args(s)
	}
	ready := s.ready
	if ready == nil {
		ready = func(s *Server) error {
			c, err := redis.Dial("tcp", s.Addr)
			if err != nil {
				return err
			}
			defer c.Close()
			_, err = c.Do("PING")
			return err
		}
	}
	s.cmd = exec.Command(bin, args...)
	log, err := os.Create(filepath.Join(s.dir, "output.log"))
	if err != nil {
		return err
	}
	defer log.Close()
	s.cmd.Stdout, s.cmd.Stderr = log, log
	if err := s.cmd.Start(); err != nil {
		return fmt.Errorf("starting redis-server: %v", err)
	}
	exited := make(chan struct{})
	s.exited = exited
	go func(cmd *exec.Cmd) {
		cmd.Wait()
		close(exited)
	}(s.cmd)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			out, _ := os.ReadFile(filepath.Join(s.dir, "output.log"))
			lines := strings.Split(strings.TrimSpace(string(out)), "\n")
			return fmt.Errorf("redis-server %s exited at once: %s", strings.Join(args, " "), strings.Join(lines[max(0, len(lines)-3):], " | "))
		default:
		}
		if ready(s) == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	s.cmd.Process.Kill()
	<-exited
	return fmt.Errorf("redis-server on %s did not answer within 10s", s.Addr)
}

// URL is the redis:// address of the server, database db.
func (s *Server) URL(db int) string {
	return fmt.Sprintf("redis://%s/%d", s.Addr, db)
}

// Dial opens a direct connection to database db.
func (s *Server) Dial(db int) (redis.Conn, error) {
	return redis.Dial("tcp", s.Addr, redis.DialDatabase(db))
}

// Pool returns a small pool on database db.
func (s *Server) Pool(db int) *redis.Pool {
	return &redis.Pool{
		MaxIdle: 4,
		Dial:    func() (redis.Conn, error) { return s.Dial(db) },
	}
}

// Stop kills the server, as a crash or an outage would.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart starts the server again on the same port after Stop.
func (s *Server) Restart() error {
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		return err
	}
	return s.launch(bin)
}

// Close stops the server and removes its folder.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

// FlushAll empties every database, so tests do not see each other's keys.
func (s *Server) FlushAll() error {
	c, err := redis.Dial("tcp", s.Addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_, err = c.Do("FLUSHALL")
	return err
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	if port == 6379 {
		return freePort()
	}
	return port, nil
}

// Dir is the server's scratch folder (for tests that need a temp path).
func (s *Server) Dir() string { return filepath.Clean(s.dir) }

// StartWithConfig launches redis-server from a redis.conf that holds the
// test's own settings (a free port on loopback, its folder, an append-only
// file synced on every write, no RDB snapshots) and then conf, lines as an
// operator writes them (ACL users, say). Stop and Restart keep the file,
// so a restart replays the append-only file as a production Redis does.
// The server counts as up once it answers, even if only to refuse a
// client without credentials (NOAUTH).
func StartWithConfig(conf string) (*Server, error) {
	return startWith(func(s *Server) []string {
		path := filepath.Join(s.dir, "redis.conf")
		settings := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nsave \"\"\nappendonly yes\nappendfsync always\n%s\n", s.port, s.dir, conf)
		if err := os.WriteFile(path, []byte(settings), 0o600); err != nil {
			return []string{"--unreadable-config", err.Error()}
		}
		return []string{path}
	}, func(s *Server) error {
		c, err := redis.Dial("tcp", s.Addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_, err = c.Do("PING")
		if err != nil && strings.HasPrefix(err.Error(), "NOAUTH") {
			return nil
		}
		return err
	})
}
