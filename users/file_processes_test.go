package users

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// helperFileEnv names, in the environment of the test binary run again as
// a helper process (TestHelperProcess), the users file the helper writes.
const helperFileEnv = "SESSION_AUTH_USERS_HELPER_FILE"

// TestFileStoreKeepsEveryChangeOfAnotherProcess: the server and the CLI
// are two processes that write one users file. While one (the server,
// noting a login loop's last logins) rewrites the file in a tight loop for
// one account, every change the other (the CLI) makes to another account
// stays: none is undone by the first process's rename of a file it read
// before the change.
func TestFileStoreKeepsEveryChangeOfAnotherProcess(t *testing.T) {
	const changes = 100
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "users.json")
	cli := NewFileStore(path)
	for _, name := range []string{"mallory", "bob"} {
		if err := cli.Create(ctx, Account{Username: name, Hash: []byte("h")}); err != nil {
			t.Fatal(err)
		}
	}

	server := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$")
	server.Env = append(os.Environ(), helperFileEnv+"="+path)
	server.Stderr = os.Stderr
	stop, err := server.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := server.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stop.Close(); server.Wait() })
	lines := bufio.NewScanner(out)
	if !lines.Scan() || lines.Text() != "writing" {
		t.Fatalf("the helper process did not start writing: %q, %v", lines.Text(), lines.Err())
	}

	var want []string
	for i := range changes {
		role := fmt.Sprintf("r%03d", i)
		want = append(want, role)
		if err := cli.Update(ctx, "bob", func(a *Account) error { a.Roles = append(a.Roles, role); return nil }); err != nil {
			t.Fatalf("change %d: %v", i, err)
		}
	}
	stop.Close()
	var writes string
	if lines.Scan() {
		writes = lines.Text()
	}
	if err := server.Wait(); err != nil {
		t.Fatalf("the helper process: %v", err)
	}
	t.Logf("the other process wrote the file %s times meanwhile", writes)

	bob, err := NewFileStore(path).Get(ctx, "bob")
	if err != nil {
		t.Fatal(err)
	}
	if missing := len(want) - len(bob.Roles); missing != 0 || !slices.Equal(bob.Roles, want) {
		t.Fatalf("%d of %d changes were lost to the other process's writes; bob has roles %s",
			missing, changes, strings.Join(bob.Roles, ","))
	}
}

// TestHelperProcess is the other process of
// TestFileStoreKeepsEveryChangeOfAnotherProcess: it updates mallory's last
// login in a tight loop until its standard input closes, says "writing"
// after the first write and, at the end, how many it made. Run as a plain
// test, it does nothing.
func TestHelperProcess(t *testing.T) {
	path := os.Getenv(helperFileEnv)
	if path == "" {
		return
	}
	stopped := make(chan struct{})
	go func() {
		bufio.NewReader(os.Stdin).ReadByte() // returns at EOF
		close(stopped)
	}()
	s := NewFileStore(path)
	for n := 0; ; n++ {
		select {
		case <-stopped:
			fmt.Println(n)
			os.Exit(0)
		default:
		}
		if err := s.Update(context.Background(), "mallory", func(a *Account) error {
			a.LastLogin = time.Now()
			return nil
		}); err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			os.Exit(1)
		}
		if n == 0 {
			fmt.Println("writing")
		}
	}
}
