package sessionauth

import (
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBadRedisURLsStopTheConfigFromLoading: a Redis URL that the dial would
// refuse or misread is an error at config load, in `caddy validate` and in
// a running server's /load, with a message that says what is wrong and how
// to write it; it is never left to look like an outage later. A
// well-formed URL of a Redis that is not there loads: Caddy must start
// while Redis is down.
func TestBadRedisURLsStopTheConfigFromLoading(t *testing.T) {
	caddyBinary(t)
	site(t, "session_auth /members/*", fileBackend().lines(t)) // the running config, which must stay
	validate := func(redisURL string) cliRun {
		config := writeCLICaddyfile(t, "Caddyfile", "http://localhost:9080 {\n\tsession_auth {\n\t\tredis "+redisURL+"\n\t}\n}\n")
		return runCaddy(t, "", "validate", "--config", config, "--adapter", "caddyfile")
	}
	for _, tc := range []struct{ name, url, want string }{
		{"a database that is no number", "redis://localhost:6391/abc", "the path must be a database number, such as /0"},
		{"no scheme", "localhost:6391", "the URL needs a scheme: redis://localhost:6391"},
		{"no scheme, with a password", "user:hunter2@localhost:6391", "the URL needs a scheme: redis://localhost:6391"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := validate(tc.url)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("caddy validate with redis %s: want a failure saying %q, got exit %d, stdout %q, stderr %q", tc.url, tc.want, r.code, r.stdout, r.stderr)
			}
			if strings.Contains(r.stderr+r.stdout, "hunter2") {
				t.Fatalf("caddy validate echoed the password: %q", r.stderr)
			}

			config := siteConfig(filepath.Join(t.TempDir(), "caddy.log"), "session_auth /members/*", "redis "+tc.url)
			req, _ := http.NewRequest(http.MethodPost, adminURL+"/load", strings.NewReader(onFreePorts(config)))
			req.Header.Set("Content-Type", "text/caddyfile")
			req.Close = true // a failed load restarts the admin endpoint: no connection reuse
			resp, err := (&http.Client{Timeout: time.Minute}).Do(req)
			if err != nil {
				t.Fatalf("POST /load: %v", err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || !strings.Contains(string(body), tc.want) {
				t.Fatalf("loading redis %s into the running server: want a refusal saying %q, got %d %q", tc.url, tc.want, resp.StatusCode, body)
			}
			if r := newClient(t).get("/public.txt"); r.status != http.StatusOK || r.body != "public text" {
				t.Fatalf("the running config after the refused load: %d %q", r.status, r.body)
			}
		})
	}
	if r := validate("redis://localhost:6391/0"); r.code != 0 || !strings.Contains(r.stdout, "Valid configuration") {
		t.Fatalf("caddy validate with a well-formed URL of a Redis that is down: want it valid, got exit %d, stdout %q, stderr %q", r.code, r.stdout, r.stderr)
	}
}
