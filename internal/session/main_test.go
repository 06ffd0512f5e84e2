package session

import (
	"testing"

	"github.com/caddy-session-auth/caddy-session-auth/internal/testredis"
)

// testRedis is a private redis-server for this package's tests; without it
// the tests fail, never skip.
var testRedis *testredis.Server

func TestMain(m *testing.M) { testredis.Main(m, &testRedis) }
