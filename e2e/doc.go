// Package e2e holds the plugin's end-to-end tests: a real Chromium, driven
// through the DevTools protocol with chromedp, with axe-core's
// accessibility checks, against a real Caddy and a real redis-server.
//
// It is its own Go module so that the browser's client libraries stay out
// of the plugin's go.mod: `xcaddy build --with` runs `go mod tidy` on the
// plugin, and would otherwise fetch them for every Caddy it builds.
package e2e
