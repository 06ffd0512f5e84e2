package sessionauth

import (
	"bufio"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestAnnouncedOversizeFormIsRefusedUnread: a form post that announces a
// body far over the limit (20 MiB) and sends only 1 KB of it gets 413 on
// the header alone, as nginx's client_max_body_size answers, instead of
// holding the connection open for the rest. A server that waited would
// never answer: the rest never comes.
func TestAnnouncedOversizeFormIsRefusedUnread(t *testing.T) {
	site(t, "session_auth /members/*", "registration open\n\t\t"+fileBackend().lines(t))
	for _, path := range []string{"/auth/login", "/auth/register", "/auth/logout"} {
		t.Run(path, func(t *testing.T) {
			conn, err := net.DialTimeout("tcp", strings.TrimPrefix(baseURL, "http://"), 10*time.Second)
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer conn.Close()
			first := "username=alice&password=" + strings.Repeat("x", 1024)
			first = first[:1024]
			head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\n"+
				"Content-Type: application/x-www-form-urlencoded\r\n"+
				"Content-Length: 20971520\r\n"+
				"Origin: %s\r\nSec-Fetch-Site: same-origin\r\n\r\n", path, strings.TrimPrefix(baseURL, "http://"), baseURL)
			if _, err := conn.Write([]byte(head + first)); err != nil {
				t.Fatalf("sending the head and 1 KB: %v", err)
			}
			// Generous for a loaded machine; a server that waits for the
			// body waits for ever.
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer while 20 MiB were announced and 1 KB sent: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusRequestEntityTooLarge {
				t.Fatalf("want 413 for an announced 20 MiB form, got %d", resp.StatusCode)
			}
		})
	}
}
