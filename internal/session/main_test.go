package session

import (
	"fmt"
	"os"
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// testRedis is a private redis-server for this package's tests; without it
// the tests fail, never skip.
var testRedis *testredis.Server

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

func runTests(m *testing.M) int {
	var err error
	testRedis, err = testredis.Start()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL: the sessionstore tests need a real redis-server:", err)
		return 1
	}
	defer testRedis.Close()
	return m.Run()
}
