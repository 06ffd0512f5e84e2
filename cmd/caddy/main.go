// Command caddy is Caddy with its standard modules and session_auth, so the
// plugin runs with `go run ./cmd/caddy run --config Caddyfile`, no xcaddy.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddy-session-auth/caddy-session-auth"
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
