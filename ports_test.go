package sessionauth

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
)

// The tests write their Caddyfiles and URLs with nominal ports: 9080 (HTTP),
// 9443 (HTTPS) and 2999 (the admin endpoint) for the Caddy in this process,
// 9081 for a second site on it, 9180 and 9543 for a second instance. Nothing ever listens on those:
// pickPorts maps each to a port that was free when the tests started, and
// every Caddyfile (loadCaddyfile, writeCLICaddyfile, startOtherInstance,
// posts to /load) and URL goes through onFreePorts, so the suite never
// meets another program's listener on a fixed port.
var (
	baseURL   string // http://localhost:<9080's port>
	httpsURL  string // https://localhost:<9443's port>
	otherURL  string // http://localhost:<9180's port>, the second instance
	adminURL  string // http://localhost:<2999's port>, Caddy's admin endpoint
	testRealm string // the realm http://localhost:9080 makes
	portMap   *strings.Replacer
)

// nominalPorts are the ports the tests write.
var nominalPorts = []string{"9080", "9443", "2999", "9081", "9180", "9543"}

// pickPorts finds a free port for each nominal one and points caddytest's
// admin client at the admin port. A config load may take long on a slow,
// busy machine; caddytest's default wait of 5 s is not enough there.
func pickPorts() error {
	var pairs []string
	free := map[string]string{}
	for _, nominal := range nominalPorts {
		l, err := net.Listen("tcp", "localhost:0")
		if err != nil {
			return fmt.Errorf("finding a free port: %v", err)
		}
		defer l.Close() // held until all are picked, so no two are the same
		port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
		free[nominal] = port
		// Only as the tests write them (":9080", "http_port 9080", the
		// realm "localhost-9080"): a mapped port that holds a nominal one's
		// digits (39080) is never mapped again.
		for _, before := range []string{":", " ", "-"} {
			pairs = append(pairs, before+nominal, before+port)
		}
	}
	portMap = strings.NewReplacer(pairs...)
	baseURL = "http://localhost:" + free["9080"]
	httpsURL = "https://localhost:" + free["9443"]
	otherURL = "http://localhost:" + free["9180"]
	adminURL = "http://localhost:" + free["2999"]
	testRealm = "localhost-" + free["9080"]
	siteA, realmA = baseURL, testRealm
	siteB, realmB = "http://localhost:"+free["9081"], "localhost-"+free["9081"]
	caddytest.Default.AdminPort, _ = strconv.Atoi(free["2999"])
	caddytest.Default.LoadRequestTimeout = time.Minute
	return nil
}

// onFreePorts rewrites the nominal ports in a Caddyfile or URL to the free
// ones this run uses.
func onFreePorts(s string) string { return portMap.Replace(s) }
